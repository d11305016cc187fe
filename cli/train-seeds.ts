/**
 * The report of `propamm train --seeds K` (K > 1, docs/training.md): read back each run's
 * held-out evaluations from its own metrics.jsonl, and write across seeds: the learning curve as
 * SVG (mean line, min–max band, each seed's own line), TensorBoard scalars, `seeds.json`, and the
 * table of the final held-out figures.
 */
import { join } from "node:path";
import {
  aggregateSeeds,
  CURVE_METRICS,
  type CurveMetric,
  readEvalRecords,
  type SeedCurves,
  type Spread,
  writeSeedScalars,
} from "../training/seed-curves.js";
import { rmSync, writeFileSync } from "node:fs";
import { writeJsonAtomic } from "./report.js";
import { type Line, lineChartSvg } from "./svg.js";

/** The folder of the run with training seed `seed` inside `out`. */
export function seedRunDir(out: string, seed: number): string {
  return join(out, `seed-${seed}`);
}

/** The learning curve: the mean across seeds with the min–max band, and each seed's own evaluations. */
export function learningCurveSvg(c: SeedCurves): string {
  const k = c.runs.length;
  const lines: Line[] = [
    {
      name: `mean of ${k} seeds (band: min-max)`,
      x: c.curve.map((p) => p.timesteps.mean),
      y: c.curve.map((p) => p.values.meanEdgeVsNormalizer.mean),
      lower: c.curve.map((p) => p.values.meanEdgeVsNormalizer.min),
      upper: c.curve.map((p) => p.values.meanEdgeVsNormalizer.max),
    },
    ...c.runs.map((r) => ({
      name: `seed ${r.seed}`,
      x: r.evals.map((e) => e.timesteps),
      y: r.evals.map((e) => e.meanEdgeVsNormalizer),
      width: 1,
      opacity: 0.6,
    })),
  ];
  return lineChartSvg(
    `Held-out edge vs normalizer over training (${k} training seeds)`,
    "timesteps (decisions)",
    "mean edge - normalizer's edge",
    lines,
  );
}

const LABELS: Record<CurveMetric | "timesteps", string> = {
  meanEdgeVsNormalizer: "edge vs normalizer",
  meanEdge: "edge",
  meanReturn: "return",
  timesteps: "timesteps",
};

function num(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "n/a";
}

/** The final held-out figures across seeds, and each seed's own. */
export function formatSeedTable(c: SeedCurves): string {
  const keys = [...CURVE_METRICS, "timesteps" as const];
  const digits = (k: string): number => (k === "timesteps" ? 0 : k === "meanReturn" ? 3 : 2);
  const head = "".padEnd(22) + ["mean", "min", "max", "sd"].map((h) => h.padStart(12)).join("");
  const lines = [
    `Final held-out evaluation across ${c.runs.length} training seeds (each run's last evaluation):`,
    head,
    "-".repeat(head.length),
  ];
  for (const k of keys) {
    const s: Spread = c.final[k];
    lines.push(LABELS[k].padEnd(22) + [s.mean, s.min, s.max, s.sd].map((v) => num(v, digits(k)).padStart(12)).join(""));
  }
  lines.push("Per seed:");
  for (const r of c.runs) {
    const e = r.evals[r.evals.length - 1];
    lines.push(
      `  seed ${r.seed}: edge vs normalizer ${num(e.meanEdgeVsNormalizer, 2)}, edge ${num(e.meanEdge, 2)}, ` +
        `return ${num(e.meanReturn, 3)} at ${e.timesteps} timesteps (${r.out})`,
    );
  }
  lines.push("(sd: sample standard deviation across seeds, divisor K - 1)");
  return lines.join("\n");
}

/** Reads the runs back and writes the aggregate into `out`; returns it and the files written. */
export function reportSeeds(out: string, seeds: readonly number[]): { curves: SeedCurves; files: string[] } {
  const curves = aggregateSeeds(
    seeds.map((seed) => ({ seed, out: seedRunDir(out, seed), evals: readEvalRecords(seedRunDir(out, seed)) })),
  );
  const svg = join(out, "learning_curve.svg");
  writeFileSync(svg, learningCurveSvg(curves));
  const json = join(out, "seeds.json");
  writeJsonAtomic(json, curves);
  // out/tb holds only the aggregate (each run has its own tb/): a new report replaces the old one.
  rmSync(join(out, "tb"), { recursive: true, force: true });
  const tb = writeSeedScalars(join(out, "tb"), curves);
  return { curves, files: [svg, json, tb] };
}
