/**
 * The learning algorithms on tasks whose answer is known independently of them.
 *
 *  - ES's optimiser core (training/es.ts) on a synthetic concave objective: a stand-in rollout pool
 *    scores each candidate by how close the network's output on a fixed observation is to a
 *    target, so the optimum is the target itself.
 *  - ES and PPO on a tiny task inside PropAmmEnv: a pinned market (no opponents, the normalizer at
 *    200 bps, short episodes) whose best constant fee is found by brute force over a grid of fees
 *    on the evaluation seeds. The trained deterministic policy must set fees near that fee and
 *    earn within a few % of the best return, starting from a policy (50 bps) that earns about half.
 *  - A short seeded training run (train(), as `propamm train` runs it) on the AMM env with random
 *    markets beats the random policy in a paired comparison on 32 held-out seeds, starting from a
 *    policy that is worse than random, so only training can make the difference.
 *
 * Smaller pieces the trainers rest on are checked directly: the tfjs model against the plain MLP
 * evaluator, the flat-weight round trip, running observation statistics, centred ranks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { feeToAction } from "../../agents/agent.js";
import { loadTf, type Tf } from "../../training/backend.js";
import { constantAgent, randomAgent } from "../../agents/baselines.js";
import { ACTION_SIZE, OBS_CLIP, OBS_SIZE, TRAIN_SEED_MIN } from "../../training/defaults.js";
import { centredRanks, DEFAULT_ES_CONFIG, EsAlgorithm, type EsConfig } from "../../training/es.js";
import {
  flatFromSpec,
  MlpPolicy,
  type ObsNormStats,
  parameterCount,
  type PolicySpec,
  RunningStats,
  specFromFlat,
} from "../../agents/mlp.js";
import { DEFAULT_PPO_CONFIG, PpoAlgorithm, type PpoConfig } from "../../training/ppo.js";
import { RolloutPool } from "../../training/rollout-pool.js";
import { evaluateAgent, type RolloutResult, type RolloutTask, runEpisode } from "../../training/rollout.js";
import { buildMlp, denseLayers, getFlatWeights, setFlatWeights } from "../../training/tf-model.js";
import { type EnvConfig, PropAmmEnv } from "../../gym/env.js";
import { RandomStream } from "../../env/rng.js";
import { join } from "node:path";
import { train } from "../../training/train.js";
import { loadPolicy } from "../../agents/checkpoint.js";
import { randomObservations } from "../helpers/observations.js";
import { mean as average, paired } from "../helpers/stats.js";
import { tempDir } from "../helpers/tmp.js";

let tf: Tf;
const tmp = tempDir("propamm-agents-");
beforeAll(async () => {
  tf = (await loadTf()).tf;
});

// ---------------------------------------------------------------------------------------------
// ES's optimiser core on a synthetic concave objective
// ---------------------------------------------------------------------------------------------

/** The output (both actions) the synthetic objective rewards: fees of 168.75 and 68.75 bps. */
const TARGET = [0.35, -0.45];
/** The observation every candidate is scored on, and the spread the pool reports around it. */
const OBS0 = [0.4, 0.6, 0.5, 0.3, 2 / 17];
const OBS_SPREAD = 0.1;

/**
 * A stand-in for RolloutPool (EsAlgorithm only calls run() and reads the results): each task's
 * fitness is -|y - TARGET|^2 for the network output y on OBS0, transformed by `shape` (a
 * monotone map, to check that only ranks matter). Each seed reports two decisions, at OBS0 +- OBS_SPREAD.
 */
class SyntheticPool {
  readonly calls: RolloutTask[][] = [];

  constructor(private readonly shape: (f: number) => number = (f) => f) {}

