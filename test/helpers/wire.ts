/**
 * The wire form of docs/protocol.md, decoded and encoded by hand: arrays are read and written
 * byte by byte (little-endian DataView), and the info map is spelled out field by field from the
 * in-process env's StepInfo. The independent truth for test/server/protocol.test.ts (the
 * handler) and test/server/server.test.ts (the sockets and `propamm serve`): nothing here calls
 * the server's own encoders.
 */
import { Packr } from "msgpackr";
import { expect } from "vitest";
import type { EnvConfig, StepInfo } from "../../gym/env.js";
import type { VectorStepInfo } from "../../gym/vector-env.js";

/** A decoded msgpack map. */
export type Msg = Record<string, unknown>;
export type DType = "float32" | "float64" | "uint8";

/** Every error code docs/protocol.md documents. */
export const PROTOCOL_CODES = [
  "BAD_MESSAGE",
  "TOO_LARGE",
  "VERSION",
  "BAD_REQUEST",
  "UNKNOWN_COMMAND",
  "UNKNOWN_ENV",
  "BAD_ACTION",
  "CONFIG",
  "ENV",
  "TOO_MANY_SESSIONS",
  "INTERNAL",
] as const;
export type Code = (typeof PROTOCOL_CODES)[number];

/** msgpack as a client sends it: plain maps, no record extension. */
export const packr = new Packr({ useRecords: false });

/** Short episodes for protocol tests: 1000 steps, epochs of 250, in the wire's spelling. */
export const SIM_WIRE = { steps: 1000, epoch_len: 250 };
/** The same episodes in the in-process env's spelling. */
export const SHORT: Partial<EnvConfig> = { sim: { steps: 1000, epochLen: 250 } };

/** Any value, compact and at most ~300 characters, for failure messages (bin, bigint, NaN shown). */
export function show(x: unknown): string {
  const s = JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (v instanceof Uint8Array) return `<bin ${v.byteLength}>`;
    return v;
  });
  return s === undefined ? String(x) : s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

/** A msgpack map (not an array, not bin). */
export function isMap(x: unknown): x is Msg {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof Uint8Array);
}

/** Decodes a wire array {dtype, shape, data} by hand, checking keys, dtype, shape and byte length. */
export function fromWire(x: unknown, dtype: DType, shape: number[]): number[] {
  expect(isMap(x), `array map, got ${show(x)}`).toBe(true);
  const a = x as Msg;
  expect(Object.keys(a).sort()).toEqual(["data", "dtype", "shape"]);
  expect(a.dtype).toBe(dtype);
  expect(a.shape).toEqual(shape);
  expect(a.data, "data is msgpack bin").toBeInstanceOf(Uint8Array);
  const data = a.data as Uint8Array;
  const size = { float32: 4, float64: 8, uint8: 1 }[dtype];
  const count = shape.reduce((p, d) => p * d, 1);
  expect(data.byteLength).toBe(count * size);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: count }, (_, i) =>
    dtype === "float32" ? view.getFloat32(i * 4, true) : dtype === "float64" ? view.getFloat64(i * 8, true) : data[i],
  );
}

/** Encodes a wire array by hand, little-endian; `shape` is sent as given (tests send bad ones too). */
export function toWire(values: ArrayLike<number>, dtype: "float32" | "float64", shape: unknown): Msg {
  const size = dtype === "float32" ? 4 : 8;
  const data = new Uint8Array(values.length * size);
  const view = new DataView(data.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === "float32") view.setFloat32(i * 4, values[i], true);
    else view.setFloat64(i * 8, values[i], true);
  }
  return { dtype, shape, data };
}

/**
 * An info map as docs/protocol.md ("Info maps") spells it, from the in-process env's info.
 * final_observation is left out (it is an array: compare it with fromWire); final_info, present
 * only in same_step autoreset, is spelled out recursively.
 */
export function wireInfo(info: StepInfo | VectorStepInfo): Msg {
  const f = info.features;
  const out: Msg = {
    decision: info.decision,
    sim_seed: info.simSeed,
    sim_step: info.simStep,
    epoch: info.epoch,
    agent_edge: info.agentEdge,
    normalizer_edge: info.normalizerEdge,
    capital_weight: info.capitalWeight,
    fees_bps: [...info.feesBps],
    trade_side: info.tradeSide,
    features: {
      sigma_hat: f.sigmaHat,
      flow_ema: f.flowEma,
      capital_weight: f.capitalWeight,
      epoch_step: f.epochStep,
      n_pools: f.nPools,
    },
  };
  if (info.episode) {
    out.episode = {
      pools: info.episode.pools.map((p) => ({
        name: p.name,
        edge: p.edge,
        arb_edge: p.arbEdge,
        retail_edge: p.retailEdge,
        final_weight: p.finalWeight,
      })),
      agent_epochs: info.episode.pools[0].epochs.map((e) => ({
        epoch: e.epoch,
        edge: e.edge,
        score: e.score,
        weight: e.weight,
        trades: e.trades,
      })),
    };
  }
  const v = info as VectorStepInfo;
  if (v.autoreset) out.autoreset = true;
  if (v.finalInfo) out.final_info = wireInfo(v.finalInfo);
  return out;
}

/** The infos of a reply as they must arrive: wireInfo of each, once through msgpack (so -0 is as the wire carries it). */
export function expectedInfos(ref: readonly (StepInfo | VectorStepInfo)[]): unknown {
  return packr.unpack(packr.pack(ref.map(wireInfo)));
}
