/**
 * PPO for the continuous fee action (Schulman et al. 2017), in CleanRL's one-file layout
 * (`ppo_continuous_action.py`): the hyperparameters with their docs, the state a checkpoint
 * holds, then the algorithm, its iteration readable top to bottom (collect, advantages, update).
 * A Gaussian policy (MLP mean, learned state-independent log-std), a separate value network,
 * GAE, the clipped surrogate, clipped value loss, advantage and running observation
 * normalisation, an entropy bonus and global gradient-norm clipping.
 *
 * Each iteration plays one whole episode per env (episodes are ~100 decisions), so an iteration
 * needs no bootstrapping at a cut and resuming from a checkpoint is exact. Acting uses the plain
 * MLP evaluator with the current weights (about 10x faster than tfjs for one observation); tfjs
 * computes the updates.
 */
import { join } from "node:path";
import type * as TF from "@tensorflow/tfjs";
import { RandomStream, type RandomStreamState } from "../env/rng.js";
import { type EnvConfig, PropAmmEnv } from "../gym/env.js";
import { type Agent, feeToAction } from "../agents/agent.js";
import { type CheckpointState, readModelWeights } from "../agents/checkpoint.js";
import {
  type Activation,
  MlpPolicy,
  type ObsNormStats,
  type PolicySpec,
  RunningStats,
  specFromFlat,
} from "../agents/mlp.js";
import { loadStrategy } from "../arena/loader.js";
// Aliased: `mean` names the policy's action mean in this file.
import { mean as meanOf } from "../arena/stats.js";
import type { AlgorithmCheckpoint, IterationMetrics, TrainingAlgorithm } from "./algorithm.js";
import { loadTf, type Tf } from "./backend.js";
import { ACTION_SIZE, drawTrainingSeed, initParams, networkSizes } from "./defaults.js";
import { type ConfigOf, defaultsOf, hp } from "./hyperparameters.js";
import { runEpisode } from "./rollout.js";
import { envOnly, EpisodeEnvs, type TrainingEnvConfig } from "./opponent-pool.js";
import { buildMlp, getFlatWeights, modelFiles, setFlatWeights } from "./tf-model.js";

export const PPO_HYPERPARAMETERS = {
  hidden: hp([64, 64], "widths of the hidden layers, of the policy and of the value network alike"),
  activation: hp<Activation>("tanh", "hidden-layer activation: tanh, relu or linear"),
  numEnvs: hp(8, "episodes collected per iteration, one per env"),
  learningRate: hp(3e-4, "Adam step size"),
  gamma: hp(0.99, "discount factor"),
  gaeLambda: hp(0.95, "lambda of generalised advantage estimation"),
  updateEpochs: hp(10, "passes over an iteration's transitions per update"),
  numMinibatches: hp(4, "minibatches per pass"),
  clipCoef: hp(0.2, "clipping coefficient of the surrogate objective (and of the value update)"),
  clipValueLoss: hp(true, "clip the value update like the policy's (CleanRL's clip_vloss)"),
  entCoef: hp(0.0, "weight of the entropy bonus"),
  vfCoef: hp(0.5, "weight of the value loss"),
  maxGradNorm: hp(0.5, "global gradient-norm clip"),
  normAdvantages: hp(true, "normalise advantages per minibatch"),
  initLogStd: hp(-1.0, "initial log standard deviation of the Gaussian policy, both actions"),
  initialFeeBps: hp(50, "the initial policy's mean fee on both sides, in bps"),
  obsClip: hp(10, "normalised observations are clipped to [-obsClip, obsClip]"),
};

export type PpoConfig = ConfigOf<typeof PPO_HYPERPARAMETERS>;

export const DEFAULT_PPO_CONFIG: PpoConfig = defaultsOf(PPO_HYPERPARAMETERS);

/**
 * Everything a resumed run needs to continue bit for bit. A checkpoint stores the networks as
 * policy/ and critic/ model files, the counters, statistics and stream in state.json, and the
 * rest (`logStd`, `optimizer`, `adamBetaPowers`) as state.json's algoState.
 */
export interface PpoState {
  iteration: number;
  timesteps: number;
  episodes: number;
  actor: Float32Array;
  critic: Float32Array;
  logStd: number[];
  /** Adam moments as tfjs keeps them, in variable order. */
  optimizer: { name: string; values: number[]; shape: number[] }[];
  /**
   * Adam's running beta powers. tfjs rebuilds them as pow(beta, t) on setWeights, which can
   * differ in the last bit from the product an uninterrupted run accumulated; saving them keeps
   * a resumed run bit-identical.
   */
  adamBetaPowers?: [number, number];
  obsNorm: ObsNormStats;
  rng: RandomStreamState;
}

