/**
 * The agent pool (spec §5/§6): the gym's side of runtime/schedule.ts, the hooks an exported
 * policy runs too. At a decision the hook calls `decide`, which in the gym pauses the
 * simulation until the agent's action has been written to storage.
 */
import {
  type AgentFeatures,
  type ExtendedFeatures,
  viewReadExtended,
  viewReadFeatures,
  viewReadStepVol,
} from "../../runtime/features.js";
import { type DecisionKind, agentHooks, writeAgentFees } from "../../runtime/schedule.js";
import type { AfterSwapEvent, Strategy } from "../strategy.js";

export { AGENT_SLOT } from "../../runtime/slots.js";
export {
  type AgentFeatures,
  type ExtendedFeatures,
  INITIAL_STEP_VOL,
  initialFeatures,
} from "../../runtime/features.js";
export type { DecisionKind } from "../../runtime/schedule.js";

export const AGENT_NAME = "Agent";

function view(storage: Uint8Array): DataView {
  return new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
}

/** Writes a decision's fees (bps, stored as u64 WAD) and marks the fee slots as set. */
export function setAgentFees(storage: Uint8Array, fee0Bps: number, fee1Bps: number): void {
  writeAgentFees(view(storage), fee0Bps, fee1Bps);
}

export function readFeatures(storage: Uint8Array, fallback: AgentFeatures): AgentFeatures {
  return viewReadFeatures(view(storage), fallback);
}

/** The per-step volatility feature (spec §6.3) from the agent pool's storage; meaningful when the pool keeps it. */
export function readStepVol(storage: Uint8Array): number {
  return viewReadStepVol(view(storage));
}

/** The extended features (spec §6.3) from the agent pool's storage; meaningful when the pool keeps them. */
export function readExtendedFeatures(storage: Uint8Array): ExtendedFeatures {
  return viewReadExtended(view(storage));
}

export interface AgentOptions {
  decisionInterval: number;
  epochLen: number;
  /**
   * Fees (bps) in force before the first decision writes storage: the reset decision of a
   * deployed policy, which has no hook to run before the first quote. The gym writes the
   * reset action into storage itself and leaves this unset (0 bps until then, never quoted).
   */
  initialFeesBps?: [number, number];
  /** Keep the extended features in storage (spec §6.3; default false: the seed observation). */
  extended?: boolean;
  /** Keep the per-step volatility feature in storage (spec §6.3; the "seed-vol" observation). */
  stepVol?: boolean;
  /** Called inside the hook at each decision event (after the features are updated). */
  decide: (kind: DecisionKind, simStep: number, storage: Uint8Array, event?: AfterSwapEvent) => void;
  name?: string;
}

export function agentPool(opts: AgentOptions): Strategy {
  return agentHooks<AfterSwapEvent>({
    name: opts.name ?? AGENT_NAME,
    decisionInterval: opts.decisionInterval,
    epochLen: opts.epochLen,
    initialFeesBps: opts.initialFeesBps ?? null,
    extended: opts.extended ?? false,
    stepVol: opts.stepVol ?? false,
    decide: (kind, simStep, storage, _view, event) => opts.decide(kind, simStep, storage, event),
  });
}
