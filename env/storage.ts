/**
 * Strategy storage: 1024 bytes, zero at the start of every simulation, persisting through it
 * (SPEC §3). Slot k is bytes 8k..8k+7, little-endian. The helpers below are the slot
 * convention shared by the starter, the agent pool and exported policies.
 */
export const STORAGE_BYTES = 1024;
export const STORAGE_SLOTS = STORAGE_BYTES / 8;

export const SLOT = {
  fee0Wad: 0,
  fee1Wad: 1,
  volatility: 2,
  lastSpot: 3,
  flowEma: 4,
  tradesThisEpoch: 5,
  capitalWeight: 6,
  epochNumber: 7,
} as const;

/** 1e18 = 100%. */
export const WAD = 1e18;
const WAD_PER_BPS = 1e14;

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
  const wad = Number.isFinite(bps) && bps > 0 ? BigInt(Math.floor(bps * WAD_PER_BPS)) : 0n;
  writeU64(storage, slot, wad);
}

export function newStorage(): Uint8Array {
  return new Uint8Array(STORAGE_BYTES);
}

const TWO_32 = 4294967296;

/**
 * Remembers the DataView of the last storage it saw. A strategy instance sees the same
 * storage array on every hook of a simulation, so hot hooks build no view per call.
 */
export class StorageViews {
  private storage: Uint8Array | null = null;
  private dataView: DataView | null = null;

  of(storage: Uint8Array): DataView {
    if (storage !== this.storage || this.dataView === null) {
      this.storage = storage;
      this.dataView = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
    }
    return this.dataView;
  }
}

/** u64 slot read as the nearest double, without BigInt (for hot paths). */
export function viewReadU64(v: DataView, slot: number): number {
  const off = slot * 8;
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * TWO_32;
}

/** Writes floor(value) (clamped to [0, 2^64)) to a u64 slot, without BigInt. */
export function viewWriteU64(v: DataView, slot: number, value: number): void {
  const off = slot * 8;
  let w = Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
  if (value === Infinity || w >= TWO_32 * TWO_32) w = TWO_32 * TWO_32 - 1; // saturates
  const hi = Math.min(Math.floor(w / TWO_32), TWO_32 - 1);
  const lo = Math.min(w - hi * TWO_32, TWO_32 - 1);
  v.setUint32(off, lo, true);
  v.setUint32(off + 4, hi, true);
}

export function viewReadF64(v: DataView, slot: number): number {
  return v.getFloat64(slot * 8, true);
}

export function viewWriteF64(v: DataView, slot: number, value: number): void {
  v.setFloat64(slot * 8, value, true);
}

/** Fee slot (u64 WAD) in basis points. */
export function viewReadFeeBps(v: DataView, slot: number): number {
  return viewReadU64(v, slot) / WAD_PER_BPS;
}

export function viewWriteFeeBps(v: DataView, slot: number, bps: number): void {
  viewWriteU64(v, slot, bps * WAD_PER_BPS);
}
