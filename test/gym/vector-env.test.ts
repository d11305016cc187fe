/**
 * VectorEnv: n PropAmmEnv copies behind batched typed arrays, with Gymnasium 1.x autoreset.
 * The reference is n single envs seeded seed + i and driven by hand under the same actions,
 * with the NEXT_STEP / SAME_STEP rules applied in the test.
 */
import { describe, expect, it } from "vitest";
import { PropAmmEnv, type StepResult } from "../../gym/env.js";
import { RandomStream } from "../../env/rng.js";
import { VectorEnv, type VectorStepResult } from "../../gym/vector-env.js";

/** Short episodes (about a dozen decisions each) so that autoresets come quickly. */
const CFG = { sim: { steps: 600, epochLen: 200 }, decisionInterval: 50 };
const OBS = 5;
const ACT = 2;

function actionStream(name: string, n: number): () => Float32Array {
  const rng = new RandomStream(name);
  // Mostly inside [-1, 1], sometimes outside (clipped by the env).
  return () => Float32Array.from({ length: n * ACT }, () => 2.4 * rng.uniform() - 1.2);
}

function row(a: Float32Array, i: number, size: number): number[] {
  return Array.from(a.subarray(i * size, (i + 1) * size));
}

function checkShapes(r: VectorStepResult, n: number): void {
  expect(r.observations).toBeInstanceOf(Float32Array);
  expect(r.observations.length).toBe(n * OBS);
  expect(r.rewards).toBeInstanceOf(Float64Array);
  expect(r.rewards.length).toBe(n);
  expect(r.terminated).toBeInstanceOf(Uint8Array);
  expect(r.terminated.length).toBe(n);
  expect(r.truncated).toBeInstanceOf(Uint8Array);
  expect(r.truncated.length).toBe(n);
  expect(r.infos.length).toBe(n);
  for (let i = 0; i < n; i++) {
    expect(r.terminated[i] === 0 || r.terminated[i] === 1).toBe(true);
    expect(r.truncated[i]).toBe(0);
  }
}

describe("VectorEnv (NEXT_STEP autoreset, the default)", () => {
  it("equals n single envs seeded seed + i under the same actions, across autoresets", () => {
    const n = 3;
    const seed = 100;
    const vec = new VectorEnv(n, CFG);
    expect(vec.autoresetMode).toBe("next_step");
    const singles = Array.from({ length: n }, () => new PropAmmEnv(CFG));
    const first = vec.reset({ seed });
    expect(first.observations).toBeInstanceOf(Float32Array);
    expect(first.observations.length).toBe(n * OBS);
    for (let i = 0; i < n; i++) {
      const s = singles[i].reset({ seed: seed + i });
      expect(row(first.observations, i, OBS)).toEqual(Array.from(s.observation));
      expect(first.infos[i].simSeed).toBe(seed + i);
    }
    const pending = [false, false, false];
    const actions = actionStream("vec-next", n);
    let autoresets = 0;
    const seedsSeen = new Set<number>();
    for (let k = 0; k < 60; k++) {
      const a = actions();
      const r = vec.step(a);
      checkShapes(r, n);
      for (let i = 0; i < n; i++) {
        const info = r.infos[i];
        if (pending[i]) {
          // The action is ignored; the env is reset (without a seed: its own stream goes on).
          const s = singles[i].reset();
          expect(row(r.observations, i, OBS)).toEqual(Array.from(s.observation));
          expect(r.rewards[i]).toBe(0);
          expect(r.terminated[i]).toBe(0);
          expect(r.truncated[i]).toBe(0);
          expect(info.autoreset).toBe(true);
          expect(info.decision).toBe("reset");
          expect(info.simSeed).toBe(s.info.simSeed);
          seedsSeen.add(info.simSeed);
          pending[i] = false;
          autoresets++;
          continue;
        }
        const s = singles[i].step(a.subarray(i * ACT, (i + 1) * ACT));
        expect(row(r.observations, i, OBS)).toEqual(Array.from(s.observation));
        expect(r.rewards[i]).toBe(s.reward);
        expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
        expect(r.truncated[i]).toBe(s.truncated ? 1 : 0);
        expect(info.autoreset).toBeUndefined();
        expect(info.simStep).toBe(s.info.simStep);
        expect(info.feesBps).toEqual(s.info.feesBps);
        if (s.terminated) {
          expect(info.episode).toBeDefined();
          pending[i] = true;
        }
      }
    }
    expect(autoresets).toBeGreaterThanOrEqual(2 * n);
    // The autoreset episodes run on fresh seeds, not the initial ones again.
    for (let i = 0; i < n; i++) expect(seedsSeen.has(seed + i)).toBe(false);
  });

  it("reset({ seed }) clears a pending autoreset", () => {
    const n = 2;
    const vec = new VectorEnv(n, CFG);
    vec.reset({ seed: 5 });
    let r: VectorStepResult;
    do r = vec.step([0, 0, 0, 0]);
    while (!r.terminated.some((t) => t === 1));
    const ended = r.terminated.indexOf(1);
    const again = vec.reset({ seed: 40 });
    const single = new PropAmmEnv(CFG);
    expect(row(again.observations, ended, OBS)).toEqual(Array.from(single.reset({ seed: 40 + ended }).observation));
    const next = vec.step([0.3, -0.3, 0.3, -0.3]);
    const s = single.step([0.3, -0.3]);
    expect(next.infos[ended].autoreset).toBeUndefined();
    expect(next.rewards[ended]).toBe(s.reward);
    expect(row(next.observations, ended, OBS)).toEqual(Array.from(s.observation));
  });
});

