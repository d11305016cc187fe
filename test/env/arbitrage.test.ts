/**
 * The arbitrageur (spec §2 step 2) against brute force (test/helpers/oracles.ts): for each side,
 * profit as a function of the input is maximised by a dense log-spaced scan followed by
 * golden-section refinement between the best scan point's neighbours; the better side wins.
 *
 * Constant product with fee f on input, g = 1 - f, reserves x (X) and y (Y), spot p = y/x:
 *   buy X  (side 0, pay d Y):  profit0(d) = S * x*g0*d/(y + g0*d) - d
 *   sell X (side 1, pay d X):  profit1(d) = y*g1*d/(x + g1*d) - S*d
 * Both are concave with profit(0) = 0, so a side is profitable iff its slope at 0 is positive:
 *   profit0'(0) = S*g0*x/y - 1 > 0  <=>  S > p / g0
 *   profit1'(0) = g1*y/x - S    > 0  <=>  S < g1 * p
 * Hence no trade at all inside the band g1*p <= S <= p/g0, i.e. (1-fee)*spot <= S <= spot/(1-fee)
 * for equal fees.
 */
import { describe, expect, it } from "vitest";
import { arbitrage, arbitrageConstantProduct, arbitrageGeneric, ArbTrade } from "../../env/arbitrage.js";
import { fixedFee } from "../../env/builtins/fixed.js";
import { Pool } from "../../env/pool.js";
import type { Side, Strategy } from "../../env/strategy.js";
import { bruteArb, bruteCp, cpOutput, type ArbCpSpec as CpSpec } from "../helpers/oracles.js";
import { logUniform, mulberry32, type Rng, uniform } from "../helpers/prng.js";

// ---------------------------------------------------------------------------------------------
// Constant product written out here, and scenarios

/** Trader output of constant product with fee, written out here. */
function cpOut(c: CpSpec, side: Side, d: number): number {
  return side === 0 ? (c.x * (1 - c.f0) * d) / (c.y + (1 - c.f0) * d) : (c.y * (1 - c.f1) * d) / (c.x + (1 - c.f1) * d);
}

/** The same curve as a black box: the engine must not know it is constant product. */
function cpBlackBox(f0: number, f1: number): Strategy {
  return {
    name: "black-box cp",
    computeSwap: (side, d, rx, ry) => (side === 0 ? cpOutput(rx, ry, f0, d) : cpOutput(ry, rx, f1, d)),
  };
}

function randomSpec(rng: Rng): CpSpec {
  const x = logUniform(rng, 1, 1000);
  const y = x * 100 * Math.exp(uniform(rng, -1, 1));
  const fee = () => (rng() < 0.15 ? 0 : uniform(rng, 0, 0.1));
  return { x, y, f0: fee(), f1: fee() };
}

