/**
 * A volatility-scaled fee whose estimate is per step: fee = 35 bps + 0.5 x sigma_est, where
 * sigma_est is an EMA of |ln(spot / previous spot)| / sqrt(steps between the two trades), in bps.
 *
 * The division by sqrt(steps) is the point. The seed's starter (and the gym's sigma_hat) averages
 * |ln spot change| between the pool's own trades without it: a pool that trades less sees larger
 * moves between its trades and estimates a higher volatility, charges more, trades less again. A
 * per-step estimate follows the market's sigma instead. Measured in docs/training.md ("A rule on a
 * per-step volatility estimate"): on held-out seeds against the starter it earns about as much
 * over the normalizer as the fixed-fee regime table, which is fitted knowing each market's sigma
 * and normalizer fee.
 *
 *   npx propamm validate strategies/per-step-vol.ts
 *   npx propamm eval strategies/per-step-vol.ts --baselines --against starter --simulations 200
 */
import type { AfterSwapEvent, Side, Strategy } from "prop-amm-gym";
import { SLOT, readF64, writeF64, readFeeBps, writeFeeBps } from "prop-amm-gym";

const BASE_BPS = 35;
/** bps of fee per bps of per-step volatility. */
const VOL_SCALE = 0.5;
/** The estimate before the first two trades: 20 bps per step, mid-range of the markets (spec §2.2). */
const INITIAL_SIGMA = 0.002;
/** A free storage slot (the starter's convention uses 0-7): the step of the last trade. */
const LAST_STEP_SLOT = 8;

function feeFor(storage: Uint8Array, side: Side): number {
  const stored = readFeeBps(storage, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad);
  return (stored > 0 ? stored : BASE_BPS + VOL_SCALE * INITIAL_SIGMA * 1e4) / 10000;
}

const strategy: Strategy = {
  name: "Per-step volatility fee",

  computeSwap(side, input, reserveX, reserveY, storage) {
    const gammaIn = (1 - feeFor(storage, side)) * input;
    return side === 0 ? (reserveX * gammaIn) / (reserveY + gammaIn) : (reserveY * gammaIn) / (reserveX + gammaIn);
  },

  // Declaring the curve lets the engine price the pool in closed form (fast, and exact).
  constantProductFees(storage, out) {
    out[0] = feeFor(storage, 0);
    out[1] = feeFor(storage, 1);
  },

  afterSwap(event: AfterSwapEvent, storage) {
    const spot = event.reserveY / event.reserveX;
    const last = readF64(storage, SLOT.lastSpot);
    const steps = Math.max(1, event.simStep - readF64(storage, LAST_STEP_SLOT));
    const sigma =
      last > 0
        ? 0.95 * readF64(storage, SLOT.volatility) + (0.05 * Math.abs(Math.log(spot / last))) / Math.sqrt(steps)
        : INITIAL_SIGMA;
    writeF64(storage, SLOT.lastSpot, spot);
    writeF64(storage, SLOT.volatility, sigma);
    writeF64(storage, LAST_STEP_SLOT, event.simStep);
    const fee = Math.min(500, BASE_BPS + VOL_SCALE * sigma * 1e4);
    writeFeeBps(storage, SLOT.fee0Wad, fee);
    writeFeeBps(storage, SLOT.fee1Wad, fee);
  },
};

export default strategy;
