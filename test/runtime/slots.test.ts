/**
 * runtime/slots.ts, the hot-path storage slots (spec §3, §3.6), against byte math done here by
 * hand: slot k is bytes 8k..8k+7, little-endian, so byte i of a u64 is (n >> 8i) & 0xff; an f64
 * slot holds the IEEE-754 bit pattern in the same order.
 */
import { describe, expect, it } from "vitest";
import {
  AGENT_SLOT,
  SLOT,
  StorageViews,
  viewReadF64,
  viewReadFeeBps,
  viewReadU64,
  viewWriteF64,
  viewWriteFeeWad,
  viewWriteU64,
  WAD_PER_BPS,
} from "../../runtime/slots.js";

/** The 8 little-endian bytes of the u64 n, by hand. */
const le8 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
/** The 8 little-endian bytes of the double x. */
const f64Bytes = (x: number): number[] => le8(new BigUint64Array(Float64Array.of(x).buffer)[0]);

function storage(): { bytes: Uint8Array; v: DataView } {
  const bytes = new Uint8Array(1024);
  return { bytes, v: new DataView(bytes.buffer) };
}

/** 1024 bytes that are zero except slot k, which holds `b`. */
function withSlot(slot: number, b: number[]): number[] {
  const s = new Array<number>(1024).fill(0);
  for (let i = 0; i < 8; i++) s[8 * slot + i] = b[i];
  return s;
}

const TWO_64 = 2n ** 64n;

describe("the slot convention (spec §3.6)", () => {
  it("names the slots of the spec's table", () => {
    expect(SLOT).toStrictEqual({
      fee0Wad: 0,
      fee1Wad: 1,
      volatility: 2,
      lastSpot: 3,
      flowEma: 4,
      tradesThisEpoch: 5,
      capitalWeight: 6,
      epochNumber: 7,
    });
    expect(AGENT_SLOT).toStrictEqual({ lastDecisionStep: 8, epochStep: 9, nPools: 10, feesSet: 11 });
  });

  it("1 bps is 1e14 WAD (1e18 = 100%, spec §1)", () => {
    expect(WAD_PER_BPS).toBe(10 ** 18 / 10 ** 4);
  });
});

describe("viewReadU64", () => {
  it("reads slot k's 8 bytes little-endian, low word then high word", () => {
    const { bytes, v } = storage();
    bytes.set([0x02, 0, 0, 0, 0x01, 0, 0, 0], 8 * 7); // 2^32 + 2
    expect(viewReadU64(v, 7)).toBe(2 ** 32 + 2);
    bytes.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 8 * 1); // 2^32 - 1
    expect(viewReadU64(v, 1)).toBe(2 ** 32 - 1);
    bytes.set([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x00], 8 * 127); // below 2^53: exact
    expect(viewReadU64(v, 127)).toBe(0x02030405060708);
    expect(viewReadU64(v, 0)).toBe(0);
  });

  it("gives the nearest double above 2^53", () => {
    const { bytes, v } = storage();
    bytes.set(le8(TWO_64 - 1n), 8 * 4);
    expect(viewReadU64(v, 4)).toBe(2 ** 64); // 2^64 - 1 rounds to 2^64
  });
});

describe("viewWriteU64", () => {
  it("writes floor(value) into slot k's bytes, little-endian, and nothing else", () => {
    for (const [slot, x, want] of [
      [0, 1.9, 1n],
      [3, 2 ** 32 - 1, 2n ** 32n - 1n],
      [5, 2 ** 32, 2n ** 32n],
      [6, 2 ** 32 + 1, 2n ** 32n + 1n],
      [7, 0x0a0b0c0d0e0f10, 0x0a0b0c0d0e0f10n], // below 2^53, so exact
      [127, 2 ** 64 - 2048, TWO_64 - 2048n], // the largest double below 2^64
    ] as [number, number, bigint][]) {
      const { bytes, v } = storage();
      viewWriteU64(v, slot, x);
      expect(Array.from(bytes), String(x)).toEqual(withSlot(slot, le8(want)));
    }
  });

  it("stores 0 for zero, negatives, NaN and -Infinity", () => {
    for (const x of [0, -0, -1, -1e300, NaN, -Infinity]) {
      const { bytes, v } = storage();
      bytes.fill(0x55);
      viewWriteU64(v, 2, x);
      expect(Array.from(bytes.subarray(16, 24)), String(x)).toEqual(le8(0n));
      expect(bytes[15]).toBe(0x55);
      expect(bytes[24]).toBe(0x55);
    }
  });

  it("saturates at 2^64 - 1 (eight 0xff bytes) for 2^64 and above and +Infinity", () => {
    for (const x of [2 ** 64, 2 ** 65, 1e300, Infinity]) {
      const { bytes, v } = storage();
      viewWriteU64(v, 1, x);
      expect(Array.from(bytes), String(x)).toEqual(withSlot(1, [255, 255, 255, 255, 255, 255, 255, 255]));
    }
  });
});

