/**
 * `propamm export` (agents/export.ts): the exported strategy files are self-contained, load and
 * validate like any strategy, and reproduce the env driven by the checkpoint's deterministic
 * policy bit for bit; the Rust export makes the JS export's storage writes and quotes, byte for
 * byte, on a recorded sequence of real payloads.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExportablePolicy,
  exportFormatFromPath,
  exportPolicy,
  exportPolicyDetails,
  generateExport,
  inlinedRuntime,
  jsNumber,
  readExportablePolicy,
  rustNumber,
} from "../../agents/export.js";
import { MlpPolicy, type PolicySpec } from "../../agents/mlp.js";
import { policyStrategy } from "../../agents/policy-strategy.js";
import { loadPolicy } from "../../agents/checkpoint.js";
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
import { starter } from "../../env/builtins/starter.js";
import { detExp, detLog, detTanh } from "../../runtime/detmath.js";
import { PropAmmEnv } from "../../gym/env.js";
import { loadStrategy } from "../../arena/loader.js";
import { Simulation, type SimulationResult, type StrategyContext, type StrategySource } from "../../env/simulation.js";
import type { AfterSwapEvent, Side } from "../../env/strategy.js";
import { newStorage, SLOT, STORAGE_BYTES } from "../../env/storage.js";
import { validateStrategy } from "../../arena/validate.js";
import { mulberry32 } from "../helpers/prng.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/export/es-run", import.meta.url));
const SEEDS = [0, 1, 2, 3];

const hasRustc = spawnSync("rustc", ["--version"], { encoding: "utf8" }).status === 0;
if (!hasRustc) console.log("export.test.ts: rustc not found on PATH, skipping the Rust export tests");

let dir: string;
const files = { ts: "", mjs: "", js: "", rs: "" };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "propamm-export-"));
  files.ts = join(dir, "policy.ts");
  files.mjs = join(dir, "policy.mjs");
  // A plain .js file outside any package: loaded as an ES module by Node's syntax detection.
  files.js = join(dir, "policy-plain.js");
  files.rs = join(dir, "policy.rs");
  writeFileSync(files.ts, exportPolicy(FIXTURE, "ts"));
  writeFileSync(files.mjs, exportPolicy(FIXTURE, "js"));
  writeFileSync(files.js, exportPolicy(FIXTURE, "js"));
  writeFileSync(files.rs, exportPolicy(FIXTURE, "rs"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every number that differs (Object.is) between two results, names aside. */
