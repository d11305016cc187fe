/**
 * The training loop (training/train.ts, what `propamm train` runs) and its checkpoints
 * (checkpoints/checkpoint.ts):
 *
 *  - save/load round trip: what train() writes reads back (loadPolicy, without tfjs) as exactly the
 *    policy an identically seeded in-memory algorithm holds, the tfjs files load with
 *    tf.loadLayersModel and predict the same means, and state.json carries the counters,
 *    observation statistics, RNG and optimizer state;
 *  - resume: N iterations, then a resume to N+M, equal an uninterrupted N+M run exactly (metrics,
 *    weights, state), also after a kill mid-save left a partial checkpoint and a LATEST temp file;
 *    a run folder is never silently overwritten;
 *  - corrupted checkpoints are refused with a CheckpointError naming the file and the problem,
 *    through loadPolicy/readCheckpointState, train({resume}) and the built CLI (exit 2, no stack);
 *  - determinism: same seed, same metrics and weights; ES with 0 or 2 worker threads alike;
 *  - the CLI: `propamm train` end to end (metrics.jsonl, TensorBoard events, LATEST), equal to the
 *    in-process train() with the same options, and its input errors (exit 2, clear message).
 *
 * Runs are tiny (500-step simulations, small networks, a few iterations). The CLI tests run the
 * built dist/cli/main.js (`npm run build` first).
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTf, type Tf } from "../../training/backend.js";
import { flatFromSpec, MlpPolicy, type PolicySpec, specFromFlat } from "../../agents/mlp.js";
import { RolloutPool } from "../../training/rollout-pool.js";
import { getFlatWeights, loadModelDir } from "../../training/tf-model.js";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  type CheckpointState,
  loadPolicy,
  readCheckpointState,
  readModelWeights,
  resolveCheckpoint,
} from "../../agents/checkpoint.js";
import type { EnvConfig } from "../../gym/env.js";
import { RandomStream } from "../../env/rng.js";
import type { TrainingAlgorithm } from "../../training/algorithm.js";
import { HELD_OUT_SEED_BASE } from "../../training/defaults.js";
import { ES_HYPERPARAMETERS, EsAlgorithm } from "../../training/es.js";
import { PPO_HYPERPARAMETERS, PpoAlgorithm } from "../../training/ppo.js";
import { maskedCrc } from "../../training/tensorboard.js";
import { train, type TrainOptions } from "../../training/train.js";
import { CLI, requireBuiltCli, runCliAsync, showRun as show, STACK_FRAME } from "../helpers/cli.js";
import { randomObservations as observationsFrom } from "../helpers/observations.js";
import { tempDir } from "../helpers/tmp.js";

type Algo = "es" | "ppo";
const SEED = 3;
const ENV: Partial<EnvConfig> & { opponents: string[] } = {
  opponents: ["starter"],
  rewardBaseline: "normalizer",
  sim: { steps: 500, epochLen: 250 },
};
/** Small networks and iterations: ~130 decisions per ES generation; ~28 per PPO iteration, 16 Adam steps. */
const HYPER = {
  es: { hidden: [8, 8], population: 8, seedsPerGeneration: 2 },
  ppo: { hidden: [16, 16], numEnvs: 4, updateEpochs: 4, numMinibatches: 4 },
};

let tf: Tf;
const tmp = tempDir("propamm-training-");
beforeAll(async () => {
  tf = (await loadTf()).tf;
});

function options(algo: Algo, out: string, timesteps: number, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    algo,
    timesteps,
    seed: SEED,
    out,
    resume: false,
    workers: 0,
    env: ENV,
    hyper: HYPER[algo],
    evalEvery: 1,
    evalEpisodes: 2,
    checkpointEvery: 2,
    ...over,
  };
}

/** metrics.jsonl without the wall-clock field. */
function metrics(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const { wallSeconds, ...rest } = JSON.parse(line) as Record<string, unknown>;
      expect(typeof wallSeconds).toBe("number");
      return rest;
    });
}

function trainLines(out: string): Record<string, number>[] {
  return metrics(out).filter((m) => m.type === "train") as Record<string, number>[];
}

function latestWeights(out: string, sub = "policy"): Buffer {
  return readFileSync(join(resolveCheckpoint(out), sub, "weights.bin"));
}

/**
 * state.json without what legitimately differs between two runs: the creation time, the run
 * folder, and the process-wide uniquifying suffix tfjs gives variable names ("kernel_3/m"),
 * which the optimizer restore does not use (it goes by order).
 */
function comparableState(out: string): Omit<CheckpointState, "createdAt" | "name"> {
  const { createdAt, name, ...rest } = readCheckpointState(resolveCheckpoint(out));
  expect(typeof createdAt).toBe("string");
  expect(typeof name).toBe("string");
  const optimizer = rest.algoState.optimizer as { name: string }[] | undefined;
  if (optimizer) {
    rest.algoState = {
      ...rest.algoState,
      optimizer: optimizer.map((w) => ({ ...w, name: w.name.replace(/_\d+(?=\/[mv]$)/, "") })),
    };
  }
  return rest;
}

