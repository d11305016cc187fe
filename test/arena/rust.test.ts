/**
 * Rust strategy files (spec §3.5) through WebAssembly: a Rust strategy and its TypeScript twin
 * give identical bits in the engine; the SDK's decoders put every field where the byte layout
 * (spec §3.4) says, checked against bytes written independently here; the exported Rust policy
 * runs through the engine with the JS export's results; compile errors name the file and line;
 * a panic is contained.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportPolicy } from "../../agents/export.js";
import { loadStrategy } from "../../arena/loader.js";
import { runBatch, type BatchOptions } from "../../arena/runner.js";
import { runBatchSandboxed } from "../../arena/sandbox.js";
import { compileRustStrategy, findWasmRustc, RustBuildError } from "../../arena/rust.js";
import { loadWasmFile } from "../../arena/wasm-strategy.js";
import { setNano, toNano } from "../../env/abi.js";
import { Simulation, type SimulationResult, type StrategyContext } from "../../env/simulation.js";
import { DEFAULT_CONFIG } from "../../env/config.js";
import { newStorage } from "../../env/storage.js";
import type { AfterSwapEvent } from "../../env/strategy.js";
import { mulberry32 } from "../helpers/prng.js";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const WIDENING = here("../../strategies/rust/widening_fee.rs");
const SDK_STARTER = here("../../strategies/rust/sdk_starter.rs");
const ECHO = here("./fixtures/echo.rs");
const TWIN = here("./fixtures/widening-fee.ts");
const EXPORT_FIXTURE = here("../fixtures/export/es-run");

let toolchain = "";
try {
  toolchain = findWasmRustc().rustc;
} catch (err) {
  console.log(`rust.test.ts: skipping, ${err instanceof Error ? err.message : String(err)}`);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "propamm-rust-"));
  // A private cache: the tests see compiles, not another run's modules.
  process.env.PROPAMM_CACHE_DIR = join(dir, "cache");
});
afterAll(() => {
  delete process.env.PROPAMM_CACHE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function ctx(nStrategies = 2, index = 0): StrategyContext {
  return {
    seed: 0,
    market: { sigma: 0.003, retailRate: 0.8, retailMeanSize: 20, normalizerFeeBps: 30, normalizerLiquidity: 1 },
    config: { ...DEFAULT_CONFIG, pins: {} },
    index,
    nStrategies,
  };
}

/** A result with pool names blanked (the twins are named differently). */
function numbers(r: SimulationResult): string {
  return JSON.stringify({ ...r, pools: r.pools.map((p) => ({ ...p, name: "" })) });
}

describe("setNano (the quote path's BigInt-free u64 writer)", () => {
  it("writes exactly toNano's bytes, edge cases included", () => {
    const rnd = mulberry32(5);
    const values = [0, -1, NaN, Infinity, -Infinity, 1e-10, 1e-9, 1.5e-9, 2 ** 53, 1.8e10, 1.9e10, 1e300];
    for (let i = 0; i < 2000; i++) values.push(10 ** (rnd() * 24 - 10) * (1 + rnd()));
    const a = new DataView(new ArrayBuffer(8));
    const b = new DataView(new ArrayBuffer(8));
    for (const v of values) {
      setNano(a, 0, v);
      b.setBigUint64(0, toNano(v), true);
      expect(a.getBigUint64(0, true), String(v)).toBe(b.getBigUint64(0, true));
    }
  });
});

