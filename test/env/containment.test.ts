/**
 * Misbehaving strategies are contained (spec §2): a quote that throws or is NaN, negative,
 * infinite or >= the paying reserve counts as 0 (no trade); a hook that throws is reported;
 * the run always finishes and the other pools trade exactly as they would next to a pool that
 * simply never quotes.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { starter } from "../../env/builtins/starter.js";
import { Simulation, type PoolResult, type SimulationResult } from "../../env/simulation.js";
import type { Side, Strategy } from "../../env/strategy.js";
import { cpOutput } from "../helpers/oracles.js";

const CFG = { steps: 600, epochLen: 150 };
const SEED = 17;

const cpQuote = (side: Side, input: number, rx: number, ry: number, bps: number): number =>
  side === 0 ? cpOutput(rx, ry, bps / 10000, input) : cpOutput(ry, rx, bps / 10000, input);

function quoting(name: string, f: Strategy["computeSwap"]): Strategy {
  return { name, computeSwap: f };
}

/** The reference: a well-behaved pool that quotes 0 for everything, so it never trades. */
const neverTrades = (): Strategy => quoting("quotes zero", () => 0);

const run = (bad: () => Strategy): SimulationResult =>
  new Simulation(SEED, [() => starter(), bad, () => fixedFee(30)], CFG).run();

function expectSane(r: SimulationResult): void {
  expect(r.steps).toBe(CFG.steps);
  expect(Number.isFinite(r.finalPrice) && r.finalPrice > 0).toBe(true);
  for (const p of r.pools) {
    for (const v of [p.edge, p.arbEdge, p.retailEdge, p.finalValue, p.retailVolumeY])
      expect(Number.isFinite(v)).toBe(true);
    expect(p.finalValue).toBeGreaterThan(0);
    expect(p.epochs.length).toBe(CFG.steps / CFG.epochLen);
  }
}

/** Everything but the misbehaving pool's name and error/quote counters. */
const others = (r: SimulationResult, bad: number): unknown[] =>
  r.pools.map((p: PoolResult, i) => (i === bad ? { ...p, name: "", quoteCalls: 0, errors: null } : p));

describe("misbehaving quotes", () => {
  // Built once before the tests, not while the describe is collected: a simulation run at
  // collection time would count as covering every line it touches for every test (Stryker's
  // "static" mutants, run against all tests), making mutation runs several times longer.
  let reference: SimulationResult;
  beforeAll(() => {
    reference = run(neverTrades);
  });

  const cases: Array<[string, Strategy["computeSwap"], "quoteErrors" | "invalidQuotes"]> = [
    [
      "throws",
      () => {
        throw new Error("boom");
      },
      "quoteErrors",
    ],
    ["returns NaN", () => NaN, "invalidQuotes"],
    ["returns a negative amount", (side, input, rx, ry) => -cpQuote(side, input, rx, ry, 30), "invalidQuotes"],
    ["returns Infinity", () => Infinity, "invalidQuotes"],
    ["returns -Infinity", () => -Infinity, "invalidQuotes"],
    ["returns more than the reserve", (side, _input, rx, ry) => 2 * (side === 0 ? rx : ry), "invalidQuotes"],
    ["returns exactly the reserve", (side, _input, rx, ry) => (side === 0 ? rx : ry), "invalidQuotes"],
    ["returns a string", () => "12" as unknown as number, "invalidQuotes"],
  ];

  for (const [label, f, counter] of cases) {
    it(`computeSwap that ${label}: no trade, reported, others unaffected`, () => {
      const r = run(() => quoting(label, f));
      expectSane(r);
      const bad = r.pools[1];
      expect(bad.arbTrades + bad.retailTrades).toBe(0);
      expect(bad.edge).toBe(0);
      expect(bad.quoteCalls).toBeGreaterThan(0);
      expect(bad.errors[counter]).toBe(bad.quoteCalls); // every quote was bad
      if (counter === "quoteErrors") expect(bad.errors.lastError).toContain("boom");
      // Contained = exactly like a pool that quotes 0: every other pool's numbers are unchanged.
      expect(others(r, 1)).toStrictEqual(others(reference, 1));
      expect(r.pools[0].arbTrades + r.pools[0].retailTrades).toBeGreaterThan(0);
    });
  }

  it("a curve that misbehaves only for large inputs still trades small ones, and reports the rest", () => {
    // Fee 30 bps curve that throws when asked for more than 1% of the paying reserve's worth,
    // and returns NaN above 0.5%.
    const r = run(() =>
      quoting("sometimes", (side, input, rx, ry) => {
        const share = side === 0 ? input / ry : input / rx;
        if (share > 0.01) throw new RangeError("too big");
        if (share > 0.005) return NaN;
        return cpQuote(side, input, rx, ry, 30);
      }),
    );
    expectSane(r);
    const p = r.pools[1];
    expect(p.arbTrades + p.retailTrades).toBeGreaterThan(0);
    expect(p.errors.quoteErrors).toBeGreaterThan(0);
    expect(p.errors.invalidQuotes).toBeGreaterThan(0);
    expect(p.errors.lastError).toContain("too big");
  });
});

