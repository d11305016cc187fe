/**
 * The policy's view of the market and its hold on it (spec §6): features -> observation
 * (scaled and clipped to the observation space, documented in docs/gym.md), action -> fee.
 */
import type { AgentFeatures } from "./features.js";

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
