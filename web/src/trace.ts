/** The simulation tape, format version 1 (docs/trace.md), and lookups on it. */

export interface TracePool {
  name: string;
  index: number;
  normalizer: boolean;
  oracle?: boolean;
  constantProduct?: boolean;
}

export interface Trace {
  format: "propamm-trace";
  version: 1;
  seed: number;
  config: Record<string, unknown> & { steps?: number; epochLen?: number };
  market: Record<string, number>;
  pools: TracePool[];
  initial: { price: number; reserveX: number[]; reserveY: number[]; weight: (number | null)[] };
  steps: {
    count: number;
    price: number[];
    spot: (number | null)[][];
    reserveX: number[][];
    reserveY: number[][];
    bidFeeBps: (number | null)[][];
    askFeeBps: (number | null)[][];
    edge: number[][];
  };
  orders: { step: number[]; side: number[]; amount: number[] };
  trades: {
    step: number[];
    pool: number[];
    kind: number[];
    side: number[];
    input: number[];
    output: number[];
    edge: number[];
    order: number[];
    flowShare: number[];
    reserveX: number[];
    reserveY: number[];
  };
  epochs: {
    step: number[];
    epoch: number[];
    rebalanced: boolean[];
    weight: (number | null)[][];
    edge: number[][];
    score: number[][];
    trades: number[][];
  };
}

/** Checks the parts the replay reads; throws a message naming what is wrong. */
export function parseTrace(json: unknown): Trace {
  const t = json as Partial<Trace> | null;
  if (!t || typeof t !== "object") throw new Error("not a JSON object");
  if (t.format !== "propamm-trace") throw new Error(`not a propamm trace (format is ${JSON.stringify(t.format)})`);
  if (t.version !== 1) throw new Error(`trace version ${String(t.version)} is not known here (this page reads 1)`);
  const P = t.pools?.length ?? 0;
  if (P === 0) throw new Error("the trace has no pools");
  const s = t.steps;
  if (!s || !Array.isArray(s.price) || s.price.length !== s.count)
    throw new Error("steps.price must have steps.count entries");
  for (const k of ["spot", "edge", "bidFeeBps", "askFeeBps", "reserveX", "reserveY"] as const) {
    if (!Array.isArray(s[k]) || s[k].length !== P) throw new Error(`steps.${k} must have one column per pool`);
  }
  if (!t.trades || !Array.isArray(t.trades.step)) throw new Error("trades.step is missing");
  if (!t.epochs || !Array.isArray(t.epochs.step)) throw new Error("epochs.step is missing");
  return t as Trace;
}

/** First index i with xs[i] >= x, for sorted xs. */
export function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Indices [from, to) of the trades of step `step`. */
export function tradesAt(t: Trace, step: number): [number, number] {
  return [lowerBound(t.trades.step, step), lowerBound(t.trades.step, step + 1)];
}

/** Capital weight of each pool at the end of `step`: the last boundary at or before it, else the initial weight. */
export function weightsAt(t: Trace, step: number): (number | null)[] {
  const e = lowerBound(t.epochs.step, step + 1) - 1;
  if (e < 0) return t.initial.weight;
  return t.pools.map((_, p) => t.epochs.weight[p][e]);
}
