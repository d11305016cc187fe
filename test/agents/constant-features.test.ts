/**
 * A feature constant in training (the number of pools, in a fixed line-up) is read as 0 by the
 * policy, whatever its value later (docs/training.md, "Observation normalisation"): the running statistics keep each feature's range,
 * the checkpoint stores it, the policy, its JavaScript, TypeScript and Rust exports all ignore the
 * constant feature, and a checkpoint without ranges keeps scaling every feature as before.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointError, loadPolicy } from "../../agents/checkpoint.js";
import { exportPolicy } from "../../agents/export.js";
import { constantFeatures, MlpPolicy, type PolicySpec, RunningStats } from "../../agents/mlp.js";
import { OBS_EPS } from "../../runtime/mlp.js";
import { loadStrategy } from "../../arena/loader.js";
import { builtinSource } from "../../env/builtins/index.js";
import { RandomStream } from "../../env/rng.js";
import { Simulation, type SimulationResult, type StrategySource } from "../../env/simulation.js";
import { PropAmmEnv } from "../../gym/env.js";
import { train } from "../../training/train.js";
import { bitDiffs, expectRustMatchesJs } from "../helpers/export-harness.js";
import { tempDir } from "../helpers/tmp.js";

const hasRustc = spawnSync("rustc", ["--version"], { encoding: "utf8" }).status === 0;
const FIXTURE = fileURLToPath(new URL("../fixtures/export/es-run", import.meta.url));
/** The seed observation's n_strategies feature (spec §6.3). */
const N_FEATURE = 4;
const NAME = "Ranged policy";

describe("RunningStats keeps each feature's range", () => {
  it("is the brute-force min and max over every batch, and absent before the first", () => {
    const rng = new RandomStream("ranges");
    const stats = new RunningStats(3);
    expect(stats.toJSON().min).toBeUndefined();
    const all: number[][] = [];
    for (let b = 0; b < 4; b++) {
      const n = 7 + b;
      const rows = new Float64Array(3 * n);
      for (let r = 0; r < n; r++) {
        const row = [rng.normal() * (b + 1), 0.25, rng.uniform() * 10 - 5];
        rows.set(row, 3 * r);
        all.push(row);
      }
      stats.update(rows, n);
    }
    const json = stats.toJSON();
    for (let i = 0; i < 3; i++) {
      expect(json.min![i]).toBe(Math.min(...all.map((r) => r[i])));
      expect(json.max![i]).toBe(Math.max(...all.map((r) => r[i])));
    }
    expect(constantFeatures(json)).toEqual([false, true, false]);
    // Resumed, the range carries on.
    const resumed = new RunningStats(3, json);
    resumed.update(Float64Array.from([0, 0.5, 0]), 1);
    expect(resumed.toJSON().max![1]).toBe(0.5);
    expect(constantFeatures(resumed.toJSON())).toEqual([false, false, false]);
  });

  it("stays without a range when resumed from stats that had none (an old checkpoint)", () => {
    const old = new RunningStats(2, { mean: [1, 2], var: [0.5, 0], count: 10 });
    old.update(Float64Array.from([1, 2, 3, 2]), 2);
    expect(old.toJSON().min).toBeUndefined();
    expect(old.toJSON().max).toBeUndefined();
    expect(constantFeatures(old.toJSON())).toBeUndefined();
  });

  it("refuses a batch without its range when it keeps one", () => {
    const stats = new RunningStats(1);
    expect(() => stats.updateMoments([1], [0], 4)).toThrow(/without its range/);
  });
});

