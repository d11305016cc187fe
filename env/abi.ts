/**
 * The seed's native byte layouts (spec §3), little-endian. These are what a native strategy
 * (the Rust export, or a seed `.rs` strategy) receives; every offset is pinned by a test.
 */
import type { AfterSwapEvent, EpochEvent, Side } from "./strategy.js";
import { STORAGE_BYTES } from "./storage.js";

export const TAG_AFTER_SWAP = 2;
export const TAG_NAME = 3;
export const TAG_MODEL_USED = 4;
export const TAG_EPOCH_BOUNDARY = 5;

export const AFTER_SWAP_HEADER = 92;
export const AFTER_SWAP_BYTES = AFTER_SWAP_HEADER + STORAGE_BYTES; // 1116
export const EPOCH_HEADER = 41;
export const EPOCH_BYTES = EPOCH_HEADER + STORAGE_BYTES; // 1065
export const COMPUTE_SWAP_HEADER = 25;
export const COMPUTE_SWAP_BYTES = COMPUTE_SWAP_HEADER + STORAGE_BYTES; // 1049

export const U64_MAX = (1n << 64n) - 1n;
const TWO_64 = 18446744073709551616; // 2^64 as a double

/** Amount to wire "nano" units: floor(v * 1e9); NaN or v <= 0 -> 0; +Inf or overflow -> 2^64-1. */
export function toNano(v: number): bigint {
  if (Number.isNaN(v) || v <= 0) return 0n;
  const scaled = Math.floor(v * 1e9);
  if (!Number.isFinite(scaled) || scaled >= TWO_64) return U64_MAX;
  return BigInt(scaled);
}

const TWO_32 = 4294967296;

/**
 * Writes toNano(v) as a little-endian u64 at `offset` without a BigInt: floor(v * 1e9) is an
 * integer double below 2^64, so its high and low 32-bit halves are exact. For hot paths (quotes
 * to WebAssembly strategies); a test checks it against toNano.
 */
export function setNano(view: DataView, offset: number, v: number): void {
  let lo = 0;
  let hi = 0;
  if (v > 0) {
    const scaled = Math.floor(v * 1e9);
    if (scaled < TWO_64) {
      hi = Math.floor(scaled / TWO_32);
      lo = scaled - hi * TWO_32;
    } else {
      hi = lo = TWO_32 - 1;
    }
  }
  view.setUint32(offset, lo, true);
  view.setUint32(offset + 4, hi, true);
}

export function fromNano(n: bigint): number {
  return Number(n) / 1e9;
}

export interface ComputeSwapQuery {
  side: Side;
  inputAmount: number;
  reserveX: number;
  reserveY: number;
}

