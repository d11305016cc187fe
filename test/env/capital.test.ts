/**
 * Capital rebalancing (spec §4): the weight formula against hand computations, the invariants of
 * `rebalance` on crafted pools, and the same invariants observed from inside whole simulations.
 */
import { describe, expect, it } from "vitest";
import { capitalWeights, rebalance, riskAdjustedScore, type CapitalParams } from "../../env/capital.js";
import { fixedFee } from "../../env/builtins/fixed.js";
import { starter } from "../../env/builtins/starter.js";
import { Pool } from "../../env/pool.js";
import { RandomStream } from "../../env/rng.js";
import { Simulation, type SimulationResult } from "../../env/simulation.js";
import type { Strategy } from "../../env/strategy.js";
import { pricePath } from "../helpers/oracles.js";

const DEFAULT_PARAMS: CapitalParams = { riskLambda: 2, temperature: 1, minWeight: 0.02, scorePerCapital: false };

function weightsOf(scores: number[], temperature: number, minWeight: number): number[] {
  const out = new Float64Array(scores.length);
  capitalWeights(Float64Array.from(scores), scores.length, temperature, minWeight, out);
  return [...out];
}

/** spec §4 written out naively (no max-shift), for small, well-scaled examples. */
function handWeights(scores: number[], temperature: number, minWeight: number): number[] {
  const n = scores.length;
  const s = Math.max(1, (Math.max(...scores) - Math.min(...scores)) / 40);
  const e = scores.map((x) => Math.exp(x / (temperature * s)));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => minWeight + (1 - n * minWeight) * (v / z));
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe("riskAdjustedScore", () => {
  it("charges lambda times a loss on top of the loss itself", () => {
    expect(riskAdjustedScore(10, 2)).toBe(10);
    expect(riskAdjustedScore(0, 2)).toBe(0);
    expect(riskAdjustedScore(-10, 2)).toBe(-30); // a loss of X scores -3X at lambda = 2
    expect(riskAdjustedScore(-4, 0.5)).toBe(-6);
    expect(riskAdjustedScore(-4, 0)).toBe(-4);
  });
});

