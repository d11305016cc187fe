/**
 * Retail routing (spec §2 step 3): split one order across all pools to maximise the trader's
 * total output. At the optimum every pool that gets flow has the same marginal output rate
 * lambda*, and a pool whose first marginal is below lambda* gets nothing.
 *
 * Constant-product pools have x_i(lambda) in closed form:
 *   f(x) = Rout*g*x/(Rin + g*x),  f'(x) = g*Rout*Rin/(Rin + g*x)^2,
 *   x_i(lambda) = (a_i*mu - Rin_i)/g_i  with a_i = sqrt(g_i*Rout_i*Rin_i), mu = 1/sqrt(lambda),
 * so for a known active set, sum x_i = X gives mu directly, and the active set is found by
 * adding pools in order of their first marginal (water filling). Exact, no quote calls.
 *
 * Black-box pools get a chord model: each curve is sampled on a geometric grid, the concave
 * piecewise-linear interpolant is allocated exactly together with the closed-form pools, and the
 * segment that holds each allocation is refined until it is narrow. The output lost to the
 * interpolation is second order in the segment width, which gives 1e-4 of the optimum with
 * about 16 + 6 * rounds quotes per black-box pool (tested against brute force).
 */
import type { Pool } from "./pool.js";
import type { Side } from "./strategy.js";

const INITIAL_POINTS = 16;
const REFINE_POINTS = 4;
const MAX_ROUNDS = 8;
/** Stop refining once the allocation's segment is narrower than this fraction of the order. */
const SEGMENT_REL_TOL = 1e-5;
/** Sample points closer than this fraction of the order are not added. */
const MIN_GAP_REL = 1e-9;
/** Allocations below this fraction of the order are dropped (spec §2). */
export const DUST_REL = 1e-9;
/**
 * Points per chord model: the grid and the origin, then at most MAX_ROUNDS refining rounds of
 * REFINE_POINTS inside points and one midpoint in each neighbour. No model can outgrow it.
 */
const CAPACITY = INITIAL_POINTS + 1 + (REFINE_POINTS + 2) * MAX_ROUNDS;

export class Router {
  /** Quote calls made by the last route() on black-box pools. */
  lastQuoteCalls = 0;

  private readonly n: number;
  // Constant-product terms, per pool.
  private readonly rin: Float64Array;
  private readonly a: Float64Array;
  private readonly g: Float64Array;
  private readonly threshold: Float64Array;
  private readonly order: Int32Array;
  // Chord models of black-box pools: points xs/fs, per pool up to CAPACITY.
  private readonly xs: Float64Array;
  private readonly fs: Float64Array;
  private readonly slopes: Float64Array;
  private readonly count: Int32Array;
  private readonly bb: Int32Array;
  private readonly partial: Float64Array;
  private readonly isBB: Uint8Array;

  constructor(maxPools: number) {
    this.n = maxPools;
    this.rin = new Float64Array(maxPools);
    this.a = new Float64Array(maxPools);
    this.g = new Float64Array(maxPools);
    this.threshold = new Float64Array(maxPools);
    this.order = new Int32Array(maxPools);
    this.xs = new Float64Array(maxPools * CAPACITY);
    this.fs = new Float64Array(maxPools * CAPACITY);
    this.slopes = new Float64Array(maxPools * CAPACITY);
    this.count = new Int32Array(maxPools);
    this.bb = new Int32Array(maxPools);
    this.partial = new Float64Array(maxPools);
    this.isBB = new Uint8Array(maxPools);
  }

  /**
   * Fills alloc[0..pools.length) with the input routed to each pool. `side` is the trader's
   * side (0: pays Y for X, 1: pays X for Y); `amount` is the order's input.
   */
  route(pools: readonly Pool[], side: Side, amount: number, alloc: Float64Array): void {
    const n = pools.length;
    if (n > this.n) throw new RangeError(`router built for ${this.n} pools, got ${n}`);
    this.lastQuoteCalls = 0;
    let nbb = 0;
    for (let i = 0; i < n; i++) {
      const p = pools[i];
      alloc[i] = 0;
      this.isBB[i] = p.constantProduct ? 0 : 1;
      if (p.constantProduct) {
        const g = side === 0 ? p.gamma0 : p.gamma1;
        const rin = side === 0 ? p.reserveY : p.reserveX;
        const rout = side === 0 ? p.reserveX : p.reserveY;
        const a = Math.sqrt(g * rout * rin);
        this.g[i] = g;
        this.rin[i] = rin;
        this.a[i] = a;
        this.threshold[i] = rin / a;
      } else {
        this.a[i] = 0;
        this.threshold[i] = Infinity;
        this.bb[nbb++] = i;
      }
    }
    if (!(amount > 0)) return;
    if (nbb === 0) this.waterFill(n, amount, alloc);
    else this.routeWithChords(pools, n, nbb, side, amount, alloc);
    const dust = amount * DUST_REL;
    for (let i = 0; i < n; i++) if (alloc[i] < dust) alloc[i] = 0;
  }

