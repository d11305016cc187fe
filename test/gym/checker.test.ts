/**
 * Wrappers against what they promise (computed independently from the unwrapped env on the same
 * seed), and the env checker against envs broken on purpose, one fault each.
 */
import { describe, expect, it } from "vitest";
import { PropAmmEnv, type StepResult } from "../../gym/env.js";
import { checkEnv, assertValidEnv, EnvCheckError } from "../../gym/checker.js";
import {
  ClipAction,
  FeeBpsAction,
  RecordEpisodeStatistics,
  RescaleAction,
  ScaleReward,
  Wrapper,
} from "../../gym/wrappers.js";

const SHORT = { opponents: ["starter"], sim: { steps: 1500 } };

function episode(
  env: { reset(a: { seed: number }): unknown; step(a: number[]): StepResult },
  seed: number,
  action: number[],
) {
  env.reset({ seed });
  const out: StepResult[] = [];
  for (;;) {
    const r = env.step(action);
    out.push({ ...r, observation: Float32Array.from(r.observation), info: { ...r.info, episode: undefined } });
    if (r.terminated) return out;
  }
}

describe("wrappers", () => {
  it("ClipAction: an action beyond the bounds acts as the bound", () => {
    const clipped = episode(new ClipAction(new PropAmmEnv(SHORT)), 3, [5, -7]);
    const atBound = episode(new PropAmmEnv(SHORT), 3, [1, -1]);
    expect(clipped).toEqual(atBound);
    expect(clipped[0].info.feesBps).toEqual([250, 0]);
  });

  it("RescaleAction: [0, 1] maps linearly onto [-1, 1] (0.5 -> the middle fee)", () => {
    const env = new RescaleAction(new PropAmmEnv(SHORT), [0, 0], [1, 1]);
    expect(Array.from(env.actionSpace.low)).toEqual([0, 0]);
    const r = episode(env, 4, [0.5, 0.25]);
    expect(r[0].info.feesBps).toEqual([125, 62.5]);
    expect(r).toEqual(episode(new PropAmmEnv(SHORT), 4, [0, -0.5]));
  });

  it("FeeBpsAction: fees in bps reach the pool unchanged, as stepFees does", () => {
    const wrapped = episode(new FeeBpsAction(new PropAmmEnv(SHORT)), 5, [30, 45]);
    const env = new PropAmmEnv(SHORT);
    env.reset({ seed: 5 });
    const direct: StepResult[] = [];
    for (;;) {
      const r = env.stepFees(30, 45);
      direct.push({ ...r, observation: Float32Array.from(r.observation), info: { ...r.info, episode: undefined } });
      if (r.terminated) break;
    }
    expect(wrapped).toEqual(direct);
    expect(wrapped[0].info.feesBps).toEqual([30, 45]);
  });

  it("ScaleReward multiplies each reward; RecordEpisodeStatistics sums them and counts the steps", () => {
    const plain = episode(new PropAmmEnv(SHORT), 6, [-0.5, -0.4]);
    const scaled = episode(new RecordEpisodeStatistics(new ScaleReward(new PropAmmEnv(SHORT), 3)), 6, [-0.5, -0.4]);
    expect(scaled.map((r) => r.reward)).toEqual(plain.map((r) => r.reward * 3));
    const last = scaled[scaled.length - 1].info as { episodeStats?: { return: number; length: number } };
    let sum = 0;
    for (const r of scaled) sum += r.reward;
    expect(last.episodeStats).toEqual({ return: sum, length: plain.length });
    expect(scaled.slice(0, -1).every((r) => !("episodeStats" in r.info))).toBe(true);
  });

  it("reject bad bounds and bad actions with a message naming them", () => {
    expect(() => new RescaleAction(new PropAmmEnv(SHORT), [0, 1], [1, 1])).toThrow(/high\[1\] must exceed low\[1\]/);
    expect(() => new ScaleReward(new PropAmmEnv(SHORT), 0)).toThrow(/scale/);
    const env = new ClipAction(new PropAmmEnv(SHORT));
    env.reset({ seed: 1 });
    expect(() => env.step([0])).toThrow(/2 values/);
    expect(() => env.step([0, Number.NaN])).toThrow(/action\[1\]/);
  });
});

describe("checkEnv", () => {
  it("passes PropAmmEnv and wrapper stacks", () => {
    expect(checkEnv(new PropAmmEnv(SHORT), { steps: 60 })).toEqual([]);
    expect(checkEnv(new ClipAction(new RescaleAction(new PropAmmEnv(SHORT), [0, 0], [1, 1])))).toEqual([]);
    expect(checkEnv(new RecordEpisodeStatistics(new FeeBpsAction(new PropAmmEnv(SHORT))))).toEqual([]);
    expect(() => assertValidEnv(new PropAmmEnv(SHORT))).not.toThrow();
  });

  class ObservationOutside extends Wrapper {
    override step(a: ArrayLike<number>): StepResult {
      const r = this.env.step(a);
      r.observation[2] = 1.5;
      return r;
    }
  }
  class NaNReward extends Wrapper {
    override step(a: ArrayLike<number>): StepResult {
      const r = this.env.step(a);
      r.reward = Number.NaN;
      return r;
    }
  }
  class Unseeded extends Wrapper {
    private calls = 0;
    override step(a: ArrayLike<number>): StepResult {
      const r = this.env.step(a);
      r.reward += ++this.calls * 1e-9;
      return r;
    }
  }
  class SwallowsBadActions extends Wrapper {
    override step(a: ArrayLike<number>): StepResult {
      return this.env.step(a.length === 2 ? Array.from(a, (v) => (Number.isFinite(v) ? v : 0)) : a);
    }
  }
  class AcceptsNegativeSeed extends Wrapper {
    override reset(args?: { seed?: number }) {
      return this.env.reset({ seed: Math.abs(args?.seed ?? 0) });
    }
  }

  it.each([
    ["an observation outside its space", ObservationOutside, /step\(\): observation .* outside the observation space/],
    ["a NaN reward", NaNReward, /reward NaN is not a finite number/],
    ["runs that differ on one seed", Unseeded, /two runs from reset\(\{ seed: 0 \}\) with the same actions differ/],
    ["a NaN action accepted", SwallowsBadActions, /step\(\) accepted a NaN action/],
    ["a negative seed accepted", AcceptsNegativeSeed, /reset\(\) accepted the seed -1/],
  ])("names %s", (_what, Broken, message) => {
    const env = new Broken(new PropAmmEnv(SHORT));
    const problems = checkEnv(env, { steps: 20 });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(() => assertValidEnv(env, { steps: 20 })).toThrow(EnvCheckError);
  });
});