describe("misbehaving hooks", () => {
  const steps = CFG.steps;
  const boundaries = Math.floor((steps - 1) / CFG.epochLen); // 3

  it("hooks that throw are counted once per call; trading goes on exactly as without hooks", () => {
    const throwing = (): Strategy => ({
      ...fixedFee(50),
      name: "throwing hooks",
      afterSwap() {
        throw new Error("after swap failed");
      },
      onEpochBoundary() {
        throw new TypeError("epoch failed");
      },
    });
    const r = run(throwing);
    const plain = run(() => fixedFee(50));
    expectSane(r);
    const p = r.pools[1];
    expect(p.errors.hookErrors).toBe(p.arbTrades + p.retailTrades + boundaries);
    expect(p.errors.lastError).toBe("Error: after swap failed"); // trades follow the last boundary
    expect(p.arbTrades + p.retailTrades).toBeGreaterThan(0);
    // A fixed-fee curve ignores storage, so the throws change nothing but the error counts.
    expect(others(r, 1)).toStrictEqual(others(plain, 1));
  });

  it("an epoch hook that throws is counted once per boundary", () => {
    const r = run(() => ({
      ...fixedFee(50),
      name: "throwing epoch hook",
      onEpochBoundary() {
        throw new TypeError("epoch failed");
      },
    }));
    expectSane(r);
    expect(r.pools[1].errors.hookErrors).toBe(boundaries);
    expect(r.pools[1].errors.lastError).toBe("TypeError: epoch failed");
  });

  it("a hook that throws after writing half its storage does not stop the simulation", () => {
    let calls = 0;
    const halfway = (): Strategy => ({
      name: "half-written storage",
      computeSwap: (side, input, rx, ry, storage) => cpQuote(side, input, rx, ry, 20 + storage[0] / 10),
      afterSwap(_ev, storage) {
        calls++;
        storage[0] = calls % 200;
        if (calls % 3 === 0) throw new Error("every third");
      },
    });
    const r = run(halfway);
    expectSane(r);
    const p = r.pools[1];
    expect(calls).toBe(p.arbTrades + p.retailTrades);
    expect(p.errors.hookErrors).toBe(Math.floor(calls / 3));
  });

  it("constantProductFees that throws or returns bad fees is reported and the last good fees kept", () => {
    let n = 0;
    const flaky = (): Strategy => ({
      ...fixedFee(30),
      name: "flaky fees",
      constantProductFees(_storage, out) {
        n++;
        if (n === 1) {
          out[0] = 0.003;
          out[1] = 0.003;
          return;
        }
        if (n % 2 === 0) throw new Error("no fees today");
        out[0] = NaN;
        out[1] = 1.5;
      },
      afterSwap() {},
    });
    const r = run(flaky);
    const plain = run(() => ({ ...fixedFee(30), afterSwap() {} }));
    expectSane(r);
    const p = r.pools[1];
    expect(p.errors.feeErrors).toBe(n - 1);
    expect(p.errors.feeErrors).toBeGreaterThan(10);
    // The first (valid) declaration stays in force: the pool trades like a 30 bps pool.
    expect(others(r, 1)).toStrictEqual(others(plain, 1));
    expect({ ...p, name: "", errors: null }).toStrictEqual({ ...plain.pools[1], name: "", errors: null });
  });

  it("several misbehaving pools at once: the run completes with sane numbers", () => {
    const sources = [
      () => starter(),
      () => quoting("nan", () => NaN),
      () =>
        quoting("throws", () => {
          throw new Error("x");
        }),
      () => ({
        ...fixedFee(40),
        name: "bad hooks",
        afterSwap() {
          throw new Error("y");
        },
      }),
      () => fixedFee(25),
    ];
    const r = new Simulation(3, sources, { steps: 1000, epochLen: 250 }).run();
    expect(r.pools.length).toBe(6);
    for (const p of r.pools) {
      expect(Number.isFinite(p.edge)).toBe(true);
      expect(p.finalValue).toBeGreaterThan(0);
    }
    expect(r.pools[1].errors.invalidQuotes).toBeGreaterThan(0);
    expect(r.pools[2].errors.quoteErrors).toBeGreaterThan(0);
    expect(r.pools[3].errors.hookErrors).toBeGreaterThan(0);
    for (const i of [0, 4, 5]) {
      expect(r.pools[i].errors).toEqual({
        quoteErrors: 0,
        invalidQuotes: 0,
        hookErrors: 0,
        feeErrors: 0,
        lastError: "",
      });
      expect(r.pools[i].arbTrades + r.pools[i].retailTrades).toBeGreaterThan(0);
    }
    const weights = r.pools.slice(0, 5).map((p) => p.finalWeight);
    expect(Math.abs(weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
  });
});
