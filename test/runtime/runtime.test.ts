/**
 * The policy runtime's modules (runtime/*.ts) against closed forms and hand-computed values.
 * runtime/detmath.ts has its own file; the engine's and the exports' bit-for-bit agreement is
 * test/agents/export.test.ts and the golden check.
 */
import { describe, expect, it } from "vitest";
import { detLog } from "../../runtime/detmath.js";
import {
  INITIAL_FLOW_EMA,
  INITIAL_STEP_VOL,
  INITIAL_VOL,
  initialFeatures,
  updateExtendedEpoch,
  updateExtendedFeatures,
  updateFeatures,
  viewReadExtended,
  viewReadFeatures,
  wireAmount,
} from "../../runtime/features.js";
import {
  actionToFeeBps,
  extendedObservation,
  MAX_POOLS,
  OBSERVATION_SIZE,
  observationFromFeatures,
} from "../../runtime/mapping.js";
import { type DenseLayer, mlpForward, mlpNormalize, mlpWeights } from "../../runtime/mlp.js";
import { policyAgent, policyFees } from "../../runtime/policy.js";
import { agentHooks, type AgentSwapEvent, storedFeeFractions } from "../../runtime/schedule.js";
import {
  AGENT_SLOT,
  SLOT,
  StorageViews,
  viewReadF64,
  viewReadFeeBps,
  viewReadU64,
  viewWriteFeeWad,
  viewWriteU64,
} from "../../runtime/slots.js";

function storage(): { bytes: Uint8Array; v: DataView } {
  const bytes = new Uint8Array(1024);
  return { bytes, v: new DataView(bytes.buffer) };
}

const u64 = (v: DataView, slot: number): bigint => v.getBigUint64(slot * 8, true);

function swapEvent(over: Partial<AgentSwapEvent> = {}): AgentSwapEvent {
  return {
    reserveX: 100,
    reserveY: 10000,
    flowCaptured: 0.25,
    side: 0,
    inputAmount: 1,
    competingSpotPrices: new Float64Array(8).fill(NaN),
    simStep: 0,
    epochStep: 0,
    nStrategies: 3,
    capitalWeight: 0.4,
    ...over,
  };
}

describe("runtime/slots.ts", () => {
  it("writes u64 slots as BigInt would: floor, clamp to [0, 2^64), saturate", () => {
    const { v } = storage();
    const cases: [number, bigint][] = [
      [0, 0n],
      [1.9, 1n],
      [-5, 0n],
      [NaN, 0n],
      [2 ** 32, 2n ** 32n],
      [2 ** 53 + 2, 2n ** 53n + 2n],
      [3e15 + 0.5, 3000000000000000n],
      [2 ** 64, 2n ** 64n - 1n],
      [Infinity, 2n ** 64n - 1n],
    ];
    for (const [x, want] of cases) {
      viewWriteU64(v, 3, x);
      expect(u64(v, 3), String(x)).toBe(want);
      expect(viewReadU64(v, 3)).toBe(Number(want));
    }
  });

  it("stores fees exactly as floor(bps * 1e14) WAD and reads them back in bps", () => {
    const { v } = storage();
    for (const [bps, wad] of [
      [30, 3_000_000_000_000_000n],
      [0.5, 50_000_000_000_000n],
      [250, 25_000_000_000_000_000n],
      [-1, 0n],
      [NaN, 0n],
      [Infinity, 0n],
    ] as [number, bigint][]) {
      viewWriteFeeWad(v, SLOT.fee1Wad, bps);
      expect(u64(v, SLOT.fee1Wad), String(bps)).toBe(wad);
      expect(viewReadFeeBps(v, SLOT.fee1Wad)).toBe(Number(wad) / 1e14);
    }
  });

  it("caches one view per storage array", () => {
    const views = new StorageViews();
    const a = new Uint8Array(1024);
    const b = new Uint8Array(2048).subarray(1024);
    const va = views.of(a);
    expect(views.of(a)).toBe(va);
    const vb = views.of(b);
    expect(vb).not.toBe(va);
    expect(vb.byteOffset).toBe(1024);
    expect(vb.byteLength).toBe(1024);
  });

  it("gives every slot its own 8 bytes", () => {
    const all = [...Object.values(SLOT), ...Object.values(AGENT_SLOT)];
    expect(new Set(all).size).toBe(all.length);
    expect(Math.max(...all)).toBeLessThan(128);
  });
});

