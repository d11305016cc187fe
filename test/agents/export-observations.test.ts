/**
 * `propamm export` of policies trained on the observations beyond the seed's (spec §6.3:
 * "extended" and "seed-vol"): the exported files reproduce the env driven by the checkpoint's
 * policy bit for bit, decide like the checkpoint strategy on random payloads, really read the
 * slots their observation adds, and the Rust export makes the JavaScript export's storage
 * writes byte for byte.
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
import { EXT_SLOT, STEP_VOL_SLOT } from "../../runtime/slots.js";
import { bitDiffs, expectRustMatchesJs, randomDecisionPayloads } from "../helpers/export-harness.js";

const SEEDS = [0, 1, 2];

const hasRustc = spawnSync("rustc", ["--version"], { encoding: "utf8" }).status === 0;

/**
 * Each fixture: a small ES run against two opponents (so the spots of the lowest and highest
 * competitor differ), and a slot of its observation that nothing in an after-swap event
 * overwrites outright, with a value that moves the decision when the policy reads the slot.
 */
const CASES = [
  {
    observation: "extended",
    fixture: "es-run-extended",
    name: "ES es-run-extended @20143",
    inputs: 17,
    // The last epoch's edge: only epoch events write it.
    slot: EXT_SLOT.lastEpochEdge,
    value: 400,
  },
  {
    observation: "seed-vol",
    fixture: "es-run-seed-vol",
    name: "ES es-run-seed-vol @20263",
    inputs: 6,
    // The per-step volatility: the trade folds 95% of the old value into the new one.
    slot: STEP_VOL_SLOT.stepVol,
    value: 0.02,
  },
] as const;

describe.each(CASES)("propamm export: a policy on the $observation observation", (c) => {
  const FIXTURE = fileURLToPath(new URL(`../fixtures/export/${c.fixture}`, import.meta.url));
  const NAME = c.name;
  let dir: string;
  const files = { ts: "", mjs: "", rs: "" };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "propamm-export-obs-"));
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
    expect(env.observationSpace.shape).toEqual([c.inputs]);
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

  it(`is a ${c.inputs}-input policy trained against two opponents`, () => {
    expect(state.policy.observation).toBe(c.observation);
    expect(state.policy.sizes[0]).toBe(c.inputs);
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

  it("decides like the checkpoint strategy on thousands of random payloads, and reads its observation's slot", async () => {
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
      // The same event on a storage that differs only in the case's slot: a policy that reads
      // it decides differently on some.
      const shifted = storage.slice();
      new DataView(shifted.buffer).setFloat64(8 * c.slot, c.value, true);
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
