/**
 * A plain multilayer perceptron evaluator: the deterministic policy (the Gaussian mean) without
 * tfjs. Evaluation and export run the same forward pass (runtime/mlp.ts), so what is evaluated
 * is what gets exported. Observation normalisation is part of the policy:
 * x = clip((obs - mean) / sqrt(var + eps), +-clip), and x = 0 for a feature constant in training.
 */

import {
  type Activation,
  type DenseLayer,
  type MlpWeights,
  mlpForward,
  mlpNormalize,
  mlpWeights,
} from "../runtime/mlp.js";

export { type Activation, type DenseLayer, OBS_EPS } from "../runtime/mlp.js";

export interface ObsNormStats {
  mean: number[];
  var: number[];
  count: number;
  /**
   * The smallest and largest value of each feature in training. A feature whose range is one
   * value (the number of strategies, in a fixed line-up) is read as 0 by the policy. Absent in
   * checkpoints written before ranges were kept: their policies scale every feature.
   */
  min?: number[];
  max?: number[];
}

/** The features that took one value in training (`min === max`), or undefined without ranges. */
export function constantFeatures(stats: ObsNormStats): boolean[] | undefined {
  const { min, max } = stats;
  if (!min || !max) return undefined;
  return min.map((lo, i) => lo === max[i]);
}

export interface PolicySpec {
  layers: DenseLayer[];
  obsNorm: ObsNormStats;
  obsClip: number;
}

/** The forward pass is runtime/mlp.ts (what exported policies inline); this checks the shapes. */
export class MlpPolicy {
  /** The network as the runtime runs it. */
  readonly weights: MlpWeights;
  readonly inputs: number;
  readonly outputs: number;

  constructor(readonly spec: PolicySpec) {
    if (spec.layers.length === 0) throw new RangeError("policy has no layers");
    for (let i = 0; i < spec.layers.length; i++) {
      const l = spec.layers[i];
      if (l.kernel.length !== l.inputs * l.outputs || l.bias.length !== l.outputs) {
        throw new RangeError(`layer ${i}: kernel/bias sizes do not match ${l.inputs}x${l.outputs}`);
      }
      if (i > 0 && spec.layers[i - 1].outputs !== l.inputs)
        throw new RangeError(
          `layer ${i}: expects ${l.inputs} inputs, previous layer gives ${spec.layers[i - 1].outputs}`,
        );
    }
    this.inputs = spec.layers[0].inputs;
    this.outputs = spec.layers[spec.layers.length - 1].outputs;
    this.weights = mlpWeights(
      spec.layers,
      spec.obsNorm.mean,
      spec.obsNorm.var,
      spec.obsClip,
      constantFeatures(spec.obsNorm),
    );
  }

  /** Normalised observation, in place into `out`. */
  normalize(obs: ArrayLike<number>, out: Float64Array): Float64Array {
    return mlpNormalize(this.weights, obs, out);
  }

  /** The deterministic action (network output) for one raw observation. */
  act(obs: ArrayLike<number>, out = new Float64Array(this.outputs)): Float64Array {
    return mlpForward(this.weights, obs, out);
  }
}

/** Shapes of an MLP: sizes [in, h1, ..., out] with hidden activation and a linear output. */
export function mlpShapes(sizes: number[]): { inputs: number; outputs: number }[] {
  return sizes.slice(1).map((outputs, i) => ({ inputs: sizes[i], outputs }));
}

export function parameterCount(sizes: number[]): number {
  return mlpShapes(sizes).reduce((n, s) => n + s.inputs * s.outputs + s.outputs, 0);
}