type AlgoState = Pick<PpoState, "logStd" | "optimizer" | "adamBetaPowers">;

/** One iteration's transitions, row-major, in collection order (episode after episode). */
interface Transitions {
  /** Observations as the policy saw them (normalised, clipped). */
  obs: number[];
  /** Raw observations, for the running normalisation statistics. */
  rawObs: number[];
  act: number[];
  logp: number[];
  val: number[];
  adv: number[];
  ret: number[];
}

const LOG_2PI = Math.log(2 * Math.PI);

/** tfjs keeps Adam's beta powers in private variables; checkpoints need them (see PpoState). */
interface AdamInternals {
  accBeta1: TF.Variable;
  accBeta2: TF.Variable;
}

type GradientMap = Parameters<TF.AdamOptimizer["applyGradients"]>[0];

export class PpoAlgorithm implements TrainingAlgorithm {
  readonly name = "ppo" as const;
  readonly actorSizes: number[];
  readonly criticSizes: number[];
  readonly actor: TF.Sequential;
  readonly critic: TF.Sequential;
  readonly logStd: TF.Variable;
  private readonly optimizer: TF.AdamOptimizer;
  private readonly envs: PropAmmEnv[];
  /** The opponent pool's envs, when training draws opponents from one. */
  private readonly pooled: EpisodeEnvs | null;
  private readonly rng: RandomStream;
  private readonly obsStats: RunningStats;
  /** Values in the env's observation (5 seed, 17 extended). */
  private readonly obsSize: number;
  private readonly restored: Promise<void>;
  private counters = { iteration: 0, timesteps: 0, episodes: 0 };

  /** A fresh run, or (with `resume`) the run saved in that checkpoint. Opponent files load here, once. */
  static async create(
    config: PpoConfig,
    seed: number,
    env: TrainingEnvConfig,
    resume?: { dir: string; state: CheckpointState },
  ): Promise<PpoAlgorithm> {
    const { tf } = await loadTf();
    const episodeEnvs = await EpisodeEnvs.create(env, loadStrategy);
    const envConfig = { ...envOnly(env), opponents: episodeEnvs.base.config.opponents };
    const state = resume ? stateFromCheckpoint(resume.dir, resume.state) : undefined;
    return new PpoAlgorithm(tf, config, seed, envConfig, state, episodeEnvs.pooled ? episodeEnvs : null);
  }

  /** A fresh copy of the default config. */
  static defaults(): PpoConfig {
    return defaultsOf(PPO_HYPERPARAMETERS);
  }

  private constructor(
    private readonly tf: Tf,
    readonly config: PpoConfig,
    readonly seed: number,
    envConfig: Partial<EnvConfig>,
    state: PpoState | undefined,
    pooled: EpisodeEnvs | null,
  ) {
    this.pooled = pooled;
    this.envs = Array.from({ length: config.numEnvs }, () => new PropAmmEnv(envConfig));
    this.obsSize = this.envs[0].observationSpace.shape[0];
    this.actorSizes = networkSizes(this.obsSize, config.hidden);
    this.criticSizes = networkSizes(this.obsSize, config.hidden, 1);
    this.actor = buildMlp(tf, this.actorSizes, config.activation, "policy");
    this.critic = buildMlp(tf, this.criticSizes, config.activation, "critic");
    const feeMin = this.envs[0].config.feeMinBps;
    const feeMax = this.envs[0].config.feeMaxBps;
    if (state) {
      this.rng = new RandomStream(`ppo:${seed}`, state.rng);
      setFlatWeights(tf, this.actor, state.actor);
      setFlatWeights(tf, this.critic, state.critic);
      this.logStd = tf.variable(tf.tensor1d(state.logStd), true, "log_std");
      this.obsStats = new RunningStats(this.obsSize, state.obsNorm);
      this.counters = { iteration: state.iteration, timesteps: state.timesteps, episodes: state.episodes };
    } else {
      this.rng = new RandomStream(`ppo:${seed}`, true);
      const bias = feeToAction(config.initialFeeBps, feeMin, feeMax);
      setFlatWeights(tf, this.actor, initParams(this.actorSizes, this.rng, 0.01, bias));
      setFlatWeights(tf, this.critic, initParams(this.criticSizes, this.rng, 1, 0));
      this.logStd = tf.variable(tf.fill([ACTION_SIZE], config.initLogStd), true, "log_std");
      this.obsStats = new RunningStats(this.obsSize);
    }
    this.optimizer = tf.train.adam(config.learningRate, 0.9, 0.999, 1e-5);
    // Adam's setWeights is asynchronous: everything that reads or updates waits for it.
    this.restored =
      state && state.optimizer.length > 0
        ? this.restoreOptimizer(state.optimizer, state.adamBetaPowers)
        : Promise.resolve();
  }

