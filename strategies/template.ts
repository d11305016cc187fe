/**
 * A strategy template: copy this file, change the fee rule, then
 *   npx propamm validate my-strategy.ts
 *   npx propamm run my-strategy.ts starter --simulations 100
 *
 * A strategy is an object with a name and up to four functions, exported as `default` (or as
 * `strategy` / `createStrategy`). Export a factory `() => strategy` instead when you keep state
 * in JavaScript variables: it is called once per simulation. State that must survive belongs
 * in `storage` (1024 bytes, zero at the start of every simulation, kept across epochs).
 *
 * Sides: 0 = trader pays Y and receives X; 1 = trader pays X and receives Y.
 * computeSwap must return an output that is finite, >= 0, below the paying reserve, monotone
 * and concave in the input, and must not write storage (quotes get a read-only snapshot).
 */
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "prop-amm-gym";
import { SLOT, readF64, writeF64, readFeeBps, writeFeeBps } from "prop-amm-gym";

const BASE_FEE_BPS = 30;

function feeFor(storage: Uint8Array, side: Side): number {
  const stored = readFeeBps(storage, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad);
  return (stored > 0 ? stored : BASE_FEE_BPS) / 10000;
}

const strategy: Strategy = {
  name: "Template: volatility-scaled fee",

  computeSwap(side, input, reserveX, reserveY, storage) {
    const gammaIn = (1 - feeFor(storage, side)) * input;
    return side === 0 ? (reserveX * gammaIn) / (reserveY + gammaIn) : (reserveY * gammaIn) / (reserveX + gammaIn);
  },

  afterSwap(event: AfterSwapEvent, storage) {
    // Track an EMA of absolute log spot moves between our trades and charge more when it is high.
    const spot = event.reserveY / event.reserveX;
    const last = readF64(storage, SLOT.lastSpot);
    const vol = last > 0 ? 0.9 * readF64(storage, SLOT.volatility) + 0.1 * Math.abs(Math.log(spot / last)) : 0.001;
    writeF64(storage, SLOT.lastSpot, spot);
    writeF64(storage, SLOT.volatility, vol);
    const fee = Math.min(300, BASE_FEE_BPS + vol * 20000);
    writeFeeBps(storage, SLOT.fee0Wad, fee);
    writeFeeBps(storage, SLOT.fee1Wad, fee);
  },

  onEpochBoundary(_event: EpochEvent, _storage) {
    // Capital was just rebalanced; event.capitalWeight is this pool's new share.
  },
};

export default strategy;
