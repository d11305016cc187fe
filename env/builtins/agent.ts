/**
 * The agent pool (SPEC §5/§6): constant product whose side fees are read from storage slots 0/1,
 * with the starter's feature updates, and a decision schedule kept in storage so that an
 * exported strategy, which only runs inside hooks, follows exactly the same one:
 * a decision at reset, in afterSwap once simStep - lastDecisionStep >= decisionInterval, and at
 * every epoch boundary. At a decision the hook calls `decide`, which (in the gym) pauses the
 * simulation until the agent's action has been written to storage.
 */
import { INITIAL_FLOW_EMA, INITIAL_VOL, updateFeatures } from "../features.js";
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "../strategy.js";
import {
  readFeeBps,
  SLOT,
  StorageViews,
  viewReadF64,
  viewReadFeeBps,
  viewReadU64,
  viewWriteF64,
  viewWriteU64,
  writeFeeBps,
  writeU64,
} from "../storage.js";

export const AGENT_NAME = "Agent";

/** Storage slots the agent pool adds to the starter's convention. */
export const AGENT_SLOT = {
  /** Step of the last decision (f64). */
  lastDecisionStep: 8,
  /** Epoch step at the last event (f64): 0 right after an epoch boundary. */
  epochStep: 9,
  /** Number of pools incl. the normalizer, as the events report it (f64). */
  nPools: 10,
  /** 1 once a decision has written the fee slots (u64); until then the initial fees apply. */
  feesSet: 11,
} as const;

/** Writes a decision's fees (bps, stored as u64 WAD) and marks the fee slots as set. */
export function setAgentFees(storage: Uint8Array, fee0Bps: number, fee1Bps: number): void {
  writeFeeBps(storage, SLOT.fee0Wad, fee0Bps);
  writeFeeBps(storage, SLOT.fee1Wad, fee1Bps);
  writeU64(storage, AGENT_SLOT.feesSet, 1n);
}

export type DecisionKind = "reset" | "swap" | "epoch";

/** The raw features the policy observes (SPEC §6), read from storage. */
export interface AgentFeatures {
  sigmaHat: number;
  flowEma: number;
  capitalWeight: number;
  epochStep: number;
  nPools: number;
}

/** Features before any trade: the starter's initial estimates and an equal capital share. */
export function initialFeatures(nStrategies: number): AgentFeatures {
  return {
    sigmaHat: INITIAL_VOL,
    flowEma: INITIAL_FLOW_EMA,
    capitalWeight: 1 / nStrategies,
    epochStep: 0,
    nPools: nStrategies + 1,
  };
}

export function readFeatures(storage: Uint8Array, fallback: AgentFeatures): AgentFeatures {
  const v = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  const traded = viewReadF64(v, SLOT.lastSpot) !== 0;
  const pools = viewReadF64(v, AGENT_SLOT.nPools);
  return {
    sigmaHat: traded ? viewReadF64(v, SLOT.volatility) : fallback.sigmaHat,
    flowEma: traded ? viewReadF64(v, SLOT.flowEma) : fallback.flowEma,
    capitalWeight: pools > 0 ? viewReadF64(v, SLOT.capitalWeight) : fallback.capitalWeight,
    epochStep: viewReadF64(v, AGENT_SLOT.epochStep),
    nPools: pools > 0 ? pools : fallback.nPools,
  };
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
  /** Called inside the hook at each decision event (after the features are updated). */
  decide: (kind: DecisionKind, simStep: number, storage: Uint8Array, event?: AfterSwapEvent) => void;
  name?: string;
}

/** Fee fractions as a fee written in bps reads back from its u64 WAD slot. */
function storedFees(bps: [number, number]): [number, number] {
  const s = new Uint8Array(16);
  writeFeeBps(s, 0, bps[0]);
  writeFeeBps(s, 1, bps[1]);
  return [readFeeBps(s, 0) / 10000, readFeeBps(s, 1) / 10000];
}

export function agentPool(opts: AgentOptions): Strategy {
  const hookViews = new StorageViews();
  const quoteViews = new StorageViews();
  const interval = opts.decisionInterval;
  // The initial fees exactly as they would read back from storage (u64 WAD, floored).
  const initial = opts.initialFeesBps ? storedFees(opts.initialFeesBps) : null;
  const feesSet = (v: DataView): boolean => initial === null || viewReadU64(v, AGENT_SLOT.feesSet) !== 0;
  const fee = (v: DataView, side: Side): number =>
    feesSet(v) ? viewReadFeeBps(v, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad) / 10000 : initial![side];
  const materialise = (storage: Uint8Array, v: DataView): void => {
    if (!feesSet(v)) setAgentFees(storage, opts.initialFeesBps![0], opts.initialFeesBps![1]);
  };
  return {
    name: opts.name ?? AGENT_NAME,

    computeSwap(side: Side, input, rx, ry, storage) {
      const gi = (1 - fee(quoteViews.of(storage), side)) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },

    constantProductFees(storage, out) {
      const v = quoteViews.of(storage);
      out[0] = fee(v, 0);
      out[1] = fee(v, 1);
    },

    afterSwap(ev: AfterSwapEvent, storage) {
      const v = hookViews.of(storage);
      materialise(storage, v);
      updateFeatures(v, ev);
      viewWriteF64(v, SLOT.capitalWeight, ev.capitalWeight);
      viewWriteF64(v, AGENT_SLOT.epochStep, ev.epochStep);
      viewWriteF64(v, AGENT_SLOT.nPools, ev.nStrategies);
      if (ev.simStep - viewReadF64(v, AGENT_SLOT.lastDecisionStep) >= interval) {
        viewWriteF64(v, AGENT_SLOT.lastDecisionStep, ev.simStep);
        opts.decide("swap", ev.simStep, storage, ev);
      }
    },

    onEpochBoundary(ev: EpochEvent, storage) {
      const v = hookViews.of(storage);
      materialise(storage, v);
      // The starter's epoch updates, without its fee adjustments (the policy sets fees).
      viewWriteF64(v, SLOT.volatility, 0.5 * viewReadF64(v, SLOT.volatility) + 0.5 * INITIAL_VOL);
      viewWriteU64(v, SLOT.tradesThisEpoch, 0);
      viewWriteF64(v, SLOT.capitalWeight, ev.capitalWeight);
      viewWriteU64(v, SLOT.epochNumber, ev.epochNumber);
      viewWriteF64(v, AGENT_SLOT.epochStep, 0);
      // The boundary follows the epoch's last step; the event does not carry it, the config does.
      const step = (ev.epochNumber + 1) * opts.epochLen - 1;
      viewWriteF64(v, AGENT_SLOT.lastDecisionStep, step);
      opts.decide("epoch", step, storage);
    },
  };
}