describe("capitalWeights", () => {
  it("matches a hand computation with a wide spread (s = 80/40 = 2)", () => {
    // edges 10, -10, 50 -> scores 10, -30, 50; spread 80 -> s = 2; T = 1.
    // p = (e^5, e^-15, e^25) / (e^5 + e^-15 + e^25); w = 0.02 + 0.94 p.
    const z = Math.exp(5) + Math.exp(-15) + Math.exp(25);
    const expected = [
      0.02 + (0.94 * Math.exp(5)) / z,
      0.02 + (0.94 * Math.exp(-15)) / z,
      0.02 + (0.94 * Math.exp(25)) / z,
    ];
    const scores = [10, -10, 50].map((e) => riskAdjustedScore(e, 2));
    expect(scores).toEqual([10, -30, 50]);
    const w = weightsOf(scores, 1, 0.02);
    for (let i = 0; i < 3; i++) expect(w[i]).toBeCloseTo(expected[i], 14);
  });

  it("matches a hand computation with a narrow spread (s = 1) and temperature 0.5", () => {
    // scores 1, 2, 3: spread 2 / 40 < 1 -> s = 1; score / 0.5 -> exponents 2, 4, 6.
    const z = Math.exp(2) + Math.exp(4) + Math.exp(6);
    const w = weightsOf([1, 2, 3], 0.5, 0.05);
    expect(w[0]).toBeCloseTo(0.05 + (0.85 * Math.exp(2)) / z, 14);
    expect(w[1]).toBeCloseTo(0.05 + (0.85 * Math.exp(4)) / z, 14);
    expect(w[2]).toBeCloseTo(0.05 + (0.85 * Math.exp(6)) / z, 14);
  });

  it("uses the spread scale exactly at the switch-over (spread 40 and 120)", () => {
    // spread 40 -> s = 1: exponents 0 and 40. spread 120 -> s = 3: exponents 0 and 40 again.
    const a = weightsOf([0, 40], 1, 0);
    const b = weightsOf([0, 120], 1, 0);
    const p = 1 / (1 + Math.exp(40));
    expect(a[0]).toBeCloseTo(p, 15);
    expect(b[0]).toBeCloseTo(p, 15);
    // Same gap, larger temperature: exponents 0 and 4 at T = 10.
    const c = weightsOf([0, 40], 10, 0);
    expect(c[1]).toBeCloseTo(Math.exp(4) / (1 + Math.exp(4)), 14);
  });

  it("gives equal weights for equal scores and is invariant to shifting every score", () => {
    expect(weightsOf([7, 7, 7, 7], 1, 0.02)).toEqual([0.25, 0.25, 0.25, 0.25].map((x) => expect.closeTo(x, 15)));
    const base = weightsOf([3, -20, 11], 1, 0.02);
    const shifted = weightsOf([1003, 980, 1011], 1, 0.02);
    for (let i = 0; i < 3; i++) expect(shifted[i]).toBeCloseTo(base[i], 13);
  });

  it("keeps every weight >= minWeight and the sum at 1 within 1e-12 on random and extreme scores", () => {
    const rng = new RandomStream("capital-test");
    for (let trial = 0; trial < 2000; trial++) {
      const n = 1 + Math.floor(rng.uniform() * 16);
      const minWeight = trial % 5 === 0 ? 1 / n : rng.uniform() * (1 / n);
      const scale = [1e-6, 1, 40, 1e3, 1e7][trial % 5];
      const scores = Array.from({ length: n }, () => scale * rng.normal());
      if (trial % 7 === 0) scores[0] = -1e12; // a catastrophic loss next to small scores
      const temperature = [0.01, 1, 100][trial % 3];
      const w = weightsOf(scores, temperature, minWeight);
      expect(Math.abs(sum(w) - 1)).toBeLessThan(1e-12);
      for (const x of w) {
        expect(Number.isFinite(x)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(minWeight - 1e-15);
      }
      // The best score gets the largest weight.
      const best = scores.indexOf(Math.max(...scores));
      expect(w[best]).toBe(Math.max(...w));
    }
  });
});

/**
 * A pool at reserves (x, y) whose current epoch has earned `epochEdge`. Only a trade moves a
 * pool's books, so it starts one small trade away from (x, y) and makes that trade at the fair
 * price that gives exactly this edge: side 1 (pool receives ux X, pays uy Y) earns ux*P - uy,
 * side 0 (receives uy Y, pays ux X) earns uy - ux*P. Units of 1 keep integer examples exact.
 */
function pool(x: number, y: number, weight: number, epochEdge = 0, epochStartValue?: number): Pool {
  const ux = Math.min(1, x / 2);
  const uy = Math.min(1, y / 2);
  const opts = epochStartValue === undefined ? {} : { epochStartValue };
  if (epochEdge === 0) return new Pool(fixedFee(30), x, y, weight, opts);
  const up = epochEdge > 0;
  const p = new Pool(fixedFee(30), up ? x - ux : x + ux, up ? y + uy : y - uy, weight, opts);
  if (up) p.applyTrade(1, ux, uy, (epochEdge + uy) / ux, "retail");
  else p.applyTrade(0, uy, ux, (uy - epochEdge) / ux, "retail");
  expect(p.epochEdge / epochEdge).toBeCloseTo(1, 12);
  return p;
}

describe("rebalance", () => {
  it("conserves strategy value at the fair price, keeps spots, gives w_i * C, leaves the normalizer alone", () => {
    const S = 104;
    // Stale spots 90, 100, 115 around the fair price 104; the normalizer sits last.
    const pools = [
      pool(120, 10800, 1 / 3, 25),
      pool(100, 10000, 1 / 3, -5),
      pool(80, 9200, 1 / 3, 3),
      pool(60, 6300, NaN),
    ];
    const spots = pools.map((p) => p.reserveY / p.reserveX);
    const norm = { x: pools[3].reserveX, y: pools[3].reserveY, w: pools[3].capitalWeight };
    const C = 120 * S + 10800 + (100 * S + 10000) + (80 * S + 9200);
    const scores = new Float64Array(3);
    const weights = new Float64Array(3);
    rebalance(pools, 3, S, DEFAULT_PARAMS, scores, weights);

    // scores 25, -15, 3; spread 40 -> s = 1.
    expect([...scores]).toEqual([25, -15, 3]);
    const expectedW = handWeights([25, -15, 3], 1, 0.02);
    let after = 0;
    for (let i = 0; i < 3; i++) {
      const p = pools[i];
      const value = p.reserveX * S + p.reserveY;
      after += value;
      expect(p.capitalWeight).toBeCloseTo(expectedW[i], 14);
      expect(value / C).toBeCloseTo(expectedW[i], 12);
      expect(Math.abs(p.reserveY / p.reserveX / spots[i] - 1)).toBeLessThan(1e-12);
      expect(p.epochStartValue).toBeCloseTo(value, 9);
    }
    expect(Math.abs(after / C - 1)).toBeLessThan(1e-9);
    expect(pools[3].reserveX).toBe(norm.x);
    expect(pools[3].reserveY).toBe(norm.y);
    expect(pools[3].capitalWeight).toBe(norm.w);
  });

  it("conserves value on random pools with wildly stale spots", () => {
    const rng = new RandomStream("rebalance-test");
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rng.uniform() * 16);
      const S = 100 * Math.exp(rng.normal());
      const pools: Pool[] = [];
      for (let i = 0; i <= n; i++) {
        const x = 100 * Math.exp(2 * rng.normal());
        const spot = S * Math.exp(0.5 * rng.normal());
        pools.push(pool(x, x * spot, i < n ? 1 / n : NaN, 200 * rng.normal()));
      }
      const spots = pools.map((p) => p.reserveY / p.reserveX);
      const normBefore = [pools[n].reserveX, pools[n].reserveY];
      const before = sum(pools.slice(0, n).map((p) => p.reserveX * S + p.reserveY));
      rebalance(pools, n, S, DEFAULT_PARAMS, new Float64Array(n), new Float64Array(n));
      const after = sum(pools.slice(0, n).map((p) => p.reserveX * S + p.reserveY));
      expect(Math.abs(after / before - 1)).toBeLessThan(1e-9);
      for (let i = 0; i < n; i++) {
        const p = pools[i];
        expect(Math.abs(p.reserveY / p.reserveX / spots[i] - 1)).toBeLessThan(1e-12);
        expect(Math.abs((p.reserveX * S + p.reserveY) / before - p.capitalWeight)).toBeLessThan(1e-12);
      }
      expect([pools[n].reserveX, pools[n].reserveY]).toEqual(normBefore);
    }
  });

  it("is a no-op for a single strategy", () => {
    const p = pool(90, 9500, 1, 123);
    const n = pool(50, 5000, NaN);
    rebalance([p, n], 1, 101, DEFAULT_PARAMS, new Float64Array(1), new Float64Array(1));
    expect(p.capitalWeight).toBe(1);
    expect(p.reserveX / 90).toBeCloseTo(1, 13);
    expect(p.reserveY / 9500).toBeCloseTo(1, 13);
  });

  it("per-capital scoring gives equal weights to equal returns on unequal capital", () => {
    // Pool 0 holds twice pool 1's capital and earned twice its edge: same return on capital.
    const S = 100;
    const a = pool(200, 20000, 2 / 3, 40, 40000);
    const b = pool(100, 10000, 1 / 3, 20, 20000);
    const params = { ...DEFAULT_PARAMS, scorePerCapital: true };
    const scores = new Float64Array(2);
    const w = new Float64Array(2);
    rebalance([a, b, pool(10, 1000, NaN)], 2, S, params, scores, w);
    // Rescaled to an equal share (C/2 = 30000): both score 40/40000 * 30000 = 30.
    expect(scores[0]).toBeCloseTo(30, 12);
    expect(scores[1]).toBeCloseTo(30, 12);
    expect(w[0]).toBeCloseTo(0.5, 14);
    expect(w[1]).toBeCloseTo(0.5, 14);
  });
});

