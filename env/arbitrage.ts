/**
 * The arbitrageur (spec §2 step 2): for one pool, the side and input size that maximise profit
 * at the fair price, using only the pool's quotes. A closed form serves constant-product pools;
 * the generic search serves any monotone concave black-box curve, and the two agree (tested).
 */
import type { Pool } from "./pool.js";
import type { Side } from "./strategy.js";

/** The best trade found; `side` is -1 when no side is profitable. Reused, never reallocated. */
export class ArbTrade {
  side: -1 | Side = -1;
  input = 0;
  output = 0;
  profit = 0;
}

/** Relative width of the bracket at which the generic search stops. */
const SEARCH_REL_TOL = 1e-9;
/** Smallest input tried, relative to the side's upper bound. */
const PROBE_REL = 1e-12;
const INV_PHI = (Math.sqrt(5) - 1) / 2;

/** Best trade for a constant-product-with-fee pool, in closed form. */
export function arbitrageConstantProduct(pool: Pool, price: number, out: ArbTrade): ArbTrade {
  out.side = -1;
  out.input = 0;
  out.output = 0;
  out.profit = 0;
  const x = pool.reserveX;
  const y = pool.reserveY;
  const k = x * y;
  // Buy X (side 0): maximise S*x*g*d/(y+g*d) - d  =>  y + g*d = sqrt(S*g*k).
  const g0 = pool.gamma0;
  const d0 = (Math.sqrt(price * g0 * k) - y) / g0;
  if (d0 > 0) {
    const o = (x * g0 * d0) / (y + g0 * d0);
    const p = o * price - d0;
    if (p > 0) {
      out.side = 0;
      out.input = d0;
      out.output = o;
      out.profit = p;
      return out;
    }
  }
  // Sell X (side 1): maximise y*g*d/(x+g*d) - S*d  =>  x + g*d = sqrt(g*k/S).
  const g1 = pool.gamma1;
  const d1 = (Math.sqrt((g1 * k) / price) - x) / g1;
  if (d1 > 0) {
    const o = (y * g1 * d1) / (x + g1 * d1);
    const p = o - d1 * price;
    if (p > 0) {
      out.side = 1;
      out.input = d1;
      out.output = o;
      out.profit = p;
    }
  }
  return out;
}

function profitOf(pool: Pool, side: Side, input: number, price: number): number {
  const o = pool.quote(side, input);
  return side === 0 ? o * price - input : o - input * price;
}

/**
 * Golden-section search over log(input) for one side. Profit is concave in input with
 * profit(0) = 0, so it is unimodal in log(input) too; searching the log keeps the relative
 * precision of small optimal trades. Returns the best profit (<= 0 when the side is unprofitable).
 */
function searchSide(pool: Pool, side: Side, price: number, out: ArbTrade): void {
  // Profit can only be positive below these bounds: output is capped by the paying reserve.
  const upper = side === 0 ? pool.reserveX * price : pool.reserveY / price;
  if (!(upper > 0) || !Number.isFinite(upper)) return;
  const probe = upper * PROBE_REL;
  // Concavity: if the smallest trade is unprofitable, every larger one is too.
  if (profitOf(pool, side, probe, price) <= 0) return;
  let a = Math.log(probe);
  let b = Math.log(upper);
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = profitOf(pool, side, Math.exp(c), price);
  let fd = profitOf(pool, side, Math.exp(d), price);
  const tol = Math.log1p(SEARCH_REL_TOL);
  while (b - a > tol) {
    if (fc >= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - INV_PHI * (b - a);
      fc = profitOf(pool, side, Math.exp(c), price);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + INV_PHI * (b - a);
      fd = profitOf(pool, side, Math.exp(d), price);
    }
  }
  const input = fc >= fd ? Math.exp(c) : Math.exp(d);
  const output = pool.quote(side, input);
  const profit = side === 0 ? output * price - input : output - input * price;
  if (profit > out.profit) {
    out.side = side;
    out.input = input;
    out.output = output;
    out.profit = profit;
  }
}

/** Best trade for any monotone concave curve, by quotes alone (both sides are searched). */
export function arbitrageGeneric(pool: Pool, price: number, out: ArbTrade): ArbTrade {
  out.side = -1;
  out.input = 0;
  out.output = 0;
  out.profit = 0;
  searchSide(pool, 0, price, out);
  searchSide(pool, 1, price, out);
  return out;
}

export function arbitrage(pool: Pool, price: number, out: ArbTrade): ArbTrade {
  return pool.constantProduct ? arbitrageConstantProduct(pool, price, out) : arbitrageGeneric(pool, price, out);
}
