/**
 * Brute-force oracles for the router and the arbitrageur (spec §2 steps 2 and 3), the fair price
 * path (step 1) and constant-product output (spec §5), written from scratch here and sharing no
 * formula with env/: the independent truth that the router, arbitrage, LVR, capital,
 * containment and gym tests compare the engine against.
 * test/helpers/oracles.test.ts checks the oracles themselves against closed forms.
 *
 * Router: the truth is the maximum of sum_i f_i(x_i) subject to sum_i x_i = amount, found by
 * direct search over the allocation using only output curves f_i evaluated by the test (never
 * the router's formulas): a dense 1-D grid plus golden refinement for two pools, and pairwise
 * exchange (move input between two pools, optimise that 1-D move by golden section, sweep all
 * pairs until nothing improves) for three or more. For separable concave objectives pairwise
 * exchange reaches the global optimum: at any non-optimal feasible point some pool with flow has
 * a left marginal below another pool's right marginal, so moving input between those two
 * improves the total.
 *
 * Arbitrage: for each side, profit as a function of the input is maximised by a dense log-spaced
 * scan followed by golden-section refinement between the best scan point's neighbours; the
 * better side wins. Constant product with fee f on input, g = 1 - f, reserves x (X) and y (Y),
 * fair price S:
 *   buy X  (side 0, pay d Y):  profit0(d) = S * x*g0*d/(y + g0*d) - d
 *   sell X (side 1, pay d X):  profit1(d) = y*g1*d/(x + g1*d) - S*d
 * bruteCp evaluates them in the algebraically equal forms
 *   profit0(d) = d * ((S*x*g0 - y) - g0*d) / (y + g0*d)
 *   profit1(d) = d * ((g1*y - S*x) - S*g1*d) / (x + g1*d)
 * which avoid the cancellation of `output*S - input` near the optimum, so the scan locates the
 * optimal input to ~1e-8 relative instead of ~sqrt(eps * input/profit).
 */
import { simulationStreams } from "../../env/rng.js";
import type { Side } from "../../env/strategy.js";

// ---------------------------------------------------------------------------------------------
// Fair price path

/**
 * The fair price after each of `steps` steps of seed `seed` (spec §2 step 1), rebuilt from the
 * seed's price stream by the geometric Brownian step S *= exp(-sigma^2/2 + sigma Z) from S = 100:
 * only the normal draws come from the engine, the recursion is written here.
 */
