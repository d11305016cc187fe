/**
 * Learning curves across training seeds (`propamm train --seeds K`, docs/training.md): the
 * held-out evaluations each run wrote to its metrics.jsonl, read back from the files, aligned by
 * iteration and summarised across seeds (mean, min, max, sample standard deviation), with the
 * aggregate written as TensorBoard scalars.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { estimate } from "../arena/stats.js";
import { TensorBoardWriter } from "./tensorboard.js";

/** The figures of one held-out evaluation, as metrics.jsonl records it (`type: "eval"`). */
export interface EvalRecord {
  iteration: number;
  timesteps: number;
  meanReturn: number;
  meanEdge: number;
  meanEdgeVsNormalizer: number;
}

/** The held-out figures summarised across seeds. */
export const CURVE_METRICS = ["meanEdgeVsNormalizer", "meanEdge", "meanReturn"] as const;
export type CurveMetric = (typeof CURVE_METRICS)[number];

/** Across seeds: mean, min, max and sample standard deviation (divisor K - 1; NaN for one seed). */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  sd: number;
}

export interface CurvePoint {
  iteration: number;
  /** The seeds' timesteps at this iteration (runs play whole iterations, so they may differ). */
  timesteps: Spread;
  values: Record<CurveMetric, Spread>;
}

export interface SeedRun {
  seed: number;
  /** The run's folder. */
  out: string;
  /** Its held-out evaluations in order. */
  evals: EvalRecord[];
}

export interface SeedCurves {
  runs: SeedRun[];
  /** One point per iteration that every run evaluated at, in order. */
  curve: CurvePoint[];
  /** Each run's last evaluation, summarised across seeds. */
  final: Record<CurveMetric | "timesteps", Spread>;
}

/**
 * The held-out evaluations in a run folder's metrics.jsonl, in iteration order. A run resumed
 * from a checkpoint older than its last evaluation evaluates those iterations again: the later
 * record of an iteration is the one its checkpoints continue from, so it replaces the earlier.
 */
export function readEvalRecords(runDir: string): EvalRecord[] {
  const text = readFileSync(join(runDir, "metrics.jsonl"), "utf8");
  const byIteration = new Map<number, EvalRecord>();
  const records = text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type === "eval")
    .map((r) => ({
      iteration: r.iteration as number,
      timesteps: r.timesteps as number,
      meanReturn: r.meanReturn as number,
      meanEdge: r.meanEdge as number,
      meanEdgeVsNormalizer: r.meanEdgeVsNormalizer as number,
    }));
  for (const r of records) byIteration.set(r.iteration, r);
  return [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
}

export function spread(xs: readonly number[]): Spread {
  const e = estimate(xs);
  return { mean: e.mean, min: Math.min(...xs), max: Math.max(...xs), sd: e.std };
}

/** Aligns runs' evaluations by iteration (those every run has) and summarises them across seeds. */
export function aggregateSeeds(runs: readonly SeedRun[]): SeedCurves {
  if (runs.length === 0) throw new Error("aggregateSeeds needs at least one run");
  for (const r of runs)
    if (r.evals.length === 0) throw new Error(`${r.out} has no held-out evaluation in its metrics.jsonl`);
  const byIteration = runs.map((r) => new Map(r.evals.map((e) => [e.iteration, e])));
  const common = [...byIteration[0].keys()].filter((it) => byIteration.every((m) => m.has(it))).sort((a, b) => a - b);
  const curve = common.map((iteration) => {
    const at = byIteration.map((m) => m.get(iteration)!);
    const values = Object.fromEntries(CURVE_METRICS.map((k) => [k, spread(at.map((e) => e[k]))])) as Record<
      CurveMetric,
      Spread
    >;
    return { iteration, timesteps: spread(at.map((e) => e.timesteps)), values };
  });
  const last = runs.map((r) => r.evals[r.evals.length - 1]);
  const final = Object.fromEntries(
    [...CURVE_METRICS, "timesteps" as const].map((k) => [k, spread(last.map((e) => e[k]))]),
  ) as SeedCurves["final"];
  return { runs: [...runs], curve, final };
}

/**
 * TensorBoard scalars of the aggregate under `logDir`: `eval_seeds/<metric>/{mean,min,max}` at
 * step = the seeds' mean timesteps at that iteration, rounded.
 */
export function writeSeedScalars(logDir: string, curves: SeedCurves): string {
  const tb = new TensorBoardWriter(logDir);
  try {
    for (const p of curves.curve) {
      const step = Math.round(p.timesteps.mean);
      for (const k of CURVE_METRICS)
        for (const stat of ["mean", "min", "max"] as const)
          tb.scalar(`eval_seeds/${k}/${stat}`, p.values[k][stat], step);
    }
  } finally {
    tb.close();
  }
  return tb.path;
}
