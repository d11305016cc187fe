/**
 * OpenAI-style evolution strategies over the policy network (Salimans et al. 2017): antithetic
 * Gaussian perturbations, centred-rank fitness shaping, Adam on the estimated gradient, and
 * common random numbers (every candidate of a generation plays the same simulation seeds),
 * which removes most of the market's noise from the comparison. Rollouts use the plain MLP
 * in worker threads; the policy is deterministic, exactly what gets evaluated and exported.
 */
import { ConfigError } from "../env/config.js";
import { RandomStream, type RandomStreamState } from "../env/rng.js";
// Aliased: `mean` names the observation mean in this file.
import { mean as meanOf } from "../arena/stats.js";
import { feeToAction } from "../agents/agent.js";
import { initParams } from "./init.js";
import { type Activation, type ObsNormStats, parameterCount, RunningStats } from "../agents/mlp.js";
import type { RolloutPool } from "./rollout-pool.js";
import type { RolloutResult, RolloutTask } from "./rollout.js";

export interface EsConfig {
  hidden: number[];
  activation: Activation;
  /** Candidates per generation (even: antithetic pairs). */
  population: number;
  /** Perturbation scale in parameter space. */
  sigma: number;
  learningRate: number;
  weightDecay: number;
  /** Simulation seeds every candidate plays per generation. */
  seedsPerGeneration: number;
  /** The initial policy's fee, in bps, on both sides. */
  initialFeeBps: number;
}

export const DEFAULT_ES_CONFIG: EsConfig = {
  hidden: [32, 32],
  activation: "tanh",
  population: 48,
  sigma: 0.05,
  learningRate: 0.02,
  weightDecay: 0.001,
  seedsPerGeneration: 8,
  initialFeeBps: 50,
};

export const OBS_SIZE = 5;
export const ACTION_SIZE = 2;

/** Training seeds come from [TRAIN_SEED_MIN, 2^31): disjoint from evaluation seed ranges. */
export const TRAIN_SEED_MIN = 1_000_000;

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

export interface GenerationMetrics {
  generation: number;
  timesteps: number;
  episodes: number;
  /** The current (centre) policy on this generation's seeds. */
  meanReturn: number;
  meanEdge: number;
  meanEdgeVsNormalizer: number;
  populationMeanReturn: number;
  gradNorm: number;
}

const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

export class EsTrainer {
  readonly sizes: number[];
  private state: EsState;
  private rng: RandomStream;
  private obsStats: RunningStats;

  constructor(
    readonly config: EsConfig,
    readonly seed: number,
    readonly feeRange: [number, number],
    state?: EsState,
  ) {
    this.sizes = [OBS_SIZE, ...config.hidden, ACTION_SIZE];
    if (!Number.isInteger(config.population) || config.population < 2 || config.population % 2 !== 0) {
      throw new ConfigError(`population must be an even integer >= 2 (got ${config.population})`);
    }
    if (!(config.sigma > 0) || !(config.learningRate > 0) || !(config.weightDecay >= 0)) {
      throw new ConfigError("sigma and learningRate must be > 0 and weightDecay >= 0");
    }
    if (!Number.isInteger(config.seedsPerGeneration) || config.seedsPerGeneration < 1) {
      throw new ConfigError(`seedsPerGeneration must be an integer >= 1 (got ${config.seedsPerGeneration})`);
    }
    if (state) {
      if (state.params.length !== parameterCount(this.sizes)) {
        throw new ConfigError(
          `checkpoint has ${state.params.length} parameters, the configured network needs ${parameterCount(this.sizes)}`,
        );
      }
      this.state = state;
      this.rng = new RandomStream(`es:${seed}`, state.rng);
      this.obsStats = new RunningStats(OBS_SIZE, state.obsNorm);
    } else {
      this.rng = new RandomStream(`es:${seed}`, true);
      const bias = feeToAction(config.initialFeeBps, feeRange[0], feeRange[1]);
      const params = initParams(this.sizes, this.rng, 0.01, bias);
      this.obsStats = new RunningStats(OBS_SIZE);
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

  private task(params: Float32Array, seeds: number[], obsNorm: ObsNormStats): RolloutTask {
    return { sizes: this.sizes, activation: this.config.activation, params, obsNorm, seeds };
  }

  /** One generation: perturb, roll out in the pool, update. */
  async generation(pool: RolloutPool): Promise<GenerationMetrics> {
    const c = this.config;
    const s = this.state;
    const n = s.params.length;
    const half = c.population / 2;
    const seeds = Array.from(
      { length: c.seedsPerGeneration },
      () => TRAIN_SEED_MIN + Math.floor(this.rng.uniform() * (2 ** 31 - TRAIN_SEED_MIN)),
    );
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
    const results = await pool.run(tasks);
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
    return {
      generation: s.generation,
      timesteps: s.timesteps,
      episodes: s.episodes,
      meanReturn: centre.meanReturn,
      meanEdge: meanOf(centre.agentEdges),
      meanEdgeVsNormalizer: meanOf(centre.agentEdges.map((e, i) => e - centre.normalizerEdges[i])),
      populationMeanReturn: meanOf(fitness),
      gradNorm: Math.sqrt(gradNorm),
    };
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
    const sum = new Float64Array(OBS_SIZE);
    const sumSq = new Float64Array(OBS_SIZE);
    for (const r of results) {
      count += r.decisions;
      for (let i = 0; i < OBS_SIZE; i++) {
        sum[i] += r.obsSum[i];
        sumSq[i] += r.obsSumSq[i];
      }
    }
    if (count === 0) return;
    const mean = Array.from(sum, (v) => v / count);
    const variance = Array.from(sumSq, (v, i) => Math.max(0, v / count - mean[i] * mean[i]));
    this.obsStats.updateMoments(mean, variance, count);
  }
}

/** Centred ranks in [-0.5, 0.5] (ties broken by index, deterministically). */
export function centredRanks(xs: number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const out = new Array<number>(xs.length);
  idx.forEach((i, rank) => (out[i] = xs.length > 1 ? rank / (xs.length - 1) - 0.5 : 0));
  return out;
}
