/**
 * What the export tests (test/agents/export*.test.ts) share: bit-level comparison of results,
 * random hook payloads on which a one-ulp slip in a decision shows, and a Rust harness that
 * drives an exported .rs file through its ABI on recorded payloads and compares its storage
 * writes, quotes and detmath values with the JavaScript export's, byte for byte.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { expect } from "vitest";
import {
  decodeAfterSwap,
  decodeComputeSwap,
  decodeEpochBoundary,
  encodeAfterSwap,
  encodeComputeSwap,
  encodeEpochBoundary,
  TAG_AFTER_SWAP,
  toNano,
} from "../../env/abi.js";
import { AGENT_SLOT } from "../../env/builtins/agent.js";
import type { StrategyContext, StrategySource } from "../../env/simulation.js";
import type { AfterSwapEvent, Side } from "../../env/strategy.js";
import { newStorage, SLOT, STORAGE_BYTES } from "../../env/storage.js";
import { loadStrategy } from "../../arena/loader.js";
import { detExp, detLog, detTanh } from "../../runtime/detmath.js";
import { EXT_SLOT, STEP_VOL_SLOT } from "../../runtime/slots.js";
import { mulberry32 } from "./prng.js";

/** Every number that differs (Object.is) between two results, names aside. */
export function bitDiffs(a: unknown, b: unknown, path = "", out: string[] = []): string[] {
  if (typeof a === "number" && typeof b === "number") {
    if (!Object.is(a, b)) out.push(`${path}: ${a} vs ${b}`);
  } else if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (k === "name") continue; // the env's pool is "Agent"; the exports carry the checkpoint's label
      bitDiffs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
    }
  } else if (a !== b) out.push(`${path}: ${String(a)} vs ${String(b)}`);
  return out;
}

export function detmathInputs(): number[] {
  const rnd = mulberry32(11);
  const xs = [0, -0, 1, -1, 0.5, 20, -20, 20.5, 0.35, -0.35, 709, 710, -745, -746, 1e-300, 5e-324, 2.2e-308];
  xs.push(NaN, Infinity, -Infinity, 1 + 1e-15, 1 - 1e-15, 0.99999, 1.00001);
  for (let i = 0; i < 5000; i++) {
    xs.push((rnd() - 0.5) * 80); // exp / tanh range
    xs.push(Math.exp((rnd() - 0.5) * 1400)); // log over the whole exponent range
    xs.push(1 + (rnd() - 0.5) * 1e-3); // log of spot ratios
    xs.push((rnd() - 0.5) * 1.4); // tanh's series branch
  }
  return xs;
}

/**
 * After-swap payloads on random storages and events, nearly all of which trigger a decision:
 * the policy evaluated on thousands of feature vectors, where a one-ulp slip in the network
 * shows up in the WAD fee slots (a simulation mostly absorbs it).
 */
/**
 * The event each after-swap payload was encoded from. The features read a trade at the wire's
 * precision (floor to nano, spec §3.4), which is not idempotent on already-decoded values, so the
 * JS export replays the original event, as it got it in the engine, and the Rust side its bytes.
 */
export const RAW_EVENT = new WeakMap<Uint8Array, AfterSwapEvent>();

