/**
 * The training loop behind `propamm train`: iterate the algorithm until the timestep budget,
 * log metrics, evaluate the deterministic policy on held-out seeds, and checkpoint atomically.
 *
 * A run holds its folder's lock (run-lock.ts) while it runs. A new run that fails before its
 * first iteration completes removes what it wrote, so the folder can be used again; worker
 * threads are closed on every way out.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointState,
  CheckpointError,
  checksumFiles,
  type PolicyMeta,
  readCheckpointState,
  resolveCheckpoint,
  verifyChecksums,
  writeCheckpoint,
} from "../agents/checkpoint.js";
import { DEFAULT_ENV_CONFIG, type EnvConfig } from "../gym/env.js";
import { DEFAULT_CONFIG, resolveConfig } from "../env/config.js";
import { mean } from "../arena/stats.js";
import { ConfigError } from "../env/config.js";
import { RolloutPool } from "./rollout-pool.js";
import type { RolloutResult } from "./rollout.js";
import { flatFromSpec } from "../agents/mlp.js";
import type { IterationMetrics, TrainingAlgorithm } from "./algorithm.js";
import { HELD_OUT_SEED_BASE } from "./defaults.js";
import { OBSERVATION_SIZE } from "../runtime/mapping.js";
import { EsAlgorithm } from "./es.js";
import { applyHyper } from "./hyperparameters.js";
import { MetricsLog } from "./metrics.js";
import { PpoAlgorithm } from "./ppo.js";
import { lockRunFolder, LOCK_FILE } from "./run-lock.js";
import type { TrainingEnvConfig } from "./opponent-pool.js";
import { TensorBoardWriter } from "./tensorboard.js";

export interface TrainOptions {
  algo: "ppo" | "es";
  timesteps: number;
  seed: number;
  out: string;
  resume: boolean;
  workers: number;
  /**
   * Serializable env config (opponents as names or paths); with `opponentPool`, each training
   * episode's opponents are drawn from that pool (opponent-pool.ts).
   */
  env: TrainingEnvConfig;
  /** Hyperparameter overrides for the algorithm. */
  hyper: Record<string, unknown>;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  /**
   * The options the user set explicitly (a `--resume` keeps the run's own environment, seed and
   * hyperparameters, so a given value that differs from the checkpoint's is refused): `key` is a
   * path into this object (`env.opponents`, `env.sim.steps`, `env.sim.pins.sigma`, `seed`,
   * `hyper.population`), `flag` what the user typed it as.
   */
  given?: { key: string; flag: string }[];
  /** Called once the run is set up, with what it will really do (the banner). */
  onStart?: (s: TrainStart) => void;
  /** After each iteration; `plannedTimesteps` is where the run will stop, in whole iterations. */
  onIteration?: (m: IterationMetrics, elapsedS: number, plannedTimesteps: number) => void;
  onEval?: (e: EvalSummary) => void;
  log?: (line: string) => void;
  /**
   * The league (league.ts) only: a resumed run trains its next block against this opponent pool
   * instead of the one its checkpoint recorded (an empty list: none), and records it in the
   * checkpoints it writes. Not a user option: `--resume` otherwise keeps the run's pool.
   */
  opponentPoolOverride?: string[];
  /** The league only: write the initial checkpoint of a new run and stop, without iterating. */
  initialOnly?: boolean;
}

/** What a run set out to do, as resolved (a resumed run's environment and seed are its checkpoint's). */
export interface TrainStart {
  algo: "ppo" | "es";
  /** The budget asked for, in decisions. */
  timesteps: number;
  seed: number;
  opponents: string[];
  /** The pool training episodes draw their opponents from (empty: always `opponents`). */
  opponentPool: string[];
  out: string;
  /** The checkpoint resumed from and the decisions it had done, if resuming. */
  resumed?: { dir: string; timesteps: number };
  /** Episodes each iteration plays, and at most how many decisions an episode has (null: not bounded by the schedule). */
  episodesPerIteration: number;
  maxDecisionsPerEpisode: number | null;
  /** Iterations the budget needs at the least (each iteration is played whole). */
  minIterations: number;
}

export interface EvalSummary {
  iteration: number;
  timesteps: number;
  episodes: number;
  meanReturn: number;
  meanEdge: number;
  meanEdgeVsNormalizer: number;
  seeds: [number, number];
}

