/**
 * The feature updates shared by the starter, the agent pool and exported policies (spec §5):
 * volatility EMA of log spot changes between trades, EMA of flow captured, and a trade count.
 * They run in afterSwap, so a deployed strategy can compute exactly what the agent observed.
 */
import { detLog } from "./detmath.js";
import {
  AGENT_SLOT,
  EXT_SLOT,
  SLOT,
  STEP_VOL_SLOT,
  viewReadF64,
  viewReadU64,
  viewWriteF64,
  viewWriteU64,
} from "./slots.js";

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

/** The per-step volatility estimate before the pool's second trade: 20 bps per step, mid-range of the markets (spec §2.2). */
export const INITIAL_STEP_VOL = 0.002;

/** What the per-step volatility update reads from an after-swap event. */
export interface StepVolEvent extends TradeFeatureEvent {
  simStep: number;
}

/**
 * The per-step volatility feature's after-swap update (spec §6.3): an EMA of
 * |ln(spot / previous spot)| / sqrt(steps between the two trades), the estimate of
 * strategies/per-step-vol.ts. The seed's estimate (sigma_hat) leaves out the division, so a
 * pool that trades less sees larger moves and estimates more volatility; this one follows the
 * market's sigma whatever the pool's fee. Runs before updateFeatures: SLOT.lastSpot is still
 * the previous trade's spot (0 before the first trade).
 */
export function updateStepVol(v: DataView, ev: StepVolEvent): void {
  const spot = wireAmount(ev.reserveY) / wireAmount(ev.reserveX);
  const last = viewReadF64(v, SLOT.lastSpot);
  let est = INITIAL_STEP_VOL;
  if (last !== 0) {
    // Two trades in one step (an arbitrage, then a retail order) count as one step apart.
    const steps = Math.max(1, ev.simStep - viewReadF64(v, STEP_VOL_SLOT.lastTradeStep));
    est = 0.95 * viewReadF64(v, STEP_VOL_SLOT.stepVol) + (0.05 * Math.abs(detLog(spot / last))) / Math.sqrt(steps);
  }
  viewWriteF64(v, STEP_VOL_SLOT.stepVol, est);
  viewWriteF64(v, STEP_VOL_SLOT.lastTradeStep, ev.simStep);
}

/** The per-step volatility estimate at a decision (INITIAL_STEP_VOL before any trade). */
export function viewReadStepVol(v: DataView): number {
  return viewReadF64(v, SLOT.lastSpot) !== 0 ? viewReadF64(v, STEP_VOL_SLOT.stepVol) : INITIAL_STEP_VOL;
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

/** What the extended features (spec §6.3) read from an after-swap event, besides the seed's. */
export interface ExtendedTradeEvent extends TradeFeatureEvent {
  side: number;
  inputAmount: number;
  simStep: number;
  nStrategies: number;
  /** The other pools' spots in index order, normalizer last, NaN-padded to 8 (spec §3.3). */
  competingSpotPrices: ArrayLike<number>;
}

/** ln(a / b), or 0 when the ratio is not a positive finite number (a missing or degenerate spot). */
function logRatio(a: number, b: number): number {
  const r = a / b;
  return r > 0 && r < Infinity ? detLog(r) : 0;
}

/**
 * The extended features' after-swap updates. Like updateFeatures, everything is read as the
 * native ABI carries it (amounts in nano, competing spots and flow as f32), so the Rust export
 * computes the same bits.
 */
export function updateExtendedFeatures(v: DataView, ev: ExtendedTradeEvent): void {
  const rx = wireAmount(ev.reserveX);
  const ry = wireAmount(ev.reserveY);
  const spot = ry / rx;
  const flow = Math.fround(ev.flowCaptured);
  const side0 = ev.side === 0;
  viewWriteF64(v, EXT_SLOT.lastSide, side0 ? 1 : -1);
  viewWriteF64(v, EXT_SLOT.lastRetail, flow > 0 ? 1 : 0);
  // Side 0 pays Y in, side 1 pays X in.
  const reserveIn = side0 ? ry : rx;
  viewWriteF64(v, EXT_SLOT.lastSize, reserveIn > 0 ? wireAmount(ev.inputAmount) / reserveIn : 0);

  // The list holds every pool but this one, normalizer last, cut after 8 entries: the
  // normalizer is entry nStrategies - 2 if that is below 8, the strategies come before it.
  const prices = ev.competingSpotPrices;
  const listed = Math.min(8, prices.length);
  const normIndex = ev.nStrategies - 2;
  const strategies = Math.min(listed, normIndex);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < strategies; k++) {
    const p = Math.fround(prices[k]);
    // A NaN spot (padding) fails both comparisons and is skipped.
    if (p < lo) lo = p;
    if (p > hi) hi = p;
  }
  viewWriteF64(
    v,
    EXT_SLOT.spotVsNormalizer,
    normIndex >= 0 && normIndex < listed ? logRatio(spot, Math.fround(prices[normIndex])) : 0,
  );
  viewWriteF64(v, EXT_SLOT.spotVsMin, lo < Infinity ? logRatio(spot, lo) : 0);
  viewWriteF64(v, EXT_SLOT.spotVsMax, hi > -Infinity ? logRatio(spot, hi) : 0);

  const seen = viewReadF64(v, EXT_SLOT.tradesSeen);
  let ema0 = viewReadF64(v, EXT_SLOT.flowEma0);
  let ema1 = viewReadF64(v, EXT_SLOT.flowEma1);
  if (seen === 0) {
    // Both sides start from the seed's initial flow estimate, as flowEma does.
    ema0 = INITIAL_FLOW_EMA;
    ema1 = INITIAL_FLOW_EMA;
  } else {
    viewWriteF64(v, EXT_SLOT.prevTradeStep, viewReadF64(v, EXT_SLOT.lastTradeStep));
  }
  if (side0) ema0 = 0.1 * flow + 0.9 * ema0;
  else ema1 = 0.1 * flow + 0.9 * ema1;
  viewWriteF64(v, EXT_SLOT.flowEma0, ema0);
  viewWriteF64(v, EXT_SLOT.flowEma1, ema1);
  viewWriteF64(v, EXT_SLOT.lastTradeStep, ev.simStep);
  viewWriteF64(v, EXT_SLOT.tradesSeen, seen < 2 ? seen + 1 : 2);
}

