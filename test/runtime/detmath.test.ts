import { describe, expect, it } from "vitest";
import { detExp, detLog, detTanh, pow2 } from "../../runtime/detmath.js";
import { mulberry32 } from "../helpers/prng.js";

/** Distance in units in the last place of `ref`. */
function ulps(a: number, ref: number): number {
  if (a === ref) return 0;
  return Math.abs(a - ref) / (Math.abs(ref) * Number.EPSILON);
}

describe("deterministic math (runtime/detmath.ts)", () => {
  it("pow2 is exact", () => {
    for (const k of [-1022, -100, -1, 0, 1, 10, 52, 1023]) expect(pow2(k)).toBe(2 ** k);
  });

  it("exp, log and tanh stay within 3 ulp of the platform's over a wide range", () => {
    // The worst case of each function over the samples, asserted once with the input that gave it:
    // 150,000 expect() calls cost more than the functions themselves (and a mutation run repeats
    // this test for every surviving mutant).
    const rnd = mulberry32(7);
    const worst = { exp: [0, 0], log: [0, 0], tanh: [0, 0] };
    const track = (w: number[], err: number, x: number): void => {
      if (!(err <= w[0])) [w[0], w[1]] = [err, x]; // NaN counts as worst too
    };
    for (let i = 0; i < 50_000; i++) {
      const x = (rnd() - 0.5) * 80;
      track(worst.exp, ulps(detExp(x), Math.exp(x)), x);
      const y = Math.exp((rnd() - 0.5) * 100);
      // Relative to |log y| (log y near 0 is handled by the 1 +- tiny cases below), in units of 1 ulp of 1.
      track(worst.log, Math.abs(detLog(y) - Math.log(y)) / (Number.EPSILON * Math.max(1, Math.abs(Math.log(y)))), y);
      const z = (rnd() - 0.5) * 10;
      track(worst.tanh, ulps(detTanh(z), Math.tanh(z)), z);
    }
    for (const [name, [err, at]] of Object.entries(worst)) expect(err, `${name} at ${at}`).toBeLessThanOrEqual(3);
  });

  it("keeps relative precision near the cancellation points", () => {
    for (const d of [1e-15, 1e-12, 1e-8, 1e-4]) {
      expect(ulps(detLog(1 + d), Math.log(1 + d))).toBeLessThanOrEqual(3);
      expect(ulps(detLog(1 - d), Math.log(1 - d))).toBeLessThanOrEqual(3);
      expect(ulps(detTanh(d), Math.tanh(d))).toBeLessThanOrEqual(3);
      expect(ulps(detTanh(-d), Math.tanh(-d))).toBeLessThanOrEqual(3);
    }
  });

  it("handles special values like the IEEE functions", () => {
    expect(detLog(1)).toBe(0);
    expect(detLog(0)).toBe(-Infinity);
    expect(detLog(Infinity)).toBe(Infinity);
    expect(detLog(-1)).toBeNaN();
    expect(detLog(5e-324)).toBeCloseTo(Math.log(5e-324), 10);
    expect(detExp(0)).toBe(1);
    expect(detExp(1000)).toBe(Infinity);
    expect(detExp(-1000)).toBe(0);
    expect(detExp(NaN)).toBeNaN();
    expect(detTanh(0)).toBe(0);
    expect(detTanh(50)).toBe(1);
    expect(detTanh(-50)).toBe(-1);
    expect(detTanh(NaN)).toBeNaN();
  });

  it("exp saturates to Infinity and 0 far outside its range, and reaches the range's ends", () => {
    for (const x of [709.79, 1e6, 1e300, Infinity]) expect(detExp(x)).toBe(Infinity);
    for (const x of [-746, -1e6, -1e300, -Infinity]) expect(detExp(x)).toBe(0);
    expect(detLog(NaN)).toBeNaN();
    // e^709 is finite (max double is e^709.78...); 3 ulp as in the sweep above.
    expect(ulps(detExp(709), Math.exp(709))).toBeLessThanOrEqual(3);
    // e^-745 rounds to the smallest subnormal, 2^-1074.
    expect(detExp(-745)).toBe(2 ** -1074);
    // Subnormal results (x < ln 2^-1022 = -708.39...): one rounding to the 2^-1074 grid each, so
    // detExp and the platform's exp differ by at most one grid step.
    for (let x = -745; x < -708.4; x += 0.37) {
      expect(Math.abs(detExp(x) - Math.exp(x))).toBeLessThanOrEqual(2 ** -1074);
    }
  });

  it("log is accurate where the series is longest, at m near sqrt(2) and sqrt(1/2)", () => {
    // |s| reaches 0.1716 there, so every term of the s^2 series counts; e = 0 keeps log x small
    // (0.35 at most), where the absolute 3 eps bound of the sweep above would hide them. The
    // 3-ulp bound is the file's accuracy claim.
    let worst = 0;
    let at = 0;
    for (let i = 0; i <= 2000; i++) {
      for (const x of [1.35 + (i * 0.0664) / 2000, 0.66 + (i * 0.0471) / 2000]) {
        const err = ulps(detLog(x), Math.log(x));
        if (!(err <= worst)) [worst, at] = [err, x]; // NaN counts as worst too
      }
    }
    expect(worst, `at ${at}`).toBeLessThanOrEqual(3);
  });

  it("tanh saturates at +-1 for huge and infinite x", () => {
    for (const x of [1000, 1e300, Infinity]) {
      expect(detTanh(x)).toBe(1);
      expect(detTanh(-x)).toBe(-1);
    }
  });

  it("log inverts exp up to the conditioning of the round trip", () => {
    // exp rounds to 1 ulp of e^x, which log turns into an absolute error of about eps:
    // the bound is absolute (eps * max(1, |x|)), not relative to a small x.
    for (const x of [-700, -20, -1, -1e-3, 1e-3, 0.5, 1, 3, 20, 700]) {
      expect(Math.abs(detLog(detExp(x)) - x)).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(1, Math.abs(x)));
    }
  });
});
