/**
 * OpenAI-style evolution strategies over the policy network (Salimans et al. 2017), in one file:
 * the hyperparameters with their docs, the state a checkpoint holds, and the generation loop.
 * Antithetic Gaussian perturbations, centred-rank fitness shaping, Adam on the estimated
 * gradient, and common random numbers (every candidate of a generation plays the same
 * simulation seeds), which removes most of the market's noise from the comparison. Rollouts run
 * the plain MLP in worker threads; the policy is deterministic, exactly what gets evaluated and
 * exported.
 */
import { join } from "node:path";
import { ConfigError } from "../env/config.js";
import { RandomStream, type RandomStreamState } from "../env/rng.js";
import { feeToAction } from "../agents/agent.js";
// Aliased: `mean` names the observation means in this file.
import { mean as meanOf } from "../arena/stats.js";
import { type CheckpointState, readModelWeights } from "../agents/checkpoint.js";
import {
  type Activation,
  type ObsNormStats,
  parameterCount,
  type PolicySpec,
  RunningStats,
  specFromFlat,
} from "../agents/mlp.js";
import type { AlgorithmCheckpoint, IterationMetrics, TrainingAlgorithm } from "./algorithm.js";
import { loadTf } from "./backend.js";
import { OBSERVATION_SIZE } from "../runtime/mapping.js";
import { drawTrainingSeed, initParams, networkSizes, OBS_CLIP } from "./defaults.js";
import { type ConfigOf, defaultsOf, hp } from "./hyperparameters.js";
import type { RolloutPool } from "./rollout-pool.js";
import type { RolloutResult, RolloutTask } from "./rollout.js";
import { buildMlp, modelFiles, setFlatWeights } from "./tf-model.js";

export const ES_HYPERPARAMETERS = {
  // None: fees linear in the normalised observation, which ES trains better here than 32,32
  // in half the decisions (docs/training.md, "Against the baselines").
  hidden: hp<number[]>([], "widths of the policy's hidden layers (none: a linear policy)"),
  activation: hp<Activation>("tanh", "hidden-layer activation: tanh, relu or linear"),
  population: hp(48, "candidates per generation (even: antithetic pairs)"),
  sigma: hp(0.05, "perturbation scale in parameter space"),
  learningRate: hp(0.02, "Adam step size on the estimated gradient"),
  weightDecay: hp(0.001, "pull of each parameter towards 0, subtracted from the gradient estimate"),
  seedsPerGeneration: hp(8, "simulation seeds every candidate plays per generation (common random numbers)"),
  initialFeeBps: hp(50, "the initial policy's fee on both sides, in bps"),
};

export type EsConfig = ConfigOf<typeof ES_HYPERPARAMETERS>;

export const DEFAULT_ES_CONFIG: EsConfig = defaultsOf(ES_HYPERPARAMETERS);

/** Everything a resumed run needs to continue bit for bit. */
export interface EsState {
  generation: number;
  timesteps: number;
  episodes: number;
  params: Float32Array;
  adamM: Float64Array;
  adamV: Float64Array;
  adamT: number;
  obsNorm: ObsNormStats;
  rng: RandomStreamState;
}

const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

export class EsAlgorithm implements TrainingAlgorithm {
  readonly name = "es" as const;
  readonly sizes: number[];
  private readonly state: EsState;
  private readonly rng: RandomStream;
  private readonly obsStats: RunningStats;

