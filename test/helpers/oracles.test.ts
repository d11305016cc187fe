/**
 * The brute-force oracles themselves, against closed forms worked out here:
 *  - golden section on a parabola and on a monotone function (the endpoint wins);
 *  - routing over constant-product pools: with f_i(x) = rout_i g_i x / (rin_i + g_i x) the
 *    optimum is equimarginal, f_i'(x_i) = g_i rout_i rin_i / (rin_i + g_i x_i)^2 = lambda, so
 *    rin_i + g_i x_i = mu sqrt(g_i rout_i rin_i) and, summing x_i = amount,
 *    mu = (amount + sum rin_i / g_i) / sum sqrt(rout_i rin_i / g_i) (valid while every x_i > 0);
 *  - the greedy piecewise-linear fill on a case small enough to add up by hand;
 *  - arbitrage on constant product: S x g y / (y + g d)^2 = 1 at the best buy of X, so
 *    d* = (sqrt(S g x y) - y) / g, and symmetrically d* = (sqrt(g x y / S) - x) / g selling X.
 */
import { describe, expect, it } from "vitest";
import {
  ARB_GOLDEN,
  bruteCp,
  bruteForce,
  cpCurve,
  goldenMax,
  greedyPL,
  ROUTER_GOLDEN,
  totalOutput,
} from "./oracles.js";

describe("goldenMax", () => {
  it("finds the top of a parabola and an endpoint of a monotone function", () => {
    for (const settings of [ROUTER_GOLDEN, ARB_GOLDEN]) {
      const top = goldenMax((t) => -((t - 0.3) ** 2) + 2, 0, 1, settings);
      expect(Math.abs(top.t - 0.3)).toBeLessThan(1e-7); // a flat top: sqrt(eps) is the limit
      expect(top.v).toBeCloseTo(2, 14);
      expect(goldenMax((t) => t, 2, 5, settings)).toEqual({ t: 5, v: 5 });
      expect(goldenMax((t) => -t, 2, 5, settings)).toEqual({ t: 2, v: -2 });
    }
  });
});

describe("router oracle vs the equimarginal closed form", () => {
  const pools = [
    { rin: 100, rout: 10_000, fee: 0.003 },
    { rin: 300, rout: 30_300, fee: 0.01 },
    { rin: 50, rout: 5_100, fee: 0 },
  ];

  function closedForm(ps: typeof pools, amount: number): number[] {
    const g = ps.map((p) => 1 - p.fee);
    const mu =
      (amount + ps.reduce((s, p, i) => s + p.rin / g[i], 0)) /
      ps.reduce((s, p, i) => s + Math.sqrt((p.rout * p.rin) / g[i]), 0);
    return ps.map((p, i) => (mu * Math.sqrt(g[i] * p.rout * p.rin) - p.rin) / g[i]);
  }

  for (const n of [2, 3]) {
    it(`${n} constant-product pools (${n === 2 ? "grid + golden" : "pairwise exchange"})`, () => {
      const ps = pools.slice(0, n);
      const curves = ps.map((p) => cpCurve(p.rin, p.rout, p.fee));
      for (const amount of [10, 60, 400]) {
        const exact = closedForm(ps, amount);
        for (const x of exact) expect(x, "the closed form needs an interior optimum").toBeGreaterThan(0);
        const brute = bruteForce(curves, amount);
        expect(brute.reduce((s, x) => s + x, 0)).toBeCloseTo(amount, 9);
        brute.forEach((x, i) => expect(Math.abs(x - exact[i]) / amount).toBeLessThan(1e-6));
        const best = totalOutput(curves, exact);
        expect(Math.abs(totalOutput(curves, brute) - best) / best).toBeLessThan(1e-13);
      }
    });
  }
});

describe("greedyPL", () => {
  it("fills the steepest segments first", () => {
    // Curve A: slope 2 up to 1, then 1; curve B: slope 1.5 throughout. An order of 3 takes A's
    // first unit at 2 and two units of B at 1.5: 2 + 3 = 5. An order of 0.5 stays on A: 1.
    const pls = [
      { kinks: [1], slopes: [2, 1] },
      { kinks: [], slopes: [1.5] },
    ];
    expect(greedyPL(pls, 3)).toBe(5);
    expect(greedyPL(pls, 0.5)).toBe(1);
  });
});

describe("arbitrage oracle vs the constant-product closed form", () => {
  const c = { x: 100, y: 10_000, f0: 0.003, f1: 0.01 };
  const g0 = 1 - c.f0;
  const g1 = 1 - c.f1;

  it("buys X above the band and sells it below, at the closed-form input and profit", () => {
    for (const S of [101, 120, 400]) {
      const d = (Math.sqrt(S * g0 * c.x * c.y) - c.y) / g0;
      const profit = (S * c.x * g0 * d) / (c.y + g0 * d) - d;
      const t = bruteCp(c, S);
      expect(t.side).toBe(0);
      expect(Math.abs(t.input - d) / d).toBeLessThan(1e-6);
      expect(Math.abs(t.profit - profit) / profit).toBeLessThan(1e-9);
    }
    for (const S of [98, 80, 20]) {
      const d = (Math.sqrt((g1 * c.x * c.y) / S) - c.x) / g1;
      const profit = (c.y * g1 * d) / (c.x + g1 * d) - S * d;
      const t = bruteCp(c, S);
      expect(t.side).toBe(1);
      expect(Math.abs(t.input - d) / d).toBeLessThan(1e-6);
      expect(Math.abs(t.profit - profit) / profit).toBeLessThan(1e-9);
    }
  });

  it("does nothing inside the no-trade band (1 - f1) p <= S <= p / (1 - f0)", () => {
    const p = c.y / c.x;
    for (const S of [p * g1 * 1.0001, p, p / g0 / 1.0001]) expect(bruteCp(c, S).side).toBe(-1);
  });
});
