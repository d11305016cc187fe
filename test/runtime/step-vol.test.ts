/**
 * The per-step volatility feature of the "seed-vol" observation (spec §6.3): its storage slots at
 * their byte offsets, hand-computed updates, the observation's scaling, a deployed policy that
 * reads it, and the property it exists for, checked against the random-walk closed form: on a
 * market of per-step volatility sigma it estimates sigma * sqrt(2 / pi) whatever the steps
 * between the pool's trades, where the seed's sigma_hat grows with their square root.
 */
import { describe, expect, it } from "vitest";
import { RandomStream } from "../../env/rng.js";
import { detLog } from "../../runtime/detmath.js";
import {
  INITIAL_STEP_VOL,
  updateFeatures,
  updateStepVol,
  viewReadExtended,
  viewReadStepVol,
  wireAmount,
} from "../../runtime/features.js";
import { OBSERVATION_SIZE, observationFromFeatures, stepVolObservation } from "../../runtime/mapping.js";
import { isObservationKind, OBSERVATION_KINDS } from "../../runtime/observation-kinds.js";
import { mlpWeights } from "../../runtime/mlp.js";
import { policyAgent, policyFees } from "../../runtime/policy.js";
import { agentHooks, type AgentSwapEvent } from "../../runtime/schedule.js";
import { SLOT, STEP_VOL_SLOT } from "../../runtime/slots.js";

/** Slot k's f64, read at its byte offset 8k (spec §3.6), not through the runtime's helpers. */
const f64 = (bytes: Uint8Array, slot: number): number => new DataView(bytes.buffer).getFloat64(8 * slot, true);

function storage(): { bytes: Uint8Array; v: DataView } {
  const bytes = new Uint8Array(1024);
  return { bytes, v: new DataView(bytes.buffer) };
}

/** A trade leaving the pool at `spot` (reserves 100 X and 100 * spot Y, whole nanos) at `simStep`. */
function trade(simStep: number, spot: number): AgentSwapEvent {
  return {
    reserveX: 100,
    reserveY: 100 * spot,
    flowCaptured: 0,
    side: 0,
    inputAmount: 1,
    competingSpotPrices: new Float64Array(8).fill(NaN),
    simStep,
    epochStep: simStep,
    nStrategies: 2,
    capitalWeight: 0.5,
  };
}

function hooks(stepVol: boolean) {
  return agentHooks({
    name: "t",
    decisionInterval: 1e9,
    epochLen: 1e9,
    initialFeesBps: null,
    extended: false,
    stepVol,
    decide: () => {},
  });
}

describe("runtime/features.ts: the per-step volatility", () => {
  it("lives in slots 25 and 26 (bytes 200-215), next to the extended observation's 12-24", () => {
    expect(STEP_VOL_SLOT).toEqual({ stepVol: 25, lastTradeStep: 26 });
  });

  it("starts at its initial value, then follows the EMA of |ln spot change| / sqrt(steps)", () => {
    const { bytes } = storage();
    const h = hooks(true);
    h.afterSwap(trade(10, 100), bytes);
    expect(f64(bytes, 25)).toBe(INITIAL_STEP_VOL); // the first trade has nothing to compare with
    expect(f64(bytes, 26)).toBe(10);
    // 4 steps later the spot is 2% (in log) higher: |ln| / sqrt(4) = 0.01.
    const s1 = 100 * Math.exp(0.02);
    h.afterSwap(trade(14, s1), bytes);
    const spot1 = wireAmount(100 * s1) / 100; // the spot as the wire carries the reserves (nano)
    const e1 = 0.95 * INITIAL_STEP_VOL + (0.05 * Math.abs(detLog(spot1 / 100))) / 2;
    expect(f64(bytes, 25)).toBe(e1);
    expect(f64(bytes, 25)).toBeCloseTo(0.95 * 0.002 + 0.05 * 0.01, 12);
    expect(f64(bytes, 26)).toBe(14);
    // A second trade in the same step counts as one step apart, not zero (no division by 0).
    h.afterSwap(trade(14, 100), bytes);
    expect(f64(bytes, 25)).toBeCloseTo(0.95 * e1 + 0.05 * 0.02, 12);
    // The seed's features are updated as before: the spot slot holds the last trade's.
    expect(f64(bytes, SLOT.lastSpot)).toBe(100);
  });

  it("is read as its initial value before any trade, and is written only by a pool that keeps it", () => {
    const { bytes, v } = storage();
    expect(viewReadStepVol(v)).toBe(INITIAL_STEP_VOL);
    const h = hooks(false);
    h.afterSwap(trade(3, 100), bytes);
    h.afterSwap(trade(9, 120), bytes);
    expect(f64(bytes, 25)).toBe(0);
    expect(f64(bytes, 26)).toBe(0);
    // The seed observation's storage is unchanged by the option: same bytes as a pool without it.
    const { bytes: other } = storage();
    const kept = hooks(true);
    kept.afterSwap(trade(3, 100), other);
    kept.afterSwap(trade(9, 120), other);
    other.fill(0, 200, 216);
    expect(Buffer.from(other).equals(Buffer.from(bytes))).toBe(true);
  });

  it("estimates sigma * sqrt(2 / pi) whatever the gaps between trades; sigma_hat grows with sqrt(gap)", () => {
    // A driftless log random walk of per-step sigma, the pool trading every `gap` steps and
    // seeing the spot then. E|ln change| over k steps is sigma sqrt(k) sqrt(2 / pi), so the
    // per-step estimate's mean is sigma sqrt(2 / pi) for every gap. Averaged over 20000 trades
    // (the EMA's 20-trade memory makes them ~1000 independent samples of a +-60% variable):
    // within 5%.
    const sigma = 0.002;
    const truth = sigma * Math.sqrt(2 / Math.PI);
    const means: Record<number, { step: number; seed: number }> = {};
    for (const gap of [1, 4, 9]) {
      const rng = new RandomStream(`step-vol-${gap}`);
      const { v } = storage();
      let lnSpot = Math.log(100);
      let step = 0;
      let sumStep = 0;
      let sumSeed = 0;
      const trades = 20000;
      for (let t = 0; t < trades; t++) {
        for (let k = 0; k < gap; k++) lnSpot += sigma * rng.normal();
        step += gap;
        const ev = { reserveX: 100, reserveY: 100 * Math.exp(lnSpot), flowCaptured: 0, simStep: step };
        updateStepVol(v, ev);
        updateFeatures(v, ev);
        if (t >= 100) {
          sumStep += viewReadStepVol(v);
          sumSeed += v.getFloat64(8 * SLOT.volatility, true);
        }
      }
      means[gap] = { step: sumStep / (trades - 100), seed: sumSeed / (trades - 100) };
      expect(Math.abs(means[gap].step / truth - 1), `gap ${gap}`).toBeLessThan(0.05);
    }
    // The seed's estimate has no division: it is sqrt(gap) times the per-step one.
    expect(means[9].seed / means[1].seed).toBeGreaterThan(2.7);
    expect(means[9].seed / means[1].seed).toBeLessThan(3.3);
  });
});