describe("runtime/features.ts", () => {
  it("wireAmount reads an amount back as the native ABI carries it: floor(v * 1e9) nano, as u64", () => {
    // The truth is integer arithmetic on the u64 the wire holds (spec §3.4): the nano count as a
    // BigInt, clamped to u64, divided back by 1e9; no float scaling shared with the module.
    const U64_MAX = (1n << 64n) - 1n;
    const viaWire = (v: number): number => {
      if (!(v > 0)) return 0; // the ABI has no negative or NaN amount: 0
      const nano = BigInt(Math.floor(v * 1e9));
      return Number(nano > U64_MAX ? U64_MAX : nano) / 1e9;
    };
    for (const v of [1.5, 1.234567891234, 1e-9, 3e-9, 0.5e-9, 100, 1e10, 1.8e10]) {
      expect(wireAmount(v), String(v)).toBe(viaWire(v));
    }
    expect(wireAmount(1.234567891234)).toBe(1.234567891); // the sub-nano part is gone
    expect(wireAmount(0.5e-9)).toBe(0); // below one nano
    for (const v of [0, -0, -1, -1e-12, NaN, -Infinity]) expect(wireAmount(v), String(v)).toBe(0);
    // Above 2^64 - 1 nano (1.8446744e10) the wire saturates; as a double that is 2^64 / 1e9.
    for (const v of [2e10, 1e300, Infinity]) expect(wireAmount(v), String(v)).toBe(2 ** 64 / 1e9);
    expect(wireAmount(2e10)).toBe(viaWire(2e10));
  });

  it("starts from the initial estimates, then follows the EMAs of |log spot change| and flow", () => {
    const { v } = storage();
    updateFeatures(v, { reserveX: 100, reserveY: 10000, flowCaptured: 0.2 });
    expect(viewReadF64(v, SLOT.lastSpot)).toBe(100);
    expect(viewReadF64(v, SLOT.volatility)).toBe(0.95 * INITIAL_VOL); // log(1) = 0
    // Flow is read as the native ABI carries it, an f32 (spec §3.4).
    expect(viewReadF64(v, SLOT.flowEma)).toBe(0.1 * Math.fround(0.2) + 0.9 * INITIAL_FLOW_EMA);
    expect(u64(v, SLOT.tradesThisEpoch)).toBe(1n);
    updateFeatures(v, { reserveX: 50, reserveY: 10000, flowCaptured: 0 }); // spot doubles
    expect(viewReadF64(v, SLOT.volatility)).toBe(0.05 * Math.abs(detLog(2)) + 0.95 * (0.95 * INITIAL_VOL));
    expect(viewReadF64(v, SLOT.volatility)).toBeCloseTo(0.05 * Math.LN2 + 0.95 * 0.95 * INITIAL_VOL, 15);
    expect(viewReadF64(v, SLOT.flowEma)).toBe(0.9 * (0.1 * Math.fround(0.2) + 0.9 * INITIAL_FLOW_EMA));
    expect(viewReadF64(v, SLOT.lastSpot)).toBe(200);
    expect(u64(v, SLOT.tradesThisEpoch)).toBe(2n);
  });

  it("reads the fallback until a trade and an event have reported", () => {
    const { v } = storage();
    const fallback = initialFeatures(4);
    expect(fallback).toEqual({
      sigmaHat: INITIAL_VOL,
      flowEma: INITIAL_FLOW_EMA,
      capitalWeight: 0.25,
      epochStep: 0,
      nPools: 5,
    });
    expect(viewReadFeatures(v, fallback)).toEqual(fallback);
    v.setFloat64(SLOT.lastSpot * 8, 100, true);
    v.setFloat64(SLOT.volatility * 8, 0.01, true);
    v.setFloat64(SLOT.flowEma * 8, 0.3, true);
    v.setFloat64(SLOT.capitalWeight * 8, 0.6, true);
    v.setFloat64(AGENT_SLOT.epochStep * 8, 42, true);
    expect(viewReadFeatures(v, fallback)).toEqual({ ...fallback, sigmaHat: 0.01, flowEma: 0.3, epochStep: 42 });
    v.setFloat64(AGENT_SLOT.nPools * 8, 3, true);
    expect(viewReadFeatures(v, fallback)).toEqual({
      sigmaHat: 0.01,
      flowEma: 0.3,
      capitalWeight: 0.6,
      epochStep: 42,
      nPools: 3,
    });
  });
});

