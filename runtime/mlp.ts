/**
 * The MLP forward pass of a deterministic policy (the Gaussian mean), without tfjs.
 * Observation normalisation is part of the policy: x = clip((obs - mean) / sqrt(var + eps), +-clip),
 * and x = 0 for a feature that was constant in training (the policy never saw it change, so a new
 * value carries nothing it learned; divided by sqrt(0 + eps) it would jump to the clip instead),
 * then dense layers in double precision, each summing bias + x[0] k[0][j] + x[1] k[1][j] + ...
 * in that order (the order fixes the bits).
 */
import { detTanh } from "./detmath.js";

export type Activation = "tanh" | "relu" | "linear";

export interface DenseLayer {
  /** Row-major [inputs x outputs], as tfjs stores a Dense kernel. */
  kernel: number[];
  bias: number[];
  inputs: number;
  outputs: number;
  activation: Activation;
}

export const OBS_EPS = 1e-8;

/** A network ready to run: typed-array weights and the buffers a forward pass writes into. */
export interface MlpWeights {
  readonly layers: readonly DenseLayer[];
  readonly kernels: readonly Float64Array[];
  readonly biases: readonly Float64Array[];
  /** One per layer: a forward pass allocates nothing (it runs at every decision). */
  readonly buffers: readonly Float64Array[];
  /** The normalised observation. */
  readonly input: Float64Array;
  readonly mean: Float64Array;
  readonly invStd: Float64Array;
  readonly clip: number;
}

/**
 * Layers (shapes checked by the caller) and observation normalisation, as a runnable network.
 * `constant` marks the features that took one value in training: their scale is 0.
 */
export function mlpWeights(
  layers: readonly DenseLayer[],
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  clip: number,
  constant?: ArrayLike<boolean>,
): MlpWeights {
  return {
    layers,
    kernels: layers.map((l) => Float64Array.from(l.kernel)),
    biases: layers.map((l) => Float64Array.from(l.bias)),
    buffers: layers.map((l) => new Float64Array(l.outputs)),
    input: new Float64Array(layers[0].inputs),
    mean: Float64Array.from(mean),
    invStd: Float64Array.from(variance, (v, i) => (constant?.[i] === true ? 0 : 1 / Math.sqrt(v + OBS_EPS))),
    clip,
  };
}

/** Normalised observation, in place into `out`. */
export function mlpNormalize(w: MlpWeights, obs: ArrayLike<number>, out: Float64Array): Float64Array {
  const c = w.clip;
  for (let i = 0; i < w.input.length; i++) {
    const s = w.invStd[i];
    // A constant feature is 0 outright: (obs - mean) * 0 would be NaN for an infinite obs.
    const z = s === 0 ? 0 : (obs[i] - w.mean[i]) * s;
    out[i] = z > c ? c : z < -c ? -c : z;
  }
  return out;
}

/** The deterministic action (network output) for one raw observation, into `out`. */
export function mlpForward(w: MlpWeights, obs: ArrayLike<number>, out: Float64Array): Float64Array {
  let x = mlpNormalize(w, obs, w.input);
  const last = w.layers.length - 1;
  for (let li = 0; li <= last; li++) {
    const l = w.layers[li];
    const k = w.kernels[li];
    const b = w.biases[li];
    const y = li === last ? out : w.buffers[li];
    for (let j = 0; j < l.outputs; j++) {
      let s = b[j];
      for (let i = 0; i < l.inputs; i++) s += x[i] * k[i * l.outputs + j];
      // detTanh: the same bits in every engine and in the Rust export (runtime/detmath.ts).
      y[j] = l.activation === "tanh" ? detTanh(s) : l.activation === "relu" ? (s > 0 ? s : 0) : s;
    }
    x = y;
  }
  return out;
}
