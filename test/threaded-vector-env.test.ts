import { afterAll, describe, expect, it } from "vitest";
import { ThreadedVectorEnv } from "../env/threaded-vector-env.js";
import { VectorEnv } from "../env/vector-env.js";

const CFG = { opponents: ["starter"], decisionInterval: 50, sim: { steps: 600, epochLen: 200 } };

describe("ThreadedVectorEnv", () => {
  const open: ThreadedVectorEnv[] = [];
  afterAll(async () => {
    await Promise.all(open.map((e) => e.close()));
  });

  it("equals a VectorEnv of the same size exactly, across autoresets, for 1 to 3 workers", async () => {
    const n = 5;
    for (const workers of [1, 2, 3]) {
      const threaded = await ThreadedVectorEnv.create(n, CFG, { workers });
      open.push(threaded);
      const plain = new VectorEnv(n, CFG);
      const a = await threaded.reset({ seed: 11 });
      const b = plain.reset({ seed: 11 });
      expect(Array.from(a.observations)).toEqual(Array.from(b.observations));
      let resets = 0;
      for (let t = 0; t < 60; t++) {
        // Actions vary by env and step, so a misplaced block would show.
        const actions = Float64Array.from({ length: 2 * n }, (_, k) => Math.sin(t * 0.7 + k) * 0.9);
        const r1 = await threaded.step(actions);
        const r2 = plain.step(actions);
        expect(Array.from(r1.observations)).toEqual(Array.from(r2.observations));
        expect(Array.from(r1.rewards)).toEqual(Array.from(r2.rewards));
        expect(Array.from(r1.terminated)).toEqual(Array.from(r2.terminated));
        expect(r1.infos.map((i) => [i.simSeed, i.simStep, i.decision])).toEqual(
          r2.infos.map((i) => [i.simSeed, i.simStep, i.decision]),
        );
        resets += r1.infos.filter((i) => (i as { autoreset?: boolean }).autoreset).length;
      }
      expect(resets).toBeGreaterThan(0); // the episodes are short enough to autoreset
    }
  });

  it("refuses bad input before any worker moves", async () => {
    const env = await ThreadedVectorEnv.create(2, CFG, { workers: 2 });
    open.push(env);
    await expect(env.step([0, 0, 0, 0])).rejects.toThrow(/reset\(\) before step/);
    await env.reset({ seed: 3 });
    await expect(env.step([0, 0, 0])).rejects.toThrow(/2 x 2 = 4 values, got 3/);
    await expect(env.step([0, 0, NaN, 0])).rejects.toThrow(/actions\[1\]\[0\] must be a finite number/);
    await expect(env.reset({ seed: -1 })).rejects.toThrow(/seed must be an integer/);
    await expect(ThreadedVectorEnv.create(0, CFG)).rejects.toThrow(/numEnvs/);
    await expect(ThreadedVectorEnv.create(2, { opponents: ["nope"] })).rejects.toThrow(/unknown strategy 'nope'/);
  });
});
