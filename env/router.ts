/**
 * Retail routing (SPEC §2 step 3): split one order across all pools to maximise the trader's
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
 * about 16 + 4 * rounds quotes per black-box pool (tested against brute force).
 */
import type { Pool } from "./pool.js";
import type { Side } from "./strategy.js";

const INITIAL_POINTS = 16;
const REFINE_POINTS = 4;
const MAX_ROUNDS = 8;
/** Stop refining once the allocation's segment is narrower than this fraction of the order. */
const SEGMENT_REL_TOL = 1e-5;
/** Allocations below this fraction of the order are dropped (SPEC §2). */
export const DUST_REL = 1e-9;
const CAPACITY = INITIAL_POINTS + 1 + 2 * REFINE_POINTS * MAX_ROUNDS + 2;

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
    for (let k = 0; k < active; k++) {
      const i = order[k];
      const x = (this.a[i] * mu - this.rin[i]) / this.g[i];
      alloc[i] = x > 0 ? x : 0;
    }
  }

  /** x_i(lambda) for a constant-product pool. */
  private cpAt(i: number, lambda: number): number {
    const x = (this.a[i] / Math.sqrt(lambda) - this.rin[i]) / this.g[i];
    return x > 0 ? x : 0;
  }

  /** Input the chord model of black-box pool slot `b` takes at marginal rate lambda. */
  private chordAt(b: number, lambda: number): number {
    const base = b * CAPACITY;
    const m = this.count[b];
    let x = 0;
    for (let k = 1; k < m; k++) {
      if (this.slopes[base + k] > lambda) x = this.xs[base + k];
      else break;
    }
    return x;
  }

  private sample(pool: Pool, side: Side, x: number): number {
    this.lastQuoteCalls++;
    return pool.quote(side, x);
  }

  /** Inserts a sample point into a chord model, keeping xs sorted and distinct. */
  private insertPoint(b: number, x: number, f: number): void {
    const base = b * CAPACITY;
    const m = this.count[b];
    if (m >= CAPACITY) return;
    let k = m;
    while (k > 0 && this.xs[base + k - 1] >= x) k--;
    if (k < m && this.xs[base + k] === x) return;
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

  /** Splits the segment(s) around `x` with REFINE_POINTS new quotes; false when already narrow. */
  private refineAround(pool: Pool, b: number, side: Side, x: number, amount: number): boolean {
    const base = b * CAPACITY;
    const m = this.count[b];
    if (m + 2 * REFINE_POINTS > CAPACITY) return false;
    // Segment [lo, hi] containing x; a breakpoint allocation refines both neighbours.
    let k = 1;
    while (k < m - 1 && this.xs[base + k] < x) k++;
    let lo = this.xs[base + k - 1];
    let hi = this.xs[base + k];
    if (x === hi && k + 1 < m) hi = this.xs[base + k + 1];
    if (x === lo && k - 2 >= 0) lo = this.xs[base + k - 2];
    if (hi - lo <= amount * SEGMENT_REL_TOL) return false;
    for (let j = 1; j <= REFINE_POINTS; j++) {
      const p = lo + ((hi - lo) * j) / (REFINE_POINTS + 1);
      this.insertPoint(b, p, this.sample(pool, side, p));
    }
    return true;
  }

  /**
   * Exact allocation for closed-form pools plus chord models: bisection on lambda of
   * F(lambda) = sum x_i(lambda) (no quote calls), then the remainder goes to the chord segments
   * whose slope lies in the final bracket.
   */
  private solveChords(n: number, nbb: number, amount: number, alloc: Float64Array): void {
    let hi = 0;
    let anyCp = false;
    for (let i = 0; i < n; i++) alloc[i] = 0;
    for (let i = 0; i < n; i++) {
      if (this.isCp(i) && this.a[i] > 0) {
        anyCp = true;
        const m0 = (this.a[i] / this.rin[i]) ** 2;
        if (m0 > hi) hi = m0;
      }
    }
    for (let b = 0; b < nbb; b++) {
      const s = this.slopes[b * CAPACITY + 1];
      if (s > hi) hi = s;
    }
    if (!(hi > 0)) return;
    let lo = 0;
    if (!anyCp && this.total(n, nbb, 0) <= amount) {
      // Every curve saturates below the order: give each black box all its positive segments.
      for (let b = 0; b < nbb; b++) alloc[this.bb[b]] = this.chordAt(b, 0);
      return;
    }
    for (let it = 0; it < 200 && hi - lo > hi * 1e-15; it++) {
      const mid = 0.5 * (lo + hi);
      if (mid === lo || mid === hi) break;
      if (this.total(n, nbb, mid) > amount) lo = mid;
      else hi = mid;
    }
    // At lambda = hi the total is <= amount; fill with closed forms and full segments.
    let used = 0;
    for (let i = 0; i < n; i++) {
      if (this.isCp(i)) {
        alloc[i] = this.cpAt(i, hi);
        used += alloc[i];
      }
    }
    let partialLen = 0;
    for (let b = 0; b < nbb; b++) {
      const base = b * CAPACITY;
      const m = this.count[b];
      let x = 0;
      let extra = 0;
      for (let k = 1; k < m; k++) {
        const s = this.slopes[base + k];
        if (s > hi) x = this.xs[base + k];
        else {
          if (s > lo) extra = this.xs[base + k] - this.xs[base + k - 1];
          break;
        }
      }
      alloc[this.bb[b]] = x;
      this.partial[b] = extra;
      partialLen += extra;
      used += x;
    }
    const rest = amount - used;
    if (rest > 0 && partialLen > 0) {
      const share = Math.min(1, rest / partialLen);
      for (let b = 0; b < nbb; b++) alloc[this.bb[b]] += this.partial[b] * share;
    } else if (rest > 0 && used > 0) {
      // Bisection left a sliver between closed-form pools: spread it in proportion.
      const scale = amount / used;
      for (let i = 0; i < n; i++) if (this.isCp(i)) alloc[i] *= scale;
    }
  }

  private isCp(i: number): boolean {
    return this.isBB[i] === 0;
  }

  private total(n: number, nbb: number, lambda: number): number {
    let s = 0;
    if (lambda > 0) {
      for (let i = 0; i < n; i++) if (this.isCp(i)) s += this.cpAt(i, lambda);
    } else {
      for (let i = 0; i < n; i++) if (this.isCp(i)) return Infinity;
    }
    for (let b = 0; b < nbb; b++) s += this.chordAt(b, lambda);
    return s;
  }
}