describe("the policy reads a feature constant in training as 0", () => {
  const { spec } = loadPolicy(FIXTURE);
  const mean = spec.obsNorm.mean;
  /** The fixture's statistics with a range in which only the n_strategies feature is one value. */
  const ranged: PolicySpec = {
    ...spec,
    obsNorm: {
      ...spec.obsNorm,
      min: mean.map((m, i) => (i === N_FEATURE ? m : m - 1)),
      max: mean.map((m, i) => (i === N_FEATURE ? m : m + 1)),
    },
  };

  it("acts as the unranged policy does on the training mean of that feature, whatever its value", () => {
    const withRange = new MlpPolicy(ranged);
    const without = new MlpPolicy(spec);
    const rng = new RandomStream("constant");
    for (let k = 0; k < 200; k++) {
      const obs = [rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform() * 3];
      const atMean = obs.slice();
      atMean[N_FEATURE] = mean[N_FEATURE];
      // (x - mean) * 1/sqrt(var + eps) is exactly 0 at the mean: the two policies agree bit for bit.
      expect(Array.from(withRange.act(obs))).toEqual(Array.from(without.act(atMean)));
    }
  });

  it("where a policy without ranges jumps to the clip on an unseen value", () => {
    const without = new MlpPolicy(spec);
    const obs = [0.3, 0.4, 0.6, 0.4, 4 / 17];
    const z = (obs[N_FEATURE] - mean[N_FEATURE]) / Math.sqrt(spec.obsNorm.var[N_FEATURE] + OBS_EPS);
    expect(z).toBeGreaterThan(spec.obsClip);
    expect(without.normalize(obs, new Float64Array(5))[N_FEATURE]).toBe(spec.obsClip);
    expect(new MlpPolicy(ranged).normalize(obs, new Float64Array(5))[N_FEATURE]).toBe(0);
    // 0 outright, not (x - mean) * 0: that is NaN for an infinite x.
    for (const x of [Infinity, -Infinity, NaN]) {
      const odd = [0.3, 0.4, 0.6, 0.4, x];
      expect(Object.is(new MlpPolicy(ranged).normalize(odd, new Float64Array(5))[N_FEATURE], 0), String(x)).toBe(true);
    }
    // Every other feature is normalised as before.
    const a = without.normalize(obs, new Float64Array(5));
    const b = new MlpPolicy(ranged).normalize(obs, new Float64Array(5));
    expect(Array.from(b.subarray(0, N_FEATURE))).toEqual(Array.from(a.subarray(0, N_FEATURE)));
  });
});

