/**
 * Leagues (training/league.ts, `propamm train --league K`): the folder layout, each member's
 * training pool in each round (the others' latest snapshots, the league's history, the extra
 * entries), that a member's block really trained against that pool (replayed as a plain
 * `--resume` run with the pool written into its checkpoint), determinism, the champion, and bad
 * input.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readCheckpointState, resolveCheckpoint } from "../../agents/checkpoint.js";
import type { TrainingEnvConfig } from "../../training/opponent-pool.js";
import { type LeagueReport, trainLeague } from "../../training/league.js";
import { train, type TrainOptions } from "../../training/train.js";
import { requireBuiltCli, runCliAsync, showRun as show } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-league-");
const ENV: TrainingEnvConfig = {
  opponents: ["starter"],
  opponentPool: ["fixed:40"],
  rewardBaseline: "normalizer",
  sim: { steps: 400, epochLen: 200 },
};
const K = 3;
const ROUNDS = 2;

function base(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    algo: "es",
    timesteps: 160,
    seed: 7,
    out,
    resume: false,
    workers: 0,
    env: ENV,
    hyper: { hidden: [8], population: 4, seedsPerGeneration: 2 },
    evalEvery: 1,
    evalEpisodes: 2,
    checkpointEvery: 1,
    ...over,
  };
}

const league = (out: string, over: Partial<TrainOptions> = {}) =>
  trainLeague({ members: K, rounds: ROUNDS, base: base(out, over), tournamentSimulations: 8, tournamentWorkers: 0 });

const weights = (dir: string): Buffer => readFileSync(join(dir, "policy", "weights.bin"));
const snap = (out: string, r: number, i: number): string =>
  join(out, "history", `round-${String(r).padStart(3, "0")}`, `member-${i}`);

/** The pool of member i in round r, written out from the rule in docs/training.md#leagues. */
function expectedPool(out: string, r: number, i: number): string[] {
  const others = [0, 1, 2].filter((j) => j !== i).map((j) => snap(out, r - 1, j));
  const history: string[] = [];
  for (let q = 0; q <= r - 2; q++) for (let j = 0; j < K; j++) history.push(snap(out, q, j));
  return [...others, ...history, "fixed:40"];
}

