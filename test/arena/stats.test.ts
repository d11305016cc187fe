/**
 * The one mean (spec §7) and the statistics built on it: closed forms, the summation order that
 * keeps every average in the code base bit for bit equal, and `summarize`'s per-strategy means
 * against sums written out here.
 */
import { describe, expect, it } from "vitest";
import { estimate, mean, summarize } from "../../arena/stats.js";
import { fixedFee } from "../../env/builtins/fixed.js";
import { Simulation } from "../../env/simulation.js";

describe("mean", () => {
  it("matches closed forms: 1..n averages (n + 1) / 2, a constant averages itself", () => {
    for (const n of [1, 2, 3, 10, 101, 1000]) {
      const xs = Array.from({ length: n }, (_, i) => i + 1);
      expect(mean(xs)).toBe((n + 1) / 2);
      expect(mean(new Array<number>(n).fill(0.25))).toBe(0.25);
    }
    expect(mean([-3, 3])).toBe(0);
    expect(mean([7])).toBe(7);
  });

  it("is NaN for no values and propagates NaN and infinities", () => {
    expect(mean([])).toBeNaN();
    expect(mean(new Float64Array(0))).toBeNaN();
    expect(mean([1, NaN, 2])).toBeNaN();
    expect(mean([1, Infinity])).toBe(Infinity);
    expect(mean([Infinity, -Infinity])).toBeNaN();
  });

  it("sums in index order from 0, then divides once", () => {
    // 1e16 + 1 rounds back to 1e16 (the spacing there is 2), so index order loses the 1 ...
    expect(mean([1e16, 1, -1e16])).toBe(0);
    // ... and another order keeps it: the result depends on the order, which is fixed.
    expect(mean([1e16, -1e16, 1])).toBe(1 / 3);
    // Dividing once: 0.1 + 0.2 + 0.3 = 0.6000000000000001 in index order, then / 3.
    expect(mean([0.1, 0.2, 0.3])).toBe((0.1 + 0.2 + 0.3) / 3);
    expect(mean([0.1, 0.2, 0.3])).not.toBe(0.1 / 3 + 0.2 / 3 + 0.3 / 3);
  });

  it("gives the same bits for arrays, typed arrays and the estimate's mean", () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 1e3;
    };
    const xs = Array.from({ length: 257 }, next);
    let sum = 0;
    for (const x of xs) sum += x;
    expect(mean(xs)).toBe(sum / xs.length);
    expect(mean(Float64Array.from(xs))).toBe(mean(xs));
    expect(estimate(xs).mean).toBe(mean(xs));
  });
});

describe("summarize", () => {
  it("reports arbitrage edge, retail edge and retail trades as the per-simulation means", () => {
    const results = [1, 2, 3].map((seed) =>
      new Simulation(seed, [() => fixedFee(30), () => fixedFee(60)], { steps: 300, epochLen: 100 }).run(),
    );
    const s = summarize(results);
    expect(s.simulations).toBe(3);
    for (let i = 0; i < results[0].pools.length; i++) {
      const row = s.rows[i];
      const [a, b, c] = results.map((r) => r.pools[i]);
      expect(row.arbEdge).toBe((0 + a.arbEdge + b.arbEdge + c.arbEdge) / 3);
      expect(row.retailEdge).toBe((0 + a.retailEdge + b.retailEdge + c.retailEdge) / 3);
      expect(row.meanRetailTrades).toBe((a.retailTrades + b.retailTrades + c.retailTrades) / 3);
      expect(row.edge.mean).toBe((0 + a.edge + b.edge + c.edge) / 3);
      expect(a.retailTrades + b.retailTrades + c.retailTrades).toBeGreaterThan(0);
    }
  });
});
