/**
 * The feature updates shared by the starter, the agent pool and exported policies (spec §5):
 * volatility EMA of log spot changes between trades, EMA of flow captured, and a trade count.
 * They run in afterSwap, so a deployed strategy can compute exactly what the agent observed.
 */
import { detLog } from "./detmath.js";
import { AGENT_SLOT, SLOT, viewReadF64, viewReadU64, viewWriteF64, viewWriteU64 } from "./slots.js";

export const INITIAL_VOL = 0.003;
export const INITIAL_FLOW_EMA = 0.5;

/** What the feature updates read from an after-swap event. */
export interface TradeFeatureEvent {
  reserveX: number;
  reserveY: number;
  flowCaptured: number;
}

const TWO_64 = 18446744073709551616;

/**
 * An amount as the native ABI carries it (spec §3.4): floor(v * 1e9) nano, read back as
 * nano / 1e9 (NaN or v <= 0 -> 0, overflow -> 2^64 - 1).
 */
export function wireAmount(v: number): number {
  if (!(v > 0)) return 0;
  const scaled = Math.floor(v * 1e9);
  return (scaled < TWO_64 ? scaled : TWO_64) / 1e9;
}

/**
 * The features see the trade as the native ABI carries it (reserves in nano, flow as f32), as
 * the seed's native starter does, so that an exported Rust policy, which sees only the wire,
 * computes the same bits as the env and the JavaScript export.
 */
export function updateFeatures(v: DataView, ev: TradeFeatureEvent): void {
  const spot = wireAmount(ev.reserveY) / wireAmount(ev.reserveX);
  let lastSpot = viewReadF64(v, SLOT.lastSpot);
  let vol = viewReadF64(v, SLOT.volatility);
  let flowEma = viewReadF64(v, SLOT.flowEma);
  if (lastSpot === 0) {
    // First trade of the simulation (storage starts zeroed).
    lastSpot = spot;
    vol = INITIAL_VOL;
    flowEma = INITIAL_FLOW_EMA;
  }
  // detLog, not Math.log: an exported Rust policy computes the same bits (runtime/detmath.ts).
  vol = 0.05 * Math.abs(detLog(spot / lastSpot)) + 0.95 * vol;
  flowEma = 0.1 * Math.fround(ev.flowCaptured) + 0.9 * flowEma;
  viewWriteF64(v, SLOT.volatility, vol);
  viewWriteF64(v, SLOT.flowEma, flowEma);
  viewWriteF64(v, SLOT.lastSpot, spot);
  viewWriteU64(v, SLOT.tradesThisEpoch, viewReadU64(v, SLOT.tradesThisEpoch) + 1);
}

/** The raw features the policy observes (spec §6), read from storage. */
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

/** The agent pool's features from its storage; `fallback` stands in for what no event has reported yet. */
export function viewReadFeatures(v: DataView, fallback: AgentFeatures): AgentFeatures {
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