export function randomDecisionPayloads(n: number, seed: number): Uint8Array[] {
  const rnd = mulberry32(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const storage = newStorage();
    const v = new DataView(storage.buffer);
    const traded = rnd() < 0.9;
    if (traded) {
      v.setFloat64(8 * SLOT.volatility, rnd() * rnd() * 0.1, true);
      v.setFloat64(8 * SLOT.lastSpot, 80 + rnd() * 40, true);
      v.setFloat64(8 * SLOT.flowEma, rnd(), true);
      v.setBigUint64(8 * SLOT.tradesThisEpoch, BigInt(Math.floor(rnd() * 100)), true);
    }
    v.setFloat64(8 * AGENT_SLOT.lastDecisionStep, Math.floor(rnd() * 1000), true);
    if (rnd() < 0.8) {
      v.setBigUint64(8 * SLOT.fee0Wad, BigInt(Math.floor(rnd() * 2.5e16)), true);
      v.setBigUint64(8 * SLOT.fee1Wad, BigInt(Math.floor(rnd() * 2.5e16)), true);
      v.setBigUint64(8 * AGENT_SLOT.feesSet, 1n, true);
    }
    // The extended observation's slots (runtime/slots.ts EXT_SLOT): a policy on the seed
    // observation must carry them unchanged, one on the extended observation reads them.
    const seen = Math.floor(rnd() * 3);
    v.setFloat64(8 * EXT_SLOT.tradesSeen, seen, true);
    if (seen > 0) {
      v.setFloat64(8 * EXT_SLOT.lastTradeStep, 900 + Math.floor(rnd() * 100), true);
      v.setFloat64(8 * EXT_SLOT.prevTradeStep, 800 + Math.floor(rnd() * 100), true);
      v.setFloat64(8 * EXT_SLOT.flowEma0, rnd(), true);
      v.setFloat64(8 * EXT_SLOT.flowEma1, rnd(), true);
    }
    v.setFloat64(8 * EXT_SLOT.prevDecisionStep, Math.floor(rnd() * 500), true);
    v.setFloat64(8 * EXT_SLOT.lastEpochEdge, (rnd() - 0.5) * 400, true);
    // The per-step volatility's slots (STEP_VOL_SLOT): read by a policy on the seed-vol observation.
    v.setFloat64(8 * STEP_VOL_SLOT.stepVol, rnd() * rnd() * 0.01, true);
    v.setFloat64(8 * STEP_VOL_SLOT.lastTradeStep, 900 + Math.floor(rnd() * 100), true);
    const reserveX = 20 + rnd() * 200;
    const spot = 80 + rnd() * 40;
    const nStrategies = 2 + Math.floor(rnd() * 15);
    // The other pools' spots near this one's, with the odd degenerate one (0, infinite, NaN).
    const competing = new Float64Array(8).fill(NaN);
    for (let k = 0; k < Math.min(8, nStrategies - 1); k++) {
      const r = rnd();
      competing[k] = r < 0.02 ? 0 : r < 0.04 ? Infinity : r < 0.06 ? NaN : spot * (1 + (rnd() - 0.5) * 0.08);
    }
    const event: AfterSwapEvent = {
      side: rnd() < 0.5 ? 0 : 1,
      inputAmount: rnd() * 50,
      outputAmount: rnd() * 0.5,
      reserveX,
      reserveY: reserveX * spot,
      simStep: 1000 + Math.floor(rnd() * 1000),
      epochStep: Math.floor(rnd() * 500),
      epochNumber: 2 + Math.floor(rnd() * 2),
      nStrategies,
      strategyIndex: 0,
      flowCaptured: rnd() < 0.3 ? 0 : rnd(),
      capitalWeight: rnd() < 0.1 ? 0.02 : rnd(),
      competingSpotPrices: competing,
    };
    const payload = encodeAfterSwap(event, storage);
    RAW_EVENT.set(payload, event);
    out.push(payload);
  }
  return out;
}

/** Epoch-boundary payloads on the random storages above: each one a decision, on random epochs and weights. */
export function randomEpochPayloads(n: number, seed: number): Uint8Array[] {
  const rnd = mulberry32(seed + 1000);
  return randomDecisionPayloads(n, seed).map((payload) =>
    encodeEpochBoundary(
      {
        epochNumber: Math.floor(rnd() * 40),
        newReserveX: 20 + rnd() * 200,
        newReserveY: 2000 + rnd() * 20000,
        epochEdge: (rnd() - 0.5) * 10,
        cumulativeEdge: (rnd() - 0.5) * 100,
        capitalWeight: rnd() < 0.1 ? 0.02 : rnd(),
      },
      decodeAfterSwap(payload).storage,
    ),
  );
}

/** Record kinds of the Rust harness's input file. */
export const HOOK = 0;
export const QUOTE = 1;
export const DETMATH = 2;

