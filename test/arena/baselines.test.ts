/**
 * Fixed-fee baselines (arena/baselines.ts) on small synthetic fee x seed matrices, against brute
 * force, hand computation and the textbook statistics of test/helpers/stats.ts.
 */
import { describe, expect, it } from "vitest";
import {
  applyRegimeTable,
  bestSingleFee,
  binOf,
  defaultBins,
  defaultFitSeedStart,
  type FeeMatrix,
  fitRegimeTable,
  fixedFeeBaselines,
  hindsightResults,
  type RegimeBins,
  sliceDifferences,
} from "../../arena/baselines.js";
import { mean, sampleStd, standardError } from "../helpers/stats.js";

/** A small deterministic generator (LCG), independent of the project's streams. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function matrix(
  fees: number[],
  seeds: number[],
  markets: FeeMatrix["markets"],
  vs: number[][],
  edge = vs.map((r) => r.map((x) => x + 100)),
): FeeMatrix {
  return { fees, seeds, markets, edge, vsNormalizer: vs };
}

function randomMatrix(nFees: number, nSeeds: number, seed: number, firstSeed = 0): FeeMatrix {
  const u = lcg(seed);
  const markets = Array.from({ length: nSeeds }, () => ({
    sigma: 0.0001 + u() * 0.0069,
    normalizerFeeBps: 30 + Math.floor(u() * 51),
  }));
  const vs = Array.from({ length: nFees }, () => Array.from({ length: nSeeds }, () => u() * 20 - 10));
  const edge = Array.from({ length: nFees }, () => Array.from({ length: nSeeds }, () => u() * 20 - 10));
  return matrix(
    Array.from({ length: nFees }, (_, f) => 10 * (f + 1)),
    Array.from({ length: nSeeds }, (_, i) => firstSeed + i),
    markets,
    vs,
    edge,
  );
}

// One sigma cut at 0.003 and one normalizer-fee cut at 50: four cells.
const BINS: RegimeBins = { sigmaCuts: [0.003], normFeeCuts: [50] };
const LOW_LOW = { sigma: 0.001, normalizerFeeBps: 40 };
const LOW_HIGH = { sigma: 0.001, normalizerFeeBps: 60 };
const HIGH_LOW = { sigma: 0.005, normalizerFeeBps: 40 };

describe("fixed-fee baselines", () => {
  it("picks the single fee with the highest mean edge vs the normalizer, and by raw edge, as brute force does", () => {
    for (let trial = 0; trial < 20; trial++) {
      const m = randomMatrix(7, 11, trial + 1);
      const by = (rows: number[][]): number => {
        const means = rows.map((r) => mean(r));
        return means.indexOf(Math.max(...means));
      };
      expect(bestSingleFee(m)).toBe(by(m.vsNormalizer));
      expect(bestSingleFee(m, "edge")).toBe(by(m.edge));
    }
    // By hand: fee 10 averages 2, fee 20 averages 3 vs the normalizer; by raw edge fee 10 wins.
    const m = matrix(
      [10, 20],
      [0, 1],
      [LOW_LOW, LOW_LOW],
      [
        [1, 3],
        [2, 4],
      ],
      [
        [9, 9],
        [0, 0],
      ],
    );
    expect(bestSingleFee(m)).toBe(1);
    expect(bestSingleFee(m, "edge")).toBe(0);
  });

  it("fits the regime table on the fit seeds only: fit and evaluation data that disagree show no leakage", () => {
    // Fit seeds: in the low/low cell fee 30 is best, in high/low fee 10, and over all fit seeds fee 20.
    const fit = matrix(
      [10, 20, 30],
      [500, 501, 502, 503],
      [LOW_LOW, LOW_LOW, HIGH_LOW, LOW_HIGH],
      [
        [0, 0, 5, 0],
        [1, 1, 4, 9],
        [2, 2, 0, 0],
      ],
    );
    // Evaluation seeds: fee 10 is best everywhere, so a table fitted here would say 10 in every cell.
    const ev = matrix(
      [10, 20, 30],
      [0, 1, 2, 3],
      [LOW_LOW, HIGH_LOW, LOW_HIGH, { sigma: 0.006, normalizerFeeBps: 70 }],
      [
        [9, 9, 9, 9],
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
    );
    const t = fitRegimeTable(fit, BINS);
    expect(t.cells.map((c) => [c.sigmaBin, c.normFeeBin, c.fitSeeds, c.fee, c.fallback])).toEqual([
      [0, 0, 2, 2, false], // low sigma, low norm fee: fee 30 (mean 2 over seeds 500, 501)
      [0, 1, 1, 1, false], // low sigma, high norm fee: fee 20 (9)
      [1, 0, 1, 0, false], // high sigma, low norm fee: fee 10 (5)
      [1, 1, 0, 1, true], // no fit seed: the fit's best single fee, 20 (mean 3.75), not the evaluation's 10
    ]);
    expect(t.fallbackFee).toBe(1);
    const played = applyRegimeTable(t, ev);
    expect(played.fee).toEqual([30, 10, 20, 20]);
    expect(played.vsNormalizer).toEqual([5, 9, 3, 4]);
    expect(played.edge).toEqual([105, 109, 103, 104]);
    const report = fixedFeeBaselines(ev, fit, BINS);
    expect(report.bestFee).toBe(10);
    expect(report.rows.map((r) => [r.name, r.kind])).toEqual([
      ["fixed:10 (best vs norm)", "strategy"],
      ["regime table", "fitted table"],
      ["best fee per seed", "hindsight ceiling"],
    ]);
    expect(report.rows[1].vsNormalizer.mean).toBe(mean([5, 9, 3, 4]));
    expect(() => fixedFeeBaselines(ev, { ...fit, seeds: [500, 501, 3, 503] }, BINS)).toThrow(/overlap/);
  });

  it("takes each seed's best fee in hindsight: the per-seed maximum over the grid", () => {
    const m = randomMatrix(9, 25, 42);
    const h = hindsightResults(m);
    m.seeds.forEach((_, i) => {
      const column = m.vsNormalizer.map((r) => r[i]);
      const f = column.indexOf(Math.max(...column));
      expect(h.vsNormalizer[i]).toBe(Math.max(...column));
      expect(h.fee[i]).toBe(m.fees[f]);
      expect(h.edge[i]).toBe(m.edge[f][i]);
    });
    const report = fixedFeeBaselines(m, null, BINS);
    const best = report.rows[0].perSeed.vsNormalizer;
    expect(h.vsNormalizer.every((x, i) => x >= best[i])).toBe(true);
  });

  it("gives paired differences per regime slice with the textbook mean and 95% CI", () => {
    const markets = [LOW_LOW, LOW_LOW, LOW_HIGH, HIGH_LOW, HIGH_LOW, HIGH_LOW, LOW_HIGH];
    const a = [3, 5, -1, 2, 8, 4, 0];
    const b = [1, 1, 1, 1, 1, 1, 1];
    const slices = sliceDifferences(BINS, markets, a, b);
    expect(slices.map((s) => [s.label, s.diff.n])).toEqual([
      ["all seeds", 7],
      ["sigma < 0.00300", 4],
      ["sigma >= 0.00300", 3],
      ["norm fee < 50.0", 5],
      ["norm fee >= 50.0", 2],
    ]);
    // Student t 95% quantiles by degrees of freedom (tables): 6 -> 2.447, 3 -> 3.182, 2 -> 4.303, 4 -> 2.776, 1 -> 12.706.
    const t95: Record<number, number> = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 6: 2.447 };
    const keep = [
      [0, 1, 2, 3, 4, 5, 6],
      [0, 1, 2, 6],
      [3, 4, 5],
      [0, 1, 3, 4, 5],
      [2, 6],
    ];
    slices.forEach((s, k) => {
      const d = keep[k].map((i) => a[i] - b[i]);
      expect(s.diff.mean).toBeCloseTo(mean(d), 12);
      expect(s.diff.std).toBeCloseTo(sampleStd(d), 12);
      expect(s.diff.ci95).toBeCloseTo(t95[d.length - 1] * standardError(d), 12);
      expect(s.winRate).toBe(d.filter((x) => x > 0).length / d.length);
    });
  });

  it("bins the market ranges in equal widths, a cut belonging to the bin above", () => {
    const bins = defaultBins(3, 3);
    expect(bins.sigmaCuts[0]).toBeCloseTo(0.0024, 15);
    expect(bins.sigmaCuts[1]).toBeCloseTo(0.0047, 15);
    expect(bins.normFeeCuts[0]).toBeCloseTo(30 + 50 / 3, 12);
    expect(bins.normFeeCuts[1]).toBeCloseTo(30 + 100 / 3, 12);
    expect([30, 46, 47, 63, 64, 80].map((f) => binOf(bins.normFeeCuts, f))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(binOf([0.003], 0.003)).toBe(1);
    expect(defaultBins(1, 1)).toEqual({ sigmaCuts: [], normFeeCuts: [] });
  });

  it("chooses default fit seeds that never overlap the evaluation seeds and stay below training's", () => {
    expect(defaultFitSeedStart(100_000, 1000, 1000)).toBe(300_000);
    expect(defaultFitSeedStart(299_500, 1000, 1000)).toBe(300_500);
    expect(defaultFitSeedStart(300_500, 100, 1000)).toBe(300_600);
    expect(defaultFitSeedStart(0, 200, 200)).toBe(300_000);
  });
});