/** The extended features' epoch update: the edge of the epoch just completed, exact (f64 on the wire). */
export function updateExtendedEpoch(v: DataView, epochEdge: number): void {
  viewWriteF64(v, EXT_SLOT.lastEpochEdge, epochEdge);
}

/** The extended features at a decision (spec §6.3), unscaled. */
export interface ExtendedFeatures {
  /** +1 side 0, -1 side 1, 0 before any trade. */
  lastSide: number;
  /** 1 if the last trade was retail, else 0. */
  lastRetail: number;
  /** Last trade's input / reserve of the input asset after it. */
  lastSize: number;
  /** ln(spot / normalizer spot), ln(spot / lowest and highest competing strategy spot), at the last trade. */
  spotVsNormalizer: number;
  spotVsMin: number;
  spotVsMax: number;
  /** Steps from the last trade to this decision (0 at a swap decision and before any trade). */
  stepsSinceTrade: number;
  /** Steps between the last two trades (0 until there are two). */
  tradeGap: number;
  /** Steps from the previous decision to this one (the reset decision is step 0). */
  stepsSinceDecision: number;
  /** EMA of the flow captured over side-0 and side-1 trades (0.5 before any trade). */
  flowEma0: number;
  flowEma1: number;
  /** Edge of the last completed epoch (0 during the first). */
  lastEpochEdge: number;
}

/** The extended features from an agent pool's storage, read at a decision. */
export function viewReadExtended(v: DataView): ExtendedFeatures {
  const seen = viewReadF64(v, EXT_SLOT.tradesSeen);
  const decisionStep = viewReadF64(v, AGENT_SLOT.lastDecisionStep);
  const lastTrade = viewReadF64(v, EXT_SLOT.lastTradeStep);
  return {
    lastSide: viewReadF64(v, EXT_SLOT.lastSide),
    lastRetail: viewReadF64(v, EXT_SLOT.lastRetail),
    lastSize: viewReadF64(v, EXT_SLOT.lastSize),
    spotVsNormalizer: viewReadF64(v, EXT_SLOT.spotVsNormalizer),
    spotVsMin: viewReadF64(v, EXT_SLOT.spotVsMin),
    spotVsMax: viewReadF64(v, EXT_SLOT.spotVsMax),
    stepsSinceTrade: seen > 0 ? decisionStep - lastTrade : 0,
    tradeGap: seen > 1 ? lastTrade - viewReadF64(v, EXT_SLOT.prevTradeStep) : 0,
    stepsSinceDecision: decisionStep - viewReadF64(v, EXT_SLOT.prevDecisionStep),
    flowEma0: seen > 0 ? viewReadF64(v, EXT_SLOT.flowEma0) : INITIAL_FLOW_EMA,
    flowEma1: seen > 0 ? viewReadF64(v, EXT_SLOT.flowEma1) : INITIAL_FLOW_EMA,
    lastEpochEdge: viewReadF64(v, EXT_SLOT.lastEpochEdge),
  };
}
