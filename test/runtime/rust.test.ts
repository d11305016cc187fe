/**
 * runtime/rust/policy.rs, the Rust twin of the policy runtime: its storage slots, constants,
 * payload tags, header sizes and field offsets are typed in Rust, so each is checked here against
 * the TypeScript runtime and against bytes that env/abi.ts encodes (the wire format's truth).
 * Compiling it and matching the JavaScript export bit for bit is test/agents/export.test.ts.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  AFTER_SWAP_HEADER,
  COMPUTE_SWAP_HEADER,
  EPOCH_HEADER,
  TAG_AFTER_SWAP,
  TAG_EPOCH_BOUNDARY,
  encodeAfterSwap,
  encodeComputeSwap,
  encodeEpochBoundary,
  toNano,
} from "../../env/abi.js";
import { STORAGE_BYTES, newStorage } from "../../env/storage.js";
import { INITIAL_FLOW_EMA, INITIAL_VOL } from "../../runtime/features.js";
import { MAX_POOLS, SIGMA_OBS_MAX, SIGMA_OBS_SCALE } from "../../runtime/mapping.js";
import { OBS_EPS } from "../../runtime/mlp.js";
import { AGENT_SLOT, SLOT, WAD_PER_BPS } from "../../runtime/slots.js";

const RUST_FILE = fileURLToPath(new URL("../../runtime/rust/policy.rs", import.meta.url));
const RUST = readFileSync(RUST_FILE, "utf8");
const hasRustfmt = spawnSync("rustfmt", ["--version"], { encoding: "utf8" }).status === 0;
if (!hasRustfmt) console.log("rust.test.ts: rustfmt not found on PATH, skipping the format check");

/** Every `const NAME: TYPE = VALUE;` of the Rust runtime. */
function rustConstants(): Map<string, { type: string; value: string }> {
  const out = new Map<string, { type: string; value: string }>();
  for (const m of RUST.matchAll(/^const ([A-Z0-9_]+): ([a-z0-9]+) = ([^;]+);/gm)) {
    expect(out.has(m[1]), `${m[1]} declared twice`).toBe(false);
    out.set(m[1], { type: m[2], value: m[3] });
  }
  return out;
}

const consts = rustConstants();

function int(name: string, type = "usize"): number {
  const c = consts.get(name);
  expect(c, `const ${name} in policy.rs`).toBeDefined();
  expect(c!.type, name).toBe(type);
  expect(c!.value, name).toMatch(/^\d+$/);
  return Number(c!.value);
}

function float(name: string): number {
  const c = consts.get(name);
  expect(c, `const ${name} in policy.rs`).toBeDefined();
  expect(c!.type, name).toBe("f64");
  return Number(c!.value);
}

