/**
 * The agent's storage slots (spec §3): storage is 1024 bytes, slot k is bytes 8k..8k+7,
 * little-endian. Slots 0-7 are the starter's convention, 8-11 the agent pool's, so an exported
 * policy's storage is byte for byte the storage of the pool it was trained in. Everything here
 * reads and writes through a DataView without BigInt (except the exact fee write), because the
 * hooks run on every trade.
 */

export const SLOT = {
  /** Side-0 fee, u64 WAD (1e18 = 100%). */
  fee0Wad: 0,
  /** Side-1 fee, u64 WAD. */
  fee1Wad: 1,
  /** Volatility estimate (f64). */
  volatility: 2,
  /** Spot after the last trade (f64); 0 until the first trade. */
  lastSpot: 3,
  /** EMA of the flow captured (f64). */
  flowEma: 4,
  /** Trades this epoch (u64). */
  tradesThisEpoch: 5,
  /** Capital weight at the last event (f64). */
  capitalWeight: 6,
  /** Epoch number (u64). */
  epochNumber: 7,
} as const;

/** Storage slots the agent pool adds to the starter's convention. */
export const AGENT_SLOT = {
  /** Step of the last decision (f64). */
  lastDecisionStep: 8,
  /** Epoch step at the last event (f64): 0 right after an epoch boundary. */
  epochStep: 9,
  /** Number of pools incl. the normalizer, as the events report it (f64). */
  nPools: 10,
  /** 1 once a decision has written the fee slots (u64); until then the initial fees apply. */
  feesSet: 11,
} as const;

/**
 * Storage slots of the extended observation (spec §6.3), written only by an agent pool that
 * observes it, so a pool with the seed observation keeps exactly the storage it always had.
 */
export const EXT_SLOT = {
  /** Side of the last trade: +1 side 0 (the trader paid Y), -1 side 1, 0 before any trade (f64). */
  lastSide: 12,
  /** 1 if the last trade was a retail order (flow captured > 0), 0 for an arbitrage (f64). */
  lastRetail: 13,
  /** The last trade's input over the pool's reserve of the input asset after it (f64). */
  lastSize: 14,
  /** ln(spot / normalizer spot) at the last trade; 0 when the event does not carry it (f64). */
  spotVsNormalizer: 15,
  /** ln(spot / lowest competing strategy spot) at the last trade; 0 without one (f64). */
  spotVsMin: 16,
  /** ln(spot / highest competing strategy spot) at the last trade; 0 without one (f64). */
  spotVsMax: 17,
  /** Step of the last trade (f64). */
  lastTradeStep: 18,
  /** Step of the trade before it (f64). */
  prevTradeStep: 19,
  /** Step of the decision before the last one (f64): 0 for the reset decision. */
  prevDecisionStep: 20,
  /** EMA of the flow captured over side-0 trades (f64). */
  flowEma0: 21,
  /** EMA of the flow captured over side-1 trades (f64). */
  flowEma1: 22,
  /** The pool's edge over the last completed epoch, from the epoch event (f64). */
  lastEpochEdge: 23,
  /** Trades seen, capped at 2 (f64): tells "no trade" and "one trade" from a real gap. */
  tradesSeen: 24,
} as const;

/**
 * Storage slots of the per-step volatility feature (spec §6.3), written only by an agent pool
 * whose observation has it ("seed-vol").
 */
export const STEP_VOL_SLOT = {
  /** EMA of |ln(spot / previous spot)| / sqrt(steps between the two trades) (f64). */
  stepVol: 25,
  /** Step of the last trade, for the next trade's step count (f64). */
  lastTradeStep: 26,
} as const;

/** 1e14 WAD units per basis point (1e18 = 100%). */
export const WAD_PER_BPS = 1e14;

const TWO_32 = 4294967296;

/**
 * Remembers the DataView of the last storage it saw. A strategy instance sees the same
 * storage array on every hook of a simulation, so hot hooks build no view per call.
 */
export class StorageViews {
  private storage: Uint8Array | null = null;
  /** The view of `storage`; an empty view until the first call, when `storage` is null. */
  private dataView: DataView = new DataView(new ArrayBuffer(0));

  of(storage: Uint8Array): DataView {
    if (storage !== this.storage) {
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
  // NaN, zero and negatives store 0. From 2^64 up (+Infinity included) both words clamp to
  // 0xffffffff below, so the slot saturates at 2^64 - 1 without a branch of its own.
  const w = value > 0 ? Math.floor(value) : 0;
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

/**
 * Stores a fee in basis points as u64 WAD, exactly: floor(bps * 1e14) through BigInt (wrapping
 * to 64 bits); negative, NaN or infinite fees store 0. Decisions are rare, so BigInt is fine here.
 */
export function viewWriteFeeWad(v: DataView, slot: number, bps: number): void {
  const wad = Number.isFinite(bps) && bps > 0 ? BigInt(Math.floor(bps * WAD_PER_BPS)) : BigInt(0);
  v.setBigUint64(slot * 8, BigInt.asUintN(64, wad), true);
}