function dv(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function need(buf: Uint8Array, len: number, what: string): void {
  if (buf.byteLength < len) throw new RangeError(`${what} payload needs ${len} bytes, got ${buf.byteLength}`);
}

function checkStorage(storage: Uint8Array): void {
  if (storage.byteLength !== STORAGE_BYTES) {
    throw new RangeError(`storage must be ${STORAGE_BYTES} bytes, got ${storage.byteLength}`);
  }
}

export function encodeAfterSwap(
  ev: AfterSwapEvent,
  storage: Uint8Array,
  out = new Uint8Array(AFTER_SWAP_BYTES),
): Uint8Array {
  need(out, AFTER_SWAP_BYTES, "after-swap");
  checkStorage(storage);
  const v = dv(out);
  v.setUint8(0, TAG_AFTER_SWAP);
  v.setUint8(1, ev.side);
  v.setBigUint64(2, toNano(ev.inputAmount), true);
  v.setBigUint64(10, toNano(ev.outputAmount), true);
  v.setBigUint64(18, toNano(ev.reserveX), true);
  v.setBigUint64(26, toNano(ev.reserveY), true);
  v.setBigUint64(34, BigInt(ev.simStep), true);
  v.setUint32(42, ev.epochStep, true);
  v.setUint32(46, ev.epochNumber, true);
  v.setUint8(50, ev.nStrategies);
  v.setUint8(51, ev.strategyIndex);
  v.setFloat32(52, ev.flowCaptured, true);
  v.setFloat32(56, ev.capitalWeight, true);
  for (let k = 0; k < 8; k++) {
    const p = k < ev.competingSpotPrices.length ? ev.competingSpotPrices[k] : NaN;
    v.setFloat32(60 + 4 * k, p, true);
  }
  out.set(storage, AFTER_SWAP_HEADER);
  return out;
}

export function decodeAfterSwap(buf: Uint8Array): { event: AfterSwapEvent; storage: Uint8Array } {
  need(buf, AFTER_SWAP_BYTES, "after-swap");
  const v = dv(buf);
  if (v.getUint8(0) !== TAG_AFTER_SWAP) throw new RangeError(`after-swap tag must be 2, got ${v.getUint8(0)}`);
  const prices = new Float64Array(8);
  for (let k = 0; k < 8; k++) prices[k] = v.getFloat32(60 + 4 * k, true);
  const event: AfterSwapEvent = {
    side: v.getUint8(1) as Side,
    inputAmount: fromNano(v.getBigUint64(2, true)),
    outputAmount: fromNano(v.getBigUint64(10, true)),
    reserveX: fromNano(v.getBigUint64(18, true)),
    reserveY: fromNano(v.getBigUint64(26, true)),
    simStep: Number(v.getBigUint64(34, true)),
    epochStep: v.getUint32(42, true),
    epochNumber: v.getUint32(46, true),
    nStrategies: v.getUint8(50),
    strategyIndex: v.getUint8(51),
    flowCaptured: v.getFloat32(52, true),
    capitalWeight: v.getFloat32(56, true),
    competingSpotPrices: prices,
  };
  return { event, storage: buf.slice(AFTER_SWAP_HEADER, AFTER_SWAP_BYTES) };
}

export function encodeEpochBoundary(
  ev: EpochEvent,
  storage: Uint8Array,
  out = new Uint8Array(EPOCH_BYTES),
): Uint8Array {
  need(out, EPOCH_BYTES, "epoch-boundary");
  checkStorage(storage);
  const v = dv(out);
  v.setUint8(0, TAG_EPOCH_BOUNDARY);
  v.setUint32(1, ev.epochNumber, true);
  v.setBigUint64(5, toNano(ev.newReserveX), true);
  v.setBigUint64(13, toNano(ev.newReserveY), true);
  v.setFloat64(21, ev.epochEdge, true);
  v.setFloat64(29, ev.cumulativeEdge, true);
  v.setFloat32(37, ev.capitalWeight, true);
  out.set(storage, EPOCH_HEADER);
  return out;
}

export function decodeEpochBoundary(buf: Uint8Array): { event: EpochEvent; storage: Uint8Array } {
  need(buf, EPOCH_BYTES, "epoch-boundary");
  const v = dv(buf);
  if (v.getUint8(0) !== TAG_EPOCH_BOUNDARY) throw new RangeError(`epoch-boundary tag must be 5, got ${v.getUint8(0)}`);
  return {
    event: {
      epochNumber: v.getUint32(1, true),
      newReserveX: fromNano(v.getBigUint64(5, true)),
      newReserveY: fromNano(v.getBigUint64(13, true)),
      epochEdge: v.getFloat64(21, true),
      cumulativeEdge: v.getFloat64(29, true),
      capitalWeight: v.getFloat32(37, true),
    },
    storage: buf.slice(EPOCH_HEADER, EPOCH_BYTES),
  };
}

export function encodeComputeSwap(
  q: ComputeSwapQuery,
  storage: Uint8Array,
  out = new Uint8Array(COMPUTE_SWAP_BYTES),
): Uint8Array {
  need(out, COMPUTE_SWAP_BYTES, "compute-swap");
  checkStorage(storage);
  const v = dv(out);
  v.setUint8(0, q.side);
  v.setBigUint64(1, toNano(q.inputAmount), true);
  v.setBigUint64(9, toNano(q.reserveX), true);
  v.setBigUint64(17, toNano(q.reserveY), true);
  out.set(storage, COMPUTE_SWAP_HEADER);
  return out;
}

export function decodeComputeSwap(buf: Uint8Array): { query: ComputeSwapQuery; storage: Uint8Array } {
  need(buf, COMPUTE_SWAP_BYTES, "compute-swap");
  const v = dv(buf);
  const side = v.getUint8(0);
  if (side > 1) throw new RangeError(`compute-swap side must be 0 or 1, got ${side}`);
  return {
    query: {
      side: side as Side,
      inputAmount: fromNano(v.getBigUint64(1, true)),
      reserveX: fromNano(v.getBigUint64(9, true)),
      reserveY: fromNano(v.getBigUint64(17, true)),
    },
    storage: buf.slice(COMPUTE_SWAP_HEADER, COMPUTE_SWAP_BYTES),
  };
}
