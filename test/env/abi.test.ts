import { describe, expect, it } from "vitest";
import {
  AFTER_SWAP_BYTES,
  COMPUTE_SWAP_BYTES,
  EPOCH_BYTES,
  decodeAfterSwap,
  decodeComputeSwap,
  decodeEpochBoundary,
  encodeAfterSwap,
  encodeComputeSwap,
  encodeEpochBoundary,
  fromNano,
  toNano,
  U64_MAX,
} from "../../env/abi.js";
import type { AfterSwapEvent } from "../../env/strategy.js";

function storagePattern(): Uint8Array {
  const s = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) s[i] = (i * 37 + 11) & 0xff;
  return s;
}

const le = (buf: Uint8Array) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

describe("nano conversion (spec §1)", () => {
  it("floors v * 1e9 and saturates", () => {
    expect(toNano(1)).toBe(1_000_000_000n);
    expect(toNano(1.5e-9)).toBe(1n);
    expect(toNano(0)).toBe(0n);
    expect(toNano(-3)).toBe(0n);
    expect(toNano(NaN)).toBe(0n);
    expect(toNano(Infinity)).toBe(U64_MAX);
    expect(toNano(1e12)).toBe(U64_MAX); // 1e21 nano > 2^64
    expect(toNano(-Infinity)).toBe(0n);
    expect(fromNano(2_500_000_000n)).toBe(2.5);
  });
});

describe("after-swap layout (tag 2, 92 + 1024 bytes)", () => {
  const ev: AfterSwapEvent = {
    side: 1,
    inputAmount: 1.25,
    outputAmount: 123.456789,
    reserveX: 101.25,
    reserveY: 9876.5,
    simStep: 4321,
    epochStep: 321,
    epochNumber: 4,
    nStrategies: 3,
    strategyIndex: 1,
    flowCaptured: 0.375,
    capitalWeight: 0.625,
    competingSpotPrices: Float64Array.from([99.5, 100.25, NaN, NaN, NaN, NaN, NaN, NaN]),
  };
  const storage = storagePattern();
  const buf = encodeAfterSwap(ev, storage);
  const v = le(buf);

  it("has every field at its offset", () => {
    expect(AFTER_SWAP_BYTES).toBe(1116);
    expect(buf.byteLength).toBe(1116);
    expect(v.getUint8(0)).toBe(2);
    expect(v.getUint8(1)).toBe(1);
    expect(v.getBigUint64(2, true)).toBe(1_250_000_000n);
    expect(v.getBigUint64(10, true)).toBe(123_456_789_000n);
    expect(v.getBigUint64(18, true)).toBe(101_250_000_000n);
    expect(v.getBigUint64(26, true)).toBe(9_876_500_000_000n);
    expect(v.getBigUint64(34, true)).toBe(4321n);
    expect(v.getUint32(42, true)).toBe(321);
    expect(v.getUint32(46, true)).toBe(4);
    expect(v.getUint8(50)).toBe(3);
    expect(v.getUint8(51)).toBe(1);
    expect(v.getFloat32(52, true)).toBe(0.375);
    expect(v.getFloat32(56, true)).toBe(0.625);
    expect(v.getFloat32(60, true)).toBe(99.5);
    expect(v.getFloat32(64, true)).toBe(100.25);
    for (let k = 2; k < 8; k++) expect(Number.isNaN(v.getFloat32(60 + 4 * k, true))).toBe(true);
    expect(Array.from(buf.subarray(92))).toEqual(Array.from(storage));
  });

  it("decodes what it encodes", () => {
    const { event, storage: st } = decodeAfterSwap(buf);
    expect(event.side).toBe(1);
    expect(event.simStep).toBe(4321);
    expect(event.reserveY).toBe(9876.5);
    expect(event.competingSpotPrices[1]).toBe(100.25);
    expect(Array.from(st)).toEqual(Array.from(storage));
  });
});

describe("epoch-boundary layout (tag 5, 41 + 1024 bytes)", () => {
  it("has every field at its offset", () => {
    const storage = storagePattern();
    const buf = encodeEpochBoundary(
      {
        epochNumber: 7,
        newReserveX: 50.5,
        newReserveY: 5050,
        epochEdge: -12.75,
        cumulativeEdge: 345.125,
        capitalWeight: 0.25,
      },
      storage,
    );
    const v = le(buf);
    expect(EPOCH_BYTES).toBe(1065);
    expect(v.getUint8(0)).toBe(5);
    expect(v.getUint32(1, true)).toBe(7);
    expect(v.getBigUint64(5, true)).toBe(50_500_000_000n);
    expect(v.getBigUint64(13, true)).toBe(5_050_000_000_000n);
    expect(v.getFloat64(21, true)).toBe(-12.75);
    expect(v.getFloat64(29, true)).toBe(345.125);
    expect(v.getFloat32(37, true)).toBe(0.25);
    expect(Array.from(buf.subarray(41))).toEqual(Array.from(storage));
    expect(decodeEpochBoundary(buf).event.cumulativeEdge).toBe(345.125);
  });
});

describe("compute-swap layout (25 + 1024 bytes)", () => {
  it("has every field at its offset", () => {
    const storage = storagePattern();
    const buf = encodeComputeSwap({ side: 0, inputAmount: 3, reserveX: 100, reserveY: 10000 }, storage);
    const v = le(buf);
    expect(COMPUTE_SWAP_BYTES).toBe(1049);
    expect(v.getUint8(0)).toBe(0);
    expect(v.getBigUint64(1, true)).toBe(3_000_000_000n);
    expect(v.getBigUint64(9, true)).toBe(100_000_000_000n);
    expect(v.getBigUint64(17, true)).toBe(10_000_000_000_000n);
    expect(Array.from(buf.subarray(25))).toEqual(Array.from(storage));
    expect(decodeComputeSwap(buf).query.reserveY).toBe(10000);
  });

  it("rejects short buffers and bad tags with a message", () => {
    expect(() => decodeComputeSwap(new Uint8Array(10))).toThrow(/needs 1049 bytes/);
    const bad = new Uint8Array(AFTER_SWAP_BYTES);
    bad[0] = 9;
    expect(() => decodeAfterSwap(bad)).toThrow(/tag must be 2/);
  });
});
