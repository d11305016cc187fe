/**
 * The router's black-box machinery (docs/engine.md, "Routing"), checked where the answer is known
 * exactly (the quote counts the documented steps fix are in router.counts.test.ts):
 * - the two ways the chord walk ends (lambda* on a chord slope, or strictly between two), on curves
 *   whose optimum is known in closed form;
 * - a kinked curve whose optimum sits across a breakpoint of the initial grid;
 * - smooth curves where the answer must beat the unrefined chord answer by orders of magnitude
 *   (the unrefined answer is computed here, from the documented grid), and curves the model does
 *   not fit (saturating, capped, rounding-noisy) against brute force.
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

/** The documented initial grid: 0, then amount / 2^k for k = 15 down to 0. */
function initialGrid(amount: number): number[] {
  const xs = [0];
  for (let k = 15; k >= 0; k--) xs.push(amount / 2 ** k);
  return xs;
}

/**
 * The unrefined chord answer: each curve sampled on the documented grid, the concave interpolant
 * (chord slopes, made non-increasing) filled greedily in order of slope. Greedy is optimal for
 * concave piecewise-linear curves.
 */
function chordAllocation(curves: Curve[], amount: number): number[] {
  const segs: { pool: number; len: number; slope: number }[] = [];
  const xs = initialGrid(amount);
  curves.forEach((c, pool) => {
    let prev = Infinity;
    for (let k = 1; k < xs.length; k++) {
      let slope = (c(xs[k]) - c(xs[k - 1])) / (xs[k] - xs[k - 1]);
      if (!(slope > 0)) slope = 0;
      if (slope > prev) slope = prev;
      prev = slope;
      segs.push({ pool, len: xs[k] - xs[k - 1], slope });
    }
  });
  segs.sort((a, b) => b.slope - a.slope);
  const x = curves.map(() => 0);
  let left = amount;
  for (const s of segs) {
    const take = Math.min(left, s.len);
    x[s.pool] += take;
    left -= take;
    if (left <= 0) break;
  }
  return x;
}

/** Input at which a constant-product curve's marginal (1-fee) rout rin / (rin + (1-fee) x)^2 is lambda. */
function cpInputAtMarginal(rin: number, rout: number, fee: number, lambda: number): number {
  const g = 1 - fee;
  return (Math.sqrt((g * rout * rin) / lambda) - rin) / g;
}

function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.abs(want);
}

describe("router refinement: smooth curves, refined answer vs unrefined chord answer", () => {
  it("two or three black-box constant-product pools: within 1e-9 of brute force, 1000x better than the chords", () => {
    // The refined segment holding each allocation ends below 1e-5 of the order, and the output lost
    // to the interpolation is second order in that width: about 1e-10 of the output for these
    // curvatures (fees up to 20%, reserves 0.1 to 10 times the order), hence the 1e-9 bound.
    // The unrefined grid's segments near the allocation are a sizeable fraction of the order, so the
    // chord answer is off by 1e-7 or more, and refinement must gain at least a factor 1000 there.
    const rng = mulberry32(0xc0de);
    const router = new Router(4);
    let compared = 0;
    for (let trial = 0; trial < 150; trial++) {
      const n = intIn(rng, 2, 3);
      const curves = Array.from({ length: n }, () => {
        const rin = logUniform(rng, 100, 10000);
        return cpCurve(rin, rin * uniform(rng, 0.9, 1.1), uniform(rng, 0, 0.2));
      });
      const amount = 1000 * logUniform(rng, 0.01, 1);
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const alloc = route(router, curves.map(bbPool), side, amount);
      const best = totalOutput(curves, bruteForce(curves, amount));
      const refined = (best - totalOutput(curves, alloc)) / best;
      expect(refined, `trial ${trial}: router ${Array.from(alloc).join(", ")}`).toBeLessThanOrEqual(1e-9);
      const chord = (best - totalOutput(curves, chordAllocation(curves, amount))) / best;
      if (chord > 1e-7) {
        compared++;
        expect(refined, `trial ${trial}: refined ${refined} vs chord ${chord}`).toBeLessThanOrEqual(chord * 1e-3);
      }
    }
    expect(compared).toBeGreaterThan(100); // the comparison is the common case, not a corner
  });
});