/** Builds a PolicySpec from a flat parameter vector (kernel then bias, layer by layer). */
export function specFromFlat(
  sizes: number[],
  hidden: Activation,
  flat: ArrayLike<number>,
  obsNorm: ObsNormStats,
  obsClip = 10,
): PolicySpec {
  const layers: DenseLayer[] = [];
  let o = 0;
  const shapes = mlpShapes(sizes);
  shapes.forEach((s, i) => {
    const kernel = Array.from({ length: s.inputs * s.outputs }, (_, k) => flat[o + k]);
    o += s.inputs * s.outputs;
    const bias = Array.from({ length: s.outputs }, (_, k) => flat[o + k]);
    o += s.outputs;
    layers.push({
      kernel,
      bias,
      inputs: s.inputs,
      outputs: s.outputs,
      activation: i === shapes.length - 1 ? "linear" : hidden,
    });
  });
  if (o !== flat.length) throw new RangeError(`parameter vector has ${flat.length} values, the network needs ${o}`);
  return { layers, obsNorm, obsClip };
}

export function flatFromSpec(spec: PolicySpec): Float64Array {
  const out: number[] = [];
  for (const l of spec.layers) out.push(...l.kernel, ...l.bias);
  return Float64Array.from(out);
}

/**
 * Running mean and variance (Welford, batched), for observation normalisation, and each
 * feature's range. The range starts empty (min +inf, max -inf); stats resumed from a checkpoint
 * without ranges keep none, so an old policy keeps scaling every feature.
 */
export class RunningStats {
  mean: Float64Array;
  var: Float64Array;
  count: number;
  min: Float64Array | undefined;
  max: Float64Array | undefined;

  constructor(size: number, init?: ObsNormStats) {
    this.mean = init ? Float64Array.from(init.mean) : new Float64Array(size);
    this.var = init ? Float64Array.from(init.var) : new Float64Array(size).fill(1);
    this.count = init ? init.count : 1e-4;
    const ranged = init === undefined || (init.min !== undefined && init.max !== undefined);
    this.min = ranged ? (init?.min ? Float64Array.from(init.min) : new Float64Array(size).fill(Infinity)) : undefined;
    this.max = ranged ? (init?.max ? Float64Array.from(init.max) : new Float64Array(size).fill(-Infinity)) : undefined;
  }

  /**
   * Adds a batch given as its count, mean and (population) variance per feature, and its range
   * (`batchMin`, `batchMax`) when the stats keep one.
   */
  updateMoments(
    batchMean: ArrayLike<number>,
    batchVar: ArrayLike<number>,
    batchCount: number,
    batchMin?: ArrayLike<number>,
    batchMax?: ArrayLike<number>,
  ): void {
    if (batchCount <= 0) return;
    if (this.min && this.max) {
      if (!batchMin || !batchMax) throw new Error("RunningStats: a batch without its range");
      for (let i = 0; i < this.mean.length; i++) {
        if (batchMin[i] < this.min[i]) this.min[i] = batchMin[i];
        if (batchMax[i] > this.max[i]) this.max[i] = batchMax[i];
      }
    }
    const total = this.count + batchCount;
    for (let i = 0; i < this.mean.length; i++) {
      const delta = batchMean[i] - this.mean[i];
      const m2 =
        this.var[i] * this.count + batchVar[i] * batchCount + (delta * delta * this.count * batchCount) / total;
      this.mean[i] += (delta * batchCount) / total;
      this.var[i] = m2 / total;
    }
    this.count = total;
  }

  /** Adds rows of a row-major [n x size] array. */
  update(rows: ArrayLike<number>, n: number): void {
    const d = this.mean.length;
    const m = new Float64Array(d);
    const v = new Float64Array(d);
    const lo = new Float64Array(d).fill(Infinity);
    const hi = new Float64Array(d).fill(-Infinity);
    for (let r = 0; r < n; r++)
      for (let i = 0; i < d; i++) {
        const x = rows[r * d + i];
        m[i] += x / n;
        if (x < lo[i]) lo[i] = x;
        if (x > hi[i]) hi[i] = x;
      }
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) v[i] += (rows[r * d + i] - m[i]) ** 2 / n;
    this.updateMoments(m, v, n, lo, hi);
  }

  /** The stats as a checkpoint stores them; the range once a batch has filled it (JSON has no infinity). */
  toJSON(): ObsNormStats {
    const out: ObsNormStats = { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
    if (this.min && this.max && this.min.every((lo, i) => lo <= this.max![i])) {
      out.min = Array.from(this.min);
      out.max = Array.from(this.max);
    }
    return out;
  }
}
