/** `propamm train`: in-process training with tfjs (PPO) or worker-thread ES, with checkpoints. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ConfigError } from "../env/config.js";
import { loadTf } from "../training/backend.js";
import { ES_HYPERPARAMETERS } from "../training/es.js";
import { describeHyperparameters, type HyperparameterTable } from "../training/hyperparameters.js";
import { PPO_HYPERPARAMETERS } from "../training/ppo.js";
import { train, type TrainOptions } from "../training/train.js";
import { integer, addEnvOptions, addSimulationOptions, envConfigFromOptions, type SimOptions } from "./options.js";
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

/** Each algorithm's --hp keys with their defaults and docs, from its typed config, for `train --help`. */
function hyperparameterHelp(): string {
  const section = (algo: string, table: HyperparameterTable): string[] => {
    const rows = describeHyperparameters(table);
    const width = Math.max(...rows.map((r) => r.key.length));
    return [`  --algo ${algo}:`, ...rows.map((r) => `    ${r.key.padEnd(width)}  ${r.doc}`)];
  };
  return [
    "",
    "Hyperparameters (--hp key=value, shown with their defaults):",
    ...section("es", ES_HYPERPARAMETERS),
    ...section("ppo", PPO_HYPERPARAMETERS),
  ].join("\n");
}

interface TrainCliOptions extends SimOptions {
  algo: "ppo" | "es";
  timesteps?: number;
  /** The env's options (addEnvOptions); read whole by envConfigFromOptions. */
  opponents: string[];
  seed: number;
  out?: string;
  resume?: boolean;
  workers: number;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  hp: Record<string, unknown>;
}

export function addTrainCommand(program: Command): void {
  const command = addEnvOptions(
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
      .option(
        "--hp <key=value>",
        "algorithm hyperparameter override, repeatable (e.g. --hp population=32 --hp hidden=64,64; the keys are listed below)",
        parseHyper,
        {},
      )
      .addHelpText("after", hyperparameterHelp()),
  );
  addSimulationOptions(command).action(async (o: TrainCliOptions) => {
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
      env: { ...envConfigFromOptions(o), opponents: o.opponents },
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
