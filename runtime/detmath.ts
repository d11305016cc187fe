/**
 * exp, log and tanh from IEEE basic operations only (+, -, *, /, and exact power-of-two
 * scaling through the exponent bits). Math.exp/log/tanh may differ by an ulp between engines
 * and from a Rust libm; these give the same bits everywhere, which is what lets an exported
 * Rust policy make exactly the fee decisions of the JavaScript one (spec §6). The Rust runtime
 * (runtime/rust/policy.rs) holds a line-by-line port; test/agents/export.test.ts compares the
 * two bit for bit. Accuracy: within a few ulp.
 */

const LN2_HI = 6.931471803691238e-1; // ln 2, upper bits (fdlibm's split)
const LN2_LO = 1.9082149292705877e-10; // ln 2 - LN2_HI
const INV_LN2 = 1.4426950408889634;
const SQRT_HALF = 0.7071067811865476;

const scratch = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], exactly. */
export function pow2(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20, false);
  scratch.setUint32(4, 0, false);
  return scratch.getFloat64(0, false);
}

/** e^x. */
export function detExp(x: number): number {
  if (x !== x) return x;
  if (x > 709) return Infinity;
  if (x < -745) return 0;
  // x = k ln2 + r, |r| <= ln2 / 2.
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  // Taylor series of e^r to degree 13 (Horner): error below 1e-17 for |r| <= 0.347.
  let p = 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  // Split the scaling so that k near the exponent limits stays exact.
  if (k > 1000) return p * pow2(1000) * pow2(k - 1000);
  if (k < -1000) return p * pow2(-1000) * pow2(k + 1000);
  return p * pow2(k);
}

/** Natural logarithm of a positive, finite x (NaN for x < 0 or NaN, -Infinity for 0). */
export function detLog(x: number): number {
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
  let e = 0;
  let m = x;
  if (m < 2.2250738585072014e-308) {
    m *= pow2(54);
    e -= 54;
  }
  scratch.setFloat64(0, m, false);
  const hi = scratch.getUint32(0, false);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  scratch.setUint32(0, (hi & 0x000fffff) | 0x3ff00000, false);
  m = scratch.getFloat64(0, false); // in [1, 2)
  if (m > 1 / SQRT_HALF) {
    m *= 0.5;
    e += 1;
  }
  // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: series to s^25.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q = 1 / 25;
  q = q * s2 + 1 / 23;
  q = q * s2 + 1 / 21;
  q = q * s2 + 1 / 19;
  q = q * s2 + 1 / 17;
  q = q * s2 + 1 / 15;
  q = q * s2 + 1 / 13;
  q = q * s2 + 1 / 11;
  q = q * s2 + 1 / 9;
  q = q * s2 + 1 / 7;
  q = q * s2 + 1 / 5;
  q = q * s2 + 1 / 3;
  q = q * s2 + 1;
  return 2 * s * q + e * LN2_LO + e * LN2_HI;
}

/** e^r - 1 for |r| <= 0.7, without the cancellation of detExp(r) - 1 (series to r^18). */
function expm1Small(r: number): number {
  let p = 1 / 6402373705728000;
  p = p * r + 1 / 355687428096000;
  p = p * r + 1 / 20922789888000;
  p = p * r + 1 / 1307674368000;
  p = p * r + 1 / 87178291200;
  p = p * r + 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  return p * r;
}

/** tanh(x) = (e^2x - 1) / (e^2x + 1). */
export function detTanh(x: number): number {
  if (x !== x) return x;
  if (x > 20) return 1;
  if (x < -20) return -1;
  const r = 2 * x;
  const em1 = r > -0.7 && r < 0.7 ? expm1Small(r) : detExp(r) - 1;
  return em1 / (em1 + 2);
}
