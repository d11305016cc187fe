/**
 * `propamm eval`: each candidate (checkpoint, strategy file or built-in) plays its own
 * simulations against the opponents and the normalizer on the same held-out seeds. Prints each
 * run's spec §7 table, a summary with win rates against the normalizer and paired differences
 * (against the opponents, and between candidates by seed), JSON, and two pictures.
 * `--together` puts all candidates in one simulation instead.
 */
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../env/config.js";
import { defaultWorkers } from "../arena/runner.js";
import type { SimulationResult } from "../env/simulation.js";
import { estimate } from "../arena/stats.js";
import { type Evaluation, evaluateCandidates, formatEvaluation } from "../arena/evaluation.js";
import { formatErrors, formatPaired, formatTable } from "./format.js";
import {
  addSandboxOptions,
  addSimulationOptions,
  configFromOptions,
  integer,
  lineUp,
  lineUpText,
  printModeLine,
  real,
  sandboxFromOptions,
} from "./options.js";
import { progressBar } from "./progress.js";
import { jsonReport, runAndReport, type RunOptions, writeJsonAtomic } from "./report.js";
import { defaultOutput, prepareOutputDir, prepareOutputFile } from "./outputs.js";
import { histogramSvg, lineChartSvg } from "./svg.js";
import { timestamp } from "./submit.js";
import { feeGrid, runBaselines } from "../arena/baselines.js";
import {
  addBaselineOptions,
  type BaselineCliOptions,
  baselineRunOptions,
  baselinesJson,
  formatBaselines,
  type SlicedCandidate,
} from "./baselines-report.js";

export const EVAL_SEED_START = 100_000;

const feeBps = real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps");

/** One line of the pictures: pool `index` of each simulation in `results`. */
export interface PlotEntry {
  name: string;
  results: readonly SimulationResult[];
  index: number;
}

