/**
 * A trained policy as a strategy: the agent pool (same storage features, same decision
 * schedule) whose decisions are the deterministic MLP policy, computed inside the hooks. This
 * is what `propamm eval` runs for a checkpoint and what `propamm export` writes out, and it
 * gives exactly the env's results for the same policy and seeds.
 */
import { agentPool, initialFeatures, readFeatures, setAgentFees } from "../env/builtins/agent.js";
import { actionToFeeBps, observationFromFeatures } from "../gym/env.js";
import type { StrategySource } from "../env/simulation.js";
import type { PolicyMeta } from "./checkpoint.js";
import { MlpPolicy, type PolicySpec } from "./mlp.js";

export function policyStrategy(spec: PolicySpec, meta: PolicyMeta, name: string): StrategySource {
  return (ctx) => {
    const policy = new MlpPolicy(spec);
    const obs = new Float32Array(5);
    const action = new Float64Array(2);
    const fallback = initialFeatures(ctx.nStrategies);
    const decide = (features = fallback): [number, number] => {
      policy.act(observationFromFeatures(features, meta.epochLen, obs), action);
      return [
        actionToFeeBps(action[0], meta.feeMinBps, meta.feeMaxBps),
        actionToFeeBps(action[1], meta.feeMinBps, meta.feeMaxBps),
      ];
    };
    if (ctx.config.epochLen !== meta.epochLen) {
      // The epoch-step feature is scaled by the training epoch length; say so rather than drift silently.
      process.emitWarning(
        `policy '${name}' was trained with epochLen ${meta.epochLen}, this simulation uses ${ctx.config.epochLen}`,
      );
    }
    return agentPool({
      name,
      decisionInterval: meta.decisionInterval,
      epochLen: ctx.config.epochLen,
      initialFeesBps: decide(),
      decide: (_kind, _step, storage) => {
        const [f0, f1] = decide(readFeatures(storage, fallback));
        setAgentFees(storage, f0, f1);
      },
    });
  };
}