/** Fair prices outside the band (above or below by 1e-4..100%) and strictly inside it. */
function fairPrices(rng: Rng, c: CpSpec): { above: number; below: number; inside: number } {
  const spot = c.y / c.x;
  const upperEdge = spot / (1 - c.f0);
  const lowerEdge = spot * (1 - c.f1);
  const inside = lowerEdge * (upperEdge / lowerEdge) ** uniform(rng, 0.001, 0.999);
  return {
    above: upperEdge * (1 + logUniform(rng, 1e-4, 1)),
    below: lowerEdge / (1 + logUniform(rng, 1e-4, 1)),
    inside,
  };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

// ---------------------------------------------------------------------------------------------

// Order: the cheap searches first, the brute-force comparisons (each a 3000-point scan per side)
// last. The tests are independent; in a mutation run a mutant stops at its first failing test,
// so most mutants of the search are caught before the slow tests run.

describe("the generic search on a curve that pays whole nano (the native ABI, spec §3.4)", () => {
  it("trades the mispricing the closed form trades, though its tiny probe rounds to nothing", () => {
    const rng = mulberry32(77);
    const nano = (v: number): bigint => (v > 0 ? BigInt(Math.floor(v * 1e9)) : 0n);
    // Integer constant product with a 30 bps fee on nano amounts, as a seed Rust strategy computes it.
    const rounded: Strategy = {
      name: "nano cp",
      computeSwap(side, input, rx, ry) {
        const [rin, rout] = side === 0 ? [nano(ry), nano(rx)] : [nano(rx), nano(ry)];
        const gi = (nano(input) * 9970n) / 10000n;
        return rin + gi === 0n ? 0 : Number((rout * gi) / (rin + gi)) / 1e9;
      },
    };
    let trades = 0;
    for (let i = 0; i < 200; i++) {
      const x = logUniform(rng, 10, 1000);
      const spot = logUniform(rng, 10, 1000);
      // Mispricings of 0.5% to 5% either way: beyond the fee, so the closed form trades.
      const S = spot * (1 + (rng() < 0.5 ? -1 : 1) * uniform(rng, 0.005, 0.05));
      const bb = new Pool(rounded, x, x * spot, 1);
      const cp = new Pool(fixedFee(30), x, x * spot, 1);
      const closed = arbitrageConstantProduct(cp, S, new ArbTrade());
      const generic = arbitrageGeneric(bb, S, new ArbTrade());
      expect(closed.side).not.toBe(-1);
      expect(generic.side).toBe(closed.side);
      // The rounded curve pays up to a few nano less (its output and its fee-adjusted input are
      // floored): worth at most 1e-8 of value, in Y, at price S.
      expect(Math.abs(generic.profit - closed.profit)).toBeLessThan(1e-8 * (1 + S));
      expect(rel(generic.input, closed.input)).toBeLessThan(1e-2);
      trades++;
    }
    expect(trades).toBe(200);
  });

  it("a curve that floors its output to 1e-12 of its reserve: the closed form's profit, less rounding", () => {
    // Here the tiny probe (1e-12 of the bound) is paid about one unit of rounding, so it is
    // profitable but its model says little: the search must not take an optimum "just past" the
    // probe's closed side for a settled one. Truth: the closed-form optimum d*, P* of the unrounded
    // curve. Flooring only lowers output, so no input beats P*; at the best input tried the floor
    // costs at most one unit (1e-12 of the output reserve, worth `value` each), and the search's
    // bracket of 1e-9 costs a few 1e-9 of P* (as on the capped curves above).
    const rng = mulberry32(0x12e0);
    let trades = 0;
    for (let trial = 0; trial < 200; trial++) {
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const x = logUniform(rng, 1, 1000);
      const y = x * logUniform(rng, 1, 1e4);
      const fee = uniform(rng, 0, 0.01);
      const spot = y / x;
      const mis = 1 + uniform(rng, 0.01, 0.5); // beyond the band edge by 1% to 50%
      const S = side === 0 ? (spot / (1 - fee)) * mis : (spot * (1 - fee)) / mis;
      const [rout, rin] = side === 0 ? [x, y] : [y, x];
      const unit = rout * 1e-12;
      const floored = (d: number) => Math.floor(cpOutput(rout, rin, fee, d) / unit) * unit;
      const truth = bruteCp({ x, y, f0: fee, f1: fee }, S);
      expect(truth.side).toBe(side);
      const pool = new Pool({ name: "floored", computeSwap: (q, d) => (q === side ? floored(d) : 0) }, x, y, 1);
      const out = arbitrageGeneric(pool, S, new ArbTrade());
      const value = side === 0 ? S : 1;
      const label = `x ${x} y ${y} fee ${fee} S ${S}`;
      expect(out.side, label).toBe(side);
      expect(out.profit, label).toBeLessThanOrEqual(truth.profit * (1 + 1e-12));
      expect(truth.profit - out.profit, label).toBeLessThanOrEqual(5e-9 * truth.profit + unit * value);
      expect(out.output).toBe(floored(out.input));
      trades++;
    }
    expect(trades).toBe(200);
  });

  it("constant product with output noise of up to 1e-12: the closed form's trade, and the settling rule's savings", () => {
    // A strategy that computes constant product another way (other operation order, f32 steps)
    // returns it with a relative error of about 1e-12 that is not smooth in the input. Truth: the
    // closed-form optimum d*, P* of the noiseless curve. Noise moves profit by at most 1e-12 of
    // the output's value, and profit is flat at d*, so the search's best input tried is within
    // 1e-9 of P*, and within sqrt(1e-12 / curvature) of d* in input (1e-4 here).
    // Cost: a model optimum within the noise of b, or just past a side already closed, is taken
    // as "b is the optimum" and only the tolerance steps follow. This seeded family then needs
    // 29.1 quotes a search on average; treating only a model optimum within 2 tolerances of b as
    // settled (dropping the "just past a closed side" rule) costs 31. The bound 30 is what says
    // the rule is there.
    const rng = mulberry32(0x5e77);
    const trials = 400;
    let quotes = 0;
    for (let trial = 0; trial < trials; trial++) {
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const x = logUniform(rng, 1, 1000);
      const y = x * logUniform(rng, 1, 1e4);
      const fee = uniform(rng, 0, 0.01);
      const spot = y / x;
      const mis = 1 + uniform(rng, 0.01, 0.5);
      const S = side === 0 ? (spot / (1 - fee)) * mis : (spot * (1 - fee)) / mis;
      const [rout, rin] = side === 0 ? [x, y] : [y, x];
      const eps = 1e-12 * rng();
      const phase = 1000 * rng();
      const noisy = (d: number) => cpOutput(rout, rin, fee, d) * (1 + eps * Math.sin(phase + (d * 1e9) / rin));
      const g = 1 - fee;
      const dStar = side === 0 ? (Math.sqrt(S * g * x * y) - y) / g : (Math.sqrt((g * x * y) / S) - x) / g;
      const pStar = side === 0 ? S * cpOutput(x, y, fee, dStar) - dStar : cpOutput(y, x, fee, dStar) - S * dStar;
      const pool = new Pool({ name: "noisy", computeSwap: (q, d) => (q === side ? noisy(d) : 0) }, x, y, 1);
      const out = arbitrageGeneric(pool, S, new ArbTrade());
      const label = `x ${x} y ${y} fee ${fee} S ${S}`;
      expect(out.side, label).toBe(side);
      expect(rel(out.profit, pStar), label).toBeLessThan(1e-9);
      expect(rel(out.input, dStar), label).toBeLessThan(1e-4);
      quotes += pool.quoteCalls;
    }
    expect(quotes / trials).toBeLessThanOrEqual(30);
  });
});

describe("the generic search, beyond constant product at spot 100", () => {
  /** A black box that records every (input, output) it was asked for. */
  function recording(curve: (side: Side, d: number, rx: number, ry: number) => number): {
    strategy: Strategy;
    asked: Array<[Side, number, number]>;
  } {
    const asked: Array<[Side, number, number]> = [];
    return {
      asked,
      strategy: {
        name: "recording",
        computeSwap(side, d, rx, ry) {
          const o = curve(side, d, rx, ry);
          asked.push([side, d, o]);
          return o;
        },
      },
    };
  }

  it("a fresh ArbTrade is 'no trade'", () => {
    const t = new ArbTrade();
    expect([t.side, t.input, t.output, t.profit]).toEqual([-1, 0, 0, 0]);
  });

  it("matches the closed form at spot prices from 1e-4 to 1e4 (each side's input has its own unit)", () => {
    // Side 0 pays Y, bounded by S * x; side 1 pays X, bounded by y / S: mixing the two up is
    // invisible at S ~ 100 with y ~ 100 x only because the bounds are generous there.
    const rng = mulberry32(0x5ca1e);
    const closed = new ArbTrade();
    const generic = new ArbTrade();
    for (let trial = 0; trial < 100; trial++) {
      const spot = 10 ** uniform(rng, -4, 4);
      const x = logUniform(rng, 1, 1e6);
      const c: CpSpec = { x, y: x * spot, f0: uniform(rng, 0, 0.01), f1: uniform(rng, 0, 0.01) };
      const prices = fairPrices(rng, c);
      const cp = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const bb = new Pool(cpBlackBox(c.f0, c.f1), c.x, c.y, 1);
      // Far outside the band (5%..100%), where the optimal input is a sizeable share of a reserve.
      const S = trial % 2 === 0 ? prices.above * (1.05 + rng()) : prices.below / (1.05 + rng());
      arbitrageConstantProduct(cp, S, closed);
      arbitrageGeneric(bb, S, generic);
      const label = `x ${c.x} y ${c.y} S ${S}`;
      expect(closed.side, label).toBe(trial % 2 === 0 ? 0 : 1);
      expect(generic.side, label).toBe(closed.side);
      expect(rel(generic.input, closed.input), label).toBeLessThan(1e-4);
      expect(rel(generic.profit, closed.profit), label).toBeLessThan(1e-7);
    }
  });

  it("when both sides pay (rebates on both), the better side wins and the trade is the best input tried", () => {
    // gamma > 1 on both sides: at S near spot both slopes at 0 are positive. Each side is then
    // searched: 4 quotes each for constant product (see the count above), plus one for each
    // tolerance step that rounding makes look better: 8 to 11 here.
    const rng = mulberry32(0x2b0f);
    const out = new ArbTrade();
    const won = [0, 0];
    for (let trial = 0; trial < 100; trial++) {
      const x = logUniform(rng, 1, 1000);
      const y = x * 100 * Math.exp(uniform(rng, -0.5, 0.5));
      const c: CpSpec = { x, y, f0: -uniform(rng, 0.001, 0.05), f1: -uniform(rng, 0.001, 0.05) };
      const S = (y / x) * Math.exp(uniform(rng, -0.0005, 0.0005));
      const truth = bruteCp(c, S);
      const rec = recording((side, d, rx, ry) => (side === 0 ? cpOutput(rx, ry, c.f0, d) : cpOutput(ry, rx, c.f1, d)));
      const pool = new Pool(rec.strategy, x, y, 1);
      arbitrage(pool, S, out);
      expect(rec.asked.length).toBeGreaterThanOrEqual(8);
      expect(rec.asked.length).toBeLessThanOrEqual(11);
      expect(out.side).toBe(truth.side);
      expect(rel(out.profit, truth.profit)).toBeLessThan(1e-7);
      // The reported trade is the most profitable of every input the search asked about, on either side.
      const profits = rec.asked.map(([side, d, o]) => (side === 0 ? o * S - d : o - d * S));
      expect(out.profit).toBe(Math.max(...profits));
      won[out.side === -1 ? 0 : out.side]++;
    }
    expect(Math.min(...won)).toBeGreaterThan(20); // both sides win some of them
  });

  it("reports the best input it tried on a single profitable side too", () => {
    const rng = mulberry32(0xbe57);
    const out = new ArbTrade();
    for (let trial = 0; trial < 100; trial++) {
      const c = randomSpec(rng);
      const prices = fairPrices(rng, c);
      const S = trial % 2 === 0 ? prices.above : prices.below;
      const rec = recording((side, d, rx, ry) => (side === 0 ? cpOutput(rx, ry, c.f0, d) : cpOutput(ry, rx, c.f1, d)));
      arbitrage(new Pool(rec.strategy, c.x, c.y, 1), S, out);
      const profits = rec.asked.map(([side, d, o]) => (side === 0 ? o * S - d : o - d * S));
      expect(out.profit).toBe(Math.max(...profits));
      expect(out.side).toBe(trial % 2 === 0 ? 0 : 1);
    }
  });

  it("a curve priced exactly at the fair price: no trade, two probes per side", () => {
    // S = 2 and outputs d / 2 (side 0) and 2 d (side 1) make every profit exactly 0 in binary
    // floating point: no side is profitable, so each costs only its two probes (the tiny one and
    // the one for curves that round their output).
    const rec = recording((side, d, rx, ry) => (side === 0 ? Math.min(d / 2, rx / 2) : Math.min(2 * d, ry / 2)));
    const pool = new Pool(rec.strategy, 100, 200, 1);
    const out = arbitrage(pool, 2, new ArbTrade());
    expect([out.side, out.input, out.output, out.profit]).toEqual([-1, 0, 0, 0]);
    expect(rec.asked.map(([side]) => side)).toEqual([0, 0, 1, 1]);
    for (const [side, d, o] of rec.asked) expect(side === 0 ? o * 2 - d : o - d * 2).toBe(0);
  });

  describe("degenerate pools and prices", () => {
    const cpCurveOf = (side: Side, d: number, rx: number, ry: number): number =>
      side === 0 ? cpOutput(rx, ry, 0.003, d) : cpOutput(ry, rx, 0.003, d);

    function expectNoTrade(t: ArbTrade): void {
      expect([t.side, t.input, t.output, t.profit]).toEqual([-1, 0, 0, 0]);
    }

    it("zero, negative, infinite or NaN fair price: no trade, and the curve is never asked about a non-finite input", () => {
      // A negative price makes the side's bound negative: a search from a negative probe would
      // find "profit" in paying a negative amount.
      for (const S of [0, -100, Infinity, NaN]) {
        const rec = recording(cpCurveOf);
        const bb = new Pool(rec.strategy, 100, 10000, 1);
        const stale = Object.assign(new ArbTrade(), { side: 1, input: 5, output: 7, profit: 3 });
        expectNoTrade(arbitrage(bb, S, stale));
        for (const [, d] of rec.asked) expect(Number.isFinite(d) && d > 0, `S ${S} asked ${d}`).toBe(true);
        const cp = new Pool(fixedFee(30), 100, 10000, 1);
        expectNoTrade(arbitrage(cp, S, Object.assign(new ArbTrade(), { side: 0, input: 1, output: 1, profit: 1 })));
      }
    });

    it("a pool rebalanced to zero capital (zero reserves): no trade, no quote", () => {
      for (const make of [() => recording(cpCurveOf).strategy, () => fixedFee(30)]) {
        const pool = new Pool(make(), 100, 10000, 1);
        pool.rebalanceTo(0, 0, 100);
        expect([pool.reserveX, pool.reserveY]).toEqual([0, 0]);
        for (const S of [50, 100, 200]) expectNoTrade(arbitrage(pool, S, new ArbTrade()));
        expect(pool.quoteCalls).toBe(0);
      }
    });
  });
});

describe("the generic search quotes only inside its bracket", () => {
  it("on curves with no straight stretch, every quote after the probe lies in the bracket the quotes before it make", () => {
    // The bracket, replayed here from the quotes and the profits this test computes: it starts
    // at [first probe, the side's bound] around the profitable probe b; a quote that beats b
    // moves b there and the old b becomes the end on that side, one that does not becomes the
    // end on its own side. On a concave curve the maximiser stays inside, and no input outside
    // can beat b, so a quote outside is wasted: model trials, settled ones included, and
    // bisections all land inside. Only a tolerance step may pass an end: each one that wins
    // doubles the next (env/arbitrage.ts, to cross a straight stretch of a piecewise-linear curve
    // fast), and kinked or capped curves do see such steps pass an end. These curves have no
    // straight stretch (floored and noisy constant product are flat or wavy only at 1e-12), so
    // the bound is 0 quotes outside.
    const rng = mulberry32(0xb7ac);
    const families: Array<(rout: number, rin: number, fee: number) => (d: number) => number> = [
      (rout, rin) => {
        const scale = rin * logUniform(rng, 0.05, 2);
        return (d) => -0.9 * rout * Math.expm1(-d / scale);
      },
      (rout, rin) => {
        const e = uniform(rng, 0.3, 0.9);
        return (d) => 0.5 * rout * Math.pow(d / (d + rin), e);
      },
      (rout, rin) => {
        const scale = rin * logUniform(rng, 0.001, 1);
        return (d) => Math.min(0.01 * rout * Math.log1p(d / scale), 0.99 * rout);
      },
      (rout, rin) => {
        const scale = rin * logUniform(rng, 0.01, 1);
        return (d) => (0.5 * rout * (Math.sqrt(1 + d / scale) - 1)) / Math.sqrt(1 + d / scale);
      },
      (rout, rin, fee) => {
        const unit = rout * 1e-12;
        return (d) => Math.floor(cpOutput(rout, rin, fee, d) / unit) * unit;
      },
      (rout, rin, fee) => {
        const eps = 1e-12 * rng();
        const phase = 1000 * rng();
        return (d) => cpOutput(rout, rin, fee, d) * (1 + eps * Math.sin(phase + (d * 1e9) / rin));
      },
    ];
    let searches = 0;
    let quotes = 0;
    let outside = 0;
    for (let trial = 0; trial < 600; trial++) {
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const x = logUniform(rng, 1, 1000);
      const y = x * logUniform(rng, 1, 1e4);
      const fee = uniform(rng, 0, 0.01);
      const mis = 1 + uniform(rng, 0.01, 0.5);
      const S = side === 0 ? (y / x / (1 - fee)) * mis : ((y / x) * (1 - fee)) / mis;
      const [rout, rin] = side === 0 ? [x, y] : [y, x];
      const f = families[trial % families.length](rout, rin, fee);
      const asked: number[] = [];
      const strategy: Strategy = {
        name: "recorded",
        computeSwap(q, d) {
          if (q !== side) return 0;
          asked.push(d);
          return f(d);
        },
      };
      arbitrageGeneric(new Pool(strategy, x, y, 1), S, new ArbTrade());
      const profit = (d: number) => (side === 0 ? S * f(d) - d : f(d) - S * d);
      // The probe, and the second probe when the first does not profit.
      const first = profit(asked[0]) > 0 ? 0 : 1;
      if (!(profit(asked[first]) > 0)) continue;
      searches++;
      let a = asked[0];
      let b = asked[first];
      let c = side === 0 ? x * S : y / S;
      let pb = profit(b);
      for (const t of asked.slice(first + 1)) {
        quotes++;
        if (t < a || t > c) outside++;
        const p = profit(t);
        if (p > pb) {
          if (t > b) a = b;
          else c = b;
          b = t;
          pb = p;
        } else if (t > b) c = t;
        else a = t;
      }
    }
    // 499 of the 600 sides trade (some logarithmic curves pay below the break-even price from the start).
    expect(searches).toBeGreaterThan(450);
    expect(quotes).toBeGreaterThan(10 * searches);
    expect(outside).toBe(0);
  });
});

describe("the generic search's guard: at most 100 quotes after the probe (spec §2.6)", () => {
  it("a curve that answers so as to keep the bracket open: stopped at the guard, with the best input it tried", () => {
    // The search relies on the curve being concave; a curve that is not can keep its bracket open,
    // and the guard is what stops it. This black box answers side 0's n-th quote with the best
    // profit so far times 1 + R[n] (R[n] > 0: the trial wins, < 0: it loses, by that much), and
    // side 1 with nothing. R was found by a greedy search over answers: for each quote in turn, the
    // answer among +-1e-15 .. +-0.9 with which the whole search lasted longest; past R every quote
    // loses. Spec §2.6: the search stops when b's neighbours on both sides are within about 1e-9
    // of it, or after 100 quotes past the probe. So either the bracket (replayed here from the
    // answers) is closed at the end, or exactly 101 quotes were made. With the search as it is,
    // R keeps the bracket open to the guard (101 quotes, open at the end); a search without the
    // guard goes on past 101. A change to the step rules may stop R from reaching the guard (the
    // test then still holds, but no longer exercises the guard: find R again).
    const R = [
      0, -0.5, -0.01, 1e-10, -1e-9, 1e-10, -1e-6, 1e-8, -1e-3, 1e-3, 1e-9, 1e-3, -1e-12, -0.01, 1e-13, -1e-15, -1e-15,
      1e-3, -1e-14, -1e-14, 1e-3, -1e-13, 1e-10, -1e-3, -1e-3, -1e-3, 1e-3, -1e-15, -1e-15, 1e-3, -1e-8, -1e-3, 0.9,
      -1e-3, -1e-15, -1e-15, 0.1, -1e-3, -1e-15, -1e-15, -0.1, -1e-15, -1e-15, -0.1, -1e-15, -1e-15, 1e-15, -1e-8,
      -1e-15, 1e-9, -1e-15, 1e-12, 1e-9, 1e-3, 1e-8, -1e-14, -1e-15, -1e-15, -1e-15, -1e-15, 1e-3, -0.01, 1e-14, -1e-15,
      1e-14, 0.1, -1e-14, -1e-15, -1e-15, 1e-14, -1e-14, 1e-15, -1e-3, 1e-15, -1e-15, -1e-15, -1e-12, -1e-4, 1e-15,
      -1e-15, -1e-15, -1e-15, 1e-14, 1e-14, -1e-15, 1e-4, 1e-14, 1e-14, 1e-14, -1e-15, -1e-15, -1e-15, 1e-15, 1e-15,
      1e-15, -1e-9, 1e-15, 1e-15, 1e-15, 1e-15, 1e-15,
    ];
    const S = 1.3;
    const x = 1000;
    let best = 1e-9 * (x * S); // the probe's profit (R depends on every bit of it)
    const asked: Array<[number, number]> = [];
    const adversary: Strategy = {
      name: "adversary",
      computeSwap(side, d) {
        if (side === 1) return 0;
        const n = asked.length;
        const p = n === 0 ? best : best * (1 + (n < R.length ? R[n] : -1e-3));
        best = Math.max(best, p);
        const o = (p + d) / S; // output worth p more than the input
        asked.push([d, o]);
        return o;
      },
    };
    const pool = new Pool(adversary, x, 1000, 1);
    const out = arbitrageGeneric(pool, S, new ArbTrade());
    // The bracket at the end, replayed as in the test above; "closed": both ends within 2.5e-9 of
    // b (the search's own margin for a failed tolerance step of one or two 1e-9, with rounding).
    let [lo, b, hi] = [asked[0][0], asked[0][0], x * S];
    let pb = asked[0][1] * S - asked[0][0];
    for (const [t, o] of asked.slice(1)) {
      const p = o * S - t;
      if (p > pb) {
        if (t > b) lo = b;
        else hi = b;
        b = t;
        pb = p;
      } else if (t > b) hi = t;
      else lo = t;
    }
    const closed = b - lo <= 2.5e-9 * b && hi - b <= 2.5e-9 * b;
    expect(asked.length).toBeLessThanOrEqual(1 + 100);
    expect(closed || asked.length === 1 + 100, `${asked.length} quotes, bracket [${lo}, ${b}, ${hi}]`).toBe(true);
    expect(pool.quoteCalls).toBe(asked.length + 2); // and side 1's two unprofitable probes
    expect(out.side).toBe(0);
    const profits = asked.map(([d, o]) => o * S - d);
    const i = profits.indexOf(Math.max(...profits));
    expect([out.input, out.output, out.profit]).toEqual([asked[i][0], asked[i][1], profits[i]]);
  });
});

describe("the generic search on a smooth curve with a closed-form optimum", () => {
  it("saturating exponential R * (1 - exp(-d / s)): the optimum in closed form, in at most 40 quotes", () => {
    // Side 0 profit S * R * (1 - exp(-d / s)) - d has slope S * R / s * exp(-d / s) - 1, zero at
    // d* = s * ln(S * R / s); side 1 profit R * (1 - exp(-d / s)) - S * d peaks at d* = s * ln(R / (S * s)).
    // The curve is not constant product, so the model is refitted through the last three inputs
    // (anchor, second point, best) and converges like a secant method. Bound on quotes: the other
    // side's two unprofitable probes plus the search itself; this seeded family needs at most 37
    // (mean about 16). The search with its model anchored at the origin for good, or with its
    // tolerance steps counted as model points, falls back to bisection in log(input) and spends 45
    // to 100 here, so the bound 40 is what says the model is used.
    const rng = mulberry32(0xe4b1);
    let worst = 0;
    const calls: number[] = [];
    for (let trial = 0; trial < 200; trial++) {
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const x = logUniform(rng, 1, 1000);
      const y = x * 100 * Math.exp(uniform(rng, -0.5, 0.5));
      // R: 0.9 of the paying reserve; s: the input scale, a share of the input reserve.
      const R = 0.9 * (side === 0 ? x : y);
      const s = (side === 0 ? y : x) * logUniform(rng, 0.05, 2);
      const edge = side === 0 ? s / R : R / s; // the fair price at which the first marginal breaks even
      const S = side === 0 ? edge * Math.exp(uniform(rng, 0.01, 3)) : edge / Math.exp(uniform(rng, 0.01, 3));
      const curve = (d: number) => -R * Math.expm1(-d / s);
      const pool = new Pool({ name: "exp", computeSwap: (q, d) => (q === side ? curve(d) : 0) }, x, y, 1);
      const out = arbitrageGeneric(pool, S, new ArbTrade());
      const dStar = s * Math.log(side === 0 ? (S * R) / s : R / (S * s));
      const best = side === 0 ? S * curve(dStar) - dStar : curve(dStar) - S * dStar;
      expect(out.side).toBe(side);
      // The search stops with b's neighbours at b * (1 +- 1e-9); profit is flat at d*, so the input
      // is fixed only to about the square root of the profit's rounding (1e-16 relative).
      worst = Math.max(worst, rel(out.input, dStar));
      expect(out.profit).toBeLessThanOrEqual(best * (1 + 1e-12));
      expect(rel(out.profit, best)).toBeLessThan(1e-12);
      expect(out.output).toBe(curve(out.input));
      calls.push(pool.quoteCalls);
    }
    expect(worst).toBeLessThan(1e-7);
    expect(Math.max(...calls)).toBeLessThanOrEqual(40);
  });
});

describe("the generic search on kinked curves: the optimum exactly at the kink", () => {
  it("one kink, or constant product capped below its optimum: ends within 3e-9 of the kink", () => {
    // Profit on a curve with one kink at k, slope above the break-even price before it and below
    // after it, peaks exactly at k (a piecewise-linear curve); constant product capped at its
    // output for dk, below the uncapped optimum, peaks exactly at dk (increasing before, flat
    // after). The search closes its bracket at b * (1 +- 1e-9) around the best input tried, so b
    // ends within a couple of tolerances of the kink. The model fits neither curve at the kink,
    // so the step rules (the model's trials must shrink, bisection otherwise) carry the search:
    // this seeded family needs at most 82 quotes for the line pair (mean 52) and 73 for the capped
    // curve (mean 62), each counting the other side's two unprofitable probes. Dropping a step
    // rule costs 85 to 100 on one of the two (the guard of 100 quotes after the probe stops it).
    const rng = mulberry32(0x9172);
    const plCalls: number[] = [];
    const capCalls: number[] = [];
    for (let trial = 0; trial < 200; trial++) {
      const side: Side = trial % 2 === 0 ? 0 : 1;
      const x = logUniform(rng, 1, 1000);
      const y = x * 100;
      const S = y / x;
      const k = (side === 0 ? y : x) * logUniform(rng, 1e-4, 0.3);
      const even = side === 0 ? 1 / S : S; // the output per unit input at which a trade breaks even
      const m0 = even * uniform(rng, 1.01, 2);
      const m1 = even * uniform(rng, 0.2, 0.99);
      const f = (d: number) => (d <= k ? m0 * d : m0 * k + m1 * (d - k));
      const pl = new Pool({ name: "kink", computeSwap: (q, d) => (q === side ? f(d) : 0) }, x, y, 1);
      const out = arbitrageGeneric(pl, S, new ArbTrade());
      expect(out.side).toBe(side);
      expect(rel(out.input, k), `kink ${k}: input ${out.input}`).toBeLessThan(3e-9);
      plCalls.push(pl.quoteCalls);

      // Constant product, fee 30 bps, at 20% mispricing: its optimum (closed form) is dcp.
      const fee = 0.003;
      const [rout, rin] = side === 0 ? [x, y] : [y, x];
      const S2 = side === 0 ? S * 1.2 : S / 1.2;
      const dcp =
        side === 0
          ? (Math.sqrt(S2 * (1 - fee) * x * y) - y) / (1 - fee)
          : (Math.sqrt(((1 - fee) * x * y) / S2) - x) / (1 - fee);
      const dk = dcp * uniform(rng, 0.1, 0.9);
      const cap = cpOutput(rout, rin, fee, dk);
      const g = (d: number) => Math.min(cpOutput(rout, rin, fee, d), cap);
      const capped = new Pool({ name: "capped", computeSwap: (q, d) => (q === side ? g(d) : 0) }, x, y, 1);
      const out2 = arbitrageGeneric(capped, S2, new ArbTrade());
      expect(out2.side).toBe(side);
      expect(rel(out2.input, dk), `cap at ${dk}: input ${out2.input}`).toBeLessThan(3e-9);
      capCalls.push(capped.quoteCalls);
    }
    expect(Math.max(...plCalls)).toBeLessThanOrEqual(84);
    expect(Math.max(...capCalls)).toBeLessThanOrEqual(75);
  });
});

describe("the generic search on curves its model does not fit", () => {
  it("saturating exponential and capped constant-product curves: within 5e-9 of brute force", () => {
    // f(d) = R * (1 - exp(-d / s)) (expm1: exact for tiny d) is concave but not constant product, so the model's trials
    // miss and the bisection steps carry the search; a cap on a constant-product curve puts the
    // optimum on a kink for some prices. Both end with a bracket of a few 1e-9 around the best input.
    const rng = mulberry32(0xe4b);
    const out = new ArbTrade();
    const calls: number[] = [];
    let trades = 0;
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const x = logUniform(rng, 1, 1000);
      const y = x * 100 * Math.exp(uniform(rng, -0.5, 0.5));
      const capped = trial % 2 === 1;
      const fee = uniform(rng, 0, 0.01);
      const curves = ([0, 1] as const).map((side) => {
        const rout = side === 0 ? x : y;
        const rin = side === 0 ? y : x;
        if (!capped) {
          const scale = rin * logUniform(rng, 0.05, 2);
          return (d: number) => -0.9 * rout * Math.expm1(-d / scale);
        }
        const cap = rout * logUniform(rng, 1e-3, 0.3);
        return (d: number) => Math.min(cpOutput(rout, rin, fee, d), cap);
      });
      const S = (y / x) * Math.exp(uniform(rng, -0.2, 0.2));
      const profit0 = (d: number) => S * curves[0](d) - d;
      const profit1 = (d: number) => curves[1](d) - S * d;
      const truth = bruteArb(profit0, S * x, profit1, y / S);
      const pool = new Pool({ name: "odd", computeSwap: (side, d) => curves[side](d) }, x, y, 1);
      arbitrage(pool, S, out);
      calls.push(pool.quoteCalls);
      if (truth.side === -1) {
        expect(out.side).toBe(-1);
        continue;
      }
      trades++;
      expect(out.side).toBe(truth.side);
      worst = Math.max(worst, rel(out.profit, truth.profit));
    }
    expect(trades).toBeGreaterThan(100);
    // A kink costs first order in the distance from it: up to a few tolerances (1e-9) of profit.
    expect(worst).toBeLessThan(5e-9);
    // Each side spends at most its two probes and 100 more quotes (the search's guard): 204 in all.
    expect(Math.max(...calls)).toBeLessThanOrEqual(204);
  });
});

