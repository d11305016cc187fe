/**
 * Reproducibility (spec §2): same seed => bit-identical results, in this thread or in workers;
 * common random numbers: a seed's fair-price path and retail orders do not depend on which
 * strategies compete; pinning one market parameter leaves the others unchanged.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { starter } from "../../env/builtins/starter.js";
import { MARKET_RANGES, type MarketPins } from "../../env/config.js";
import { PriceProcess } from "../../env/price.js";
import { RetailFlow } from "../../env/retail.js";
import { simulationStreams } from "../../env/rng.js";
import { runBatch } from "../../arena/runner.js";
import { Simulation, type StrategySource } from "../../env/simulation.js";
import type { Side, Strategy } from "../../env/strategy.js";
import { mean } from "../helpers/stats.js";

/** Constant product with a fee on input, priced only through computeSwap (a black box). */
function blackBox(bps: number): Strategy {
  const g = 1 - bps / 10000;
  return {
    name: `blackbox ${bps}`,
    computeSwap: (side, input, rx, ry) =>
      side === 0 ? (rx * g * input) / (ry + g * input) : (ry * g * input) / (rx + g * input),
  };
}

describe("same seed, same result", () => {
  const sources: StrategySource[] = [() => starter(), () => fixedFee(30), () => blackBox(45)];
  const config = { steps: 1500, epochLen: 300 };

  it("is bit-identical when run twice (deep equality, NaN and -0 included)", () => {
    const a = new Simulation(5, sources, config).run();
    const b = new Simulation(5, sources, config).run();
    expect(b).toStrictEqual(a);
    // Not vacuous: something happened, and another seed gives another result.
    expect(a.pools.every((p) => p.arbTrades + p.retailTrades > 0)).toBe(true);
    const c = new Simulation(6, sources, config).run();
    expect(c.pools[0].edge).not.toBe(a.pools[0].edge);
  });

  it("accounts for every black-box quote: arbitrage searches, routing, and executions not already quoted", () => {
    // The black box's quotes are the arbitrage searches' (one search per step), the router's, and
    // at most one per routed order to execute an allocation the router had not quoted itself.
    const r = new Simulation(5, sources, config).run();
    const bb = r.pools[2];
    expect(r.arbSearches).toBe(config.steps);
    expect(r.arbQuoteCalls).toBeGreaterThanOrEqual(2 * config.steps); // a probe on each side at least
    const executions = bb.quoteCalls - r.arbQuoteCalls - r.routerQuoteCalls;
    expect(executions).toBeGreaterThanOrEqual(0);
    expect(executions).toBeLessThanOrEqual(r.ordersRouted);
    // The closed-form pools never call computeSwap.
    expect(r.pools[0].quoteCalls + r.pools[1].quoteCalls + r.pools[3].quoteCalls).toBe(0);
  });

  it("runBatch gives identical results with 1 and 2 workers, equal to direct runs", async () => {
    const opts = {
      strategies: ["starter", "fixed:30"],
      simulations: 6,
      seedStart: 40,
      config: { steps: 2000, epochLen: 500 },
    };
    const one = await runBatch({ ...opts, workers: 1 });
    const two = await runBatch({ ...opts, workers: 2 });
    expect(two.workers).toBe(2);
    expect(one.seeds).toEqual([40, 41, 42, 43, 44, 45]);
    expect(two.seeds).toEqual(one.seeds);
    expect(two.results).toStrictEqual(one.results);
    const direct = one.seeds.map((seed) =>
      new Simulation(seed, [() => starter(), () => fixedFee(30)], opts.config).run(),
    );
    expect(one.results).toStrictEqual(direct);
  });
});

// ---------------------------------------------------------------------------------------------
// Common random numbers, observed from inside the engine.

interface Observed {
  /** Spot right after this pool's arbitrage trade, per step (NaN when it did not trade). */
  arbSpot: Float64Array;
  /** Retail orders seen: step, side, total order input = inputAmount / flowCaptured. */
  orders: Array<{ step: number; side: Side; amount: number }>;
}

