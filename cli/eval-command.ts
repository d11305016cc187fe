/**
 * `propamm eval`: checkpoints or strategies against opponents and the normalizer on held-out
 * seeds: the SPEC §7 table, per-simulation win rates against the normalizer, paired
 * differences with 95% CIs, JSON, and two pictures (edge distributions, capital weight per epoch).
 */
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../env/config.js";
import { defaultWorkers, type BatchResult } from "../env/runner.js";
import { estimate, type Summary } from "../env/stats.js";
import { addSimulationOptions, integer } from "./options.js";
import {
  checkOutputDir,
  checkOutputFile,
  jsonReport,
  runAndReport,
  type RunOptions,
  writeJsonAtomic,
} from "./report.js";
import { histogramSvg, lineChartSvg } from "./svg.js";
import { timestamp } from "./submit.js";

export const EVAL_SEED_START = 100_000;

/** The two pictures of an evaluation; returns the files written. */
export function writeEvalPlots(dir: string, batch: BatchResult, summary: Summary): string[] {
  mkdirSync(dir, { recursive: true });
  const names = summary.rows.map((r) => r.name);
  const edges = histogramSvg(
    `Edge per simulation (${batch.results.length} seeds from ${batch.seeds[0]})`,
    "edge (Y)",
    names.map((name, i) => ({ name, values: batch.results.map((r) => r.pools[i].edge) })),
  );
  const nStrategies = names.length - 1;
  const epochs = batch.results[0].pools[0].epochs.length;
  const lines = Array.from({ length: nStrategies }, (_, i) => {
    const per = Array.from({ length: epochs }, (_, e) =>
      estimate(batch.results.map((r) => r.pools[i].epochs[e]?.weight ?? NaN)),
    );
    return {
      name: names[i],
      x: per.map((_, e) => e + 1),
      y: per.map((p) => p.mean),
      band: per.map((p) => (Number.isFinite(p.ci95) ? p.ci95 : 0)),
    };
  });
  const weights = lineChartSvg(
    "Capital weight after each epoch (mean, 95% CI band)",
    "epoch",
    "capital weight",
    lines,
    {
      yRange: [0, 1],
      marker: true,
    },
  );
  const files = [join(dir, "edge_distribution.svg"), join(dir, "capital_weight.svg")];
  writeFileSync(files[0], edges);
  writeFileSync(files[1], weights);
  return files;
}

interface EvalOptions extends RunOptions {
  against: string[];
  plots?: string | false;
}

export function addEvalCommand(program: Command): void {
  addSimulationOptions(
    program
      .command("eval")
      .description("evaluate checkpoints or strategies against opponents and the normalizer on held-out seeds")
      .argument("<candidate...>", "checkpoint folders, strategy files or built-ins")
      .option("--against <strategy...>", "opponents (built-ins, files, checkpoints)", ["starter"])
      .option("--simulations <n>", "number of simulations (seeds)", integer(1), 1000)
      .option("--seed-start <n>", "first seed (training never uses seeds below 1,000,000)", integer(0), EVAL_SEED_START)
      .option(
        "--workers <n>",
        "worker threads (results are identical for any count)",
        integer(0, 256),
        defaultWorkers(),
      )
      .option("--json <file>", "write per-simulation results and statistics as JSON")
      .option("--plots <dir>", "where the SVG pictures go (default: eval/eval_<timestamp>)")
      .option("--no-plots", "do not draw pictures"),
  ).action(async (candidates: string[], o: EvalOptions) => {
    const strategies = [...candidates, ...o.against];
    if (strategies.length > 16)
      throw new ConfigError(`at most 16 strategies in one evaluation (got ${strategies.length})`);
    if (o.json) checkOutputFile(o.json, "--json");
    const plotDir = o.plots === false ? null : (o.plots ?? join("eval", `eval_${timestamp()}`));
    if (plotDir) checkOutputDir(plotDir, "--plots");
    const { batch, summary } = await runAndReport(strategies, o);
    console.log("Win rate against the normalizer (share of simulations with more edge):");
    for (const r of summary.rows.filter((r) => !r.normalizer)) {
      console.log(`  ${r.name}: ${(r.winRateVsNormalizer * 100).toFixed(1)}%`);
    }
    if (o.json) {
      writeJsonAtomic(o.json, jsonReport(batch, summary));
      console.log(`wrote ${o.json}`);
    }
    if (plotDir) for (const f of writeEvalPlots(plotDir, batch, summary)) console.log(`wrote ${f}`);
  });
}
