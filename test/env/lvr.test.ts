/**
 * Loss-versus-rebalancing (theory check of the price path and the arbitrageur together).
 *
 * A zero-fee constant-product pool with no retail flow is arbitraged back to the fair price
 * every step. Between steps the price moves by r = S_t / S_{t-1} = exp(-s^2/2 + s Z). With k = xy
 * fixed, the pool's value at its own (= fair) price is V = 2 sqrt(k S), and the arbitrageur's
 * profit in step t is exactly
 *     x S_t + y - 2 sqrt(k S_t) = sqrt(k S_{t-1}) (sqrt(r) - 1)^2 = V_{t-1} (sqrt(r) - 1)^2 / 2,
 * whose expectation is V_{t-1} (1 - exp(-s^2/8)) since E[sqrt r] = exp(-s^2/8) and E[r] = 1.
 * So the loss rate per step is s^2/8 up to a relative O(s^2) term (s^2/16 ~ 1e-6 here): the
 * continuous-time LVR of constant product, sigma^2/8 of pool value per unit time. The only
 * tolerance needed is statistical, and it is computed from the seeds.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { Simulation } from "../../env/simulation.js";
import type { Strategy } from "../../env/strategy.js";
import { pricePath } from "../helpers/oracles.js";
import { mean, standardError } from "../helpers/stats.js";

const STEPS = 2000;
const SEEDS = 200;

/** fixedFee(0) that records its reserves after each arbitrage trade. */
function recordingZeroFee(xs: Float64Array, ys: Float64Array): Strategy {
  return {
    ...fixedFee(0),
    afterSwap(ev) {
      xs[ev.simStep] = ev.reserveX;
      ys[ev.simStep] = ev.reserveY;
    },
  };
}

interface Measured {
  rate: number;
  se: number;
  perSeed: number[];
}

function measure(sigma: number, seedStart: number): Measured {
  const perSeed: number[] = [];
  for (let seed = seedStart; seed < seedStart + SEEDS; seed++) {
    const xs = new Float64Array(STEPS).fill(NaN);
    const ys = new Float64Array(STEPS).fill(NaN);
    const config = { steps: STEPS, epochLen: STEPS, retailEnabled: false, arbProfitFloor: 0, pins: { sigma } };
    const result = new Simulation(seed, [() => recordingZeroFee(xs, ys)], config).run();
    const pool = result.pools[0];
    expect(pool.retailTrades).toBe(0);
    expect(pool.arbTrades).toBeGreaterThan(STEPS - 5); // arbitraged (nearly) every step
    expect(pool.edge).toBeLessThan(0);
    const path = pricePath(seed, sigma, STEPS);
    // Pool value at the start of each step t = value after step t-1's trade at S_{t-1}.
    let x = 100;
    let y = 10000;
    let S = 100;
    let sumV = 0;
    let worstK = 0;
    for (let t = 0; t < STEPS; t++) {
      sumV += x * S + y;
      if (!Number.isNaN(xs[t])) {
        x = xs[t];
        y = ys[t];
        worstK = Math.max(worstK, Math.abs((x * y) / 1e6 - 1));
      }
      S = path[t];
    }
    expect(worstK).toBeLessThan(1e-9); // zero fee: k = xy is kept
    perSeed.push(-pool.edge / sumV);
  }
  return { rate: mean(perSeed), se: standardError(perSeed), perSeed };
}

describe("loss-versus-rebalancing of a zero-fee constant-product pool", () => {
  for (const [sigma, seedStart] of [
    [0.004, 1000],
    [0.0015, 5000],
  ] as const) {
    it(`loses sigma^2/8 of its value per step to arbitrage (sigma = ${sigma})`, () => {
      const { rate, se } = measure(sigma, seedStart);
      const theory = (sigma * sigma) / 8;
      // Each step's loss ratio is (sqrt r - 1)^2 / 2 ~ (s^2/8) Z^2: relative sd sqrt(2) per step,
      // so about sqrt(2 / 2000) = 3.2% per seed and 0.22% for the mean of 200 seeds. The measured
      // standard error must agree with that, and the mean must lie within 4 standard errors of
      // theory (the O(s^2) discrete-time term, ~1e-6 relative, is far below that).
      expect(se / theory).toBeGreaterThan(0.001);
      expect(se / theory).toBeLessThan(0.005);
      expect(Math.abs(rate - theory)).toBeLessThan(4 * se);
    });
  }

  it("rebalancing with a single strategy is a no-op", () => {
    // Same seed with an epoch boundary every 100 steps: the lone pool keeps all the capital at
    // its own spot, so the run matches the one without boundaries up to rounding.
    const base = { steps: STEPS, retailEnabled: false, arbProfitFloor: 0, pins: { sigma: 0.004 } };
    const once = new Simulation(1, [() => fixedFee(0)], { ...base, epochLen: STEPS }).run();
    const often = new Simulation(1, [() => fixedFee(0)], { ...base, epochLen: 100 }).run();
    expect(often.pools[0].epochs.length).toBe(STEPS / 100);
    expect(often.pools[0].finalWeight).toBe(1);
    expect(Math.abs(often.pools[0].edge / once.pools[0].edge - 1)).toBeLessThan(1e-9);
    expect(Math.abs(often.pools[0].finalValue / once.pools[0].finalValue - 1)).toBeLessThan(1e-12);
    expect(often.pools[0].arbTrades).toBe(once.pools[0].arbTrades);
  });
});