function observed(steps: number): Observed {
  return { arbSpot: new Float64Array(steps).fill(NaN), orders: [] };
}

/**
 * A zero-fee constant-product pool that records what it sees. With zero fee the arbitrageur
 * moves its spot exactly to the fair price, so the spot after its arbitrage trade is S_t.
 */
function zeroFeeRecorder(obs: Observed): Strategy {
  const base = fixedFee(0);
  return {
    ...base,
    name: "zero-fee recorder",
    afterSwap(ev) {
      if (ev.flowCaptured === 0) obs.arbSpot[ev.simStep] = ev.reserveY / ev.reserveX;
      else recordOrder(obs, ev.simStep, ev.side, ev.inputAmount / ev.flowCaptured);
    },
  };
}

/** Wraps a strategy so that it records the retail orders it takes part in. */
function orderRecorder(base: Strategy, obs: Observed): Strategy {
  return {
    name: `rec(${base.name})`,
    computeSwap: base.computeSwap.bind(base),
    constantProductFees: base.constantProductFees?.bind(base),
    afterSwap(ev, storage) {
      if (ev.flowCaptured > 0) recordOrder(obs, ev.simStep, ev.side, ev.inputAmount / ev.flowCaptured);
      base.afterSwap?.(ev, storage);
    },
    onEpochBoundary: base.onEpochBoundary?.bind(base),
  };
}

/** Several pools take part in one order, one after the other: keep it once. */
function recordOrder(obs: Observed, step: number, side: Side, amount: number): void {
  const last = obs.orders[obs.orders.length - 1];
  if (last && last.step === step && last.side === side && Math.abs(last.amount / amount - 1) < 1e-9) return;
  obs.orders.push({ step, side, amount });
}

/** The seed's price path and retail orders, built straight from its random streams. */
function reference(seed: number, steps: number, market: Simulation["market"], sizeSigma: number) {
  const streams = simulationStreams(seed);
  const price = new PriceProcess(100, market.sigma, streams.price);
  const retail = new RetailFlow(market.retailRate, market.retailMeanSize, sizeSigma, streams.retail);
  const path: number[] = [];
  const orders: Array<{ step: number; side: Side; amount: number }> = [];
  for (let t = 0; t < steps; t++) {
    const S = price.next();
    path.push(S);
    const k = retail.orderCount();
    for (let o = 0; o < k; o++) {
      retail.nextOrder();
      orders.push({ step: t, side: retail.side, amount: retail.side === 0 ? retail.sizeY : retail.sizeY / S });
    }
  }
  return { path, orders };
}

/** Every observed order appears, in order, in the reference stream; returns how many matched. */
function matchSubsequence(seen: Observed["orders"], ref: Array<{ step: number; side: Side; amount: number }>): number {
  let j = 0;
  let matched = 0;
  for (const o of seen) {
    while (
      j < ref.length &&
      !(ref[j].step === o.step && ref[j].side === o.side && Math.abs(ref[j].amount / o.amount - 1) < 1e-12)
    )
      j++;
    if (j === ref.length) return -1; // an observed order that the seed's stream never produced
    matched++;
    j++;
  }
  return matched;
}

