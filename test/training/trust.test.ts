/**
 * Training a user can trust with their time, as a hostile user tries it (issue 12, part 6):
 *
 *  - a run whose folder cannot hold its logs exits 2 at once (worker threads closed), and a new
 *    run that fails before its first iteration leaves nothing behind: the folder can be reused;
 *  - `--resume` refuses environment, seed and hyperparameter options that differ from the
 *    checkpoint's, accepts equal ones, and the banner prints the checkpoint's values;
 *  - one run per folder: a lock file names the holder; a stale lock of a dead process is taken over;
 *  - checkpoints with NaN weights or files that do not match state.json's checksums are refused by
 *    loadPolicy, `eval`, `export` and `run`; checkpoints from before checksums still load;
 *  - the budget is said up front and the progress is measured against where the run really stops;
 *  - `--workers` above the core count is capped, with a warning.
 *
 * Runs are tiny (200-500-step simulations, 8-candidate generations).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CheckpointError, loadPolicy, readCheckpointState, resolveCheckpoint } from "../../agents/checkpoint.js";
import type { EnvConfig } from "../../gym/env.js";
import { LOCK_FILE, lockRunFolder } from "../../training/run-lock.js";
import { train, type TrainOptions, type TrainStart } from "../../training/train.js";
import { requireBuiltCli, runCliAsync, showRun as show, STACK_FRAME } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-trust-");
const ENV: Partial<EnvConfig> & { opponents: string[] } = {
  opponents: ["starter"],
  rewardBaseline: "normalizer",
  sim: { steps: 500, epochLen: 250 },
};

function options(out: string, timesteps: number, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    algo: "es",
    timesteps,
    seed: 3,
    out,
    resume: false,
    workers: 0,
    env: ENV,
    hyper: { hidden: [8, 8], population: 8, seedsPerGeneration: 2 },
    evalEvery: 0,
    evalEpisodes: 2,
    checkpointEvery: 2,
    ...over,
  };
}

type CliResult = Awaited<ReturnType<typeof runCliAsync>>;
function cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCliAsync(args, { cwd: tmp, env: { ...process.env, NO_COLOR: "1", PROPAMM_DEBUG: "" }, timeoutMs });
}

/** A clean bad-input exit: status 2, "error: ..." matching `message`, no stack trace. */
function expectInputError(args: string[], r: CliResult, message: RegExp): void {
  const detail = show(args, r);
  expect(r.timedOut, detail).toBe(false);
  expect(r.status, detail).toBe(2);
  expect(r.stderr, detail).toMatch(/^error: /m);
  expect(r.stderr, detail).toMatch(message);
  expect(r.stderr, detail).not.toMatch(STACK_FRAME);
}

/** Each checkpoint directory's file list under a run folder, and the folder's own entries. */
function listing(out: string): string[] {
  return readdirSync(out).sort();
}

beforeAll(() => {
  requireBuiltCli();
});