async function createAlgorithm(
  o: TrainOptions,
  env: TrainingEnvConfig,
  pool: RolloutPool,
  resume?: { dir: string; state: CheckpointState },
): Promise<TrainingAlgorithm> {
  const feeRange: [number, number] = [
    env.feeMinBps ?? DEFAULT_ENV_CONFIG.feeMinBps,
    env.feeMaxBps ?? DEFAULT_ENV_CONFIG.feeMaxBps,
  ];
  if (o.algo === "es") {
    const config = applyHyper(
      EsAlgorithm.defaults(),
      resume ? (resume.state.config as Record<string, unknown>) : o.hyper,
    );
    const observation = env.observation ?? DEFAULT_ENV_CONFIG.observation;
    return new EsAlgorithm(config, o.seed, feeRange, pool, resume, OBSERVATION_SIZE[observation]);
  }
  const config = applyHyper(
    PpoAlgorithm.defaults(),
    resume ? (resume.state.config as Record<string, unknown>) : o.hyper,
  );
  return PpoAlgorithm.create(config, o.seed, env, resume);
}

/** The value at a dotted path (`env.sim.pins.sigma`) of a plain object, or undefined. */
function valueAt(root: unknown, path: string): unknown {
  let v = root;
  for (const k of path.split("."))
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** What the checkpoint's run used for a given option: its recorded value, else the default then. */
function checkpointValue(state: CheckpointState, key: string): unknown {
  const [root, ...rest] = key.split(".");
  const path = rest.join(".");
  if (root === "seed") return state.seed;
  if (root === "hyper") return state.config[path];
  const recorded = valueAt(state.env, path);
  if (recorded !== undefined || (rest[0] === "sim" && rest[1] === "pins")) return recorded;
  if (rest[0] === "sim") return (DEFAULT_CONFIG as unknown as Record<string, unknown>)[rest[1]];
  return (DEFAULT_ENV_CONFIG as unknown as Record<string, unknown>)[path];
}

/** Throws CheckpointError if a resumed run was given options that differ from its checkpoint's. */
function checkResumeOptions(o: TrainOptions, state: CheckpointState): void {
  const conflicts: string[] = [];
  for (const { key, flag } of o.given ?? []) {
    const mine = valueAt(o, key);
    const theirs = checkpointValue(state, key);
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      const show = (v: unknown): string => (Array.isArray(v) ? v.join(" ") : v === undefined ? "(not set)" : String(v));
      conflicts.push(`${flag} ${show(mine)} (the run has ${show(theirs)})`);
    }
  }
  if (conflicts.length > 0) {
    throw new CheckpointError(
      `--resume: ${o.out} continues with its own environment, seed and hyperparameters; these options differ: ` +
        `${conflicts.join("; ")}. Drop them to resume, or start a new run with another --out`,
    );
  }
}

/** At most how many decisions an episode has: reset, one per decision interval, one per epoch boundary. */
function maxDecisionsPerEpisode(envFull: EnvConfig, steps: number, epochLen: number): number | null {
  if (envFull.decisionInterval <= 0) return null;
  const boundaries = Math.max(0, Math.ceil(steps / epochLen) - 1);
  return 1 + Math.floor(steps / envFull.decisionInterval) + boundaries;
}

/** Runs (or resumes) a training run; returns the final checkpoint directory. */
export async function train(o: TrainOptions): Promise<string> {
  if (!Number.isSafeInteger(o.timesteps) || o.timesteps < 1)
    throw new ConfigError(`timesteps must be an integer >= 1 (got ${o.timesteps})`);
  const existed = existsSync(o.out);
  if (o.resume && !existsSync(join(o.out, "LATEST")))
    throw new CheckpointError(`--resume: ${o.out} has no checkpoint to resume (no LATEST file)`);
  // The folder must exist to be locked; a new run creates it (the CLI has checked it is writable).
  mkdirSync(o.out, { recursive: true });
  const before = new Set(readdirSync(o.out));
  const lock = lockRunFolder(o.out);
  const progress = { iterated: false };
  let ok = false;
  try {
    const dir = await trainLocked(o, progress);
    ok = true;
    return dir;
  } finally {
    if (!ok && !o.resume && !progress.iterated) {
      // A new run that failed before its first iteration completed: remove what it wrote, so
      // that the folder is not taken for a run to resume.
      for (const f of readdirSync(o.out)) {
        if (!before.has(f) && f !== LOCK_FILE) rmSync(join(o.out, f), { recursive: true, force: true });
      }
    }
    lock.release();
    if (!ok && !o.resume && !existed && readdirSync(o.out).length === 0)
      rmSync(o.out, { recursive: true, force: true });
  }
}

