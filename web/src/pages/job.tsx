/** One job: state, timings, parameters, live log, result, artifacts, cancel; a train job's learning curve. */
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type uPlot from "uplot";
import { api, artifactUrl, isTerminal, type Estimate, type Job } from "../api";
import { axis, Chart, hline, intAxis, type Theme } from "../chart";
import { AuthorLink, Card, Est, Facts, Loading, Notice, StateBadge, When } from "../components";
import { bytes, dateTime, duration, num, pct, shortId } from "../format";
import { useResource, useToken } from "../hooks";
import { LogView, useJobLog } from "../log";

const TYPE_LABEL: Record<string, string> = {
  submit: "Submission",
  validate: "Validation",
  run: "Run",
  eval: "Evaluation",
  train: "Training",
};

function elapsed(job: Job, now: number): string {
  if (!job.started_at) return "–";
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return duration(end - Date.parse(job.started_at));
}

/** Ticks once a second while `on`: running timers. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

export function JobPage({ id }: { id: string }) {
  const job = useResource<Job>(
    `/api/jobs/${id}`,
    2000,
    (j) => !isTerminal(j.state) || (j.job_type === "submit" && !j.entry && j.state === "succeeded"),
  );
  const log = useJobLog(id);
  const [token] = useToken();
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const j = job.data;
  const now = useNow(!!j && !isTerminal(j.state));
  const reload = job.reload;

  // The stream's end comes before the next poll: fetch the final job (result, artifacts) at once.
  useEffect(() => {
    if (log.end) reload();
  }, [log.end, reload]);

  if (job.error && !j)
    return (
      <div class="page">
        <Notice>{job.error}</Notice>
        <a href="/jobs">← All jobs</a>
      </div>
    );
  if (!j) return <Loading what="Loading the job" />;

  const cancel = async (): Promise<void> => {
    setCancelError(null);
    setCancelling(true);
    try {
      await api.post(`/api/jobs/${j.id}/cancel`, {}, token);
      reload();
    } catch (err) {
      setCancelError((err as Error).message);
    } finally {
      setCancelling(false);
    }
  };

  const terminal = isTerminal(j.state);
  const result = j.result ?? {};
  const artifacts = j.artifacts ?? [];
  const plots = artifacts.filter((a) => a.name.endsWith(".svg"));
  const paramItems = Object.entries(j.params).map(([k, v]): [string, string] => [
    k,
    Array.isArray(v) ? v.join(", ") : String(v),
  ]);

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">
            <a href="/jobs">Jobs</a> · {shortId(j.id)}
          </p>
          <h1>
            {TYPE_LABEL[j.job_type] ?? j.job_type}
            {j.name ? `: ${j.name}` : ""}
          </h1>
          <p class="sub">
            <StateBadge state={j.state} cancelling={j.cancel_requested} /> by <AuthorLink author={j.author} />
            {j.competition && (
              <>
                {" "}
                in <a href={`/?competition=${encodeURIComponent(j.competition)}`}>{j.competition}</a>
              </>
            )}{" "}
            · queued <When t={j.created_at} />
          </p>
        </div>
        <div class="head-actions">
          {artifacts.some((a) => a.name === "trace.json") && (
            <a class="button" href={`/replay?job=${j.id}`}>
              Replay the tape
            </a>
          )}
          {j.job_type === "submit" && j.entry && (
            <a class="button primary" href={`/entries/${j.entry}`} data-testid="entry-link">
              View the leaderboard entry →
            </a>
          )}
          {!terminal && token && (
            <button
              type="button"
              class="danger"
              onClick={() => void cancel()}
              disabled={cancelling || j.cancel_requested}
            >
              {j.cancel_requested ? "Cancel requested" : cancelling ? "Cancelling…" : "Cancel job"}
            </button>
          )}
        </div>
      </div>
      {cancelError && <Notice>{cancelError}</Notice>}
      {j.error && (
        <Notice kind={j.state === "cancelled" ? "warn" : "error"}>
          <b>{j.state === "cancelled" ? "Cancelled" : "Failed"}:</b> {j.error}
        </Notice>
      )}

      <div class="grid-main">
        <div class="col-main">
          <Card
            title="Log"
            actions={
              <span class={`live ${log.connected ? "on" : ""}`}>
                {log.connected ? "live" : log.end ? "ended" : "connecting"}
              </span>
            }
            class="flush"
          >
            <LogView log={log} running={j.state === "running"} />
          </Card>
          {j.job_type === "train" && <LearningCurve records={log.metrics} ended={log.end !== null} />}
          {terminal && <ResultCard job={j} result={result} />}
          {plots.length > 0 && (
            <Card title="Plots">
              <div class="plots">
                {plots.map((p) => (
                  <figure key={p.name}>
                    <img src={artifactUrl(j.id, p.name)} alt={p.name} loading="lazy" />
                    <figcaption>
                      {p.name
                        .replace(/^plots\//, "")
                        .replace(/\.svg$/, "")
                        .replace(/_/g, " ")}
                    </figcaption>
                  </figure>
                ))}
              </div>
            </Card>
          )}
        </div>
        <aside class="col-side">
          <Card title="Timing">
            <Facts
              items={[
                ["Queued", <span title={dateTime(j.created_at)}>{dateTime(j.created_at)}</span>],
                ["Started", j.started_at ? dateTime(j.started_at) : "–"],
                ["Finished", j.finished_at ? dateTime(j.finished_at) : "–"],
                ["Run time", elapsed(j, now)],
                ["Attempts", `${j.attempts} of ${j.max_attempts}`],
              ]}
            />
          </Card>
          <Card title="Parameters">
            <Facts
              items={[
                ["Type", j.job_type],
                ...paramItems,
                ["Time limit", duration(j.limits.time_seconds * 1000)],
                ["Memory limit", `${j.limits.memory_mb} MB`],
                ...(j.strategy_sha256
                  ? ([["Strategy", <code title={j.strategy_sha256}>{j.strategy_sha256.slice(0, 12)}…</code>]] as [
                      string,
                      ComponentChildren,
                    ][])
                  : []),
              ]}
            />
          </Card>
          <Card title="Artifacts">
            {artifacts.length === 0 ? (
              <p class="muted small">{terminal ? "None." : "Written when the job ends."}</p>
            ) : (
              <ul class="files" data-testid="artifacts">
                {artifacts.map((a) => (
                  <li key={a.name}>
                    <a href={artifactUrl(j.id, a.name)} target="_blank" rel="noopener">
                      {a.name}
                    </a>
                    <span class="muted">{bytes(a.size)}</span>
                  </li>
                ))}
                <li>
                  <a href={`/api/jobs/${j.id}/logs?limit=5000`} target="_blank" rel="noopener">
                    log (JSON)
                  </a>
                </li>
              </ul>
            )}
          </Card>
        </aside>
      </div>
    </div>
  );
}

function ResultCard({ job, result }: { job: Job; result: Record<string, unknown> }) {
  if (job.state !== "succeeded" && job.result === null) return null;
  if (result.passed !== undefined && (job.job_type === "validate" || result.passed === false)) {
    const passed = result.passed === true;
    return (
      <Card title="Result">
        <p class={passed ? "ok big-text" : "bad big-text"}>{passed ? "✓ Validation passed" : "✗ Validation failed"}</p>
      </Card>
    );
  }
  const rows = (
    job.job_type === "submit" && result.row ? [result.row] : Array.isArray(result.rows) ? result.rows : []
  ) as EvalRow[];
  if (rows.length > 0 && rows.every((r) => r && typeof r === "object" && "vsNormalizer" in r)) {
    return (
      <>
        {rows.map((row, i) => (
          <Card key={i} title={`Result${row.name ? `: ${row.name}` : ""}`}>
            <EvalRowView row={row} />
          </Card>
        ))}
      </>
    );
  }
  if (job.job_type === "train" && result.lastEval) {
    const e = result.lastEval as Record<string, number>;
    return (
      <Card title="Result: last held-out evaluation">
        <div class="stats">
          <div class="stat">
            <span class="label">Edge vs normalizer</span>
            <span class="value">{num(e.meanEdgeVsNormalizer, true)}</span>
          </div>
          <div class="stat">
            <span class="label">Edge</span>
            <span class="value">{num(e.meanEdge, true)}</span>
          </div>
          <div class="stat">
            <span class="label">Iteration</span>
            <span class="value">{e.iteration ?? "–"}</span>
          </div>
          <div class="stat">
            <span class="label">Timesteps</span>
            <span class="value">{Number(e.timesteps ?? NaN).toLocaleString()}</span>
          </div>
        </div>
      </Card>
    );
  }
  if (job.result === null) return null;
  return (
    <Card title="Result">
      <details>
        <summary>Result JSON</summary>
        <pre class="code">{JSON.stringify(job.result, null, 2)}</pre>
      </details>
    </Card>
  );
}

/** A row of `propamm eval --json` (a submit job's result.row; an eval job's result.rows). */
interface EvalRow {
  name?: string;
  edge?: Estimate;
  vsNormalizer?: Estimate;
  winRateVsNormalizer?: number;
  sharpe?: number;
  finalWeight?: Estimate;
  vsOpponents?: { name: string; diff: Estimate; winRate: number }[];
}