describe("a run that cannot start exits promptly and leaves the folder as it was", () => {
  it("train --out whose logs cannot be written (tb is a file) exits 2 with worker threads, leaving only what was there", async () => {
    const out = join(tmp, "tb-blocked");
    mkdirSync(out);
    writeFileSync(join(out, "tb"), "a file where the TensorBoard folder goes\n");
    const args = ["train", "--timesteps", "100000000", "--steps", "500", "--workers", "2", "--out", out];
    const r = await cli(args, 30_000);
    expectInputError(args, r, /--out: cannot write the run's logs in .*tb-blocked: a part of the path is a file/);
    expect(listing(out)).toEqual(["tb"]);
  });

  it("a new run that fails in its first iteration removes its checkpoint and LATEST; the folder is reusable", async () => {
    const out = join(tmp, "fails-first");
    // The opponent cannot be loaded: the failure comes from the first rollout, after the
    // initial checkpoint was written.
    const bad = options(out, 200, { env: { ...ENV, opponents: [join(tmp, "no-such-strategy.ts")] } });
    await expect(train(bad)).rejects.toThrow(/no-such-strategy/);
    expect(existsSync(out)).toBe(false);

    // A folder that existed keeps what it had, and nothing else.
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine\n");
    await expect(train(bad)).rejects.toThrow(/no-such-strategy/);
    expect(listing(out)).toEqual(["notes.txt"]);

    // The same folder then takes a run.
    await train(options(out, 100));
    expect(listing(out)).toEqual(["LATEST", "ckpt-000000", "ckpt-000001", "metrics.jsonl", "notes.txt", "tb"]);
  });

  it("a run that fails after iterating keeps its checkpoints, to be resumed", async () => {
    const out = join(tmp, "fails-later");
    await train(options(out, 100));
    const before = readFileSync(join(out, "LATEST"), "utf8");
    await expect(
      train(
        options(out, 100_000, {
          resume: true,
          env: { ...ENV, opponents: ["fixed:30"] },
          given: [{ key: "env.opponents", flag: "--opponents" }],
        }),
      ),
    ).rejects.toThrow(CheckpointError);
    expect(readFileSync(join(out, "LATEST"), "utf8")).toBe(before);
  });
});

describe("--resume keeps the run's environment, seed and hyperparameters, and says so", () => {
  let run: string;
  beforeAll(async () => {
    run = join(tmp, "resume-base");
    const args = ["train", "--timesteps", "100", "--steps", "500", "--epoch-len", "250", "--workers", "0"];
    args.push("--hp", "population=8", "--hp", "seedsPerGeneration=2", "--hp", "hidden=8,8", "--eval-every", "0");
    const r = await cli([...args, "--opponents", "fixed:40", "--out", run]);
    expect(r.status, show(args, r)).toBe(0);
  });

  it("refuses --opponents, a simulation option, a pin, --seed and --hp that differ, naming each and the run's value", async () => {
    const cases: [string[], RegExp][] = [
      [["--opponents", "starter"], /--opponents starter \(the run has fixed:40\)/],
      [["--opponents", "fixed:40", "fixed:40"], /--opponents fixed:40 fixed:40 \(the run has fixed:40\)/],
      [["--steps", "600"], /--steps 600 \(the run has 500\)/],
      [["--sigma", "0.002"], /--sigma 0.002 \(the run has \(not set\)\)/],
      // The run took ES's default, a decision at every trade.
      [["--decision-interval", "50"], /--decision-interval 50 \(the run has 1\)/],
      [["--seed", "4"], /--seed 4 \(the run has 0\)/],
      [["--hp", "population=4"], /--hp population= 4 \(the run has 8\)/],
      [["--reward-baseline", "none"], /--reward-baseline none \(the run has normalizer\)/],
    ];
    const before = readFileSync(join(run, "metrics.jsonl"), "utf8");
    // One after another: each run takes the folder's lock before it reads the checkpoint, so
    // runs started together would refuse each other with "in use by another training run".
    const runs: { args: string[]; r: Awaited<ReturnType<typeof cli>>; message: RegExp }[] = [];
    for (const [extra, message] of cases) {
      const args = ["train", "--resume", "--out", run, "--timesteps", "100000", "--workers", "0", ...extra];
      runs.push({ args, r: await cli(args, 30_000), message });
    }
    for (const { args, r, message } of runs) {
      expectInputError(args, r, message);
      expect(r.stderr).toMatch(/continues with its own environment, seed and hyperparameters/);
    }
    expect(readFileSync(join(run, "metrics.jsonl"), "utf8")).toBe(before);
  });

  it("accepts options equal to the run's; the banner prints the run's opponents and seed, not the defaults", async () => {
    const out = join(tmp, "resume-ok");
    cpSync(run, out, { recursive: true });
    const args = ["train", "--resume", "--out", out, "--timesteps", "150", "--workers", "0", "--steps", "500"];
    args.push("--opponents", "fixed:40", "--hp", "population=8");
    const r = await cli(args, 60_000);
    expect(r.status, show(args, r)).toBe(0);
    expect(r.stdout).toMatch(
      /^propamm train: es, 150 timesteps \(resuming at \d+\), opponents fixed:40, seed 0, out /m,
    );
    // Without --opponents, the defaults (starter) are not what the banner shows.
    const again = join(tmp, "resume-ok-2");
    cpSync(run, again, { recursive: true });
    const bare = ["train", "--resume", "--out", again, "--timesteps", "150", "--workers", "0"];
    const r2 = await cli(bare, 60_000);
    expect(r2.status, show(bare, r2)).toBe(0);
    expect(r2.stdout).toMatch(/opponents fixed:40, seed 0, out /);
    expect(r2.stdout).not.toMatch(/opponents starter/);
  });
});

describe("one training run per folder", () => {
  it("a second concurrent run on one folder is refused naming the holder; the first finishes alone", async () => {
    const out = join(tmp, "locked");
    await train(options(out, 100));
    const first = train(options(out, 300, { resume: true }));
    const second = train(options(out, 300, { resume: true }));
    await expect(second).rejects.toThrow(CheckpointError);
    await expect(second).rejects.toThrow(
      new RegExp(`in use by another training run: pid ${process.pid} on ${hostname()}, started .*${LOCK_FILE}`),
    );
    await first;
    // One run's rows: the iteration numbers of metrics.jsonl never repeat.
    const iterations = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { iteration: number }).iteration);
    expect(new Set(iterations).size).toBe(iterations.length);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it("the CLI refuses a folder held by a live process, exit 2 naming its pid", async () => {
    const out = join(tmp, "held-by-cli");
    mkdirSync(out);
    const lock = lockRunFolder(out);
    try {
      const args = ["train", "--timesteps", "100", "--steps", "200", "--workers", "2", "--out", out];
      expectInputError(
        args,
        await cli(args, 30_000),
        new RegExp(`in use by another training run: pid ${process.pid} `),
      );
    } finally {
      lock.release();
    }
    expect(listing(out)).toEqual([]);
  });

  it("a stale lock of a dead process is taken over", async () => {
    const out = join(tmp, "stale");
    mkdirSync(out);
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const pid = Number(dead.stdout);
    expect(Number.isSafeInteger(pid) && pid > 0).toBe(true);
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: "then" }) + "\n");
    const lock = lockRunFolder(out);
    expect(lock.tookOver?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(join(out, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    // And train() itself runs over such a lock.
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: "then" }) + "\n");
    await train(options(out, 100));
    expect(existsSync(join(out, "LATEST"))).toBe(true);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });
});

