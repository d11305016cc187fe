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
import { decodeAfterSwap } from "../../env/abi.js";
import { starter } from "../../env/builtins/starter.js";
import { detExp, detLog, detTanh } from "../../runtime/detmath.js";
import { PropAmmEnv } from "../../gym/env.js";
import { loadStrategy } from "../../arena/loader.js";
import { Simulation, type SimulationResult, type StrategyContext, type StrategySource } from "../../env/simulation.js";
import { validateStrategy } from "../../arena/validate.js";
import { mulberry32 } from "../helpers/prng.js";
import { bitDiffs, detmathInputs, expectRustMatchesJs, randomDecisionPayloads } from "../helpers/export-harness.js";

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

describe.skipIf(!hasRustc)("propamm export: Rust", () => {
  it("builds as a cdylib with plain rustc", () => {
    const r = spawnSync("rustc", ["--edition", "2021", "--crate-type", "cdylib", "-O", "--out-dir", dir, files.rs], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe(""); // no errors, and no warnings either
    expect(r.status).toBe(0);
  });

  it("makes the JS export's storage writes and quotes, byte for byte, on recorded payloads", async () => {
    await expectRustMatchesJs({ dir, jsFile: files.mjs, rsFile: files.rs, runWith, name: "ES es-run @20122" });
  });
});
