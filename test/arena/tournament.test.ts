/**
 * Bradley–Terry ratings (arena/bradley-terry.ts) and the tournament's rating of matches
 * (arena/tournament.ts), against independent truth: the closed form for two players, a
 * brute-force maximisation of the likelihood written here, and invariances of the model.
 */
import { describe, expect, it } from "vitest";
import { BradleyTerryError, fitBradleyTerry, type PairwiseRecord } from "../../arena/bradley-terry.js";
import { quantileSorted, rateMatches, type TournamentMatch, winsRecord } from "../../arena/tournament.js";
import { mulberry32 } from "../helpers/prng.js";

const two = (w: number, l: number): PairwiseRecord => ({
  players: 2,
  wins: [
    [0, w],
    [l, 0],
  ],
});

/** The log-likelihood, written out independently of the module. */
function ll(wins: number[][], r: number[]): number {
  let s = 0;
  for (let i = 0; i < r.length; i++)
    for (let j = 0; j < r.length; j++) if (i !== j) s += wins[i][j] * Math.log(1 / (1 + Math.exp(r[j] - r[i])));
  return s;
}

/** Brute force: coordinate-wise golden-section ascent from 0 with r[0] fixed, many sweeps. */
function bruteForce(wins: number[][]): number[] {
  const k = wins.length;
  const r = new Array<number>(k).fill(0);
  const g = (Math.sqrt(5) - 1) / 2;
  for (let sweep = 0; sweep < 300; sweep++) {
    for (let i = 1; i < k; i++) {
      let lo = r[i] - 8;
      let hi = r[i] + 8;
      const at = (v: number): number => {
        const x = [...r];
        x[i] = v;
        return ll(wins, x);
      };
      for (let it = 0; it < 80; it++) {
        const a = hi - g * (hi - lo);
        const b = lo + g * (hi - lo);
        if (at(a) > at(b)) hi = b;
        else lo = a;
      }
      r[i] = (lo + hi) / 2;
    }
  }
  const m = r.reduce((s, v) => s + v, 0) / k;
  return r.map((v) => v - m);
}

describe("Bradley–Terry fit", () => {
  it("for two players the MLE difference is log(w / (n - w)), and the Fisher SE is that of a binomial logit", () => {
    for (const [w, l] of [
      [7, 3],
      [1, 9],
      [50, 50],
      [123, 77],
      [2.5, 7.5],
    ]) {
      const fit = fitBradleyTerry(two(w, l));
      const n = w + l;
      const d = Math.log(w / l);
      expect(fit.ratings[0] - fit.ratings[1]).toBeCloseTo(d, 10);
      expect(fit.ratings[0] + fit.ratings[1]).toBeCloseTo(0, 12);
      const p = w / n;
      const sdDiff = 1 / Math.sqrt(n * p * (1 - p));
      expect(fit.se[0]).toBeCloseTo(sdDiff / 2, 10);
      const anchored = fitBradleyTerry(two(w, l), { anchor: 0 });
      expect(anchored.ratings[0]).toBe(0);
      expect(anchored.ratings[1]).toBeCloseTo(-d, 10);
      expect(anchored.se[0]).toBe(0);
      expect(anchored.se[1]).toBeCloseTo(sdDiff, 10);
    }
  });

  it("a prior of p games adds p/2 wins each way: log((w + p/2) / (n - w + p/2))", () => {
    const fit = fitBradleyTerry(two(10, 0), { prior: 1 });
    expect(fit.ratings[0] - fit.ratings[1]).toBeCloseTo(Math.log(10.5 / 0.5), 10);
    const fit4 = fitBradleyTerry(two(6, 2), { prior: 4 });
    expect(fit4.ratings[0] - fit4.ratings[1]).toBeCloseTo(Math.log(8 / 4), 10);
  });

  it("agrees with a brute-force maximisation of the likelihood for 3 and 4 players", () => {
    const rng = mulberry32(20261130);
    for (const k of [3, 4, 4, 3]) {
      const wins = Array.from({ length: k }, () => new Array<number>(k).fill(0));
      for (let i = 0; i < k; i++)
        for (let j = i + 1; j < k; j++) {
          const n = 5 + Math.floor(rng() * 30);
          const w = 1 + Math.floor(rng() * (n - 1));
          wins[i][j] = w;
          wins[j][i] = n - w;
        }
      const fit = fitBradleyTerry({ players: k, wins });
      const truth = bruteForce(wins);
      for (let i = 0; i < k; i++) expect(fit.ratings[i]).toBeCloseTo(truth[i], 5);
      expect(fit.logLikelihood).toBeGreaterThanOrEqual(ll(wins, truth) - 1e-9);
      expect(fit.logLikelihood).toBeCloseTo(ll(wins, fit.ratings), 9);
    }
  });

  it("is equivariant: permuting players permutes ratings, swapping wins and losses negates them, scaling counts changes nothing", () => {
    const wins = [
      [0, 6, 3, 8],
      [4, 0, 5, 2],
      [7, 5, 0, 6],
      [2, 8, 4, 0],
    ];
    const base = fitBradleyTerry({ players: 4, wins }).ratings;
    const perm = [2, 0, 3, 1];
    const permuted = perm.map((i) => perm.map((j) => wins[i][j]));
    const p = fitBradleyTerry({ players: 4, wins: permuted }).ratings;
    perm.forEach((orig, pos) => expect(p[pos]).toBeCloseTo(base[orig], 10));
    const swapped = wins.map((row, i) => row.map((_, j) => wins[j][i]));
    fitBradleyTerry({ players: 4, wins: swapped }).ratings.forEach((r, i) => expect(r).toBeCloseTo(-base[i], 10));
    const scaled = wins.map((row) => row.map((v) => v * 3));
    fitBradleyTerry({ players: 4, wins: scaled }).ratings.forEach((r, i) => expect(r).toBeCloseTo(base[i], 10));
    // The anchor only shifts: differences are the same, the anchor sits at 0.
    const anchored = fitBradleyTerry({ players: 4, wins }, { anchor: 2 }).ratings;
    anchored.forEach((r, i) => expect(r).toBeCloseTo(base[i] - base[2], 10));
    // Larger samples give smaller standard errors.
    const se1 = fitBradleyTerry({ players: 4, wins }).se;
    const se3 = fitBradleyTerry({ players: 4, wins: scaled }).se;
    se1.forEach((s, i) => expect(se3[i]).toBeCloseTo(s / Math.sqrt(3), 10));
  });

  it("refuses to fit when the MLE does not exist, naming who never lost to whom; a prior makes it finite", () => {
    const wins = [
      [0, 5, 4],
      [0, 0, 3],
      [0, 2, 0],
    ];
    expect(() => fitBradleyTerry({ players: 3, wins })).toThrow(BradleyTerryError);
    expect(() => fitBradleyTerry({ players: 3, wins })).toThrow(
      /player\(s\) 0 never lost nor tied a game against player\(s\) 1, 2/,
    );
    const fit = fitBradleyTerry({ players: 3, wins }, { prior: 1 });
    expect(fit.ratings.every(Number.isFinite)).toBe(true);
    expect(fit.ratings[0]).toBeGreaterThan(fit.ratings[1]);
    expect(() => fitBradleyTerry({ players: 1, wins: [[0]] })).toThrow(/at least 2 players/);
  });
});