describe("checkpoints with NaN weights or files that do not match their checksums are refused", () => {
  let good: string;
  /** Writes float `value` at float index `index` of the checkpoint's policy weights. */
  const poke = (out: string, index: number, value: number): void => {
    const file = join(resolveCheckpoint(out), "policy", "weights.bin");
    const bytes = readFileSync(file);
    bytes.writeFloatLE(value, 4 * index);
    writeFileSync(file, bytes);
  };
  const dropChecksums = (out: string): void => {
    const file = join(resolveCheckpoint(out), "state.json");
    const s = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    delete s.checksums;
    writeFileSync(file, JSON.stringify(s));
  };
  beforeAll(async () => {
    good = join(tmp, "good");
    await train(options(good, 100));
  });

  it("state.json carries a sha256 of each weights file", () => {
    const dir = resolveCheckpoint(good);
    const s = readCheckpointState(dir);
    expect(Object.keys(s.checksums!).sort()).toEqual(["policy/model.json", "policy/weights.bin"]);
    const sha = spawnSync("sha256sum", [join(dir, "policy", "weights.bin")], { encoding: "utf8" }).stdout.split(" ")[0];
    expect(s.checksums!["policy/weights.bin"]).toBe(sha);
    expect(() => loadPolicy(good)).not.toThrow();
  });

  it("NaN or infinite weights are refused, with or without checksums; a changed finite weight fails the checksum", () => {
    const cases: [string, (out: string) => void, RegExp][] = [
      [
        "nan",
        (o) => poke(o, 3, NaN),
        /weights\.bin: weight \S+ holds NaN at index 3: a policy with NaN or infinite weights cannot be used/,
      ],
      ["nan-old", (o) => (poke(o, 3, NaN), dropChecksums(o)), /holds NaN at index 3/],
      ["inf-old", (o) => (poke(o, 0, -Infinity), dropChecksums(o)), /holds -Infinity at index 0/],
      ["changed", (o) => poke(o, 5, 0.123), /weights\.bin does not match its checksum in state\.json/],
    ];
    for (const [name, damage, message] of cases) {
      const out = join(tmp, `damaged-${name}`);
      cpSync(good, out, { recursive: true });
      damage(out);
      expect(() => loadPolicy(out), name).toThrow(CheckpointError);
      expect(() => loadPolicy(out), name).toThrow(message);
    }
    // A finite change without checksums (an old checkpoint) is not detectable, and loads.
    const old = join(tmp, "damaged-finite-old");
    cpSync(good, old, { recursive: true });
    poke(old, 5, 0.123);
    dropChecksums(old);
    expect(loadPolicy(old).spec.layers[0].kernel[5]).toBeCloseTo(0.123, 6);
  });

  it("eval, export, run and train --resume refuse a NaN checkpoint with exit 2", async () => {
    const out = join(tmp, "nan-cli");
    cpSync(good, out, { recursive: true });
    poke(out, 2, NaN);
    const quick = ["--simulations", "2", "--steps", "200"];
    const cases = [
      ["eval", out, ...quick, "--no-plots"],
      ["export", out, "-o", join(tmp, "nan-policy.ts")],
      ["run", out, "starter", ...quick],
      ["train", "--resume", "--out", out, "--timesteps", "100000", "--workers", "2"],
    ];
    const runs = await Promise.all(cases.map(async (args) => ({ args, r: await cli(args, 30_000) })));
    for (const { args, r } of runs) expectInputError(args, r, /holds NaN at index 2/);
    expect(existsSync(join(tmp, "nan-policy.ts"))).toBe(false);
  });

  it("a checkpoint written before checksums existed still loads (the export fixture)", () => {
    const fixture = new URL("../fixtures/export/es-run", import.meta.url).pathname;
    const dir = resolveCheckpoint(fixture);
    expect(readCheckpointState(dir).checksums).toBeUndefined();
    expect(loadPolicy(fixture).spec.layers.length).toBeGreaterThan(0);
    expect(basename(dir)).toMatch(/^ckpt-\d{6}$/);
  });
});

