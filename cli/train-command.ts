/** `propamm train`: in-process training with tfjs (PPO) or worker-thread ES, with checkpoints. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ConfigError } from "../env/config.js";
import { loadTf } from "../training/backend.js";
import { train, type TrainOptions } from "../training/train.js";
import { integer, real, addSimulationOptions, configFromOptions, type SimOptions } from "./options.js";
import { defaultOutput, prepareOutputDir } from "./outputs.js";

export const DEFAULT_TIMESTEPS = { es: 8_000_000, ppo: 200_000 } as const;

function parseHyper(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const m = /^([A-Za-z]\w*)=(.+)$/.exec(value);
  if (!m) throw new ConfigError(`--hp expects key=value (got '${value}')`);
  const [, key, raw] = m;
  let v: unknown;
  if (raw === "true" || raw === "false") v = raw === "true";
  else if (/^-?\d+(\.\d+)?(e-?\d+)?(,-?\d+(\.\d+)?(e-?\d+)?)+$/.test(raw)) v = raw.split(",").map(Number);
  else if (Number.isFinite(Number(raw))) v = Number(raw);
  else v = raw;
  return { ...previous, [key]: v };
}

interface TrainCliOptions extends SimOptions {
  algo: "ppo" | "es";
  timesteps?: number;
  opponents: string[];
  seed: number;
  out?: string;
  resume?: boolean;
  workers: number;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  decisionInterval: number;
  rewardMode: "dense" | "sparse";
  rewardBaseline: "none" | "normalizer";
  rewardScale: number;
  feeMin: number;
  feeMax: number;
  hp: Record<string, unknown>;
}

export function addTrainCommand(program: Command): void {
  addSimulationOptions(
    program
      .command("train")
      .description("train a fee-setting agent (ES over worker threads, or PPO with tfjs) and checkpoint it")
      .option(
        "--algo <algo>",
        "es (evolution strategies, default) or ppo",
        (v) => {
          if (v !== "es" && v !== "ppo") throw new ConfigError(`--algo must be es or ppo (got '${v}')`);
          return v;
        },
        "es",
      )
      .option(
        "--timesteps <n>",
        `agent decisions to train for (default: es ${DEFAULT_TIMESTEPS.es}, ppo ${DEFAULT_TIMESTEPS.ppo})`,
        integer(1),
      )
      .option("--opponents <strategy...>", "opponent strategies (built-ins or files)", ["starter"])
      .option("--seed <n>", "training seed", integer(0), 0)
      .option(
        "--out <dir>",
        `run folder for checkpoints and metrics (default: ${defaultOutput("checkpoints", "<algo>-seed<seed>")})`,
      )
      .option("--resume", "continue the run in --out from its latest checkpoint")
      .option("--workers <n>", "rollout worker threads (es)", integer(0, 256), availableParallelism())
      .option("--eval-every <n>", "evaluate on held-out seeds every n iterations (0: never)", integer(0), 10)
      .option("--eval-episodes <n>", "held-out episodes per evaluation", integer(1), 16)
      .option("--checkpoint-every <n>", "checkpoint every n iterations", integer(1), 10)
      .option("--decision-interval <n>", "steps between the agent's afterSwap decisions", integer(0), 100)
      .option(
        "--reward-mode <mode>",
        "dense or sparse",
        (v) => {
          if (v !== "dense" && v !== "sparse")
            throw new ConfigError(`--reward-mode must be dense or sparse (got '${v}')`);
          return v;
        },
        "dense",
      )
      .option(
        "--reward-baseline <b>",
        "normalizer (default: reward = edge minus the normalizer's edge, so the agent learns to out-earn it) or none (the SPEC 6 reward)",
        (v) => {
          if (v !== "none" && v !== "normalizer")
            throw new ConfigError(`--reward-baseline must be none or normalizer (got '${v}')`);
          return v;
        },
        "normalizer",
      )
      .option(
        "--reward-scale <x>",
        "reward multiplier",
        real((v) => v > 0, "a number > 0"),
        0.01,
      )
      .option(
        "--fee-min <bps>",
        "fee at action -1",
        real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps"),
        0,
      )
      .option(
        "--fee-max <bps>",
        "fee at action +1",
        real((v) => v > 0 && v < 10000, "a fee in (0, 10000) bps"),
        250,
      )
      .option(
        "--hp <key=value>",
        "algorithm hyperparameter override, repeatable (e.g. --hp population=32 --hp hidden=64,64)",
        parseHyper,
        {},
      ),
  ).action(async (o: TrainCliOptions) => {
    const out = o.out ?? defaultOutput("checkpoints", `${o.algo}-seed${o.seed}`);
    // A folder to resume must already hold a run (train says so if not); any other is created now.
    if (o.resume !== true || existsSync(out)) prepareOutputDir(out, "--out");
    const { backend } = await loadTf();
    const timesteps = o.timesteps ?? DEFAULT_TIMESTEPS[o.algo];
    console.log(
      `propamm train: ${o.algo}, ${timesteps} timesteps, opponents ${o.opponents.join(", ")}, seed ${o.seed}, out ${out}`,
    );
    console.log(`tfjs backend: ${backend}; rollout workers: ${o.algo === "es" ? o.workers : "in-process"}`);
    const tty = process.stderr.isTTY === true;
    let lastLine = 0;
    const opts: TrainOptions = {
      algo: o.algo,
      timesteps,
      seed: o.seed,
      out,
      resume: o.resume === true,
      workers: o.algo === "es" ? o.workers : 0,
      env: {
        opponents: o.opponents,
        decisionInterval: o.decisionInterval,
        rewardMode: o.rewardMode,
        rewardBaseline: o.rewardBaseline,
        rewardScale: o.rewardScale,
        feeMinBps: o.feeMin,
        feeMaxBps: o.feeMax,
        sim: configFromOptions(o),
      },
      hyper: o.hp,
      evalEvery: o.evalEvery,
      evalEpisodes: o.evalEpisodes,
      checkpointEvery: o.checkpointEvery,
      log: (line) => console.log(line),
      onIteration: (m, elapsed) => {
        const line =
          `[${"#".repeat(Math.min(30, Math.round((m.timesteps / timesteps) * 30))).padEnd(30, "-")}] ` +
          `${m.timesteps}/${timesteps} steps, it ${m.iteration}, ${(m.episodes / Math.max(elapsed, 1e-3)).toFixed(1)} eps/s, ` +
          `return ${m.meanReturn.toFixed(3)}, edge ${m.meanEdge.toFixed(1)}, vs norm ${m.meanEdgeVsNormalizer >= 0 ? "+" : ""}${m.meanEdgeVsNormalizer.toFixed(1)}`;
        if (tty) process.stderr.write(`\r${line}   `);
        else if (Date.now() - lastLine > 5000) {
          lastLine = Date.now();
          console.log(line);
        }
      },
      onEval: (e) => {
        if (tty) process.stderr.write("\n");
        console.log(
          `eval @ ${e.timesteps} steps on held-out seeds ${e.seeds[0]}..${e.seeds[1]}: return ${e.meanReturn.toFixed(3)}, edge ${e.meanEdge.toFixed(1)}, vs norm ${e.meanEdgeVsNormalizer >= 0 ? "+" : ""}${e.meanEdgeVsNormalizer.toFixed(1)}`,
        );
      },
    };
    const started = performance.now();
    const dir = await train(opts);
    if (tty) process.stderr.write("\n");
    console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; checkpoint ${dir}`);
    console.log(`metrics: ${out}/metrics.jsonl; TensorBoard: tensorboard --logdir ${out}/tb`);
  });
}
