/**
 * Strong fixed-fee baselines (spec §7.6). A grid of fixed fees is played once on a set of seeds,
 * each fee in its own simulations against the same opponents (paired by seed), and the per-seed
 * results (a fee x seed matrix) give, with no further simulation:
 *
 * - the best single fixed fee (highest mean edge vs the normalizer; also the best by raw edge);
 * - a regime table, the best fee per cell of sigma bins x normalizer-fee bins, fitted on a matrix
 *   of seeds disjoint from the evaluation seeds and then read on the evaluation matrix;
 * - the best fee per seed in hindsight (a ceiling, not a strategy);
 * - paired differences against the best single fee, overall and per regime slice.
 */
import { MARKET_RANGES, type MarketParams, type SimConfig } from "../env/config.js";
import { ConfigError } from "../env/errors.js";
import type { Limits } from "./runner.js";
import { runStrategies } from "./batch.js";
import { estimate, type Estimate, mean } from "./stats.js";

/** Per-seed results of a fee grid: `edge[f][i]` is fee f's edge on seed i, in fee f's own simulation. */
export interface FeeMatrix {
  fees: number[];
  seeds: number[];
  /** The market of each seed (identical in every fee's simulation of that seed). */
  markets: Pick<MarketParams, "sigma" | "normalizerFeeBps">[];
  edge: number[][];
  /** Edge minus the normalizer's edge in the same simulation. */
  vsNormalizer: number[][];
}

/** Cut points of the regime bins: a value v is in bin k when exactly k cuts are <= v. */
export interface RegimeBins {
  sigmaCuts: number[];
  normFeeCuts: number[];
}

/** `n` equal-width bins over a range: the n - 1 interior cut points. */
export function equalCuts(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n - 1 }, (_, k) => lo + ((hi - lo) * (k + 1)) / n);
}

/** Equal-width bins over the ranges sampleMarket draws from (spec §2.2). */
export function defaultBins(sigmaBins = 3, normFeeBins = 3): RegimeBins {
  return {
    sigmaCuts: equalCuts(MARKET_RANGES.sigma[0], MARKET_RANGES.sigma[1], sigmaBins),
    normFeeCuts: equalCuts(MARKET_RANGES.normalizerFeeBps[0], MARKET_RANGES.normalizerFeeBps[1], normFeeBins),
  };
}

export function binOf(cuts: readonly number[], v: number): number {
  let k = 0;
  for (const c of cuts) if (v >= c) k++;
  return k;
}

/** Cell index (sigma bin major) of a market. */
export function cellOf(bins: RegimeBins, m: FeeMatrix["markets"][number]): number {
  return binOf(bins.sigmaCuts, m.sigma) * (bins.normFeeCuts.length + 1) + binOf(bins.normFeeCuts, m.normalizerFeeBps);
}

function fmtRange(cuts: readonly number[], k: number, f: (x: number) => string): string {
  const lo = k === 0 ? "" : f(cuts[k - 1]);
  const hi = k === cuts.length ? "" : f(cuts[k]);
  if (!lo) return `< ${hi}`;
  if (!hi) return `>= ${lo}`;
  return `[${lo}, ${hi})`;
}

export function sigmaLabel(bins: RegimeBins, k: number): string {
  return `sigma ${fmtRange(bins.sigmaCuts, k, (x) => x.toPrecision(3))}`;
}

export function normFeeLabel(bins: RegimeBins, k: number): string {
  return `norm fee ${fmtRange(bins.normFeeCuts, k, (x) => x.toFixed(1))}`;
}

/** Index of the largest mean over the rows (the first on ties); `rows[f]` over the seeds `only` (all by default). */
function argmaxMean(rows: readonly (readonly number[])[], only?: readonly number[]): number {
  let best = -1;
  let bestMean = -Infinity;
  for (let f = 0; f < rows.length; f++) {
    const m = only ? mean(only.map((i) => rows[f][i])) : mean(rows[f]);
    if (m > bestMean) {
      best = f;
      bestMean = m;
    }
  }
  if (best < 0) throw new ConfigError("no fee has a finite mean edge");
  return best;
}