/** The algorithm train() builds, in memory, iterated to the same timestep budget. */
async function inMemory(algo: Algo, timesteps: number): Promise<{ algorithm: TrainingAlgorithm; pool: RolloutPool }> {
  const pool = new RolloutPool(ENV, 0);
  const algorithm =
    algo === "es"
      ? new EsAlgorithm({ ...EsAlgorithm.defaults(), ...HYPER.es }, SEED, [0, 250], pool)
      : await PpoAlgorithm.create({ ...PpoAlgorithm.defaults(), ...HYPER.ppo }, SEED, ENV);
  while (algorithm.timesteps < timesteps) await algorithm.iterate();
  return { algorithm, pool };
}

/** Observations from the observation box, a few a little outside it (the clip path). */
function randomObservations(n: number): Float32Array[] {
  return observationsFrom(n, "round-trip-observations");
}

/** tfjs predictions of a model given raw observations, normalised as `spec` does. */
function predict(model: Awaited<ReturnType<typeof loadModelDir>>, spec: PolicySpec, obs: Float32Array[]): number[][] {
  const policy = new MlpPolicy(spec);
  const rows = obs.flatMap((o) => Array.from(policy.normalize(o, new Float64Array(5))));
  return tf.tidy(() =>
    (model.predict(tf.tensor2d(rows, [obs.length, 5])) as ReturnType<typeof tf.tensor2d>).arraySync(),
  );
}

type CliResult = Awaited<ReturnType<typeof runCliAsync>>;

/** Runs the built CLI without blocking, so that several runs (and a hung one) overlap. */
function cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCliAsync(args, { cwd: tmp, env: { ...process.env, NO_COLOR: "1", PROPAMM_DEBUG: "" }, timeoutMs });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What is wrong with a run that should be a bad-input exit (status 2, "error: ..." matching `message`, no stack trace), or null. */
function inputErrorProblem(args: string[], r: CliResult, message: RegExp | RegExp[]): string | null {
  const wrong: string[] = [];
  if (r.timedOut) wrong.push("did not exit (killed after the timeout)");
  if (r.status !== 2) wrong.push(`exit status ${r.status}, expected 2`);
  if (!/^error: /m.test(r.stderr)) wrong.push("no 'error: ...' line on stderr");
  for (const m of [message].flat()) if (!m.test(r.stderr)) wrong.push(`stderr does not match ${m}`);
  if (STACK_FRAME.test(r.stderr)) wrong.push("stderr has a stack trace");
  return wrong.length === 0 ? null : `${wrong.join("; ")}\n${show(args, r)}`;
}