  get timesteps(): number {
    return this.counters.timesteps;
  }
  get episodes(): number {
    return this.counters.episodes;
  }
  get iterations(): number {
    return this.counters.iteration;
  }
  /** One whole episode per env. */
  get episodesPerIteration(): number {
    return this.config.numEnvs;
  }
  get obsNorm(): ObsNormStats {
    return this.obsStats.toJSON();
  }

  /** The deterministic policy (the Gaussian mean) as a plain MLP spec. */
  policySpec(): PolicySpec {
    return specFromFlat(
      this.actorSizes,
      this.config.activation,
      getFlatWeights(this.actor),
      this.obsStats.toJSON(),
      this.config.obsClip,
    );
  }

  /** Collects one episode per env with the current stochastic policy, then updates. */
  async iterate(): Promise<IterationMetrics> {
    await this.restored;
    const c = this.config;

    // Acting: the plain MLP with the current weights and normalisation.
    const obsNorm = this.obsStats.toJSON();
    const actorEval = new MlpPolicy(
      specFromFlat(this.actorSizes, c.activation, getFlatWeights(this.actor), obsNorm, c.obsClip),
    );
    const criticEval = new MlpPolicy(
      specFromFlat(this.criticSizes, c.activation, getFlatWeights(this.critic), obsNorm, c.obsClip),
    );
    const logStd = Float64Array.from(this.logStd.dataSync());
    const std = logStd.map((l) => Math.exp(l));

    const buf: Transitions = { obs: [], rawObs: [], act: [], logp: [], val: [], adv: [], ret: [] };
    // Per-step scratch, allocated once: the env reads `action` before the next act overwrites it.
    const norm = new Float64Array(this.obsSize);
    const mean = new Float64Array(ACTION_SIZE);
    const value = new Float64Array(1);
    const action = new Float64Array(ACTION_SIZE);
    const sampler: Agent = {
      name: "ppo sampler",
      act: (observation) => {
        for (let i = 0; i < this.obsSize; i++) buf.rawObs.push(observation[i]);
        actorEval.normalize(observation, norm);
        for (let i = 0; i < this.obsSize; i++) buf.obs.push(norm[i]);
        actorEval.act(observation, mean);
        criticEval.act(observation, value);
        let logp = 0;
        for (let k = 0; k < ACTION_SIZE; k++) {
          const z = this.rng.normal();
          action[k] = mean[k] + std[k] * z;
          logp += -0.5 * z * z - logStd[k] - 0.5 * LOG_2PI;
          buf.act.push(action[k]);
        }
        buf.logp.push(logp);
        buf.val.push(value[0]);
        return action;
      },
    };

    // Collection: one whole episode per env, then its advantages (GAE; terminal, no bootstrap).
    const returns: number[] = [];
    const edges: number[] = [];
    const vsNorm: number[] = [];
    for (const env of this.envs) {
      const start = buf.val.length;
      const rewards: number[] = [];
      const seed = drawTrainingSeed(this.rng);
      const played = this.pooled ? this.pooled.forTraining(seed) : env;
      const episode = runEpisode(played, sampler, seed, (r) => rewards.push(r));
      returns.push(episode.return);
      edges.push(episode.agentEdge);
      vsNorm.push(episode.agentEdge - episode.normalizerEdge);
      const T = rewards.length;
      const adv = new Array<number>(T);
      let last = 0;
      for (let t = T - 1; t >= 0; t--) {
        const next = t + 1 < T ? buf.val[start + t + 1] : 0;
        const delta = rewards[t] + c.gamma * next - buf.val[start + t];
        last = delta + c.gamma * c.gaeLambda * last;
        adv[t] = last;
      }
      for (let t = 0; t < T; t++) {
        buf.adv.push(adv[t]);
        buf.ret.push(adv[t] + buf.val[start + t]);
      }
    }

    // Update, then fold this iteration's observations into the normalisation.
    const n = buf.logp.length;
    const stats = this.update(buf, n);
    this.obsStats.update(buf.rawObs, n);
    this.counters.iteration++;
    this.counters.timesteps += n;
    this.counters.episodes += this.envs.length;
    return {
      iteration: this.counters.iteration,
      timesteps: this.counters.timesteps,
      episodes: this.counters.episodes,
      meanReturn: meanOf(returns),
      meanEdge: meanOf(edges),
      meanEdgeVsNormalizer: meanOf(vsNorm),
      ...stats,
      std: meanOf(Array.from(this.logStd.dataSync(), (l) => Math.exp(l))),
    };
  }

