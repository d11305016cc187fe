/**
 * The one episode loop (training/rollout.ts) against the env stepped by hand: the same episodes,
 * reward for reward, and the totals each caller reads (return, edges, decisions, observation
 * moments) equal to sums taken independently over the hand-stepped trajectory.
 */
import { describe, expect, it } from "vitest";
import { constantAgent } from "../../agents/baselines.js";
import { MlpPolicy, parameterCount, specFromFlat } from "../../agents/mlp.js";
import { RandomStream } from "../../env/rng.js";
import { type EnvConfig, PropAmmEnv, type StepInfo } from "../../gym/env.js";
import { OBS_SIZE } from "../../training/defaults.js";
import { evaluateAgent, rollout, type RolloutTask, runEpisode } from "../../training/rollout.js";

const CONFIG: Partial<EnvConfig> = { opponents: ["starter"], sim: { steps: 600, epochLen: 200 } };
const SEEDS = [11, 12, 13];

interface HandEpisode {
  rewards: number[];
  observations: Float32Array[];
  last: StepInfo;
}

/** The episode stepped directly through reset/step, recording everything. */
function byHand(env: PropAmmEnv, act: (obs: Float32Array) => ArrayLike<number>, seed: number): HandEpisode {
  let { observation, info } = env.reset({ seed });
  const rewards: number[] = [];
  const observations: Float32Array[] = [];
  let done = false;
  while (!done) {
    observations.push(observation.slice());
    const r = env.step(Array.from(act(observation)));
    rewards.push(r.reward);
    observation = r.observation;
    info = r.info;
    done = r.terminated || r.truncated;
  }
  return { rewards, observations, last: info };
}

/** A sequential sum, the order the loop adds in. */
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe("runEpisode", () => {
  it("plays the same episode as reset/step by hand and reports its totals", () => {
    const agent = constantAgent(60);
    const env = new PropAmmEnv(CONFIG);
    for (const seed of SEEDS) {
      const hand = byHand(env, (o) => agent.act(o, undefined as unknown as StepInfo), seed);
      const seen: number[] = [];
      const e = runEpisode(env, agent, seed, (r) => seen.push(r));
      expect(seen).toEqual(hand.rewards);
      expect(hand.rewards.length).toBeGreaterThan(2);
      expect(e).toEqual({
        seed,
        return: sum(hand.rewards),
        agentEdge: hand.last.agentEdge,
        normalizerEdge: hand.last.normalizerEdge,
        finalWeight: hand.last.capitalWeight,
        decisions: hand.rewards.length,
      });
    }
  });

  it("hands the agent each observation and info before the step they decide", () => {
    const env = new PropAmmEnv(CONFIG);
    const hand = byHand(env, () => [0, 0], 21);
    const observed: Float32Array[] = [];
    const infos: StepInfo[] = [];
    runEpisode(env, { name: "spy", act: (o, info) => (observed.push(o.slice()), infos.push(info), [0, 0]) }, 21);
    expect(observed).toEqual(hand.observations);
    expect(infos).toHaveLength(hand.observations.length);
    for (const info of infos) expect(typeof info.agentEdge).toBe("number");
  });

  it("evaluateAgent: one fresh env, the seeds in order", () => {
    const agent = constantAgent(45);
    const got = evaluateAgent(CONFIG, agent, SEEDS);
    const env = new PropAmmEnv(CONFIG);
    expect(got.map((e) => e.seed)).toEqual(SEEDS);
    got.forEach((e, i) =>
      expect(e.return).toBe(sum(byHand(env, (o) => agent.act(o, undefined as unknown as StepInfo), SEEDS[i]).rewards)),
    );
  });
});

describe("rollout (an ES task: a deterministic MLP on common seeds)", () => {
  it("returns, edges, decisions and the observation moments of the hand-stepped episodes", () => {
    const sizes = [OBS_SIZE, 8, 2];
    const rng = new RandomStream("rollout-test");
    const params = Float32Array.from({ length: parameterCount(sizes) }, () => rng.normal() * 0.5);
    const obsNorm = { mean: [1, 0.5, 0.5, 0.5, 0.1], var: [4, 0.1, 0.05, 0.08, 0.01], count: 50 };
    const task: RolloutTask = { sizes, activation: "tanh", params, obsNorm, seeds: SEEDS };
    const env = new PropAmmEnv(CONFIG);
    const result = rollout(env, task);

    const policy = new MlpPolicy(specFromFlat(sizes, "tanh", params, obsNorm));
    const hands = SEEDS.map((s) => byHand(env, (o) => policy.act(o), s));
    const returns = hands.map((h) => sum(h.rewards));
    expect(result.returns).toEqual(returns);
    expect(result.meanReturn).toBe(sum(returns) / returns.length);
    expect(result.agentEdges).toEqual(hands.map((h) => h.last.agentEdge));
    expect(result.normalizerEdges).toEqual(hands.map((h) => h.last.normalizerEdge));
    expect(result.decisions).toBe(sum(hands.map((h) => h.rewards.length)));
    const all = hands.flatMap((h) => h.observations);
    for (let i = 0; i < OBS_SIZE; i++) {
      expect(result.obsSum[i]).toBe(sum(all.map((o) => o[i])));
      expect(result.obsSumSq[i]).toBe(sum(all.map((o) => o[i] * o[i])));
    }
    // The policy acted: the fees vary with the observation, so this is not a constant agent.
    const fees = new Set(all.map((o) => policy.act(o)[0]));
    expect(fees.size).toBeGreaterThan(1);
  });
});
