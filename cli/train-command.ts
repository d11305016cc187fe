/** `propamm train`: in-process training with tfjs (PPO) or worker-thread ES, with checkpoints. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { Option } from "commander";
import { readCheckpointState, resolveCheckpoint } from "../agents/checkpoint.js";
import { ConfigError } from "../env/config.js";
import { PIN_OPTIONS, SIM_OPTIONS, type OptionSpec } from "../env/options.js";
import { ENV_OPTIONS } from "../gym/options.js";
import { loadTf } from "../training/backend.js";
import { ES_HYPERPARAMETERS } from "../training/es.js";
import { describeHyperparameters, type HyperparameterTable } from "../training/hyperparameters.js";
import { formatLeague, trainLeague } from "../training/league.js";
import { PPO_HYPERPARAMETERS } from "../training/ppo.js";
import { train, type TrainOptions, type TrainStart } from "../training/train.js";
import {
  integer,
  addEnvOptions,
  addSimulationOptions,
  envConfigFromOptions,
  lineUp,
  lineUpText,
  type SimOptions,
} from "./options.js";
import { defaultOutput, prepareOutputDir } from "./outputs.js";
import { formatSeedTable, reportSeeds, seedRunDir } from "./train-seeds.js";

/**
 * What `train` uses where a flag is not given, by what it trains. A run of ES (alone or with
 * --seeds) sees the extended observation and decides at every trade: 100M decisions take about
 * 7 minutes on 2 cores, and on three training seeds beat the regime table (docs/training.md,
 * "Against the baselines"). A league's members keep the seed observation every 100 steps, which
 * is what its measured budget is in (a member's 2M decisions at every trade are one iteration).
 * PPO updates its network per decision, so it keeps the seed observation every 100 steps too.
 */
export const TRAIN_DEFAULTS = {
  es: { timesteps: 100_000_000, observation: "extended", decisionInterval: 1 },
  league: { timesteps: 4_000_000, observation: "seed", decisionInterval: 100 },
  ppo: { timesteps: 200_000, observation: "seed", decisionInterval: 100 },
} as const;

/** The row of TRAIN_DEFAULTS a command line uses (a PPO league keeps PPO's). */
export function trainDefaults(
  algo: "es" | "ppo",
  league: boolean,
): (typeof TRAIN_DEFAULTS)[keyof typeof TRAIN_DEFAULTS] {
  return algo === "ppo" ? TRAIN_DEFAULTS.ppo : league ? TRAIN_DEFAULTS.league : TRAIN_DEFAULTS.es;
}

const defaultsText = (key: "timesteps" | "observation" | "decisionInterval"): string =>
  `es ${TRAIN_DEFAULTS.es[key]}, es --league ${TRAIN_DEFAULTS.league[key]}, ppo ${TRAIN_DEFAULTS.ppo[key]}`;

/**
 * `--hp key=value`: numbers, booleans, number lists (`64,64`), text, or nothing (`hidden=`: an
 * empty list, a network without hidden layers).
 */