describe("router: curves the model does not fit exactly, against brute force", () => {
  /**
   * Two or three pools on one order of size 1..1000: black boxes of the given kinds (0 saturating
   * exponential, 1 power 0.6, 2 constant product capped below the order's output, 3 constant
   * product written y - k/(x + g d), which loses most of its digits for small inputs), and, in
   * about a third of the orders, a closed-form pool first. Returns the worst shortfall against
   * brute force and the black boxes' quote counts.
   */
  function family(seed: number, kinds: number[]): { worst: number; counts: number[] } {
    const rng = mulberry32(seed);
    const router = new Router(4);
    let worst = 0;
    const counts: number[] = [];
    for (let trial = 0; trial < 150; trial++) {
      const amount = logUniform(rng, 1, 1000);
      const n = intIn(rng, 2, 3);
      const pools: Pool[] = [];
      const curves: Curve[] = [];
      for (let i = 0; i < n; i++) {
        const rin = amount * logUniform(rng, 0.5, 100);
        const rout = rin * uniform(rng, 50, 150);
        const fee = uniform(rng, 0, 0.05);
        const g = 1 - fee;
        const cp = cpCurve(rin, rout, fee);
        if (i === 0 && rng() < 0.3) {
          const bps = Math.round(fee * 1e4);
          pools.push(new Pool(fixedFee(bps), rin, rout, 0.5));
          curves.push(cpCurve(rin, rout, bps / 1e4));
          continue;
        }
        const kind = kinds[intIn(rng, 0, kinds.length - 1)];
        let c: Curve;
        if (kind === 0) c = (x) => -0.9 * rout * Math.expm1((-g * x) / rin);
        else if (kind === 1) c = (x) => 0.5 * rout * ((1 + (g * x) / rin) ** 0.6 - 1);
        else if (kind === 2) {
          const cap = cp(amount * uniform(rng, 0.05, 1));
          c = (x) => Math.min(cp(x), cap);
        } else c = (x) => rout - (rin * rout) / (rin + g * x);
        curves.push(c);
        pools.push(bbPool(c));
      }
      const alloc = route(router, pools, 1, amount);
      for (const p of pools) if (!p.constantProduct) counts.push(p.quoteCalls);
      const best = totalOutput(curves, bruteForce(curves, amount));
      worst = Math.max(worst, (best - totalOutput(curves, alloc)) / best);
    }
    return { worst, counts };
  }

  it("smooth curves (saturating, power, rounding-noisy constant product): within 1e-10, mostly settled by the model", () => {
    // The model iteration is a secant method on each curve's x/f(x): where it settles, the model
    // matches each curve's value and slope at its share, so the shares meet the optimum's
    // equal-marginal condition, and the pair around each share leaves the chord model nothing to
    // move. Where it does not settle in 6 rounds, the grid and refinement decide. What is left is
    // second order in the pair's half-width (2.5e-6 of the order): about 1e-11 here.
    const { worst, counts } = family(0x0dd, [0, 1, 3]);
    expect(worst).toBeLessThan(1e-10);
    const settled = counts.filter((c) => c <= 2 + 6 + 2).length;
    expect(settled / counts.length).toBeGreaterThan(0.8);
  });

  it("capped curves among smooth ones: within the spec's 1e-4", () => {
    // A cap is a kink the model cannot represent: the iteration may settle beside it or not settle
    // at all, and the chord refinement around the kink decides. The output lost is first order in
    // the distance from the kink, so this family stays near the spec's 1e-4, not at rounding.
    const { worst, counts } = family(0xca9, [0, 1, 2, 2, 3]);
    expect(worst).toBeLessThan(1e-4);
    // The bound per pool: 2 starting quotes, 6 rounds, the grid (14 points beyond the starting
    // two), 8 refining rounds of 6: 70.
    expect(Math.max(...counts)).toBeLessThanOrEqual(70);
  });
});

