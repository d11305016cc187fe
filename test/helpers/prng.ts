/**
 * Seeded randomness for tests: mulberry32, a 32-bit generator small enough to read in full.
 *
 * The independent truth for "this seed names this sequence": every random scenario and fuzz
 * case in the tests draws from here, so a seed written in a test fixes its cases forever and
 * shares nothing with the engine's own streams (env/rng.ts), which the tests check. Changing a
 * line here changes every randomised test's cases; test/helpers/prng.test.ts pins the draws.
 */

/** A draw in [0, 1). */
export type Rng = () => number;

/** mulberry32 (Tommy Ettinger): returns k / 2^32 for a 32-bit k, so draws are in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [lo, hi): one draw. */
export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();

/** Log-uniform in [lo, hi): one draw, for sizes spanning orders of magnitude. */
export const logUniform = (rng: Rng, lo: number, hi: number): number =>
  Math.exp(uniform(rng, Math.log(lo), Math.log(hi)));

/** An integer in [lo, hi], both included: one draw. */
export const intIn = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** mulberry32 with the helpers a message fuzzer wants; each method consumes draws in a fixed order. */
export class FuzzRng {
  readonly next: Rng;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  /** n characters from a fixed alphabet with a few non-ASCII ones (é, ✓). */
  word(n: number): string {
    const letters = "abcdefghijklmnopqrstuvwxyzQXZ_-09é✓";
    return Array.from({ length: n }, () => this.pick([...letters])).join("");
  }
}