describe("rebalance and capitalWeights touch only the first n entries", () => {
  it("capitalWeights reads n scores and writes n weights of longer buffers", () => {
    // A huge score past n would take every weight if it were read; a sentinel past n must stay.
    const scores = Float64Array.from([1, 2, 3, 1e9, -1e9]);
    const weights = new Float64Array(5).fill(-7);
    capitalWeights(scores, 3, 0.5, 0.05, weights);
    const hand = handWeights([1, 2, 3], 0.5, 0.05);
    for (let i = 0; i < 3; i++) expect(weights[i]).toBeCloseTo(hand[i], 14);
    expect([weights[3], weights[4]]).toEqual([-7, -7]);
  });

  it("rebalance scores only the n strategies: no normalizer needed, buffers past n untouched", () => {
    // Exactly n pools: nothing past the strategies is read.
    const pools = [pool(100, 10000, 0.5, 10), pool(100, 10000, 0.5, -10)];
    const scores = new Float64Array(3).fill(-7);
    const weights = new Float64Array(3).fill(-7);
    rebalance(pools, 2, 100, DEFAULT_PARAMS, scores, weights);
    expect([...scores]).toEqual([10, -30, -7]);
    const hand = handWeights([10, -30], 1, 0.02);
    expect(weights[0]).toBeCloseTo(hand[0], 14);
    expect(weights[1]).toBeCloseTo(hand[1], 14);
    expect(weights[2]).toBe(-7);
  });
});

