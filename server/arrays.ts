/**
 * Arrays on the wire (docs/protocol.md): {dtype, shape, data} with little-endian bytes, so a
 * numpy client reads them with np.frombuffer and no per-element work.
 */
import { PropAmmError } from "../env/errors.js";

export type DType = "float32" | "float64" | "uint8";

export interface WireArray {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

const SIZE: Record<DType, number> = { float32: 4, float64: 8, uint8: 1 };

/** A wire array (the actions) with the wrong shape, dtype or values. */
export class ArrayError extends PropAmmError {
  constructor(message: string) {
    super("BAD_ACTION", message);
    this.name = "ArrayError";
  }
}

export function encodeArray(values: ArrayLike<number>, dtype: DType, shape: number[]): WireArray {
  const n = values.length;
  const data = new Uint8Array(n * SIZE[dtype]);
  const v = new DataView(data.buffer);
  for (let i = 0; i < n; i++) {
    if (dtype === "float32") v.setFloat32(i * 4, values[i], true);
    else if (dtype === "float64") v.setFloat64(i * 8, values[i], true);
    else v.setUint8(i, values[i]);
  }
  return { dtype, shape, data };
}

/** Decodes a float array, checking dtype, shape and byte length; the message names what is wrong. */
export function decodeFloatArray(x: unknown, what: string): { values: Float64Array; shape: number[] } {
  if (x === null || typeof x !== "object" || Array.isArray(x)) {
    throw new ArrayError(`${what} must be an array map {dtype, shape, data}`);
  }
  const a = x as Partial<Record<"dtype" | "shape" | "data", unknown>>;
  if (a.dtype !== "float32" && a.dtype !== "float64")
    throw new ArrayError(`${what}.dtype must be "float32" or "float64"`);
  if (!Array.isArray(a.shape) || a.shape.length > 4 || !a.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ArrayError(`${what}.shape must be a list of non-negative integers`);
  }
  if (!(a.data instanceof Uint8Array)) throw new ArrayError(`${what}.data must be binary (msgpack bin)`);
  const size = SIZE[a.dtype];
  const count = (a.shape as number[]).reduce((p, d) => p * d, 1);
  if (a.data.byteLength !== count * size) {
    throw new ArrayError(
      `${what}.data holds ${a.data.byteLength} bytes, shape ${JSON.stringify(a.shape)} of ${a.dtype} needs ${count * size}`,
    );
  }
  const v = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = size === 4 ? v.getFloat32(i * 4, true) : v.getFloat64(i * 8, true);
  return { values, shape: a.shape as number[] };
}