describe("runtime/mapping.ts", () => {
  it("scales and clips the features into the observation space", () => {
    const f = { sigmaHat: 0.004, flowEma: 0.5, capitalWeight: 0.25, epochStep: 250, nPools: 3 };
    expect(Array.from(observationFromFeatures(f, 1000))).toEqual([
      Math.fround(0.4),
      0.5,
      0.25,
      0.25,
      Math.fround(3 / MAX_POOLS),
    ]);
    const wild = { sigmaHat: 1, flowEma: -2, capitalWeight: 7, epochStep: 5000, nPools: 40 };
    expect(Array.from(observationFromFeatures(wild, 1000))).toEqual([10, 0, 1, 1, 1]);
  });

  it("maps [-1, 1] linearly onto the fee range and clips outside it", () => {
    expect(actionToFeeBps(-1, 10, 110)).toBe(10);
    expect(actionToFeeBps(0, 10, 110)).toBe(60);
    expect(actionToFeeBps(0.5, 10, 110)).toBe(85);
    expect(actionToFeeBps(1, 10, 110)).toBe(110);
    expect(actionToFeeBps(-3, 10, 110)).toBe(10);
    expect(actionToFeeBps(9, 10, 110)).toBe(110);
  });
});

/** 2 -> 2 (tanh) -> 1 (linear) with weights chosen so the pass can be done by hand. */
const LAYERS: DenseLayer[] = [
  { inputs: 2, outputs: 2, activation: "tanh", kernel: [1, 0.5, -1, 0.25], bias: [0, 0.5] },
  { inputs: 2, outputs: 1, activation: "linear", kernel: [2, -4], bias: [1] },
];

describe("runtime/mlp.ts", () => {
  it("normalises, clips and runs the layers in order", () => {
    // var 4 - eps: inverse std 0.5 exactly; clip 1.5.
    const w = mlpWeights(LAYERS, [1, -1], [4 - 1e-8, 1 - 1e-8], 1.5);
    const out = new Float64Array(1);
    // x = [(3 - 1) / 2, clip((0 + 1) / 1)] = [1, 1]; h = tanh([1 - 1, 0.5 + 0.25 + 0.5]) = [0, tanh(1.25)].
    expect(mlpForward(w, [3, 0], out)).toBe(out);
    expect(out[0]).toBeCloseTo(1 - 4 * Math.tanh(1.25), 15);
    // x = [clip(10 / 2) = 1.5, clip(-9) = -1.5]
    mlpForward(w, [11, -10], out);
    expect(out[0]).toBeCloseTo(1 + 2 * Math.tanh(1.5 + 1.5) - 4 * Math.tanh(0.5 + 0.75 - 0.375), 14);
  });

  it("applies relu and reuses its buffers", () => {
    const relu = LAYERS.map((l, i) => ({ ...l, activation: i === 0 ? ("relu" as const) : l.activation }));
    const w = mlpWeights(relu, [0, 0], [1 - 1e-8, 1 - 1e-8], 10);
    const out = new Float64Array(1);
    mlpForward(w, [-2, 1], out); // h = relu([-2 - 1, -1 + 0.25 + 0.5]) = [0, 0]
    expect(out[0]).toBe(1);
    const buffers = w.buffers.slice();
    mlpForward(w, [2, 0], out); // h = [2, 1.5]
    expect(out[0]).toBe(1 + 4 - 6);
    expect(w.buffers).toEqual(buffers);
    expect(w.buffers[0]).toBe(buffers[0]);
  });

  it("writes only the network's own entries of a longer output buffer", () => {
    const w = mlpWeights(LAYERS, [1, -1], [4 - 1e-8, 1 - 1e-8], 1.5);
    // Two inputs, one output: entry 2 of `norm` and entry 1 of `out` are the caller's.
    const norm = Float64Array.from([9, 9, 7]);
    expect(Array.from(mlpNormalize(w, [3, 0], norm))).toEqual([1, 1, 7]);
    const out = Float64Array.from([9, 7]);
    mlpForward(w, [3, 0], out);
    expect(out[0]).toBeCloseTo(1 - 4 * Math.tanh(1.25), 15);
    expect(out[1]).toBe(7);
  });

  it("gives relu(-0) = +0, as the Rust export's `if s > 0.0 { s } else { 0.0 }` does", () => {
    // s = bias -0 + x * 0 with x = -1: -0 + -0 = -0; relu must still give +0 (bit-identical exports).
    const layers: DenseLayer[] = [{ inputs: 1, outputs: 1, activation: "relu", kernel: [0], bias: [-0] }];
    const w = mlpWeights(layers, [0], [1 - 1e-8], 10);
    const out = Float64Array.from([5]);
    mlpForward(w, [-1], out);
    expect(Object.is(out[0], 0)).toBe(true);
  });
});

