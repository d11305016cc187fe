/**
 * `propamm sweep fixed --from 5 --to 150 --step 5`: the best fixed fee for a setting. Every fee
 * plays the same seeds against the same opponents, so differences between fees are paired.
 * Trained agents should be judged against this fee, not only against the normalizer. It also
 * prints the fixed-fee baselines of spec §7.6 (best fee vs the normalizer, a regime table fitted
 * on other seeds, the hindsight and oracle ceilings) from the same simulations.
 */
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../env/config.js";
import { defaultWorkers } from "../arena/runner.js";
import { estimate } from "../arena/stats.js";
import { feeGrid, runBaselines } from "../arena/baselines.js";
import {
  addBaselineOptions,
  type BaselineCliOptions,
  baselineRunOptions,
  baselinesJson,
  formatBaselines,
} from "./baselines-report.js";
import {
  addSimulationOptions,
  configFromOptions,
  integer,
  lineUp,
  lineUpText,
  real,
  type SimOptions,
} from "./options.js";
import { writeJsonAtomic } from "./report.js";
import { defaultOutput, prepareOutputDir, prepareOutputFile } from "./outputs.js";
import { progressBar } from "./progress.js";
import { lineChartSvg } from "./svg.js";
import { timestamp } from "./submit.js";
import { EVAL_SEED_START } from "./eval-command.js";

interface SweepOptions extends SimOptions, BaselineCliOptions {
  from: number;
  to: number;
  step: number;
  against: string[];
  simulations: number;
  seedStart: number;
  workers: number;
  json?: string;
  plots?: string | false;
}

export interface SweepPoint {
  feeBps: number;
  meanEdge: number;
  ci95: number;
  vsNormalizer: number;
  vsNormalizerCi95: number;
}

export function addSweepCommand(program: Command): void {
  addSimulationOptions(
    addBaselineOptions(
      program
        .command("sweep")
        .description("find the best fixed fee for a setting: every fee on the same seeds against the same opponents")
        .argument("<family>", "strategy family to sweep (only 'fixed')")
        .option(
          "--from <bps>",
          "first fee",
          real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps"),
          5,
        )
        .option(
          "--to <bps>",
          "last fee",
          real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps"),
          150,
        )
        .option(
          "--step <bps>",
          "fee step",
          real((v) => v > 0, "a number > 0"),
          5,
        )
        .option("--against <strategy...>", "opponents (commas or spaces between them; none: the normalizer only)", [
          "starter",
        ])
        .option("--simulations <n>", "simulations per fee", integer(1), 200)
        .option("--seed-start <n>", "first seed", integer(0), EVAL_SEED_START)
        .option("--workers <n>", "worker threads", integer(0, 256), defaultWorkers())
        .option("--json <file>", "write the sweep as JSON")
        .option("--plots <dir>", `where edge_vs_fee.svg goes (default: ${defaultOutput("eval", "sweep_<timestamp>")})`)
        .option("--no-plots", "do not draw the picture"),
    ),
  ).action(async (family: string, o: SweepOptions) => {
    if (family !== "fixed") throw new ConfigError(`sweep: unknown family '${family}' (only 'fixed')`);
    o.against = lineUp(o.against, "--against");
    const fees = feeGrid(o.from, o.to, o.step);
    if (o.json) prepareOutputFile(o.json, "--json");
    const plotDir = o.plots === false ? null : (o.plots ?? defaultOutput("eval", `sweep_${timestamp()}`));
    if (plotDir) prepareOutputDir(plotDir, "--plots");
    const bar = progressBar("sweeping");
    const ro = baselineRunOptions(o, {
      config: configFromOptions(o),
      simulations: o.simulations,
      seedStart: o.seedStart,
      workers: o.workers,
      onProgress: (d, t) => bar.update(d, t),
    });
    const run = await runBaselines(fees, o.against, ro);
    bar.finish();
    const m = run.evalMatrix;
    const points: SweepPoint[] = fees.map((feeBps, f) => {
      const e = estimate(m.edge[f]);
      const v = estimate(m.vsNormalizer[f]);
      return { feeBps, meanEdge: e.mean, ci95: e.ci95, vsNormalizer: v.mean, vsNormalizerCi95: v.ci95 };
    });
    const best = points.reduce((a, b) => (b.meanEdge > a.meanEdge ? b : a));
    console.log(
      `Fixed fee sweep against ${lineUpText(o.against)}: ${o.simulations} simulations per fee, seeds ${o.seedStart}..${o.seedStart + o.simulations - 1}`,
    );
    console.log("  fee bps     mean edge            vs norm");
    for (const p of points) {
      const mark =
        (p === best ? "  <- best by edge" : "") + (p.feeBps === run.report.bestFee ? "  <- best vs norm" : "");
      console.log(
        `  ${p.feeBps.toFixed(1).padStart(7)}  ${p.meanEdge.toFixed(2).padStart(10)} ±${p.ci95.toFixed(2).padEnd(8)} ${p.vsNormalizer.toFixed(2).padStart(9)} ±${p.vsNormalizerCi95.toFixed(2)}${mark}`,
      );
    }
    console.log(
      `best fixed fee: ${best.feeBps} bps (mean edge ${best.meanEdge.toFixed(2)} ±${best.ci95.toFixed(2)}); best vs norm: ${run.report.bestFee} bps; compare an agent with: propamm eval <checkpoint> --baselines --against ${o.against.length > 0 ? o.against.join(" ") : "none"}`,
    );
    console.log(`\n${formatBaselines(run.report, o.against, [])}`);
    if (o.json) {
      writeJsonAtomic(o.json, {
        family,
        against: o.against,
        simulations: o.simulations,
        seedStart: o.seedStart,
        points,
        bestFeeBps: best.feeBps,
        baselines: baselinesJson(run, []),
      });
      console.log(`wrote ${o.json}`);
    }
    if (plotDir) {
      mkdirSync(plotDir, { recursive: true });
      const file = join(plotDir, "edge_vs_fee.svg");
      writeFileSync(
        file,
        lineChartSvg(
          `Mean edge of a fixed-fee pool against ${lineUpText(o.against)} (95% CI)`,
          "fee (bps)",
          "mean edge (Y)",
          [
            {
              name: "fixed fee",
              x: points.map((p) => p.feeBps),
              y: points.map((p) => p.meanEdge),
              band: points.map((p) => p.ci95),
            },
          ],
          { marker: true },
        ),
      );
      console.log(`wrote ${file}`);
    }
  });
}