describe("common random numbers", () => {
  const steps = 2000;
  const config = { steps, epochLen: 500, arbProfitFloor: 0 };

  for (const seed of [3, 77]) {
    it(`seed ${seed}: price path and retail orders do not depend on the competing strategies`, () => {
      const obsA = observed(steps);
      const simA = new Simulation(seed, [() => zeroFeeRecorder(obsA)], config);
      const resA = simA.run();

      const obsB = observed(steps);
      const simB = new Simulation(
        seed,
        [
          () => orderRecorder(starter(), obsB),
          () => orderRecorder(fixedFee(30), obsB),
          () => zeroFeeRecorder(obsB),
          () => orderRecorder(blackBox(60), obsB),
          () => orderRecorder(fixedFee(10, 70), obsB),
        ],
        config,
      );
      const resB = simB.run();

      expect(simB.market).toEqual(simA.market);
      const ref = reference(seed, steps, simA.market, simA.config.retailSizeSigma);
      expect(resA.finalPrice).toBe(ref.path[steps - 1]);
      expect(resB.finalPrice).toBe(ref.path[steps - 1]);

      // The zero-fee pool's post-arbitrage spot is the fair price of the step, in both runs.
      for (const obs of [obsA, obsB]) {
        let seen = 0;
        for (let t = 0; t < steps; t++) {
          if (Number.isNaN(obs.arbSpot[t])) continue;
          seen++;
          expect(Math.abs(obs.arbSpot[t] / ref.path[t] - 1)).toBeLessThan(1e-12);
        }
        expect(seen).toBeGreaterThan(0.95 * steps);
      }

      // Retail orders: every order seen is the seed's own, in sequence, and nearly all are seen.
      expect(ref.orders.length).toBeGreaterThan(0.3 * steps);
      for (const obs of [obsA, obsB]) {
        const matched = matchSubsequence(obs.orders, ref.orders);
        expect(matched).toBe(obs.orders.length);
        expect(matched).toBeGreaterThan(0.9 * ref.orders.length);
      }
    });
  }
});

describe("market parameters", () => {
  const pinValues: Required<MarketPins> = {
    sigma: 0.0042,
    retailRate: 0.9,
    retailMeanSize: 17,
    normalizerFeeBps: 55,
    normalizerLiquidity: 1.3,
  };
  const keys = Object.keys(pinValues) as Array<keyof MarketPins>;
  const marketOf = (seed: number, pins: MarketPins = {}) => new Simulation(seed, [() => fixedFee(30)], { pins }).market;

  it("are drawn uniformly in their ranges and differ between seeds", () => {
    const markets = Array.from({ length: 200 }, (_, seed) => marketOf(seed));
    for (const key of keys) {
      const [lo, hi] = MARKET_RANGES[key];
      const values = markets.map((m) => m[key]);
      for (const v of values) {
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(hi);
      }
      // Uniform: the mean is near the middle (sd of the mean of 200 uniforms = (hi-lo)/sqrt(12*200)),
      // 5 standard errors allowed.
      const m = mean(values);
      expect(Math.abs(m - (lo + hi) / 2)).toBeLessThan((5 * (hi - lo)) / Math.sqrt(12 * 200));
      expect(new Set(values).size).toBeGreaterThan(key === "normalizerFeeBps" ? 40 : 190);
    }
    for (const m of markets) expect(Number.isInteger(m.normalizerFeeBps)).toBe(true);
  });

  it("pinning one leaves the others of the same seed unchanged", () => {
    for (let seed = 0; seed < 25; seed++) {
      const free = marketOf(seed);
      for (const key of keys) {
        const pinned = marketOf(seed, { [key]: pinValues[key] });
        expect(pinned[key]).toBe(pinValues[key]);
        for (const other of keys) if (other !== key) expect(pinned[other]).toBe(free[other]);
      }
      const all = marketOf(seed, pinValues);
      expect(all).toEqual(pinValues);
    }
  });

  it("pinning a retail parameter leaves the price path unchanged", () => {
    const cfg = { steps: 800, epochLen: 200 };
    const free = new Simulation(9, [() => fixedFee(30)], cfg).run();
    const pinned = new Simulation(9, [() => fixedFee(30)], {
      ...cfg,
      pins: { retailRate: 1.1, retailMeanSize: 25 },
    }).run();
    expect(pinned.finalPrice).toBe(free.finalPrice);
    expect(pinned.pools[0].edge).not.toBe(free.pools[0].edge);
  });
});
