import { describe, expect, it } from "vitest";
import { constantAgent, randomAgent, starterRuleAgent } from "../../agents/baselines.js";
import { PropAmmEnv } from "../../gym/env.js";

const CFG = { opponents: ["starter"], decisionInterval: 0, sim: { steps: 800, epochLen: 200 } };

/** spec §5's fee rule, from the features the agent saw (written out independently). */
function starterFees(sigmaHat: number, flowEma: number, side: 0 | 1 | null): [number, number] {
  const base = 30 + Math.min(200, sigmaHat * 1e6);
  const flow = flowEma < 0.25 ? -10 : flowEma > 0.7 ? 10 : 0;
  const dir = side === null ? [0, 0] : side === 0 ? [-5, 5] : [5, -5];
  return [Math.max(5, base + flow + dir[0]), Math.max(5, base + flow + dir[1])];
}

describe("baseline agents", () => {
  it("the starter-rule agent sets the spec §5 fees from each decision's features", () => {
    const env = new PropAmmEnv(CFG);
    const agent = starterRuleAgent();
    let { observation, info } = env.reset({ seed: 5 });
    let checked = 0;
    for (;;) {
      const expected = starterFees(info.features.sigmaHat, info.features.flowEma, info.tradeSide);
      const r = env.step(agent.act(observation, info));
      // The action travels through [-1, 1] and back: equal up to that rounding.
      expect(r.info.feesBps[0]).toBeCloseTo(expected[0], 6);
      expect(r.info.feesBps[1]).toBeCloseTo(expected[1], 6);
      checked++;
      observation = r.observation;
      info = r.info;
      if (r.terminated) break;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("the constant agent holds its fee and the random agent stays inside the action space", () => {
    const env = new PropAmmEnv(CFG);
    const constant = constantAgent(40);
    const random = randomAgent(3);
    let { observation, info } = env.reset({ seed: 2 });
    const r = env.step(constant.act(observation, info));
    expect(r.info.feesBps[0]).toBeCloseTo(40, 9);
    expect(r.info.feesBps[1]).toBeCloseTo(40, 9);
    observation = r.observation;
    info = r.info;
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const a = random.act(observation, info);
      expect(env.actionSpace.contains(a)).toBe(true);
      seen.add(a[0]);
    }
    expect(seen.size).toBe(50);
  });
});
