/**
 * Statistics over simulations (spec §7): means, standard deviations, 95% confidence intervals
 * (Student t), Sharpe ratios and paired differences on common seeds.
 */
import type { SimulationResult } from "../env/simulation.js";

export interface Estimate {
  mean: number;
  std: number;
  /** Half-width of the 95% confidence interval of the mean. */
  ci95: number;
  n: number;
}

/** Two-sided 95% Student-t quantiles for df = 1..30; beyond, a Cornish-Fisher expansion. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile95(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T95[Math.floor(df) - 1];
  const z = 1.959963984540054;
  const z3 = z ** 3;
  const z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/**
 * The arithmetic mean, NaN for no values. The one mean of the code base: every average of
 * results, returns or edges goes through it, so they all sum in index order from 0 and agree
 * to the last bit.
 */
export function mean(xs: ArrayLike<number>): number {
  const n = xs.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i];
  return sum / n;
}

export function estimate(xs: ArrayLike<number>): Estimate {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, ci95: NaN, n };
  const m = mean(xs);
  if (n === 1) return { mean: m, std: NaN, ci95: NaN, n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - m) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  return { mean: m, std, ci95: (tQuantile95(n - 1) * std) / Math.sqrt(n), n };
}

export interface StrategyRow {
  name: string;
  index: number;
  normalizer: boolean;
  oracle: boolean;
  edge: Estimate;
  /** Per-simulation edge minus the normalizer's edge in the same simulation. */
  vsNormalizer: Estimate;
  /** Fraction of simulations in which the strategy out-earned the normalizer. */
  winRateVsNormalizer: number;
  sharpe: number;
  finalWeight: Estimate;
  arbEdge: number;
  retailEdge: number;
  meanRetailTrades: number;
  errors: {
    quoteErrors: number;
    invalidQuotes: number;
    hookErrors: number;
    feeErrors: number;
    lastError: string;
    /** The first contained error over the simulations, with its seed, call and input (only when there was one). */
    firstError?: string;
    /** Simulations in which the runner stopped the strategy (only when there was one), and the first reason. */
    stopped?: number;
    firstStopped?: string;
  };
}

export interface PairedDifference {
  a: string;
  b: string;
  /** Per-simulation edge(a) - edge(b). */
  diff: Estimate;
  winRate: number;
}

export interface Summary {
  simulations: number;
  rows: StrategyRow[];
  paired: PairedDifference[];
}

/** Summarises simulations that ran the same strategies on different seeds. */
export function summarize(results: readonly SimulationResult[]): Summary {
  if (results.length === 0) return { simulations: 0, rows: [], paired: [] };
  const nPools = results[0].pools.length;
  const normIdx = nPools - 1;
  const col = (f: (r: SimulationResult) => number): Float64Array => Float64Array.from(results, f);
  const edges = Array.from({ length: nPools }, (_, i) => col((r) => r.pools[i].edge));
  const rows: StrategyRow[] = [];
  for (let i = 0; i < nPools; i++) {
    const first = results[0].pools[i];
    const vs = Float64Array.from(results, (r) => r.pools[i].edge - r.pools[normIdx].edge);
    const e = estimate(edges[i]);
    const errors: StrategyRow["errors"] = {
      quoteErrors: 0,
      invalidQuotes: 0,
      hookErrors: 0,
      feeErrors: 0,
      lastError: "",
    };
    let wins = 0;
    for (const r of results) {
      const p = r.pools[i];
      errors.quoteErrors += p.errors.quoteErrors;
      errors.invalidQuotes += p.errors.invalidQuotes;
      errors.hookErrors += p.errors.hookErrors;
      errors.feeErrors += p.errors.feeErrors;
      if (p.errors.lastError) errors.lastError = p.errors.lastError;
      if (p.errors.firstError && errors.firstError === undefined)
        errors.firstError = `seed ${r.seed}: ${p.errors.firstError}`;
      if (p.errors.stopped) {
        errors.stopped = (errors.stopped ?? 0) + 1;
        errors.firstStopped ??= `seed ${r.seed}: ${p.errors.stopped}`;
      }
      if (p.edge > r.pools[normIdx].edge) wins++;
    }
    rows.push({
      name: first.name,
      index: i,
      normalizer: first.normalizer,
      oracle: first.oracle,
      edge: e,
      vsNormalizer: estimate(vs),
      winRateVsNormalizer: wins / results.length,
      sharpe: e.mean / e.std,
      finalWeight: estimate(col((r) => r.pools[i].finalWeight)),
      arbEdge: mean(col((r) => r.pools[i].arbEdge)),
      retailEdge: mean(col((r) => r.pools[i].retailEdge)),
      meanRetailTrades: mean(col((r) => r.pools[i].retailTrades)),
      errors,
    });
  }
  const paired: PairedDifference[] = [];
  for (let a = 0; a < normIdx; a++) {
    for (let b = a + 1; b < normIdx; b++) {
      const d = Float64Array.from(results, (r) => r.pools[a].edge - r.pools[b].edge);
      let wins = 0;
      for (let k = 0; k < d.length; k++) if (d[k] > 0) wins++;
      paired.push({ a: rows[a].name, b: rows[b].name, diff: estimate(d), winRate: wins / d.length });
    }
  }
  return { simulations: results.length, rows, paired };
}
