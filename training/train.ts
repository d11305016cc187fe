/**
 * The training loop behind `propamm train`: iterate the algorithm until the timestep budget,
 * log metrics, evaluate the deterministic policy on held-out seeds, and checkpoint atomically.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointState,
  CheckpointError,
  type PolicyMeta,
  readCheckpointState,
  resolveCheckpoint,
  writeCheckpoint,
} from "../agents/checkpoint.js";
import { DEFAULT_ENV_CONFIG, type EnvConfig } from "../gym/env.js";
import { resolveConfig } from "../env/config.js";
import { mean } from "../arena/stats.js";
import { ConfigError } from "../env/config.js";
import { RolloutPool } from "./rollout-pool.js";
import type { RolloutResult } from "./rollout.js";
import { flatFromSpec } from "../agents/mlp.js";
import type { IterationMetrics, TrainingAlgorithm } from "./algorithm.js";
import { HELD_OUT_SEED_BASE } from "./defaults.js";
import { EsAlgorithm } from "./es.js";
import { applyHyper } from "./hyperparameters.js";
import { MetricsLog } from "./metrics.js";
import { PpoAlgorithm } from "./ppo.js";
import { TensorBoardWriter } from "./tensorboard.js";

export interface TrainOptions {
  algo: "ppo" | "es";
  timesteps: number;
  seed: number;
  out: string;
  resume: boolean;
  workers: number;
  /** Serializable env config (opponents as names or paths). */
  env: Partial<EnvConfig> & { opponents: string[] };
  /** Hyperparameter overrides for the algorithm. */
  hyper: Record<string, unknown>;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  onIteration?: (m: IterationMetrics, elapsedS: number) => void;
  onEval?: (e: EvalSummary) => void;
  log?: (line: string) => void;
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
  env: Partial<EnvConfig> & { opponents: string[] },
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
    return new EsAlgorithm(config, o.seed, feeRange, pool, resume);
  }
  const config = applyHyper(
    PpoAlgorithm.defaults(),
    resume ? (resume.state.config as Record<string, unknown>) : o.hyper,
  );
  return PpoAlgorithm.create(config, o.seed, env, resume);
}

/** Runs (or resumes) a training run; returns the final checkpoint directory. */
export async function train(o: TrainOptions): Promise<string> {
  if (!Number.isSafeInteger(o.timesteps) || o.timesteps < 1)
    throw new ConfigError(`timesteps must be an integer >= 1 (got ${o.timesteps})`);
  let resume: { dir: string; state: CheckpointState } | undefined;
  let env = o.env;
  let seed = o.seed;
  if (o.resume) {
    if (!existsSync(join(o.out, "LATEST")))
      throw new CheckpointError(`--resume: ${o.out} has no checkpoint to resume (no LATEST file)`);
    const dir = resolveCheckpoint(o.out);
    const state = readCheckpointState(dir);
    if (state.algo !== o.algo)
      throw new CheckpointError(`--resume: ${o.out} was trained with --algo ${state.algo}, not ${o.algo}`);
    resume = { dir, state };
    env = state.env;
    seed = state.seed;
    o.log?.(`resuming ${dir} at ${state.counters.timesteps} timesteps`);
  } else if (existsSync(join(o.out, "LATEST"))) {
    throw new CheckpointError(
      `${o.out} already holds a training run: pass --resume to continue it, or choose another --out`,
    );
  }
  const envFull = { ...DEFAULT_ENV_CONFIG, ...env, sim: { ...(env.sim ?? {}) } };
  const simConfig = resolveConfig(envFull.sim, 1 + envFull.opponents.length);
  const pool = new RolloutPool(env, o.workers);
  let algo: TrainingAlgorithm;
  try {
    algo = await createAlgorithm({ ...o, seed }, env, pool, resume);
  } catch (err) {
    // Worker threads keep the process alive: close them before reporting a bad setup.
    await pool.close();
    throw err;
  }
  const metrics = new MetricsLog(join(o.out, "metrics.jsonl"));
  const tb = new TensorBoardWriter(join(o.out, "tb"));
  const started = performance.now();
  let lastDir = resume?.dir ?? "";

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

  try {
    if (!resume) await save();
    while (algo.timesteps < o.timesteps) {
      const m = await algo.iterate();
      const elapsed = (performance.now() - started) / 1000;
      metrics.write({ type: "train", wallSeconds: elapsed, ...m });
      for (const [k, v] of Object.entries(m))
        if (Number.isFinite(v) && k !== "iteration") tb.scalar(`train/${k}`, v, m.timesteps);
      o.onIteration?.(m, elapsed);
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
  } finally {
    tb.close();
    await algo.close();
    await pool.close();
  }
  return lastDir;
}
