/**
 * The native byte layouts (spec §3.4) and the nano conversion (spec §1). Every expected buffer is
 * built here by hand from the spec's offset tables, byte by byte in little-endian order (byte i
 * of an integer is (n >> 8i) & 0xff; floats go through their IEEE bit patterns), never through
 * the module's own encoder. Decoders are checked field by field against those hand-built bytes;
 * encoders are compared with them byte for byte; round trips come on top.
 */
import { describe, expect, it } from "vitest";
import {
  AFTER_SWAP_BYTES,
  COMPUTE_SWAP_BYTES,
  type ComputeSwapQuery,
  EPOCH_BYTES,
  decodeAfterSwap,
  decodeComputeSwap,
  decodeEpochBoundary,
  encodeAfterSwap,
  encodeComputeSwap,
  encodeEpochBoundary,
  fromNano,
  setNano,
  toNano,
  U64_MAX,
} from "../../env/abi.js";
import type { AfterSwapEvent, EpochEvent } from "../../env/strategy.js";

/** 2^64 - 1, computed here (spec §1: +Infinity and values at or above 2^64 encode as this). */
const TWO_64_MINUS_1 = 2n ** 64n - 1n;

/** Writes the unsigned integer n as `width` little-endian bytes at `off`, by hand. */
function putLE(buf: Uint8Array, off: number, width: number, n: bigint): void {
  for (let i = 0; i < width; i++) buf[off + i] = Number((n >> BigInt(8 * i)) & 0xffn);
}

/** The IEEE-754 single bit pattern of x (as the engine rounds f32 fields), little-endian at `off`. */
function putF32(buf: Uint8Array, off: number, x: number): void {
  putLE(buf, off, 4, BigInt(new Uint32Array(Float32Array.of(x).buffer)[0]));
}

/** The IEEE-754 double bit pattern of x, little-endian at `off`. */
function putF64(buf: Uint8Array, off: number, x: number): void {
  putLE(buf, off, 8, new BigUint64Array(Float64Array.of(x).buffer)[0]);
}

/** A storage pattern whose every byte differs from its neighbours and from the header's. */
function storagePattern(seed = 11): Uint8Array {
  const s = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) s[i] = (i * 37 + seed) & 0xff;
  return s;
}

const bytes = (b: Uint8Array): number[] => Array.from(b);

// ---- Hand-built payloads from the tables of spec §3.4 ----------------------------------------

/** After-swap, tag 2: 92-byte header + 1024 storage bytes. Amounts are given in nano. */
function afterSwapBytes(
  f: {
    side: number;
    input: bigint;
    output: bigint;
    rx: bigint;
    ry: bigint;
    simStep: bigint;
    epochStep: number;
    epochNumber: number;
    nStrategies: number;
    strategyIndex: number;
    flow: number;
    weight: number;
    prices: number[]; // 8 entries
  },
  storage: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(92 + 1024);
  b[0] = 2;
  b[1] = f.side;
  putLE(b, 2, 8, f.input);
  putLE(b, 10, 8, f.output);
  putLE(b, 18, 8, f.rx);
  putLE(b, 26, 8, f.ry);
  putLE(b, 34, 8, f.simStep);
  putLE(b, 42, 4, BigInt(f.epochStep));
  putLE(b, 46, 4, BigInt(f.epochNumber));
  b[50] = f.nStrategies;
  b[51] = f.strategyIndex;
  putF32(b, 52, f.flow);
  putF32(b, 56, f.weight);
  for (let k = 0; k < 8; k++) putF32(b, 60 + 4 * k, f.prices[k]);
  b.set(storage, 92);
  return b;
}

/** Epoch boundary, tag 5: 41-byte header + 1024 storage bytes. */
function epochBytes(
  f: { epochNumber: number; rx: bigint; ry: bigint; edge: number; cumulative: number; weight: number },
  storage: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(41 + 1024);
  b[0] = 5;
  putLE(b, 1, 4, BigInt(f.epochNumber));
  putLE(b, 5, 8, f.rx);
  putLE(b, 13, 8, f.ry);
  putF64(b, 21, f.edge);
  putF64(b, 29, f.cumulative);
  putF32(b, 37, f.weight);
  b.set(storage, 41);
  return b;
}