async function trainLocked(o: TrainOptions, progress: { iterated: boolean }): Promise<string> {
  let resume: { dir: string; state: CheckpointState } | undefined;
  let env = o.env;
  let seed = o.seed;
  if (o.resume) {
    const dir = resolveCheckpoint(o.out);
    const state = readCheckpointState(dir);
    if (state.algo !== o.algo)
      throw new CheckpointError(`--resume: ${o.out} was trained with --algo ${state.algo}, not ${o.algo}`);
    checkResumeOptions(o, state);
    resume = { dir, state };
    env = state.env;
    seed = state.seed;
    if (o.opponentPoolOverride !== undefined) {
      const { opponentPool: _recorded, ...rest } = env;
      env = o.opponentPoolOverride.length > 0 ? { ...rest, opponentPool: o.opponentPoolOverride } : rest;
    }
  } else if (existsSync(join(o.out, "LATEST"))) {
    throw new CheckpointError(
      `${o.out} already holds a training run: pass --resume to continue it, or choose another --out`,
    );
  }
  const envFull = { ...DEFAULT_ENV_CONFIG, ...env, sim: { ...(env.sim ?? {}) } };
  const simConfig = resolveConfig(envFull.sim, 1 + envFull.opponents.length);
  const pool = new RolloutPool(env, o.workers);
  let algo: TrainingAlgorithm | undefined;
  let metrics: MetricsLog | undefined;
  let tb: TensorBoardWriter | undefined;
  try {
    algo = await createAlgorithm({ ...o, seed }, env, pool, resume);
    // The weights were read by the algorithm (which says what is malformed); now the checksums.
    if (resume) verifyChecksums(resume.dir, resume.state);
    if (resume) o.log?.(`resuming ${resume.dir} at ${resume.state.counters.timesteps} timesteps`);
    const perEpisode = maxDecisionsPerEpisode(envFull, simConfig.steps, simConfig.epochLen);
    const remaining = Math.max(0, o.timesteps - algo.timesteps);
    o.onStart?.({
      algo: o.algo,
      timesteps: o.timesteps,
      seed,
      opponents: envFull.opponents,
      opponentPool: env.opponentPool ?? [],
      out: o.out,
      resumed: resume ? { dir: resume.dir, timesteps: resume.state.counters.timesteps } : undefined,
      episodesPerIteration: algo.episodesPerIteration,
      maxDecisionsPerEpisode: perEpisode,
      minIterations:
        remaining === 0
          ? 0
          : Math.max(1, Math.ceil(remaining / (algo.episodesPerIteration * (perEpisode ?? Infinity)))),
    });
    try {
      metrics = new MetricsLog(join(o.out, "metrics.jsonl"));
      tb = new TensorBoardWriter(join(o.out, "tb"));
    } catch (err) {
      const why =
        (err as NodeJS.ErrnoException).code === "EEXIST"
          ? "a part of the path is a file, not a folder"
          : String((err as Error).message);
      throw new ConfigError(`--out: cannot write the run's logs in ${o.out}: ${why}`);
    }
    return await loop(o, algo, metrics, tb, { env, envFull, seed, simConfig, resume, pool, progress });
  } finally {
    tb?.close();
    // Worker threads keep the process alive: close them on every way out.
    await algo?.close();
    await pool.close();
  }
}

interface LoopContext {
  env: TrainingEnvConfig;
  envFull: EnvConfig;
  seed: number;
  simConfig: { epochLen: number };
  resume?: { dir: string; state: CheckpointState };
  pool: RolloutPool;
  progress: { iterated: boolean };
}