describe("arbitrageConstantProduct vs brute force", () => {
  it("matches the brute-force optimal profit (1e-9) and input (1e-6) on both sides", () => {
    const rng = mulberry32(0xa4b);
    const out = new ArbTrade();
    let worstProfit = 0;
    let worstInput = 0;
    for (let trial = 0; trial < 300; trial++) {
      const c = randomSpec(rng);
      const pool = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const prices = fairPrices(rng, c);
      for (const [S, side] of [
        [prices.above, 0],
        [prices.below, 1],
      ] as const) {
        const truth = bruteCp(c, S);
        expect(truth.side).toBe(side); // the band derivation, checked by brute force
        expect(arbitrageConstantProduct(pool, S, out)).toBe(out);
        const label = `x ${c.x} y ${c.y} fees ${c.f0}/${c.f1} S ${S}`;
        expect(out.side, label).toBe(truth.side);
        expect(rel(out.profit, truth.profit), label).toBeLessThan(1e-9);
        expect(rel(out.input, truth.input), label).toBeLessThan(1e-6);
        // The closed form cannot beat the optimum beyond the rounding of output*S - input, and
        // reports a consistent trade.
        const value = out.input * (side === 0 ? 1 : S); // traded value, the scale of that rounding
        expect(out.profit).toBeLessThanOrEqual(truth.profit + value * 1e-14);
        expect(rel(out.output, cpOut(c, side, out.input))).toBeLessThan(1e-12);
        const profit = side === 0 ? out.output * S - out.input : out.output - out.input * S;
        expect(Math.abs(out.profit - profit)).toBeLessThanOrEqual(1e-12 * out.input * (side === 0 ? 1 : S));
        worstProfit = Math.max(worstProfit, rel(out.profit, truth.profit));
        worstInput = Math.max(worstInput, rel(out.input, truth.input));
      }
    }
    expect(worstProfit).toBeLessThan(1e-9);
    expect(worstInput).toBeLessThan(1e-6);
  });

  it("trades nothing inside the band (1 - f1) * spot <= S <= spot / (1 - f0)", () => {
    const rng = mulberry32(0xba2d);
    const out = new ArbTrade();
    for (let trial = 0; trial < 300; trial++) {
      const c = randomSpec(rng);
      const S = fairPrices(rng, c).inside;
      expect(bruteCp(c, S).side).toBe(-1);
      const cp = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const bb = new Pool(cpBlackBox(c.f0, c.f1), c.x, c.y, 1);
      for (const run of [
        () => arbitrageConstantProduct(cp, S, out),
        () => arbitrage(cp, S, out),
        () => arbitrageGeneric(bb, S, out),
        () => arbitrage(bb, S, out),
      ]) {
        // A stale trade in the out-parameter must be cleared.
        out.side = 1;
        out.input = 5;
        out.output = 7;
        out.profit = 3;
        expect(run()).toBe(out);
        expect(out.side).toBe(-1);
        expect(out.input).toBe(0);
        expect(out.output).toBe(0);
        expect(out.profit).toBe(0);
      }
    }
  });

  it("at the band edges any trade found is worth only rounding, and has a positive profit", () => {
    const rng = mulberry32(0xed6e);
    const out = new ArbTrade();
    let edgeTrades = 0;
    for (let trial = 0; trial < 100; trial++) {
      const c = randomSpec(rng);
      const pool = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const spot = c.y / c.x;
      for (const S of [spot / (1 - c.f0), spot * (1 - c.f1)]) {
        arbitrageConstantProduct(pool, S, out);
        expect(out.profit).toBeLessThanOrEqual(c.y * 1e-12);
        // At the edge the optimal input rounds to a hair either way and its profit to 0 or even
        // below: a trade is reported only when its profit is positive, else none at all.
        if (out.side === -1) {
          expect([out.input, out.output, out.profit]).toEqual([0, 0, 0]);
        } else {
          expect(out.profit).toBeGreaterThan(0);
          edgeTrades++;
        }
      }
    }
    // Most edges round to no trade; this seed also has a case that rounds to a (tiny) trade.
    expect(edgeTrades).toBeGreaterThan(0);
  });
});