describe("VectorEnv (SAME_STEP autoreset)", () => {
  it("resets within the step that ended; the final observation and info travel in infos", () => {
    const n = 2;
    const seed = 30;
    const vec = new VectorEnv(n, CFG, { autoresetMode: "same_step" });
    expect(vec.autoresetMode).toBe("same_step");
    const singles = Array.from({ length: n }, () => new PropAmmEnv(CFG));
    vec.reset({ seed });
    singles.forEach((e, i) => e.reset({ seed: seed + i }));
    const actions = actionStream("vec-same", n);
    let ends = 0;
    for (let k = 0; k < 50; k++) {
      const a = actions();
      const r = vec.step(a);
      checkShapes(r, n);
      for (let i = 0; i < n; i++) {
        const info = r.infos[i];
        const s: StepResult = singles[i].step(a.subarray(i * ACT, (i + 1) * ACT));
        expect(r.rewards[i]).toBe(s.reward);
        expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
        expect(info.autoreset).toBeUndefined();
        if (!s.terminated) {
          expect(row(r.observations, i, OBS)).toEqual(Array.from(s.observation));
          expect(info.finalObservation).toBeUndefined();
          expect(info.finalInfo).toBeUndefined();
          continue;
        }
        ends++;
        const fresh = singles[i].reset();
        // The observation is the new episode's first; the finished one's last is kept aside.
        expect(row(r.observations, i, OBS)).toEqual(Array.from(fresh.observation));
        expect(info.decision).toBe("reset");
        expect(info.simSeed).toBe(fresh.info.simSeed);
        expect(info.simSeed).not.toBe(s.info.simSeed);
        expect(info.finalObservation).toBeInstanceOf(Float32Array);
        expect(Array.from(info.finalObservation!)).toEqual(Array.from(s.observation));
        expect(info.finalInfo!.decision).toBe("end");
        expect(info.finalInfo!.simSeed).toBe(s.info.simSeed);
        expect(info.finalInfo!.episode!.pools.map((p) => p.edge)).toEqual(s.info.episode!.pools.map((p) => p.edge));
      }
    }
    expect(ends).toBeGreaterThanOrEqual(2 * n);
  });
});

describe("VectorEnv: arrays, options and errors", () => {
  it("batched shapes and dtypes; every row lies in the single observation space", () => {
    const n = 4;
    const vec = new VectorEnv(n, CFG);
    expect(vec.numEnvs).toBe(n);
    expect(vec.envs.length).toBe(n);
    expect(vec.singleObservationSpace.shape).toEqual([OBS]);
    expect(vec.singleActionSpace.shape).toEqual([ACT]);
    const first = vec.reset({ seed: 1 });
    expect(first.infos.length).toBe(n);
    for (let k = 0; k < 30; k++) {
      const r = vec.step(Array.from({ length: n * ACT }, (_, j) => ((j + k) % 5) / 2 - 1));
      checkShapes(r, n);
      for (let i = 0; i < n; i++) {
        expect(vec.singleObservationSpace.contains(row(r.observations, i, OBS))).toBe(true);
        expect(Number.isFinite(r.rewards[i])).toBe(true);
      }
    }
  });

  it("reset options reach every env; unseeded resets draw a different seed per env", () => {
    const vec = new VectorEnv(3, CFG);
    vec.reset({ seed: 1, options: { market: { sigma: 0.001, normalizerFeeBps: 33 } } });
    for (const e of vec.envs) {
      expect(e.simulation!.market.sigma).toBe(0.001);
      expect(e.simulation!.market.normalizerFeeBps).toBe(33);
    }
    const seeds = vec.reset().infos.map((i) => i.simSeed);
    expect(new Set(seeds).size).toBe(3);
  });

  it("VectorEnv.create resolves the opponents once and shares them", async () => {
    const vec = await VectorEnv.create(2, { ...CFG, opponents: ["fixed:20", "starter"] });
    vec.reset({ seed: 2 });
    for (const e of vec.envs) {
      expect(e.simulation!.pools.map((p) => p.strategy.name)).toHaveLength(4);
      expect(e.simulation!.pools[1].fee0).toBeCloseTo(0.002, 12);
    }
  });

  it("errors name the problem", () => {
    const vec = new VectorEnv(2, CFG);
    expect(() => vec.step([0, 0, 0, 0])).toThrow(/reset\(\)/);
    vec.reset({ seed: 1 });
    expect(() => vec.step([0, 0, 0])).toThrow(/2 x 2 = 4 values, got 3/);
    expect(() => vec.step([0, 0, 0, 0, 0])).toThrow(/got 5/);
    expect(() => vec.step([])).toThrow(/got 0/);
    expect(() => vec.step([0, 0, NaN, 0])).toThrow(/actions\[1\]\[0\].*finite/);
    expect(() => new VectorEnv(0, CFG)).toThrow(/numEnvs/);
    expect(() => new VectorEnv(1.5, CFG)).toThrow(/numEnvs/);
    expect(() => new VectorEnv(2, CFG, { autoresetMode: "later" as "same_step" })).toThrow(/autoresetMode/);
    expect(() => new VectorEnv(2, { ...CFG, decisionInterval: -1 })).toThrow(/decisionInterval/);
    vec.close();
    expect(() => vec.step([0, 0, 0, 0])).toThrow(/reset\(\)/);
  });
});