  /** A fresh run, or (with `resume`) the run saved in that checkpoint. */
  constructor(
    readonly config: EsConfig,
    readonly seed: number,
    readonly feeRange: [number, number],
    private readonly pool: RolloutPool,
    resume?: { dir: string; state: CheckpointState },
    /** Values in the env's observation (5 for the seed observation, 17 for the extended one). */
    private readonly obsSize: number = OBSERVATION_SIZE.seed,
  ) {
    this.sizes = networkSizes(obsSize, config.hidden);
    if (!Number.isInteger(config.population) || config.population < 2 || config.population % 2 !== 0) {
      throw new ConfigError(`population must be an even integer >= 2 (got ${config.population})`);
    }
    if (!(config.sigma > 0) || !(config.learningRate > 0) || !(config.weightDecay >= 0)) {
      throw new ConfigError("sigma and learningRate must be > 0 and weightDecay >= 0");
    }
    if (!Number.isInteger(config.seedsPerGeneration) || config.seedsPerGeneration < 1) {
      throw new ConfigError(`seedsPerGeneration must be an integer >= 1 (got ${config.seedsPerGeneration})`);
    }
    if (resume) {
      const state = stateFromCheckpoint(resume.dir, resume.state);
      if (state.params.length !== parameterCount(this.sizes)) {
        throw new ConfigError(
          `checkpoint has ${state.params.length} parameters, the configured network needs ${parameterCount(this.sizes)}`,
        );
      }
      this.state = state;
      this.rng = new RandomStream(`es:${seed}`, state.rng);
      this.obsStats = new RunningStats(obsSize, state.obsNorm);
    } else {
      this.rng = new RandomStream(`es:${seed}`, true);
      const bias = feeToAction(config.initialFeeBps, feeRange[0], feeRange[1]);
      const params = initParams(this.sizes, this.rng, 0.01, bias);
      this.obsStats = new RunningStats(obsSize);
      this.state = {
        generation: 0,
        timesteps: 0,
        episodes: 0,
        params,
        adamM: new Float64Array(params.length),
        adamV: new Float64Array(params.length),
        adamT: 0,
        obsNorm: this.obsStats.toJSON(),
        rng: this.rng.state(),
      };
    }
  }

  /** A fresh copy of the default config. */
  static defaults(): EsConfig {
    return defaultsOf(ES_HYPERPARAMETERS);
  }

  get timesteps(): number {
    return this.state.timesteps;
  }
  get episodes(): number {
    return this.state.episodes;
  }
  get iterations(): number {
    return this.state.generation;
  }
  /** Every candidate plays every seed of the generation. */
  get episodesPerIteration(): number {
    return this.config.population * this.config.seedsPerGeneration;
  }
  /** The centre policy's parameters (live: the next generation updates them in place). */
  get params(): Float32Array {
    return this.state.params;
  }
  get obsNorm(): ObsNormStats {
    return this.obsStats.toJSON();
  }

  /** A copy of the complete state (for checkpoints). */
  snapshot(): EsState {
    return {
      ...this.state,
      params: this.state.params.slice(),
      adamM: this.state.adamM.slice(),
      adamV: this.state.adamV.slice(),
      obsNorm: this.obsStats.toJSON(),
      rng: this.rng.state(),
    };
  }

  /** One generation: perturb, roll out every candidate on common seeds in the pool, update. */
  async iterate(): Promise<IterationMetrics> {
    const c = this.config;
    const s = this.state;
    const n = s.params.length;
    const half = c.population / 2;
    const seeds = Array.from({ length: c.seedsPerGeneration }, () => drawTrainingSeed(this.rng));
    const noise = new Float64Array(half * n);
    for (let i = 0; i < noise.length; i++) noise[i] = this.rng.normal();
    const obsNorm = this.obsStats.toJSON();
    const tasks: RolloutTask[] = [this.task(s.params.slice(), seeds, obsNorm)];
    for (let j = 0; j < half; j++) {
      for (const sign of [1, -1]) {
        const p = new Float32Array(n);
        for (let i = 0; i < n; i++) p[i] = s.params[i] + sign * c.sigma * noise[j * n + i];
        tasks.push(this.task(p, seeds, obsNorm));
      }
    }
    const results = await this.pool.run(tasks);
    const centre = results[0];
    const fitness = results.slice(1).map((r) => r.meanReturn);
    const shaped = centredRanks(fitness);

    const grad = new Float64Array(n);
    for (let j = 0; j < half; j++) {
      const w = shaped[2 * j] - shaped[2 * j + 1];
      if (w === 0) continue;
      for (let i = 0; i < n; i++) grad[i] += w * noise[j * n + i];
    }
    let gradNorm = 0;
    for (let i = 0; i < n; i++) {
      grad[i] = grad[i] / (c.population * c.sigma) - c.weightDecay * s.params[i];
      gradNorm += grad[i] * grad[i];
    }
    this.adamAscent(grad);
    this.updateObsStats(results);

    s.generation++;
    s.timesteps += results.reduce((a, r) => a + r.decisions, 0);
    s.episodes += results.length * seeds.length;
    // `generation` and then `iteration` (the same number): the order metrics.jsonl has always had.
    return {
      generation: s.generation,
      timesteps: s.timesteps,
      episodes: s.episodes,
      // The centre policy on this generation's seeds.
      meanReturn: centre.meanReturn,
      meanEdge: meanOf(centre.agentEdges),
      meanEdgeVsNormalizer: meanOf(centre.agentEdges.map((e, i) => e - centre.normalizerEdges[i])),
      populationMeanReturn: meanOf(fitness),
      gradNorm: Math.sqrt(gradNorm),
      iteration: s.generation,
    };
  }

