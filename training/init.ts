/** Parameter initialisation shared by ES and PPO: scaled normal hidden layers, a quiet output layer. */
import type { RandomStream } from "../env/rng.js";
import { mlpShapes } from "../agents/mlp.js";

/**
 * Flat parameters (kernel then bias per layer) for sizes [in, ..., out]: hidden kernels
 * ~ N(0, 1/fan_in), zero biases; the output kernel is scaled by `outScale` and the output bias
 * is `outBias`, so the initial policy acts near a chosen fee whatever it observes.
 */
export function initParams(sizes: number[], rng: RandomStream, outScale: number, outBias: number): Float32Array {
  const shapes = mlpShapes(sizes);
  const out: number[] = [];
  shapes.forEach((s, i) => {
    const last = i === shapes.length - 1;
    const std = (last ? outScale : 1) / Math.sqrt(s.inputs);
    for (let k = 0; k < s.inputs * s.outputs; k++) out.push(std * rng.normal());
    for (let k = 0; k < s.outputs; k++) out.push(last ? outBias : 0);
  });
  return Float32Array.from(out);
}
