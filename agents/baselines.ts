/** Baseline agents for comparison: random fees, a constant fee, and the starter's fee rule. */
import { STARTER_VOL_SCALE } from "../env/builtins/starter.js";
import { RandomStream } from "../env/rng.js";
import type { StepInfo } from "../gym/env.js";
import { type Agent, feeToAction } from "./agent.js";

export function randomAgent(seed = 0): Agent {
  const rng = new RandomStream(`random-agent:${seed}`);
  return { name: "random", act: () => [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1] };
}

export function constantAgent(bps: number, feeMinBps = 0, feeMaxBps = 250): Agent {
  const a = feeToAction(bps, feeMinBps, feeMaxBps);
  return { name: `constant ${bps}bps`, act: () => [a, a] };
}

/**
 * The starter's fee rule (spec §5) computed from the observation's raw features at each
 * decision: base 30 + min(200, vol * volScale), flow adjustment, direction adjustment after a
 * trade. `volScale` is `starter`'s 1e4 by default; 1e6 gives `starter:seed`'s rule. It sees the
 * features only at decision events, so it approximates the starter, which re-prices after every
 * trade.
 */
export function starterRuleAgent(feeMinBps = 0, feeMaxBps = 250, volScale = STARTER_VOL_SCALE): Agent {
  return {
    name: "starter rule",
    act(_obs, info: StepInfo) {
      const f = info.features;
      const base = 30 + Math.min(200, f.sigmaHat * volScale);
      const flow = f.flowEma < 0.25 ? -10 : f.flowEma > 0.7 ? 10 : 0;
      let f0 = base + flow;
      let f1 = base + flow;
      if (info.tradeSide === 0) {
        f0 -= 5;
        f1 += 5;
      } else if (info.tradeSide === 1) {
        f0 += 5;
        f1 -= 5;
      }
      return [feeToAction(Math.max(5, f0), feeMinBps, feeMaxBps), feeToAction(Math.max(5, f1), feeMinBps, feeMaxBps)];
    },
  };
}
