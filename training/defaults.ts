/**
 * What ES and PPO share, so that neither algorithm reaches into the other: the policy network's
 * shape, the seed ranges that keep training and evaluation episodes apart, and the initial
 * parameters that make a fresh policy act near a chosen fee.
 */
import type { RandomStream } from "../env/rng.js";
import { mlpShapes } from "../agents/mlp.js";
import { OBSERVATION_SIZE } from "../runtime/mapping.js";

/** The seed observation's features (spec §6.3); the extended observation has OBSERVATION_SIZE.extended. */
export const OBS_SIZE = OBSERVATION_SIZE.seed;
/** The two side fees' actions. */
export const ACTION_SIZE = 2;
/** Normalised observations are clipped to [-OBS_CLIP, OBS_CLIP] (ES; PPO has it as `obsClip`). */
export const OBS_CLIP = 10;

/** Training seeds come from [TRAIN_SEED_MIN, 2^31): disjoint from every evaluation seed range. */
export const TRAIN_SEED_MIN = 1_000_000;
/**
 * Held-out evaluation during training uses HELD_OUT_SEED_BASE + i: disjoint from training seeds
 * and from `propamm eval`'s default range (100000...).
 */
export const HELD_OUT_SEED_BASE = 500_000;

/** The next training episode's seed, drawn from the trainer's own stream (one uniform). */
export function drawTrainingSeed(rng: RandomStream): number {
  return TRAIN_SEED_MIN + Math.floor(rng.uniform() * (2 ** 31 - TRAIN_SEED_MIN));
}

/** Layer sizes of a network from an observation of `obsSize` values through `hidden` to `outputs` values. */
export function networkSizes(obsSize: number, hidden: readonly number[], outputs = ACTION_SIZE): number[] {
  return [obsSize, ...hidden, outputs];
}

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