/** The fee index with the highest mean edge vs the normalizer, or by raw edge. */
export function bestSingleFee(m: FeeMatrix, by: "vsNormalizer" | "edge" = "vsNormalizer"): number {
  return argmaxMean(by === "edge" ? m.edge : m.vsNormalizer);
}

export interface RegimeCell {
  cell: number;
  sigmaBin: number;
  normFeeBin: number;
  /** Fit seeds in the cell. */
  fitSeeds: number;
  /** Fee index chosen for the cell (the fit set's best single fee when the cell had no fit seed). */
  fee: number;
  fallback: boolean;
}

export interface RegimeTable {
  bins: RegimeBins;
  fees: number[];
  /** The best single fee on the fit seeds, used for empty cells. */
  fallbackFee: number;
  cells: RegimeCell[];
}

/** Fits the best fee per regime cell by mean edge vs the normalizer over the fit matrix alone. */
export function fitRegimeTable(fit: FeeMatrix, bins: RegimeBins): RegimeTable {
  const nf = bins.normFeeCuts.length + 1;
  const nCells = (bins.sigmaCuts.length + 1) * nf;
  const members: number[][] = Array.from({ length: nCells }, () => []);
  fit.markets.forEach((mk, i) => members[cellOf(bins, mk)].push(i));
  const fallbackFee = bestSingleFee(fit);
  const cells = members.map((idx, cell) => ({
    cell,
    sigmaBin: Math.floor(cell / nf),
    normFeeBin: cell % nf,
    fitSeeds: idx.length,
    fee: idx.length ? argmaxMean(fit.vsNormalizer, idx) : fallbackFee,
    fallback: idx.length === 0,
  }));
  return { bins, fees: fit.fees, fallbackFee, cells };
}

/** Per-seed results of a policy that plays fee `choice[i]` on seed i, read off the matrix. */
export interface PerSeed {
  fee: number[];
  edge: number[];
  vsNormalizer: number[];
}

function pick(m: FeeMatrix, choice: readonly number[]): PerSeed {
  return {
    fee: choice.map((f) => m.fees[f]),
    edge: choice.map((f, i) => m.edge[f][i]),
    vsNormalizer: choice.map((f, i) => m.vsNormalizer[f][i]),
  };
}

export function singleFeeResults(m: FeeMatrix, f: number): PerSeed {
  return pick(
    m,
    m.seeds.map(() => f),
  );
}

/** The regime table played on the evaluation matrix: each seed's cell picks its fee. */
export function applyRegimeTable(table: RegimeTable, m: FeeMatrix): PerSeed {
  if (table.fees.length !== m.fees.length || table.fees.some((f, k) => f !== m.fees[k]))
    throw new ConfigError("the regime table was fitted on another fee grid");
  return pick(
    m,
    m.markets.map((mk) => table.cells[cellOf(table.bins, mk)].fee),
  );
}

/** The best fee of each seed in hindsight (by edge vs the normalizer, the lowest fee on ties). */
export function hindsightResults(m: FeeMatrix): PerSeed {
  return pick(
    m,
    m.seeds.map((_, i) => {
      let best = 0;
      for (let f = 1; f < m.fees.length; f++) if (m.vsNormalizer[f][i] > m.vsNormalizer[best][i]) best = f;
      return best;
    }),
  );
}

export interface SliceDifference {
  label: string;
  /** Per seed of the slice: candidate minus baseline, edge vs the normalizer. */
  diff: Estimate;
  winRate: number;
}

/** Paired differences a[i] - b[i] over all seeds and per sigma bin and normalizer-fee bin. */
export function sliceDifferences(
  bins: RegimeBins,
  markets: FeeMatrix["markets"],
  a: readonly number[],
  b: readonly number[],
): SliceDifference[] {
  const slice = (label: string, keep: (i: number) => boolean): SliceDifference => {
    const d: number[] = [];
    for (let i = 0; i < a.length; i++) if (keep(i)) d.push(a[i] - b[i]);
    return { label, diff: estimate(d), winRate: d.filter((x) => x > 0).length / d.length };
  };
  const out = [slice("all seeds", () => true)];
  for (let k = 0; k <= bins.sigmaCuts.length; k++)
    out.push(slice(sigmaLabel(bins, k), (i) => binOf(bins.sigmaCuts, markets[i].sigma) === k));
  for (let k = 0; k <= bins.normFeeCuts.length; k++)
    out.push(slice(normFeeLabel(bins, k), (i) => binOf(bins.normFeeCuts, markets[i].normalizerFeeBps) === k));
  return out;
}

