/**
 * `propamm export` of a policy trained on the extended observation (spec §6.3): the exported
 * files reproduce the env driven by the checkpoint's policy bit for bit, decide like the
 * checkpoint strategy on random payloads, really read the extended slots, and the Rust export
 * makes the JavaScript export's storage writes byte for byte.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportPolicy } from "../../agents/export.js";
import { loadPolicy } from "../../agents/checkpoint.js";
import { MlpPolicy } from "../../agents/mlp.js";
import { loadStrategy } from "../../arena/loader.js";
import { validateStrategy } from "../../arena/validate.js";
import { decodeAfterSwap } from "../../env/abi.js";
import { builtinSource } from "../../env/builtins/index.js";
import { Simulation, type SimulationResult, type StrategyContext, type StrategySource } from "../../env/simulation.js";
import { PropAmmEnv } from "../../gym/env.js";
import { EXT_SLOT } from "../../runtime/slots.js";
import { bitDiffs, expectRustMatchesJs, randomDecisionPayloads } from "../helpers/export-harness.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/export/es-run-extended", import.meta.url));
const NAME = "ES es-run-extended @20143";
const SEEDS = [0, 1, 2];

const hasRustc = spawnSync("rustc", ["--version"], { encoding: "utf8" }).status === 0;

let dir: string;
const files = { ts: "", mjs: "", rs: "" };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "propamm-export-ext-"));
  files.ts = join(dir, "policy.ts");
  files.mjs = join(dir, "policy.mjs");
  files.rs = join(dir, "policy.rs");
  writeFileSync(files.ts, exportPolicy(FIXTURE, "ts"));
  writeFileSync(files.mjs, exportPolicy(FIXTURE, "js"));
  writeFileSync(files.rs, exportPolicy(FIXTURE, "rs"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const { spec, state } = loadPolicy(FIXTURE);

/** The training line-up's opponents (two, so the spots of the lowest and highest competitor differ). */
function opponents(): StrategySource[] {
  return state.env.opponents.map((o) => builtinSource(o as string)!);
}

function envEpisode(seed: number): SimulationResult {
  const env = new PropAmmEnv({ ...state.env });
  expect(env.observationSpace.shape).toEqual([17]);
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

function runWith(source: StrategySource, seed: number): SimulationResult {
  return new Simulation(seed, [source, ...opponents()], state.env.sim!).run();
}

function contextFor(source: StrategySource): StrategyContext {
  let ctx: StrategyContext | undefined;
  new Simulation(0, [(c) => ((ctx = c), source(c)), ...opponents()], { ...state.env.sim!, steps: 1 });
  return ctx!;
}

describe("propamm export: a policy on the extended observation", () => {
  it("is a 17-input policy trained against two opponents", () => {
    expect(state.policy.observation).toBe("extended");
    expect(state.policy.sizes[0]).toBe(17);
    expect(state.env.opponents).toHaveLength(2);
  });

  it("gives bit-identical results to the env and to the checkpoint strategy, on several seeds", async () => {
    const sources = {
      ts: await loadStrategy(files.ts),
      mjs: await loadStrategy(files.mjs),
      checkpoint: await loadStrategy(FIXTURE),
    };
    for (const seed of SEEDS) {
      const reference = envEpisode(seed);
      expect(reference.pools[0].edge).not.toBe(0);
      for (const [label, source] of Object.entries(sources)) {
        const result = runWith(source, seed);
        expect(bitDiffs(reference, result), `${label}, seed ${seed}`).toEqual([]);
        expect(result.pools[0].errors.hookErrors + result.pools[0].errors.quoteErrors).toBe(0);
      }
    }
  });

  it("decides like the checkpoint strategy on thousands of random payloads, and reads the extended slots", async () => {
    const exported = await loadStrategy(files.mjs);
    const checkpoint = await loadStrategy(FIXTURE);
    const ctx = contextFor(exported);
    const a = exported(ctx);
    const b = checkpoint(ctx);
    const bad: number[] = [];
    let moved = 0;
    randomDecisionPayloads(3000, 31).forEach((payload, i) => {
      const { event, storage } = decodeAfterSwap(payload);
      const other = storage.slice();
      // The same event on a storage that differs only in the last epoch's edge (slot 23), which
      // nothing in the event overwrites: a policy that reads it decides differently on some.
      const shifted = storage.slice();
      new DataView(shifted.buffer).setFloat64(8 * EXT_SLOT.lastEpochEdge, 400, true);
      a.afterSwap!(event, storage);
      b.afterSwap!(event, other);
      a.afterSwap!(event, shifted);
      if (!Buffer.from(storage).equals(Buffer.from(other))) bad.push(i);
      if (!Buffer.from(storage.subarray(0, 16)).equals(Buffer.from(shifted.subarray(0, 16)))) moved++;
    });
    expect(bad.slice(0, 10)).toEqual([]);
    expect(moved).toBeGreaterThan(100);
  });

  it("passes propamm validate", async () => {
    for (const file of [files.ts, files.mjs]) {
      const report = await validateStrategy(file);
      expect(report.failures, file).toEqual([]);
      expect(report.name).toBe(NAME);
    }
  });

  it.skipIf(!hasRustc)("Rust: makes the JS export's storage writes and quotes, byte for byte", async () => {
    const built = spawnSync(
      "rustc",
      ["--edition", "2021", "--crate-type", "cdylib", "-O", "--out-dir", dir, files.rs],
      {
        encoding: "utf8",
      },
    );
    expect(built.stderr).toBe(""); // no errors, and no warnings either
    await expectRustMatchesJs({ dir, jsFile: files.mjs, rsFile: files.rs, runWith, name: NAME });
  });
});
