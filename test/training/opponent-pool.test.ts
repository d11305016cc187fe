/**
 * Training against an opponent pool (training/opponent-pool.ts, `propamm train --opponent-pool`):
 * each training episode's opponents are drawn from the pool by a stream seeded with the
 * episode's seed; an episode then plays exactly as it would with that line-up fixed; results do
 * not depend on the worker count; held-out evaluation keeps `--opponents`.
 */

import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readCheckpointState, resolveCheckpoint } from "../../agents/checkpoint.js";
import { loadStrategy } from "../../arena/loader.js";
import { RandomStream } from "../../env/rng.js";
import { EpisodeEnvs, lineupFor, type TrainingEnvConfig } from "../../training/opponent-pool.js";
import { rollout, type RolloutTask } from "../../training/rollout.js";
import { initParams, networkSizes } from "../../training/defaults.js";
import { train, type TrainOptions } from "../../training/train.js";
import { requireBuiltCli, runCliAsync, showRun as show } from "../helpers/cli.js";
import { metricsOf } from "../helpers/metrics.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-pool-");
const POOL = ["fixed:30", "fixed:300", "starter"];
const ENV: TrainingEnvConfig = {
  opponents: ["starter"],
  opponentPool: POOL,
  rewardBaseline: "normalizer",
  sim: { steps: 400, epochLen: 200 },
};

function options(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    algo: "es",
    timesteps: 150,
    seed: 5,
    out,
    resume: false,
    workers: 0,
    env: ENV,
    hyper: { hidden: [8], population: 4, seedsPerGeneration: 3 },
    evalEvery: 1,
    evalEpisodes: 2,
    checkpointEvery: 1,
    ...over,
  };
}