describe("arbitrageGeneric on black-box curves", () => {
  it("a black-box copy of constant product gives the closed form's trade", () => {
    const rng = mulberry32(0x9e4);
    const closed = new ArbTrade();
    const generic = new ArbTrade();
    let worstInput = 0;
    let worstProfit = 0;
    const calls: number[] = [];
    for (let trial = 0; trial < 300; trial++) {
      const c = randomSpec(rng);
      const cp = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const bb = new Pool(cpBlackBox(c.f0, c.f1), c.x, c.y, 1);
      const prices = fairPrices(rng, c);
      for (const S of [prices.above, prices.below]) {
        arbitrageConstantProduct(cp, S, closed);
        const before = bb.quoteCalls;
        expect(arbitrage(bb, S, generic)).toBe(generic); // dispatches to the generic search
        calls.push(bb.quoteCalls - before);
        const label = `x ${c.x} y ${c.y} fees ${c.f0}/${c.f1} S ${S}`;
        expect(generic.side, label).toBe(closed.side);
        expect(rel(generic.input, closed.input), label).toBeLessThan(1e-8);
        expect(rel(generic.profit, closed.profit), label).toBeLessThan(1e-10);
        const value = generic.input * (generic.side === 0 ? 1 : S);
        expect(generic.profit).toBeLessThanOrEqual(bruteCp(c, S).profit + value * 1e-14);
        worstInput = Math.max(worstInput, rel(generic.input, closed.input));
        worstProfit = Math.max(worstProfit, rel(generic.profit, closed.profit));
        // arbitrageGeneric called directly agrees with the dispatch.
        const direct = arbitrageGeneric(bb, S, new ArbTrade());
        expect(direct.input).toBe(generic.input);
      }
    }
    // The search ends with the best input's neighbours at b * (1 +- 1e-9), and a neighbour that
    // rounding makes look better moves b by 1e-9: a couple of such moves stay below 1e-8 of the
    // input. Profit is flat at its maximum, so its error is about the square of the input's.
    expect(worstInput).toBeLessThan(1e-8);
    expect(worstProfit).toBeLessThan(1e-10);
    // The search's cost, by hand from its documented steps: the probe; the first model (the paying
    // reserve and the probe's slope: exact for constant product up to the probe's rounding); the
    // model through the probe and that point, exact, so it settles; a tolerance step on each side
    // of b, which closes the bracket. 4 quotes on the side that trades, and the other side's two
    // unprofitable probes (the second for curves that round, spec §2.6): 6. A tolerance step that
    // rounding makes look better moves b by 1e-9 and costs one more; this seeded family has up to
    // three such steps in a search.
    expect(calls.length).toBe(600);
    expect(Math.min(...calls)).toBe(6);
    expect(Math.max(...calls)).toBe(9);
  });

  it("arbitrage() uses the closed form for declared constant-product pools", () => {
    const rng = mulberry32(0xd15);
    for (let trial = 0; trial < 50; trial++) {
      const c = randomSpec(rng);
      const pool = new Pool(fixedFee(c.f0 * 1e4, c.f1 * 1e4), c.x, c.y, 1);
      const S = fairPrices(rng, c)[trial % 2 === 0 ? "above" : "below"];
      const a = arbitrage(pool, S, new ArbTrade());
      const b = arbitrageConstantProduct(pool, S, new ArbTrade());
      expect([a.side, a.input, a.output, a.profit]).toEqual([b.side, b.input, b.output, b.profit]);
    }
  });

  it("finds the right side when comparing spot to the fair price would pick the wrong one", () => {
    // A curve with a rebate on one side (gamma > 1) quotes that side above its spot: with
    // S slightly above spot the heuristic says "buy X", yet only selling X pays, and the mirror.
    const rng = mulberry32(0x51de);
    const out = new ArbTrade();
    for (let trial = 0; trial < 100; trial++) {
      const x = logUniform(rng, 1, 1000);
      const y = x * 100 * Math.exp(uniform(rng, -0.5, 0.5));
      const spot = y / x;
      const rebate = uniform(rng, 0.02, 0.1);
      const fee = uniform(rng, 0.01, 0.05) + rebate; // the other side is priced beyond S
      const sellRebate = trial % 2 === 0;
      const c: CpSpec = sellRebate ? { x, y, f0: fee, f1: -rebate } : { x, y, f0: -rebate, f1: fee };
      // Strictly between spot and the rebate side's edge: spot * (1 + rebate) or spot / (1 + rebate).
      const S = sellRebate
        ? spot * (1 + rebate * uniform(rng, 0.1, 0.9))
        : spot / (1 + rebate * uniform(rng, 0.1, 0.9));
      const heuristic: Side = S > spot ? 0 : 1;
      const truth = bruteCp(c, S);
      expect(truth.side).toBe(sellRebate ? 1 : 0);
      expect(truth.side).not.toBe(heuristic);
      const pool = new Pool(cpBlackBox(c.f0, c.f1), x, y, 1);
      arbitrage(pool, S, out);
      expect(out.side).toBe(truth.side);
      expect(rel(out.profit, truth.profit)).toBeLessThan(1e-7);
      expect(rel(out.input, truth.input)).toBeLessThan(1e-4);
    }
  });

  it("a piecewise-linear concave curve: matches brute force and the exact optimum at a kink", () => {
    // Profit S*f(d) - d (or f(d) - S*d) is piecewise linear and concave, so its maximum over
    // d >= 0 is at 0 or at a kink: evaluating every kink gives the exact optimum.
    const rng = mulberry32(0x9171);
    const out = new ArbTrade();
    const calls: number[] = [];
    let trades = 0;
    for (let trial = 0; trial < 200; trial++) {
      const x = logUniform(rng, 1, 1000);
      const y = x * 100 * Math.exp(uniform(rng, -0.5, 0.5));
      const spot = y / x;
      const curves = ([0, 1] as const).map((side) => {
        const scale = side === 0 ? x : y; // output reserve
        const m0 = (side === 0 ? 1 / spot : spot) * uniform(rng, 0.9, 1.05);
        const nk = 2 + Math.floor(rng() * 4);
        const kinks = Array.from({ length: nk }, () => logUniform(rng, 1e-4, 0.5) * (side === 0 ? y : x)).sort(
          (a, b) => a - b,
        );
        const slopes = [m0];
        for (let j = 0; j < nk; j++) slopes.push(slopes[j] * uniform(rng, 0.3, 0.97));
        slopes[nk] = 0; // flat tail: output never reaches the paying reserve
        const f = (d: number) => {
          let o = 0;
          let prev = 0;
          for (let j = 0; j <= nk; j++) {
            const end = j < nk ? kinks[j] : Infinity;
            if (d <= end) return o + slopes[j] * (d - prev);
            o += slopes[j] * (end - prev);
            prev = end;
          }
          return o;
        };
        expect(f(kinks[nk - 1])).toBeLessThan(scale); // total output below the reserve
        return { f, kinks };
      });
      const S = spot * Math.exp(uniform(rng, -0.15, 0.15));
      const profit0 = (d: number) => S * curves[0].f(d) - d;
      const profit1 = (d: number) => curves[1].f(d) - S * d;
      const truth = bruteArb(profit0, S * x, profit1, y / S);
      // Exact: the best kink.
      let exact = 0;
      for (const [side, p] of [
        [0, profit0],
        [1, profit1],
      ] as const) {
        for (const k of curves[side].kinks) exact = Math.max(exact, p(k));
      }
      expect(Math.abs(truth.profit - exact)).toBeLessThanOrEqual(exact * 1e-9 + 1e-12); // brute force is right
      const strategy: Strategy = { name: "pl", computeSwap: (side, d) => curves[side].f(d) };
      const pool = new Pool(strategy, x, y, 1);
      arbitrage(pool, S, out);
      calls.push(pool.quoteCalls);
      if (exact <= 0) {
        expect(out.side).toBe(-1);
        continue;
      }
      trades++;
      expect(out.side).toBe(truth.side);
      expect(rel(out.profit, exact)).toBeLessThan(1e-7);
      expect(rel(out.output, curves[out.side === -1 ? 0 : out.side].f(out.input))).toBeLessThan(1e-12);
    }
    expect(trades).toBeGreaterThan(50);
    // Each side spends at most its two probes and 100 more quotes (the search's guard): 204 in all.
    // The model fits no piecewise-linear curve, so bisection steps carry these searches.
    expect(Math.max(...calls)).toBeLessThanOrEqual(204);
  });
});
