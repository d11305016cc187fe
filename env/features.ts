/**
 * The feature updates shared by the starter, the agent pool and exported policies (SPEC §5):
 * volatility EMA of log spot changes between trades, EMA of flow captured, and a trade count.
 * They run in afterSwap, so a deployed strategy can compute exactly what the agent observed.
 */
import { detLog } from "./detmath.js";
import type { AfterSwapEvent } from "./strategy.js";
import { SLOT, viewReadF64, viewReadU64, viewWriteF64, viewWriteU64 } from "./storage.js";

export const INITIAL_VOL = 0.003;
export const INITIAL_FLOW_EMA = 0.5;

export function updateFeatures(v: DataView, ev: AfterSwapEvent): void {
  const spot = ev.reserveY / ev.reserveX;
  let lastSpot = viewReadF64(v, SLOT.lastSpot);
  let vol = viewReadF64(v, SLOT.volatility);
  let flowEma = viewReadF64(v, SLOT.flowEma);
  if (lastSpot === 0) {
    // First trade of the simulation (storage starts zeroed).
    lastSpot = spot;
    vol = INITIAL_VOL;
    flowEma = INITIAL_FLOW_EMA;
  }
  // detLog, not Math.log: an exported Rust policy computes the same bits (env/detmath.ts).
  vol = 0.05 * Math.abs(detLog(spot / lastSpot)) + 0.95 * vol;
  flowEma = 0.1 * ev.flowCaptured + 0.9 * flowEma;
  viewWriteF64(v, SLOT.volatility, vol);
  viewWriteF64(v, SLOT.flowEma, flowEma);
  viewWriteF64(v, SLOT.lastSpot, spot);
  viewWriteU64(v, SLOT.tradesThisEpoch, viewReadU64(v, SLOT.tradesThisEpoch) + 1);
}