describe("the line-up of an episode", () => {
  it("is drawn from a stream seeded by the episode's seed, uniformly over the pool", () => {
    for (const seed of [0, 1, 12345, 2 ** 31 - 1]) {
      const rng = new RandomStream(`opponent-pool:${seed}`);
      const expected = [0, 1].map(() => Math.floor(rng.uniform() * 3));
      expect(lineupFor(3, 2, seed)).toEqual(expected);
      expect(lineupFor(3, 2, seed)).toEqual(lineupFor(3, 2, seed));
    }
    const counts = [0, 0, 0];
    for (let seed = 0; seed < 3000; seed++) counts[lineupFor(3, 1, seed)[0]]++;
    // 1000 expected each; a binomial sd is ~26.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });

  it("an episode with a pool plays exactly as with its drawn line-up fixed; evaluation tasks keep --opponents", async () => {
    const sizes = networkSizes(5, [8]);
    const params = initParams(sizes, new RandomStream("pool-test"), 0.5, 0);
    const obsNorm = { mean: [0, 0, 0, 0, 0], var: [1, 1, 1, 1, 1], count: 1 };
    const seeds = [1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005, 1_000_006];
    const task = (s: number[], pool: boolean): RolloutTask => ({
      sizes,
      activation: "tanh",
      params,
      obsNorm,
      seeds: s,
      opponentPool: pool,
    });
    const pooled = await EpisodeEnvs.create(ENV, loadStrategy);
    const drawn = seeds.map((s) => POOL[lineupFor(POOL.length, 1, s)[0]]);
    expect(new Set(drawn).size).toBeGreaterThan(1);
    const got = rollout(pooled, task(seeds, true)).returns;
    const expected = await Promise.all(
      seeds.map(async (s, i) => {
        const fixed = await EpisodeEnvs.create(
          { ...ENV, opponents: [drawn[i]], opponentPool: undefined },
          loadStrategy,
        );
        return rollout(fixed, task([s], false)).returns[0];
      }),
    );
    expect(got).toEqual(expected);
    // Not a training task: the fixed opponents (starter).
    const starterOnly = await EpisodeEnvs.create({ ...ENV, opponentPool: undefined }, loadStrategy);
    expect(rollout(pooled, task(seeds, false)).returns).toEqual(rollout(starterOnly, task(seeds, false)).returns);
  });
});

describe("an empty seat in the pool (none)", () => {
  it("an episode that draws it plays with one opponent fewer, exactly as that line-up fixed", async () => {
    const pool = ["starter", "none", "fixed:30"];
    const env: TrainingEnvConfig = { ...ENV, opponents: ["starter", "starter"], opponentPool: pool };
    const sizes = networkSizes(5, [8]);
    const params = initParams(sizes, new RandomStream("pool-none"), 0.5, 0);
    const task = (seed: number): RolloutTask => ({
      sizes,
      activation: "tanh",
      params,
      obsNorm: { mean: [0, 0, 0, 0, 0], var: [1, 1, 1, 1, 1], count: 1 },
      seeds: [seed],
      opponentPool: true,
    });
    const pooled = await EpisodeEnvs.create(env, loadStrategy);
    const seen = new Set<number>();
    for (let seed = 1_000_100; seed < 1_000_112; seed++) {
      const drawn = lineupFor(pool.length, 2, seed)
        .map((i) => pool[i])
        .filter((o) => o !== "none");
      seen.add(drawn.length);
      expect(pooled.forTraining(seed).config.opponents).toHaveLength(drawn.length);
      const fixed = await EpisodeEnvs.create({ ...env, opponents: drawn, opponentPool: undefined }, loadStrategy);
      expect(rollout(pooled, task(seed)).returns, `seed ${seed}: ${drawn.join(" ")}`).toEqual(
        rollout(fixed, { ...task(seed), opponentPool: false }).returns,
      );
    }
    // Line-ups of 0, 1 and 2 opponents among these seeds: the number of pools varies.
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});

describe("training with an opponent pool", () => {
  it("es: 0 or 2 worker threads give identical runs; the pool is recorded and changes the run", async () => {
    const a = join(tmp, "es-0");
    const b = join(tmp, "es-2");
    const none = join(tmp, "es-no-pool");
    await train(options(a));
    await train(options(b, { workers: 2 }));
    await train(options(none, { env: { ...ENV, opponentPool: undefined } }));
    expect(metricsOf(b)).toEqual(metricsOf(a));
    expect(readCheckpointState(resolveCheckpoint(a)).env.opponentPool).toEqual(POOL);
    const train0 = (out: string) => metricsOf(out).filter((m) => m.type === "train");
    expect(train0(none)).not.toEqual(train0(a));
  });

  it("ppo trains against the pool too", async () => {
    const out = join(tmp, "ppo");
    await train(options(out, { algo: "ppo", timesteps: 40, hyper: { hidden: [8], numEnvs: 3 } }));
    expect(readCheckpointState(resolveCheckpoint(out)).env.opponentPool).toEqual(POOL);
  });
});

describe("propamm train --opponent-pool", () => {
  beforeAll(() => requireBuiltCli());

  it("takes commas or spaces, says so in the banner, and --resume refuses another pool", async () => {
    const out = join(tmp, "cli");
    const args = ["train", "--timesteps", "60", "--steps", "400", "--epoch-len", "200", "--workers", "0"];
    args.push("--hp", "population=4", "--hp", "seedsPerGeneration=2", "--hp", "hidden=8,8", "--eval-every", "0");
    args.push("--opponent-pool", "fixed:30,fixed:300", "starter:seed", "--out", out);
    const env = { ...process.env, NO_COLOR: "1", PROPAMM_DEBUG: "" };
    const r = await runCliAsync(args, { cwd: tmp, env, timeoutMs: 60_000 });
    expect(r.status, show(args, r)).toBe(0);
    expect(r.stdout).toMatch(
      /opponents starter \(held-out evaluation; training draws 1 per episode from fixed:30, fixed:300, starter:seed\), seed 0/,
    );
    expect(readCheckpointState(resolveCheckpoint(out)).env.opponentPool).toEqual([
      "fixed:30",
      "fixed:300",
      "starter:seed",
    ]);
    const again = ["train", "--resume", "--out", out, "--timesteps", "1000", "--opponent-pool", "fixed:30"];
    const r2 = await runCliAsync(again, { cwd: tmp, env, timeoutMs: 30_000 });
    expect(r2.status, show(again, r2)).toBe(2);
    expect(r2.stderr).toMatch(/--opponent-pool fixed:30 \(the run has fixed:30 fixed:300 starter:seed\)/);
  });
});
