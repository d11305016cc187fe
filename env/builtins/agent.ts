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
import { SLOT, StorageViews, viewReadF64, viewReadFeeBps, viewWriteF64, viewWriteU64 } from "../storage.js";

export const AGENT_NAME = "Agent";

/** Storage slots the agent pool adds to the starter's convention. */
export const AGENT_SLOT = {
  /** Step of the last decision (f64). */
  lastDecisionStep: 8,
  /** Epoch step at the last event (f64): 0 right after an epoch boundary. */
  epochStep: 9,
  /** Number of pools incl. the normalizer, as the events report it (f64). */
  nPools: 10,
} as const;

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
  /** Called inside the hook at each decision event (after the features are updated). */
  decide: (kind: DecisionKind, simStep: number, storage: Uint8Array, event?: AfterSwapEvent) => void;
  name?: string;
}

export function agentPool(opts: AgentOptions): Strategy {
  const hookViews = new StorageViews();
  const quoteViews = new StorageViews();
  const interval = opts.decisionInterval;
  return {
    name: opts.name ?? AGENT_NAME,

    computeSwap(side: Side, input, rx, ry, storage) {
      const v = quoteViews.of(storage);
      const gi = (1 - viewReadFeeBps(v, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad) / 10000) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },

    constantProductFees(storage, out) {
      const v = quoteViews.of(storage);
      out[0] = viewReadFeeBps(v, SLOT.fee0Wad) / 10000;
      out[1] = viewReadFeeBps(v, SLOT.fee1Wad) / 10000;
    },

    afterSwap(ev: AfterSwapEvent, storage) {
      const v = hookViews.of(storage);
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
