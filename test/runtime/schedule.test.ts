/**
 * runtime/schedule.ts, the agent pool's hooks (spec §5.5, §6.2), against storage bytes written by
 * hand from the slot layout of spec §3.6 (slot k is bytes 8k..8k+7, little-endian; a fee of b bps
 * is the u64 floor(b * 1e14)) and the constant-product closed form with the fee on the input.
 */
import { describe, expect, it } from "vitest";
import { type AgentHookOptions, agentHooks, type AgentSwapEvent, writeAgentFees } from "../../runtime/schedule.js";

function storage(): { bytes: Uint8Array; v: DataView } {
  const bytes = new Uint8Array(1024);
  return { bytes, v: new DataView(bytes.buffer) };
}

// Fee slots by hand: slot 0 at bytes 0..7, slot 1 at 8..15; the "fees set" flag is slot 11.
const setFeeBytes = (v: DataView, wad0: bigint, wad1: bigint): void => {
  v.setBigUint64(0, wad0, true);
  v.setBigUint64(8, wad1, true);
};
const setFlag = (v: DataView, on: boolean): void => v.setBigUint64(88, on ? 1n : 0n, true);
const feeBytes = (v: DataView): [bigint, bigint] => [v.getBigUint64(0, true), v.getBigUint64(8, true)];

const ev = (simStep: number): AgentSwapEvent => ({
  reserveX: 100,
  reserveY: 10000,
  flowCaptured: 0.5,
  side: 0,
  inputAmount: 1,
  competingSpotPrices: new Float64Array(8).fill(NaN),
  simStep,
  epochStep: simStep,
  nStrategies: 3,
  capitalWeight: 0.4,
});

type Decide = AgentHookOptions<AgentSwapEvent>["decide"];

function hooks(initialFeesBps: [number, number] | null, decide: Decide = () => {}) {
  return agentHooks({
    name: "t",
    decisionInterval: 10,
    epochLen: 100,
    initialFeesBps,
    extended: false,
    stepVol: false,
    decide,
  });
}

// 30 and 45 bps: floor(30e14) = 3e15 and 4.5e15 WAD, exact doubles, so they read back as
// exactly 30/1e4 and 45/1e4; 100 and 200 bps likewise.
const W30 = 3_000_000_000_000_000n;
const W45 = 4_500_000_000_000_000n;
const W100 = 10_000_000_000_000_000n;
const W200 = 20_000_000_000_000_000n;

/** Constant product, fee on the input (spec §3.1): side 0 pays Y for X, side 1 pays X for Y. */
function cp(side: 0 | 1, input: number, rx: number, ry: number, fee: number): number {
  const gi = (1 - fee) * input;
  return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
}

describe("runtime/schedule.ts fees", () => {
  it("quotes each side with its own storage slot when no initial fees are given", () => {
    const h = hooks(null);
    const { bytes, v } = storage();
    setFeeBytes(v, W30, W45); // the flag stays 0: without initial fees the slots are always in force
    const out = new Float64Array(2);
    h.constantProductFees(bytes, out);
    expect(Array.from(out)).toEqual([30 / 1e4, 45 / 1e4]);
    // Side 1 sells 2 X into 100 X / 10000 Y: 10000 * gi / (100 + gi) with gi = 2 * (1 - 0.0045).
    expect(h.computeSwap(1, 2, 100, 10000, bytes)).toBeCloseTo((10000 * 1.991) / 101.991, 10);
    expect(h.computeSwap(0, 500, 100, 10000, bytes)).toBeCloseTo((100 * 498.5) / 10498.5, 12);
    // The outputs keep x * y: (rx + gi) * (ry - out) = rx * ry.
    const out1 = h.computeSwap(1, 2, 100, 10000, bytes);
    expect((100 + 1.991) * (10000 - out1)).toBeCloseTo(1e6, 6);
    expect(cp(1, 2, 100, 10000, 0.0045)).toBeCloseTo(out1, 12);
  });

  it("quotes the initial fees until the flag is set, then the stored fees", () => {
    const h = hooks([30, 45]);
    const { bytes, v } = storage();
    setFeeBytes(v, W100, W200); // stale bytes under a clear flag are not in force
    const out = new Float64Array(2);
    h.constantProductFees(bytes, out);
    expect(Array.from(out)).toEqual([30 / 1e4, 45 / 1e4]);
    expect(h.computeSwap(1, 2, 100, 10000, bytes)).toBeCloseTo(cp(1, 2, 100, 10000, 0.0045), 12);
    setFlag(v, true);
    h.constantProductFees(bytes, out);
    expect(Array.from(out)).toEqual([100 / 1e4, 200 / 1e4]);
    expect(h.computeSwap(1, 2, 100, 10000, bytes)).toBeCloseTo(cp(1, 2, 100, 10000, 0.02), 12);
    expect(h.computeSwap(0, 500, 100, 10000, bytes)).toBeCloseTo(cp(0, 500, 100, 10000, 0.01), 12);
  });

  it("materialises the initial fees once; later hooks keep the decisions' fees", () => {
    let next: [number, number] = [100, 200];
    const h = hooks([30, 45], (_k, _s, _b, view) => writeAgentFees(view, next[0], next[1]));
    const { bytes, v } = storage();
    h.afterSwap(ev(1), bytes); // no decision yet (1 - 0 < 10): the initial fees are written
    expect(feeBytes(v)).toEqual([W30, W45]);
    expect(v.getBigUint64(88, true)).toBe(1n);
    h.afterSwap(ev(10), bytes); // decision: 100 / 200 bps
    expect(feeBytes(v)).toEqual([W100, W200]);
    h.afterSwap(ev(11), bytes); // no decision: the decision's fees stay
    expect(feeBytes(v)).toEqual([W100, W200]);
    const out = new Float64Array(2);
    h.constantProductFees(bytes, out);
    expect(Array.from(out)).toEqual([0.01, 0.02]);
    next = [45, 30];
    h.onEpochBoundary({ epochNumber: 0, epochEdge: 0, capitalWeight: 0.5 }, bytes);
    expect(feeBytes(v)).toEqual([W45, W30]);
    // A fresh storage whose first hook is an epoch boundary also materialises the initial fees
    // before deciding; a decide that writes nothing leaves them.
    const h2 = hooks([30, 45]);
    const s2 = storage();
    setFeeBytes(s2.v, W100, W200);
    h2.onEpochBoundary({ epochNumber: 0, epochEdge: 0, capitalWeight: 0.5 }, s2.bytes);
    expect(feeBytes(s2.v)).toEqual([W30, W45]);
    expect(s2.v.getBigUint64(88, true)).toBe(1n);
  });

  it("pulls the volatility halfway back to 0.003 at an epoch boundary (spec §5.3)", () => {
    const h = hooks(null);
    const { bytes, v } = storage();
    v.setFloat64(16, 0.01, true); // slot 2
    h.onEpochBoundary({ epochNumber: 0, epochEdge: 0, capitalWeight: 0.5 }, bytes);
    // 0.5 * 0.01 + 0.5 * 0.003 = 0.0065
    expect(v.getFloat64(16, true)).toBeCloseTo(0.0065, 15);
    h.onEpochBoundary({ epochNumber: 1, epochEdge: 0, capitalWeight: 0.5 }, bytes);
    expect(v.getFloat64(16, true)).toBeCloseTo(0.00475, 15);
  });
});
