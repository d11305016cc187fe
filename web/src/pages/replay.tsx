/**
 * Replaying a simulation tape (docs/trace.md): play, pause, step and scrub through its steps,
 * with the fair price and pool spots, fees, cumulative edge per pool and capital weights drawn
 * up to the current step, and the step's pools and trades.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api, artifactUrl } from "../api";
import { axis, Chart, type Theme } from "../chart";
import { Card, Facts, Loading, Notice } from "../components";
import { num, pct } from "../format";
import type { Location } from "../router";
import { parseTrace, tradesAt, weightsAt, type Trace } from "../trace";

const SPEEDS = [20, 100, 500, 2000];
const WINDOW = 500;

type Series = (number | null)[];
type Opts = (t: Theme) => Omit<uPlot.Options, "width" | "height">;

function extent(cols: readonly Series[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cols)
    for (const v of c) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!Number.isFinite(lo)) return [0, 1];
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

const poolColor = (t: Theme, trace: Trace, p: number): string =>
  trace.pools[p].normalizer ? t.muted : t.palette[p % t.palette.length];

/**
 * A chart over steps. Its x range is the whole tape however much of it is shown, with y fixed
 * to the whole tape's range; or, with a `view`, the window that `view` holds (read at each
 * redraw), with y fitted to what is shown.
 */
function stepChart(
  trace: Trace,
  ylabel: string,
  cols: { label: string; pool: number | null; dash?: number[]; width?: number; color?: (t: Theme) => string }[],
  yRange: [number, number],
  fmt: (v: number) => string = (v) => num(v),
  stepped = false,
  view: { current: [number, number] } | null = null,
): Opts {
  const last = Math.max(1, trace.steps.count - 1);
  return (t) => ({
    scales: {
      x: { time: false, range: () => (view ? view.current : [0, last]) },
      y: view ? {} : { range: () => yRange },
    },
    axes: [axis(t, { label: "step" }), axis(t, { label: ylabel, size: 64 })],
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: "step" },
      ...cols.map((c): uPlot.Series => ({
        label: c.label,
        stroke: c.color ? c.color(t) : c.pool === null ? t.fg : poolColor(t, trace, c.pool),
        width: c.width ?? 1.5,
        dash: c.dash,
        spanGaps: false,
        points: { show: false },
        value: (_u, v) => (v == null ? "–" : fmt(v)),
        ...(stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
      })),
    ],
  });
}

export function ReplayPage({ loc }: { loc: Location }) {
  const jobId = loc.query.get("job");
  const [trace, setTrace] = useState<Trace | null>(null);
  const [source, setSource] = useState("");
  const [loads, setLoads] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    if (!jobId) return;
    setLoading(true);
    setError(null);
    api.get<unknown>(artifactUrl(jobId, "trace.json")).then(
      (json) => {
        try {
          setTrace(parseTrace(json));
          setSource(`job ${jobId.slice(0, 8)}`);
          setLoads((n) => n + 1);
        } catch (err) {
          setError(`trace.json of job ${jobId}: ${(err as Error).message}`);
        }
        setLoading(false);
      },
      (err: Error) => {
        setError(`trace.json of job ${jobId}: ${err.message}`);
        setLoading(false);
      },
    );
  }, [jobId]);

  const onFile = async (f: File | undefined): Promise<void> => {
    if (!f) return;
    setError(null);
    setLoading(true);
    try {
      setTrace(parseTrace(JSON.parse(await f.text())));
      setSource(f.name);
      setLoads((n) => n + 1);
    } catch (err) {
      setError(`${f.name}: ${(err as Error).message}`);
    }
    setLoading(false);
  };

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">Replay{source ? ` · ${source}` : ""}</p>
          <h1>{trace ? `Simulation, seed ${trace.seed}` : "Replay a simulation"}</h1>
          {trace && (
            <p class="sub">
              {trace.pools.map((p) => p.name).join(" · ")} — {trace.steps.count.toLocaleString()} steps,{" "}
              {trace.trades.step.length.toLocaleString()} trades
            </p>
          )}
        </div>
        <label class="button ghost file-button">
          <input
            type="file"
            accept=".json,application/json"
            data-testid="trace-file"
            onChange={(e) => void onFile((e.target as HTMLInputElement).files?.[0])}
          />
          {trace ? "Open another tape" : "Open a tape"}
        </label>
      </div>
      {error && <Notice>{error}</Notice>}
      {loading && <Loading what="Reading the tape" />}
      {!trace && !loading && (
        <Card>
          <div class="empty">
            <p>
              Open a <code>propamm-trace</code> file (JSON) to replay it step by step. Record one with
            </p>
            <pre class="code">npx propamm run my-strategy.ts starter --trace tape.json --trace-seed 42</pre>
            <p class="muted small">
              A job's tape opens with <code>/replay?job=&lt;job id&gt;</code> when the job kept a{" "}
              <code>trace.json</code> artifact. The format is described in docs/trace.md.
            </p>
          </div>
        </Card>
      )}
      {trace && <Player key={loads} trace={trace} />}
    </div>
  );
}