export const harnessSource = (
  policyFile: string,
): string => `// Test harness: the exported strategy, driven through its ABI by recorded payloads.
include!("${policyFile}");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = std::fs::read(&args[1]).expect("read payloads");
    let mut out: Vec<u8> = Vec::new();
    let mut o = 0usize;
    while o < input.len() {
        let kind = input[o];
        let len = u32::from_le_bytes([input[o + 1], input[o + 2], input[o + 3], input[o + 4]]) as usize;
        let payload = &input[o + 5..o + 5 + len];
        o += 5 + len;
        match kind {
            ${HOOK} => {
                let mut st = [0u8; 1024];
                __prop_amm_after_swap(payload.as_ptr(), len, st.as_mut_ptr());
                out.extend_from_slice(&st);
            }
            ${QUOTE} => out.extend_from_slice(&__prop_amm_compute_swap(payload.as_ptr(), len).to_le_bytes()),
            ${DETMATH} => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&payload[..8]);
                let x = f64::from_le_bytes(b);
                for y in [det_exp(x), det_log(x), det_tanh(x)] {
                    out.extend_from_slice(&y.to_le_bytes());
                }
            }
            _ => panic!("unknown record kind {}", kind),
        }
    }
    let mut name = [0u8; 256];
    let n = __prop_amm_get_name(name.as_mut_ptr(), name.len());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&name[..n]);
    std::fs::write(&args[2], out).expect("write results");
}
`;

export function record(kind: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32LE(payload.byteLength, 1);
  return Buffer.concat([head, payload]);
}

export function f64Bytes(x: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return b;
}

export interface RustParityOptions {
  /** Folder with the exported .rs file; the harness and its payloads are written there. */
  dir: string;
  /** The JavaScript export of the same policy. */
  jsFile: string;
  /** The Rust export. */
  rsFile: string;
  /** Runs one simulation with `source` as pool 0 (the policy's training line-up). */
  runWith: (source: StrategySource, seed: number) => unknown;
  /** The strategy name both exports carry. */
  name: string;
}

/**
 * Records every hook payload the JavaScript export gets in two real simulations, adds thousands
 * of random decision and epoch payloads, replays them on a fresh JavaScript export and on the
 * Rust export (compiled with the harness), and expects the same storage bytes after every hook,
 * the same quotes, the same detmath values and the same name.
 */
