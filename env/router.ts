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
 * Black-box pools are first given the same closed form: a constant-product model
 * f(x) = A*x/(B + x), whose x/f(x) is linear in x, fitted through the pool's last two quotes
 * (in the terms above g = 1, Rin = B, Rout = A, so a = sqrt(A*B)). The models and the closed-form pools
 * are water-filled, each black box is quoted at its share, its model refitted through that
 * quote, and so on until no share moves (a secant iteration; exact after one round for
 * constant-product curves). The models are then checked, and any curve they do not fit is
 * handled, by the chord model: each curve's quotes, the origin and a pair of quotes around the
 * converged share, form a concave piecewise-linear interpolant that is allocated exactly together
 * with the closed-form pools, and the segment that holds each allocation is refined until it is
 * narrow. When the model iteration does not settle, the chord model also gets a geometric grid of
 * 16 points. The output lost to the interpolation is second order in the segment width, which
 * keeps the split within 1e-4 of the optimum (tested against brute force): about 5 quotes per
 * black-box pool for constant-product curves, up to 16 + 6 * 8 more for curves the model misses.
 */
import type { Pool } from "./pool.js";
import type { Side } from "./strategy.js";

/** Secant rounds of the model iteration before it gives up on a curve. */
const MODEL_ROUNDS = 6;
/** The model iteration has settled when no share moves by more than this fraction of the order. */
const MOVE_REL_TOL = 2.5e-6;
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
 * Points per chord model: the origin, the model iteration's two starting quotes, one per round
 * and the pair around its share, the grid, then at most MAX_ROUNDS refining rounds of
 * REFINE_POINTS inside points and one midpoint in each neighbour. No model can outgrow it.
 */