export function pricePath(seed: number, sigma: number, steps: number): Float64Array {
  const stream = simulationStreams(seed).price;
  const path = new Float64Array(steps);
  let S = 100;
  for (let t = 0; t < steps; t++) {
    S *= Math.exp(-0.5 * sigma * sigma + sigma * stream.normal());
    path[t] = S;
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Output curves, written independently of the engine

/** Output for input x >= 0 on the routed side. */
export type Curve = (x: number) => number;

/** Constant product with a fee on input: input reserve rin, output reserve rout. */
export function cpCurve(rin: number, rout: number, fee: number): Curve {
  const g = 1 - fee;
  return (x) => (x > 0 ? (rout * g * x) / (rin + g * x) : 0);
}

/**
 * Output of a constant-product pool with fee fraction `fee` on the input (spec §5): `input` is
 * added to `reserveIn`, the trader gets reserveOut * g / (reserveIn + g) with g = (1 - fee) * input.
 * Evaluated in exactly this order, so a test may compare a quote with it bit for bit.
 */
export function cpOutput(reserveOut: number, reserveIn: number, fee: number, input: number): number {
  const g = (1 - fee) * input;
  return (reserveOut * g) / (reserveIn + g);
}

/** d/dx of cpCurve. */
export function cpMarginal(rin: number, rout: number, fee: number, x: number): number {
  const g = 1 - fee;
  return (g * rout * rin) / (rin + g * x) ** 2;
}

/** Concave, monotone piecewise-linear curve through (0,0) with `slopes[j]` after `kinks[j-1]`. */
export interface PiecewiseLinear {
  kinks: number[]; // increasing breakpoints, kinks.length = slopes.length - 1
  slopes: number[]; // non-increasing, >= 0
}

export function plCurve(pl: PiecewiseLinear): Curve {
  return (x) => {
    if (!(x > 0)) return 0;
    let y = 0;
    let prev = 0;
    for (let j = 0; j < pl.slopes.length; j++) {
      const end = j < pl.kinks.length ? pl.kinks[j] : Infinity;
      if (x <= end) return y + pl.slopes[j] * (x - prev);
      y += pl.slopes[j] * (end - prev);
      prev = end;
    }
    return y;
  };
}

// ---------------------------------------------------------------------------------------------
// Golden section

const INV_PHI = (Math.sqrt(5) - 1) / 2;

/**
 * How far golden section narrows [lo, hi]: at most `maxIterations` steps, stopping once the
 * bracket is below `relativeTolerance * (hi - lo)`. The router and arbitrage oracles were
 * tuned separately and keep their own settings (ROUTER_GOLDEN, ARB_GOLDEN).
 */
export interface GoldenSettings {
  maxIterations: number;
  relativeTolerance: number;
}

export const ROUTER_GOLDEN: GoldenSettings = { maxIterations: 200, relativeTolerance: 1e-15 };
export const ARB_GOLDEN: GoldenSettings = { maxIterations: 300, relativeTolerance: 1e-16 };

/** Maximises a concave phi on [lo, hi] by golden section; the endpoints are candidates too. */
export function goldenMax(
  phi: (t: number) => number,
  lo: number,
  hi: number,
  settings: GoldenSettings,
): { t: number; v: number } {
  let best = { t: lo, v: phi(lo) };
  const consider = (t: number, v: number) => {
    if (v > best.v) best = { t, v };
  };
  consider(hi, phi(hi));
  let a = lo;
  let b = hi;
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = phi(c);
  let fd = phi(d);
  const tol = (hi - lo) * settings.relativeTolerance;
  for (let it = 0; it < settings.maxIterations && b - a > tol; it++) {
    if (fc >= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - INV_PHI * (b - a);
      fc = phi(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + INV_PHI * (b - a);
      fd = phi(d);
    }
  }
  consider(c, fc);
  consider(d, fd);
  return best;
}

// ---------------------------------------------------------------------------------------------
// Router oracle

export function totalOutput(curves: Curve[], xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < curves.length; i++) s += curves[i](xs[i]);
  return s;
}

/** Two pools: a 4001-point grid over the split, then golden section between the best point's neighbours. */
export function bruteForce2(curves: Curve[], amount: number): number[] {
  const [f, g] = curves;
  const phi = (t: number) => f(t) + g(amount - t);
  const M = 4000;
  let k = 0;
  let bestV = -Infinity;
  for (let j = 0; j <= M; j++) {
    const v = phi((amount * j) / M);
    if (v > bestV) {
      bestV = v;
      k = j;
    }
  }
  const lo = (amount * Math.max(0, k - 1)) / M;
  const hi = (amount * Math.min(M, k + 1)) / M;
  const { t } = goldenMax(phi, lo, hi, ROUTER_GOLDEN);
  return [t, amount - t];
}

/** Three or more pools: pairwise exchange ascent from the even split. */
export function bruteForcePairwise(curves: Curve[], amount: number): number[] {
  const n = curves.length;
  const x = new Array<number>(n).fill(amount / n);
  let total = totalOutput(curves, x);
  for (let sweep = 0; sweep < 3000; sweep++) {
    const before = total;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const pair = x[i] + x[j];
        if (!(pair > 0)) continue;
        const phi = (t: number) => curves[i](t) + curves[j](pair - t);
        const current = phi(x[i]);
        const { t, v } = goldenMax(phi, 0, pair, ROUTER_GOLDEN);
        if (v > current) {
          x[i] = t;
          x[j] = pair - t;
        }
      }
    }
    total = totalOutput(curves, x);
    if (!(total - before > Math.abs(total) * 1e-16)) break;
  }
  return x;
}

