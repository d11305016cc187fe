/**
 * The shared seeded PRNG: the draws every randomised test's cases come from. The pinned values
 * are what the copies of mulberry32 in the tests produced before they were merged here, so a
 * change to the generator (which would silently change every test's cases) fails here first.
 */
import { describe, expect, it } from "vitest";
import { FuzzRng, intIn, logUniform, mulberry32, uniform } from "./prng.js";

const TWO_32 = 4294967296;

describe("mulberry32", () => {
  it("gives the pinned first draws for seeds 0, 7 and 0xa11ce", () => {
    const pins: [number, number[]][] = [
      [0, [1144304738, 1416247, 958946056, 627933444]],
      [7, [50271532, 266108690, 4195786334, 3002305430]],
      [0xa11ce, [3191830399, 2415238474, 958955856, 3259582577]],
    ];
    for (const [seed, words] of pins) {
      const rng = mulberry32(seed);
      expect(words.map(() => rng())).toEqual(words.map((k) => k / TWO_32));
    }
  });

  it("draws in [0, 1), and a seed is taken modulo 2^32", () => {
    const rng = mulberry32(123);
    for (let i = 0; i < 10_000; i++) {
      const x = rng();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    const a = mulberry32(5);
    const b = mulberry32(5 + TWO_32);
    for (let i = 0; i < 10; i++) expect(b()).toBe(a());
  });
});

describe("draw helpers", () => {
  const lowest = () => 0;
  const highest = () => (TWO_32 - 1) / TWO_32;

  it("intIn reaches both ends of [lo, hi] and nothing outside", () => {
    expect(intIn(lowest, 2, 5)).toBe(2);
    expect(intIn(highest, 2, 5)).toBe(5);
    const rng = mulberry32(9);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(intIn(rng, -1, 1));
    expect([...seen].sort()).toEqual([-1, 0, 1]);
  });

  it("uniform and logUniform map the unit interval onto [lo, hi)", () => {
    expect(uniform(lowest, 3, 7)).toBe(3);
    expect(uniform(() => 0.25, 3, 7)).toBe(4);
    expect(logUniform(lowest, 1e-6, 1)).toBeCloseTo(1e-6, 18);
    expect(logUniform(() => 0.5, 1e-6, 1)).toBeCloseTo(1e-3, 15);
    expect(logUniform(highest, 1e-6, 1)).toBeLessThan(1);
  });
});

describe("FuzzRng", () => {
  it("is the mulberry32 stream, one draw per int, chance and pick", () => {
    const ref = mulberry32(42);
    const r = new FuzzRng(42);
    expect(r.next()).toBe(ref());
    expect(r.int(10)).toBe(Math.floor(ref() * 10));
    expect(r.chance(0.5)).toBe(ref() < 0.5);
    expect(r.pick(["a", "b", "c"])).toBe(["a", "b", "c"][Math.floor(ref() * 3)]);
    const bytes = r.bytes(4);
    expect(Array.from(bytes)).toEqual([0, 1, 2, 3].map(() => Math.floor(ref() * 256)));
    expect(r.word(6)).toHaveLength(6);
  });
});