describe("checkpoints and exports carry the range", () => {
  let dir: string;
  let ranged: string;
  const files = { ts: "", mjs: "", rs: "", plain: "" };

  /** Writes a copy of the fixture whose state.json's obsNorm is changed by `edit`. */
  function variant(name: string, edit: (obsNorm: Record<string, unknown>) => void): string {
    const out = join(dir, name);
    cpSync(FIXTURE, out, { recursive: true });
    const ckpt = readFileSync(join(out, "LATEST"), "utf8").trim();
    const file = join(out, ckpt, "state.json");
    const state = JSON.parse(readFileSync(file, "utf8")) as { policy: { obsNorm: Record<string, unknown> } };
    edit(state.policy.obsNorm);
    writeFileSync(file, JSON.stringify(state));
    return out;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "propamm-constant-"));
    ranged = variant("ranged", (o) => {
      const m = o.mean as number[];
      o.min = m.map((v, i) => (i === N_FEATURE ? v : v - 1));
      o.max = m.map((v, i) => (i === N_FEATURE ? v : v + 1));
    });
    files.ts = join(dir, "policy.ts");
    files.mjs = join(dir, "policy.mjs");
    files.rs = join(dir, "policy.rs");
    files.plain = join(dir, "plain.mjs");
    writeFileSync(files.ts, exportPolicy(ranged, "ts", { name: NAME }));
    writeFileSync(files.mjs, exportPolicy(ranged, "js", { name: NAME }));
    // The line-up below has three strategies: the reset decision of the Rust file needs the count.
    writeFileSync(files.rs, exportPolicy(ranged, "rs", { name: NAME, nStrategies: 3 }));
    writeFileSync(files.plain, exportPolicy(FIXTURE, "js"));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a malformed range, naming it", () => {
    const cases: [string, (o: Record<string, unknown>) => void][] = [
      ["only-min", (o) => (o.min = o.mean)],
      ["short", (o) => ((o.min = [0]), (o.max = [1]))],
      [
        "inverted",
        (o) => {
          o.min = (o.mean as number[]).map((v) => v + 1);
          o.max = o.mean;
        },
      ],
      ["not-numbers", (o) => ((o.min = o.mean), (o.max = (o.mean as number[]).map(() => "x")))],
    ];
    for (const [name, edit] of cases) {
      const bad = variant(name, edit);
      expect(() => loadPolicy(bad), name).toThrow(CheckpointError);
      expect(() => loadPolicy(bad), name).toThrow(/observation range \(obsNorm\.min, obsNorm\.max\)/);
    }
    expect(loadPolicy(ranged).spec.obsNorm.min).toHaveLength(5);
  });

  it("bakes the constant features into every export", () => {
    expect(readFileSync(files.mjs, "utf8")).toContain("const OBS_CONSTANT = [false, false, false, false, true];");
    expect(readFileSync(files.rs, "utf8")).toContain(
      "const OBS_CONSTANT: [bool; OBS_SIZE] = [false, false, false, false, true];",
    );
    expect(readFileSync(files.plain, "utf8")).toContain("const OBS_CONSTANT = [false, false, false, false, false];");
  });

  /** Two starters: one pool more than the fixture was trained with, so n_strategies is new to it. */
  const LINE_UP = (): StrategySource[] => [builtinSource("starter")!, builtinSource("starter")!];
  const simConfig = () => loadPolicy(FIXTURE).state.env.sim!;
  const runWith = (source: StrategySource, seed: number): SimulationResult =>
    new Simulation(seed, [source, ...LINE_UP()], simConfig()).run();

  it("in a line-up it was not trained in, the exports and the checkpoint agree bit for bit", async () => {
    const sources = {
      ts: await loadStrategy(files.ts),
      mjs: await loadStrategy(files.mjs),
      checkpoint: await loadStrategy(ranged),
    };
    const plain = await loadStrategy(files.plain);
    for (const seed of [0, 1]) {
      const reference = runWith(sources.checkpoint, seed);
      for (const [label, source] of Object.entries(sources))
        expect(bitDiffs(reference, runWith(source, seed)), `${label}, seed ${seed}`).toEqual([]);
      // Without the range the same weights read n_strategies at the clip and set other fees.
      expect(runWith(plain, seed).pools[0].edge).not.toBe(reference.pools[0].edge);
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
    expect(built.stderr).toBe("");
    await expectRustMatchesJs({ dir, jsFile: files.mjs, rsFile: files.rs, runWith, name: NAME });
  });
});

describe("training records the range", () => {
  const tmp = tempDir("propamm-constant-train-");

  it("a short ES run marks n_strategies constant (one line-up) and nothing else", async () => {
    const out = join(tmp, "es");
    const env = {
      opponents: ["starter"],
      sim: { steps: 400, epochLen: 200 },
    };
    await train({
      algo: "es",
      timesteps: 6000,
      seed: 3,
      out,
      resume: false,
      workers: 0,
      env,
      hyper: { population: 4, seedsPerGeneration: 2, hidden: [] },
      evalEvery: 0,
      evalEpisodes: 1,
      checkpointEvery: 1000,
    });
    const { spec } = loadPolicy(out);
    const { min, max } = spec.obsNorm;
    // The n_strategies value the env reports in this line-up, and the other features' spread.
    const observed = new PropAmmEnv(env).reset({ seed: 0 }).observation;
    expect(min![N_FEATURE]).toBe(observed[N_FEATURE]);
    expect(max![N_FEATURE]).toBe(observed[N_FEATURE]);
    expect(constantFeatures(spec.obsNorm)).toEqual([false, false, false, false, true]);
  });
});