  /** Exact split across constant-product pools only. */
  private waterFill(n: number, amount: number, alloc: Float64Array): void {
    const order = this.order;
    const t = this.threshold;
    // Insertion sort by threshold (first marginal descending); n <= 17.
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && t[order[j - 1]] > t[i]) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    let sumA = 0;
    let sumB = 0;
    let mu = 0;
    let active = 0;
    while (active < n) {
      const i = order[active];
      if (active > 0 && !(mu > t[i])) break;
      sumA += this.a[i] / this.g[i];
      sumB += this.rin[i] / this.g[i];
      mu = (amount + sumB) / sumA;
      active++;
    }
    let sum = 0;
    for (let k = 0; k < active; k++) {
      const i = order[k];
      const x = (this.a[i] * mu - this.rin[i]) / this.g[i];
      alloc[i] = x > 0 ? x : 0;
      sum += alloc[i];
    }
    // a*mu - rin cancels for orders far smaller than the reserves; rescaling makes the split
    // add up to the order exactly (the shares' own relative error costs output only at second order).
    if (sum > 0 && sum !== amount) {
      const scale = amount / sum;
      for (let k = 0; k < active; k++) alloc[order[k]] *= scale;
    }
  }

  /** x_i(lambda) for a constant-product pool. */
  private cpAt(i: number, lambda: number): number {
    const x = (this.a[i] / Math.sqrt(lambda) - this.rin[i]) / this.g[i];
    return x > 0 ? x : 0;
  }

  private sample(pool: Pool, side: Side, x: number): number {
    this.lastQuoteCalls++;
    return pool.quote(side, x);
  }

  /**
   * Inserts a sample point into a chord model, keeping xs sorted and at least `minGap` apart:
   * a near-duplicate point would make a segment whose slope is all rounding noise.
   */
  private insertPoint(pool: Pool, side: Side, b: number, x: number, minGap: number): void {
    const base = b * CAPACITY;
    const m = this.count[b];
    let k = m;
    while (k > 0 && this.xs[base + k - 1] >= x) k--;
    if (k > 0 && x - this.xs[base + k - 1] < minGap) return;
    if (k < m && this.xs[base + k] - x < minGap) return;
    const f = this.sample(pool, side, x);
    for (let j = m; j > k; j--) {
      this.xs[base + j] = this.xs[base + j - 1];
      this.fs[base + j] = this.fs[base + j - 1];
    }
    this.xs[base + k] = x;
    this.fs[base + k] = f;
    this.count[b] = m + 1;
  }

  /** Chord slopes, forced non-increasing and non-negative (the curve is concave and monotone). */
  private computeSlopes(b: number): void {
    const base = b * CAPACITY;
    const m = this.count[b];
    let prev = Infinity;
    for (let k = 1; k < m; k++) {
      const dx = this.xs[base + k] - this.xs[base + k - 1];
      let s = dx > 0 ? (this.fs[base + k] - this.fs[base + k - 1]) / dx : 0;
      if (!(s > 0)) s = 0;
      if (s > prev) s = prev;
      this.slopes[base + k] = s;
      prev = s;
    }
  }

  private routeWithChords(
    pools: readonly Pool[],
    n: number,
    nbb: number,
    side: Side,
    amount: number,
    alloc: Float64Array,
  ): void {
    // Initial geometric grid: amount * 2^-k, k = 0..INITIAL_POINTS-1, plus the origin.
    for (let b = 0; b < nbb; b++) {
      const base = b * CAPACITY;
      const pool = pools[this.bb[b]];
      this.xs[base] = 0;
      this.fs[base] = 0;
      let x = amount / 2 ** (INITIAL_POINTS - 1);
      for (let k = 1; k <= INITIAL_POINTS; k++) {
        this.xs[base + k] = x;
        this.fs[base + k] = this.sample(pool, side, x);
        x *= 2;
      }
      this.xs[base + INITIAL_POINTS] = amount; // exact top, free of rounding
      this.count[b] = INITIAL_POINTS + 1;
    }
    for (let round = 0; ; round++) {
      for (let b = 0; b < nbb; b++) this.computeSlopes(b);
      this.solveChords(n, nbb, amount, alloc);
      if (round === MAX_ROUNDS) break;
      let refined = false;
      for (let b = 0; b < nbb; b++) {
        refined = this.refineAround(pools[this.bb[b]], b, side, alloc[this.bb[b]], amount) || refined;
      }
      if (!refined) break;
    }
  }

  /**
   * Splits the segment holding `x` with REFINE_POINTS new quotes (both segments when `x` sits
   * on a breakpoint), and halves the segment on either side of it: the chord model's lambda*
   * is not the true one, so the true optimum can lie just across a neighbouring breakpoint.
   * Returns false when the segment is already narrow.
   */
  private refineAround(pool: Pool, b: number, side: Side, x: number, amount: number): boolean {
    const base = b * CAPACITY;
    const m = this.count[b];
    let k = 1;
    while (k < m - 1 && this.xs[base + k] < x) k++;
    // Segment [xs[k-1], xs[k]] holds x; a breakpoint allocation takes both neighbours.
    const loIdx = k - 1;
    let hiIdx = k;
    if (x === this.xs[base + k] && k + 1 < m) hiIdx = k + 1;
    const lo = this.xs[base + loIdx];
    const hi = this.xs[base + hiIdx];
    if (hi - lo <= amount * SEGMENT_REL_TOL) return false;
    const leftMid = loIdx > 0 ? 0.5 * (this.xs[base + loIdx - 1] + lo) : -1;
    const rightMid = hiIdx + 1 < m ? 0.5 * (hi + this.xs[base + hiIdx + 1]) : -1;
    const gap = amount * MIN_GAP_REL;
    for (let j = 1; j <= REFINE_POINTS; j++) {
      const p = lo + ((hi - lo) * j) / (REFINE_POINTS + 1);
      this.insertPoint(pool, side, b, p, gap);
    }
    const tol = amount * SEGMENT_REL_TOL;
    if (leftMid > 0 && lo - leftMid > tol) this.insertPoint(pool, side, b, leftMid, gap);
    if (rightMid > 0 && rightMid - hi > tol) this.insertPoint(pool, side, b, rightMid, gap);
    return true;
  }

  /** Sum of closed-form allocations at marginal rate lambda. */
  private cpTotal(n: number, lambda: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) if (this.isCp(i)) s += this.cpAt(i, lambda);
    return s;
  }

  /**
   * Exact allocation for closed-form pools plus chord models. The chord segments are walked in
   * order of decreasing slope (a merge of the per-pool lists, each already non-increasing),
   * taking whole segments while the closed-form pools, priced at that slope, still leave room.
   * lambda* then lies either strictly between two slopes (the closed-form pools take the rest,
   * water-filled exactly) or on a slope (the segments with that slope share the remainder).
   */
  private solveChords(n: number, nbb: number, amount: number, alloc: Float64Array): void {
    let anyCp = false;
    for (let i = 0; i < n; i++) {
      alloc[i] = 0;
      if (this.isCp(i)) anyCp = true;
    }
    const ptr = this.order; // reused as per-pool segment cursors
    for (let b = 0; b < nbb; b++) ptr[b] = 1;
    let taken = 0; // input in whole chord segments so far
    for (;;) {
      // Head slope of the merge.
      let s = 0;
      for (let b = 0; b < nbb; b++) {
        if (ptr[b] < this.count[b]) {
          const v = this.slopes[b * CAPACITY + ptr[b]];
          if (v > s) s = v;
        }
      }
      if (!(s > 0)) break; // no segment with positive output left
      const cp = anyCp ? this.cpTotal(n, s) : 0;
      if (taken + cp >= amount) break; // lambda* is above s: closed forms take the rest
      // Group of segments with exactly this slope.
      let group = 0;
      for (let b = 0; b < nbb; b++) {
        const base = b * CAPACITY;
        this.partial[b] = 0;
        if (ptr[b] < this.count[b] && this.slopes[base + ptr[b]] === s) {
          this.partial[b] = this.xs[base + ptr[b]] - this.xs[base + ptr[b] - 1];
          group += this.partial[b];
        }
      }
      if (taken + group + cp >= amount) {
        // lambda* = s: closed forms at s, the group shares what is left.
        const share = (amount - taken - cp) / group; // group > 0: it holds the head segment
        for (let b = 0; b < nbb; b++) {
          const base = b * CAPACITY;
          alloc[this.bb[b]] = this.xs[base + ptr[b] - 1] + this.partial[b] * share;
        }
        for (let i = 0; i < n; i++) if (this.isCp(i)) alloc[i] = this.cpAt(i, s);
        return;
      }
      for (let b = 0; b < nbb; b++) if (this.partial[b] > 0) ptr[b]++;
      taken += group;
    }
    for (let b = 0; b < nbb; b++) alloc[this.bb[b]] = this.xs[b * CAPACITY + ptr[b] - 1];
    if (anyCp) this.waterFill(n, amount - taken, alloc);
  }

  private isCp(i: number): boolean {
    return this.isBB[i] === 0;
  }
}
