/**
 * The agent pool's hooks (spec §5/§6): constant product whose side fees are read from storage
 * slots 0/1, the starter's feature updates, and a decision schedule kept in storage, so that a
 * strategy which only runs inside hooks (an exported policy) follows exactly the env's schedule:
 * a decision at reset, in afterSwap once simStep - lastDecisionStep >= decisionInterval, and at
 * every epoch boundary. At a decision the hook calls `decide`, which writes the new fees
 * (in the gym it pauses the simulation until the agent's action is in storage).
 */
import {
  type ExtendedTradeEvent,
  INITIAL_VOL,
  updateExtendedEpoch,
  updateExtendedFeatures,
  updateFeatures,
  updateStepVol,
} from "./features.js";
import {
  AGENT_SLOT,
  EXT_SLOT,
  SLOT,
  StorageViews,
  viewReadF64,
  viewReadFeeBps,
  viewReadU64,
  viewWriteF64,
  viewWriteFeeWad,
  viewWriteU64,
} from "./slots.js";

export type DecisionKind = "reset" | "swap" | "epoch";

/** What the agent pool reads from an after-swap event. */
export interface AgentSwapEvent extends ExtendedTradeEvent {
  epochStep: number;
  nStrategies: number;
  capitalWeight: number;
}

/** What the agent pool reads from an epoch-boundary event. */
export interface AgentEpochEvent {
  epochNumber: number;
  epochEdge: number;
  capitalWeight: number;
}

/** The agent pool as a strategy (spec §3): a curve and two hooks. */
export interface AgentHooks<E extends AgentSwapEvent> {
  readonly name: string;
  computeSwap(side: 0 | 1, input: number, reserveX: number, reserveY: number, storage: Uint8Array): number;
  constantProductFees(storage: Uint8Array, out: Float64Array): void;
  afterSwap(event: E, storage: Uint8Array): void;
  onEpochBoundary(event: AgentEpochEvent, storage: Uint8Array): void;
}

export interface AgentHookOptions<E extends AgentSwapEvent> {
  name: string;
  decisionInterval: number;
  /** The simulation's epoch length: the boundary decision's step derives from it. */
  epochLen: number;
  /**
   * Fees (bps) in force until a hook writes the fee slots: the reset decision of a deployed
   * policy, which has no hook to run before the first quote. Null: the caller writes the
   * reset decision into storage itself (the gym), and the fee slots are always in force.
   */
  initialFeesBps: [number, number] | null;
  /**
   * Keep the extended features (spec §6.3) in storage too. Off, the pool's storage is exactly
   * what it was before they existed (a policy on the seed observation writes nothing more).
   */
  extended: boolean;
  /** Keep the per-step volatility feature (spec §6.3, the "seed-vol" observation) in storage too. */
  stepVol: boolean;
  /** Called inside the hook at each decision event, after the features are updated. */
  decide(kind: DecisionKind, simStep: number, storage: Uint8Array, view: DataView, event: E | undefined): void;
}

/** Writes a decision's fees (bps, stored as u64 WAD) and marks the fee slots as set. */
export function writeAgentFees(v: DataView, fee0Bps: number, fee1Bps: number): void {
  viewWriteFeeWad(v, SLOT.fee0Wad, fee0Bps);
  viewWriteFeeWad(v, SLOT.fee1Wad, fee1Bps);
  v.setBigUint64(AGENT_SLOT.feesSet * 8, BigInt(1), true);
}

/** Fee fractions as fees written in bps read back from their u64 WAD slots. */
export function storedFeeFractions(bps: [number, number]): [number, number] {
  const v = new DataView(new ArrayBuffer(16));
  viewWriteFeeWad(v, 0, bps[0]);
  viewWriteFeeWad(v, 1, bps[1]);
  return [viewReadFeeBps(v, 0) / 10000, viewReadFeeBps(v, 1) / 10000];
}

export function agentHooks<E extends AgentSwapEvent>(opts: AgentHookOptions<E>): AgentHooks<E> {
  const hookViews = new StorageViews();
  const quoteViews = new StorageViews();
  const interval = opts.decisionInterval;
  const extended = opts.extended;
  const stepVol = opts.stepVol;
  const initialBps = opts.initialFeesBps;
  // The initial fees exactly as they would read back from storage (u64 WAD, floored).
  const initial = initialBps === null ? null : storedFeeFractions(initialBps);
  const feesSet = (v: DataView): boolean => viewReadU64(v, AGENT_SLOT.feesSet) !== 0;
  // Without initial fees the fee slots are always in force (the caller writes them).
  const fee = (v: DataView, side: 0 | 1): number =>
    initial === null || feesSet(v)
      ? viewReadFeeBps(v, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad) / 10000
      : initial[side];
  const materialise = (v: DataView): void => {
    if (initialBps !== null && !feesSet(v)) writeAgentFees(v, initialBps[0], initialBps[1]);
  };
  return {
    name: opts.name,

    // Constant product with the fee on the input, the fee read from storage.
    computeSwap(side, input, rx, ry, storage) {
      const gi = (1 - fee(quoteViews.of(storage), side)) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },

    // Declares the curve, so the engine prices the pool in closed form.
    constantProductFees(storage, out) {
      const v = quoteViews.of(storage);
      out[0] = fee(v, 0);
      out[1] = fee(v, 1);
    },

    afterSwap(ev, storage) {
      const v = hookViews.of(storage);
      materialise(v);
      // Before updateFeatures, which overwrites the previous trade's spot it reads.
      if (stepVol) updateStepVol(v, ev);
      updateFeatures(v, ev);
      // The capital weight as the wire carries it (f32, spec §3.4), as an exported Rust policy reads it.
      viewWriteF64(v, SLOT.capitalWeight, Math.fround(ev.capitalWeight));
      viewWriteF64(v, AGENT_SLOT.epochStep, ev.epochStep);
      viewWriteF64(v, AGENT_SLOT.nPools, ev.nStrategies);
      if (extended) updateExtendedFeatures(v, ev);
      const last = viewReadF64(v, AGENT_SLOT.lastDecisionStep);
      if (ev.simStep - last >= interval) {
        if (extended) viewWriteF64(v, EXT_SLOT.prevDecisionStep, last);
        viewWriteF64(v, AGENT_SLOT.lastDecisionStep, ev.simStep);
        opts.decide("swap", ev.simStep, storage, v, ev);
      }
    },

    onEpochBoundary(ev, storage) {
      const v = hookViews.of(storage);
      materialise(v);
      // The starter's epoch updates, without its fee adjustments (the policy sets fees).
      viewWriteF64(v, SLOT.volatility, 0.5 * viewReadF64(v, SLOT.volatility) + 0.5 * INITIAL_VOL);
      viewWriteU64(v, SLOT.tradesThisEpoch, 0);
      viewWriteF64(v, SLOT.capitalWeight, Math.fround(ev.capitalWeight));
      viewWriteU64(v, SLOT.epochNumber, ev.epochNumber);
      viewWriteF64(v, AGENT_SLOT.epochStep, 0);
      if (extended) {
        updateExtendedEpoch(v, ev.epochEdge);
        viewWriteF64(v, EXT_SLOT.prevDecisionStep, viewReadF64(v, AGENT_SLOT.lastDecisionStep));
      }
      // The boundary follows the epoch's last step; the event does not carry it, the config does.
      const step = (ev.epochNumber + 1) * opts.epochLen - 1;
      viewWriteF64(v, AGENT_SLOT.lastDecisionStep, step);
      opts.decide("epoch", step, storage, v, undefined);
    },
  };
}