describe("runtime/mapping.ts and policy.ts: the seed-vol observation", () => {
  const f = { sigmaHat: 0.004, flowEma: 0.3, capitalWeight: 0.25, epochStep: 250, nPools: 3 };

  it("is the seed's five values, then the per-step volatility x1000 clipped to [0, 10]", () => {
    expect(OBSERVATION_SIZE["seed-vol"]).toBe(6);
    expect(OBSERVATION_KINDS).toEqual(["seed", "seed-vol", "extended"]);
    expect(isObservationKind("seed-vol")).toBe(true);
    expect(isObservationKind("pixels")).toBe(false);
    const o = stepVolObservation(f, 0.0015, 1000);
    expect(Array.from(o.subarray(0, 5))).toEqual(Array.from(observationFromFeatures(f, 1000)));
    expect(o[5]).toBe(Math.fround(1.5));
    expect(stepVolObservation(f, 0.02, 1000)[5]).toBe(10);
    expect(stepVolObservation(f, -1, 1000)[5]).toBe(0);
  });

  // 6 -> 2 linear: action = [obs[5] / 10, 0], so fee0 = 100 + 10 * (1000 * stepVol) bps.
  const kernel = new Array<number>(12).fill(0);
  kernel[5 * 2 + 0] = 0.1;
  const deployment = {
    name: "p",
    mlp: mlpWeights(
      [{ inputs: 6, outputs: 2, activation: "linear", kernel, bias: [0, 0] }],
      new Array<number>(6).fill(0),
      new Array<number>(6).fill(1 - 1e-8),
      10,
    ),
    decisionInterval: 1,
    trainEpochLen: 1000,
    feeMinBps: 0,
    feeMaxBps: 200,
    observation: "seed-vol" as const,
  };

  it("drives a deployed policy's fees from the estimate it keeps in storage", () => {
    const x = viewReadExtended(new DataView(new ArrayBuffer(1024)));
    expect(policyFees(deployment, f, x, 0.003, new Float32Array(6), new Float64Array(2))[0]).toBeCloseTo(130, 4);
    const h = policyAgent(deployment, 2, 1000);
    const { bytes } = storage();
    const fees = new Float64Array(2);
    h.constantProductFees(bytes, fees);
    // The reset decision sees the initial 0.002: 100 + 20 bps.
    expect(fees[0]).toBeCloseTo(0.012, 8);
    h.afterSwap(trade(1, 100), bytes);
    h.afterSwap(trade(5, 100 * Math.exp(0.04)), bytes); // |ln| / sqrt(4) = 0.02
    const est = f64(bytes, 25);
    expect(est).toBeCloseTo(0.95 * 0.002 + 0.05 * 0.02, 12);
    h.constantProductFees(bytes, fees);
    expect(fees[0] * 10000).toBeCloseTo(100 + 10 * 1000 * est, 3);
    expect(fees[1]).toBe(0.01);
  });
});