describe("runtime/rust/policy.rs", () => {
  it("uses runtime/slots.ts's storage slots", () => {
    const slots: [string, number][] = [
      ["SLOT_FEE0", SLOT.fee0Wad],
      ["SLOT_FEE1", SLOT.fee1Wad],
      ["SLOT_VOL", SLOT.volatility],
      ["SLOT_LAST_SPOT", SLOT.lastSpot],
      ["SLOT_FLOW_EMA", SLOT.flowEma],
      ["SLOT_TRADES", SLOT.tradesThisEpoch],
      ["SLOT_CAPITAL_WEIGHT", SLOT.capitalWeight],
      ["SLOT_EPOCH", SLOT.epochNumber],
      ["SLOT_LAST_DECISION", AGENT_SLOT.lastDecisionStep],
      ["SLOT_EPOCH_STEP", AGENT_SLOT.epochStep],
      ["SLOT_N_POOLS", AGENT_SLOT.nPools],
      ["SLOT_FEES_SET", AGENT_SLOT.feesSet],
    ];
    for (const [name, slot] of slots) expect(int(name), name).toBe(slot);
    // Every slot of the TypeScript runtime has its Rust constant, and no two share a slot.
    expect(slots.length).toBe(Object.keys(SLOT).length + Object.keys(AGENT_SLOT).length);
    expect(new Set(slots.map(([n]) => int(n))).size).toBe(slots.length);
    expect(int("STORAGE_BYTES")).toBe(STORAGE_BYTES);
  });

  it("uses the TypeScript runtime's constants, to the bit", () => {
    const same: [string, number][] = [
      ["WAD_PER_BPS", WAD_PER_BPS],
      ["INITIAL_VOL", INITIAL_VOL],
      ["INITIAL_FLOW_EMA", INITIAL_FLOW_EMA],
      ["SIGMA_OBS_SCALE", SIGMA_OBS_SCALE],
      ["SIGMA_OBS_MAX", SIGMA_OBS_MAX],
      ["MAX_POOLS", MAX_POOLS],
      ["OBS_EPS", OBS_EPS],
      ["TWO_64", 2 ** 64],
    ];
    for (const [name, value] of same) expect(float(name), name).toBe(value);
  });

  it("has env/abi.ts's tags and header sizes", () => {
    expect(int("TAG_AFTER_SWAP", "u8")).toBe(TAG_AFTER_SWAP);
    expect(int("TAG_EPOCH_BOUNDARY", "u8")).toBe(TAG_EPOCH_BOUNDARY);
    expect(int("AFTER_SWAP_HEADER")).toBe(AFTER_SWAP_HEADER);
    expect(int("EPOCH_HEADER")).toBe(EPOCH_HEADER);
    expect(int("COMPUTE_SWAP_HEADER")).toBe(COMPUTE_SWAP_HEADER);
  });

  it("reads each payload field where env/abi.ts encodes it", () => {
    // Distinct values in every field: each Rust offset must find its own field's bytes.
    const swap = encodeAfterSwap(
      {
        side: 1,
        inputAmount: 1.25,
        outputAmount: 0.75,
        reserveX: 123.456,
        reserveY: 98765.4321,
        simStep: 4321,
        epochStep: 321,
        epochNumber: 7,
        nStrategies: 5,
        strategyIndex: 2,
        flowCaptured: 0.375,
        capitalWeight: 0.15625,
        competingSpotPrices: new Float64Array(8).fill(99.5),
      },
      newStorage(),
    );
    const s = new DataView(swap.buffer);
    expect(s.getBigUint64(int("AS_RESERVE_X"), true)).toBe(toNano(123.456));
    expect(s.getBigUint64(int("AS_RESERVE_Y"), true)).toBe(toNano(98765.4321));
    expect(s.getBigUint64(int("AS_SIM_STEP"), true)).toBe(4321n);
    expect(s.getUint32(int("AS_EPOCH_STEP"), true)).toBe(321);
    expect(s.getUint8(int("AS_N_STRATEGIES"))).toBe(5);
    expect(s.getFloat32(int("AS_FLOW_CAPTURED"), true)).toBe(0.375);
    expect(s.getFloat32(int("AS_CAPITAL_WEIGHT"), true)).toBe(0.15625);

    const epoch = encodeEpochBoundary(
      {
        epochNumber: 9,
        newReserveX: 11,
        newReserveY: 22,
        epochEdge: 3.5,
        cumulativeEdge: 4.5,
        capitalWeight: 0.4375,
      },
      newStorage(),
    );
    const e = new DataView(epoch.buffer);
    expect(e.getUint32(int("EB_EPOCH_NUMBER"), true)).toBe(9);
    expect(e.getFloat32(int("EB_CAPITAL_WEIGHT"), true)).toBe(0.4375);

    const quote = encodeComputeSwap({ side: 1, inputAmount: 2.5, reserveX: 100, reserveY: 10000 }, newStorage());
    const q = new DataView(quote.buffer);
    expect(q.getBigUint64(int("CS_INPUT"), true)).toBe(toNano(2.5));
    expect(q.getBigUint64(int("CS_RESERVE_X"), true)).toBe(toNano(100));
    expect(q.getBigUint64(int("CS_RESERVE_Y"), true)).toBe(toNano(10000));
  });

  it("reads payloads only through the named offsets", () => {
    // A bare numeric offset would escape the checks above.
    expect(RUST.match(/read_(u64|u32|f32)\(d, \d+\)|d\[[1-9]\d*\]/g)).toBeNull();
  });

  it("is the runtime only: the baked policy is left to the exporter", () => {
    for (const name of ["NAME", "DECISION_INTERVAL", "EPOCH_LEN", "N_STRATEGIES", "FEE_MIN_BPS", "OBS_CLIP"])
      expect(consts.has(name), name).toBe(false);
    expect(RUST).not.toMatch(/^fn act\(/m);
  });

  it.skipIf(!hasRustfmt)("is formatted (rustfmt)", () => {
    const r = spawnSync("rustfmt", ["--edition", "2021", "--check", RUST_FILE], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
