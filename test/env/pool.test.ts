/**
 * The pool owns its state (spec §2, §4): trades against the constant-product formula written
 * out here, the books `applyTrade` keeps (edge of a trade = value the pool receives minus value
 * it pays, at the fair price), `rebalanceTo`, the fee declaration's validation one bad clause at
 * a time, and that nothing outside the pool can write its state.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { Pool, type TradeKind } from "../../env/pool.js";
import { Simulation } from "../../env/simulation.js";
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "../../env/strategy.js";

/**
 * Constant product with fee f on the input, g = 1 - f: what the trader receives, from
 * (x - out)(y + g in) = x y on side 0 (pays Y for X) and (x + g in)(y - out) = x y on side 1.
 */
function cpOutput(side: Side, input: number, x: number, y: number, g: number): number {
  return side === 0 ? (x * g * input) / (y + g * input) : (y * g * input) / (x + g * input);
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe("a retail execution at pool level", () => {
  const cases: Array<{ bid: number; ask: number; x: number; y: number; S: number; side: Side; input: number }> = [
    { bid: 30, ask: 30, x: 100, y: 10000, S: 100, side: 0, input: 20 },
    { bid: 30, ask: 30, x: 100, y: 10000, S: 100, side: 1, input: 0.2 },
    { bid: 10, ask: 250, x: 37.5, y: 4100, S: 108, side: 0, input: 900 },
    { bid: 10, ask: 250, x: 37.5, y: 4100, S: 108, side: 1, input: 3 },
    { bid: 0, ask: 0, x: 2, y: 3, S: 1.4, side: 1, input: 1e-9 },
    { bid: 9999, ask: 5000, x: 1e6, y: 5e7, S: 51, side: 0, input: 1e9 },
  ];

  it.each(cases)("quotes and applies the closed form: %o", (c) => {
    const p = new Pool(fixedFee(c.bid, c.ask), c.x, c.y, 1);
    const g = 1 - (c.side === 0 ? c.bid : c.ask) / 10000;
    const out = p.quote(c.side, c.input);
    expect(rel(out, cpOutput(c.side, c.input, c.x, c.y, g))).toBeLessThan(1e-15);

    const edge = p.applyTrade(c.side, c.input, out, c.S, "retail");
    const expectedEdge = c.side === 0 ? c.input - out * c.S : c.input * c.S - out;
    expect(edge).toBe(expectedEdge);
    expect(p.reserveX).toBe(c.side === 0 ? c.x - out : c.x + c.input);
    expect(p.reserveY).toBe(c.side === 0 ? c.y + c.input : c.y - out);
    // The fee stays in the pool: the product never falls, and with the fee taken out of the
    // input the curve is exactly the old one.
    const gin = g * c.input;
    const kFeeless = c.side === 0 ? (c.x - out) * (c.y + gin) : (c.x + gin) * (c.y - out);
    expect(rel(kFeeless, c.x * c.y)).toBeLessThan(1e-12);
    expect(p.reserveX * p.reserveY).toBeGreaterThanOrEqual(c.x * c.y * (1 - 1e-15));
    expect(p.retailVolumeY).toBe(c.side === 0 ? c.input : out);
    expect([p.edge, p.epochEdge, p.retailEdge, p.arbEdge]).toEqual([edge, edge, edge, 0]);
    expect([p.retailTrades, p.arbTrades, p.epochTrades]).toEqual([1, 0, 1]);
  });

  it("every trade in a simulation is the closed form on the pool's reserves just before it", () => {
    const bid = 25;
    const ask = 45;
    const events: AfterSwapEvent[] = [];
    const base = fixedFee(bid, ask);
    const recording: Strategy = {
      ...base,
      afterSwap(ev) {
        events.push({ ...ev, competingSpotPrices: ev.competingSpotPrices.slice() });
      },
    };
    const steps = 400;
    // One epoch: no rebalance moves the reserves between trades.
    const sim = new Simulation(5, [() => recording], { steps, epochLen: steps });
    const r = sim.run();
    let x = sim.config.baseReserveX;
    let y = sim.config.baseReserveY;
    let retail = 0;
    for (const ev of events) {
      const g = 1 - (ev.side === 0 ? bid : ask) / 10000;
      expect(rel(ev.outputAmount, cpOutput(ev.side, ev.inputAmount, x, y, g))).toBeLessThan(1e-14);
      expect(ev.reserveX).toBe(ev.side === 0 ? x - ev.outputAmount : x + ev.inputAmount);
      expect(ev.reserveY).toBe(ev.side === 0 ? y + ev.inputAmount : y - ev.outputAmount);
      x = ev.reserveX;
      y = ev.reserveY;
      if (ev.flowCaptured > 0) retail++;
    }
    expect(retail).toBe(r.pools[0].retailTrades);
    expect(events.length - retail).toBe(r.pools[0].arbTrades);
    expect(retail).toBeGreaterThan(20);
    expect(r.pools[0].arbTrades).toBeGreaterThan(20);
  });
});

describe("applyTrade keeps the books", () => {
  it("edge = value received - value paid at the fair price, per side and per kind", () => {
    const p = new Pool(fixedFee(30), 100, 10000, 0.5);
    const trades: Array<[Side, number, number, number, TradeKind]> = [
      [0, 500, 4, 120, "arb"], // receives 500 Y, pays 4 X worth 480: +20
      [1, 2, 230, 110, "retail"], // receives 2 X worth 220, pays 230 Y: -10
      [1, 0.5, 40, 100, "arb"], // receives 50, pays 40: +10
      [0, 64, 0.5, 96, "retail"], // receives 64, pays 48: +16
    ];
    const expected = [20, -10, 10, 16];
    let x = 100;
    let y = 10000;
    trades.forEach(([side, input, output, S, kind], k) => {
      expect(p.applyTrade(side, input, output, S, kind)).toBe(expected[k]);
      x = side === 0 ? x - output : x + input;
      y = side === 0 ? y + input : y - output;
      expect([p.reserveX, p.reserveY]).toEqual([x, y]);
    });
    expect(p.edge).toBe(36);
    expect(p.epochEdge).toBe(36);
    expect(p.arbEdge).toBe(30);
    expect(p.retailEdge).toBe(6);
    expect([p.arbTrades, p.retailTrades, p.epochTrades]).toEqual([2, 2, 4]);
    // Retail volume counts the Y leg: 230 paid out on side 1, 64 received on side 0.
    expect(p.retailVolumeY).toBe(294);

    p.startEpoch();
    expect([p.epochEdge, p.epochTrades]).toEqual([0, 0]);
    expect([p.edge, p.arbEdge, p.retailEdge, p.arbTrades, p.retailTrades]).toEqual([36, 30, 6, 2, 2]);
    p.applyTrade(1, 1, 90, 100, "retail"); // +10
    expect([p.edge, p.epochEdge, p.epochTrades]).toEqual([46, 10, 1]);
  });

  it("refuses a trade the pool could not make, naming the problem, and leaves the pool as it was", () => {
    const bad: Array<[Side, number, number, number, RegExp]> = [
      [0, 0, 1, 100, /input/],
      [0, -5, 1, 100, /input/],
      [1, NaN, 1, 100, /input/],
      [1, Infinity, 1, 100, /input/],
      [0, 10, -1, 100, /output/],
      [0, 10, NaN, 100, /output/],
      [0, 10, 100, 100, /output.*paying reserve 100/], // side 0 pays X: all of it
      [1, 10, 10000, 100, /output.*paying reserve 10000/],
      [1, 1, 20000, 100, /output/],
      [0, 10, 1, 0, /price/],
      [0, 10, 0, NaN, /price/], // an output of 0 is a valid output: the price is what is wrong
      [0, 10, 1, -3, /price/],
      [1, 10, 1, NaN, /price/],
      [1, 10, 1, Infinity, /price/],
    ];
    for (const [side, input, output, S, message] of bad) {
      const p = new Pool(fixedFee(30), 100, 10000, 1);
      expect(() => p.applyTrade(side, input, output, S, "retail")).toThrow(message);
      expect([p.reserveX, p.reserveY, p.edge, p.retailTrades, p.epochTrades, p.retailVolumeY]).toEqual([
        100, 10000, 0, 0, 0, 0,
      ]);
    }
  });
});

describe("rebalanceTo", () => {
  it("moves the pool to the value at the fair price, keeps its spot, records weight and start value", () => {
    const p = new Pool(fixedFee(30), 80, 9200, 0.25, { epochStartValue: 17000 });
    expect(p.epochStartValue).toBe(17000);
    p.rebalanceTo(0.4, 25000, 104);
    expect(rel(p.reserveY / p.reserveX, 115)).toBeLessThan(1e-15);
    expect(rel(p.valueAt(104), 25000)).toBeLessThan(1e-15);
    expect(p.capitalWeight).toBe(0.4);
    expect(p.epochStartValue).toBe(25000);
  });

  it("refuses a weight, value or price that is not a finite non-negative number", () => {
    const bad: Array<[number, number, number, RegExp]> = [
      [-0.1, 100, 100, /weight/],
      [NaN, 100, 100, /weight/],
      [0.5, -1, 100, /value/],
      [0.5, Infinity, 100, /value/],
      [0.5, 100, 0, /price/],
      [0.5, 100, NaN, /price/],
      [Infinity, 100, 100, /weight/],
      [0.5, 100, Infinity, /price/],
    ];
    for (const [w, v, S, message] of bad) {
      const p = new Pool(fixedFee(30), 100, 10000, 0.5);
      expect(() => p.rebalanceTo(w, v, S)).toThrow(message);
      expect([p.reserveX, p.reserveY, p.capitalWeight]).toEqual([100, 10000, 0.5]);
    }
  });
});

describe("the fee declaration", () => {
  /** Declares whatever fees sit in storage slots 0 and 1 (f64), like a dynamic-fee strategy. */
  const fromStorage = (): Strategy => ({
    name: "fees from storage",
    computeSwap: () => 0,
    constantProductFees(storage, out) {
      const v = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
      out[0] = v.getFloat64(0, true);
      out[1] = v.getFloat64(8, true);
    },
  });

  function declare(p: Pool, f0: number, f1: number): void {
    const v = new DataView(p.storage.buffer, p.storage.byteOffset, p.storage.byteLength);
    v.setFloat64(0, f0, true);
    v.setFloat64(8, f1, true);
    p.syncStorage();
  }

  it("takes fees in [0, 1), bounds included as the interval says", () => {
    const p = new Pool(fromStorage(), 100, 10000, 1);
    expect([p.fee0, p.fee1, p.gamma0, p.gamma1]).toEqual([0, 0, 1, 1]); // zero storage: 0 and 0
    declare(p, 0.003, 0.005);
    expect([p.fee0, p.fee1, p.gamma0, p.gamma1]).toEqual([0.003, 0.005, 1 - 0.003, 1 - 0.005]);
    const below1 = 1 - 2 ** -53;
    declare(p, below1, 0);
    expect([p.fee0, p.fee1]).toEqual([below1, 0]);
    expect(p.feeErrors).toBe(0);
    expect(p.lastError).toBe("");
  });

  // One clause broken at a time; the other fee is a new, valid value, so keeping the old pair
  // shows that the declaration is refused as a whole.
  const clauses: Array<[string, number, number, string]> = [
    ["fee0 >= 0", -1e-12, 0.004, "fee0"],
    ["fee0 >= 0 (NaN)", NaN, 0.004, "fee0"],
    ["fee0 >= 0 (-Infinity)", -Infinity, 0.004, "fee0"],
    ["fee0 < 1", 1, 0.004, "fee0"],
    ["fee0 < 1 (Infinity)", Infinity, 0.004, "fee0"],
    ["fee1 >= 0", 0.004, -1e-12, "fee1"],
    ["fee1 >= 0 (NaN)", 0.004, NaN, "fee1"],
    ["fee1 < 1", 0.004, 1, "fee1"],
    ["fee1 < 1 (1.5)", 0.004, 1.5, "fee1"],
  ];

  it.each(clauses)("refuses a declaration that breaks %s alone, keeping the previous fees", (_, f0, f1, which) => {
    const p = new Pool(fromStorage(), 100, 10000, 1);
    declare(p, 0.003, 0.005);
    const before = p.quote(0, 50);
    declare(p, f0, f1);
    expect(p.feeErrors).toBe(1);
    expect(p.lastError).toContain(which);
    expect(p.lastError).toContain(String(which === "fee0" ? f0 : f1));
    expect([p.fee0, p.fee1, p.gamma0, p.gamma1]).toEqual([0.003, 0.005, 1 - 0.003, 1 - 0.005]);
    expect(p.quote(0, 50)).toBe(before);
    // A valid declaration afterwards is taken again.
    declare(p, 0.002, 0.001);
    expect([p.fee0, p.fee1, p.feeErrors]).toEqual([0.002, 0.001, 1]);
  });

  it("counts a declaration that throws, with its message, and keeps the previous fees", () => {
    let fail = false;
    const p = new Pool(
      {
        ...fixedFee(30),
        constantProductFees(_storage, out) {
          if (fail) throw new RangeError("no fees today");
          out[0] = 0.003;
          out[1] = 0.003;
        },
      },
      100,
      10000,
      1,
    );
    fail = true;
    p.syncStorage();
    expect(p.feeErrors).toBe(1);
    expect(p.lastError).toBe("RangeError: no fees today");
    expect([p.fee0, p.fee1]).toEqual([0.003, 0.003]);
  });
});

describe("only the pool writes its state", () => {
  const state = [
    "reserveX",
    "reserveY",
    "spot",
    "fee0",
    "fee1",
    "gamma0",
    "gamma1",
    "capitalWeight",
    "epochStartValue",
    "edge",
    "epochEdge",
    "arbEdge",
    "retailEdge",
    "arbTrades",
    "retailTrades",
    "epochTrades",
    "retailVolumeY",
    "quoteCalls",
    "quoteErrors",
    "invalidQuotes",
    "hookErrors",
    "feeErrors",
    "lastError",
    "firstError",
  ];

  it.each(state)("%s cannot be assigned from outside", (key) => {
    const p = new Pool(fixedFee(30), 100, 10000, 1);
    const before: unknown = Reflect.get(p, key);
    expect(Reflect.set(p, key, 12345)).toBe(false);
    expect(Reflect.get(p, key)).toStrictEqual(before);
  });

  it("refuses reserves that are not finite and positive", () => {
    for (const [x, y] of [
      [0, 1],
      [1, 0],
      [-1, 1],
      [NaN, 1],
      [1, Infinity],
      [Infinity, 1],
    ]) {
      expect(() => new Pool(fixedFee(30), x, y, 1)).toThrow(/reserve[XY] must be finite and > 0/);
    }
  });
});

describe("the simulation trades only through applyTrade", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("every arbitrage and retail trade of every pool is one applyTrade call of its kind", () => {
    const spy = vi.spyOn(Pool.prototype, "applyTrade");
    const r = new Simulation(9, [() => fixedFee(30), () => fixedFee(80)], { steps: 300, epochLen: 100 }).run();
    let arb = 0;
    let retail = 0;
    for (const call of spy.mock.calls) {
      if (call[4] === "arb") arb++;
      else retail++;
    }
    expect(arb).toBe(r.pools.reduce((s, p) => s + p.arbTrades, 0));
    expect(retail).toBe(r.pools.reduce((s, p) => s + p.retailTrades, 0));
    expect(arb).toBeGreaterThan(0);
    expect(retail).toBeGreaterThan(0);
    for (const p of r.pools) expect(rel(p.arbEdge + p.retailEdge, p.edge)).toBeLessThan(1e-9);
  });
});