  async run(tasks: RolloutTask[]): Promise<RolloutResult[]> {
    // Copies: the centre task carries the trainer's live parameter vector, which the update then changes.
    this.calls.push(tasks.map((t) => ({ ...t, params: t.params.slice() })));
    return tasks.map((t) => {
      const y = outputOn(t.sizes, t.activation, t.params, t.obsNorm);
      const fitness = this.shape(-y.reduce((s, v, i) => s + (v - TARGET[i]) ** 2, 0));
      const n = 2 * t.seeds.length;
      return {
        meanReturn: fitness,
        returns: t.seeds.map(() => fitness),
        agentEdges: t.seeds.map(() => fitness),
        normalizerEdges: t.seeds.map(() => 0),
        decisions: n,
        obsSum: OBS0.map((o) => n * o),
        obsSumSq: OBS0.map((o) => n * (o * o + OBS_SPREAD * OBS_SPREAD)),
        obsMin: OBS0.map((o) => o - OBS_SPREAD),
        obsMax: OBS0.map((o) => o + OBS_SPREAD),
      };
    });
  }

  asPool(): RolloutPool {
    // EsAlgorithm's parameter is the class; this object has the one method it uses.
    return this as unknown as RolloutPool;
  }
}

function outputOn(
  sizes: number[],
  activation: EsConfig["activation"],
  params: ArrayLike<number>,
  obsNorm: ObsNormStats,
) {
  return Array.from(new MlpPolicy(specFromFlat(sizes, activation, params, obsNorm, OBS_CLIP)).act(OBS0));
}

const SYNTHETIC_ES: EsConfig = {
  ...DEFAULT_ES_CONFIG,
  hidden: [16, 16],
  population: 16,
  seedsPerGeneration: 2,
  learningRate: 0.01,
  initialFeeBps: 50,
};