describe("runtime/schedule.ts", () => {
  it("decides at the interval in afterSwap and at every epoch boundary", () => {
    const calls: [string, number][] = [];
    const hooks = agentHooks({
      name: "t",
      decisionInterval: 10,
      epochLen: 100,
      initialFeesBps: null,
      extended: false,
      stepVol: false,
      decide: (kind, step) => calls.push([kind, step]),
    });
    const { bytes, v } = storage();
    for (const step of [0, 5, 9, 10, 15, 19, 20]) hooks.afterSwap(swapEvent({ simStep: step, epochStep: step }), bytes);
    expect(calls).toEqual([
      ["swap", 10],
      ["swap", 20],
    ]);
    hooks.onEpochBoundary({ epochNumber: 2, epochEdge: 0, capitalWeight: 0.7 }, bytes);
    expect(calls.at(-1)).toEqual(["epoch", 299]);
    expect(viewReadF64(v, AGENT_SLOT.lastDecisionStep)).toBe(299);
    expect(viewReadF64(v, AGENT_SLOT.epochStep)).toBe(0);
    expect(u64(v, SLOT.tradesThisEpoch)).toBe(0n);
    expect(u64(v, SLOT.epochNumber)).toBe(2n);
    expect(viewReadF64(v, SLOT.capitalWeight)).toBe(Math.fround(0.7)); // an f32 on the wire (spec §3.4)
  });

  it("quotes the initial fees, as stored, until the first hook writes them", () => {
    const hooks = agentHooks({
      name: "t",
      decisionInterval: 1e9,
      epochLen: 100,
      initialFeesBps: [30, 45.5],
      extended: false,
      stepVol: false,
      decide: () => {},
    });
    const { bytes, v } = storage();
    const fees = new Float64Array(2);
    hooks.constantProductFees(bytes, fees);
    expect(Array.from(fees)).toEqual(storedFeeFractions([30, 45.5]));
    expect(Array.from(fees)).toEqual([30e14 / 1e14 / 10000, 45.5e14 / 1e14 / 10000]);
    expect(u64(v, AGENT_SLOT.feesSet)).toBe(0n);
    // Constant product with the fee on the input: side 0 pays Y, receives X.
    const gi = (1 - fees[0]) * 50;
    expect(hooks.computeSwap(0, 50, 100, 10000, bytes)).toBe((100 * gi) / (10000 + gi));
    hooks.afterSwap(swapEvent({ simStep: 1 }), bytes);
    expect(u64(v, AGENT_SLOT.feesSet)).toBe(1n);
    expect(u64(v, SLOT.fee1Wad)).toBe(4_550_000_000_000_000n);
  });
});