function EvalRowView({ row }: { row: EvalRow }) {
  return (
    <>
      <div class="stats">
        <div class="stat">
          <span class="label">Edge vs normalizer</span>
          <Est e={row.vsNormalizer} />
        </div>
        <div class="stat">
          <span class="label">Edge</span>
          <Est e={row.edge} />
        </div>
        <div class="stat">
          <span class="label">Wins vs normalizer</span>
          <span class="value">{pct(row.winRateVsNormalizer ?? NaN)}</span>
        </div>
        <div class="stat">
          <span class="label">Final capital share</span>
          <span class="value">{row.finalWeight ? pct(row.finalWeight.mean, 1) : "–"}</span>
        </div>
      </div>
      {row.vsOpponents && row.vsOpponents.length > 0 && (
        <table class="compact">
          <thead>
            <tr>
              <th>Paired against</th>
              <th class="num">Difference</th>
              <th class="num">Wins</th>
            </tr>
          </thead>
          <tbody>
            {row.vsOpponents.map((o) => (
              <tr key={o.name}>
                <td>{o.name}</td>
                <td class="num">
                  <Est e={o.diff} />
                </td>
                <td class="num">{pct(o.winRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

type XKey = "iteration" | "wallSeconds" | "timesteps";
const X_LABEL: Record<XKey, string> = { iteration: "iteration", wallSeconds: "wall time (s)", timesteps: "timesteps" };

/** Held-out evaluation records of a train job's metrics lines, as they arrive. */
export function LearningCurve({ records, ended }: { records: Record<string, unknown>[]; ended: boolean }) {
  const [x, setX] = useState<XKey>("iteration");
  const evals = records.filter((r) => r.type === "eval");
  const data = useMemo((): uPlot.AlignedData => {
    const pts = evals
      .map((r) => [Number(r[x]), Number(r.meanEdgeVsNormalizer), Number(r.meanEdge)])
      .filter((p) => Number.isFinite(p[0]))
      .sort((a, b) => a[0] - b[0]);
    return [pts.map((p) => p[0]), pts.map((p) => p[1]), pts.map((p) => p[2])];
  }, [evals.length, x]);
  const options = useMemo(
    () =>
      (t: Theme): Omit<uPlot.Options, "width" | "height"> => ({
        scales: { x: { time: false } },
        axes: [
          x === "wallSeconds" ? axis(t, { label: X_LABEL[x] }) : intAxis(t, X_LABEL[x]),
          axis(t, { label: "mean edge" }),
        ],
        series: [
          { label: X_LABEL[x] },
          { label: "vs normalizer", stroke: t.accent, width: 2, points: { show: true, size: 7 } },
          { label: "edge", stroke: t.accent2, width: 1.5, dash: [6, 4], points: { show: true, size: 6 } },
        ],
        hooks: { draw: [(u: uPlot) => hline(u, 0, t.muted)] },
      }),
    [x],
  );
  return (
    <Card
      title="Learning curve"
      actions={
        <div class="segmented" role="tablist" aria-label="x axis">
          {(Object.keys(X_LABEL) as XKey[]).map((k) => (
            <button key={k} type="button" class={x === k ? "on" : ""} aria-selected={x === k} onClick={() => setX(k)}>
              {k === "wallSeconds" ? "time" : k}
            </button>
          ))}
        </div>
      }
    >
      {evals.length === 0 ? (
        <p class="muted small">
          {ended
            ? "The job reported no held-out evaluation."
            : "Held-out evaluations appear here as training reports them."}
        </p>
      ) : (
        <>
          <div data-testid="learning-curve">
            <Chart options={options} data={data} height={240} label="held-out mean edge during training" />
          </div>
          <p class="muted small">
            {evals.length} held-out evaluation{evals.length === 1 ? "" : "s"}; each point is the mean over the
            evaluation seeds.
          </p>
        </>
      )}
    </Card>
  );
}
