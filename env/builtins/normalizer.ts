import type { Side, Strategy } from "../strategy.js";

/** Constant product with a fee on input, the same on both sides: the normalizer's curve. */
export function constantProductQuote(side: Side, input: number, rx: number, ry: number, fee: number): number {
  const gi = (1 - fee) * input;
  return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
}

/** The reference pool present in every simulation (spec §5), at the simulation's sampled fee. */
export function normalizer(feeBps: number): Strategy {
  const fee = feeBps / 10000;
  return {
    name: "[Normalizer]",
    computeSwap: (side, input, rx, ry) => constantProductQuote(side, input, rx, ry, fee),
    constantProductFees(_storage, out) {
      out[0] = fee;
      out[1] = fee;
    },
  };
}