async function loop(
  o: TrainOptions,
  algo: TrainingAlgorithm,
  metrics: MetricsLog,
  tb: TensorBoardWriter,
  c: LoopContext,
): Promise<string> {
  const { env, envFull, seed, simConfig, resume, pool } = c;
  const started = performance.now();
  let lastDir = resume?.dir ?? "";
  const startTimesteps = algo.timesteps;
  const startIterations = algo.iterations;

  const save = async (): Promise<string> => {
    const { files, state } = await algo.checkpoint();
    const spec = algo.policySpec();
    const policy: PolicyMeta = {
      sizes: [spec.layers[0].inputs, ...spec.layers.map((l) => l.outputs)],
      activation: spec.layers.length > 1 ? (spec.layers[0].activation as PolicyMeta["activation"]) : "tanh",
      obsClip: spec.obsClip,
      obsNorm: spec.obsNorm,
      feeMinBps: envFull.feeMinBps,
      feeMaxBps: envFull.feeMaxBps,
      decisionInterval: envFull.decisionInterval,
      epochLen: simConfig.epochLen,
      observation: envFull.observation,
    };
    const full: CheckpointState = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      name: o.out,
      createdAt: new Date().toISOString(),
      seed,
      policy,
      env,
      ...state,
      checksums: checksumFiles(files),
    };
    files["state.json"] = JSON.stringify(full);
    lastDir = writeCheckpoint(o.out, algo.iterations, files);
    return lastDir;
  };

  const evaluate = async (): Promise<EvalSummary> => {
    const spec = algo.policySpec();
    const seeds = Array.from({ length: o.evalEpisodes }, (_, i) => HELD_OUT_SEED_BASE + i);
    // One task per worker, each a contiguous block of seeds: concatenated, the results are in
    // seed order whatever the worker count, so the means are summed in the same order.
    const chunks = Math.max(1, Math.min(seeds.length, o.workers || 1));
    const per = Math.ceil(seeds.length / chunks);
    const tasks = Array.from({ length: chunks }, (_, c) => ({
      sizes: [spec.layers[0].inputs, ...spec.layers.map((l) => l.outputs)],
      activation: spec.layers[0].activation,
      params: Float32Array.from(flatFromSpec(spec)),
      obsNorm: spec.obsNorm,
      seeds: seeds.slice(c * per, (c + 1) * per),
    })).filter((t) => t.seeds.length > 0);
    const results: RolloutResult[] = await pool.run(tasks);
    const returns = results.flatMap((r) => r.returns);
    const edges = results.flatMap((r) => r.agentEdges);
    const norm = results.flatMap((r) => r.normalizerEdges);
    return {
      iteration: algo.iterations,
      timesteps: algo.timesteps,
      episodes: algo.episodes,
      meanReturn: mean(returns),
      meanEdge: mean(edges),
      meanEdgeVsNormalizer: mean(edges.map((e, i) => e - norm[i])),
      seeds: [seeds[0], seeds[seeds.length - 1]],
    };
  };

  if (!resume) await save();
  if (o.initialOnly === true) return lastDir;
  while (algo.timesteps < o.timesteps) {
    const m = await algo.iterate();
    c.progress.iterated = true;
    const elapsed = (performance.now() - started) / 1000;
    metrics.write({ type: "train", wallSeconds: elapsed, ...m });
    for (const [k, v] of Object.entries(m))
      if (Number.isFinite(v) && k !== "iteration") tb.scalar(`train/${k}`, v, m.timesteps);
    // Where the run stops: whole iterations of the mean size so far, until the budget is reached.
    const perIteration = (algo.timesteps - startTimesteps) / Math.max(1, algo.iterations - startIterations);
    const left = Math.max(0, o.timesteps - algo.timesteps);
    const planned = algo.timesteps + Math.ceil(left / Math.max(1, perIteration)) * Math.round(perIteration);
    o.onIteration?.(m, elapsed, left === 0 ? algo.timesteps : Math.max(planned, o.timesteps));
    const last = algo.timesteps >= o.timesteps;
    if (o.evalEvery > 0 && (algo.iterations % o.evalEvery === 0 || last)) {
      const e = await evaluate();
      metrics.write({ type: "eval", wallSeconds: (performance.now() - started) / 1000, ...e });
      tb.scalar("eval/meanReturn", e.meanReturn, e.timesteps);
      tb.scalar("eval/meanEdge", e.meanEdge, e.timesteps);
      tb.scalar("eval/meanEdgeVsNormalizer", e.meanEdgeVsNormalizer, e.timesteps);
      o.onEval?.(e);
    }
    if (last || algo.iterations % o.checkpointEvery === 0) await save();
    tb.flush();
  }
  if (resume && lastDir === resume.dir) await save();
  return lastDir;
}