describe("router chord walk: exact answers", () => {
  // Side 1 throughout: the trader pays X. The closed-form pool has rin = 100, rout = 10000,
  // fee 30 bps, so its first marginal is 0.997 * 100 = 99.7.
  const cp = { rx: 100, ry: 10000, fee: 0.003 };
  const cpPool = () => new Pool(fixedFee(30), cp.rx, cp.ry, 0.5);

  it("lambda* on a chord slope: a linear black box and a closed-form pool", () => {
    // f(x) = 64 x: every chord slope is exactly 64 (powers of two scale without rounding), so the
    // walk ends on that slope: the closed-form pool takes the input where its marginal is 64 and the
    // line takes the rest. Orders below that input go to the closed-form pool alone.
    const xc = cpInputAtMarginal(cp.rx, cp.ry, cp.fee, 64); // 24.87...
    const router = new Router(4);
    for (const amount of [32, 64, 100, 1000]) {
      for (const lineFirst of [false, true]) {
        const pools = lineFirst ? [bbPool((x) => 64 * x), cpPool()] : [cpPool(), bbPool((x) => 64 * x)];
        const alloc = route(router, pools, 1, amount);
        const [line, closed] = lineFirst ? [alloc[0], alloc[1]] : [alloc[1], alloc[0]];
        expect(relErr(closed, xc), `order ${amount}: closed-form pool ${closed}`).toBeLessThan(1e-12);
        expect(relErr(line, amount - xc), `order ${amount}: line ${line}`).toBeLessThan(1e-12);
      }
    }
    // Two lines of slope 64: any split between them is optimal, so only their total is fixed.
    for (const amount of [64, 1000]) {
      const alloc = route(router, [bbPool((x) => 64 * x), cpPool(), bbPool((x) => 64 * x)], 1, amount);
      expect(relErr(alloc[1], xc)).toBeLessThan(1e-12);
      expect(relErr(alloc[0] + alloc[2], amount - xc)).toBeLessThan(1e-12);
    }
  });

  it("lambda* on a chord slope with black boxes only: a capped line and a flatter line", () => {
    // A pays 64 per unit up to amount/4 and nothing after; B pays 32 per unit throughout. The
    // optimum gives A exactly amount/4 (a grid point) and B the rest; the walk ends on B's slope.
    const router = new Router(4);
    for (const amount of [1, 64, 1000]) {
      const cap = amount / 4;
      const a = bbPool(plCurve({ kinks: [cap], slopes: [64, 0] }));
      const b = bbPool((x) => 32 * x);
      for (const pools of [
        [a, b],
        [b, a],
      ]) {
        const alloc = route(router, pools, 1, amount);
        const [xa, xb] = pools[0] === a ? [alloc[0], alloc[1]] : [alloc[1], alloc[0]];
        expect(relErr(xa, cap), `order ${amount}: A ${xa}`).toBeLessThan(1e-12);
        expect(relErr(xb, amount - cap), `order ${amount}: B ${xb}`).toBeLessThan(1e-12);
      }
    }
  });

  it("lambda* strictly between chord slopes: a kink on a grid point", () => {
    // Slope 64 up to amount/4, then 32. The closed-form pool, given the other 3/4 of the order,
    // must sit at a marginal strictly between 32 and 64; then the optimum gives the kinked pool
    // exactly amount/4 and the closed-form pool the rest (neither can gain by moving input).
    const router = new Router(4);
    for (const amount of [40, 64, 80]) {
      const kink = amount / 4;
      const m = (1 - cp.fee) * cp.ry * cp.rx * (cp.rx + (1 - cp.fee) * (amount - kink)) ** -2;
      expect(m).toBeGreaterThan(32);
      expect(m).toBeLessThan(64);
      const alloc = route(router, [bbPool(plCurve({ kinks: [kink], slopes: [64, 32] })), cpPool()], 1, amount);
      expect(relErr(alloc[0], kink), `order ${amount}: kinked pool ${alloc[0]}`).toBeLessThan(1e-12);
      expect(relErr(alloc[1], amount - kink), `order ${amount}: closed form ${alloc[1]}`).toBeLessThan(1e-12);
    }
  });

  it("the optimum across a breakpoint of the grid: a kink between two grid points", () => {
    // Order 64, kink at 20 (between grid points 16 and 32), slopes 64 then 32. The closed-form
    // pool at 64 - 20 = 44 has marginal 48.2, strictly between, so the optimum gives the kinked
    // pool exactly 20. The initial chord over [16, 32] has slope (4*64 + 12*32)/16 = 40 < 48.2,
    // so the unrefined answer stops at the breakpoint 16; only refinement across it finds 20.
    const amount = 64;
    const kink = 20;
    const curve = plCurve({ kinks: [kink], slopes: [64, 32] });
    const cpC = cpCurve(cp.rx, cp.ry, cp.fee);
    const m = (1 - cp.fee) * cp.ry * cp.rx * (cp.rx + (1 - cp.fee) * (amount - kink)) ** -2;
    expect(m).toBeGreaterThan(40);
    expect(m).toBeLessThan(64);
    expect(chordAllocation([curve, cpC], amount)[0]).toBe(16);
    const router = new Router(4);
    const alloc = route(router, [bbPool(curve), cpPool()], 1, amount);
    // The kinked pool's segment ends narrower than 1e-5 of the order, and the allocation is one of
    // its ends or inside it.
    expect(Math.abs(alloc[0] - kink), `kinked pool ${alloc[0]}`).toBeLessThanOrEqual(amount * 1e-5);
    expect(Math.abs(alloc[0] + alloc[1] - amount)).toBeLessThanOrEqual(amount * 1e-12);
    const best = cpC(amount - kink) + curve(kink);
    const lossUnrefined = (best - cpC(amount - 16) - curve(16)) / best;
    const loss = (best - cpC(alloc[1]) - curve(alloc[0])) / best;
    // The loss is first order in the distance from the kink (slopes differ from 48.2 by about 16):
    // at most 6.4e-4 * 16 / 4329 = 2.4e-6 of the output, against 4 * 16 / 4329 = 1.5e-2 unrefined.
    expect(lossUnrefined).toBeGreaterThan(1e-2);
    expect(loss).toBeLessThan(2.5e-6);
  });
});

