/**
 * A trained policy deployed as the agent pool (spec §6): the hooks of runtime/schedule.ts whose
 * decisions are the deterministic MLP policy, computed inside them. `propamm eval` runs this for
 * a checkpoint (agents/policy-strategy.ts) and `propamm export` inlines it, so both give exactly
 * the env's results for the same policy and seeds.
 */
import {
  type AgentFeatures,
  type ExtendedFeatures,
  initialFeatures,
  viewReadExtended,
  viewReadFeatures,
  viewReadStepVol,
  INITIAL_STEP_VOL,
} from "./features.js";
import { type ObservationKind, OBSERVATION_SIZE, actionToFeeBps, observationOfKind } from "./mapping.js";
import { type MlpWeights, mlpForward } from "./mlp.js";
import { type AgentHooks, type AgentSwapEvent, agentHooks, writeAgentFees } from "./schedule.js";

/** A policy and what deploying it needs from its training configuration. */
export interface PolicyDeployment {
  name: string;
  mlp: MlpWeights;
  /** Minimum steps between two afterSwap decisions. */
  decisionInterval: number;
  /** The epoch length the policy was trained with (it scales the epoch-step feature). */
  trainEpochLen: number;
  /** The action range [-1, 1] maps linearly onto [feeMinBps, feeMaxBps]. */
  feeMinBps: number;
  feeMaxBps: number;
  /** The observation the policy was trained on (spec §6.3). */
  observation: ObservationKind;
}

/** The extended features before any hook ran: what a pool's zeroed storage reads as. */
const INITIAL_EXTENDED: ExtendedFeatures = viewReadExtended(new DataView(new ArrayBuffer(1024)));

/**
 * The policy's fees (bps) for some features (`extended` is read only by a policy on the
 * extended observation, `stepVol` only on "seed-vol"); obs and action are scratch buffers.
 */
export function policyFees(
  p: PolicyDeployment,
  features: AgentFeatures,
  extended: ExtendedFeatures,
  stepVol: number,
  obs: Float32Array,
  action: Float64Array,
): [number, number] {
  observationOfKind(p.observation, features, extended, stepVol, p.trainEpochLen, obs);
  mlpForward(p.mlp, obs, action);
  return [actionToFeeBps(action[0], p.feeMinBps, p.feeMaxBps), actionToFeeBps(action[1], p.feeMinBps, p.feeMaxBps)];
}

/** The agent pool deciding with the policy, in a simulation of `nStrategies` strategies and epochs of `epochLen`. */
export function policyAgent(p: PolicyDeployment, nStrategies: number, epochLen: number): AgentHooks<AgentSwapEvent> {
  const obs = new Float32Array(OBSERVATION_SIZE[p.observation]);
  const action = new Float64Array(2);
  const fallback = initialFeatures(nStrategies);
  return agentHooks({
    name: p.name,
    decisionInterval: p.decisionInterval,
    epochLen,
    // The reset decision: no hook runs before the first quote, so its fees are kept in the
    // hooks (as they would read back from storage) until the first hook writes them.
    initialFeesBps: policyFees(p, fallback, INITIAL_EXTENDED, INITIAL_STEP_VOL, obs, action),
    extended: p.observation === "extended",
    stepVol: p.observation === "seed-vol",
    decide: (_kind, _step, _storage, v) => {
      const extended = p.observation === "extended" ? viewReadExtended(v) : INITIAL_EXTENDED;
      const stepVol = p.observation === "seed-vol" ? viewReadStepVol(v) : INITIAL_STEP_VOL;
      const [f0, f1] = policyFees(p, viewReadFeatures(v, fallback), extended, stepVol, obs, action);
      writeAgentFees(v, f0, f1);
    },
  });
}
