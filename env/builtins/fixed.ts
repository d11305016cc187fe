import type { Strategy } from "../strategy.js";

/** Constant product with fixed side fees: `fixed:<bps>` or `fixed:<bidBps>/<askBps>` (spec §5). */
export function fixedFee(bidBps: number, askBps: number = bidBps): Strategy {
  const f0 = bidBps / 10000;
  const f1 = askBps / 10000;
  const label = bidBps === askBps ? `${bidBps}bps` : `${bidBps}/${askBps}bps`;
  return {
    name: `Fixed ${label}`,
    computeSwap(side, input, rx, ry) {
      const gi = (1 - (side === 0 ? f0 : f1)) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },
    constantProductFees(_storage, out) {
      out[0] = f0;
      out[1] = f1;
    },
  };
}