describe("router refinement: kinks on and between grid points", () => {
  it("two pools, kinked black boxes next to closed-form or smooth black boxes: within 1e-4 of brute force", () => {
    // Kinks at amount / 2^j sit on grid points, so allocations land on breakpoints whose neighbours
    // the refinement splits again: some new points fall on (or within rounding of) existing ones,
    // and a near-duplicate point would make a segment whose slope is rounding noise. 1e-4 is the
    // spec's bound for concave black boxes (spec §2).
    const rng = mulberry32(1);
    const router = new Router(2);
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const amount = logUniform(rng, 1, 1000);
      const pools: Pool[] = [];
      const curves: Curve[] = [];
      for (let i = 0; i < 2; i++) {
        const u = rng();
        if (u < 0.3) {
          const fee = Math.round(uniform(rng, 0, 100));
          const rx = logUniform(rng, 10, 10000);
          const ry = 100 * logUniform(rng, 10, 10000);
          pools.push(new Pool(fixedFee(fee), rx, ry, 0.5));
          curves.push(cpCurve(rx, ry, fee / 1e4));
        } else if (u < 0.6) {
          const rin = logUniform(rng, 10, 10000);
          curves.push(cpCurve(rin, rin * uniform(rng, 50, 150), uniform(rng, 0, 0.2)));
          pools.push(bbPool(curves[i]));
        } else {
          const nk = intIn(rng, 1, 4);
          const kinks = Array.from({ length: nk }, () =>
            rng() < 0.5 ? amount * 2 ** -intIn(rng, 0, 10) : amount * logUniform(rng, 1e-3, 1.5),
          ).sort((a, b) => a - b);
          const slopes = [100 * uniform(rng, 0.5, 1.5)];
          for (let j = 0; j < nk; j++) slopes.push(slopes[j] * (rng() < 0.3 ? 0.5 : uniform(rng, 0.2, 0.99)));
          curves.push(plCurve({ kinks, slopes }));
          pools.push(bbPool(curves[i]));
        }
      }
      const alloc = route(router, pools, 1, amount);
      const best = totalOutput(curves, bruteForce(curves, amount));
      const shortfall = (best - totalOutput(curves, alloc)) / best;
      worst = Math.max(worst, shortfall);
      expect(shortfall, `trial ${trial}: ${Array.from(alloc).join(", ")}`).toBeLessThanOrEqual(1e-4);
    }
    expect(worst).toBeGreaterThan(0); // the family is not trivially exact
  });
});

describe("router chord walk: saturating curves", () => {
  it("sends no input where it buys nothing: pools that stop paying keep exactly their paying part", () => {
    // A pays 2 per unit up to amount/4, B pays 1 per unit up to amount/8, both nothing after. The
    // trader's best is to spend amount/4 + amount/8 and keep the rest: input sent past a kink
    // buys no output. Kinks on grid points make the chord model exact there.
    const router = new Router(2);
    for (const amount of [1, 64, 1000]) {
      const a = bbPool(plCurve({ kinks: [amount / 4], slopes: [2, 0] }));
      const b = bbPool(plCurve({ kinks: [amount / 8], slopes: [1, 0] }));
      const alloc = route(router, [a, b], 1, amount);
      expect(Array.from(alloc)).toEqual([amount / 4, amount / 8]);
      const lone = route(router, [a], 0, amount);
      expect(Array.from(lone)).toEqual([amount / 4]);
    }
  });
});

