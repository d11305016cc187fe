/** One leaderboard entry: its per-seed distribution, capital weight per epoch, and paired comparisons. */
import { useMemo } from "preact/hooks";
import type uPlot from "uplot";
import { artifactUrl, type EntryDetail, type Estimate } from "../api";
import { axis, barPaths, Chart, intAxis, vline, type Theme } from "../chart";
import { AuthorLink, Card, CiBar, ciDomain, Empty, EntryLink, Est, Loading, Notice, When } from "../components";
import { est, num, pct } from "../format";
import { useResource } from "../hooks";
import { reproduceCommand } from "./leaderboard";

/** A "nice" bin width (1, 2, 2.5 or 5 times a power of ten) near `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

export interface Histogram {
  centres: number[];
  counts: number[];
  width: number;
  start: number;
}

export function histogram(values: readonly number[]): Histogram {
  const xs = values.filter(Number.isFinite);
  if (xs.length === 0) return { centres: [], counts: [], width: 1, start: 0 };
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const bins = Math.min(40, Math.max(5, Math.round(Math.sqrt(xs.length) * 1.5)));
  const width = niceStep((hi - lo) / bins || Math.abs(lo) / 10 || 1);
  const start = Math.floor(lo / width) * width;
  const n = Math.max(1, Math.floor((hi - start) / width) + 1);
  const counts = new Array<number>(n).fill(0);
  for (const x of xs) counts[Math.min(n - 1, Math.floor((x - start) / width))]++;
  return { centres: counts.map((_, i) => start + (i + 0.5) * width), counts, width, start };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function EntryPage({ id }: { id: string }) {
  const r = useResource<EntryDetail>(`/api/entries/${id}`);
  const d = r.data;
  const hist = useMemo(() => histogram(d?.entry.vsNormalizer ?? []), [d]);
  const m = d ? mean(d.entry.vsNormalizer) : 0;

  const histOptions = useMemo(
    () =>
      (t: Theme): Omit<uPlot.Options, "width" | "height"> => ({
        scales: {
          x: { time: false, range: () => [hist.start, hist.start + hist.counts.length * hist.width] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] },
        },
        axes: [
          axis(t, { label: "edge vs normalizer, per seed" }),
          axis(t, { label: "seeds", values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : "")) }),
        ],
        series: [
          { label: "bin centre", value: (_u, v) => (v == null ? "–" : num(v)) },
          {
            label: "seeds",
            stroke: t.accent,
            fill: t.accent + "99",
            width: 1,
            paths: barPaths(),
            points: { show: false },
          },
        ],
        hooks: {
          draw: [
            (u: uPlot) => {
              vline(u, 0, t.muted, "0", [4, 4], true);
              vline(u, m, t.accent2, `mean ${num(m, true)}`);
            },
          ],
        },
        legend: { show: true },
      }),
    [hist, m],
  );
  const histData = useMemo((): uPlot.AlignedData => [hist.centres, hist.counts], [hist]);

  const weights = d?.weightsPerEpoch ?? null;
  const weightOptions = useMemo(
    () =>
      (t: Theme): Omit<uPlot.Options, "width" | "height"> => ({
        scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 0.05)] } },
        axes: [
          intAxis(t, "epoch"),
          axis(t, { label: "capital share", values: (_u, ticks) => ticks.map((v) => pct(v)) }),
        ],
        series: [
          { label: "epoch" },
          {
            label: "mean capital share",
            stroke: t.good,
            fill: t.good + "22",
            width: 2,
            value: (_u, v) => (v == null ? "–" : pct(v, 1)),
            points: { show: true, size: 6 },
          },
        ],
      }),
    [],
  );
  const weightData = useMemo((): uPlot.AlignedData => [weights?.map((_, i) => i + 1) ?? [], weights ?? []], [weights]);

  if (r.error)
    return (
      <div class="page">
        <Notice>{r.error}</Notice>
        <a href="/">← The leaderboard</a>
      </div>
    );
  if (!d) return <Loading what="Loading the entry" />;
  const e = d.entry;
  const row = d.row;
  const wins = e.vsNormalizer.filter((x) => x > 0).length;
  const domain = ciDomain(d.comparisons.map((c) => c.diff));

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">
            <a href={`/?competition=${encodeURIComponent(d.competition.id)}`}>Leaderboard · {d.competition.title}</a>
          </p>
          <h1>
            {e.name} <span class="version">v{e.version}</span>
          </h1>
          <p class="sub">
            by <AuthorLink author={e.author} /> · submitted <When t={e.createdAt} /> ·{" "}
            <a href={`/jobs/${e.jobId}`}>job</a>
          </p>
        </div>
        {row && (
          <div class="rank-big" title={row.tiedWithAbove ? "shares its rank with the row above" : "rank"}>
            <span class="label">rank</span>
            <span class="value">
              {row.tiedWithAbove ? "=" : ""}
              {row.rank}
            </span>
          </div>
        )}
      </div>

      <div class="stats cards">
        <div class="stat">
          <span class="label">Edge vs normalizer</span>
          <Est e={row?.vsNormalizer} />
        </div>
        <div class="stat">
          <span class="label">Edge</span>
          <Est e={row?.edge} />
        </div>
        <div class="stat">
          <span class="label">Beats the normalizer</span>
          <span class="value">
            {wins} / {e.vsNormalizer.length} <span class="muted">seeds</span>
          </span>
        </div>
        <div class="stat">
          <span class="label">vs leader</span>
          {row?.vsLeader ? <Est e={row.vsLeader} /> : <span class="value">leader</span>}
        </div>
      </div>

      <div class="grid-2 charts">
        <Card title="Edge distribution">
          <div data-testid="histogram">
            <Chart options={histOptions} data={histData} label="histogram of per-seed edge vs the normalizer" />
          </div>
          <p class="muted small">
            Edge minus the normalizer's on each of the {e.vsNormalizer.length} seeds ({d.seeds[0]}–
            {d.seeds[d.seeds.length - 1]}); bins of {num(hist.width)}.
          </p>
        </Card>
        <Card title="Capital weight per epoch">
          {weights && weights.length > 0 ? (
            <>
              <div data-testid="weights">
                <Chart options={weightOptions} data={weightData} label="mean capital share per epoch" />
              </div>
              <p class="muted small">
                Share of the market's capital held at the end of each epoch of {d.competition.epochLen.toLocaleString()}{" "}
                steps, averaged over the seeds.
              </p>
            </>
          ) : (
            <Empty>No per-epoch weights in this entry's result.</Empty>
          )}
        </Card>
      </div>

      <Card title={`Paired comparisons (${d.comparisons.length})`} class="flush">
        {d.comparisons.length === 0 ? (
          <Empty>The only entry in this competition so far.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="stack" data-testid="comparisons">
              <thead>
                <tr>
                  <th class="num">Rank</th>
                  <th>Against</th>
                  <th>Author</th>
                  <th class="num">This minus that</th>
                  <th class="bar-col">
                    <span class="sr-only">95% confidence interval</span>
                  </th>
                  <th class="num">Wins</th>
                  <th>Verdict</th>
                </tr>
              </thead>
              <tbody>
                {d.comparisons.map((c) => (
                  <tr key={c.entryId}>
                    <td class="num" data-label="Rank">
                      {c.rank}
                    </td>
                    <td data-label="Against">
                      <EntryLink id={c.entryId} name={c.name} version={c.version} />
                    </td>
                    <td data-label="Author">
                      <AuthorLink author={c.author} />
                    </td>
                    <td class="num" data-label="Difference">
                      <Est e={c.diff} />
                    </td>
                    <td class="bar-col" data-label="95% CI">
                      <CiBar e={c.diff} domain={domain} />
                    </td>
                    <td class="num" data-label="Wins">
                      {pct(c.winRate)}
                    </td>
                    <td data-label="Verdict">
                      <Verdict d={c.diff} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      <Card title="Receipt and reproduction">
        <ul class="files inline">
          <li>
            <a href={artifactUrl(e.jobId, "receipt.json")} target="_blank" rel="noopener" data-testid="receipt">
              receipt.json
            </a>
          </li>
          <li>
            <a href={artifactUrl(e.jobId, "result.json")} target="_blank" rel="noopener">
              result.json
            </a>
          </li>
          <li>
            <a href={`/jobs/${e.jobId}`}>the job and its log</a>
          </li>
        </ul>
        <p class="small">
          Strategy <code title={e.strategySha256}>sha256 {e.strategySha256.slice(0, 16)}…</code>. The row comes from:
        </p>
        <pre class="code">{reproduceCommand(d.competition)}</pre>
        <details>
          <summary>Per-seed values</summary>
          <div class="table-wrap">
            <table class="compact">
              <thead>
                <tr>
                  <th class="num">Seed</th>
                  <th class="num">Edge</th>
                  <th class="num">vs normalizer</th>
                </tr>
              </thead>
              <tbody>
                {d.seeds.map((s, i) => (
                  <tr key={s}>
                    <td class="num">{s}</td>
                    <td class="num">{num(e.edge[i], true)}</td>
                    <td class={`num ${e.vsNormalizer[i] > 0 ? "pos" : "neg"}`}>{num(e.vsNormalizer[i], true)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </Card>
    </div>
  );
}

function Verdict({ d }: { d: Estimate }) {
  if (!(Math.abs(d.mean) > d.ci95))
    return (
      <span class="pill mid" title={`95% CI ${est(d)} contains zero`}>
        can't tell
      </span>
    );
  return d.mean > 0 ? <span class="pill pos">better</span> : <span class="pill neg">worse</span>;
}
