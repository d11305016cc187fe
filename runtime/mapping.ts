/**
 * The policy's view of the market and its hold on it (spec §6): features -> observation
 * (scaled and clipped to the observation space, documented in docs/gym.md), action -> fee.
 */
import { detLog } from "./detmath.js";
import type { AgentFeatures, ExtendedFeatures } from "./features.js";

/** obs = [min(10, 100*sigma_hat), flow_ema, w, epoch_step/epochLen, n_pools/17]. */
export const SIGMA_OBS_SCALE = 100;
export const SIGMA_OBS_MAX = 10;
export const MAX_POOLS = 17;

/** The observation, float32 like the env's. `epochLen` is the training one (it scales the epoch step). */
export function observationFromFeatures(
  f: AgentFeatures,
  epochLen: number,
  out: Float32Array = new Float32Array(5),
): Float32Array {
  out[0] = Math.min(SIGMA_OBS_MAX, Math.max(0, f.sigmaHat * SIGMA_OBS_SCALE));
  out[1] = Math.min(1, Math.max(0, f.flowEma));
  out[2] = Math.min(1, Math.max(0, f.capitalWeight));
  out[3] = Math.min(1, Math.max(0, f.epochStep / epochLen));
  out[4] = Math.min(1, f.nPools / MAX_POOLS);
  return out;
}

/** Action in [-1, 1] -> fee in bps over [feeMin, feeMax]; finite values outside are clipped. */
export function actionToFeeBps(a: number, feeMinBps: number, feeMaxBps: number): number {
  const c = Math.min(1, Math.max(-1, a));
  return feeMinBps + ((c + 1) / 2) * (feeMaxBps - feeMinBps);
}

/**
 * Which observation a policy sees (spec §6.3): the seed's five features; those and a per-step
 * volatility estimate ("seed-vol"); or those five and the extended ones.
 */
export type ObservationKind = "seed" | "seed-vol" | "extended";
/** Observation length of each kind. */
export const OBSERVATION_SIZE: Readonly<Record<ObservationKind, number>> = { seed: 5, "seed-vol": 6, extended: 17 };

/** The per-step volatility is observed in units of 10 bps per step (x1000), clipped to 10 (1% per step). */
export const STEP_VOL_OBS_SCALE = 1000;
export const STEP_VOL_OBS_MAX = 10;

/** The "seed-vol" observation (spec §6.3): the seed's five values, then the per-step volatility. */
export function stepVolObservation(
  f: AgentFeatures,
  stepVol: number,
  epochLen: number,
  out: Float32Array = new Float32Array(6),
): Float32Array {
  observationFromFeatures(f, epochLen, out);
  out[5] = Math.min(STEP_VOL_OBS_MAX, Math.max(0, stepVol * STEP_VOL_OBS_SCALE));
  return out;
}

/** Log ratios of spots are observed in percent (x100), clipped to +-5 (5%). */
export const SPOT_RATIO_OBS_SCALE = 100;
export const SPOT_RATIO_OBS_MAX = 5;
/** Step counts between trades are observed over 100 steps, clipped to 1. */
export const TRADE_STEPS_OBS_SCALE = 100;
/** The last epoch's edge is observed over 100 (edges are tens to hundreds of Y), clipped to +-10. */
export const EPOCH_EDGE_OBS_SCALE = 100;
export const EPOCH_EDGE_OBS_MAX = 10;

function clip(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * The extended observation (spec §6.3): the seed's five values, then the extended features
 * scaled and clipped. The trade size is observed on a log scale: 1 + log10(size) / 5 in [0, 1]
 * (1e-5 of the reserve or less -> 0, the whole reserve -> 1).
 */
export function extendedObservation(
  f: AgentFeatures,
  x: ExtendedFeatures,
  epochLen: number,
  out: Float32Array = new Float32Array(17),
): Float32Array {
  observationFromFeatures(f, epochLen, out);
  out[5] = x.lastSide;
  out[6] = x.lastRetail;
  out[7] = x.lastSize > 0 ? clip(1 + detLog(x.lastSize) / Math.LN10 / 5, 0, 1) : 0;
  out[8] = clip(x.spotVsNormalizer * SPOT_RATIO_OBS_SCALE, -SPOT_RATIO_OBS_MAX, SPOT_RATIO_OBS_MAX);
  out[9] = clip(x.spotVsMin * SPOT_RATIO_OBS_SCALE, -SPOT_RATIO_OBS_MAX, SPOT_RATIO_OBS_MAX);
  out[10] = clip(x.spotVsMax * SPOT_RATIO_OBS_SCALE, -SPOT_RATIO_OBS_MAX, SPOT_RATIO_OBS_MAX);
  out[11] = clip(x.stepsSinceTrade / TRADE_STEPS_OBS_SCALE, 0, 1);
  out[12] = clip(x.tradeGap / TRADE_STEPS_OBS_SCALE, 0, 1);
  out[13] = clip(x.stepsSinceDecision / epochLen, 0, 1);
  out[14] = clip(x.flowEma0, 0, 1);
  out[15] = clip(x.flowEma1, 0, 1);
  out[16] = clip(x.lastEpochEdge / EPOCH_EDGE_OBS_SCALE, -EPOCH_EDGE_OBS_MAX, EPOCH_EDGE_OBS_MAX);
  return out;
}

/**
 * The observation of any kind into `out` (OBSERVATION_SIZE[kind] values); each kind reads only
 * its own features (`extended` for "extended", `stepVol` for "seed-vol").
 */
export function observationOfKind(
  kind: ObservationKind,
  f: AgentFeatures,
  x: ExtendedFeatures,
  stepVol: number,
  epochLen: number,
  out: Float32Array,
): Float32Array {
  if (kind === "extended") return extendedObservation(f, x, epochLen, out);
  if (kind === "seed-vol") return stepVolObservation(f, stepVol, epochLen, out);
  return observationFromFeatures(f, epochLen, out);
}
