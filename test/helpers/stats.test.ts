/** The shared statistics helpers against values worked out by hand. */
import { describe, expect, it } from "vitest";
import { mean, paired, sampleStd, sampleVariance, standardError } from "./stats.js";

describe("sample statistics", () => {
  it("mean, unbiased variance, standard deviation and standard error of a known sample", () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9]; // mean 5, sum of squared deviations 32
    expect(mean(xs)).toBe(5);
    expect(sampleVariance(xs)).toBe(32 / 7);
    expect(sampleStd(xs)).toBe(Math.sqrt(32 / 7));
    expect(standardError(xs)).toBeCloseTo(Math.sqrt(4 / 7), 15);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  it("paired: mean and t of the differences", () => {
    // d = [2, 3, 4]: mean 3, sd 1, t = 3 / (1 / sqrt 3) = 3 sqrt 3.
    const r = paired([3, 5, 7], [1, 2, 3]);
    expect(r.mean).toBe(3);
    expect(r.t).toBeCloseTo(3 * Math.sqrt(3), 12);
    // The sign follows a - b.
    expect(paired([1, 2, 3], [3, 5, 7]).t).toBeCloseTo(-3 * Math.sqrt(3), 12);
  });
});
