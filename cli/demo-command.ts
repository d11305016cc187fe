/**
 * `propamm demo` (`npm start`): the whole workflow on built-in defaults, in a few minutes on two
 * cores: train an agent with ES against the starter, export it as a standalone strategy file,
 * find the best fixed fee, and evaluate the agent against the starter, that fee and the
 * normalizer on 1000 held-out seeds. Prints the table and where every file went.
 */
import type { Command } from "commander";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { loadTf } from "../training/backend.js";
import { runBatch } from "../arena/runner.js";
import { estimate } from "../arena/stats.js";
import { train } from "../training/train.js";
import { separatePlotEntries, writeEvalPlots } from "./eval-command.js";
import { evaluateCandidates, formatEvaluation, verdict } from "../arena/evaluation.js";
import { formatTable } from "./format.js";
import { integer } from "./options.js";
import { writeJsonAtomic } from "./report.js";
import { defaultOutput, prepareOutputDir } from "./outputs.js";
import { timestamp } from "./submit.js";

interface DemoOptions {
  out?: string;
  timesteps: number;
  simulations: number;
  workers: number;
}

export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("end-to-end demo: train, export, sweep fixed fees, evaluate (npm start)")
    .option("--out <dir>", `folder for everything the demo writes (default: ${defaultOutput("demo", "<timestamp>")})`)
    .option("--timesteps <n>", "training budget in agent decisions", integer(1), 2_000_000)
    .option("--simulations <n>", "held-out simulations for the evaluation", integer(1), 1000)
    .option("--workers <n>", "worker threads", integer(0, 256), availableParallelism())
    .action(async (o: DemoOptions) => {
      const out = o.out ?? defaultOutput("demo", timestamp());
      prepareOutputDir(out, "--out");
      const started = performance.now();
      const { backend } = await loadTf();
      const say = (s: string): void => console.log(s);
      say(`prop-amm gym demo -> ${out}  (tfjs backend: ${backend}; ${o.workers} workers)`);

      say(`\n1/4 training: ES against the starter, ${o.timesteps} decisions, reward = edge minus the normalizer's`);
      const run = join(out, "run");
      let lastEval = "";
      const ckpt = await train({
        algo: "es",
        timesteps: o.timesteps,
        seed: 0,
        out: run,
        resume: false,
        workers: o.workers,
        env: { opponents: ["starter"], rewardBaseline: "normalizer" },
        // A smaller search than `propamm train`'s default, to keep the demo to a few minutes.
        hyper: { population: 24, seedsPerGeneration: 4 },
        evalEvery: 25,
        evalEpisodes: 16,
        checkpointEvery: 25,
        onEval: (e) => {
          lastEval = `edge ${e.meanEdge.toFixed(1)}, vs normalizer ${e.meanEdgeVsNormalizer >= 0 ? "+" : ""}${e.meanEdgeVsNormalizer.toFixed(1)}`;
          say(`    ${e.timesteps} decisions: held-out ${lastEval}`);
        },
      });
      say(`    checkpoint: ${ckpt}`);

      say("\n2/4 export: the policy as a standalone strategy (no ML runtime)");
      const { exportPolicy } = await import("../agents/export.js");
      const policyFile = join(out, "policy.ts");
      writeFileSync(policyFile, exportPolicy(run, "ts", { name: "Demo ES policy" }));
      const rustFile = join(out, "policy.rs");
      writeFileSync(rustFile, exportPolicy(run, "rs", { name: "Demo ES policy" }));
      say(`    ${policyFile}\n    ${rustFile}`);

      say("\n3/4 sweep: the best fixed fee against the starter (200 seeds per fee from 200000, 5..150 bps)");
      let best = { fee: 0, edge: -Infinity };
      for (let fee = 5; fee <= 150; fee += 5) {
        const b = await runBatch({
          strategies: [`fixed:${fee}`, "starter"],
          simulations: 200,
          // Not the evaluation seeds: choosing the fee on them would favour it.
          seedStart: 200_000,
          workers: o.workers,
        });
        const e = estimate(b.results.map((r) => r.pools[0].edge)).mean;
        if (e > best.edge) best = { fee, edge: e };
      }
      say(`    best fixed fee: ${best.fee} bps (mean edge ${best.edge.toFixed(1)})`);

      say(
        `\n4/4 evaluation on ${o.simulations} held-out seeds (100000...): the exported file and the best fixed fee, each against the starter`,
      );
      const ev = await evaluateCandidates([policyFile, `fixed:${best.fee}`], ["starter"], {
        config: {},
        simulations: o.simulations,
        seedStart: 100_000,
        workers: o.workers,
      });
      say(formatTable(ev.runs[0].summary));
      say(formatEvaluation(ev, ["starter"]));
      const agent = ev.rows[0];
      say(
        `\nThe agent vs the normalizer: ${agent.vsNormalizer.mean.toFixed(1)} ±${agent.vsNormalizer.ci95.toFixed(1)}: ${verdict(agent.vsNormalizer)}`,
      );
      const vsStarter = agent.vsOpponents[0];
      if (vsStarter)
        say(
          `The agent vs the starter: ${vsStarter.diff.mean.toFixed(1)} ±${vsStarter.diff.ci95.toFixed(1)}: ${verdict(vsStarter.diff)}`,
        );
      const vsFixed = ev.pairs[0];
      say(
        `The agent vs fixed ${best.fee} bps (each against the starter): ${vsFixed.diff.mean.toFixed(1)} ±${vsFixed.diff.ci95.toFixed(1)}: ${verdict(vsFixed.diff)}`,
      );
      const evalJson = join(out, "eval.json");
      writeJsonAtomic(evalJson, {
        candidates: [policyFile, `fixed:${best.fee}`],
        against: ["starter"],
        seeds: { start: 100_000, count: o.simulations },
        rows: ev.rows,
        pairs: ev.pairs,
      });
      const { entries, normalizer } = separatePlotEntries(ev);
      const plots = writeEvalPlots(join(out, "plots"), entries, normalizer);
      say(
        `\nfiles:\n    ${run}/ (checkpoints, metrics.jsonl, tb/)\n    ${policyFile}\n    ${rustFile}\n    ${evalJson}\n    ${plots.join("\n    ")}`,
      );
      say(
        `done in ${((performance.now() - started) / 1000).toFixed(0)} s. Next: README.md, "Train, evaluate, export", and docs/training.md.`,
      );
    });
}