function bitDiffs(a: unknown, b: unknown, path = "", out: string[] = []): string[] {
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

/** One env episode driven by the checkpoint's deterministic policy. */
function envEpisode(seed: number): SimulationResult {
  const { spec, state } = loadPolicy(FIXTURE);
  const env = new PropAmmEnv({ ...state.env });
  const policy = new MlpPolicy(spec);
  const action = new Float64Array(2);
  let { observation } = env.reset({ seed });
  for (;;) {
    policy.act(observation, action);
    const r = env.step(action);
    observation = r.observation;
    if (r.terminated) return r.info.episode!;
  }
}

function simConfig() {
  return loadPolicy(FIXTURE).state.env.sim!;
}

function runWith(source: StrategySource, seed: number): SimulationResult {
  return new Simulation(seed, [source, () => starter()], simConfig()).run();
}

/** The context a strategy gets as pool 0 of the training configuration (agent + one starter). */
function contextFor(source: StrategySource): StrategyContext {
  let ctx: StrategyContext | undefined;
  new Simulation(0, [(c) => ((ctx = c), source(c)), () => starter()], { ...simConfig(), steps: 1 });
  return ctx!;
}

describe("propamm export: the generated files", () => {
  it("write every number so that it parses back to the identical double", () => {
    const rnd = mulberry32(3);
    const values = [0, -0, 1, -1, 0.1, 1e-40, 3e38, 5e-324, 1e21, 123456789, Math.fround(0.1), Math.fround(-1e-8)];
    for (let i = 0; i < 20_000; i++) values.push(Math.fround((rnd() - 0.5) * 10 ** (rnd() * 20 - 10)));
    const bad: string[] = [];
    for (const x of values) {
      const rs = rustNumber(x);
      // Rust needs a float literal (a dot or an exponent); -0.0 keeps the sign.
      const rustLiteral = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(rs) && /[.e]/.test(rs);
      if (!Object.is(Number(jsNumber(x)), x) || !rustLiteral || !Object.is(Number(rs), x)) bad.push(`${x}: ${rs}`);
    }
    expect(bad).toEqual([]);
    expect(rustNumber(NaN)).toBe("f64::NAN");
    expect(rustNumber(-Infinity)).toBe("f64::NEG_INFINITY");
  });

  it("import nothing and say where they came from", () => {
    const { state } = loadPolicy(FIXTURE);
    for (const file of [files.ts, files.mjs]) {
      const src = readFileSync(file, "utf8");
      expect(src).not.toMatch(/^\s*import\b/m);
      expect(src).not.toMatch(/\brequire\s*\(|\bimport\s*\(/);
      expect(src).toMatch(/^export default function createStrategy\(ctx/m);
      expect(src).toContain(`${state.counters.timesteps} timesteps`);
      expect(src).toContain("ckpt-000010");
      expect(src).toContain("no ML runtime");
    }
    const rs = readFileSync(files.rs, "utf8");
    expect(rs).not.toMatch(/^\s*(use|extern crate)\b(?!\s+std)/m);
    expect(rs).toContain(`${state.counters.timesteps} timesteps`);
    for (const fn of ["__prop_amm_compute_swap", "__prop_amm_after_swap", "__prop_amm_get_name"])
      expect(rs).toMatch(new RegExp(`#\\[no_mangle\\]\\npub extern "C" fn ${fn}\\(`));
    // The JS export is the TS export without its type annotations.
    expect(readFileSync(files.mjs, "utf8")).not.toMatch(/: (number|DataView|Features|Float32Array)\b/);
  });

  it("name the strategy and suggest a file name", () => {
    const d = exportPolicyDetails(FIXTURE, "ts");
    expect(d.name).toBe("ES es-run @20122");
    expect(d.timesteps).toBe(20122);
    expect(d.suggestedFileName).toBe("ES_es-run_20122.ts");
    expect(exportPolicyDetails(FIXTURE, "js").suggestedFileName).toBe("ES_es-run_20122.mjs");
    expect(exportPolicy(FIXTURE, "js", { name: "My policy" })).toContain('const NAME = "My policy";');
    expect(exportPolicy(FIXTURE, "rs", { name: 'Quote "q" \\ é' })).toContain(
      'const NAME: &str = "Quote \\"q\\" \\\\ \\u{e9}";',
    );
    expect(() => exportPolicy(FIXTURE, "ts", { name: "" })).toThrow(/name/);
    expect(() => exportPolicy(FIXTURE, "ts", { name: "x".repeat(65) })).toThrow(/64/);
    expect(() => exportPolicy(FIXTURE, "py" as "ts")).toThrow(/format/);
    // The Rust export bakes the strategy count (for the reset decision); the training env's by default.
    expect(exportPolicy(FIXTURE, "rs")).toContain("const N_STRATEGIES: f64 = 2.0;");
    expect(exportPolicy(FIXTURE, "rs", { nStrategies: 3 })).toContain("const N_STRATEGIES: f64 = 3.0;");
    expect(() => exportPolicy(FIXTURE, "rs", { nStrategies: 0 })).toThrow(/nStrategies/);
    expect(exportFormatFromPath("a/b.mjs")).toBe("js");
    expect(exportFormatFromPath("b.ts")).toBe("ts");
    expect(exportFormatFromPath("b.rs")).toBe("rs");
    expect(exportFormatFromPath("b.txt")).toBeUndefined();
  });

  it("inline runtime/detmath.ts exactly (JavaScript)", () => {
    const port = new Function(`${inlinedRuntime(false)}\nreturn { detExp, detLog, detTanh };`)() as {
      detExp: (x: number) => number;
      detLog: (x: number) => number;
      detTanh: (x: number) => number;
    };
    const bad = detmathInputs().filter(
      (x) =>
        !Object.is(port.detExp(x), detExp(x)) ||
        !Object.is(port.detLog(x), detLog(x)) ||
        !Object.is(port.detTanh(x), detTanh(x)),
    );
    expect(bad).toEqual([]);
  });

  it("are the same from the built CLI (dist/runtime/*.js) as from the sources", () => {
    const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
    for (const [format, ext] of [
      ["ts", "ts"],
      ["js", "mjs"],
      ["rs", "rs"],
    ] as const) {
      const file = join(dir, `cli-export.${ext}`);
      execFileSync(process.execPath, [cli, "export", FIXTURE, "-o", file], { stdio: "pipe" });
      expect(readFileSync(file, "utf8") === exportPolicy(FIXTURE, format), format).toBe(true);
    }
  });

  it("the TypeScript export type-checks under strict settings", () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const config = join(dir, "tsconfig.json");
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "es2022",
          module: "esnext",
          types: [],
          skipLibCheck: true,
          noUnusedLocals: true,
          noUnusedParameters: true,
        },
        files: [files.ts],
      }),
    );
    const r = spawnSync(process.execPath, [tsc, "-p", config], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

function detmathInputs(): number[] {
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
const RAW_EVENT = new WeakMap<Uint8Array, AfterSwapEvent>();

function randomDecisionPayloads(n: number, seed: number): Uint8Array[] {
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
    const reserveX = 20 + rnd() * 200;
    const event: AfterSwapEvent = {
      side: rnd() < 0.5 ? 0 : 1,
      inputAmount: rnd() * 50,
      outputAmount: rnd() * 0.5,
      reserveX,
      reserveY: reserveX * (80 + rnd() * 40),
      simStep: 1000 + Math.floor(rnd() * 1000),
      epochStep: Math.floor(rnd() * 500),
      epochNumber: 2 + Math.floor(rnd() * 2),
      nStrategies: 2 + Math.floor(rnd() * 6),
      strategyIndex: 0,
      flowCaptured: rnd() < 0.3 ? 0 : rnd(),
      capitalWeight: rnd() < 0.1 ? 0.02 : rnd(),
      competingSpotPrices: new Float64Array(8).fill(NaN),
    };
    const payload = encodeAfterSwap(event, storage);
    RAW_EVENT.set(payload, event);
    out.push(payload);
  }
  return out;
}

/** Epoch-boundary payloads on the random storages above: each one a decision, on random epochs and weights. */
function randomEpochPayloads(n: number, seed: number): Uint8Array[] {
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

describe("propamm export: JavaScript and TypeScript", () => {
  it("give bit-identical results to the env and to the checkpoint strategy, on several seeds", async () => {
    const sources = {
      ts: await loadStrategy(files.ts),
      mjs: await loadStrategy(files.mjs),
      js: await loadStrategy(files.js),
      checkpoint: await loadStrategy(FIXTURE),
    };
    for (const seed of SEEDS) {
      const reference = envEpisode(seed);
      expect(reference.pools[0].edge).not.toBe(0);
      for (const [label, source] of Object.entries(sources)) {
        const result = runWith(source, seed);
        expect(bitDiffs(reference, result), `${label}, seed ${seed}`).toEqual([]);
        expect(result.pools[0].errors).toEqual({
          quoteErrors: 0,
          invalidQuotes: 0,
          hookErrors: 0,
          feeErrors: 0,
          lastError: "",
        });
      }
      expect(runWith(sources.ts, seed).pools[0].name).toBe("ES es-run @20122");
    }
  });

  it("decide exactly like the checkpoint's policy on thousands of random features", async () => {
    const exported = await loadStrategy(files.mjs);
    const checkpoint = await loadStrategy(FIXTURE);
    const ctx = contextFor(exported);
    const a = exported(ctx);
    const b = checkpoint(ctx);
    let decisions = 0;
    const bad: number[] = [];
    randomDecisionPayloads(4000, 21).forEach((payload, i) => {
      const { event, storage } = decodeAfterSwap(payload);
      const other = storage.slice();
      const before = storage.slice(0, 16);
      a.afterSwap!(event, storage);
      b.afterSwap!(event, other);
      if (!Buffer.from(storage).equals(Buffer.from(other))) bad.push(i);
      if (!Buffer.from(storage.subarray(0, 16)).equals(Buffer.from(before))) decisions++;
    });
    expect(bad.slice(0, 10)).toEqual([]);
    expect(decisions).toBeGreaterThan(3000);
  });

  it("pass propamm validate", async () => {
    for (const file of [files.ts, files.mjs]) {
      const report = await validateStrategy(file);
      expect(report.failures, file).toEqual([]);
      expect(report.name).toBe("ES es-run @20122");
    }
  });

  it("match the policy for relu networks and awkward weights (-0, subnormal float32, huge)", async () => {
    const rnd = mulberry32(5);
    const base = readExportablePolicy(FIXTURE);
    const sizes = [5, 7, 6, 2];
    const weight = (k: number): number => {
      if (k % 17 === 0) return -0;
      if (k % 23 === 0) return Math.fround(1e-40);
      if (k % 29 === 0) return Math.fround(-3e3);
      return Math.fround((rnd() - 0.5) * 1.5);
    };
    let k = 0;
    const spec: PolicySpec = {
      layers: sizes.slice(1).map((outputs, i) => ({
        inputs: sizes[i],
        outputs,
        activation: i === sizes.length - 2 ? ("linear" as const) : ("relu" as const),
        kernel: Array.from({ length: sizes[i] * outputs }, () => weight(k++)),
        bias: Array.from({ length: outputs }, () => weight(k++)),
      })),
      obsNorm: { mean: [0.3, 0.4, 0.5, 0.5, 0.2], var: [0.02, 0.04, 0.1, 0.08, 1e-12], count: 10 },
      obsClip: 5,
    };
    const meta = { ...base.meta, sizes, activation: "relu" as const, feeMinBps: 3, feeMaxBps: 120.5, obsClip: 5 };
    const policy: ExportablePolicy = { ...base, spec, meta, label: "synthetic relu" };
    const file = join(dir, "relu.mjs");
    writeFileSync(file, generateExport(policy, "js"));
    const exported = await loadStrategy(file);
    const reference = policyStrategy(spec, meta, "synthetic relu");
    for (const seed of [4, 5]) expect(bitDiffs(runWith(reference, seed), runWith(exported, seed))).toEqual([]);
  });
});

/** Record kinds of the Rust harness's input file. */
const HOOK = 0;
const QUOTE = 1;
const DETMATH = 2;

const HARNESS = `// Test harness: the exported strategy, driven through its ABI by recorded payloads.
include!("policy.rs");

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

function record(kind: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32LE(payload.byteLength, 1);
  return Buffer.concat([head, payload]);
}

function f64Bytes(x: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return b;
}

describe.skipIf(!hasRustc)("propamm export: Rust", () => {
  it("builds as a cdylib with plain rustc", () => {
    const r = spawnSync("rustc", ["--edition", "2021", "--crate-type", "cdylib", "-O", "--out-dir", dir, files.rs], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe(""); // no errors, and no warnings either
    expect(r.status).toBe(0);
  });

  it("makes the JS export's storage writes and quotes, byte for byte, on recorded payloads", async () => {
    const js = await loadStrategy(files.mjs);

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
    for (const seed of [0, 1]) runWith(recording, seed);
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
    writeFileSync(join(dir, "payloads.bin"), input);
    writeFileSync(join(dir, "harness.rs"), HARNESS);
    const harness = join(dir, "harness");
    execFileSync("rustc", ["--edition", "2021", "-O", "-o", harness, join(dir, "harness.rs")], { stdio: "pipe" });
    execFileSync(harness, [join(dir, "payloads.bin"), join(dir, "results.bin")], { stdio: "pipe" });
    const out = readFileSync(join(dir, "results.bin"));

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
    expect(out.subarray(o + 4, o + 4 + nameLength).toString("utf8")).toBe("ES es-run @20122");
    expect(o + 4 + nameLength).toBe(out.length);
  });
});