  /** updateEpochs passes of shuffled minibatches over the transitions; the mean losses. */
  private update(
    buf: Transitions,
    n: number,
  ): { policyLoss: number; valueLoss: number; entropy: number; approxKl: number; clipFraction: number } {
    const tf = this.tf;
    const c = this.config;
    const idx = Array.from({ length: n }, (_, i) => i);
    const mbSize = Math.max(1, Math.floor(n / c.numMinibatches));
    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, count: 0 };
    const vars = this.trainableList();
    for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
      // Fisher-Yates with the trainer's stream: deterministic minibatches.
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(this.rng.uniform() * (i + 1));
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
      for (let start = 0; start + mbSize <= n; start += mbSize) {
        const mb = idx.slice(start, start + mbSize);
        const pick = (src: number[], width: number): number[] =>
          mb.flatMap((i) => src.slice(i * width, i * width + width));
        let mbAdv = pick(buf.adv, 1);
        if (c.normAdvantages && mbAdv.length > 1) {
          const m = meanOf(mbAdv);
          const s = Math.sqrt(mbAdv.reduce((a, b) => a + (b - m) ** 2, 0) / (mbAdv.length - 1));
          mbAdv = mbAdv.map((a) => (a - m) / (s + 1e-8));
        }
        const stats = tf.tidy(() => {
          const o = tf.tensor2d(pick(buf.obs, this.obsSize), [mb.length, this.obsSize]);
          const a = tf.tensor2d(pick(buf.act, ACTION_SIZE), [mb.length, ACTION_SIZE]);
          const oldLogp = tf.tensor1d(pick(buf.logp, 1));
          const advT = tf.tensor1d(mbAdv);
          const retT = tf.tensor1d(pick(buf.ret, 1));
          const oldV = tf.tensor1d(pick(buf.val, 1));
          let out = { pg: 0, v: 0, ent: 0, kl: 0, clip: 0 };
          const lossFn = (): TF.Scalar => {
            const mean = this.actor.apply(o) as TF.Tensor2D;
            const z = a.sub(mean).div(this.logStd.exp());
            const newLogp = z
              .square()
              .mul(-0.5)
              .sub(this.logStd)
              .sub(0.5 * LOG_2PI)
              .sum(1);
            const logRatio = newLogp.sub(oldLogp);
            const ratio = logRatio.exp();
            const pg1 = advT.neg().mul(ratio);
            const pg2 = advT.neg().mul(ratio.clipByValue(1 - c.clipCoef, 1 + c.clipCoef));
            const pgLoss = tf.maximum(pg1, pg2).mean();
            const v = (this.critic.apply(o) as TF.Tensor2D).reshape([mb.length]);
            let vLoss: TF.Tensor;
            if (c.clipValueLoss) {
              const vClipped = oldV.add(v.sub(oldV).clipByValue(-c.clipCoef, c.clipCoef));
              vLoss = tf.maximum(v.sub(retT).square(), vClipped.sub(retT).square()).mean().mul(0.5);
            } else vLoss = v.sub(retT).square().mean().mul(0.5);
            const entropy = this.logStd.add(0.5 + 0.5 * LOG_2PI).sum();
            out = {
              pg: pgLoss.dataSync()[0],
              v: vLoss.dataSync()[0],
              ent: entropy.dataSync()[0],
              kl: ratio.sub(1).sub(logRatio).mean().dataSync()[0],
              clip: ratio.sub(1).abs().greater(c.clipCoef).cast("float32").mean().dataSync()[0],
            };
            return pgLoss.sub(entropy.mul(c.entCoef)).add(vLoss.mul(c.vfCoef)) as TF.Scalar;
          };
          const { grads } = tf.variableGrads(lossFn, vars);
          // Global gradient-norm clipping.
          const names = Object.keys(grads);
          const norm = Math.sqrt(names.reduce((s, k) => s + grads[k].square().sum().dataSync()[0], 0));
          const scale = norm > c.maxGradNorm ? c.maxGradNorm / (norm + 1e-6) : 1;
          const clipped: TF.NamedTensorMap = {};
          for (const k of names) clipped[k] = grads[k].mul(scale);
          this.optimizer.applyGradients(clipped as unknown as GradientMap);
          return out;
        });
        sums.policyLoss += stats.pg;
        sums.valueLoss += stats.v;
        sums.entropy += stats.ent;
        sums.approxKl += stats.kl;
        sums.clipFraction += stats.clip;
        sums.count++;
      }
    }
    const k = Math.max(1, sums.count);
    return {
      policyLoss: sums.policyLoss / k,
      valueLoss: sums.valueLoss / k,
      entropy: sums.entropy / k,
      approxKl: sums.approxKl / k,
      clipFraction: sums.clipFraction / k,
    };
  }

  /** A copy of the complete state (for checkpoints). */
  async snapshot(): Promise<PpoState> {
    await this.restored;
    const opt = await this.optimizer.getWeights();
    const acc = this.optimizer as unknown as AdamInternals;
    return {
      ...this.counters,
      actor: getFlatWeights(this.actor),
      critic: getFlatWeights(this.critic),
      logStd: Array.from(this.logStd.dataSync()),
      optimizer: opt.map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()), shape: w.tensor.shape })),
      adamBetaPowers: [acc.accBeta1.dataSync()[0], acc.accBeta2.dataSync()[0]],
      obsNorm: this.obsStats.toJSON(),
      rng: this.rng.state(),
    };
  }

  async checkpoint(): Promise<AlgorithmCheckpoint> {
    const snap = await this.snapshot();
    const policy = await modelFiles(this.tf, this.actor);
    const critic = await modelFiles(this.tf, this.critic);
    const algoState: AlgoState = {
      logStd: snap.logStd,
      optimizer: snap.optimizer,
      adamBetaPowers: snap.adamBetaPowers,
    };
    return {
      files: {
        "policy/model.json": policy.modelJson,
        "policy/weights.bin": policy.weights,
        "critic/model.json": critic.modelJson,
        "critic/weights.bin": critic.weights,
      },
      state: {
        algo: "ppo",
        config: { ...this.config },
        counters: { timesteps: snap.timesteps, episodes: snap.episodes, iterations: snap.iteration },
        rng: snap.rng,
        algoState: algoState as unknown as Record<string, unknown>,
      },
    };
  }

  async close(): Promise<void> {
    this.actor.dispose();
    this.critic.dispose();
    this.logStd.dispose();
    this.optimizer.dispose();
  }

  private async restoreOptimizer(saved: PpoState["optimizer"], powers?: [number, number]): Promise<void> {
    // Adam creates its slots on first use; one zero-gradient step creates them, then we overwrite.
    const tf = this.tf;
    const vars = this.trainableList();
    const zeros: Record<string, TF.Tensor> = {};
    for (const v of vars) zeros[v.name] = tf.zerosLike(v);
    const before = vars.map((v) => v.clone());
    this.optimizer.applyGradients(zeros as unknown as GradientMap);
    vars.forEach((v, i) => v.assign(before[i]));
    before.forEach((t) => t.dispose());
    Object.values(zeros).forEach((t) => t.dispose());
    await this.optimizer.setWeights(saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape) })));
    if (powers) {
      const acc = this.optimizer as unknown as AdamInternals;
      acc.accBeta1.assign(tf.scalar(powers[0]));
      acc.accBeta2.assign(tf.scalar(powers[1]));
    }
  }

  private trainableList(): TF.Variable[] {
    const list: TF.Variable[] = [];
    for (const w of [...this.actor.trainableWeights, ...this.critic.trainableWeights])
      list.push(w.read() as TF.Variable);
    list.push(this.logStd);
    return list;
  }
}

/** The state a checkpoint written by `checkpoint()` holds: networks from policy/ and critic/, the rest from state.json. */
function stateFromCheckpoint(dir: string, saved: CheckpointState): PpoState {
  const a = saved.algoState as unknown as AlgoState;
  const flat = (sub: string): Float32Array =>
    Float32Array.from(readModelWeights(join(dir, sub)).flatMap((w) => Array.from(w.values)));
  return {
    iteration: saved.counters.iterations,
    timesteps: saved.counters.timesteps,
    episodes: saved.counters.episodes,
    actor: flat("policy"),
    critic: flat("critic"),
    logStd: a.logStd,
    optimizer: a.optimizer,
    adamBetaPowers: a.adamBetaPowers,
    obsNorm: saved.policy.obsNorm,
    rng: saved.rng,
  };
}