/** What a baseline row is: something one can deploy, or a bound nothing deployable reaches. */
export type BaselineKind = "strategy" | "fitted table" | "hindsight ceiling" | "oracle ceiling";

export interface BaselineRow {
  name: string;
  kind: BaselineKind;
  edge: Estimate;
  vsNormalizer: Estimate;
  perSeed: PerSeed;
}

export function baselineRow(name: string, kind: BaselineKind, p: PerSeed): BaselineRow {
  return { name, kind, edge: estimate(p.edge), vsNormalizer: estimate(p.vsNormalizer), perSeed: p };
}

export interface BaselineReport {
  fees: number[];
  seeds: number[];
  /** The market of each evaluation seed, for slicing. */
  markets: FeeMatrix["markets"];
  fitSeeds: number[];
  bins: RegimeBins;
  bestFee: number;
  bestFeeByEdge: number;
  table: RegimeTable | null;
  rows: BaselineRow[];
}

/**
 * The fixed-fee baselines from the evaluation matrix and (optionally) a fit matrix on disjoint
 * seeds: the best single fee (vs the normalizer, and by raw edge when it differs), the regime
 * table fitted on `fit`, and the per-seed hindsight ceiling.
 */
export function fixedFeeBaselines(evalM: FeeMatrix, fit: FeeMatrix | null, bins: RegimeBins): BaselineReport {
  const overlap = fit?.seeds.filter((s) => evalM.seeds.includes(s)) ?? [];
  if (overlap.length) throw new ConfigError(`fit seeds overlap the evaluation seeds (seed ${overlap[0]})`);
  const best = bestSingleFee(evalM);
  const byEdge = bestSingleFee(evalM, "edge");
  const rows = [baselineRow(`fixed:${evalM.fees[best]} (best vs norm)`, "strategy", singleFeeResults(evalM, best))];
  if (byEdge !== best)
    rows.push(baselineRow(`fixed:${evalM.fees[byEdge]} (best by edge)`, "strategy", singleFeeResults(evalM, byEdge)));
  const table = fit ? fitRegimeTable(fit, bins) : null;
  if (table) rows.push(baselineRow("regime table", "fitted table", applyRegimeTable(table, evalM)));
  rows.push(baselineRow("best fee per seed", "hindsight ceiling", hindsightResults(evalM)));
  return {
    fees: evalM.fees,
    seeds: evalM.seeds,
    markets: evalM.markets,
    fitSeeds: fit?.seeds ?? [],
    bins,
    bestFee: evalM.fees[best],
    bestFeeByEdge: evalM.fees[byEdge],
    table,
    rows,
  };
}

/** The fees from..to by step (rounded to 1e-6 bps), as `propamm sweep` lists them. */
export function feeGrid(from: number, to: number, step: number): number[] {
  if (to < from) throw new ConfigError(`the last fee (${to}) must be >= the first (${from})`);
  const fees: number[] = [];
  for (let f = from; f <= to + 1e-9; f += step) fees.push(Math.round(f * 1e6) / 1e6);
  if (fees.length > 500) throw new ConfigError(`the fee grid has ${fees.length} fees; at most 500`);
  return fees;
}

/**
 * The default fit seeds: from 300,000 (away from `eval`'s 100,000, the demo's 200,000 and
 * training's held-out 500,000), or right after the evaluation seeds when those overlap it.
 */
export function defaultFitSeedStart(seedStart: number, simulations: number, fitSimulations: number): number {
  const start = 300_000;
  const overlaps = start < seedStart + simulations && seedStart < start + fitSimulations;
  return overlaps ? seedStart + simulations : start;
}

export interface GridRunOptions {
  config: Partial<SimConfig>;
  simulations: number;
  seedStart: number;
  workers: number;
  sandbox?: boolean;
  limits?: Partial<Limits>;
  onProgress?: (done: number, total: number) => void;
}

