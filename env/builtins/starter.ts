/**
 * The "Multi-AMM Vol-Adaptive Starter" (spec §5.3): constant product whose side fees live in
 * storage slots 0/1 and follow a volatility estimate, the flow captured and the last trade's
 * direction. The feature updates here are also the agent pool's (features.ts).
 *
 * `starter()` uses the intended volatility term, `vol * 1e4` bps (the 0.003 initial estimate is a
 * 30 bps prior). `starterSeed()` (`starter:seed`) is the seed's reference code bit for bit: its
 * term is `vol * 1e6` bps, which sits at the 200 bps cap on nearly every call.
 */
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "../strategy.js";
import {
  SLOT,
  StorageViews,
  viewReadF64,
  viewReadFeeBps,
  viewWriteF64,
  viewWriteFeeBps,
  viewWriteU64,
} from "../storage.js";
import { updateFeatures } from "../features.js";

export const STARTER_NAME = "Multi-AMM Vol-Adaptive Starter";
/** The name of `starter:seed`, the reference code's variant. */
export const STARTER_SEED_NAME = "Multi-AMM Vol-Adaptive Starter (seed, vol*1e6)";
export const MIN_FEE_BPS = 5;
/** Basis points per unit of the volatility estimate: the intended scaling and the seed's. */
export const STARTER_VOL_SCALE = 1e4;
export const STARTER_SEED_VOL_SCALE = 1e6;

/** The starter with the intended volatility scaling (`vol * 1e4` bps, spec §5.3). */
export function starter(): Strategy {
  return volAdaptiveStarter(STARTER_NAME, STARTER_VOL_SCALE);
}

/** `starter:seed`: the seed's reference starter bit for bit (`vol * 1e6` bps, spec §5.3). */
export function starterSeed(): Strategy {
  return volAdaptiveStarter(STARTER_SEED_NAME, STARTER_SEED_VOL_SCALE);
}

function volAdaptiveStarter(name: string, volScale: number): Strategy {
  const hookViews = new StorageViews();
  const quoteViews = new StorageViews();

  const feeOf = (v: DataView, slot: number): number => Math.max(MIN_FEE_BPS, viewReadFeeBps(v, slot)) / 10000;

  return {
    name,

    computeSwap(side: Side, input, rx, ry, storage) {
      const v = quoteViews.of(storage);
      const gi = (1 - feeOf(v, side === 0 ? SLOT.fee0Wad : SLOT.fee1Wad)) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },

    constantProductFees(storage, out) {
      const v = quoteViews.of(storage);
      out[0] = feeOf(v, SLOT.fee0Wad);
      out[1] = feeOf(v, SLOT.fee1Wad);
    },

    afterSwap(ev: AfterSwapEvent, storage) {
      const v = hookViews.of(storage);
      updateFeatures(v, ev);
      const vol = viewReadF64(v, SLOT.volatility);
      const flowEma = viewReadF64(v, SLOT.flowEma);
      const base = 30 + Math.min(200, vol * volScale);
      const flowAdj = flowEma < 0.25 ? -10 : flowEma > 0.7 ? 10 : 0;
      const same = Math.max(MIN_FEE_BPS, base + flowAdj - 5);
      const other = Math.max(MIN_FEE_BPS, base + flowAdj + 5);
      // After a side-0 trade side 1 gets the higher fee, and the reverse.
      viewWriteFeeBps(v, SLOT.fee0Wad, ev.side === 0 ? same : other);
      viewWriteFeeBps(v, SLOT.fee1Wad, ev.side === 0 ? other : same);
    },

    onEpochBoundary(ev: EpochEvent, storage) {
      const v = hookViews.of(storage);
      viewWriteF64(v, SLOT.volatility, 0.5 * viewReadF64(v, SLOT.volatility) + 0.5 * 0.003);
      viewWriteU64(v, SLOT.tradesThisEpoch, 0);
      // The weight as the native ABI carries it (f32, spec §3.4), as the seed's starter reads it.
      const weight = Math.fround(ev.capitalWeight);
      const adj = weight < 0.15 ? -5 : weight > 0.5 ? 5 : 0;
      if (adj !== 0) {
        viewWriteFeeBps(v, SLOT.fee0Wad, Math.max(MIN_FEE_BPS, viewReadFeeBps(v, SLOT.fee0Wad) + adj));
        viewWriteFeeBps(v, SLOT.fee1Wad, Math.max(MIN_FEE_BPS, viewReadFeeBps(v, SLOT.fee1Wad) + adj));
      }
      viewWriteF64(v, SLOT.capitalWeight, weight);
      viewWriteU64(v, SLOT.epochNumber, ev.epochNumber);
    },
  };
}