describe("edge cases of the accepted ranges", () => {
  it("takes an output of 0, a weight of 0 and a value of 0, which the ranges include", () => {
    const p = new Pool(fixedFee(30), 100, 10000, 0.5);
    // Receives 5 Y and pays nothing: edge 5 at any price.
    expect(p.applyTrade(0, 5, 0, 100, "arb")).toBe(5);
    expect([p.reserveX, p.reserveY, p.arbTrades]).toEqual([100, 10005, 1]);
    p.rebalanceTo(0, 0, 100);
    expect([p.capitalWeight, p.epochStartValue, p.reserveX, p.reserveY]).toEqual([0, 0, 0, 0]);
    // Emptied, it has no spot of its own: the next weight brings it back at the fair price,
    // half the value in each token (spec §4.3): y = 3000 / 2, x = y / 120.
    p.rebalanceTo(0.3, 3000, 120);
    expect([p.reserveX, p.reserveY, p.capitalWeight]).toEqual([1500 / 120, 1500, 0.3]);
  });

  it("reads its options and the strategy's optional parts", () => {
    const plain = new Pool(fixedFee(30), 100, 10000, 0.5);
    expect([plain.oracle, plain.constantProduct, plain.hasAfterSwap, plain.hasEpochHook]).toEqual([
      false,
      true,
      false,
      false,
    ]);
    expect(plain.epochStartValue).toBe(0);
    const hooked = new Pool(
      { name: "hooks", computeSwap: () => 0, afterSwap() {}, onEpochBoundary() {} },
      100,
      10000,
      0.5,
      { oracle: true },
    );
    expect([hooked.oracle, hooked.constantProduct, hooked.hasAfterSwap, hooked.hasEpochHook]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    const epochOnly = new Pool({ name: "epoch", computeSwap: () => 0, onEpochBoundary() {} }, 1, 1, 1);
    expect([epochOnly.hasAfterSwap, epochOnly.hasEpochHook]).toEqual([false, true]);
    const swapOnly = new Pool({ name: "swap", computeSwap: () => 0, afterSwap() {} }, 1, 1, 1);
    expect([swapOnly.hasAfterSwap, swapOnly.hasEpochHook]).toEqual([true, false]);
  });

  it("spot is y / x and valueAt is x * S + y", () => {
    const p = new Pool(fixedFee(30), 80, 9200, 1);
    expect(p.spot).toBe(115);
    expect(p.valueAt(100)).toBe(17200);
  });

  it("recentre moves the spot to the fair price keeping k = x * y", () => {
    const p = new Pool(fixedFee(30), 100, 10000, 1);
    p.recentre(400); // k = 1e6: x = sqrt(1e6 / 400) = 50, y = sqrt(1e6 * 400) = 20000
    expect([p.reserveX, p.reserveY]).toEqual([50, 20000]);
  });
});

describe("a black-box quote (spec §2 containment)", () => {
  /** A curve that returns `answer(side, input)` and records the inputs it was asked about. */
  function box(answer: (side: Side, input: number) => unknown, asked: number[] = []): Strategy {
    return {
      name: "box",
      computeSwap(side, input) {
        asked.push(input);
        return answer(side, input) as number;
      },
    };
  }

  it("passes a valid answer through and counts the call; a constant-product pool quotes without calling", () => {
    const asked: number[] = [];
    const p = new Pool(
      box((side) => (side === 0 ? 99 : 9999), asked),
      100,
      10000,
      1,
    );
    // Just below the paying reserve on each side: x = 100 pays on side 0, y = 10000 on side 1.
    expect(p.quote(0, 3)).toBe(99);
    expect(p.quote(1, 4)).toBe(9999);
    expect([p.quoteCalls, p.invalidQuotes, p.quoteErrors, p.feeErrors]).toEqual([2, 0, 0, 0]);
    expect(asked).toEqual([3, 4]);

    // The declared fees decide, never computeSwap (which here disagrees with them).
    let called = 0;
    const declared = new Pool(
      {
        ...fixedFee(30),
        computeSwap: () => {
          called++;
          return 1;
        },
      },
      100,
      10000,
      1,
    );
    expect(declared.quote(0, 50)).toBe((100 * 0.997 * 50) / (10000 + 0.997 * 50));
    expect([called, declared.quoteCalls]).toEqual([0, 0]);
  });

  it("never asks about an input that is not positive, and quotes it 0", () => {
    const asked: number[] = [];
    const p = new Pool(
      box(() => 1, asked),
      100,
      10000,
      1,
    );
    for (const input of [0, -0, -1, NaN, -Infinity]) {
      expect(p.quote(0, input)).toBe(0);
      expect(p.quote(1, input)).toBe(0);
    }
    expect(asked).toEqual([]);
    expect(p.quoteCalls).toBe(0);
    const cp = new Pool(fixedFee(30), 100, 10000, 1);
    expect([cp.quote(0, 0), cp.quote(1, -5), cp.quote(0, NaN)]).toEqual([0, 0, 0]);
  });

  it("an output of 0 is valid; NaN, negative, infinite, non-numbers and >= the paying reserve count as 0", () => {
    // Side 0 pays X (reserve 100), side 1 pays Y (reserve 10000): 150 is valid only on side 1.
    const cases: Array<[Side, unknown, number]> = [
      [0, 0, 0],
      [1, 0, 0],
      [1, 150, 0],
      [0, 150, 1],
      [0, 100, 1],
      [1, 10000, 1],
      [0, 99.99999999999999, 0],
      [0, NaN, 1],
      [0, -1e-300, 1],
      [1, -5, 1],
      [1, Infinity, 1],
      [0, "12", 1],
      [1, undefined, 1],
    ];
    for (const [side, answer, invalid] of cases) {
      const p = new Pool(
        box(() => answer),
        100,
        10000,
        1,
      );
      const out = p.quote(side, 1);
      expect(out, `side ${side} answer ${String(answer)}`).toBe(invalid ? 0 : answer);
      expect([p.quoteCalls, p.invalidQuotes, p.quoteErrors]).toEqual([1, invalid, 0]);
    }
  });

  it("a quote that throws counts as 0 and names the error; a thrown non-Error is named as it is", () => {
    const p = new Pool(
      box(() => {
        throw new TypeError("bad curve");
      }),
      100,
      10000,
      1,
    );
    expect(p.quote(0, 1)).toBe(0);
    expect([p.quoteCalls, p.quoteErrors, p.invalidQuotes]).toEqual([1, 1, 0]);
    expect(p.lastError).toBe("TypeError: bad curve");
    const q = new Pool(
      box(() => {
        throw "plain string";
      }),
      100,
      10000,
      1,
    );
    expect(q.quote(1, 1)).toBe(0);
    expect(q.lastError).toBe("plain string");
    // An Error is named by its class and message, whatever its own toString says.
    const disguised = Object.assign(new RangeError("out of range"), { toString: () => "all fine" });
    const r = new Pool(
      box(() => {
        throw disguised;
      }),
      100,
      10000,
      1,
    );
    expect(r.quote(0, 1)).toBe(0);
    expect(r.lastError).toBe("RangeError: out of range");
  });

  it("a black box never has its (absent) fee declaration read", () => {
    const p = new Pool(
      box(() => 1),
      100,
      10000,
      1,
    );
    p.syncStorage();
    expect([p.feeErrors, p.lastError, p.gamma0, p.gamma1]).toEqual([0, "", 1, 1]);
  });

  it("quotes start from the hooks' storage: a quote's writes reach neither storage nor the next quote", () => {
    const seen: number[] = [];
    const p = new Pool(
      {
        name: "writer",
        computeSwap(_side, _input, _x, _y, storage) {
          seen.push(storage[0]);
          storage[0] = 77;
          return 1;
        },
      },
      100,
      10000,
      1,
    );
    p.quote(0, 1);
    p.quote(0, 1);
    expect(seen).toEqual([0, 0]);
    expect(p.storage[0]).toBe(0);
    p.storage[0] = 5;
    p.quote(0, 1);
    expect(seen).toEqual([0, 0, 5]);
  });
});

describe("hooks", () => {
  const event: AfterSwapEvent = {
    side: 0,
    inputAmount: 1,
    outputAmount: 0.5,
    reserveX: 100,
    reserveY: 10000,
    simStep: 0,
    epochStep: 0,
    epochNumber: 0,
    nStrategies: 1,
    strategyIndex: 0,
    flowCaptured: 1,
    capitalWeight: 1,
    competingSpotPrices: new Float64Array(0),
  };
  const epochEvent = {
    epochNumber: 0,
    newReserveX: 100,
    newReserveY: 10000,
    epochEdge: 0,
    cumulativeEdge: 0,
    capitalWeight: 1,
  } as Parameters<NonNullable<Strategy["onEpochBoundary"]>>[0];

  /** Fees in storage byte 0 (bps) and a hook that writes `bps` there, then maybe throws. */
  function hooked(bps: number, fail: string | null): Strategy {
    const write = (storage: Uint8Array): void => {
      storage[0] = bps;
      if (fail !== null) throw new Error(fail);
    };
    return {
      name: "hooked",
      computeSwap: () => 0,
      constantProductFees(storage, out) {
        out[0] = storage[0] / 10000;
        out[1] = storage[0] / 10000;
      },
      afterSwap: (_ev, storage) => write(storage),
      onEpochBoundary: (_ev, storage) => write(storage),
    };
  }

  for (const which of ["afterSwap", "onEpochBoundary"] as const) {
    const call = (p: Pool): void => (which === "afterSwap" ? p.callAfterSwap(event) : p.callEpochBoundary(epochEvent));

    it(`${which}: its storage writes reach the next quote and the declared fees`, () => {
      const p = new Pool(hooked(40, null), 100, 10000, 1);
      expect(p.fee0).toBe(0);
      call(p);
      expect([p.storage[0], p.quoteStorage[0], p.fee0, p.fee1, p.hookErrors]).toEqual([40, 40, 0.004, 0.004, 0]);
    });

    it(`${which}: a throw is counted and named, and what it wrote before throwing still counts`, () => {
      const p = new Pool(hooked(25, "hook failed"), 100, 10000, 1);
      call(p);
      call(p);
      expect(p.hookErrors).toBe(2);
      expect(p.lastError).toBe("Error: hook failed");
      expect([p.quoteStorage[0], p.fee0]).toEqual([25, 0.0025]);
    });
  }
});

describe("the first contained error (spec §2.9, docs/sandbox.md)", () => {
  // The documented form: "<call>: <what happened>", e.g.
  // "computeSwap(side=1, inputAmount=2.5, reserveX=98.1, reserveY=10190): returned NaN (counted as 0)";
  // recorded once, on the first error of any kind, and kept while later errors replace lastError.
  const event = (simStep: number, side: Side) => ({ simStep, side }) as unknown as AfterSwapEvent;

  it("a quote that throws, then one that returns a bad value: the first is kept", () => {
    let calls = 0;
    const p = new Pool(
      {
        name: "bad quotes",
        computeSwap: () => {
          if (calls++ === 0) throw new RangeError("boom");
          return NaN;
        },
      },
      98.1,
      10190,
      1,
    );
    expect(p.firstError).toBe("");
    expect(p.quote(1, 2.5)).toBe(0);
    const first = "computeSwap(side=1, inputAmount=2.5, reserveX=98.1, reserveY=10190): threw RangeError: boom";
    expect(p.firstError).toBe(first);
    expect(p.quote(0, 3)).toBe(0);
    expect([p.quoteErrors, p.invalidQuotes]).toEqual([1, 1]);
    expect(p.firstError).toBe(first);
  });

  it("a bad value first: the documented example, word for word", () => {
    const p = new Pool({ name: "nan", computeSwap: () => NaN }, 98.1, 10190, 1);
    p.quote(1, 2.5);
    expect(p.firstError).toBe(
      "computeSwap(side=1, inputAmount=2.5, reserveX=98.1, reserveY=10190): returned NaN (counted as 0)",
    );
  });

  it("hooks and fee declarations name their call", () => {
    const hooks = (which: "after" | "epoch"): Strategy => ({
      ...fixedFee(30),
      afterSwap: () => {
        if (which === "after") throw new TypeError("after failed");
      },
      onEpochBoundary: () => {
        if (which === "epoch") throw new TypeError("epoch failed");
      },
    });
    const a = new Pool(hooks("after"), 100, 10000, 1);
    a.callEpochBoundary({ epochNumber: 3 } as unknown as EpochEvent);
    expect(a.firstError).toBe("");
    a.callAfterSwap(event(7, 1));
    a.callAfterSwap(event(8, 0));
    expect(a.firstError).toBe("afterSwap(simStep=7, side=1): threw TypeError: after failed");
    const e = new Pool(hooks("epoch"), 100, 10000, 1);
    e.callEpochBoundary({ epochNumber: 3 } as unknown as EpochEvent);
    e.callAfterSwap(event(9, 0));
    expect(e.firstError).toBe("onEpochBoundary(epochNumber=3): threw TypeError: epoch failed");

    let mode: "ok" | "throw" | "bad" = "ok";
    const fees = (): Strategy => ({
      ...fixedFee(30),
      constantProductFees(_storage, out) {
        if (mode === "throw") throw new RangeError("no fees today");
        out[0] = 0.003;
        out[1] = mode === "bad" ? 1.5 : 0.003;
      },
    });
    const t = new Pool(fees(), 100, 10000, 1);
    mode = "throw";
    t.syncStorage();
    mode = "bad";
    t.syncStorage();
    expect(t.feeErrors).toBe(2);
    expect(t.firstError).toBe("constantProductFees: threw RangeError: no fees today");
    mode = "ok";
    const b = new Pool(fees(), 100, 10000, 1);
    mode = "bad";
    b.syncStorage();
    expect(b.firstError).toBe("constantProductFees: gave fee1 = 1.5, outside [0, 1)");
  });
});
