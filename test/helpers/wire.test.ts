/** The hand-written wire array codec against IEEE-754 bytes written out here. */
import { describe, expect, it } from "vitest";
import { fromWire, packr, toWire } from "./wire.js";

describe("wire arrays", () => {
  it("toWire writes little-endian IEEE-754 bytes", () => {
    // 1.5 = 0x3FF8000000000000 (float64) = 0x3FC00000 (float32); -2 = 0xC000000000000000 = 0xC0000000.
    expect(Array.from(toWire([1.5, -2], "float64", [2]).data as Uint8Array)).toEqual([
      0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0,
    ]);
    expect(Array.from(toWire([1.5, -2], "float32", [1, 2]).data as Uint8Array)).toEqual([
      0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0,
    ]);
  });

  it("fromWire reads them back, also from a bin at an offset inside a larger buffer", () => {
    const bytes = new Uint8Array([9, 9, 9, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
    expect(fromWire({ dtype: "float32", shape: [2], data: bytes.subarray(3) }, "float32", [2])).toEqual([1.5, -2]);
    expect(fromWire({ dtype: "uint8", shape: [3], data: bytes.subarray(0, 3) }, "uint8", [3])).toEqual([9, 9, 9]);
    const through = packr.unpack(packr.pack(toWire([0.1, 1e300, -0], "float64", [3])));
    expect(fromWire(through, "float64", [3])).toEqual([0.1, 1e300, -0]);
  });

  it("fromWire fails on a wrong dtype, shape, byte length or extra key", () => {
    const good = toWire([1, 2], "float32", [2]);
    expect(() => fromWire(good, "float64", [2])).toThrow();
    expect(() => fromWire(good, "float32", [3])).toThrow();
    expect(() => fromWire({ ...good, data: new Uint8Array(7) }, "float32", [2])).toThrow();
    expect(() => fromWire({ ...good, extra: 1 }, "float32", [2])).toThrow();
  });
});