function match(a: number, b: number, edgeA: number[], edgeB: number[], norm: number[]): TournamentMatch {
  const d = edgeA.map((e, i) => e - edgeB[i]);
  return {
    a,
    b,
    edgeA,
    edgeB,
    edgeNormalizer: norm,
    diff: { mean: NaN, std: NaN, ci95: NaN, n: d.length },
    winsA: d.filter((x) => x > 0).length,
    winsB: d.filter((x) => x < 0).length,
    ties: d.filter((x) => x === 0).length,
  };
}

describe("rating a tournament's matches", () => {
  const entrants = ["x", "y", "z"].map((s) => ({ spec: s, name: s }));
  const matches = [
    match(0, 1, [5, 3, 1, 2], [1, 3, 4, 0], [0, 0, 0, 0]),
    match(0, 2, [2, 6, 1, 1], [3, 1, 0, 0], [1, 1, 1, 1]),
    match(1, 2, [1, 2, 3, 4], [4, 3, 2, 1], [0, 1, 0, 1]),
  ];

  it("counts per-seed wins with ties half, and averages the entrant's edge vs the normalizer over its matches per seed", () => {
    const rec = winsRecord(3, matches);
    expect(rec.wins[0][1]).toBe(2.5);
    expect(rec.wins[1][0]).toBe(1.5);
    expect(rec.wins[0][2]).toBe(3);
    expect(rec.wins[2][0]).toBe(1);
    expect(rec.wins[1][2]).toBe(2);
    const { ratings } = rateMatches(entrants, 4, matches, { prior: 0, bootstrap: 0 });
    expect(ratings[0].wins).toBe(5.5);
    expect(ratings[0].games).toBe(8);
    // x: seeds' (edge - norm) in match 0,1: [5,3,1,2] and [1,5,0,0] -> means [3,4,0.5,1].
    expect(ratings[0].vsNormalizer.mean).toBeCloseTo((3 + 4 + 0.5 + 1) / 4, 12);
    expect(ratings[0].bootstrap95).toBeNull();
    const fit = fitBradleyTerry(rec);
    ratings.forEach((r, i) => {
      expect(r.rating).toBe(fit.ratings[i]);
      expect(r.fisher95[1] - r.fisher95[0]).toBeCloseTo(2 * 1.959963984540054 * fit.se[i], 12);
    });
  });

  it("bootstraps deterministically: the same seed gives the same intervals, which contain the estimate", () => {
    const a = rateMatches(entrants, 4, matches, { prior: 1, bootstrap: 300, bootstrapSeed: 7 });
    const b = rateMatches(entrants, 4, matches, { prior: 1, bootstrap: 300, bootstrapSeed: 7 });
    const c = rateMatches(entrants, 4, matches, { prior: 1, bootstrap: 300, bootstrapSeed: 8 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    for (const r of a.ratings) {
      expect(r.bootstrap95![0]).toBeLessThanOrEqual(r.rating + 1e-12);
      expect(r.bootstrap95![1]).toBeGreaterThanOrEqual(r.rating - 1e-12);
    }
    expect(a.rating.bootstrapFailed).toBe(0);
  });

  it("takes quantiles by linear interpolation (R type 7)", () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([10], 0.975)).toBe(10);
  });
});
