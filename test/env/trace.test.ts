/**
 * The tape of one simulation (docs/trace.md) against independent truth: the engine's own result
 * of the same seed run without a recorder (edges, epochs, weights), the price process recomputed
 * from the seed's stream, the reserve arithmetic of spec §2.8 replayed trade by trade, the edge
 * formula, the arbitrage optimum's side of the fair price, the router's shares of each order,
 * the softmax weights' sum, and the tape of the same seed recorded twice.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { oracle } from "../../env/builtins/oracle.js";
import { starter } from "../../env/builtins/starter.js";
import { ConfigError } from "../../env/config.js";
import { PriceProcess } from "../../env/price.js";
import { simulationStreams } from "../../env/rng.js";
import { runBatch } from "../../arena/runner.js";
import { Simulation, type SimulationResult, type StrategySource } from "../../env/simulation.js";
import type { Strategy } from "../../env/strategy.js";
import {
  TRACE_FORMAT,
  TRACE_KIND,
  TRACE_VERSION,
  TraceRecorder,
  recordSimulation,
  renderTraceText,
  type SimulationTrace,
} from "../../env/trace.js";
import * as api from "../../index.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/tmp.js";

/** Constant product with a fee on input, priced only through computeSwap (a black box). */
function blackBox(bps: number): Strategy {
  const g = 1 - bps / 10000;
  return {
    name: `blackbox ${bps}`,
    computeSwap: (side, input, rx, ry) =>
      side === 0 ? (rx * g * input) / (ry + g * input) : (ry * g * input) / (rx + g * input),
  };
}

const SOURCES: StrategySource[] = [() => starter(), () => fixedFee(30), () => blackBox(45), () => oracle(30)];
const CONFIG = { steps: 1300, epochLen: 300 };
const SEED = 11;

function record(
  seed = SEED,
  sources = SOURCES,
  config: object = CONFIG,
): { result: SimulationResult; trace: SimulationTrace } {
  return recordSimulation(new Simulation(seed, sources, config));
}

const { result: recorded, trace } = record();
const plain = new Simulation(SEED, SOURCES, CONFIG).run();
const nPools = SOURCES.length + 1;

/** Indices of a column's entries where `pick` holds. */
function where(n: number, pick: (k: number) => boolean): number[] {
  return Array.from({ length: n }, (_, k) => k).filter(pick);
}