describe("the budget is said up front, and the progress counts to where the run stops", () => {
  it("onStart bounds an iteration; onIteration's planned total ends at the final timesteps", async () => {
    const out = join(tmp, "budget");
    let start: TrainStart | undefined;
    const seen: { timesteps: number; planned: number }[] = [];
    await train(
      options(out, 60, {
        onStart: (s) => (start = s),
        onIteration: (m, _elapsed, planned) => seen.push({ timesteps: m.timesteps, planned }),
      }),
    );
    // 8 candidates x 2 seeds; 500 steps, a decision every 100 steps, epochs of 250:
    // at most 1 (reset) + 5 (intervals) + 1 (boundary) = 7 decisions an episode, 112 an iteration.
    expect(start).toMatchObject({
      episodesPerIteration: 16,
      maxDecisionsPerEpisode: 7,
      minIterations: 1,
      timesteps: 60,
    });
    const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { timesteps: number; iteration: number });
    for (let i = 0; i < metrics.length; i++) {
      const done = metrics[i].timesteps - (i === 0 ? 0 : metrics[i - 1].timesteps);
      expect(done).toBeLessThanOrEqual(112);
    }
    expect(seen.at(-1)!.planned).toBe(metrics.at(-1)!.timesteps);
    for (const s of seen) expect(s.planned).toBeGreaterThanOrEqual(Math.max(60, s.timesteps));
  });

  it("the CLI prints the budget in whole iterations before training, and caps --workers at the core count", async () => {
    const out = join(tmp, "budget-cli");
    const args = ["train", "--timesteps", "50", "--steps", "500", "--epoch-len", "250", "--out", out];
    args.push(
      "--decision-interval",
      "100",
      "--hp",
      "population=8",
      "--hp",
      "seedsPerGeneration=2",
      "--hp",
      "hidden=8,8",
      "--workers",
      "256",
    );
    const r = await cli(args, 60_000);
    expect(r.status, show(args, r)).toBe(0);
    const cores = availableParallelism();
    if (cores < 256) {
      expect(r.stderr).toMatch(
        new RegExp(`^warning: --workers 256 is more than the ${cores} cores here; using ${cores}$`, "m"),
      );
      expect(r.stdout).toMatch(new RegExp(`rollout workers: ${cores}$`, "m"));
    }
    expect(r.stdout).toMatch(
      /^budget: 50 decisions, trained in whole iterations of 16 episodes of at most 7 decisions each, at most 112 decisions per iteration; .*50 is less than one iteration, so expect up to 112 decisions$/m,
    );
    // The banner comes before the first progress line.
    expect(r.stdout.indexOf("budget:")).toBeLessThan(r.stdout.search(/^\[/m));
  });
});