function Player({ trace }: { trace: Trace }) {
  const T = trace.steps.count;
  const [step, setStep] = useState(T - 1);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(SPEEDS[1]);
  // Price and fees: the whole run, or a window that follows the current step.
  const [win, setWin] = useState(T > 2000 ? WINDOW : 0);
  const from = win ? Math.max(0, step - win) : 0;
  const view = useRef<[number, number]>([0, T - 1]);
  view.current = [from, Math.max(from + win, step, 1)];
  const pos = useRef(step);
  pos.current = step;

  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    let last = performance.now();
    let at = pos.current >= T - 1 ? 0 : pos.current;
    const tick = (now: number): void => {
      at = Math.min(T - 1, at + ((now - last) / 1000) * speed);
      last = now;
      setStep(Math.floor(at));
      if (at >= T - 1) setPlaying(false);
      else frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing, speed, T]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const tag = (e.target as HTMLElement | null)?.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
      if (e.key === " ") {
        e.preventDefault();
        setPlaying((p) => !p);
      } else if (e.key === "ArrowRight") {
        setPlaying(false);
        setStep((s) => Math.min(T - 1, s + (e.shiftKey ? 100 : 1)));
      } else if (e.key === "ArrowLeft") {
        setPlaying(false);
        setStep((s) => Math.max(0, s - (e.shiftKey ? 100 : 1)));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [T]);

  const P = trace.pools.length;
  const xs = useMemo(() => Array.from({ length: T }, (_, i) => i), [T]);
  const full = useMemo(() => {
    const s = trace.steps;
    return {
      price: [s.price, ...s.spot] as Series[],
      fees: trace.pools.flatMap((_, p) => [s.bidFeeBps[p], s.askFeeBps[p]]) as Series[],
      edge: s.edge as Series[],
    };
  }, [trace]);

  const priceOpts = useMemo(
    () =>
      stepChart(
        trace,
        "price (Y per X)",
        [
          { label: "fair price", pool: null, width: 1.5 },
          ...trace.pools.map((p, i) => ({ label: p.name, pool: i, width: 1.2 })),
        ],
        extent(full.price),
        (v) => v.toPrecision(6),
        false,
        win ? view : null,
      ),
    [trace, full, win],
  );
  const feeOpts = useMemo(
    () =>
      stepChart(
        trace,
        "fee (bps)",
        trace.pools.flatMap((p, i) => [
          { label: `${p.name} bid`, pool: i },
          { label: `${p.name} ask`, pool: i, dash: [4, 3] },
        ]),
        extent(full.fees),
        (v) => num(v),
        true,
        win ? view : null,
      ),
    [trace, full, win],
  );
  const edgeOpts = useMemo(
    () =>
      stepChart(
        trace,
        "cumulative edge",
        trace.pools.map((p, i) => ({ label: p.name, pool: i, width: 2 })),
        extent(full.edge),
        (v) => num(v, true),
      ),
    [trace, full],
  );
  const weightPools = trace.pools.map((p, i) => ({ p, i })).filter((x) => !x.p.normalizer);
  const weightOpts = useMemo(
    () =>
      stepChart(
        trace,
        "capital weight",
        weightPools.map(({ p, i }) => ({ label: p.name, pool: i, width: 2 })),
        [0, 1],
        (v) => pct(v, 1),
        true,
      ),
    [trace],
  );

  const upTo = <V,>(cols: V[][], start = 0): V[][] => cols.map((c) => c.slice(start, step + 1));
  const priceData = useMemo(
    () => [xs.slice(from, step + 1), ...upTo(full.price, from)] as uPlot.AlignedData,
    [step, full, from],
  );
  const feeData = useMemo(
    () => [xs.slice(from, step + 1), ...upTo(full.fees, from)] as uPlot.AlignedData,
    [step, full, from],
  );
  const edgeData = useMemo(() => [xs.slice(0, step + 1), ...upTo(full.edge)] as uPlot.AlignedData, [step, full]);
  const weightData = useMemo((): uPlot.AlignedData => {
    const e = trace.epochs;
    const n = e.step.filter((s) => s <= step).length;
    return [
      [0, ...e.step.slice(0, n), ...(n < e.step.length || e.step[n - 1] !== step ? [step] : [])],
      ...weightPools.map(({ i }) => {
        const w = [trace.initial.weight[i], ...e.weight[i].slice(0, n)];
        if (n < e.step.length || e.step[n - 1] !== step) w.push(w[w.length - 1]);
        return w;
      }),
    ] as uPlot.AlignedData;
  }, [step, trace]);

  const [first, end] = tradesAt(trace, step);
  const weights = weightsAt(trace, step);
  const s = trace.steps;
  const epochLen = Number(trace.config.epochLen ?? 0);

  return (
    <>
      <div class="player card" data-testid="player">
        <div class="player-controls">
          <button
            type="button"
            class="primary round"
            onClick={() => setPlaying(!playing)}
            aria-label={playing ? "pause" : "play"}
            data-testid="play"
          >
            {playing ? "❚❚" : "▶"}
          </button>
          <button type="button" class="ghost" onClick={() => setStep(Math.max(0, step - 1))} aria-label="step back">
            ◀ 1
          </button>
          <button
            type="button"
            class="ghost"
            onClick={() => setStep(Math.min(T - 1, step + 1))}
            aria-label="step forward"
          >
            1 ▶
          </button>
          <label class="inline small">
            <span class="muted">speed</span>
            <select value={speed} onChange={(e) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
              {SPEEDS.map((v) => (
                <option key={v} value={v}>
                  {v} steps/s
                </option>
              ))}
            </select>
          </label>
          <div class="segmented" role="tablist" aria-label="price and fee window">
            <button type="button" class={win ? "" : "on"} aria-selected={!win} onClick={() => setWin(0)}>
              whole run
            </button>
            <button type="button" class={win ? "on" : ""} aria-selected={!!win} onClick={() => setWin(WINDOW)}>
              last {WINDOW} steps
            </button>
          </div>
          <span class="step-label" data-testid="step">
            step <b>{step.toLocaleString()}</b> / {(T - 1).toLocaleString()}
            {epochLen > 0 && <span class="muted"> · epoch {Math.floor(step / epochLen)}</span>}
          </span>
        </div>
        <input
          class="scrubber"
          type="range"
          min={0}
          max={T - 1}
          value={step}
          aria-label="step"
          onInput={(e) => {
            setPlaying(false);
            setStep(Number((e.target as HTMLInputElement).value));
          }}
        />
      </div>

      <div class="grid-2 charts">
        <Card title="Fair price and pool spots">
          <Chart options={priceOpts} data={priceData} height={240} label="fair price and each pool's spot price" />
        </Card>
        <Card title="Cumulative edge">
          <Chart options={edgeOpts} data={edgeData} height={240} label="each pool's cumulative edge" />
        </Card>
        <Card title="Fees">
          <Chart options={feeOpts} data={feeData} height={240} label="each pool's bid and ask fee" />
        </Card>
        <Card title="Capital weights">
          <Chart options={weightOpts} data={weightData} height={240} label="capital weight of each strategy" />
        </Card>
      </div>

      <div class="grid-main">
        <div class="col-main">
          <Card title={`Pools at step ${step.toLocaleString()}`} class="flush">
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr>
                    <th>Pool</th>
                    <th class="num">Spot</th>
                    <th class="num">Bid / ask (bps)</th>
                    <th class="num">Reserve X</th>
                    <th class="num">Reserve Y</th>
                    <th class="num">Edge so far</th>
                    <th class="num">Weight</th>
                  </tr>
                </thead>
                <tbody>
                  {trace.pools.map((p, i) => (
                    <tr key={i}>
                      <td data-label="Pool">
                        <span class={`swatch sw-${p.normalizer ? "n" : (i % 6) + 1}`} aria-hidden="true" />
                        {p.name}
                        {p.normalizer && !/normalizer/i.test(p.name) && <span class="muted"> (normalizer)</span>}
                      </td>
                      <td class="num" data-label="Spot">
                        {s.spot[i][step]?.toPrecision(6) ?? "–"}
                      </td>
                      <td class="num" data-label="Bid / ask">
                        {num(s.bidFeeBps[i][step])} / {num(s.askFeeBps[i][step])}
                      </td>
                      <td class="num" data-label="Reserve X">
                        {num(s.reserveX[i][step])}
                      </td>
                      <td class="num" data-label="Reserve Y">
                        {num(s.reserveY[i][step])}
                      </td>
                      <td class="num" data-label="Edge so far">
                        {num(s.edge[i][step], true)}
                      </td>
                      <td class="num" data-label="Weight">
                        {weights[i] === null ? "–" : pct(weights[i] as number, 1)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        </div>
        <aside class="col-side">
          <Card title="This step">
            <Facts
              items={[
                ["Fair price", s.price[step].toPrecision(7)],
                ["Trades", `${end - first}`],
                ["Arbitrage", `${countKind(trace, first, end, 0)}`],
                ["Retail", `${countKind(trace, first, end, 1)}`],
              ]}
            />
          </Card>
          <Card title="Market">
            <Facts items={Object.entries(trace.market).map(([k, v]): [string, string] => [k, num(v)])} />
          </Card>
        </aside>
      </div>

      <Card title={`Trades at step ${step.toLocaleString()}`} class="flush">
        {end === first ? (
          <div class="empty">No trades at this step.</div>
        ) : (
          <div class="table-wrap">
            <table class="compact">
              <thead>
                <tr>
                  <th>Pool</th>
                  <th>Kind</th>
                  <th>Side</th>
                  <th class="num">In</th>
                  <th class="num">Out</th>
                  <th class="num">Edge</th>
                </tr>
              </thead>
              <tbody>
                {Array.from({ length: Math.min(end - first, 200) }, (_, k) => first + k).map((i) => (
                  <tr key={i}>
                    <td>{trace.pools[trace.trades.pool[i]]?.name}</td>
                    <td>{trace.trades.kind[i] === 0 ? "arbitrage" : "retail"}</td>
                    <td>{trace.trades.side[i] === 0 ? "buys X" : "sells X"}</td>
                    <td class="num">{num(trace.trades.input[i])}</td>
                    <td class="num">{num(trace.trades.output[i])}</td>
                    <td class={`num ${trace.trades.edge[i] >= 0 ? "pos" : "neg"}`}>
                      {num(trace.trades.edge[i], true)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <p class="muted small center">Space plays and pauses; ← and → step (with Shift: 100 steps).</p>
      {P === 0 && <Notice>No pools.</Notice>}
    </>
  );
}

function countKind(t: Trace, from: number, to: number, kind: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (t.trades.kind[i] === kind) n++;
  return n;
}