  policySpec(): PolicySpec {
    return specFromFlat(this.sizes, this.config.activation, this.state.params, this.obsNorm, OBS_CLIP);
  }

  async checkpoint(): Promise<AlgorithmCheckpoint> {
    const { tf } = await loadTf();
    const snap = this.snapshot();
    const model = buildMlp(tf, this.sizes, this.config.activation, "policy");
    setFlatWeights(tf, model, snap.params);
    const policy = await modelFiles(tf, model);
    model.dispose();
    return {
      files: { "policy/model.json": policy.modelJson, "policy/weights.bin": policy.weights },
      state: {
        algo: "es",
        config: { ...this.config },
        counters: { timesteps: snap.timesteps, episodes: snap.episodes, iterations: snap.generation },
        rng: snap.rng,
        algoState: { adamM: Array.from(snap.adamM), adamV: Array.from(snap.adamV), adamT: snap.adamT },
      },
    };
  }

  async close(): Promise<void> {}

  private task(params: Float32Array, seeds: number[], obsNorm: ObsNormStats): RolloutTask {
    return { sizes: this.sizes, activation: this.config.activation, params, obsNorm, seeds, opponentPool: true };
  }

  private adamAscent(grad: Float64Array): void {
    const s = this.state;
    s.adamT++;
    const lr = (this.config.learningRate * Math.sqrt(1 - ADAM_B2 ** s.adamT)) / (1 - ADAM_B1 ** s.adamT);
    for (let i = 0; i < grad.length; i++) {
      s.adamM[i] = ADAM_B1 * s.adamM[i] + (1 - ADAM_B1) * grad[i];
      s.adamV[i] = ADAM_B2 * s.adamV[i] + (1 - ADAM_B2) * grad[i] * grad[i];
      // Parameters stay float32: what is saved, evaluated and exported is exactly this.
      s.params[i] = Math.fround(s.params[i] + (lr * s.adamM[i]) / (Math.sqrt(s.adamV[i]) + ADAM_EPS));
    }
  }

  private updateObsStats(results: RolloutResult[]): void {
    let count = 0;
    const sum = new Float64Array(this.obsSize);
    const sumSq = new Float64Array(this.obsSize);
    const lo = new Float64Array(this.obsSize).fill(Infinity);
    const hi = new Float64Array(this.obsSize).fill(-Infinity);
    for (const r of results) {
      count += r.decisions;
      for (let i = 0; i < this.obsSize; i++) {
        sum[i] += r.obsSum[i];
        sumSq[i] += r.obsSumSq[i];
        lo[i] = Math.min(lo[i], r.obsMin[i]);
        hi[i] = Math.max(hi[i], r.obsMax[i]);
      }
    }
    if (count === 0) return;
    const mean = Array.from(sum, (v) => v / count);
    const variance = Array.from(sumSq, (v, i) => Math.max(0, v / count - mean[i] * mean[i]));
    this.obsStats.updateMoments(mean, variance, count, lo, hi);
  }
}

/** The state a checkpoint written by `checkpoint()` holds: weights from policy/, the rest from state.json. */
function stateFromCheckpoint(dir: string, saved: CheckpointState): EsState {
  const a = saved.algoState as { adamM: number[]; adamV: number[]; adamT: number };
  const flat = readModelWeights(join(dir, "policy")).flatMap((w) => Array.from(w.values));
  return {
    generation: saved.counters.iterations,
    timesteps: saved.counters.timesteps,
    episodes: saved.counters.episodes,
    params: Float32Array.from(flat),
    adamM: Float64Array.from(a.adamM),
    adamV: Float64Array.from(a.adamV),
    adamT: a.adamT,
    obsNorm: saved.policy.obsNorm,
    rng: saved.rng,
  };
}

/** Centred ranks in [-0.5, 0.5] (ties broken by index, deterministically). */
export function centredRanks(xs: number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const out = new Array<number>(xs.length);
  idx.forEach((i, rank) => (out[i] = xs.length > 1 ? rank / (xs.length - 1) - 0.5 : 0));
  return out;
}
