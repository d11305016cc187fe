/**
 * Strategy storage: 1024 bytes, zero at the start of every simulation, persisting through it
 * (spec §3). Slot k is bytes 8k..8k+7, little-endian. The slot convention and the hot-path
 * DataView helpers live in the policy runtime (runtime/slots.ts), which exported policies
 * inline; this module adds the checked, allocating helpers for everything else.
 */
import { viewWriteFeeWad, viewWriteU64, WAD_PER_BPS } from "../runtime/slots.js";

export * from "../runtime/slots.js";
export const STORAGE_BYTES = 1024;
export const STORAGE_SLOTS = STORAGE_BYTES / 8;

/** 1e18 = 100%. */
export const WAD = 1e18;

function view(storage: Uint8Array): DataView {
  return new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
}

function checkSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= STORAGE_SLOTS) {
    throw new RangeError(`storage slot must be an integer in [0, ${STORAGE_SLOTS - 1}] (got ${slot})`);
  }
  return slot * 8;
}

export function readF64(storage: Uint8Array, slot: number): number {
  return view(storage).getFloat64(checkSlot(slot), true);
}

export function writeF64(storage: Uint8Array, slot: number, value: number): void {
  view(storage).setFloat64(checkSlot(slot), value, true);
}

export function readU64(storage: Uint8Array, slot: number): bigint {
  return view(storage).getBigUint64(checkSlot(slot), true);
}

export function writeU64(storage: Uint8Array, slot: number, value: bigint): void {
  view(storage).setBigUint64(checkSlot(slot), BigInt.asUintN(64, value), true);
}

/** A fee stored as u64 WAD, returned in basis points. */
export function readFeeBps(storage: Uint8Array, slot: number): number {
  return Number(readU64(storage, slot)) / WAD_PER_BPS;
}

/** Stores a fee in basis points as u64 WAD (floor to the nearest WAD unit; negatives store 0). */
export function writeFeeBps(storage: Uint8Array, slot: number, bps: number): void {
  viewWriteFeeWad(view(storage), checkSlot(slot) / 8, bps);
}

export function newStorage(): Uint8Array {
  return new Uint8Array(STORAGE_BYTES);
}

/** For the starter's fee adjustments, without BigInt (hot path). */
export function viewWriteFeeBps(v: DataView, slot: number, bps: number): void {
  viewWriteU64(v, slot, bps * WAD_PER_BPS);
}
