/**
 * A trained policy as a strategy: runtime/policy.ts (the agent pool's storage features and
 * decision schedule, deciding with the deterministic MLP policy inside the hooks) for a
 * checkpoint. This is what `propamm eval` runs and what `propamm export` writes out, and it
 * gives exactly the env's results for the same policy and seeds.
 */
import { policyAgent } from "../runtime/policy.js";
import type { StrategySource } from "../env/simulation.js";
import type { PolicyMeta } from "./checkpoint.js";
import { MlpPolicy, type PolicySpec } from "./mlp.js";

export function policyStrategy(spec: PolicySpec, meta: PolicyMeta, name: string): StrategySource {
  return (ctx) => {
    // MlpPolicy checks the network's shapes.
    const mlp = new MlpPolicy(spec).weights;
    if (ctx.config.epochLen !== meta.epochLen) {
      // The epoch-step feature is scaled by the training epoch length; say so rather than drift silently.
      process.emitWarning(
        `policy '${name}' was trained with epochLen ${meta.epochLen}, this simulation uses ${ctx.config.epochLen}`,
      );
    }
    const deployment = {
      name,
      mlp,
      decisionInterval: meta.decisionInterval,
      trainEpochLen: meta.epochLen,
      feeMinBps: meta.feeMinBps,
      feeMaxBps: meta.feeMaxBps,
      observation: meta.observation ?? "seed",
    };
    return policyAgent(deployment, ctx.nStrategies, ctx.config.epochLen);
  };
}