/** Asserts every run is a clean bad-input exit, reporting all the ones that are not. */
function expectInputErrors(runs: { args: string[]; r: CliResult; message: RegExp | RegExp[] }[]): void {
  const problems = runs.map(({ args, r, message }) => inputErrorProblem(args, r, message)).filter((p) => p !== null);
  expect(problems, problems.join("\n\n")).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Save / load round trip
// ---------------------------------------------------------------------------------------------

describe("a checkpoint written by train() reads back exactly", () => {
  for (const algo of ["es", "ppo"] as const) {
    it(`${algo}: loadPolicy gives the in-memory policy bit for bit; tfjs loads the same network; state.json round-trips`, async () => {
      const out = join(tmp, `round-trip-${algo}`);
      const budget = algo === "es" ? 300 : 80;
      await train(options(algo, out, budget, { evalEvery: 0, checkpointEvery: 100 }));
      const { algorithm, pool } = await inMemory(algo, budget);
      try {
        const memSpec = algorithm.policySpec();
        const loaded = loadPolicy(out);
        expect(loaded.dir).toBe(resolveCheckpoint(out));
        expect(basename(loaded.dir)).toBe(`ckpt-${String(algorithm.iterations).padStart(6, "0")}`);

        // The plain-MLP policy: same numbers, same actions (Object.is) on many observations.
        expect(loaded.spec).toEqual(memSpec);
        const fromDisk = new MlpPolicy(loaded.spec);
        const fromMemory = new MlpPolicy(memSpec);
        for (const obs of randomObservations(500)) {
          const a = fromDisk.act(obs);
          const b = fromMemory.act(obs);
          for (let j = 0; j < 2; j++) expect(Object.is(a[j], b[j]), `obs ${obs}: ${a[j]} vs ${b[j]}`).toBe(true);
        }
        expect(loaded.meta).toEqual({
          sizes: [5, ...HYPER[algo].hidden, 2],
          activation: "tanh",
          obsClip: 10,
          obsNorm: memSpec.obsNorm,
          feeMinBps: 0,
          feeMaxBps: 250,
          decisionInterval: 100,
          epochLen: 250,
          observation: "seed",
        });

        // state.json: counters, observation statistics, RNG, optimizer state, config, env.
        const saved = readCheckpointState(loaded.dir);
        const live = await algorithm.checkpoint();
        expect(saved.format).toBe(CHECKPOINT_FORMAT);
        expect(saved.version).toBe(CHECKPOINT_VERSION);
        expect(saved.algo).toBe(algo);
        expect(saved.seed).toBe(SEED);
        expect(saved.env).toEqual(ENV);
        expect(saved.counters).toEqual({
          timesteps: algorithm.timesteps,
          episodes: algorithm.episodes,
          iterations: algorithm.iterations,
        });
        expect(saved.counters.timesteps).toBeGreaterThanOrEqual(budget);
        expect(saved.policy.obsNorm).toEqual(memSpec.obsNorm);
        expect(saved.policy.obsNorm.count).toBeGreaterThan(1);
        expect(saved.rng).toEqual(live.state.rng);
        expect(saved.config).toEqual(live.state.config);
        if (algo === "es") expect(saved.algoState).toEqual(live.state.algoState);
        else {
          const strip = (s: Record<string, unknown>) =>
            (s.optimizer as { name: string; values: number[]; shape: number[] }[]).map(({ values, shape }) => ({
              values,
              shape,
            }));
          expect(strip(saved.algoState)).toEqual(strip(live.state.algoState));
          expect(saved.algoState.logStd).toEqual(live.state.algoState.logStd);
        }
        // The files the algorithm would write now are the files on disk.
        for (const [file, data] of Object.entries(live.files)) {
          if (file.endsWith(".bin"))
            expect(Buffer.compare(readFileSync(join(loaded.dir, file)), data as Uint8Array)).toBe(0);
        }

        // tfjs: model.json + weights.bin load with tf.loadLayersModel and compute the same means.
        const model = await loadModelDir(tf, join(loaded.dir, "policy"));
        try {
          expect(Array.from(getFlatWeights(model))).toEqual(Array.from(flatFromSpec(memSpec)));
          const obs = randomObservations(200);
          const predicted = predict(model, memSpec, obs);
          obs.forEach((o, k) => {
            const a = fromMemory.act(o);
            for (let j = 0; j < 2; j++)
              expect(Math.abs(predicted[k][j] - a[j])).toBeLessThan(1e-5 * (1 + Math.abs(a[j])));
          });
        } finally {
          model.dispose();
        }
        if (algo === "ppo") {
          // The critic's files agree with each other too: tfjs and the plain reader see one network.
          const critic = await loadModelDir(tf, join(loaded.dir, "critic"));
          try {
            const flat = readModelWeights(join(loaded.dir, "critic")).flatMap((w) => Array.from(w.values));
            expect(Array.from(getFlatWeights(critic))).toEqual(flat);
            const criticSpec = specFromFlat([5, ...HYPER.ppo.hidden, 1], "tanh", flat, memSpec.obsNorm, 10);
            const obs = randomObservations(50);
            const predicted = predict(critic, criticSpec, obs);
            const plain = new MlpPolicy(criticSpec);
            obs.forEach((o, k) => {
              const v = plain.act(o)[0];
              expect(Math.abs(predicted[k][0] - v)).toBeLessThan(1e-5 * (1 + Math.abs(v)));
            });
          } finally {
            critic.dispose();
          }
        }
      } finally {
        await algorithm.close();
        await pool.close();
      }
    });
  }

  it("a random stream's saved state continues the stream exactly, spare normal included", () => {
    const a = new RandomStream("x", true);
    a.uniform();
    a.normal(); // leaves a spare normal
    const saved = JSON.parse(JSON.stringify(a.state()));
    expect(saved.hasSpare).toBe(true);
    const b = new RandomStream("some other name", saved);
    for (let i = 0; i < 50; i++) {
      expect(b.normal()).toBe(a.normal());
      expect(b.uniform()).toBe(a.uniform());
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Resume
// ---------------------------------------------------------------------------------------------

describe("resuming an interrupted run continues it exactly", () => {
  /** ~6 iterations in one go; the interrupted runs stop after 2, 3 and 4 and resume to the end. */
  const TOTAL = { es: 700, ppo: 150 };
  const CUTS = [2, 3, 4];

  /**
   * Whether stopping after `cut` iterations (with a kill mid-save on top) and resuming reproduces
   * the uninterrupted run `whole`: null if so, else what differs.
   */
  async function resumeDifference(algo: Algo, whole: string, cut: number): Promise<string | null> {
    const out = join(tmp, `cut-${algo}-${cut}`);
    const cutAt = trainLines(whole)[cut - 1].timesteps;
    await train(options(algo, out, cutAt));
    expect(trainLines(out)).toHaveLength(cut);
    const previous = resolveCheckpoint(out);
    expect(basename(previous)).toBe(`ckpt-${String(cut).padStart(6, "0")}`);

    // A kill in the middle of the next save: a half-written checkpoint directory and a LATEST
    // replacement that was never renamed into place.
    const partial = join(out, `.ckpt-${String(cut + 1).padStart(6, "0")}.partial-123`);
    mkdirSync(join(partial, "policy"), { recursive: true });
    writeFileSync(join(partial, "state.json"), '{"format":"propamm-checkpoint","vers');
    writeFileSync(join(partial, "policy", "weights.bin"), Buffer.alloc(7));
    writeFileSync(join(out, ".LATEST.tmp-1"), `ckpt-${String(cut + 1).padStart(6, "0")}\n`);

    const log: string[] = [];
    await train(options(algo, out, TOTAL[algo], { resume: true, log: (line) => log.push(line) }));
    // It resumed from the last complete checkpoint, and the next save cleared the partial one.
    expect(log.join("\n")).toContain(`resuming ${previous} at ${cutAt} timesteps`);
    expect(existsSync(partial)).toBe(false);
    expect(basename(resolveCheckpoint(out))).toBe(basename(resolveCheckpoint(whole)));

    const a = metrics(out);
    const b = metrics(whole);
    const line = a.findIndex((m, i) => JSON.stringify(m) !== JSON.stringify(b[i]));
    if (line >= 0 || a.length !== b.length) {
      return `cut after ${cut}: metrics.jsonl line ${line + 1} differs\n  resumed ${JSON.stringify(a[line])}\n  whole   ${JSON.stringify(b[line])}`;
    }
    for (const sub of algo === "ppo" ? ["policy", "critic"] : ["policy"]) {
      if (Buffer.compare(latestWeights(out, sub), latestWeights(whole, sub)) !== 0)
        return `cut after ${cut}: final ${sub}/weights.bin differs`;
    }
    if (JSON.stringify(comparableState(out)) !== JSON.stringify(comparableState(whole)))
      return `cut after ${cut}: final state.json differs`;
    return null;
  }

  for (const algo of ["es", "ppo"] as const) {
    it(`${algo}: N iterations + resume to N+M equal N+M in one go (metrics, weights, state), after a kill mid-save`, async () => {
      const whole = join(tmp, `whole-${algo}`);
      await train(options(algo, whole, TOTAL[algo]));
      expect(trainLines(whole).length).toBeGreaterThanOrEqual(CUTS.at(-1)! + 2);
      const differences: string[] = [];
      for (const cut of CUTS) {
        const d = await resumeDifference(algo, whole, cut);
        if (d) differences.push(d);
      }
      expect(differences, differences.join("\n")).toEqual([]);
    });
  }

  it("train without resume on an existing run folder is refused and leaves it untouched", async () => {
    const out = join(tmp, "existing");
    await train(options("es", out, 100, { evalEvery: 0 }));
    const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
    const latest = readFileSync(join(out, "LATEST"), "utf8");
    const attempt = train(options("es", out, 10_000));
    await expect(attempt).rejects.toThrow(CheckpointError);
    await expect(attempt).rejects.toThrow(/already holds a training run: pass --resume to continue it/);
    expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(before);
    expect(readFileSync(join(out, "LATEST"), "utf8")).toBe(latest);
  });
});

// ---------------------------------------------------------------------------------------------
// Corrupted checkpoints
// ---------------------------------------------------------------------------------------------

interface Corruption {
  name: string;
  /** Damages the run folder `out` (whose latest checkpoint is `dir`). */
  damage: (out: string, dir: string) => void;
  /** The message, and the file it must name (relative to the run folder). */
  message: RegExp;
  file: string;
  /** Also run through `propamm eval`. */
  cli?: boolean;
}

function editState(dir: string, edit: (s: Record<string, unknown>) => void): void {
  const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, unknown>;
  edit(s);
  writeFileSync(join(dir, "state.json"), JSON.stringify(s));
}

const CORRUPTIONS: Corruption[] = [
  {
    name: "truncated weights.bin",
    damage: (_out, dir) =>
      truncateSync(join(dir, "policy", "weights.bin"), statSync(join(dir, "policy", "weights.bin")).size - 6),
    message: /weights\.bin is truncated: \d+ bytes, the manifest needs more/,
    file: "policy/weights.bin",
    cli: true,
  },
  {
    name: "weights.bin with trailing bytes",
    damage: (_out, dir) => appendFileSync(join(dir, "policy", "weights.bin"), Buffer.alloc(8)),
    message: /weights\.bin has \d+ bytes, the manifest describes \d+/,
    file: "policy/weights.bin",
  },
  {
    name: "missing weights.bin",
    damage: (_out, dir) => rmSync(join(dir, "policy", "weights.bin")),
    message: /weights\.bin is missing/,
    file: "policy/weights.bin",
  },
  {
    name: "model.json that is not JSON",
    damage: (_out, dir) => writeFileSync(join(dir, "policy", "model.json"), "{ not json"),
    message: /model\.json is missing or corrupted/,
    file: "policy/model.json",
  },
  {
    name: "invalid JSON in state.json",
    damage: (_out, dir) => writeFileSync(join(dir, "state.json"), '{"format": "propamm-checkpoint", "version": 1,'),
    message: /state\.json is corrupted: not valid JSON/,
    file: "state.json",
    cli: true,
  },
  {
    name: "wrong format",
    damage: (_out, dir) => editState(dir, (s) => (s.format = "some-other-tool")),
    message: /state\.json is not a prop-amm gym checkpoint/,
    file: "state.json",
    cli: true,
  },
  {
    name: "wrong version",
    damage: (_out, dir) => editState(dir, (s) => (s.version = 99)),
    message: /state\.json has checkpoint version 99; this build reads version 1/,
    file: "state.json",
    cli: true,
  },
  {
    name: "malformed policy description",
    damage: (_out, dir) =>
      editState(dir, (s) => ((s.policy as { obsNorm: { mean: number[] } }).obsNorm.mean = [0, 0, 0])),
    message: /state\.json: the policy description is missing or malformed/,
    file: "state.json",
  },
  {
    name: "a policy whose inputs do not fit its observation",
    damage: (_out, dir) => editState(dir, (s) => ((s.policy as { observation: string }).observation = "extended")),
    message: /state\.json: the policy takes 5 inputs, the extended observation has 17/,
    file: "state.json",
  },
  {
    name: "an unknown observation",
    damage: (_out, dir) => editState(dir, (s) => ((s.policy as { observation: string }).observation = "pixels")),
    message: /state\.json: unknown policy observation 'pixels' \(seed, seed-vol, extended\)/,
    file: "state.json",
  },
  {
    name: "LATEST naming a missing checkpoint",
    damage: (out) => writeFileSync(join(out, "LATEST"), "ckpt-000077\n"),
    message: /LATEST names ckpt-000077, which has no state\.json/,
    file: "LATEST",
    cli: true,
  },
  {
    name: "LATEST with garbage",
    damage: (out) => writeFileSync(join(out, "LATEST"), "../../etc\n"),
    message: /LATEST is corrupted: it names '\.\.\/\.\.\/etc'/,
    file: "LATEST",
  },
];

describe("a corrupted checkpoint is refused with a message naming the file and the problem", () => {
  let good: string;
  const variants = new Map<string, string>();
  beforeAll(async () => {
    good = join(tmp, "good");
    await train(options("es", good, 200, { evalEvery: 0 }));
    for (const c of CORRUPTIONS) {
      const out = join(tmp, `corrupt-${variants.size}`);
      cpSync(good, out, { recursive: true });
      c.damage(out, resolveCheckpoint(out));
      variants.set(c.name, out);
    }
  });

  for (const c of CORRUPTIONS) {
    it(`${c.name}: loadPolicy and train --resume refuse it`, async () => {
      const out = variants.get(c.name)!;
      let err: unknown;
      try {
        loadPolicy(out);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CheckpointError);
      const message = (err as Error).message;
      expect(message).toMatch(c.message);
      // Names the file by its full path (LATEST: under the folder as the caller gave it).
      const checkpointDir = join(out, basename(resolveCheckpoint(good)));
      expect(message).toContain(c.file === "LATEST" ? join(out, "LATEST") : join(checkpointDir, c.file));

      // train({resume}) refuses the same way (in-process rollouts: no worker threads to leak).
      await expect(train(options("es", out, 10_000, { resume: true }))).rejects.toThrow(c.message);
      expect(readdirSync(out).filter((f) => f.startsWith("ckpt-"))).toEqual(
        readdirSync(good).filter((f) => f.startsWith("ckpt-")),
      );
    });
  }

  it("readCheckpointState refuses state.json problems directly", () => {
    for (const c of CORRUPTIONS.filter((x) => x.file === "state.json")) {
      const dir = resolveCheckpoint(variants.get(c.name)!);
      expect(() => readCheckpointState(dir)).toThrow(CheckpointError);
      expect(() => readCheckpointState(dir)).toThrow(c.message);
    }
    expect(() => readCheckpointState(join(tmp, "nowhere"))).toThrow(/cannot read .*nowhere.*state\.json/);
    expect(() => resolveCheckpoint(join(tmp, "nowhere"))).toThrow(/checkpoint not found/);
    mkdirSync(join(tmp, "empty-dir"), { recursive: true });
    expect(() => loadPolicy(join(tmp, "empty-dir"))).toThrow(
      /is not a checkpoint: it has neither LATEST nor state\.json/,
    );
  });

  it("resume refuses an algorithm mismatch and a folder without a checkpoint", async () => {
    await expect(train(options("ppo", good, 10_000, { resume: true }))).rejects.toThrow(
      /--resume: .*good was trained with --algo es, not ppo/,
    );
    const empty = join(tmp, "no-run-here");
    mkdirSync(empty, { recursive: true });
    await expect(train(options("es", empty, 10_000, { resume: true }))).rejects.toThrow(
      /--resume: .*no-run-here has no checkpoint to resume \(no LATEST file\)/,
    );
  });

  it("propamm eval <corrupted> exits 2 with 'error: ...' naming the file, no stack trace", async () => {
    expect(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`).toBe(true);
    const cases = CORRUPTIONS.filter((c) => c.cli);
    const runs = await Promise.all(
      cases.map((c) => {
        const args = ["eval", variants.get(c.name)!, "--simulations", "2", "--steps", "200", "--no-plots"];
        return cli(args).then((r) => ({ c, args, r }));
      }),
    );
    // "error: <the file's full path> <the problem>", as loadPolicy says it.
    const fileOf = (c: Corruption): string => {
      const out = variants.get(c.name)!;
      return c.file === "LATEST" ? join(out, "LATEST") : join(out, basename(resolveCheckpoint(good)), c.file);
    };
    expectInputErrors(
      runs.map(({ c, args, r }) => ({
        args,
        r,
        message: [c.message, new RegExp(`^error: ${escapeRegExp(fileOf(c))} `, "m")],
      })),
    );
    // The intact folder evaluates fine (so the failures above are about the damage).
    const args = ["eval", good, "--simulations", "2", "--steps", "200", "--epoch-len", "250", "--no-plots"];
    const ok = await cli(args);
    expect(ok.status, show(args, ok)).toBe(0);
  });

  it("propamm train --resume on a corrupted checkpoint with worker threads exits 2 (does not hang)", async () => {
    const c = CORRUPTIONS[0];
    const out = join(tmp, "corrupt-resume-workers");
    cpSync(variants.get(c.name)!, out, { recursive: true });
    const args = ["train", "--algo", "es", "--resume", "--out", out, "--timesteps", "5000", "--workers", "2"];
    expectInputErrors([{ args, r: await cli(args, 20_000), message: c.message }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------------------

describe("training is deterministic", () => {
  // Five held-out episodes: more than the worker threads, so evaluation is split across them.
  const det = (over: Partial<TrainOptions> = {}): Partial<TrainOptions> => ({ evalEpisodes: 5, ...over });

  it("es: two runs with one seed give identical metrics and weights; another seed differs", async () => {
    const a = join(tmp, "det-es-a");
    const b = join(tmp, "det-es-b");
    await train(options("es", a, 400, det()));
    await train(options("es", b, 400, det()));
    const reference = metrics(a);
    expect(reference.filter((m) => m.type === "train").length).toBeGreaterThanOrEqual(3);
    expect(reference.filter((m) => m.type === "eval").length).toBeGreaterThanOrEqual(3);
    expect(metrics(b)).toEqual(reference);
    expect(Buffer.compare(latestWeights(b), latestWeights(a))).toBe(0);
    expect(comparableState(b)).toEqual(comparableState(a));
    const other = join(tmp, "det-es-other-seed");
    await train(options("es", other, 400, det({ seed: SEED + 1 })));
    expect(metrics(other)).not.toEqual(reference);
  });

  it("es: 0 or 2 worker threads give identical results (training and held-out evaluation)", async () => {
    const a = join(tmp, "det-es-a");
    if (!existsSync(a)) await train(options("es", a, 400, det()));
    const threads = join(tmp, "det-es-threads");
    await train(options("es", threads, 400, det({ workers: 2 })));
    const reference = metrics(a);
    const got = metrics(threads);
    const kind = (t: string) => (ms: Record<string, unknown>[]) => ms.filter((m) => m.type === t);
    expect(kind("train")(got)).toEqual(kind("train")(reference));
    expect(Buffer.compare(latestWeights(threads), latestWeights(a))).toBe(0);
    expect(comparableState(threads)).toEqual(comparableState(a));
    expect(kind("eval")(got), "held-out evaluation with 2 workers vs in-process").toEqual(kind("eval")(reference));
  });

  it("ppo: two runs with one seed give identical metrics and weights", async () => {
    const a = join(tmp, "det-ppo-a");
    const b = join(tmp, "det-ppo-b");
    await train(options("ppo", a, 100));
    await train(options("ppo", b, 100));
    expect(trainLines(a).length).toBeGreaterThanOrEqual(3);
    expect(metrics(b)).toEqual(metrics(a));
    expect(Buffer.compare(latestWeights(b), latestWeights(a))).toBe(0);
    expect(Buffer.compare(latestWeights(b, "critic"), latestWeights(a, "critic"))).toBe(0);
    expect(comparableState(b)).toEqual(comparableState(a));
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

/** The records of a TFRecord file, each checked against its masked CRCs. */
function tfRecords(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < file.length) {
    const len = Number(file.readBigUInt64LE(o));
    expect(file.readUInt32LE(o + 8)).toBe(maskedCrc(file.subarray(o, o + 8)));
    const data = file.subarray(o + 12, o + 12 + len);
    expect(file.readUInt32LE(o + 12 + len)).toBe(maskedCrc(data));
    out.push(data);
    o += 16 + len;
  }
  expect(o).toBe(file.length);
  return out;
}

describe("propamm train (the built CLI)", () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it("trains, logs train/eval metrics, writes TensorBoard events and LATEST, and equals train() in-process", async () => {
    const out = join(tmp, "cli-es");
    const args = ["train", "--algo", "es", "--timesteps", "300", "--out", out];
    args.push("--steps", "500", "--epoch-len", "250", "--eval-every", "1", "--eval-episodes", "2");
    const r = await cli(args);
    const detail = show(args, r);
    expect(r.status, detail).toBe(0);
    expect(r.stdout, detail).toMatch(/^propamm train: es, 300 timesteps, opponents starter, seed 0, out /m);
    expect(r.stdout, detail).toMatch(/^tfjs backend: \S.*; rollout workers: \d+$/m);
    expect(r.stdout, detail).toMatch(/^eval @ \d+ steps on held-out seeds 500000\.\.500001: return /m);
    expect(r.stderr, detail).not.toMatch(STACK_FRAME);

    const lines = metrics(out);
    const trainRecords = lines.filter((m) => m.type === "train");
    const evalRecords = lines.filter((m) => m.type === "eval");
    expect(trainRecords.length).toBeGreaterThanOrEqual(1);
    expect(evalRecords).toHaveLength(trainRecords.length);
    expect(lines.every((m) => m.type === "train" || m.type === "eval")).toBe(true);
    for (const m of trainRecords) {
      for (const k of ["iteration", "timesteps", "episodes", "meanReturn", "meanEdge", "meanEdgeVsNormalizer"])
        expect(Number.isFinite(m[k]), `${k} in ${JSON.stringify(m)}`).toBe(true);
    }
    for (const m of evalRecords) expect(m.seeds).toEqual([HELD_OUT_SEED_BASE, HELD_OUT_SEED_BASE + 1]);
    expect(trainRecords.at(-1)!.timesteps as number).toBeGreaterThanOrEqual(300);

    const latest = readFileSync(join(out, "LATEST"), "utf8").trim();
    expect(latest).toMatch(/^ckpt-\d{6}$/);
    expect(existsSync(join(out, latest, "state.json"))).toBe(true);
    expect(loadPolicy(out).state.counters.timesteps).toBe(trainRecords.at(-1)!.timesteps);

    const events = readdirSync(join(out, "tb")).filter((f) => f.startsWith("events.out.tfevents."));
    expect(events).toHaveLength(1);
    const records = tfRecords(readFileSync(join(out, "tb", events[0])));
    const text = records.map((d) => d.toString("latin1")).join("\n");
    expect(records[0].toString("latin1")).toContain("brain.Event:2");
    for (const tag of ["train/meanReturn", "train/timesteps", "eval/meanReturn", "eval/meanEdgeVsNormalizer"])
      expect(text).toContain(tag);

    // The same run in-process, from the env the CLI recorded: identical metrics and weights.
    const state = readCheckpointState(resolveCheckpoint(out));
    const same = join(tmp, "cli-es-in-process");
    await train({
      algo: "es",
      timesteps: 300,
      seed: 0,
      out: same,
      resume: false,
      workers: 0,
      env: state.env,
      hyper: {},
      evalEvery: 1,
      evalEpisodes: 2,
      checkpointEvery: 10,
    });
    expect(metrics(same)).toEqual(lines);
    expect(Buffer.compare(latestWeights(same), latestWeights(out))).toBe(0);
  });

  it("ES trains on the extended observation at every trade unless told; PPO on the seed observation every 100 steps", async () => {
    const small = ["--timesteps", "40", "--steps", "200", "--epoch-len", "100", "--eval-every", "0", "--workers", "0"];
    const es = ["--hp", "population=2", "--hp", "seedsPerGeneration=1", "--hp", "hidden="];
    const runs: [string[], { observation: string; decisionInterval: number }][] = [
      [["--algo", "es", ...es], { observation: "extended", decisionInterval: 1 }],
      [
        ["--algo", "es", ...es, "--observation", "seed", "--decision-interval", "20"],
        { observation: "seed", decisionInterval: 20 },
      ],
      [["--algo", "ppo", "--hp", "numEnvs=2", "--hp", "hidden=8"], { observation: "seed", decisionInterval: 100 }],
      [
        ["--algo", "ppo", "--hp", "numEnvs=2", "--hp", "hidden=8", "--observation", "extended"],
        { observation: "extended", decisionInterval: 100 },
      ],
    ];
    const results = await Promise.all(
      runs.map(([extra], i) => {
        const args = ["train", ...small, ...extra, "--out", join(tmp, `cli-defaults-${i}`)];
        return cli(args, 120_000).then((r) => ({ args, r }));
      }),
    );
    results.forEach(({ args, r }, i) => {
      expect(r.status, show(args, r)).toBe(0);
      const { env } = readCheckpointState(resolveCheckpoint(join(tmp, `cli-defaults-${i}`)));
      expect({ observation: env.observation, decisionInterval: env.decisionInterval }, args.join(" ")).toEqual(
        runs[i][1],
      );
      // Decisions are counted per episode of 200 steps: at every trade there are far more than 2.
      const episodes = metrics(join(tmp, `cli-defaults-${i}`)).at(-1)!;
      if (runs[i][1].decisionInterval === 1)
        expect(episodes.timesteps as number, args.join(" ")).toBeGreaterThan(20 * (episodes.episodes as number));
    });
  }, 180_000);

  it("--help lists each algorithm's hyperparameters, in config order, with their defaults and docs", async () => {
    const args = ["train", "--help"];
    const r = await cli(args);
    expect(r.status, show(args, r)).toBe(0);
    const [, afterEs] = r.stdout.split(/^ {2}--algo es:$/m);
    expect(afterEs, show(args, r)).toBeDefined();
    const [esPart, ppoPart] = afterEs.split(/^ {2}--algo ppo:$/m);
    const sections: [string, Record<string, unknown>, Record<string, { doc: string }>][] = [
      [esPart, { ...EsAlgorithm.defaults() }, ES_HYPERPARAMETERS],
      [ppoPart, { ...PpoAlgorithm.defaults() }, PPO_HYPERPARAMETERS],
    ];
    for (const [text, defaults, table] of sections) {
      const rows = text
        .trim()
        .split("\n")
        .map((line) => /^(\w+)=(\S*) +(.+)$/.exec(line.trim()));
      expect(
        rows.every((m) => m !== null),
        text,
      ).toBe(true);
      expect(rows.map((m) => m![1])).toEqual(Object.keys(defaults));
      for (const m of rows) {
        const d = defaults[m![1]];
        // The printed default is the config's default, lists in --hp's a,b form.
        // An empty list prints as nothing (`hidden=`), as --hp takes it.
        if (Array.isArray(d)) expect(m![2] === "" ? [] : m![2].split(",").map(Number), m![0]).toEqual(d);
        else expect(m![2], m![0]).toBe(String(d));
        expect(m![3]).toBe(table[m![1]].doc);
      }
    }
  });

  it("bad input exits 2 with a clear message and writes nothing", async () => {
    const cases: [string[], RegExp][] = [
      [["--algo", "sac"], /--algo must be es or ppo \(got 'sac'\)/],
      [["--algo", "es", "--hp", "unknown=1"], /unknown hyperparameter 'unknown' \(known: hidden, .*population/],
      [["--algo", "ppo", "--hp", "unknown=1"], /unknown hyperparameter 'unknown' \(known: hidden, .*numEnvs/],
      [["--algo", "es", "--hp", "population=abc"], /hyperparameter 'population' must be a number/],
      [["--timesteps", "0"], /--timesteps.*expected an integer >= 1/],
      [["--hp", "population"], /--hp expects key=value \(got 'population'\)/],
      // A value the trainer rejects is bad input too (in-process rollouts, so this is about the exit code).
      [
        ["--algo", "es", "--hp", "population=7", "--workers", "0"],
        /population must be an even (?:number|integer) >= 2 \(got 7\)/,
      ],
    ];
    const runs = await Promise.all(
      cases.map(([extra, message], i) => {
        const out = join(tmp, `cli-bad-${i}`);
        const args = ["train", "--timesteps", "100", "--steps", "200", "--out", out, ...extra];
        return cli(args, 20_000).then((r) => ({ args, r, message, out }));
      }),
    );
    expectInputErrors(runs);
    for (const { out } of runs) expect(existsSync(join(out, "LATEST")), out).toBe(false);
  });

  it("refuses to train over an existing run without --resume", async () => {
    const out = join(tmp, "cli-existing");
    await train(options("es", out, 100, { evalEvery: 0 }));
    const args = ["train", "--algo", "es", "--timesteps", "100", "--steps", "200", "--out", out];
    const message = /already holds a training run: pass --resume to continue it, or choose another --out/;
    expectInputErrors([{ args, r: await cli(args, 20_000), message }]);
  });
});