describe("per-capital scoring with zero starting capital", () => {
  it("scores a pool whose epoch started with no recorded value on its absolute edge", () => {
    // Pool 0's start value is unset (0): edge per unit of nothing is undefined, so its edge is
    // used as it is; pool 1 started with 20000 of the total 40000 (C/N = 20000): 15/20000*20000.
    const a = pool(100, 10000, 0.5, 12);
    const b = pool(100, 10000, 0.5, 15, 20000);
    expect(a.epochStartValue).toBe(0);
    const scores = new Float64Array(2);
    const weights = new Float64Array(2);
    rebalance([a, b], 2, 100, { ...DEFAULT_PARAMS, scorePerCapital: true }, scores, weights);
    expect(scores[0]).toBe(12);
    expect(scores[1]).toBeCloseTo(15, 12);
    const hand = handWeights([12, 15], 1, 0.02);
    expect(weights[0]).toBeCloseTo(hand[0], 14);
    expect(weights[1]).toBeCloseTo(hand[1], 14);
  });

  it("a pool given no capital at the last boundary scores 0, not 0 / 0", () => {
    const rich = pool(100, 10000, 1, 30, 20000);
    const broke = new Pool(fixedFee(30), 100, 10000, 0.5, { epochStartValue: 20000 });
    broke.rebalanceTo(0, 0, 100); // minWeight 0 can assign a weight of exactly 0
    const scores = new Float64Array(2);
    const weights = new Float64Array(2);
    rebalance([rich, broke], 2, 100, { ...DEFAULT_PARAMS, scorePerCapital: true, minWeight: 0 }, scores, weights);
    // Total 20000 is all the rich pool's, which started with 20000: 30 / 20000 * (20000 / 2) = 15;
    // the broke pool earned 0.
    expect(scores[0]).toBeCloseTo(15, 12);
    expect(scores[1]).toBe(0);
    const hand = handWeights([15, 0], 1, 0);
    expect(weights[0]).toBeCloseTo(hand[0], 14);
    expect(weights[1]).toBeCloseTo(hand[1], 14);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole simulations: observe every rebalance from inside the strategies.

interface BoundaryRecord {
  epoch: number;
  beforeX: number;
  beforeY: number;
  afterX: number;
  afterY: number;
  weight: number;
  epochEdge: number;
}

/** Wraps a strategy; tracks its pool's reserves through afterSwap and records each boundary. */
function recorder(base: Strategy, log: BoundaryRecord[], x0: number, y0: number): Strategy {
  let x = x0;
  let y = y0;
  return {
    name: `rec(${base.name})`,
    computeSwap: base.computeSwap.bind(base),
    constantProductFees: base.constantProductFees?.bind(base),
    afterSwap(ev, storage) {
      x = ev.reserveX;
      y = ev.reserveY;
      base.afterSwap?.(ev, storage);
    },
    onEpochBoundary(ev, storage) {
      log.push({
        epoch: ev.epochNumber,
        beforeX: x,
        beforeY: y,
        afterX: ev.newReserveX,
        afterY: ev.newReserveY,
        weight: ev.capitalWeight,
        epochEdge: ev.epochEdge,
      });
      x = ev.newReserveX;
      y = ev.newReserveY;
      base.onEpochBoundary?.(ev, storage);
    },
  };
}

describe("rebalancing inside simulations", () => {
  const makers: Array<() => Strategy> = [() => fixedFee(5), () => fixedFee(30), () => fixedFee(90), () => starter()];

  for (const [seed, steps, epochLen] of [
    [11, 3000, 500],
    [12, 2300, 500],
    [13, 2000, 250],
  ] as const) {
    it(`conserves strategy capital at every boundary and reports every epoch (seed ${seed}, ${steps}/${epochLen})`, () => {
      const logs: BoundaryRecord[][] = makers.map(() => []);
      const sim = new Simulation(
        seed,
        makers.map((make, i) => () => recorder(make(), logs[i], 100, 10000)),
        { steps, epochLen },
      );
      const result: SimulationResult = sim.run();
      const path = pricePath(seed, sim.market.sigma, steps);
      expect(result.finalPrice).toBe(path[steps - 1]);

      const boundaries = Math.floor((steps - 1) / epochLen); // rebalances: none after the last step
      const epochs = Math.ceil(steps / epochLen);
      const n = makers.length;
      for (const log of logs) expect(log.map((r) => r.epoch)).toEqual(Array.from({ length: boundaries }, (_, e) => e));

      let moved = 0;
      for (let e = 0; e < boundaries; e++) {
        const S = path[(e + 1) * epochLen - 1];
        const recs = logs.map((log) => log[e]);
        const before = sum(recs.map((r) => r.beforeX * S + r.beforeY));
        const after = sum(recs.map((r) => r.afterX * S + r.afterY));
        expect(Math.abs(after / before - 1)).toBeLessThan(1e-9);
        expect(Math.abs(sum(recs.map((r) => r.weight)) - 1)).toBeLessThan(1e-12);
        // Hand-computed weights from the epoch edges, and each pool's share w_i * C at its old spot.
        const w = handWeights(
          recs.map((r) => r.epochEdge - 2 * Math.max(0, -r.epochEdge)),
          1,
          0.02,
        );
        for (let i = 0; i < n; i++) {
          const r = recs[i];
          expect(r.weight).toBeCloseTo(w[i], 12);
          expect(r.weight).toBeGreaterThanOrEqual(0.02);
          expect(Math.abs((r.afterX * S + r.afterY) / before - r.weight)).toBeLessThan(1e-12);
          expect(Math.abs(r.afterY / r.afterX / (r.beforeY / r.beforeX) - 1)).toBeLessThan(1e-12);
          moved += Math.abs(r.afterY - r.beforeY);
        }
      }
      expect(moved).toBeGreaterThan(0); // capital did move: the check above is not vacuous

      for (const p of result.pools) {
        expect(p.epochs.map((r) => r.epoch)).toEqual(Array.from({ length: epochs }, (_, e) => e));
        expect(sum(p.epochs.map((r) => r.trades))).toBe(p.arbTrades + p.retailTrades);
        const absEdges = sum(p.epochs.map((r) => Math.abs(r.edge)));
        expect(Math.abs(sum(p.epochs.map((r) => r.edge)) - p.edge)).toBeLessThanOrEqual(1e-9 * (absEdges + 1));
        for (const r of p.epochs) expect(r.score).toBeCloseTo(r.edge - 2 * Math.max(0, -r.edge), 9);
      }
      for (let i = 0; i < n; i++) {
        const rows = result.pools[i].epochs;
        for (let e = 0; e < boundaries; e++) {
          expect(rows[e].weight).toBe(logs[i][e].weight);
          expect(rows[e].edge).toBe(logs[i][e].epochEdge);
        }
        // The last epoch is reported, and no rebalance follows it: its weight is the previous one.
        const last = rows[epochs - 1];
        expect(last.weight).toBe(boundaries > 0 ? rows[epochs - 2].weight : 1 / n);
        expect(result.pools[i].finalWeight).toBe(last.weight);
      }
      for (let e = 0; e < epochs; e++) {
        expect(Math.abs(sum(result.pools.slice(0, n).map((p) => p.epochs[e].weight)) - 1)).toBeLessThan(1e-12);
      }
      const norm = result.pools[n];
      expect(norm.normalizer).toBe(true);
      expect(norm.epochs.length).toBe(epochs);
    });
  }

  it("keeps the normalizer out of rebalancing", () => {
    // A normalizer at 9999 bps never trades, so only a rebalance could move its reserves.
    const sim = new Simulation(21, [() => fixedFee(5), () => fixedFee(90)], {
      steps: 2000,
      epochLen: 200,
      pins: { normalizerFeeBps: 9999, normalizerLiquidity: 1.5 },
    });
    const result = sim.run();
    const norm = result.pools[2];
    expect(norm.arbTrades + norm.retailTrades).toBe(0);
    expect(sim.pools[2].reserveX).toBe(150);
    expect(sim.pools[2].reserveY).toBe(15000);
    expect(Number.isNaN(norm.finalWeight)).toBe(true);
    for (const r of norm.epochs) expect(Number.isNaN(r.weight)).toBe(true);
    // ... while the strategies' capital did move.
    expect(Math.abs(result.pools[0].finalWeight - 0.5)).toBeGreaterThan(0.01);
  });
});

describe("a pool rebalanced to weight 0", () => {
  it("comes back at the fair price, half its value in each token (it has no spot of its own)", () => {
    const p = new Pool(fixedFee(30), 100, 10000, 0.5);
    p.rebalanceTo(0, 0, 95);
    expect([p.reserveX, p.reserveY]).toEqual([0, 0]);
    p.rebalanceTo(0.25, 5000, 120);
    // Half the value in each token at S = 120: y = 2500, x = 2500 / 120.
    expect(p.reserveY).toBe(2500);
    expect(p.reserveX).toBe(2500 / 120);
    expect(p.reserveY / p.reserveX).toBeCloseTo(120, 12);
  });

  it("keeps a simulation finite when minWeight 0 and a cold softmax starve a pool", () => {
    // temperature 0.001 makes the 500 bps pool's weight underflow to exactly 0 after epoch 0.
    const r = new Simulation(3, [() => fixedFee(5), () => fixedFee(500)], {
      steps: 3000,
      epochLen: 300,
      minWeight: 0,
      temperature: 0.001,
    }).run();
    const strategies = r.pools.slice(0, 2);
    expect(strategies.some((p) => p.epochs.some((e) => e.weight === 0))).toBe(true);
    for (const p of strategies) {
      expect(Number.isFinite(p.edge)).toBe(true);
      for (const e of p.epochs) expect(Number.isFinite(e.weight) && Number.isFinite(e.edge)).toBe(true);
    }
    expect(strategies[0].finalWeight + strategies[1].finalWeight).toBeCloseTo(1, 12);
  });
});