const CAPACITY = 1 + 2 + MODEL_ROUNDS + 2 + INITIAL_POINTS + (REFINE_POINTS + 2) * MAX_ROUNDS;

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
  /** For a black-box pool, its index among the black boxes of the last route(). */
  private readonly bbOf: Int32Array;
  // The model iteration's last two quotes per black-box pool: (x0, f0) before (x1, f1).
  private readonly x0: Float64Array;
  private readonly f0: Float64Array;
  private readonly x1: Float64Array;
  private readonly f1: Float64Array;

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
    this.bbOf = new Int32Array(maxPools);
    this.x0 = new Float64Array(maxPools);
    this.f0 = new Float64Array(maxPools);
    this.x1 = new Float64Array(maxPools);
    this.f1 = new Float64Array(maxPools);
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
        this.bbOf[i] = nbb;
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
   * a near-duplicate point would make a segment whose slope is all rounding noise. Returns the
   * index (in xs/fs, from the model's base) of the point that stands for x: the new one, or the
   * one already within `minGap`.
   */
  private insertPoint(pool: Pool, side: Side, b: number, x: number, minGap: number): number {
    const base = b * CAPACITY;
    const m = this.count[b];
    let k = m;
    while (k > 0 && this.xs[base + k - 1] >= x) k--;
    if (k > 0 && x - this.xs[base + k - 1] < minGap) return base + k - 1;
    if (k < m && this.xs[base + k] - x < minGap) return base + k;
    const f = this.sample(pool, side, x);
    for (let j = m; j > k; j--) {
      this.xs[base + j] = this.xs[base + j - 1];
      this.fs[base + j] = this.fs[base + j - 1];
    }
    this.xs[base + k] = x;
    this.fs[base + k] = f;
    this.count[b] = m + 1;
    return base + k;
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
    const gap = amount * MIN_GAP_REL;
    for (let b = 0; b < nbb; b++) {
      const pool = pools[this.bb[b]];
      this.xs[b * CAPACITY] = 0;
      this.fs[b * CAPACITY] = 0;
      this.count[b] = 1;
      let k = this.insertPoint(pool, side, b, amount, gap);
      this.x0[b] = this.xs[k];
      this.f0[b] = this.fs[k];
      k = this.insertPoint(pool, side, b, amount / 2, gap);
      this.x1[b] = this.xs[k];
      this.f1[b] = this.fs[k];
    }
    const width = amount * SEGMENT_REL_TOL;
    if (this.modelIteration(pools, n, nbb, side, amount, alloc)) {
      // Settled: a pair of quotes around each share makes its chord segments narrow, so the chord
      // model below confirms the share, or moves it where the model was wrong. An idle pool's
      // last quote is at `width` already, which makes its first segment narrow.
      for (let b = 0; b < nbb; b++) {
        const x = this.x1[b];
        if (x <= width) continue;
        // Both together span width / 2: a share on x itself, whose segment is the pair's union,
        // is narrow enough with room for rounding.
        const pool = pools[this.bb[b]];
        this.insertPoint(pool, side, b, x - width / 4, gap);
        if (x + width / 4 <= amount) this.insertPoint(pool, side, b, x + width / 4, gap);
      }
    } else {
      // Not settled: the geometric grid amount * 2^-k, k = 0..INITIAL_POINTS-1.
      for (let b = 0; b < nbb; b++) {
        const pool = pools[this.bb[b]];
        let x = amount;
        for (let k = 0; k < INITIAL_POINTS; k++) {
          this.insertPoint(pool, side, b, x, gap);
          x /= 2;
        }
      }
    }
    // Back to chords only: the closed-form terms are the true pools' again.
    for (let b = 0; b < nbb; b++) {
      this.a[this.bb[b]] = 0;
      this.threshold[this.bb[b]] = Infinity;
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
   * The secant iteration on constant-product models: fit each black box's model through its last
   * two quotes, water-fill, quote each black box at its share (an idle one at the chord model's
   * narrowest width, which pins its first marginal), and repeat until no share moves. Returns
   * false when a model cannot be fitted (a curve that is not strictly concave, increasing and
   * positive there, e.g. a straight line) or the shares still move after MODEL_ROUNDS rounds.
   */
  private modelIteration(
    pools: readonly Pool[],
    n: number,
    nbb: number,
    side: Side,
    amount: number,
    alloc: Float64Array,
  ): boolean {
    const width = amount * SEGMENT_REL_TOL;
    const gap = amount * MIN_GAP_REL;
    for (let round = 0; round < MODEL_ROUNDS; round++) {
      for (let b = 0; b < nbb; b++) {
        // x/f(x) = B/A + x/A through the two quotes.
        const h0 = this.x0[b] / this.f0[b];
        const h1 = this.x1[b] / this.f1[b];
        const invA = (h0 - h1) / (this.x0[b] - this.x1[b]);
        const bOverA = h1 - this.x1[b] * invA;
        // No need to refuse an infinite B/A: x1 > 0, so with invA > 0 bOverA is at most h1, and an
        // infinite h1 (f1 = 0) makes invA infinite or NaN and bOverA -Infinity or NaN.
        if (!(invA > 0 && bOverA > 0)) return false;
        const i = this.bb[b];
        this.g[i] = 1;
        this.rin[i] = bOverA / invA;
        this.a[i] = Math.sqrt(bOverA) / invA;
        this.threshold[i] = this.rin[i] / this.a[i];
      }
      this.waterFill(n, amount, alloc);
      let moved = false;
      for (let b = 0; b < nbb; b++) {
        const x = Math.max(alloc[this.bb[b]], width);
        if (Math.abs(x - this.x1[b]) <= amount * MOVE_REL_TOL) continue;
        moved = true;
        const k = this.insertPoint(pools[this.bb[b]], side, b, x, gap);
        this.x0[b] = this.x1[b];
        this.f0[b] = this.f1[b];
        this.x1[b] = this.xs[k];
        this.f1[b] = this.fs[k];
      }
      if (!moved) return true;
    }
    return false;
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

  /**
   * The output pool i quoted for input x during the last route(), or NaN when it was not quoted
   * there (a closed-form pool, or x not one of its quotes). A black box's allocation is often one
   * of its quotes (a breakpoint of its chord model), and its output then needs no second quote.
   */
  quotedOutput(i: number, x: number): number {
    if (this.isCp(i)) return NaN;
    const b = this.bbOf[i];
    const base = b * CAPACITY;
    for (let k = this.count[b] - 1; k > 0; k--) if (this.xs[base + k] === x) return this.fs[base + k];
    return NaN;
  }

  private isCp(i: number): boolean {
    return this.isBB[i] === 0;
  }
}
