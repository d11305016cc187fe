/**
 * The router's quote counts at its documented steps (docs/engine.md, "Routing"): the model
 * iteration's two starting quotes (the order and half of it), one per round, and a pair a quarter
 * of the chord width (1e-5 of the order) either side of the settled share; a curve the model
 * cannot fit (a straight line) falls back to the documented grid (16 points from amount/2^15 to
 * amount) plus refinement (4 points inside the segment holding the allocation, one in each
 * neighbour, until the segment is narrower than 1e-5 of the order, at most 8 rounds).
 *
 * In their own file so that a mutation run (bench/mutation.mjs) runs them first, router.test.ts
 * next and the refinement tests last (a mutant's run stops at its first failing test): of the
 * router's 475 mutants caught by a failing test on 2026-11-30, these (0.2 s) caught 218 first and
 * router.test.ts 216, which until then ran after the refinement file's slower comparisons.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { Pool } from "../../env/pool.js";
import { Router } from "../../env/router.js";
import type { Side, Strategy } from "../../env/strategy.js";
import { bruteForce, cpCurve, type Curve, plCurve, totalOutput } from "../helpers/oracles.js";
import { intIn, logUniform, mulberry32, uniform } from "../helpers/prng.js";

/** A strategy the engine must treat as a black box, with the same curve on both sides. */
function blackBox(curve: Curve): Strategy {
  return { name: "bb", computeSwap: (_side, input) => curve(input) };
}

/** A black-box pool with reserves so deep that the engine's quote guard never bites. */
function bbPool(curve: Curve): Pool {
  return new Pool(blackBox(curve), 1e12, 1e12, 0.5);
}

function route(router: Router, pools: Pool[], side: Side, amount: number): Float64Array {
  const alloc = new Float64Array(pools.length).fill(NaN);
  router.route(pools, side, amount, alloc);
  return alloc;
}