describe("router bookkeeping: quotes it reports, and quotes it makes", () => {
  it("quotedOutput is NaN at 0 and at the points of an earlier, longer route", () => {
    // The origin is a point of every chord model but never quoted. A router reused for a shorter
    // route keeps the earlier model's points past the new model's end in its buffers: they are
    // not quotes of this route. A line (no model fits) on an order of 64 gets the grid and
    // refinement (51 quotes); constant product then gets its 3 (see above).
    const router = new Router(2);
    const asked: number[] = [];
    const line: Strategy = {
      name: "line",
      computeSwap: (_side, d) => {
        asked.push(d);
        return 3 * d;
      },
    };
    const first = new Pool(line, 1e12, 1e12, 0.5);
    route(router, [first], 1, 64);
    expect(asked.length).toBe(51);
    expect(router.quotedOutput(0, 0)).toBeNaN();
    const cp = bbPool(cpCurve(100, 10000, 0.003));
    route(router, [cp], 1, 64);
    expect(cp.quoteCalls).toBe(3);
    expect(router.quotedOutput(0, 0)).toBeNaN();
    expect(router.quotedOutput(0, 64)).toBe(cpCurve(100, 10000, 0.003)(64)); // a quote of this route
    for (const x of asked) if (x !== 64 && x !== 32) expect(router.quotedOutput(0, x), `old point ${x}`).toBeNaN();
  });

  it("an order below the rounding of the reserves: finite, non-negative allocations, never more than the order", () => {
    // An order of 1e-15 against input reserves near 1e4 (one ulp of 1e4 is 1.8e-12) is lost when
    // added to the reserve: the closed form's shares a*mu - rin come out as 0 or a few ulps of
    // the reserve either way. Shares that all round to 0 leave nothing to rescale (no trade,
    // rather than 0/0); shares of an ulp are rescaled to the order.
    const rng = mulberry32(0x70e);
    const router = new Router(4);
    let none = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = intIn(rng, 1, 3);
      const pools = Array.from({ length: n }, () => {
        const rx = logUniform(rng, 1e3, 1e5);
        return new Pool(fixedFee(30), rx, rx * 100 * uniform(rng, 0.99, 1.01), 1 / n);
      });
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const amount = 1e-15 * logUniform(rng, 1, 100);
      const alloc = route(router, pools, side, amount);
      let sum = 0;
      for (const a of alloc) {
        expect(Number.isFinite(a) && a >= 0, `allocation ${a}`).toBe(true);
        sum += a;
      }
      expect(sum).toBeLessThanOrEqual(amount * (1 + 1e-9));
      if (sum === 0) none++;
    }
    expect(none).toBeGreaterThan(0); // the case with nothing to rescale occurs
  });

  it("a line with a share inside its first grid segment: every quote is of a positive input", () => {
    // f(x) = 64 x beside the closed-form pool of the chord-walk tests, which takes xc = 24.887 at
    // marginal 64 (the optimum, as above). An order of xc * (1 + 1e-5) leaves the line 1e-5 of xc,
    // below the first grid point (order / 2^15 = 3.05e-5 of the order), so the refinement works in
    // the first segment [0, order / 2^15], which has no left neighbour. Every quote the router
    // counts is a quote of the pool (the origin is never quoted).
    const xc = cpInputAtMarginal(100, 10000, 0.003, 64);
    const router = new Router(2);
    for (const amount of [xc * (1 + 1e-5), xc * (1 + 2e-5)]) {
      const line = bbPool((x) => 64 * x);
      const alloc = route(router, [line, new Pool(fixedFee(30), 100, 10000, 0.5)], 1, amount);
      expect(alloc[0]).toBeGreaterThan(0);
      expect(alloc[0]).toBeLessThan(amount / 2 ** 15);
      expect(Math.abs(alloc[0] - (amount - xc))).toBeLessThanOrEqual(amount * 1e-5);
      expect(router.lastQuoteCalls).toBe(line.quoteCalls);
    }
  });

  it("a router reused for fewer black boxes than its last route: the split still adds up to the order", () => {
    // Three black-box lines of slope 64, then two, then one, through one Router(3): the earlier
    // routes leave models (points, slopes, walk cursors) past the current black boxes in the
    // router's buffers. Identical lines make every chord slope exactly 64 (a power of two times
    // points amount / 2^k), so a stale slope would equal the walk's head slope and join its group.
    // Truth: any split of the order is optimal for identical lines (output 64 per unit), so the
    // allocations must add up to the order, each line taking its equal share by symmetry.
    const router = new Router(3);
    for (const count of [3, 2, 1, 3, 2]) {
      const pools = Array.from({ length: count }, () => bbPool((x) => 64 * x));
      const alloc = route(router, pools, 1, 100);
      const sum = alloc.reduce((s, a) => s + a, 0);
      expect(Math.abs(sum - 100), `${count} lines: ${[...alloc].join(", ")}`).toBeLessThanOrEqual(100 * 1e-12);
      for (const a of alloc) expect(a).toBeCloseTo(100 / count, 9);
    }
  });
});