describe("recording changes nothing", () => {
  it("the recorded simulation's result equals the same seed run without a recorder, bit for bit", () => {
    expect(recorded).toStrictEqual(plain);
    expect(plain.pools.every((p) => p.arbTrades > 0 || p.oracle)).toBe(true);
    expect(plain.pools.every((p) => p.retailTrades > 0)).toBe(true);
  });

  it("an observer can only be attached before the first step, and once", () => {
    const sim = new Simulation(1, SOURCES, { steps: 10 });
    sim.observe(new TraceRecorder());
    expect(() => sim.observe(new TraceRecorder())).toThrow(/already has an observer/);
    const started = new Simulation(1, SOURCES, { steps: 10 });
    started.advance();
    expect(() => started.observe(new TraceRecorder())).toThrow(/before the simulation's first step/);
    const rec = new TraceRecorder();
    expect(() => rec.trace()).toThrow(/not attached/);
    new Simulation(1, SOURCES, { steps: 10 }).observe(rec);
    expect(() => new Simulation(2, SOURCES, { steps: 10 }).observe(rec)).toThrow(/one simulation/);
  });
});

describe("header", () => {
  it("names the format, version, seed, pools, configuration and market", () => {
    expect(trace.format).toBe(TRACE_FORMAT);
    expect(trace.format).toBe("propamm-trace");
    expect(trace.version).toBe(TRACE_VERSION);
    expect(trace.version).toBe(1);
    expect(trace.seed).toBe(SEED);
    expect(trace.pools.map((p) => p.name)).toEqual(plain.pools.map((p) => p.name));
    expect(trace.pools.map((p) => p.normalizer)).toEqual([false, false, false, false, true]);
    expect(trace.pools.map((p) => p.oracle)).toEqual([false, false, false, true, false]);
    expect(trace.pools.map((p) => p.constantProduct)).toEqual([true, true, false, true, true]);
    expect(trace.market).toEqual(plain.market);
    expect(trace.config.steps).toBe(CONFIG.steps);
    expect(trace.config.epochLen).toBe(CONFIG.epochLen);
    // spec §2.4: base reserves, the normalizer's times its liquidity factor; weights 1/N.
    const liq = plain.market.normalizerLiquidity;
    expect(trace.initial.reserveX).toEqual([100, 100, 100, 100, 100 * liq]);
    expect(trace.initial.reserveY).toEqual([10000, 10000, 10000, 10000, 10000 * liq]);
    expect(trace.initial.weight).toEqual([0.25, 0.25, 0.25, 0.25, null]);
    expect(trace.initial.price).toBe(100);
  });

  it("is plain JSON: the parsed file equals the tape in memory, and is exported from the package", () => {
    const text = JSON.stringify(trace);
    expect(text).not.toMatch(/NaN|Infinity/);
    expect(JSON.parse(text)).toStrictEqual(trace);
    expect(api.TraceRecorder).toBe(TraceRecorder);
    expect(api.TRACE_FORMAT).toBe("propamm-trace");
    expect(api.recordSimulation).toBe(recordSimulation);
  });
});

describe("steps", () => {
  it("has one entry per step in every column, per pool", () => {
    const s = trace.steps;
    expect(s.count).toBe(CONFIG.steps);
    expect(s.price).toHaveLength(CONFIG.steps);
    for (const col of [s.spot, s.reserveX, s.reserveY, s.bidFeeBps, s.askFeeBps, s.edge]) {
      expect(col).toHaveLength(nPools);
      for (const c of col) expect(c).toHaveLength(CONFIG.steps);
    }
  });

  it("prices are the seed's price process, recomputed from its stream (spec §2.5)", () => {
    const process = new PriceProcess(100, plain.market.sigma, simulationStreams(SEED).price);
    const path = Array.from({ length: CONFIG.steps }, () => process.next());
    expect(trace.steps.price).toEqual(path);
    expect(trace.steps.price[CONFIG.steps - 1]).toBe(plain.finalPrice);
  });

  it("spot is reserveY / reserveX; fees are the declared ones, null for the black box", () => {
    const s = trace.steps;
    for (let i = 0; i < nPools; i++) {
      for (let t = 0; t < s.count; t += 97) expect(s.spot[i][t]).toBe(s.reserveY[i][t] / s.reserveX[i][t]);
    }
    expect(new Set(s.bidFeeBps[1].map((f) => f!.toFixed(9)))).toEqual(new Set(["30.000000000"]));
    expect(s.askFeeBps[2].every((f) => f === null)).toBe(true);
    const normFee = plain.market.normalizerFeeBps.toFixed(9);
    expect(new Set(s.askFeeBps[4].map((f) => f!.toFixed(9)))).toEqual(new Set([normFee]));
    // The starter's fees move (spec §5.3), both sides at least 5 bps.
    expect(new Set(s.bidFeeBps[0]).size).toBeGreaterThan(5);
    expect(Math.min(...(s.bidFeeBps[0] as number[]), ...(s.askFeeBps[0] as number[]))).toBeGreaterThanOrEqual(5 - 1e-9);
  });

  it("the cumulative edge column ends at the engine's final edge", () => {
    for (let i = 0; i < nPools; i++) expect(trace.steps.edge[i][CONFIG.steps - 1]).toBe(plain.pools[i].edge);
  });
});

describe("trades", () => {
  const tr = trace.trades;
  const n = tr.step.length;

  it("every column has one entry per trade, and the counts are the engine's", () => {
    for (const col of Object.values(tr)) expect(col).toHaveLength(n);
    for (let i = 0; i < nPools; i++) {
      const arb = where(n, (k) => tr.pool[k] === i && tr.kind[k] === TRACE_KIND.arb).length;
      const retail = where(n, (k) => tr.pool[k] === i && tr.kind[k] === TRACE_KIND.retail).length;
      expect(arb).toBe(plain.pools[i].arbTrades);
      expect(retail).toBe(plain.pools[i].retailTrades);
    }
    // Steps never go back.
    for (let k = 1; k < n; k++) expect(tr.step[k]).toBeGreaterThanOrEqual(tr.step[k - 1]);
  });

  it("per pool, the trades' edges sum to the engine's edge, arbitrage and retail edge", () => {
    for (let i = 0; i < nPools; i++) {
      let total = 0;
      let arb = 0;
      let retail = 0;
      for (let k = 0; k < n; k++) {
        if (tr.pool[k] !== i) continue;
        total += tr.edge[k];
        if (tr.kind[k] === TRACE_KIND.arb) arb += tr.edge[k];
        else retail += tr.edge[k];
      }
      // Summed in the engine's order, so the same bits (spec §2.8: edge = arbEdge + retailEdge).
      expect(total).toBe(plain.pools[i].edge);
      expect(arb).toBe(plain.pools[i].arbEdge);
      expect(retail).toBe(plain.pools[i].retailEdge);
    }
  });

  it("each trade's edge is spec §2.8's formula at the step's fair price", () => {
    for (let k = 0; k < n; k++) {
      const S = trace.steps.price[tr.step[k]];
      const expected = tr.side[k] === 0 ? tr.input[k] - tr.output[k] * S : tr.input[k] * S - tr.output[k];
      expect(tr.edge[k]).toBe(expected);
    }
  });

  /** Reserves of each pool just before each trade: the last trade's in the same step, else the step before's end. */
  function reservesBefore(): { x: number[]; y: number[] } {
    const x: number[] = [];
    const y: number[] = [];
    const last = new Map<number, { step: number; x: number; y: number }>();
    for (let k = 0; k < n; k++) {
      const i = tr.pool[k];
      const t = tr.step[k];
      const prev = last.get(i);
      if (prev && prev.step === t) {
        x.push(prev.x);
        y.push(prev.y);
      } else {
        x.push(t === 0 ? trace.initial.reserveX[i] : trace.steps.reserveX[i][t - 1]);
        y.push(t === 0 ? trace.initial.reserveY[i] : trace.steps.reserveY[i][t - 1]);
      }
      last.set(i, { step: t, x: tr.reserveX[k], y: tr.reserveY[k] });
    }
    return { x, y };
  }

  it("reserves after each trade are the reserves before it plus the input and minus the output (bit for bit)", () => {
    const before = reservesBefore();
    let checked = 0;
    for (let k = 0; k < n; k++) {
      // The oracle is re-centred at the start of every step (spec §5.4): its first trade of a step starts elsewhere.
      if (trace.pools[tr.pool[k]].oracle) continue;
      const side0 = tr.side[k] === 0;
      expect(tr.reserveX[k]).toBe(side0 ? before.x[k] - tr.output[k] : before.x[k] + tr.input[k]);
      expect(tr.reserveY[k]).toBe(side0 ? before.y[k] + tr.input[k] : before.y[k] - tr.output[k]);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("the step's closing reserves are its last trade's, except where an epoch rebalanced", () => {
    const boundary = new Set(trace.epochs.step.filter((_, e) => trace.epochs.rebalanced[e]));
    const lastOfStep = new Map<string, number>();
    for (let k = 0; k < n; k++) lastOfStep.set(`${tr.pool[k]}:${tr.step[k]}`, k);
    let checked = 0;
    for (const [key, k] of lastOfStep) {
      const [i, t] = key.split(":").map(Number);
      if (boundary.has(t)) continue;
      expect(trace.steps.reserveX[i][t]).toBe(tr.reserveX[k]);
      expect(trace.steps.reserveY[i][t]).toBe(tr.reserveY[k]);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("arbitrage moves the spot toward the fair price without crossing it (spec §2.6)", () => {
    const before = reservesBefore();
    const arbs = where(n, (k) => tr.kind[k] === TRACE_KIND.arb);
    expect(arbs.length).toBeGreaterThan(500);
    for (const k of arbs) {
      const S = trace.steps.price[tr.step[k]];
      const spotBefore = before.y[k] / before.x[k];
      const spotAfter = tr.reserveY[k] / tr.reserveX[k];
      expect(Math.abs(Math.log(spotAfter / S))).toBeLessThan(Math.abs(Math.log(spotBefore / S)));
      if (tr.side[k] === 0) {
        // The arbitrageur buys X below the fair price: the spot rises, at most to S.
        expect(spotBefore).toBeLessThan(S);
        expect(spotAfter).toBeLessThanOrEqual(S * (1 + 1e-9));
      } else {
        expect(spotBefore).toBeGreaterThan(S);
        expect(spotAfter).toBeGreaterThanOrEqual(S * (1 - 1e-9));
      }
      expect(tr.edge[k]).toBeLessThanOrEqual(-trace.config.arbProfitFloor);
      expect(tr.order[k]).toBe(-1);
      expect(tr.flowShare[k]).toBe(0);
    }
  });

  it("a retail order's trades share its side, and their inputs and shares add up to the order", () => {
    const o = trace.orders;
    expect(o.step).toHaveLength(plain.ordersRouted);
    const byOrder = new Map<number, number[]>();
    for (let k = 0; k < n; k++) {
      if (tr.kind[k] !== TRACE_KIND.retail) continue;
      byOrder.set(tr.order[k], [...(byOrder.get(tr.order[k]) ?? []), k]);
    }
    expect(byOrder.size).toBeGreaterThan(500);
    for (const [order, ks] of byOrder) {
      let share = 0;
      let input = 0;
      for (const k of ks) {
        expect(tr.side[k]).toBe(o.side[order]);
        expect(tr.step[k]).toBe(o.step[order]);
        expect(tr.flowShare[k]).toBe(tr.input[k] / o.amount[order]);
        share += tr.flowShare[k];
        input += tr.input[k];
      }
      // Allocations below 1e-9 of the order are dropped (spec §2.7).
      expect(share).toBeGreaterThan(1 - 1e-8);
      expect(share).toBeLessThan(1 + 1e-12);
      expect(input / o.amount[order]).toBeCloseTo(share, 12);
    }
  });
});

describe("epochs", () => {
  const e = trace.epochs;
  it("one entry per epoch, at the closed-form boundaries, the last without a rebalance", () => {
    const count = Math.ceil(CONFIG.steps / CONFIG.epochLen);
    expect(e.epoch).toEqual(Array.from({ length: count }, (_, k) => k));
    expect(e.step).toEqual([299, 599, 899, 1199, 1299]);
    expect(e.rebalanced).toEqual([true, true, true, true, false]);
    for (const col of [e.weight, e.edge, e.score, e.trades]) for (const c of col) expect(c).toHaveLength(count);
  });

  it("edges, scores, weights and trade counts are the engine's epoch summaries", () => {
    for (let i = 0; i < nPools; i++) {
      const rows = plain.pools[i].epochs;
      expect(e.edge[i]).toEqual(rows.map((r) => r.edge));
      expect(e.score[i]).toEqual(rows.map((r) => r.score));
      expect(e.trades[i]).toEqual(rows.map((r) => r.trades));
      expect(e.weight[i]).toEqual(rows.map((r) => (Number.isNaN(r.weight) ? null : r.weight)));
    }
  });

  it("the strategies' weights sum to 1 at every boundary, each at least minWeight; the normalizer has none", () => {
    for (let k = 0; k < e.epoch.length; k++) {
      let sum = 0;
      for (let i = 0; i < SOURCES.length; i++) {
        const w = e.weight[i][k]!;
        expect(w).toBeGreaterThanOrEqual(trace.config.minWeight - 1e-15);
        sum += w;
      }
      expect(sum).toBeCloseTo(1, 12);
      expect(e.weight[SOURCES.length][k]).toBeNull();
    }
    // Not vacuous: capital moved.
    expect(e.weight[3][0]).toBeGreaterThan(0.5);
  });

  it("each epoch's edge is the sum of its trades' edges", () => {
    for (let i = 0; i < nPools; i++) {
      for (let k = 0; k < e.epoch.length; k++) {
        const from = k === 0 ? 0 : e.step[k - 1] + 1;
        let sum = 0;
        for (let j = 0; j < trace.trades.step.length; j++) {
          const t = trace.trades.step[j];
          if (trace.trades.pool[j] === i && t >= from && t <= e.step[k]) sum += trace.trades.edge[j];
        }
        expect(sum).toBeCloseTo(e.edge[i][k], 9);
      }
    }
  });
});

describe("determinism", () => {
  it("the tape of a seed equals itself across two runs, and another seed's differs", () => {
    const again = record().trace;
    expect(JSON.stringify(again)).toBe(JSON.stringify(trace));
    expect(record(SEED + 1).trace.steps.price).not.toEqual(trace.steps.price);
  });

  it("the price path and the order stream do not depend on the line-up (common random numbers)", () => {
    const other = record(SEED, [() => fixedFee(70)]).trace;
    expect(other.steps.price).toEqual(trace.steps.price);
    expect(other.orders.step).toEqual(trace.orders.step);
    expect(other.orders.side).toEqual(trace.orders.side);
  });
});

describe("batches", () => {
  const dir = tempDir("propamm-trace-");
  const strategies = ["starter", "fixed:30"];
  const config = { steps: 600, epochLen: 200 };

  it("a batch records the tape of its trace seed in this thread and in workers alike, changing no result", async () => {
    const base = await runBatch({ strategies, config, simulations: 3, seedStart: 4, workers: 0 });
    expect(base.trace).toBeUndefined();
    const here = await runBatch({ strategies, config, simulations: 3, seedStart: 4, workers: 0, traceSeed: 5 });
    const threads = await runBatch({ strategies, config, simulations: 3, seedStart: 4, workers: 2, traceSeed: 5 });
    expect(here.results).toStrictEqual(base.results);
    expect(threads.results).toStrictEqual(base.results);
    expect(here.trace!.seed).toBe(5);
    expect(JSON.stringify(threads.trace)).toBe(JSON.stringify(here.trace));
    const direct = record(5, [() => starter(), () => fixedFee(30)], config).trace;
    expect(JSON.stringify(here.trace)).toBe(JSON.stringify(direct));
    const r = base.results[1];
    expect(here.trace!.steps.edge.map((c) => c[c.length - 1])).toEqual(r.pools.map((p) => p.edge));
  });

  it("a strategy stopped on the trace seed: the tape is the rerun's, with the stand-in, and matches the results", async () => {
    const file = join(dir, "spins.mjs");
    const cp = "const g = input * 0.997; return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);";
    writeFileSync(
      file,
      `let n = 0; export default { name: "spins", computeSwap(side, input, x, y) { if (++n > 300) for (;;) {} ${cp} } };`,
    );
    const batch = await runBatch({
      strategies: [file, "fixed:30"],
      config,
      simulations: 1,
      workers: 1,
      traceSeed: 0,
      limits: { callMs: 300 },
    });
    const pool = batch.results[0].pools[0];
    expect(pool.errors.stopped).toMatch(/did not return within the 300 ms time limit/);
    const t = batch.trace!;
    expect(t.pools[0].name).toBe(pool.name);
    // The stand-in quotes 0: it never trades.
    expect(t.trades.pool.includes(0)).toBe(false);
    expect(t.steps.edge.map((c) => c[c.length - 1])).toEqual(batch.results[0].pools.map((p) => p.edge));
  });

  it("a trace seed outside the batch's seeds is refused before anything runs", async () => {
    await expect(runBatch({ strategies, config, simulations: 3, seedStart: 4, traceSeed: 7 })).rejects.toThrow(
      ConfigError,
    );
    await expect(runBatch({ strategies, config, simulations: 3, seedStart: 4, traceSeed: 3 })).rejects.toThrow(
      /trace seed must be one of the run's seeds, 4..6/,
    );
  });
});

describe("text rendering", () => {
  it("shows the step, the fair price, every pool and the last trades", () => {
    const sim = new Simulation(3, SOURCES, { steps: 50 });
    const rec = new TraceRecorder();
    sim.observe(rec);
    expect(renderTraceText(rec)).toMatch(/step 0\/50 .*no trades yet/s);
    sim.run();
    const text = renderTraceText(rec, 3);
    expect(text).toContain("step 50/50 (finished)");
    expect(text).toContain(`fair price ${sim.fairPrice.toFixed(4)}`);
    for (const p of sim.pools) expect(text).toContain(p.strategy.name.slice(0, 20));
    expect(text).toContain(`last 3 of ${rec.trace().trades.step.length} trades:`);
    expect(text.split("\n")).toHaveLength(1 + 1 + nPools + 1 + 3);
  });
});
