/**
 * Sample statistics written out in their textbook forms, for tests that check reported numbers
 * (means, standard deviations, confidence intervals, paired differences) or set tolerances
 * from the data itself. The independent truth against arena/stats.ts and the CLI's tables:
 * nothing here imports project code. Sums run left to right from 0, so a test that recomputes
 * a printed value gets the same double as a plain loop would.
 */

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Unbiased sample variance (divides by n - 1). */
export function sampleVariance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

/** Sample standard deviation, sqrt of the unbiased variance. */
export function sampleStd(xs: readonly number[]): number {
  return Math.sqrt(sampleVariance(xs));
}

/** Standard error of the mean, sqrt(variance / n). */
export function standardError(xs: readonly number[]): number {
  return Math.sqrt(sampleVariance(xs) / xs.length);
}

/** Mean and t statistic, mean / (sd / sqrt(n)), of the paired differences a[i] - b[i]. */
export function paired(a: readonly number[], b: readonly number[]): { mean: number; t: number } {
  const d = a.map((x, i) => x - b[i]);
  const m = mean(d);
  return { mean: m, t: m / (sampleStd(d) / Math.sqrt(d.length)) };
}
