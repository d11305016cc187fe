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
/**
 * Second probe when the first is unprofitable. A curve that rounds its output, as every strategy
 * behind the native ABI does (whole nano, spec §3.4), pays nothing for an input of a few nano, so
 * the first probe says "unprofitable" for any mispricing; at this size the rounding is far below
 * any profit worth taking. An exactly concave curve unprofitable at the first probe is
 * unprofitable here too, so it changes no trade, only costs the quote.
 */
const ROUNDED_PROBE_REL = 1e-6;
/** A model optimum this close to b (relative) past a closed side counts as b itself. */
const SETTLED_REL = 1e-6;
/** Most quotes one side's search may spend after its probe: a guard against curves that are not concave. */
const MAX_SEARCH_QUOTES = 100;

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

/**
 * One side's search over inputs d in [probe, upper], by quotes alone. Profit v*f(d) - c*d (v, c:
 * the value of a unit of output and the cost of a unit of input at the fair price) is concave,
 * so a bracket [a, c] around the best input b tried so far always holds the maximiser: a trial
 * that beats b moves b there, one that does not becomes the bracket's new end on its side.
 *
 * Trials come from a constant-product model g(u) = A*u/(B + u), exact for constant product with a
 * fee on input (A the output reserve, B the input reserve over 1 - fee) and, seen from any point
 * on such a curve, again of that form. Its u/g(u) is linear in u, so an anchor and two more
 * quotes fix it, and its optimum solves v*g'(u) = c in closed form: u = sqrt(A*B*v/c) - B. The
 * first model is anchored at the origin with A = the paying reserve and the probe's slope; later
 * ones take the last three inputs tried (not counting tolerance steps), so they become local and
 * converge fast on smooth curves. As in Brent's minimiser, a model trial outside the bracket, or
 * not under half the step before last, gives way to a bisection of the wider side of b in
 * log(input), by at most a factor 8 from b.
 *
 * A trial within the tolerance of b goes to b * (1 +- tol), and once one side of b is that narrow
 * the other side gets the same step, so the search ends with b's two neighbours at about
 * b * (1 +- tol). A constant-product curve costs its probe and three quotes, and one more for
 * each tolerance step that rounding makes win (each win doubles the next step, so a straight
 * stretch of a piecewise-linear curve is crossed in a few steps).
 */
function searchSide(pool: Pool, side: Side, price: number, out: ArbTrade): void {
  // Profit can only be positive below these bounds: output is capped by the paying reserve.
  const upper = side === 0 ? pool.reserveX * price : pool.reserveY / price;
  if (!(upper > 0) || !Number.isFinite(upper)) return;
  const v = side === 0 ? price : 1;
  const cost = side === 0 ? 1 : price;
  const probe = upper * PROBE_REL;
  let b = probe;
  let fb = pool.quote(side, b);
  let pb = v * fb - cost * b;
  if (!(pb > 0)) {
    // Concavity: if the smallest trade is unprofitable, every larger one is too, unless the
    // curve rounds its output (see ROUNDED_PROBE_REL).
    b = upper * ROUNDED_PROBE_REL;
    fb = pool.quote(side, b);
    pb = v * fb - cost * b;
    if (!(pb > 0)) return;
  }
  let a = probe;
  let c = upper;
  // The model's anchor (xp, fp) and its second point (xo, fo) besides b: the last three inputs
  // tried. Until there are three, the anchor is the origin and the first model uses the paying
  // reserve for its missing point.
  let xp = 0;
  let fp = 0;
  let xo = 0;
  let fo = 0;
  // Distances of the last two trials from the best input of their time.
  let step1 = Infinity;
  let step2 = Infinity;
  let grow = 1;
  for (let q = 0; q < MAX_SEARCH_QUOTES; q++) {
    const tolB = b * SEARCH_REL_TOL;
    // A side is closed once its end is within 2.5 tolerances of b: a failed step of one or two
    // tolerances (see below), with room for rounding.
    const leftOpen = b - a > 2.5 * tolB;
    const rightOpen = c - b > 2.5 * tolB;
    if (!leftOpen && !rightOpen) break;
    // Model from the anchor: g(u) = f(xp + u) - fp = A*u/(B + u) through b and xo, so u/g(u) is
    // the line through their (u, u/g); constant product seen from any point on it is again
    // constant product, and an anchor near b makes the model local.
    const ub = b - xp;
    const hb = ub / (fb - fp);
    const invA = xo > 0 ? ((xo - xp) / (fo - fp) - hb) / (xo - b) : 1 / (side === 0 ? pool.reserveX : pool.reserveY);
    const bOverA = hb - ub * invA;
    let t = xp + Math.sqrt((bOverA * v) / cost) / invA - bOverA / invA;
    const model = invA > 0 && bOverA > 0;
    // As in Brent's minimiser, a model step must land inside the bracket and be under half the
    // step before last: steps that stop shrinking mean the model does not fit this curve. A model
    // optimum within rounding of b, or just past a side already closed (b may have moved by
    // tolerance steps that rounding made look better), says b is the optimum: that is left to the
    // tolerance step below, which closes the other side.
    const near = Math.abs(t - b);
    const settled = near <= 2 * tolB || (near <= SETTLED_REL * b && ((t >= c && !rightOpen) || (t <= a && !leftOpen)));
    if (!(model && (settled || (t > a && t < c && Math.abs(t - b) < 0.5 * step2)))) {
      // Bisection of the wider side of b in log(input), by at most a factor 8 from b.
      t = Math.log(b / a) > Math.log(c / b) ? Math.max(Math.sqrt(a * b), b / 8) : Math.min(Math.sqrt(b * c), 8 * b);
    }
    // Steps within the tolerance of b go to b * (1 +- tol), on the step's side while it is open.
    // Each such step that wins doubles the next one: rounding makes a neighbour win now and then,
    // a straight stretch of profit (a piecewise-linear curve) makes every one of them win.
    const tiny = !(t > b ? t - b >= tolB && rightOpen : b - t >= tolB && leftOpen);
    if (tiny) t = (t > b ? rightOpen : !leftOpen) ? b + tolB * grow : b - tolB * grow;
    if (!tiny) {
      step2 = step1;
      step1 = Math.abs(t - b);
    }
    const f = pool.quote(side, t);
    const p = v * f - cost * t;
    grow = tiny && p > pb ? 2 * grow : 1;
    if (p > pb) {
      if (t > b) a = b;
      else c = b;
      // A point a tolerance away would make the next model all rounding noise: keep the far ones.
      if (!tiny) {
        xp = xo;
        fp = fo;
        xo = b;
        fo = fb;
      }
      b = t;
      fb = f;
      pb = p;
    } else {
      if (t > b) c = t;
      else a = t;
      if (!tiny) {
        xp = xo;
        fp = fo;
        xo = t;
        fo = f;
      }
    }
  }
  if (pb > out.profit) {
    out.side = side;
    out.input = b;
    out.output = fb;
    out.profit = pb;
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