describe("runtime/policy.ts", () => {
  // 5 -> 2 linear: action = [obs[1] - 1, 0.5]; identity normalisation.
  const layers: DenseLayer[] = [
    { inputs: 5, outputs: 2, activation: "linear", kernel: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0], bias: [-1, 0.5] },
  ];
  const deployment = {
    name: "p",
    mlp: mlpWeights(layers, [0, 0, 0, 0, 0], [1 - 1e-8, 1 - 1e-8, 1 - 1e-8, 1 - 1e-8, 1 - 1e-8], 10),
    decisionInterval: 5,
    trainEpochLen: 100,
    feeMinBps: 0,
    feeMaxBps: 200,
    observation: "seed" as const,
  };

  it("maps features through the network to fees", () => {
    const f = { sigmaHat: 0, flowEma: 0.5, capitalWeight: 0, epochStep: 0, nPools: 2 };
    // action [-0.5, 0.5] -> [50, 150] bps
    expect(
      policyFees(
        deployment,
        f,
        viewReadExtended(new DataView(new ArrayBuffer(1024))),
        INITIAL_STEP_VOL,
        new Float32Array(5),
        new Float64Array(2),
      ),
    ).toEqual([50, 150]);
  });

  // 17 -> 2 linear on the extended observation: action = [obs[8] / 5, obs[5] / 2], the spot against
  // the normalizer (x100, clipped to +-5) and the last trade's side; fee = 100 + 100 * action.
  const extKernel = new Array<number>(34).fill(0);
  extKernel[8 * 2 + 0] = 0.2;
  extKernel[5 * 2 + 1] = 0.5;
  const extended = {
    ...deployment,
    mlp: mlpWeights(
      [{ inputs: 17, outputs: 2, activation: "linear", kernel: extKernel, bias: [0, 0] }],
      new Array<number>(17).fill(0),
      new Array<number>(17).fill(1 - 1e-8),
      10,
    ),
    observation: "extended" as const,
  };
  /** A side-1 trade at spot 100 against a normalizer at 99 (3 pools), at step 5. */
  const extTrade = (): AgentSwapEvent =>
    swapEvent({ simStep: 5, side: 1, competingSpotPrices: Float64Array.from([101, 99, NaN, NaN, NaN, NaN, NaN, NaN]) });

  it("a policy on the extended observation reads the extended features; one on the seed's writes none", () => {
    const x = viewReadExtended(new DataView(new ArrayBuffer(1024)));
    const f = { sigmaHat: 0, flowEma: 0.5, capitalWeight: 0, epochStep: 0, nPools: 3 };
    const fees = policyFees(
      extended,
      f,
      { ...x, spotVsNormalizer: 0.01, lastSide: -1 },
      INITIAL_STEP_VOL,
      new Float32Array(17),
      new Float64Array(2),
    );
    expect(fees[0]).toBeCloseTo(120, 10); // obs[8] = 1
    expect(fees[1]).toBe(50); // obs[5] = -1
    // Deployed: the reset decision sees no trade (both actions 0), the decision at step 5 the trade.
    const hooks = policyAgent(extended, 3, 100);
    const { bytes, v } = storage();
    const out = new Float64Array(2);
    hooks.constantProductFees(bytes, out);
    expect(Array.from(out)).toEqual([0.01, 0.01]);
    hooks.afterSwap(extTrade(), bytes);
    const obs8 = Math.fround(Math.log(100 / 99) * 100);
    expect(viewReadFeeBps(v, SLOT.fee0Wad)).toBeCloseTo(100 + 100 * 0.2 * obs8, 9);
    expect(viewReadFeeBps(v, SLOT.fee1Wad)).toBeCloseTo(50, 9);
    // The seed policy's hooks leave the extended slots (12 and up) as they were: zero.
    const seedHooks = policyAgent(deployment, 3, 100);
    const seed = storage();
    seedHooks.afterSwap(extTrade(), seed.bytes);
    expect(u64(seed.v, SLOT.fee0Wad)).not.toBe(0n); // it decided
    expect(seed.bytes.subarray(8 * 12).every((b) => b === 0)).toBe(true);
  });

  it("quotes the reset decision and writes each decision's fees", () => {
    const hooks = policyAgent(deployment, 2, 100);
    const { bytes, v } = storage();
    const fees = new Float64Array(2);
    hooks.constantProductFees(bytes, fees);
    // Reset: flowEma 0.5 -> [50, 150] bps.
    expect(Array.from(fees)).toEqual([0.005, 0.015]);
    hooks.afterSwap(swapEvent({ simStep: 5, flowCaptured: 1 }), bytes);
    // flowEma = 0.1 + 0.45 = 0.55 (as float32) -> action[0] = 0.55 - 1.
    const bps = 100 * (Math.fround(0.1 * 1 + 0.9 * 0.5) - 1 + 1);
    expect(u64(v, SLOT.fee0Wad)).toBe(BigInt(Math.floor(bps * 1e14)));
    expect(u64(v, SLOT.fee1Wad)).toBe(15_000_000_000_000_000n);
  });
});