describe("f64 slots", () => {
  it("viewWriteF64 stores the double's bits little-endian in slot k, viewReadF64 reads them", () => {
    for (const [slot, x] of [
      [3, 100.25],
      [9, -0.1],
      [127, 6.02e23],
    ] as [number, number][]) {
      const { bytes, v } = storage();
      viewWriteF64(v, slot, x);
      expect(Array.from(bytes), String(x)).toEqual(withSlot(slot, f64Bytes(x)));
    }
    const { bytes, v } = storage();
    bytes.set([0, 0, 0, 0, 0, 0, 0xf0, 0x3f], 8 * 2); // 1.0 = 0x3ff0000000000000
    bytes.set([0, 0, 0, 0, 0, 0, 0, 0xc0], 8 * 10); // -2.0 = 0xc000000000000000
    expect(viewReadF64(v, 2)).toBe(1);
    expect(viewReadF64(v, 10)).toBe(-2);
  });
});

describe("fee slots (u64 WAD)", () => {
  it("viewWriteFeeWad stores floor(bps * 1e14) exactly in slot k", () => {
    for (const [slot, bps, wad] of [
      [0, 30, 3_000_000_000_000_000n],
      [1, 0.07, 7_000_000_000_000n], // 0.07 * 1e14 = 7000000000000.001 in doubles: floored
      [5, 123.456, 12_345_600_000_000_000n],
      [11, 10_000, 10n ** 18n], // 100%
      [2, 1e6, 10n ** 20n % TWO_64], // 1e20 WAD does not fit in 64 bits: wraps (documented)
    ] as [number, number, bigint][]) {
      const { bytes, v } = storage();
      viewWriteFeeWad(v, slot, bps);
      expect(Array.from(bytes), `${bps} bps`).toEqual(withSlot(slot, le8(wad)));
    }
  });

  it("viewWriteFeeWad stores 0 for zero, negative, NaN and infinite fees", () => {
    for (const bps of [0, -0.5, NaN, Infinity, -Infinity]) {
      const { bytes, v } = storage();
      bytes.fill(0x77);
      viewWriteFeeWad(v, 3, bps);
      expect(Array.from(bytes.subarray(24, 32)), String(bps)).toEqual(le8(0n));
      expect(bytes[23]).toBe(0x77);
      expect(bytes[32]).toBe(0x77);
    }
  });

  it("viewReadFeeBps reads the slot's WAD in basis points", () => {
    const { bytes, v } = storage();
    bytes.set(le8(3_000_000_000_000_000n), 8 * 1);
    bytes.set(le8(250_000_000_000_000n), 8 * 6);
    expect(viewReadFeeBps(v, 1)).toBe(30);
    expect(viewReadFeeBps(v, 6)).toBe(2.5);
    expect(viewReadFeeBps(v, 0)).toBe(0);
  });
});

describe("StorageViews", () => {
  it("returns the same view while the storage is the same, a new one when it changes", () => {
    const views = new StorageViews();
    const a = new Uint8Array(1024);
    const backing = new Uint8Array(3072);
    const b = backing.subarray(1024, 2048);
    const va = views.of(a);
    expect(views.of(a)).toBe(va);
    const vb = views.of(b);
    expect(vb).not.toBe(va);
    expect(views.of(b)).toBe(vb);
    const va2 = views.of(a);
    expect(va2).not.toBe(vb);
    expect(va2.buffer).toBe(a.buffer);
  });

  it("views exactly the storage's bytes inside a larger buffer", () => {
    const backing = new Uint8Array(3072);
    const b = backing.subarray(1024, 2048);
    const vb = new StorageViews().of(b);
    expect(vb.buffer).toBe(backing.buffer);
    expect(vb.byteOffset).toBe(1024);
    expect(vb.byteLength).toBe(1024);
    viewWriteU64(vb, 0, 0x0102);
    expect(Array.from(backing.subarray(1024, 1032))).toEqual(le8(0x0102n));
    expect(backing.subarray(0, 1024).every((x) => x === 0)).toBe(true);
  });
});