export async function expectRustMatchesJs(opts: RustParityOptions): Promise<void> {
  const js = await loadStrategy(opts.jsFile);

  // 1. Record every hook payload the JS export receives in real simulations (with the storage before the call).
  const hooks: Uint8Array[] = [];
  let ctx: StrategyContext | undefined;
  const recording: StrategySource = (c) => {
    ctx = c;
    const s = js(c);
    return {
      ...s,
      afterSwap(ev, storage) {
        const payload = encodeAfterSwap(ev, storage);
        // The engine reuses its event object: keep a copy.
        RAW_EVENT.set(payload, { ...ev, competingSpotPrices: ev.competingSpotPrices.slice() });
        hooks.push(payload);
        s.afterSwap!(ev, storage);
      },
      onEpochBoundary(ev, storage) {
        hooks.push(encodeEpochBoundary(ev, storage));
        s.onEpochBoundary!(ev, storage);
      },
    };
  };
  for (const seed of [0, 1]) opts.runWith(recording, seed);
  expect(hooks.filter((h) => h[0] !== TAG_AFTER_SWAP).length).toBeGreaterThanOrEqual(6);
  // Plus decisions on random features and storages, where a slip in the Rust runtime cannot hide.
  hooks.push(...randomDecisionPayloads(3000, 22), ...randomEpochPayloads(500, 23));

  // 2. Replay the events on a fresh JS export, from the storages the payloads carry.
  const fresh = js(ctx!);
  const expected = hooks.map((h) => {
    if (h[0] === TAG_AFTER_SWAP) {
      const { storage } = decodeAfterSwap(h);
      fresh.afterSwap!(RAW_EVENT.get(h)!, storage);
      return storage;
    }
    const { event, storage } = decodeEpochBoundary(h);
    fresh.onEpochBoundary!(event, storage);
    return storage;
  });
  // The sequence must exercise decisions: fees change, and take many values.
  const fees = new Set(expected.map((s) => Buffer.from(s.subarray(0, 16)).toString("hex")));
  expect(fees.size).toBeGreaterThan(10);

  // 3. Quotes, on zero storage (the reset decision's fees) and on storages the hooks left.
  const quoteStorages = [newStorage(), ...[0, 1, 5, 100, 500, expected.length - 1].map((i) => expected[i])];
  const quotes: Uint8Array[] = [];
  for (const storage of quoteStorages)
    for (const side of [0, 1] as Side[])
      for (const input of [1e-6, 0.01, 1, 37.5, 2500])
        for (const [reserveX, reserveY] of [
          [100, 10000],
          [37.123456789, 4012.5],
        ])
          quotes.push(encodeComputeSwap({ side, inputAmount: input, reserveX, reserveY }, storage));
  const expectedQuotes = quotes.map((q) => {
    const { query, storage } = decodeComputeSwap(q);
    return toNano(fresh.computeSwap(query.side, query.inputAmount, query.reserveX, query.reserveY, storage));
  });
  const xs = detmathInputs();

  // 4. Run the Rust export on the same bytes.
  const input = Buffer.concat([
    ...hooks.map((h) => record(HOOK, h)),
    ...quotes.map((q) => record(QUOTE, q)),
    ...xs.map((x) => record(DETMATH, f64Bytes(x))),
  ]);
  writeFileSync(join(opts.dir, "payloads.bin"), input);
  writeFileSync(join(opts.dir, "harness.rs"), harnessSource(basename(opts.rsFile)));
  const harness = join(opts.dir, "harness");
  execFileSync("rustc", ["--edition", "2021", "-O", "-o", harness, join(opts.dir, "harness.rs")], { stdio: "pipe" });
  execFileSync(harness, [join(opts.dir, "payloads.bin"), join(opts.dir, "results.bin")], { stdio: "pipe" });
  const out = readFileSync(join(opts.dir, "results.bin"));

  // 5. Compare: every hook's full storage, every quote, every detmath value, and the name.
  let o = 0;
  const mismatches: string[] = [];
  expected.forEach((storage, i) => {
    const rust = out.subarray(o, o + STORAGE_BYTES);
    o += STORAGE_BYTES;
    if (!Buffer.from(storage).equals(rust)) {
      const slots = [];
      for (let s = 0; s < STORAGE_BYTES / 8; s++)
        if (!Buffer.from(storage.subarray(8 * s, 8 * s + 8)).equals(rust.subarray(8 * s, 8 * s + 8))) slots.push(s);
      mismatches.push(`hook payload ${i} (tag ${hooks[i][0]}): storage slots ${slots.join(", ")} differ`);
    }
  });
  expectedQuotes.forEach((q, i) => {
    const rust = out.readBigUInt64LE(o);
    o += 8;
    if (rust !== q) mismatches.push(`quote ${i}: JS ${q} nano, Rust ${rust} nano`);
  });
  xs.forEach((x, i) => {
    const want = [detExp(x), detLog(x), detTanh(x)];
    for (let k = 0; k < 3; k++) {
      const got = out.readDoubleLE(o + 8 * k);
      if (!Object.is(got, want[k])) mismatches.push(`detmath ${i} (x = ${x}) fn ${k}: ${got} vs ${want[k]}`);
    }
    o += 24;
  });
  expect(mismatches.slice(0, 10)).toEqual([]);
  expect(expectedQuotes.some((q) => q > 0n)).toBe(true);
  const nameLength = out.readUInt32LE(o);
  expect(out.subarray(o + 4, o + 4 + nameLength).toString("utf8")).toBe(opts.name);
  expect(o + 4 + nameLength).toBe(out.length);
}