describe("a league of 3 in 2 rounds", () => {
  const a = join(tmp, "a");
  const b = join(tmp, "b");
  let report: LeagueReport;

  beforeAll(async () => {
    report = await league(a);
  }, 300_000);

  it("has a member folder per member (ordinary run folders) and a snapshot per round and member", () => {
    for (let i = 0; i < K; i++) {
      expect(existsSync(join(a, `member-${i}`, "LATEST"))).toBe(true);
      const state = readCheckpointState(resolveCheckpoint(join(a, `member-${i}`)));
      expect(state.seed).toBe(7 + i);
      expect(state.counters.timesteps).toBeGreaterThanOrEqual(160);
      for (let r = 0; r <= ROUNDS; r++) expect(existsSync(join(snap(a, r, i), "state.json"))).toBe(true);
    }
    // Round 0 is the initial policy: no iteration yet.
    expect(readCheckpointState(snap(a, 0, 1)).counters.iterations).toBe(0);
    expect(report.memberDirs).toEqual(["member-0", "member-1", "member-2"]);
    expect(report.memberSeeds).toEqual([7, 8, 9]);
    expect(report.roundTargets).toEqual([80, 160]);
  });

  it("each member's pool in each round is the others' latest snapshots, the history and the extra entries, as recorded in its checkpoints", () => {
    for (let r = 1; r <= ROUNDS; r++) {
      for (let i = 0; i < K; i++) {
        const pool = expectedPool(a, r, i);
        // Never itself as it is now; the others' latest, and all of round 0 from round 2 on.
        expect(pool).not.toContain(snap(a, r - 1, i));
        expect(pool.length).toBe(K - 1 + K * (r - 1) + 1);
        // The snapshot at the end of round r is the checkpoint that trained in it.
        expect(readCheckpointState(snap(a, r, i)).env.opponentPool).toEqual(pool);
        expect(report.pools[r - 1][i]).toEqual(expectedPool("", r, i));
      }
    }
    // Before any training, the members' env is the one given.
    expect(readCheckpointState(snap(a, 0, 0)).env.opponentPool).toEqual(["fixed:40"]);
    // A round's snapshot is the member's checkpoint at the end of that round.
    expect(weights(snap(a, ROUNDS, 2))).toEqual(weights(resolveCheckpoint(join(a, "member-2"))));
  });

  it("a member's block trained against exactly that pool: replayed as a plain --resume run, its weights and observation statistics are the same", async () => {
    // What the block leaves: the weights, and the observation statistics of the episodes it played.
    const outcome = (ckpt: string) => ({ weights: weights(ckpt), obsNorm: readCheckpointState(ckpt).policy.obsNorm });
    const replay = async (folder: string, pool: string[]) => {
      const dir = join(tmp, folder);
      const name = `ckpt-${String(readCheckpointState(snap(a, 1, 1)).counters.iterations).padStart(6, "0")}`;
      const ckpt = join(dir, name);
      cpSync(snap(a, 1, 1), ckpt, { recursive: true });
      const state = JSON.parse(readFileSync(join(ckpt, "state.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(ckpt, "state.json"), JSON.stringify({ ...state, env: { ...ENV, opponentPool: pool } }));
      writeFileSync(join(dir, "LATEST"), `${name}\n`);
      return outcome(await train(base(dir, { resume: true, timesteps: 160, seed: 8 })));
    };
    const pool = expectedPool(a, 2, 1);
    expect(await replay("replay", pool)).toEqual(outcome(snap(a, 2, 1)));
    // The check can fail: without the others' latest snapshots, the same block ends elsewhere.
    expect(await replay("replay-other", pool.slice(K - 1))).not.toEqual(outcome(snap(a, 2, 1)));
  }, 120_000);

  it("names the highest-rated member the champion, from a tournament on held-out seeds", () => {
    const saved = JSON.parse(readFileSync(join(a, "league.json"), "utf8")) as LeagueReport;
    expect(saved).toEqual(JSON.parse(JSON.stringify(report)));
    const ratings = saved.tournament.ratings.map((r) => r.rating);
    expect(saved.champion.rating).toBe(Math.max(...ratings));
    expect(saved.champion.dir).toBe(`member-${ratings.indexOf(Math.max(...ratings))}`);
    expect(saved.tournament.seeds).toEqual([200_000, 200_007]);
    // Every pair played each seed: each member 2 matches x 8 seeds.
    for (const r of saved.tournament.ratings) expect(r.games).toBe(16);
  });

  it("is deterministic: the same options in another folder give the same league.json and weights", async () => {
    await league(b);
    expect(readFileSync(join(b, "league.json"), "utf8")).toBe(readFileSync(join(a, "league.json"), "utf8"));
    for (let i = 0; i < K; i++)
      expect(weights(resolveCheckpoint(join(b, `member-${i}`)))).toEqual(
        weights(resolveCheckpoint(join(a, `member-${i}`))),
      );
  }, 300_000);
});

describe("bad input", () => {
  it("refuses fewer than 2 members, --resume and a folder that is not empty, naming the problem", async () => {
    const out = join(tmp, "bad");
    const opts = { rounds: 1, base: base(out), tournamentSimulations: 2, tournamentWorkers: 0 };
    await expect(trainLeague({ ...opts, members: 1 })).rejects.toThrow(/--league needs at least 2 members \(got 1\)/);
    await expect(trainLeague({ ...opts, members: 2, base: base(out, { resume: true }) })).rejects.toThrow(
      /--resume with --league/,
    );
    await expect(trainLeague({ ...opts, members: 2, base: base(join(tmp, "a")) })).rejects.toThrow(
      /is not empty \(.*league\.json/,
    );
  });
});

describe("propamm train --league", () => {
  beforeAll(() => requireBuiltCli());
  const env = { ...process.env, NO_COLOR: "1", PROPAMM_DEBUG: "" };

  it("exits 2 with a message naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [["train", "--league", "1"], /--league needs at least 2 members \(got 1\)/],
      [["train", "--league", "2", "--resume", "--out", join(tmp, "x")], /--resume with --league/],
      [["train", "--league-rounds", "3"], /--league-rounds applies to a league: give --league <k> too/],
      [["train", "--league", "2", "--seeds", "2"], /--league and --seeds > 1 cannot be combined/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliAsync(args, { cwd: tmp, env, timeoutMs: 60_000 });
      expect(r.status, show(args, r)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  }, 120_000);

  it("trains a league, prints the ratings and the champion, and writes league.json", async () => {
    const out = join(tmp, "cli");
    const args = ["train", "--league", "2", "--league-rounds", "1", "--timesteps", "40", "--steps", "400"];
    args.push("--epoch-len", "200", "--workers", "0", "--hp", "population=4", "--hp", "seedsPerGeneration=2");
    args.push("--hp", "hidden=8,8", "--eval-every", "0", "--league-simulations", "4", "--out", out);
    const r = await runCliAsync(args, { cwd: tmp, env, timeoutMs: 120_000 });
    expect(r.status, show(args, r)).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, "league.json"), "utf8")) as LeagueReport;
    expect(r.stdout).toContain(`champion: ${saved.champion.dir}`);
    expect(r.stdout).toMatch(/league round 1\/1, member 1 \(seed 1\).*pool of 1: .*history\/round-000\/member-0/);
    expect(saved.pools).toEqual([[["history/round-000/member-1"], ["history/round-000/member-0"]]]);
    // A league's members keep the seed observation every 100 steps (a single ES run's default differs).
    for (const dir of saved.memberDirs) {
      const { env } = readCheckpointState(resolveCheckpoint(join(out, dir)));
      expect({ observation: env.observation, decisionInterval: env.decisionInterval }).toEqual({
        observation: "seed",
        decisionInterval: 100,
      });
    }
  }, 150_000);
});