export function parseHyper(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const m = /^([A-Za-z]\w*)=(.*)$/.exec(value);
  if (!m) throw new ConfigError(`--hp expects key=value (got '${value}')`);
  const [, key, raw] = m;
  let v: unknown;
  if (raw === "") v = [];
  else if (raw === "true" || raw === "false") v = raw === "true";
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

/**
 * The options of a train command line that set the run's environment, seed or hyperparameters
 * and were typed by the user (not defaults), as `train()` checks them against a resumed run.
 */
function givenRunOptions(cmd: Command, o: TrainCliOptions): { key: string; flag: string }[] {
  const out: { key: string; flag: string }[] = [];
  const rows: [string, readonly OptionSpec[]][] = [
    ["env", ENV_OPTIONS],
    ["env.sim", SIM_OPTIONS],
    ["env.sim.pins", PIN_OPTIONS],
  ];
  for (const [prefix, specs] of rows) {
    for (const spec of specs) {
      if (spec.flag === null) continue;
      const option = new Option(spec.flag);
      if (cmd.getOptionValueSource(option.attributeName()) === "cli")
        out.push({ key: `${prefix}.${spec.key}`, flag: option.long ?? spec.flag });
    }
  }
  if (cmd.getOptionValueSource("opponentPool") === "cli")
    out.push({ key: "env.opponentPool", flag: "--opponent-pool" });
  if (cmd.getOptionValueSource("seed") === "cli") out.push({ key: "seed", flag: "--seed" });
  for (const k of Object.keys(o.hp)) out.push({ key: `hyper.${k}`, flag: `--hp ${k}=` });
  return out;
}

const count = (n: number): string => n.toLocaleString("en-US");

/** The run's banner: what it will really do (a resumed run's environment and seed are its checkpoint's). */
function banner(s: TrainStart, backend: string, workers: string): string[] {
  const resumed = s.resumed ? ` (resuming at ${s.resumed.timesteps})` : "";
  const lines = [
    `propamm train: ${s.algo}, ${s.timesteps} timesteps${resumed}, opponents ${lineUpText(s.opponents)}` +
      (s.opponentPool.length > 0
        ? ` (held-out evaluation; training draws ${s.opponents.length} per episode from ${s.opponentPool.join(", ")})`
        : "") +
      `, seed ${s.seed}, out ${s.out}`,
    `tfjs backend: ${backend}; rollout workers: ${workers}`,
  ];
  const perIteration = s.maxDecisionsPerEpisode === null ? null : s.episodesPerIteration * s.maxDecisionsPerEpisode;
  const each =
    perIteration === null
      ? `${count(s.episodesPerIteration)} episodes each (decisions at every trade: their number depends on the market)`
      : `${count(s.episodesPerIteration)} episodes of at most ${count(s.maxDecisionsPerEpisode!)} decisions each, at most ${count(perIteration)} decisions per iteration`;
  let budget = `budget: ${count(s.timesteps)} decisions, trained in whole iterations of ${each}; the run stops after the iteration that reaches the budget`;
  if (s.minIterations > 0) budget += ` (at least ${s.minIterations} iteration${s.minIterations === 1 ? "" : "s"})`;
  const left = s.timesteps - (s.resumed?.timesteps ?? 0);
  if (perIteration !== null && left > 0 && left < perIteration)
    budget += `; ${count(left)} is less than one iteration, so expect up to ${count((s.resumed?.timesteps ?? 0) + perIteration)} decisions`;
  if (left <= 0) budget += `; the run has done ${count(s.resumed?.timesteps ?? 0)} already, so it only saves`;
  lines.push(budget);
  return lines;
}

interface TrainCliOptions extends SimOptions {
  algo: "ppo" | "es";
  timesteps?: number;
  /** The env's options (addEnvOptions); read whole by envConfigFromOptions. */
  opponents: string[];
  observation: string;
  decisionInterval: number;
  opponentPool?: string[];
  seed: number;
  out?: string;
  resume?: boolean;
  workers: number;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  hp: Record<string, unknown>;
  seeds: number;
  league?: number;
  leagueRounds: number;
  leagueSimulations: number;
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
      .option("--timesteps <n>", `agent decisions to train for (default: ${defaultsText("timesteps")})`, integer(1))
      .option("--seed <n>", "training seed", integer(0), 0)
      .option(
        "--seeds <k>",
        "train k runs with seeds seed, seed+1, ... (each in <out>/seed-<seed>/), then write their held-out learning curves across seeds",
        integer(1, 1000),
        1,
      )
      .option(
        "--out <dir>",
        `run folder for checkpoints and metrics (default: ${defaultOutput("checkpoints", "<algo>-seed<seed>")})`,
      )
      .option(
        "--opponent-pool <strategy...>",
        "draw each training episode's opponents (as many as --opponents lists) from these, seeded by the episode's seed (commas or spaces between them; none: an empty seat, one opponent fewer; held-out evaluation keeps --opponents)",
        (value: string, previous: string[] | undefined) => [
          ...(previous ?? []),
          ...value
            .split(",")
            .map((v) => v.trim())
            .filter((v) => v !== ""),
        ],
      )
      .option(
        "--league <k>",
        "train k policies (k >= 2) in rounds against each other's frozen checkpoints and the league's history (each in <out>/member-<i>/), then name the champion by a tournament (docs/training.md#leagues)",
        integer(0),
      )
      .option(
        "--league-rounds <r>",
        "rounds of a league: each member trains 1/r of --timesteps per round",
        integer(1),
        4,
      )
      .option(
        "--league-simulations <n>",
        "seeds every pair of members plays in the league's final tournament",
        integer(1),
        200,
      )
      .option("--resume", "continue the run in --out from its latest checkpoint")
      .option(
        "--workers <n>",
        "rollout worker threads (es); more than the machine's cores are capped to them, with a warning",
        integer(0, 256),
        availableParallelism(),
      )
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
  // The env's defaults for these two are the library's; train's depend on the algorithm (above).
  for (const key of ["observation", "decisionInterval"] as const) {
    const option = command.options.find((opt) => opt.attributeName() === key);
    if (option) option.defaultValueDescription = defaultsText(key);
  }
  addSimulationOptions(command).action(async (o: TrainCliOptions, cmd: Command) => {
    o.opponents = lineUp(o.opponents, "--opponents");
    const defaults = trainDefaults(o.algo, o.league !== undefined);
    // A resumed run keeps its checkpoint's environment whatever these say (train.ts).
    if (cmd.getOptionValueSource("observation") !== "cli") o.observation = defaults.observation;
    if (cmd.getOptionValueSource("decisionInterval") !== "cli") o.decisionInterval = defaults.decisionInterval;
    if (o.league !== undefined) {
      if (o.league < 2) throw new ConfigError(`--league needs at least 2 members (got ${o.league})`);
      if (o.resume === true)
        throw new ConfigError(
          "--resume with --league: a league cannot be resumed; start it again with a new --out (each member folder is an ordinary run that --resume continues on its own)",
        );
      if (o.seeds > 1) throw new ConfigError("--league and --seeds > 1 cannot be combined: give one of them");
    } else {
      for (const flag of ["leagueRounds", "leagueSimulations"]) {
        if (cmd.getOptionValueSource(flag) === "cli")
          throw new ConfigError(
            `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to a league: give --league <k> too`,
          );
      }
    }
    const multi = o.seeds > 1;
    if (multi && o.evalEvery === 0)
      throw new ConfigError("--seeds > 1 compares the runs' held-out evaluations: give --eval-every > 0");
    const out =
      o.out ??
      defaultOutput(
        "checkpoints",
        o.league !== undefined
          ? `${o.algo}-league${o.league}-seed${o.seed}`
          : multi
            ? `${o.algo}-seeds${o.seed}-${o.seed + o.seeds - 1}`
            : `${o.algo}-seed${o.seed}`,
      );
    // A folder to resume must already hold a run (train says so if not); any other is created now.
    if (o.resume !== true || existsSync(out)) prepareOutputDir(out, "--out");
    // Resuming without --algo continues with the run's own algorithm.
    const first = multi ? seedRunDir(out, o.seed) : out;
    if (o.resume === true && cmd.getOptionValueSource("algo") !== "cli" && existsSync(join(first, "LATEST")))
      o.algo = readCheckpointState(resolveCheckpoint(first)).algo;
    // More rollout threads than cores only queue behind each other (and cost memory): cap them.
    const cores = availableParallelism();
    if (o.algo === "es" && o.workers > cores) {
      console.error(`warning: --workers ${o.workers} is more than the ${cores} cores here; using ${cores}`);
      o.workers = cores;
    }
    const { backend } = await loadTf();
    const timesteps = o.timesteps ?? defaults.timesteps;
    const tty = process.stderr.isTTY === true;
    let lastLine = 0;
    const runOptions = (seed: number, runOut: string): TrainOptions => ({
      algo: o.algo,
      timesteps,
      seed,
      out: runOut,
      resume: o.resume === true,
      workers: o.algo === "es" ? o.workers : 0,
      env: {
        ...envConfigFromOptions(o),
        opponents: o.opponents,
        ...(o.opponentPool && o.opponentPool.length > 0 ? { opponentPool: o.opponentPool } : {}),
      },
      hyper: o.hp,
      evalEvery: o.evalEvery,
      evalEpisodes: o.evalEpisodes,
      checkpointEvery: o.checkpointEvery,
      given: givenRunOptions(cmd, o),
      log: (line) => console.log(line),
      onStart: (s) => {
        for (const line of banner(s, backend, o.algo === "es" ? String(o.workers) : "in-process")) console.log(line);
      },
      onIteration: (m, elapsed, planned) => {
        const target = planned === timesteps ? `${timesteps}` : `${planned} (budget ${timesteps})`;
        const line =
          `[${"#".repeat(Math.min(30, Math.round((m.timesteps / planned) * 30))).padEnd(30, "-")}] ` +
          `${m.timesteps}/${target} steps, it ${m.iteration}, ${(m.episodes / Math.max(elapsed, 1e-3)).toFixed(1)} eps/s, ` +
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
    });
    if (o.league !== undefined) {
      const started = performance.now();
      const k = o.league;
      let printedBanner = false;
      const report = await trainLeague({
        members: k,
        rounds: o.leagueRounds,
        base: {
          ...runOptions(o.seed, out),
          given: [],
          // The first member's banner only (the others differ in seed and folder); each block prints a line.
          onStart: (s) => {
            if (printedBanner) return;
            printedBanner = true;
            for (const line of banner(s, backend, o.algo === "es" ? String(o.workers) : "in-process"))
              console.log(line);
          },
        },
        tournamentSimulations: o.leagueSimulations,
        tournamentWorkers: Math.max(1, o.workers),
        onBlock: (round, member, pool) => {
          if (tty) process.stderr.write("\n");
          console.log(
            `\n== league round ${round}/${o.leagueRounds}, member ${member} (seed ${o.seed + member}) -> ${join(out, `member-${member}`)}; pool of ${pool.length}: ${pool.join(", ")}`,
          );
        },
      });
      if (tty) process.stderr.write("\n");
      console.log(`\n${formatLeague(report)}`);
      console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${join(out, "league.json")}`);
      return;
    }
    if (!multi) {
      const started = performance.now();
      const dir = await train(runOptions(o.seed, out));
      if (tty) process.stderr.write("\n");
      console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; checkpoint ${dir}`);
      console.log(`metrics: ${out}/metrics.jsonl; TensorBoard: tensorboard --logdir ${out}/tb`);
      return;
    }
    // K runs one after the other, each in its own folder with its own seed, then the report across them.
    const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
    for (const [i, seed] of seeds.entries()) {
      const runOut = seedRunDir(out, seed);
      console.log(`\n== training seed ${seed} (${i + 1}/${seeds.length}) -> ${runOut}`);
      const started = performance.now();
      const dir = await train(runOptions(seed, runOut));
      if (tty) process.stderr.write("\n");
      console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; checkpoint ${dir}`);
    }
    const { curves, files } = reportSeeds(out, seeds);
    console.log(`\n${formatSeedTable(curves)}`);
    for (const f of files) console.log(`wrote ${f}`);
    console.log(`TensorBoard (every run and the aggregate): tensorboard --logdir ${out}`);
  });
}
