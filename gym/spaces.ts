/**
 * Spaces as data (Gymnasium's Box): bounds, shape and dtype, with contains(), sample() and a
 * JSON form that the server sends to clients.
 */
import type { RandomStream } from "../env/rng.js";

export interface BoxJSON {
  type: "Box";
  shape: number[];
  dtype: "float32";
  low: number[];
  high: number[];
}

export class Box {
  readonly shape: readonly number[];
  readonly dtype = "float32" as const;
  readonly low: Float32Array;
  readonly high: Float32Array;

  constructor(low: ArrayLike<number>, high: ArrayLike<number>) {
    if (low.length !== high.length) throw new RangeError("Box: low and high must have the same length");
    this.low = Float32Array.from(low);
    this.high = Float32Array.from(high);
    for (let i = 0; i < this.low.length; i++) {
      if (!(this.low[i] <= this.high[i]) || !Number.isFinite(this.low[i]) || !Number.isFinite(this.high[i])) {
        throw new RangeError(`Box: bound ${i} must be finite with low <= high`);
      }
    }
    this.shape = [this.low.length];
  }

  get size(): number {
    return this.low.length;
  }

  /** True when x has the right length, is finite and lies inside the bounds (as float32). */
  contains(x: ArrayLike<number>): boolean {
    if (x.length !== this.size) return false;
    for (let i = 0; i < x.length; i++) {
      const v = Math.fround(x[i]);
      if (!Number.isFinite(v) || v < this.low[i] || v > this.high[i]) return false;
    }
    return true;
  }

  /** A uniform sample from the box. */
  sample(rng: RandomStream): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.min(this.high[i], Math.fround(this.low[i] + (this.high[i] - this.low[i]) * rng.uniform()));
    }
    return out;
  }

  toJSON(): BoxJSON {
    return {
      type: "Box",
      shape: [...this.shape],
      dtype: this.dtype,
      low: Array.from(this.low),
      high: Array.from(this.high),
    };
  }

  static fromJSON(j: BoxJSON): Box {
    if (j.type !== "Box") throw new RangeError(`not a Box: ${String(j.type)}`);
    return new Box(j.low, j.high);
  }
}