/** Plays each fee of the grid in its own simulations against `opponents` on the same seeds. */
export async function runFeeGrid(
  fees: readonly number[],
  opponents: readonly string[],
  opts: GridRunOptions,
): Promise<FeeMatrix> {
  const m: FeeMatrix = { fees: [...fees], seeds: [], markets: [], edge: [], vsNormalizer: [] };
  for (const [k, fee] of fees.entries()) {
    const batch = await runStrategies({
      sandbox: opts.sandbox,
      limits: opts.limits,
      strategies: [`fixed:${fee}`, ...opponents],
      config: opts.config,
      simulations: opts.simulations,
      seedStart: opts.seedStart,
      workers: opts.workers,
      onProgress: (d, t) => opts.onProgress?.(k * t + d, fees.length * t),
    });
    const rs = batch.results;
    if (k === 0) {
      m.seeds = rs.map((r) => r.seed);
      m.markets = rs.map((r) => ({ sigma: r.market.sigma, normalizerFeeBps: r.market.normalizerFeeBps }));
    }
    m.edge.push(rs.map((r) => r.pools[0].edge));
    m.vsNormalizer.push(rs.map((r) => r.pools[0].edge - r.pools[r.pools.length - 1].edge));
  }
  return m;
}

export interface BaselineRunOptions extends GridRunOptions {
  /** Fit seeds of the regime table; 0 simulations leaves the table out. */
  fitSeedStart: number;
  fitSimulations: number;
  bins: RegimeBins;
  /** The oracle's fee in bps, "best" for the best single fee, or null for no oracle row. */
  oracleFee: number | "best" | null;
}

export interface BaselineRun {
  report: BaselineReport;
  evalMatrix: FeeMatrix;
  fitMatrix: FeeMatrix | null;
}

/**
 * The fee grid on the evaluation seeds (or `evalMatrix` when already played), the grid on the
 * fit seeds for the regime table, and the oracle ceiling on the evaluation seeds.
 */
export async function runBaselines(
  fees: readonly number[],
  opponents: readonly string[],
  opts: BaselineRunOptions,
  evalMatrix?: FeeMatrix,
): Promise<BaselineRun> {
  // One progress count over the three stages: the evaluation grid, the fit grid, the oracle.
  const nEval = evalMatrix ? 0 : fees.length * opts.simulations;
  const nFit = fees.length * opts.fitSimulations;
  const total = nEval + nFit + (opts.oracleFee === null ? 0 : opts.simulations);
  const from = (offset: number) => (d: number) => opts.onProgress?.(offset + d, total);
  const evalM = evalMatrix ?? (await runFeeGrid(fees, opponents, { ...opts, onProgress: from(0) }));
  const lo = opts.fitSeedStart;
  const hi = lo + opts.fitSimulations;
  if (opts.fitSimulations > 0 && lo < opts.seedStart + opts.simulations && opts.seedStart < hi)
    throw new ConfigError(
      `the fit seeds ${lo}..${hi - 1} overlap the evaluation seeds ${opts.seedStart}..${opts.seedStart + opts.simulations - 1}`,
    );
  const fitM =
    opts.fitSimulations > 0
      ? await runFeeGrid(fees, opponents, {
          ...opts,
          seedStart: lo,
          simulations: opts.fitSimulations,
          onProgress: from(nEval),
        })
      : null;
  const report = fixedFeeBaselines(evalM, fitM, opts.bins);
  if (opts.oracleFee !== null) {
    const fee = opts.oracleFee === "best" ? report.bestFee : opts.oracleFee;
    const batch = await runStrategies({
      sandbox: opts.sandbox,
      limits: opts.limits,
      strategies: [`oracle:${fee}`, ...opponents],
      config: opts.config,
      simulations: opts.simulations,
      seedStart: opts.seedStart,
      workers: opts.workers,
      onProgress: from(nEval + nFit),
    });
    const rs = batch.results;
    report.rows.push(
      baselineRow(`oracle:${fee}`, "oracle ceiling", {
        fee: rs.map(() => fee),
        edge: rs.map((r) => r.pools[0].edge),
        vsNormalizer: rs.map((r) => r.pools[0].edge - r.pools[r.pools.length - 1].edge),
      }),
    );
  }
  return { report, evalMatrix: evalM, fitMatrix: fitM };
}