describe("router quote counts at the documented steps", () => {
  it("a lone black-box pool: 3 quotes when the model fits, 16 grid quotes + 7 rounds of 5 when it cannot", () => {
    // The lone pool takes the whole order. The model (two starting quotes, at amount and amount/2)
    // puts its share on amount, already quoted, so the iteration settles at once; the pair around
    // the share is amount - 2.5e-6 * amount (the other half, above the order, is not quoted): 3.
    // That holds for any concave curve the model can fit, the kinked one included. A straight line
    // has x/f(x) constant, so no model fits (nor does the kinked curve's first, straight segment,
    // which holds both starting quotes of the 0.001 order): then the grid of 16 points (holding
    // the two starting quotes) and refinement. Each round splits the top segment [lo, amount] with
    // 4 points (width / 5) and halves its left neighbour (1 point; no right neighbour): 5 quotes.
    // The top segment starts at width amount/2, and 0.5 / 5^r <= 1e-5 first holds at r = 7
    // (0.5 / 5^6 = 3.2e-5), so rounds 0..6 refine and round 7 stops: 16 + 7 * 5 = 51.
    const router = new Router(2);
    const cases: [Curve, number[], number[]][] = [
      [cpCurve(100, 10000, 0.003), [1e-3, 1, 3.7, 1000], [3, 3, 3, 3]],
      [plCurve({ kinks: [0.3, 2], slopes: [5, 2, 0.5] }), [1e-3, 1, 3.7, 1000], [51, 3, 3, 3]],
      [(x: number) => 3 * x, [1e-3, 1, 3.7, 1000], [51, 51, 51, 51]],
    ];
    for (const [curve, amounts, counts] of cases) {
      for (const side of [0, 1] as const) {
        amounts.forEach((amount, j) => {
          const pool = bbPool(curve);
          const alloc = route(router, [pool], side, amount);
          expect(alloc[0]).toBe(amount);
          expect(pool.quoteCalls, `order ${amount}`).toBe(counts[j]);
          expect(router.lastQuoteCalls).toBe(counts[j]);
        });
      }
    }
  });

  it("a line beside a closed-form pool: its allocation inside a segment costs 16 + 5 + 6 * 6 = 57 quotes", () => {
    // f(x) = 64 x: no model fits a line (x/f(x) is constant), so the chord model starts from the
    // grid, which holds the two starting quotes. Next to a closed-form pool (rin 100, rout 10000,
    // 30 bps) that takes 24.887 at marginal 64, the line gets amount - 24.887: 39.11 of 64 (103.11
    // of 128), inside the top grid segment [amount/2, amount], away from every point the
    // refinement adds. Round 0 splits that segment (4 points) and halves its left neighbour (no
    // right one): 5 quotes. From round 1 the allocation sits inside one of the last round's
    // fifths, with a neighbour on each side at least as wide, so each round costs 4 + 2 = 6. The
    // segment is amount/2 / 5^r wide, <= 1e-5 of the order first at r = 7, so rounds 1..6 refine:
    // 16 + 5 + 6 * 6 = 57. (The neighbours' halves, >= amount/4 / 5^6 = 1.6e-5 of the order,
    // always clear the 1e-5 threshold.)
    const router = new Router(2);
    for (const amount of [64, 128]) {
      const line = bbPool((x) => 64 * x);
      const alloc = route(router, [line, new Pool(fixedFee(30), 100, 10000, 0.5)], 1, amount);
      expect(alloc[0] / amount).toBeGreaterThan(0.6);
      expect(alloc[0] / amount).toBeLessThan(0.85);
      expect(line.quoteCalls, `order ${amount}`).toBe(57);
      expect(router.lastQuoteCalls).toBe(57);
    }
  });

  it("a neighbour narrower than twice the segment tolerance gets no midpoint: 16 + 6 * 6 + 4 = 56 quotes", () => {
    // The same line and closed-form pool with an order of 36: the line gets 36 - 24.887 = 11.113,
    // inside the grid segment [9, 18] = [amount/4, amount/2], which has neighbours on both sides.
    // Each round splits the segment holding the allocation into fifths (4 quotes) and adds the
    // midpoint of each neighbour whose half is wider than 1e-5 of the order. The segment is
    // amount/4 / 5^r wide: 1.6e-5 of the order at r = 6, so rounds 0..6 refine and round 7 stops.
    // The allocation's fifths, round by round (written out here): 1, 0, 4, 1, 3, 3, 1; in round 6
    // it sits in an inner fifth of round 5's segment, so both neighbours are fifths of the same
    // width, 1.6e-5 of the order, whose halves (0.8e-5) are below 1e-5: round 6 costs 4. Rounds
    // 0..5 cost 4 + 2 (every neighbour is at least as wide as the segment, halves >= 4e-5).
    const router = new Router(2);
    const line = bbPool((x) => 64 * x);
    const alloc = route(router, [line, new Pool(fixedFee(30), 100, 10000, 0.5)], 1, 36);
    expect(alloc[0]).toBeCloseTo(36 - 24.887, 3);
    expect(line.quoteCalls).toBe(56);
    expect(router.lastQuoteCalls).toBe(56);
  });

  it("a black box left just short of the whole order still gets its pair: 5 quotes", () => {
    // The pair around a settled share is x -+ width / 4 (width: 1e-5 of the order), the upper one
    // only if it is not above the order. Here a closed-form pool takes 1e-5 of the order, so the
    // black box (constant product, rin 100, rout 10000, 30 bps) settles at x = 0.99999 of it,
    // 4 quarter-widths short: 2 starting quotes, 1 at the share, the pair: 5. The closed-form
    // pool's Y reserve is solved here so that its marginal at s = 1e-5 of the order equals the
    // black box's at the rest: g * y * X / (X + g * s)^2 = g * 1e6 / (100 + g * (amount - s))^2.
    const g = 1 - 0.003;
    const amount = 10;
    const s = amount * 1e-5;
    const X = 100;
    const lambda = (g * 10000 * 100) / (100 + g * (amount - s)) ** 2;
    const y = (lambda * (X + g * s) ** 2) / (g * X);
    const router = new Router(2);
    const bb = bbPool(cpCurve(100, 10000, 0.003));
    const alloc = route(router, [bb, new Pool(fixedFee(30), X, y, 0.5)], 1, amount);
    expect(alloc[1] / s).toBeCloseTo(1, 6);
    expect(bb.quoteCalls).toBe(5);
  });

  it("black-box constant product: 5 quotes for a pool with part of the order, 3 for an idle one or one with all", () => {
    // The model is exact for constant product, so its first water fill is the optimum: 2 starting
    // quotes, 1 at the share, then the second round's model (through amount/2 and the share) is
    // the same curve and nothing moves; the pair around the share makes 5. An idle pool is quoted
    // at 1e-5 of the order instead of 0, which pins its first marginal; that point is its pair: 3.
    // A pool given the whole order was quoted there first, and its pair's upper half lies above
    // the order: 3 too. The chord model then finds every share inside its pair: nothing is refined.
    const rng = mulberry32(0x64);
    const router = new Router(4);
    const perPool: number[] = [];
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = intIn(rng, 2, 3);
      const curves = Array.from({ length: n }, () => {
        const rin = logUniform(rng, 100, 10000);
        return cpCurve(rin, rin * uniform(rng, 0.9, 1.1), uniform(rng, 0, 0.2));
      });
      const pools = curves.map(bbPool);
      const amount = 1000 * logUniform(rng, 0.01, 1);
      const alloc = route(router, pools, 1, amount);
      pools.forEach((p, i) => {
        perPool.push(p.quoteCalls);
        const inside = alloc[i] > 0 && alloc[i] < amount;
        expect(p.quoteCalls, `trial ${trial} pool ${i} share ${alloc[i]} of ${amount}`).toBe(inside ? 5 : 3);
      });
      expect(router.lastQuoteCalls).toBe(pools.reduce((s, p) => s + p.quoteCalls, 0));
      const best = totalOutput(curves, bruteForce(curves, amount));
      worst = Math.max(worst, (best - totalOutput(curves, alloc)) / best);
    }
    expect(perPool.filter((c) => c === 3).length).toBeGreaterThan(20); // idle pools occur
    expect(worst).toBeLessThan(1e-9);
  });
});