describe("ES on a synthetic concave objective (known optimum)", () => {
  it("drives the network's output to the objective's maximiser", async () => {
    const pool = new SyntheticPool();
    const trainer = new EsAlgorithm(SYNTHETIC_ES, 11, [0, 250], pool.asPool());
    const before = outputOn(trainer.sizes, SYNTHETIC_ES.activation, trainer.params, trainer.obsNorm);
    // The initial policy acts at 50 bps on both sides (action -0.6): far from the target.
    for (const y of before) expect(y).toBeCloseTo(feeToAction(50, 0, 250), 1);
    let last = { meanReturn: -Infinity };
    for (let g = 0; g < 300; g++) last = await trainer.iterate();
    const after = outputOn(trainer.sizes, SYNTHETIC_ES.activation, trainer.params, trainer.obsNorm);
    for (let i = 0; i < ACTION_SIZE; i++)
      expect(Math.abs(after[i] - TARGET[i]), `output ${i}: ${after}`).toBeLessThan(0.03);
    expect(last.meanReturn).toBeGreaterThan(-2e-3);
    // The observation statistics the pool reported were folded in: mean OBS0, variance OBS_SPREAD^2.
    const norm = trainer.obsNorm;
    for (let i = 0; i < OBS_SIZE; i++) {
      expect(norm.mean[i]).toBeCloseTo(OBS0[i], 6);
      expect(norm.var[i]).toBeCloseTo(OBS_SPREAD ** 2, 6);
    }
  });

  it("plays antithetic pairs around the centre on common seeds, and only fitness ranks matter", async () => {
    const pool = new SyntheticPool();
    const trainer = new EsAlgorithm(SYNTHETIC_ES, 5, [0, 250], pool.asPool());
    const centres: Float32Array[] = [];
    const norms: ObsNormStats[] = [];
    for (let g = 0; g < 3; g++) {
      centres.push(trainer.params.slice());
      norms.push(trainer.obsNorm);
      const m = await trainer.iterate();
      expect(m.generation).toBe(g + 1);
    }
    expect(pool.calls).toHaveLength(3);
    pool.calls.forEach((tasks, g) => {
      expect(tasks).toHaveLength(SYNTHETIC_ES.population + 1);
      const seeds = tasks[0].seeds;
      expect(seeds).toHaveLength(SYNTHETIC_ES.seedsPerGeneration);
      for (const s of seeds) {
        expect(Number.isInteger(s) && s >= TRAIN_SEED_MIN && s < 2 ** 31).toBe(true);
      }
      for (const t of tasks) {
        expect(t.seeds).toEqual(seeds); // common random numbers
        expect(t.obsNorm).toEqual(norms[g]);
        expect(t.params.length).toBe(parameterCount(trainer.sizes));
      }
      expect(Array.from(tasks[0].params)).toEqual(Array.from(centres[g]));
      // Candidates 2j+1 and 2j+2 are centre +- sigma * eps_j (each rounded to float32).
      const c = centres[g];
      for (let j = 0; j < SYNTHETIC_ES.population / 2; j++) {
        const plus = tasks[1 + 2 * j].params;
        const minus = tasks[2 + 2 * j].params;
        let spread = 0;
        for (let i = 0; i < c.length; i++) {
          expect(Math.abs(plus[i] + minus[i] - 2 * c[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(c[i])));
          spread += (plus[i] - c[i]) ** 2;
        }
        // |sigma * eps|^2 ~ sigma^2 * n: the perturbation has the configured scale.
        expect(Math.sqrt(spread / c.length) / SYNTHETIC_ES.sigma).toBeGreaterThan(0.8);
        expect(Math.sqrt(spread / c.length) / SYNTHETIC_ES.sigma).toBeLessThan(1.2);
      }
      // Different generations draw new seeds.
      if (g > 0) expect(seeds).not.toEqual(pool.calls[g - 1][0].seeds);
    });

    // Centred-rank fitness shaping: a strictly increasing transform of the fitness changes nothing.
    const plain = new SyntheticPool();
    const warped = new SyntheticPool((f) => Math.sinh(4 * f) * 100);
    const a = new EsAlgorithm(SYNTHETIC_ES, 9, [0, 250], plain.asPool());
    const b = new EsAlgorithm(SYNTHETIC_ES, 9, [0, 250], warped.asPool());
    for (let g = 0; g < 5; g++) {
      await a.iterate();
      await b.iterate();
    }
    expect(Array.from(b.params)).toEqual(Array.from(a.params));
  });

  it("centredRanks: ranks in [-0.5, 0.5], ties broken by index", () => {
    const ranks = centredRanks([3, -1, 10, 2]);
    [1 / 6, -0.5, 0.5, -1 / 6].forEach((r, i) => expect(ranks[i]).toBeCloseTo(r, 12));
    expect(centredRanks([1, 1, 1])).toEqual([-0.5, 0, 0.5]);
    expect(centredRanks([42])).toEqual([0]);
  });
});

// ---------------------------------------------------------------------------------------------
// ES and PPO on a tiny PropAmmEnv task with a brute-forced optimum
// ---------------------------------------------------------------------------------------------

/**
 * The agent against the normalizer alone, in a pinned market (no draw per seed), 500 steps with
 * a decision every 20: the return as a function of a constant fee rises to a single smooth peak
 * near 140 bps (the normalizer charges 200) and falls on both sides. The return depends on the
 * two side fees through (nearly only) their sum, so the grid is over equal fees and a policy's
 * fee is measured as the mean of its two.
 */
const TASK_ENV: Partial<EnvConfig> & { opponents: string[] } = {
  opponents: [],
  rewardBaseline: "normalizer",
  decisionInterval: 20,
  sim: {
    steps: 500,
    epochLen: 250,
    pins: { sigma: 0.001, retailRate: 1, retailMeanSize: 20, normalizerFeeBps: 200, normalizerLiquidity: 1 },
  },
};
/** Evaluation seeds: below the training range (>= 1e6) and away from train()'s held-out seeds. */
const TASK_SEEDS = Array.from({ length: 16 }, (_, i) => 700_000 + i);
const INITIAL_FEE = 50;
/** How near the optimum a trained policy must get. */
const FEE_TOLERANCE_BPS = 15;
const RETURN_SHARE = 0.97;

interface Landscape {
  bestFee: number;
  bestReturn: number;
  initialReturn: number;
}

/** The deterministic policy on the task's seeds: mean return and mean fee over all decisions. */
function playPolicy(spec: PolicySpec, config = TASK_ENV, seeds = TASK_SEEDS): { meanReturn: number; meanFee: number } {
  const env = new PropAmmEnv(config);
  const policy = new MlpPolicy(spec);
  const fees: number[] = [];
  const agent = {
    name: "trained",
    act(obs: Float32Array): number[] {
      const a = Array.from(policy.act(obs));
      fees.push((env.actionToFeeBps(a[0]) + env.actionToFeeBps(a[1])) / 2);
      return a;
    },
  };
  const returns = seeds.map((s) => runEpisode(env, agent, s).return);
  return { meanReturn: average(returns), meanFee: average(fees) };
}

function expectNearOptimum(what: string, got: { meanReturn: number; meanFee: number }, land: Landscape): void {
  const detail = `${what}: fee ${got.meanFee.toFixed(1)} bps, return ${got.meanReturn.toFixed(4)}; brute force: ${land.bestFee} bps, ${land.bestReturn.toFixed(4)}`;
  expect(Math.abs(got.meanFee - land.bestFee), detail).toBeLessThanOrEqual(FEE_TOLERANCE_BPS);
  expect(got.meanReturn, detail).toBeGreaterThanOrEqual(RETURN_SHARE * land.bestReturn);
}

describe("ES and PPO find the brute-forced best fee of a pinned-market task", () => {
  let land: Landscape;
  beforeAll(() => {
    let bestFee = NaN;
    let bestReturn = -Infinity;
    for (let fee = 0; fee <= 250; fee += 2) {
      const r = average(evaluateAgent(TASK_ENV, constantAgent(fee), TASK_SEEDS).map((e) => e.return));
      if (r > bestReturn) [bestFee, bestReturn] = [fee, r];
    }
    const initialReturn = average(evaluateAgent(TASK_ENV, constantAgent(INITIAL_FEE), TASK_SEEDS).map((e) => e.return));
    land = { bestFee, bestReturn, initialReturn };
  });

  it("the task has an interior optimum that the initial policy is far from", () => {
    expect(land.bestFee).toBeGreaterThan(80);
    expect(land.bestFee).toBeLessThan(220);
    expect(land.bestReturn).toBeGreaterThan(0);
    // The bar is not met at the start: 50 bps is outside the fee tolerance and earns far less.
    expect(Math.abs(INITIAL_FEE - land.bestFee)).toBeGreaterThan(3 * FEE_TOLERANCE_BPS);
    expect(land.initialReturn).toBeLessThan(0.7 * land.bestReturn);
  });

  it("ES (EsAlgorithm over a RolloutPool) converges to it", async () => {
    const config: EsConfig = {
      ...DEFAULT_ES_CONFIG,
      hidden: [16, 16],
      population: 16,
      seedsPerGeneration: 4,
      sigma: 0.1,
      learningRate: 0.03,
      initialFeeBps: INITIAL_FEE,
    };
    const pool = new RolloutPool(TASK_ENV, 0);
    const trainer = new EsAlgorithm(config, 1, [0, 250], pool);
    const spec = (): PolicySpec =>
      specFromFlat(trainer.sizes, config.activation, trainer.params, trainer.obsNorm, OBS_CLIP);
    try {
      const start = playPolicy(spec());
      expect(Math.abs(start.meanFee - INITIAL_FEE)).toBeLessThan(5);
      for (let g = 0; g < 80; g++) await trainer.iterate();
    } finally {
      await pool.close();
    }
    expectNearOptimum("ES", playPolicy(spec()), land);
  });

  it("PPO (PpoAlgorithm, tfjs) converges to it", async () => {
    const config: PpoConfig = {
      ...DEFAULT_PPO_CONFIG,
      hidden: [16, 16],
      numEnvs: 8,
      learningRate: 0.01,
      updateEpochs: 4,
      numMinibatches: 2,
      // Each reward is the edge of the interval the action set: a short horizon is the right one.
      gamma: 0.5,
      initialFeeBps: INITIAL_FEE,
    };
    const trainer = await PpoAlgorithm.create(config, 1, TASK_ENV);
    try {
      const start = playPolicy(trainer.policySpec());
      expect(Math.abs(start.meanFee - INITIAL_FEE)).toBeLessThan(5);
      for (let i = 0; i < 60; i++) await trainer.iterate();
      expectNearOptimum("PPO", playPolicy(trainer.policySpec()), land);
    } finally {
      await trainer.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A short training run on the AMM env beats the random policy
// ---------------------------------------------------------------------------------------------

/** Random markets (nothing pinned), the starter as opponent, the reward measured against the normalizer. */
const AMM_ENV: Partial<EnvConfig> & { opponents: string[] } = {
  opponents: ["starter"],
  rewardBaseline: "normalizer",
  sim: { steps: 1000, epochLen: 250 },
};
const HELD_OUT = Array.from({ length: 32 }, (_, i) => 600_000 + i);
/** A bad starting fee, so that the untrained policy loses to the random one. */
const BAD_START_BPS = 230;

function policyAgent(spec: PolicySpec) {
  const policy = new MlpPolicy(spec);
  return { name: "policy", act: (obs: Float32Array) => policy.act(obs) };
}

function returnsOf(agent: Parameters<typeof evaluateAgent>[1]): number[] {
  return evaluateAgent(AMM_ENV, agent, HELD_OUT).map((e) => e.return);
}

describe("a short seeded training run on the AMM env beats the random policy", () => {
  let random: number[];
  beforeAll(() => {
    random = returnsOf(randomAgent(1));
  });

  async function check(algo: "es" | "ppo", hyper: Record<string, unknown>, timesteps: number): Promise<void> {
    const out = join(tmp, `beats-random-${algo}`);
    await train({
      algo,
      timesteps,
      seed: 1,
      out,
      resume: false,
      workers: 0,
      env: AMM_ENV,
      hyper,
      evalEvery: 0,
      evalEpisodes: 1,
      checkpointEvery: 1000,
    });
    // The same algorithm before any iteration: the policy training started from.
    let initialSpec: PolicySpec;
    if (algo === "es") {
      const pool = new RolloutPool(AMM_ENV, 0);
      initialSpec = new EsAlgorithm({ ...EsAlgorithm.defaults(), ...hyper }, 1, [0, 250], pool).policySpec();
      await pool.close();
    } else {
      const a = await PpoAlgorithm.create({ ...PpoAlgorithm.defaults(), ...hyper }, 1, AMM_ENV);
      initialSpec = a.policySpec();
      await a.close();
    }
    const initial = returnsOf(policyAgent(initialSpec));
    const trained = returnsOf(policyAgent(loadPolicy(out).spec));
    const vsRandom = paired(trained, random);
    const startVsRandom = paired(initial, random);
    const vsStart = paired(trained, initial);
    const detail = `${algo}: trained - random ${vsRandom.mean.toFixed(3)} (t ${vsRandom.t.toFixed(2)}), initial - random ${startVsRandom.mean.toFixed(3)} (t ${startVsRandom.t.toFixed(2)}), trained - initial ${vsStart.mean.toFixed(3)} (t ${vsStart.t.toFixed(2)})`;
    // Without training the policy loses to random play...
    expect(startVsRandom.mean, detail).toBeLessThan(0);
    // ...after a short run it wins, by a margin far outside the noise (one-sided p < 0.003 at 31 df).
    expect(vsRandom.mean, detail).toBeGreaterThan(0);
    expect(vsRandom.t, detail).toBeGreaterThan(3);
    expect(vsStart.t, detail).toBeGreaterThan(3);
  }

  it("ES", async () => {
    await check(
      "es",
      {
        hidden: [16, 16],
        population: 16,
        seedsPerGeneration: 4,
        learningRate: 0.03,
        sigma: 0.1,
        initialFeeBps: BAD_START_BPS,
      },
      50_000,
    );
  });

  it("PPO", async () => {
    await check(
      "ppo",
      {
        hidden: [16, 16],
        numEnvs: 8,
        learningRate: 0.01,
        updateEpochs: 4,
        numMinibatches: 2,
        gamma: 0.5,
        initialFeeBps: BAD_START_BPS,
      },
      20_000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The pieces: tfjs model vs plain evaluator, flat weights, running statistics
// ---------------------------------------------------------------------------------------------

describe("policy network pieces", () => {
  it("the tfjs model and the plain MLP compute the same policy; flat weights round-trip exactly", () => {
    const sizes = [OBS_SIZE, 16, 8, ACTION_SIZE];
    const rng = new RandomStream("weights");
    const flat = Float32Array.from({ length: parameterCount(sizes) }, () => rng.normal() * 0.5);
    for (const activation of ["tanh", "relu", "linear"] as const) {
      const model = buildMlp(tf, sizes, activation, `pieces_${activation}`);
      try {
        setFlatWeights(tf, model, flat);
        expect(Array.from(getFlatWeights(model))).toEqual(Array.from(flat));
        const obsNorm = { mean: [1, 0.5, 0.5, 0.5, 0.1], var: [4, 0.1, 0.05, 0.08, 1e-9], count: 100 };
        const spec = specFromFlat(sizes, activation, flat, obsNorm, 10);
        expect(denseLayers(model, activation)).toEqual(spec.layers);
        expect(Array.from(flatFromSpec(spec))).toEqual(Array.from(flat));
        const policy = new MlpPolicy(spec);
        const observations = randomObservations(64, `obs-${activation}`);
        const normalized = observations.flatMap((o) => Array.from(policy.normalize(o, new Float64Array(OBS_SIZE))));
        const predicted = tf.tidy(() =>
          (
            model.predict(tf.tensor2d(normalized, [observations.length, OBS_SIZE])) as ReturnType<typeof tf.tensor2d>
          ).arraySync(),
        );
        observations.forEach((o, k) => {
          const a = policy.act(o);
          for (let j = 0; j < ACTION_SIZE; j++)
            expect(Math.abs(a[j] - predicted[k][j])).toBeLessThan(1e-4 * (1 + Math.abs(a[j])));
        });
      } finally {
        model.dispose();
      }
    }
    const short = buildMlp(tf, sizes, "tanh", "short");
    expect(() => setFlatWeights(tf, short, flat.subarray(1))).toThrow(/weights/);
    short.dispose();
    expect(() => specFromFlat(sizes, "tanh", flat.subarray(1), { mean: [], var: [], count: 0 })).toThrow(RangeError);
  });

  it("RunningStats: batched updates give the moments of all the data", () => {
    const rng = new RandomStream("stats");
    const rows = Array.from({ length: 300 * 3 }, (_, i) => (i % 3) * 5 + rng.normal() * (1 + (i % 3)));
    const stats = new RunningStats(3);
    for (let start = 0; start < 300; start += 37) {
      const n = Math.min(37, 300 - start);
      stats.update(rows.slice(start * 3, (start + n) * 3), n);
    }
    for (let j = 0; j < 3; j++) {
      const col = rows.filter((_, i) => i % 3 === j);
      const m = average(col);
      const v = average(col.map((x) => (x - m) ** 2));
      // The prior (mean 0, var 1, count 1e-4) is a 1e-4 / 300 weight.
      expect(stats.mean[j]).toBeCloseTo(m, 5);
      expect(stats.var[j]).toBeCloseTo(v, 4);
    }
    expect(stats.count).toBeCloseTo(300, 3);
    // Restoring from the JSON form continues identically.
    const copy = new RunningStats(3, stats.toJSON());
    stats.update([1, 2, 3], 1);
    copy.update([1, 2, 3], 1);
    expect(copy.toJSON()).toEqual(stats.toJSON());
  });
});