describe("runtime/features.ts and mapping.ts: the extended observation (spec §6.3)", () => {
  /** Slot k's f64, read at its byte offset 8k (spec §3.6), not through the runtime's helpers. */
  const f64 = (bytes: Uint8Array, slot: number): number => new DataView(bytes.buffer).getFloat64(8 * slot, true);
  const SLOTS = { side: 12, retail: 13, size: 14, norm: 15, min: 16, max: 17, last: 18, prev: 19, prevDecision: 20 };
  const SLOTS2 = { ema0: 21, ema1: 22, epochEdge: 23, seen: 24 };

  function trade(over: Partial<AgentSwapEvent>): AgentSwapEvent {
    // 3 pools: this one, one other strategy (entry 0) and the normalizer (entry 1); NaN padding after.
    const prices = new Float64Array(8).fill(NaN);
    prices[0] = 101;
    prices[1] = 98;
    return swapEvent({
      reserveX: 100,
      reserveY: 10000,
      inputAmount: 2.5,
      side: 1,
      competingSpotPrices: prices,
      ...over,
    });
  }

  it("writes the last trade, the spots against the competitors and the trade steps at their byte offsets", () => {
    const { bytes, v } = storage();
    updateExtendedFeatures(v, trade({ simStep: 40, flowCaptured: 0.25 }));
    expect(f64(bytes, SLOTS.side)).toBe(-1);
    expect(f64(bytes, SLOTS.retail)).toBe(1);
    // Side 1 pays X in: 2.5 X against 100 X of reserve.
    expect(f64(bytes, SLOTS.size)).toBe(0.025);
    // Spot 100 against the normalizer's 98 and the only other strategy's 101 (both exact in float32).
    expect(f64(bytes, SLOTS.norm)).toBeCloseTo(Math.log(100 / 98), 14);
    expect(f64(bytes, SLOTS.min)).toBeCloseTo(Math.log(100 / 101), 14);
    expect(f64(bytes, SLOTS.max)).toBeCloseTo(Math.log(100 / 101), 14);
    expect(f64(bytes, SLOTS.last)).toBe(40);
    expect(f64(bytes, SLOTS.prev)).toBe(0);
    expect(f64(bytes, SLOTS2.seen)).toBe(1);
    // The first trade starts both flow EMAs at 0.5; a side-1 trade moves only side 1's.
    expect(f64(bytes, SLOTS2.ema0)).toBe(0.5);
    expect(f64(bytes, SLOTS2.ema1)).toBe(0.1 * 0.25 + 0.9 * 0.5);

    // An arbitrage trade on side 0 (flow 0): Y in against the Y reserve.
    updateExtendedFeatures(v, trade({ simStep: 47, side: 0, flowCaptured: 0, inputAmount: 50 }));
    expect(f64(bytes, SLOTS.side)).toBe(1);
    expect(f64(bytes, SLOTS.retail)).toBe(0);
    expect(f64(bytes, SLOTS.size)).toBe(50 / 10000);
    expect([f64(bytes, SLOTS.prev), f64(bytes, SLOTS.last), f64(bytes, SLOTS2.seen)]).toEqual([40, 47, 2]);
    expect(f64(bytes, SLOTS2.ema0)).toBe(0.9 * 0.5);
    expect(f64(bytes, SLOTS2.ema1)).toBe(0.1 * 0.25 + 0.9 * 0.5);
    // The count stays at 2 (enough to tell a gap from none).
    updateExtendedFeatures(v, trade({ simStep: 60 }));
    expect([f64(bytes, SLOTS.prev), f64(bytes, SLOTS.last), f64(bytes, SLOTS2.seen)]).toEqual([47, 60, 2]);
  });

  it("takes the lowest and highest of several strategies, and skips the normalizer when the list cuts it", () => {
    const { bytes, v } = storage();
    const prices = Float64Array.from([104, 97, 101, 99, NaN, NaN, NaN, NaN]);
    // 5 pools: strategies are entries 0..2, the normalizer entry 3.
    updateExtendedFeatures(v, trade({ nStrategies: 5, competingSpotPrices: prices }));
    expect(f64(bytes, SLOTS.min)).toBeCloseTo(Math.log(100 / 97), 14);
    expect(f64(bytes, SLOTS.max)).toBeCloseTo(Math.log(100 / 104), 14);
    expect(f64(bytes, SLOTS.norm)).toBeCloseTo(Math.log(100 / 99), 14);
    // 11 pools: the 8 entries are strategies only (the normalizer would be entry 9).
    const eight = Float64Array.from([102, 99.5, 101, 98, 100.5, 97.5, 103, 96]);
    updateExtendedFeatures(v, trade({ nStrategies: 11, competingSpotPrices: eight }));
    expect(f64(bytes, SLOTS.norm)).toBe(0);
    expect(f64(bytes, SLOTS.min)).toBeCloseTo(Math.log(100 / 96), 14);
    expect(f64(bytes, SLOTS.max)).toBeCloseTo(Math.log(100 / 103), 14);
    // Exactly 9 pools: the normalizer is entry 7, the last one listed.
    updateExtendedFeatures(v, trade({ nStrategies: 9, competingSpotPrices: eight }));
    expect(f64(bytes, SLOTS.norm)).toBeCloseTo(Math.log(100 / 96), 14);
    expect(f64(bytes, SLOTS.min)).toBeCloseTo(Math.log(100 / 97.5), 14);
    // Alone with the normalizer (2 pools): no strategy to compare with.
    updateExtendedFeatures(v, trade({ nStrategies: 2, competingSpotPrices: Float64Array.from([98, NaN]) }));
    expect([f64(bytes, SLOTS.min), f64(bytes, SLOTS.max)]).toEqual([0, 0]);
    expect(f64(bytes, SLOTS.norm)).toBeCloseTo(Math.log(100 / 98), 14);
  });

  it("reads degenerate spots and reserves as 0 rather than NaN or infinity", () => {
    const { bytes, v } = storage();
    updateExtendedFeatures(v, trade({ competingSpotPrices: Float64Array.from([0, Infinity]) }));
    expect([f64(bytes, SLOTS.norm), f64(bytes, SLOTS.min), f64(bytes, SLOTS.max)]).toEqual([0, 0, 0]);
    // An empty X reserve: the spot is infinite and the side-1 size has nothing to divide by.
    updateExtendedFeatures(v, trade({ reserveX: 0 }));
    expect([f64(bytes, SLOTS.size), f64(bytes, SLOTS.norm), f64(bytes, SLOTS.min)]).toEqual([0, 0, 0]);
  });

  it("derives the steps since the last trade and decision, and the last epoch's edge", () => {
    const { bytes, v } = storage();
    const x0 = viewReadExtended(v);
    expect(x0).toEqual({
      lastSide: 0,
      lastRetail: 0,
      lastSize: 0,
      spotVsNormalizer: 0,
      spotVsMin: 0,
      spotVsMax: 0,
      stepsSinceTrade: 0,
      tradeGap: 0,
      stepsSinceDecision: 0,
      flowEma0: INITIAL_FLOW_EMA,
      flowEma1: INITIAL_FLOW_EMA,
      lastEpochEdge: 0,
    });
    const dv = new DataView(bytes.buffer);
    // No trade yet at a decision at step 99 (an epoch boundary): still 0 steps since "the last trade".
    dv.setFloat64(8 * AGENT_SLOT.lastDecisionStep, 99, true);
    expect([viewReadExtended(v).stepsSinceTrade, viewReadExtended(v).stepsSinceDecision]).toEqual([0, 99]);
    // One trade at step 450, then an epoch decision at step 499 (the previous decision at 300).
    dv.setFloat64(8 * SLOTS2.seen, 1, true);
    dv.setFloat64(8 * SLOTS.last, 450, true);
    dv.setFloat64(8 * AGENT_SLOT.lastDecisionStep, 499, true);
    dv.setFloat64(8 * SLOTS.prevDecision, 300, true);
    dv.setFloat64(8 * SLOTS2.ema0, 0.3, true);
    dv.setFloat64(8 * SLOTS2.ema1, 0.7, true);
    updateExtendedEpoch(v, -12.5);
    const x1 = viewReadExtended(v);
    expect([x1.stepsSinceTrade, x1.tradeGap, x1.stepsSinceDecision, x1.lastEpochEdge]).toEqual([49, 0, 199, -12.5]);
    expect([x1.flowEma0, x1.flowEma1]).toEqual([0.3, 0.7]);
    // A second trade at 430 before it: the gap is 20.
    dv.setFloat64(8 * SLOTS2.seen, 2, true);
    dv.setFloat64(8 * SLOTS.prev, 430, true);
    expect(viewReadExtended(v).tradeGap).toBe(20);
  });

  it("scales and clips each extended value into the observation space", () => {
    const f = { sigmaHat: 0.001, flowEma: 0.5, capitalWeight: 0.25, epochStep: 250, nPools: 3 };
    const x = {
      lastSide: -1,
      lastRetail: 1,
      lastSize: 1e-3,
      spotVsNormalizer: 0.2,
      spotVsMin: -0.2,
      spotVsMax: 0.004,
      stepsSinceTrade: 250,
      tradeGap: 30,
      stepsSinceDecision: 125,
      flowEma0: 1.5,
      flowEma1: 0.25,
      lastEpochEdge: 2000,
    };
    const obs = Array.from(extendedObservation(f, x, 500));
    const r = (y: number): number => Math.fround(y);
    expect(obs.slice(0, 5)).toEqual(Array.from(observationFromFeatures(f, 500)));
    // size 1e-3 -> 1 + log10(1e-3) / 5 = 0.4; ratios x100 clipped to +-5; steps over 100 (trades) or epochLen.
    expect(obs.slice(5)).toEqual([-1, 1, r(0.4), 5, -5, r(0.4), 1, r(0.3), r(0.25), 1, 0.25, 10]);
    const small = {
      ...x,
      lastSize: 1e-7,
      lastEpochEdge: -50,
      spotVsMax: -0.001,
      spotVsNormalizer: -0.002,
      stepsSinceTrade: 40,
    };
    const o2 = Array.from(extendedObservation(f, small, 500));
    expect([o2[7], o2[8], o2[10], o2[11], o2[16]]).toEqual([0, r(-0.2), r(-0.1), r(0.4), -0.5]);
    expect(extendedObservation(f, { ...x, lastSize: 0 }, 500)[7]).toBe(0);
    expect(extendedObservation(f, { ...x, lastSize: 2 }, 500)[7]).toBe(1);
    expect(OBSERVATION_SIZE).toEqual({ seed: 5, "seed-vol": 6, extended: 17 });
  });

  it("is kept by the agent's hooks only when asked, with the decision before the last", () => {
    for (const extended of [false, true]) {
      const hooks = agentHooks({
        name: "t",
        decisionInterval: 10,
        epochLen: 100,
        initialFeesBps: null,
        extended,
        stepVol: false,
        decide: () => {},
      });
      const { bytes } = storage();
      hooks.afterSwap(trade({ simStep: 12, epochStep: 12 }), bytes);
      hooks.afterSwap(trade({ simStep: 15, epochStep: 15 }), bytes);
      hooks.afterSwap(trade({ simStep: 30, epochStep: 30 }), bytes);
      hooks.onEpochBoundary({ epochNumber: 0, epochEdge: 3.25, capitalWeight: 0.5 }, bytes);
      if (!extended) {
        expect(bytes.subarray(8 * SLOTS.side).every((b) => b === 0)).toBe(true);
        continue;
      }
      // Decisions at 12 and 30 (15 is within the interval), then the epoch's at 99.
      expect(f64(bytes, SLOTS.prevDecision)).toBe(30);
      expect(f64(bytes, AGENT_SLOT.lastDecisionStep)).toBe(99);
      expect(f64(bytes, SLOTS2.epochEdge)).toBe(3.25);
      expect([f64(bytes, SLOTS.prev), f64(bytes, SLOTS.last)]).toEqual([15, 30]);
    }
  });
});