describe.skipIf(!toolchain)("Rust strategies through WebAssembly", () => {
  it("a native-ABI Rust strategy and its TypeScript twin give identical bits on several seeds", async () => {
    const rust = await loadStrategy(WIDENING);
    const twin = await loadStrategy(TWIN);
    for (const seed of [1, 2, 3, 4]) {
      const a = new Simulation(seed, [rust, twin], { steps: 2500, epochLen: 500 });
      const b = new Simulation(seed, [twin, rust], { steps: 2500, epochLen: 500 });
      const ra = a.run();
      const rb = b.run();
      expect(ra.pools[0].name).toBe("Widening Fee (Rust)");
      // Both seats are the same curve, so seat order changes nothing; the bits of both agree.
      expect(numbers(ra)).toBe(numbers(rb));
      expect(ra.pools[0].edge).toBe(ra.pools[1].edge);
      expect(Buffer.from(a.pools[0].storage).equals(Buffer.from(a.pools[1].storage))).toBe(true);
      expect(ra.pools[0].retailTrades).toBeGreaterThan(0);
      // Arbitrage reaches a curve that pays whole nano (spec §2.6, the second probe).
      expect(ra.pools[0].arbTrades).toBeGreaterThan(0);
      // Slot 14 counts epoch boundaries: the epoch hook ran through the native ABI too.
      expect(new DataView(a.pools[0].storage.buffer).getBigUint64(14 * 8, true)).toBe(4n);
    }
  });

  it("the SDK's decoders place every after-swap and epoch field as the byte layout says", () => {
    const echo = loadWasmFile(compileRustStrategy(ECHO).wasmPath, ECHO);
    expect(echo.name).toBe("echo");
    const s = echo.source(ctx());
    const storage = newStorage();
    const prices = new Float64Array([101.5, 99.25, NaN, 0.1, NaN, NaN, NaN, NaN]);
    const ev: AfterSwapEvent = {
      side: 1,
      inputAmount: 12.345678901,
      outputAmount: 0.5,
      reserveX: 99.123456789,
      reserveY: 10123.5,
      simStep: 7777,
      epochStep: 277,
      epochNumber: 7,
      nStrategies: 4,
      strategyIndex: 2,
      flowCaptured: 0.3,
      capitalWeight: 0.45,
      competingSpotPrices: prices,
    };
    s.afterSwap!(ev, storage);
    const v = new DataView(storage.buffer);
    const u64 = (slot: number): bigint => v.getBigUint64(slot * 8, true);
    // Independent truth: floor(v * 1e9) for amounts (spec §1), f32 bits for the f32 fields.
    const f32bits = (x: number): bigint => {
      const d = new DataView(new ArrayBuffer(4));
      d.setFloat32(0, x, true);
      return BigInt(d.getUint32(0, true));
    };
    expect(u64(20)).toBe(1n);
    expect(u64(21)).toBe(12345678901n);
    expect(u64(22)).toBe(500000000n);
    expect(u64(23)).toBe(BigInt(Math.floor(99.123456789 * 1e9)));
    expect(u64(24)).toBe(10123500000000n);
    expect(u64(25)).toBe(7777n);
    expect(u64(26)).toBe(277n);
    expect(u64(27)).toBe(7n);
    expect(u64(28)).toBe(4n);
    expect(u64(29)).toBe(2n);
    expect(u64(30)).toBe(f32bits(0.3));
    expect(u64(31)).toBe(f32bits(0.45));
    for (let k = 0; k < 8; k++) expect(u64(32 + k), `price ${k}`).toBe(f32bits(prices[k]));
    expect(v.getFloat64(40 * 8, true)).toBe(10123500000000 / Math.floor(99.123456789 * 1e9));

    s.onEpochBoundary!(
      {
        epochNumber: 3,
        newReserveX: 50.25,
        newReserveY: 5100,
        epochEdge: -12.5,
        cumulativeEdge: 1e-3,
        capitalWeight: 0.2,
      },
      storage,
    );
    expect(u64(50)).toBe(3n);
    expect(u64(51)).toBe(50250000000n);
    expect(u64(52)).toBe(5100000000000n);
    expect(v.getFloat64(53 * 8, true)).toBe(-12.5);
    expect(v.getFloat64(54 * 8, true)).toBe(1e-3);
    expect(u64(55)).toBe(f32bits(0.2));
    // The after-swap slots are kept: the hook's storage starts as the pool's.
    expect(u64(29)).toBe(2n);
  });

  it("quotes carry side, amounts and storage in, the output out (u64 above 2^53 included), and contain a panic", () => {
    const s = loadWasmFile(compileRustStrategy(ECHO).wasmPath, ECHO).source(ctx());
    const st = newStorage();
    const quote = (mode: number, side: 0 | 1, input: number, rx: number, ry: number): number => {
      st[1000] = mode;
      return s.computeSwap(side, input, rx, ry, st);
    };
    expect(quote(1, 0, 1.5, 100, 10000)).toBe(1.5);
    expect(quote(2, 0, 1.5, 100.25, 10000)).toBe(100.25);
    expect(quote(3, 1, 1.5, 100, 10000.125)).toBe(10000.125);
    expect(quote(4, 0, 1, 1, 1)).toBe(10e-9); // side 0, is_buy: 0 + 10 * 1 nano
    expect(quote(4, 1, 1, 1, 1)).toBe(1e-9);
    expect(quote(5, 1, 1, 1, 1)).toBe(Number(2n ** 64n - 1n) / 1e9);
    expect(() => quote(6, 0, 1, 100, 10000)).toThrow(WebAssembly.RuntimeError);
    // The instance is replaced after the trap and answers again.
    expect(quote(0, 0, 3, 100, 10000)).toBe(1.5);
    // In a simulation the pool counts the panics and the run finishes (spec §2.9).
    const panicky = loadWasmFile(compileRustStrategy(ECHO).wasmPath, ECHO).source;
    const sim = new Simulation(2, [panicky], { steps: 300, epochLen: 100 });
    sim.pools[0].storage[1000] = 6;
    sim.pools[0].syncStorage();
    const r = sim.run();
    expect(r.steps).toBe(300);
    expect(r.pools[0].errors.quoteErrors).toBeGreaterThan(0);
    expect(r.pools[0].errors.lastError).toMatch(/RuntimeError|unreachable/);
  });

  it("a submission-SDK file builds with the shim and runs (the seed's starter form)", async () => {
    const src = await loadStrategy(SDK_STARTER);
    const r = new Simulation(3, [src], { steps: 2000, epochLen: 500 }).run();
    expect(r.pools[0].name).toBe("SDK Starter (Rust)");
    expect(r.pools[0].retailTrades).toBeGreaterThan(0);
    expect(r.pools[0].errors).toMatchObject({ quoteErrors: 0, invalidQuotes: 0, hookErrors: 0 });
  });

  it("the exported Rust policy gives the exported JS policy's bits in the engine, for any count of strategies", async () => {
    writeFileSync(join(dir, "policy.rs"), exportPolicy(EXPORT_FIXTURE, "rs"));
    writeFileSync(join(dir, "policy.mjs"), exportPolicy(EXPORT_FIXTURE, "js"));
    const rs = await loadStrategy(join(dir, "policy.rs"));
    const js = await loadStrategy(join(dir, "policy.mjs"));
    const starter = await loadStrategy("starter");
    // The export bakes 2 strategies; 1 and 3 need __prop_amm_init to be right.
    for (const n of [1, 2, 3]) {
      for (const seed of [0, 1]) {
        const line = (p: typeof rs) => [p, ...Array.from({ length: n - 1 }, () => starter)];
        const a = new Simulation(seed, line(rs), { steps: 2000, epochLen: 500 });
        const b = new Simulation(seed, line(js), { steps: 2000, epochLen: 500 });
        const [ra, rb] = [a.run(), b.run()];
        expect(numbers(ra), `n=${n} seed=${seed}`).toBe(numbers(rb));
        expect(Buffer.from(a.pools[0].storage).equals(Buffer.from(b.pools[0].storage))).toBe(true);
        // Closed form through __prop_amm_constant_product_fees: no black-box quote at all.
        expect(ra.pools[0].quoteCalls).toBe(0);
      }
    }
  });

  it("caches a module by its source and says where a compile error is", () => {
    const ok = join(dir, "again.rs");
    writeFileSync(ok, readFileSync(WIDENING, "utf8"));
    const first = compileRustStrategy(ok);
    expect(compileRustStrategy(ok)).toEqual({ wasmPath: first.wasmPath, cached: true });

    const bad = join(dir, "broken.rs");
    writeFileSync(bad, 'pub fn compute_swap(_d: &[u8]) -> u64 {\n    let x: u64 = "not a number";\n    x\n}\n');
    expect(() => compileRustStrategy(bad)).toThrow(RustBuildError);
    try {
      compileRustStrategy(bad);
    } catch (err) {
      expect(String(err)).toContain(`${bad}:2:`);
      expect(String(err)).toMatch(/mismatched types/);
    }
  });

  it("refuses compile-time reads of files and the environment, and files with no compute_swap", () => {
    const sneaky = join(dir, "sneaky.rs");
    writeFileSync(
      sneaky,
      'const SECRET: &str = include_str!("/etc/passwd");\npub fn compute_swap(_d: &[u8]) -> u64 { 0 }\n',
    );
    expect(() => compileRustStrategy(sneaky)).toThrow(/sneaky\.rs:1: include!.*not allowed/);
    writeFileSync(
      sneaky,
      'pub fn compute_swap(_d: &[u8]) -> u64 {\n  option_env!("HOME").map_or(0, |s| s.len() as u64)\n}\n',
    );
    expect(() => compileRustStrategy(sneaky)).toThrow(/sneaky\.rs:2: env!\/option_env!/);
    writeFileSync(sneaky, "pub fn quote() -> u64 { 0 }\n");
    expect(() => compileRustStrategy(sneaky)).toThrow(/defines neither `__prop_amm_compute_swap`/);
  });

  it("propamm validate and run take .rs files", () => {
    const cli = here("../../dist/cli/main.js");
    const out = execFileSync("node", [cli, "validate", WIDENING, SDK_STARTER], { encoding: "utf8" });
    expect(out).toMatch(/ok {4}.*widening_fee\.rs/);
    expect(out).toMatch(/ok {4}.*sdk_starter\.rs/);
    const json = join(dir, "run.json");
    execFileSync("node", [cli, "run", WIDENING, "starter", "--simulations", "2", "--steps", "500", "--json", json], {
      encoding: "utf8",
      env: { ...process.env, PROPAMM_CACHE_DIR: join(dir, "cache") },
    });
    expect(readFileSync(json, "utf8")).toContain("Widening Fee (Rust)");
  });

  describe("hostile Rust strategies", () => {
    const LOOP = `#[no_mangle]
pub extern "C" fn __prop_amm_compute_swap(data: *const u8, _len: usize) -> u64 {
    // Spins forever unless the first byte of the payload is 7 (it never is).
    let mut x = 0u64;
    while unsafe { std::ptr::read_volatile(data) } != 7 {
        x = x.wrapping_add(1);
    }
    x
}
`;
    const BOMB = `pub fn compute_swap(ctx: &prop_amm_submission_sdk::SwapContext) -> u64 {
    // Reserves 16 MiB after 16 MiB until the module's 64 MiB memory cap makes an allocation fail.
    let mut keep: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block: Vec<u8> = Vec::with_capacity(16 << 20);
        block.push(1);
        keep.push(block);
        if keep.len() > 1_000_000 {
            return ctx.input_amount + keep.len() as u64;
        }
    }
}
`;
    const BASE: Omit<BatchOptions, "strategies"> = {
      simulations: 2,
      config: { steps: 300, epochLen: 100 },
      workers: 1,
      limits: { callMs: 400, simulationMs: 60_000, memoryMb: 512 },
    };

    it("an endless loop in WebAssembly is stopped and named, in-process and sandboxed; the opponent plays on", async () => {
      const loop = join(dir, "spin.rs");
      writeFileSync(loop, LOOP);
      for (const run of [runBatch, runBatchSandboxed]) {
        const b = await run({ ...BASE, strategies: [loop, "fixed:30"] });
        expect(b.results).toHaveLength(2);
        for (const r of b.results) {
          expect(r.pools[0].errors.stopped).toMatch(
            /spin\.rs: a call did not return within the 400 ms time limit in computeSwap/,
          );
          expect(r.pools[1].arbTrades + r.pools[1].retailTrades).toBeGreaterThan(0);
        }
      }
    });

    it("a memory bomb hits the module's 64 MiB cap: each quote traps, is counted, and the run finishes", async () => {
      const bomb = join(dir, "bomb.rs");
      writeFileSync(bomb, BOMB);
      // Each trapped quote costs a fresh instance (~20 ms here): a short run.
      const b = await runBatchSandboxed({
        ...BASE,
        config: { steps: 20, epochLen: 10 },
        strategies: [bomb, "fixed:30"],
        limits: { ...BASE.limits, callMs: 60_000 },
      });
      for (const r of b.results) {
        expect(r.steps).toBe(20);
        expect(r.pools[0].errors.stopped).toBeUndefined();
        expect(r.pools[0].errors.quoteErrors).toBeGreaterThan(0);
        expect(r.pools[0].arbTrades + r.pools[0].retailTrades).toBe(0);
      }
    });

    it("a Rust strategy gives the same numbers sandboxed and in-process", async () => {
      const opts = { ...BASE, strategies: [WIDENING, "starter"] };
      const [a, b] = [await runBatch(opts), await runBatchSandboxed(opts)];
      expect(JSON.stringify(b.results)).toBe(JSON.stringify(a.results));
    });
  });
});