/** The best split of `amount` over the curves: the 2-pool grid search or pairwise exchange. */
export function bruteForce(curves: Curve[], amount: number): number[] {
  if (curves.length === 1) return [amount];
  if (curves.length === 2) return bruteForce2(curves, amount);
  return bruteForcePairwise(curves, amount);
}

/** Exact optimum for piecewise-linear curves: fill segments in order of slope (greedy is optimal). */
export function greedyPL(pls: PiecewiseLinear[], amount: number): number {
  const segs: { slope: number; len: number }[] = [];
  for (const pl of pls) {
    let prev = 0;
    for (let j = 0; j < pl.slopes.length; j++) {
      const end = j < pl.kinks.length ? pl.kinks[j] : Infinity;
      segs.push({ slope: pl.slopes[j], len: end - prev });
      prev = end;
    }
  }
  segs.sort((a, b) => b.slope - a.slope);
  let left = amount;
  let out = 0;
  for (const s of segs) {
    const take = Math.min(left, s.len);
    out += take * s.slope;
    left -= take;
    if (left <= 0) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Arbitrage oracle

export interface Best {
  input: number;
  profit: number;
}

/** Best input on one side: 3000 log-spaced inputs over [upper*1e-14, upper], then golden refinement. */
export function bruteSide(profit: (d: number) => number, upper: number): Best {
  const M = 3000;
  const lo = Math.log(upper * 1e-14);
  const hi = Math.log(upper);
  const grid = (j: number) => (j < 0 ? 0 : j > M ? upper : Math.exp(lo + ((hi - lo) * j) / M));
  let k = 0;
  let bestV = -Infinity;
  for (let j = 0; j <= M; j++) {
    const v = profit(grid(j));
    if (v > bestV) {
      bestV = v;
      k = j;
    }
  }
  const { t, v } = goldenMax(profit, grid(k - 1), grid(k + 1), ARB_GOLDEN);
  return { input: t, profit: v };
}

export interface BruteTrade extends Best {
  side: -1 | Side;
}

/** Both sides; side -1 when neither has positive profit. */
export function bruteArb(
  profit0: (d: number) => number,
  upper0: number,
  profit1: (d: number) => number,
  upper1: number,
): BruteTrade {
  const b0 = bruteSide(profit0, upper0);
  const b1 = bruteSide(profit1, upper1);
  let best: BruteTrade = { side: -1, input: 0, profit: 0 };
  if (b0.profit > best.profit) best = { side: 0, ...b0 };
  if (b1.profit > best.profit) best = { side: 1, ...b1 };
  return best;
}

/** A constant-product pool for the arbitrage oracle: reserves and fee fractions per side. */
export interface ArbCpSpec {
  x: number;
  y: number;
  f0: number; // fee fraction, side 0 (buy X)
  f1: number; // fee fraction, side 1 (sell X)
}

/**
 * Brute force for constant product, well-conditioned profit forms (see the header). Upper
 * bounds: buying X yields less than x X, worth S*x, so d > S*x loses; selling X yields less
 * than y Y, so d > y/S loses.
 */
export function bruteCp(c: ArbCpSpec, S: number): BruteTrade {
  const g0 = 1 - c.f0;
  const g1 = 1 - c.f1;
  const c0 = S * c.x * g0 - c.y;
  const c1 = g1 * c.y - S * c.x;
  return bruteArb(
    (d) => (d * (c0 - g0 * d)) / (c.y + g0 * d),
    S * c.x,
    (d) => (d * (c1 - S * g1 * d)) / (c.x + g1 * d),
    c.y / S,
  );
}