/** Compute-swap query, no tag: 25-byte header + 1024 storage bytes. */
function computeSwapBytes(f: { side: number; input: bigint; rx: bigint; ry: bigint }, storage: Uint8Array): Uint8Array {
  const b = new Uint8Array(25 + 1024);
  b[0] = f.side;
  putLE(b, 1, 8, f.input);
  putLE(b, 9, 8, f.rx);
  putLE(b, 17, 8, f.ry);
  b.set(storage, 25);
  return b;
}

describe("the hand-built byte helpers (the test's own truth)", () => {
  it("write little-endian: least significant byte first", () => {
    const b = new Uint8Array(12);
    putLE(b, 1, 8, 0x0102030405060708n);
    expect(bytes(b.subarray(1, 9))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    putF32(b, 0, 1); // 1.0f = 0x3f800000
    expect(bytes(b.subarray(0, 4))).toEqual([0x00, 0x00, 0x80, 0x3f]);
    putF64(b, 0, -2); // -2.0 = 0xc000000000000000
    expect(bytes(b.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0]);
  });
});

describe("nano conversion (spec §1)", () => {
  it("U64_MAX is 2^64 - 1", () => {
    expect(U64_MAX).toBe(TWO_64_MINUS_1);
    expect(TWO_64_MINUS_1).toBe(18446744073709551615n);
  });

  it("floors v * 1e9; NaN, zero and negatives give 0", () => {
    expect(toNano(1)).toBe(1_000_000_000n);
    expect(toNano(1.5e-9)).toBe(1n);
    expect(toNano(2.9999999999)).toBe(2_999_999_999n);
    expect(toNano(0.5e-9)).toBe(0n);
    expect(toNano(0)).toBe(0n);
    expect(toNano(-0)).toBe(0n);
    expect(toNano(-3)).toBe(0n);
    expect(toNano(-1e-12)).toBe(0n);
    expect(toNano(NaN)).toBe(0n);
    expect(toNano(-Infinity)).toBe(0n);
  });

  it("saturates at 2^64 - 1 for +Infinity and at or above 2^64, not below", () => {
    expect(toNano(Infinity)).toBe(TWO_64_MINUS_1);
    expect(toNano(1e12)).toBe(TWO_64_MINUS_1); // 1e21 nano > 2^64
    const atTwo64 = 2 ** 64 / 1e9;
    expect(atTwo64 * 1e9).toBe(2 ** 64); // exactly 2^64 in doubles: the boundary is "at or above"
    expect(toNano(atTwo64)).toBe(TWO_64_MINUS_1);
    // The double just below it scales to 2^64 - 2048 (doubles near 2^64 are 2048 apart): exact.
    const below = 18446744073.70955;
    expect(below * 1e9).toBe(2 ** 64 - 2048);
    expect(toNano(below)).toBe(2n ** 64n - 2048n);
  });

  it("decodes by dividing by 1e9", () => {
    expect(fromNano(2_500_000_000n)).toBe(2.5);
    expect(fromNano(1n)).toBe(1e-9);
    expect(fromNano(0n)).toBe(0);
    expect(fromNano(TWO_64_MINUS_1)).toBe(2 ** 64 / 1e9);
  });

  it("a saturated amount travels as eight 0xff bytes", () => {
    const buf = encodeComputeSwap({ side: 0, inputAmount: Infinity, reserveX: 1e12, reserveY: 1 }, storagePattern());
    expect(bytes(buf.subarray(1, 9))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(bytes(buf.subarray(9, 17))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it("setNano writes toNano's u64 in place, little-endian, touching only its 8 bytes", () => {
    // Expected bytes: toNano (checked by hand above) laid out by putLE. Values: the cases above,
    // both sides of 2^32 nano (where the high half starts), 2^64 (saturates) and the double just
    // below it (2^64 - 2048, the largest exact one), and a log-uniform spread from 1e-9 to 1e10.
    const values = [1, 1.5e-9, 2.9999999999, 0.5e-9, 0, -0, -3, -1e-12, NaN, -Infinity, Infinity, 1e12];
    values.push(2 ** 32 / 1e9, 4.294967295, 4.294967296, 4.294967297, 2 ** 64 / 1e9, 18446744073.70955);
    for (let k = 0; k < 200; k++) values.push(10 ** (-9 + (19 * k) / 199) * (1 + k / 997));
    const off = 3; // an unaligned offset inside a larger buffer
    for (const v of values) {
      const got = new Uint8Array(16).fill(0xa5);
      setNano(new DataView(got.buffer), off, v);
      const want = new Uint8Array(16).fill(0xa5);
      putLE(want, off, 8, toNano(v));
      expect(bytes(got), `v = ${v}`).toEqual(bytes(want));
    }
    const max = new Uint8Array(8);
    setNano(new DataView(max.buffer), 0, 2 ** 64 / 1e9);
    expect(bytes(max)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });
});

describe("after-swap layout (tag 2, 92 + 1024 bytes)", () => {
  // Every field gets a different value, several with all their bytes non-zero, so a swapped
  // offset, a wrong width or a big-endian read shows.
  const ev: AfterSwapEvent = {
    side: 1,
    inputAmount: 1.25,
    outputAmount: 123.456789,
    reserveX: 101.25,
    reserveY: 9876.5,
    simStep: 2 ** 40 + 4321,
    epochStep: 0x01020304,
    epochNumber: 0xa0b0c0d,
    nStrategies: 3,
    strategyIndex: 2,
    flowCaptured: 0.375,
    capitalWeight: 0.625,
    competingSpotPrices: Float64Array.from([99.5, 100.25, 101.75, 0.5, 7, 8.25, -1.5, 1024]),
  };
  const storage = storagePattern();
  const hand = afterSwapBytes(
    {
      side: 1,
      input: 1_250_000_000n,
      output: 123_456_789_000n,
      rx: 101_250_000_000n,
      ry: 9_876_500_000_000n,
      simStep: 2n ** 40n + 4321n,
      epochStep: 0x01020304,
      epochNumber: 0xa0b0c0d,
      nStrategies: 3,
      strategyIndex: 2,
      flow: 0.375,
      weight: 0.625,
      prices: [99.5, 100.25, 101.75, 0.5, 7, 8.25, -1.5, 1024],
    },
    storage,
  );

  it("is 1116 bytes", () => {
    expect(AFTER_SWAP_BYTES).toBe(1116);
    expect(hand.byteLength).toBe(1116);
  });

  it("encodes byte for byte as the spec's table", () => {
    const buf = encodeAfterSwap(ev, storage);
    expect(buf.byteLength).toBe(1116);
    expect(bytes(buf)).toEqual(bytes(hand));
  });

  it("decodes every field from the spec's offsets", () => {
    const { event, storage: st } = decodeAfterSwap(hand);
    expect(event).toStrictEqual(ev);
    expect(st.byteLength).toBe(1024);
    expect(bytes(st)).toEqual(bytes(storage));
  });

  it("pads missing competing prices with NaN and rounds prices to f32", () => {
    const short = { ...ev, competingSpotPrices: Float64Array.from([0.1, 3]) };
    const buf = encodeAfterSwap(short, storage);
    const want = afterSwapBytes(
      {
        side: 1,
        input: 1_250_000_000n,
        output: 123_456_789_000n,
        rx: 101_250_000_000n,
        ry: 9_876_500_000_000n,
        simStep: 2n ** 40n + 4321n,
        epochStep: 0x01020304,
        epochNumber: 0xa0b0c0d,
        nStrategies: 3,
        strategyIndex: 2,
        flow: 0.375,
        weight: 0.625,
        prices: [0.1, 3, NaN, NaN, NaN, NaN, NaN, NaN],
      },
      storage,
    );
    expect(bytes(buf)).toEqual(bytes(want));
    const prices = decodeAfterSwap(buf).event.competingSpotPrices;
    expect(prices.length).toBe(8);
    expect(prices[0]).toBe(Math.fround(0.1));
    expect(prices[1]).toBe(3);
    for (let k = 2; k < 8; k++) expect(prices[k]).toBeNaN();
  });

  it("writes into a larger output buffer it is given and returns it", () => {
    const out = new Uint8Array(1200).fill(0xee);
    const buf = encodeAfterSwap(ev, storage, out);
    expect(buf).toBe(out);
    expect(bytes(out.subarray(0, 1116))).toEqual(bytes(hand));
    expect(bytes(out.subarray(1116))).toEqual(new Array(1200 - 1116).fill(0xee));
  });

  it("decodes a longer buffer by its first 1116 bytes, storage copied out", () => {
    const longer = new Uint8Array(1120).fill(0x33);
    longer.set(hand);
    const { event, storage: st } = decodeAfterSwap(longer);
    expect(event).toStrictEqual(ev);
    expect(bytes(st)).toEqual(bytes(storage));
    st[0] ^= 0xff; // a copy: the payload is unchanged
    expect(longer[92]).toBe(storage[0]);
  });

  it("round-trips a second event (side 0, other values)", () => {
    const ev2: AfterSwapEvent = {
      ...ev,
      side: 0,
      inputAmount: 0.5,
      outputAmount: 1e9, // 1e18 nano: every byte of the u64 in use
      simStep: 0,
      epochStep: 0xffffffff,
      epochNumber: 0,
      nStrategies: 255,
      strategyIndex: 0,
      flowCaptured: -0.125,
      capitalWeight: 1,
    };
    const st2 = storagePattern(200);
    const { event, storage: st } = decodeAfterSwap(encodeAfterSwap(ev2, st2));
    expect(event).toStrictEqual(ev2);
    expect(bytes(st)).toEqual(bytes(st2));
  });

  it("rejects short buffers, wrong tags and wrong storage sizes with a message", () => {
    expect(() => decodeAfterSwap(new Uint8Array(1115))).toThrow(
      new RangeError("after-swap payload needs 1116 bytes, got 1115"),
    );
    expect(() => encodeAfterSwap(ev, storage, new Uint8Array(1115))).toThrow(
      new RangeError("after-swap payload needs 1116 bytes, got 1115"),
    );
    const bad = hand.slice();
    bad[0] = 5;
    expect(() => decodeAfterSwap(bad)).toThrow(new RangeError("after-swap tag must be 2, got 5"));
    for (const n of [1023, 1025]) {
      expect(() => encodeAfterSwap(ev, new Uint8Array(n))).toThrow(
        new RangeError(`storage must be 1024 bytes, got ${n}`),
      );
    }
  });
});

describe("epoch-boundary layout (tag 5, 41 + 1024 bytes)", () => {
  const ev: EpochEvent = {
    epochNumber: 0x01020304,
    newReserveX: 50.5,
    newReserveY: 5050,
    epochEdge: -12.75,
    cumulativeEdge: 345.125,
    capitalWeight: 0.25,
  };
  const storage = storagePattern(77);
  const hand = epochBytes(
    {
      epochNumber: 0x01020304,
      rx: 50_500_000_000n,
      ry: 5_050_000_000_000n,
      edge: -12.75,
      cumulative: 345.125,
      weight: 0.25,
    },
    storage,
  );

  it("is 1065 bytes and encodes byte for byte as the spec's table", () => {
    expect(EPOCH_BYTES).toBe(1065);
    const buf = encodeEpochBoundary(ev, storage);
    expect(buf.byteLength).toBe(1065);
    expect(bytes(buf)).toEqual(bytes(hand));
  });

  it("decodes every field from the spec's offsets", () => {
    const { event, storage: st } = decodeEpochBoundary(hand);
    expect(event).toStrictEqual(ev);
    expect(st.byteLength).toBe(1024);
    expect(bytes(st)).toEqual(bytes(storage));
  });

  it("keeps the edges exact f64 and rounds the weight to f32", () => {
    const ev2: EpochEvent = {
      epochNumber: 1,
      newReserveX: 1e9,
      newReserveY: 0.001,
      epochEdge: 0.1,
      cumulativeEdge: -1e-300,
      capitalWeight: 0.1,
    };
    const buf = encodeEpochBoundary(ev2, storage);
    expect(bytes(buf)).toEqual(
      bytes(
        epochBytes(
          { epochNumber: 1, rx: 10n ** 18n, ry: 1_000_000n, edge: 0.1, cumulative: -1e-300, weight: 0.1 },
          storage,
        ),
      ),
    );
    const { event } = decodeEpochBoundary(buf);
    expect(event).toStrictEqual({ ...ev2, capitalWeight: Math.fround(0.1) });
  });

  it("writes into a larger output buffer it is given", () => {
    const out = new Uint8Array(1100);
    expect(encodeEpochBoundary(ev, storage, out)).toBe(out);
    expect(bytes(out.subarray(0, 1065))).toEqual(bytes(hand));
  });

  it("rejects short buffers, wrong tags and wrong storage sizes with a message", () => {
    expect(() => decodeEpochBoundary(new Uint8Array(1064))).toThrow(
      new RangeError("epoch-boundary payload needs 1065 bytes, got 1064"),
    );
    expect(() => encodeEpochBoundary(ev, storage, new Uint8Array(1064))).toThrow(
      new RangeError("epoch-boundary payload needs 1065 bytes, got 1064"),
    );
    const bad = hand.slice();
    bad[0] = 2;
    expect(() => decodeEpochBoundary(bad)).toThrow(new RangeError("epoch-boundary tag must be 5, got 2"));
    for (const n of [1023, 1025]) {
      expect(() => encodeEpochBoundary(ev, new Uint8Array(n))).toThrow(
        new RangeError(`storage must be 1024 bytes, got ${n}`),
      );
    }
  });
});

describe("compute-swap layout (no tag, 25 + 1024 bytes)", () => {
  const q: ComputeSwapQuery = { side: 1, inputAmount: 3.5, reserveX: 100.125, reserveY: 1e9 };
  const storage = storagePattern(5);
  const hand = computeSwapBytes({ side: 1, input: 3_500_000_000n, rx: 100_125_000_000n, ry: 10n ** 18n }, storage);

  it("is 1049 bytes and encodes byte for byte as the spec's table", () => {
    expect(COMPUTE_SWAP_BYTES).toBe(1049);
    const buf = encodeComputeSwap(q, storage);
    expect(buf.byteLength).toBe(1049);
    expect(bytes(buf)).toEqual(bytes(hand));
  });

  it("decodes every field from the spec's offsets", () => {
    const { query, storage: st } = decodeComputeSwap(hand);
    expect(query).toStrictEqual(q);
    expect(st.byteLength).toBe(1024);
    expect(bytes(st)).toEqual(bytes(storage));
  });

  it("decodes side 0", () => {
    const h0 = computeSwapBytes({ side: 0, input: 7n, rx: 1n, ry: 2n }, storage);
    expect(decodeComputeSwap(h0).query).toStrictEqual({ side: 0, inputAmount: 7e-9, reserveX: 1e-9, reserveY: 2e-9 });
  });

  it("writes into a larger output buffer it is given", () => {
    const out = new Uint8Array(1050);
    expect(encodeComputeSwap(q, storage, out)).toBe(out);
    expect(bytes(out.subarray(0, 1049))).toEqual(bytes(hand));
  });

  it("rejects short buffers, sides other than 0 and 1 and wrong storage sizes with a message", () => {
    expect(() => decodeComputeSwap(new Uint8Array(1048))).toThrow(
      new RangeError("compute-swap payload needs 1049 bytes, got 1048"),
    );
    expect(() => encodeComputeSwap(q, storage, new Uint8Array(1048))).toThrow(
      new RangeError("compute-swap payload needs 1049 bytes, got 1048"),
    );
    const bad = hand.slice();
    bad[0] = 2;
    expect(() => decodeComputeSwap(bad)).toThrow(new RangeError("compute-swap side must be 0 or 1, got 2"));
    for (const n of [1023, 1025]) {
      expect(() => encodeComputeSwap(q, new Uint8Array(n))).toThrow(
        new RangeError(`storage must be 1024 bytes, got ${n}`),
      );
    }
  });
});