/** Edge distributions (with a normalizer for reference) and capital weight per epoch. */
export function writeEvalPlots(dir: string, entries: PlotEntry[], normalizer: PlotEntry): string[] {
  mkdirSync(dir, { recursive: true });
  const results = entries[0].results;
  const edges = histogramSvg(
    `Edge per simulation (${results.length} seeds from ${results[0].seed})`,
    "edge (Y)",
    [...entries, normalizer].map((e) => ({ name: e.name, values: e.results.map((s) => s.pools[e.index].edge) })),
  );
  const epochs = results[0].pools[0].epochs.length;
  const lines = entries.map((en) => {
    const per = Array.from({ length: epochs }, (_, e) =>
      estimate(en.results.map((s) => s.pools[en.index].epochs[e]?.weight ?? NaN)),
    );
    return {
      name: en.name,
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

/** Plot entries for an evaluation whose candidates ran separately. */
export function separatePlotEntries(ev: Evaluation): { entries: PlotEntry[]; normalizer: PlotEntry } {
  const first = ev.runs[0].batch.results;
  const normIdx = first[0].pools.length - 1;
  return {
    entries: ev.rows.map((r, k) => ({ name: r.name, results: ev.runs[k].batch.results, index: 0 })),
    normalizer: {
      name: ev.runs.length > 1 ? `[Normalizer] (with ${ev.rows[0].name})` : "[Normalizer]",
      results: first,
      index: normIdx,
    },
  };
}

interface EvalOptions extends RunOptions, BaselineCliOptions {
  against: string[];
  baselines?: boolean;
  feeFrom: number;
  feeTo: number;
  feeStep: number;
  together?: boolean;
  plots?: string | false;
}

export function addEvalCommand(program: Command): void {
  addSimulationOptions(
    program
      .command("eval")
      .description("evaluate checkpoints or strategies against opponents and the normalizer on held-out seeds")
      .argument("<candidate...>", "checkpoint folders, strategy files or built-ins")
      .option(
        "--against <strategy...>",
        "opponents (built-ins, files, checkpoints; commas or spaces between them; none: the normalizer only)",
        ["starter"],
      )
      .option("--together", "put all candidates in the same simulations (default: each in its own)")
      .option("--simulations <n>", "number of simulations (seeds)", integer(1), 1000)
      .option("--seed-start <n>", "first seed (training never uses seeds below 1,000,000)", integer(0), EVAL_SEED_START)
      .option(
        "--workers <n>",
        "worker threads (results are identical for any count)",
        integer(0, 256),
        defaultWorkers(),
      )
      .option("--json <file>", "write per-simulation results and statistics as JSON")
      .option("--plots <dir>", `where the SVG pictures go (default: ${defaultOutput("eval", "eval_<timestamp>")})`)
      .option("--no-plots", "do not draw pictures")
      .option(
        "--baselines",
        "also report the fixed-fee baselines on the same seeds: best single fee, regime table, hindsight and oracle ceilings",
      )
      .option("--fee-from <bps>", "first fee of the baselines' grid", feeBps, 5)
      .option("--fee-to <bps>", "last fee of the baselines' grid", feeBps, 150)
      .option(
        "--fee-step <bps>",
        "fee step of the baselines' grid",
        real((v) => v > 0, "a number > 0"),
        5,
      ),
  );
  addBaselineOptions(program.commands[program.commands.length - 1]);
  addSandboxOptions(program.commands[program.commands.length - 1], false).action(
    async (candidates: string[], o: EvalOptions) => {
      o.against = lineUp(o.against, "--against");
      const perRun = o.together ? candidates.length + o.against.length : 1 + o.against.length;
      if (perRun > 16) throw new ConfigError(`at most 16 strategies in one simulation (got ${perRun})`);
      if (o.baselines && o.together)
        throw new ConfigError("--baselines needs each candidate in its own simulations (not --together)");
      const fees = o.baselines ? feeGrid(o.feeFrom, o.feeTo, o.feeStep) : [];
      if (o.json) prepareOutputFile(o.json, "--json");
      const plotDir = o.plots === false ? null : (o.plots ?? defaultOutput("eval", `eval_${timestamp()}`));
      if (plotDir) prepareOutputDir(plotDir, "--plots");
      if (o.together) {
        const { batch, summary } = await runAndReport([...candidates, ...o.against], o);
        console.log("Win rate against the normalizer (share of simulations with more edge):");
        for (const r of summary.rows.filter((r) => !r.normalizer))
          console.log(`  ${r.name}: ${(r.winRateVsNormalizer * 100).toFixed(1)}%`);
        if (o.json) writeJsonAtomic(o.json, jsonReport(batch, summary));
        if (plotDir) {
          const n = batch.results[0].pools.length;
          const entries = Array.from({ length: n - 1 }, (_, i) => ({
            name: summary.rows[i].name,
            results: batch.results,
            index: i,
          }));
          const norm = { name: "[Normalizer]", results: batch.results, index: n - 1 };
          for (const f of writeEvalPlots(plotDir, entries, norm)) console.log(`wrote ${f}`);
        }
        if (o.json) console.log(`wrote ${o.json}`);
        return;
      }
      const { sandbox, limits } = sandboxFromOptions(o, false);
      printModeLine(sandbox, limits);
      const bar = progressBar("evaluating");
      const ev = await evaluateCandidates(candidates, o.against, {
        sandbox,
        limits,
        config: configFromOptions(o),
        simulations: o.simulations,
        seedStart: o.seedStart,
        workers: o.workers,
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.finish();
      for (const run of ev.runs) {
        console.log(`\n${run.spec} against ${lineUpText(o.against)}:`);
        console.log(formatTable(run.summary));
        const paired = formatPaired(run.summary);
        if (paired) console.log(paired);
        const errors = formatErrors(run.summary);
        if (errors) console.log(errors);
      }
      console.log(`\n${formatEvaluation(ev, o.against)}`);
      const b = ev.runs[0].batch;
      console.log(
        `seeds ${b.seeds[0]}..${b.seeds[b.seeds.length - 1]}, ${b.config.steps} steps, epoch ${b.config.epochLen}`,
      );
      let baselines: unknown;
      if (o.baselines) {
        const bbar = progressBar("baselines");
        const run = await runBaselines(
          fees,
          o.against,
          baselineRunOptions(o, {
            sandbox,
            limits,
            config: configFromOptions(o),
            simulations: o.simulations,
            seedStart: o.seedStart,
            workers: o.workers,
            onProgress: (d, t) => bbar.update(d, t),
          }),
        );
        bbar.finish();
        const sliced: SlicedCandidate[] = ev.runs.map((r, k) => ({
          name: ev.rows[k].name,
          vsNormalizer: r.batch.results.map((s) => s.pools[0].edge - s.pools[s.pools.length - 1].edge),
        }));
        console.log(`\n${formatBaselines(run.report, o.against, sliced)}`);
        baselines = baselinesJson(run, sliced);
      }
      if (o.json) {
        writeJsonAtomic(o.json, {
          candidates,
          against: o.against,
          rows: ev.rows,
          pairs: ev.pairs,
          runs: ev.runs.map((r) => ({ spec: r.spec, ...(jsonReport(r.batch, r.summary) as object) })),
          ...(baselines === undefined ? {} : { baselines }),
        });
        console.log(`wrote ${o.json}`);
      }
      if (plotDir) {
        const { entries, normalizer } = separatePlotEntries(ev);
        for (const f of writeEvalPlots(plotDir, entries, normalizer)) console.log(`wrote ${f}`);
      }
    },
  );
}
