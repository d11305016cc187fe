/**
 * A league (`propamm train --league K`, docs/training.md#leagues): K policies trained against
 * each other and against the league's frozen past checkpoints, in rounds.
 *
 * Round 0 writes every member's initial checkpoint (member i has seed `seed + i`). In round
 * r = 1..R every member trains a block of iterations, up to r/R of the budget, whose training
 * opponents are drawn (seeded by the episode, training/opponent-pool.ts) from a pool of
 *
 *   - the other members' snapshots at the end of round r - 1 (their latest frozen policies),
 *   - every member's snapshots of rounds 0..r-2 (the league's history, its own included),
 *   - the built-in or file entries the user gave with `--opponent-pool`.
 *
 * A snapshot is a copy of a member's checkpoint in `<out>/history/round-RRR/member-<i>/`, taken
 * after every member finished the round, so that what a member meets does not depend on the
 * order the members train in. After the last round the members play a round-robin tournament
 * (arena/tournament.ts) on held-out seeds and the highest Bradley–Terry rating is the champion,
 * written with everything above to `<out>/league.json`. Every member folder `<out>/member-<i>/`
 * is an ordinary run folder (eval, export, tournament, run take it).
 */
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { readCheckpointState, resolveCheckpoint } from "../agents/checkpoint.js";
import { ConfigError } from "../env/config.js";
import type { Estimate } from "../arena/stats.js";
import { runTournament, type Tournament, type TournamentRating } from "../arena/tournament.js";
import { lockRunFolder } from "./run-lock.js";
import { train, type TrainOptions } from "./train.js";

/** The league.json format's name and version. */
export const LEAGUE_FORMAT = "propamm-league/1";
/**
 * The tournament's first seed: disjoint from training seeds (>= 1,000,000), the held-out
 * evaluation during training (500,000 + i) and `propamm eval`'s default (100,000 ... 100,999),
 * so the champion can be evaluated afterwards on seeds that did not choose it.
 */
export const LEAGUE_TOURNAMENT_SEED_START = 200_000;

export interface LeagueOptions {
  /** Members (K >= 2). */
  members: number;
  /** Rounds (R >= 1): each member trains up to r/R of `base.timesteps` in round r. */
  rounds: number;
  /**
   * What every member's run shares: algorithm, budget per member (`timesteps`), first seed,
   * league folder (`out`), env (`opponents` is the line-up size and the held-out evaluation's
   * opponents; `opponentPool` the extra entries of every round's pool), hyperparameters, workers.
   */
  base: TrainOptions;
  /** Seeds every pair of members plays in the final tournament. */
  tournamentSimulations: number;
  /** Worker threads of the tournament (results do not depend on them). */
  tournamentWorkers: number;
  /** Before each member's block of training: the round, the member and its pool. */
  onBlock?: (round: number, member: number, pool: string[]) => void;
  onTournamentProgress?: (done: number, total: number) => void;
}

/** A member's tournament rating (without its standard error, which league.json leaves out), and where it is. */
export interface LeagueRating extends Omit<TournamentRating, "se"> {
  member: number;
  dir: string;
}

/** What league.json holds (paths relative to the league folder, so it is the same wherever the folder is). */
export interface LeagueReport {
  format: typeof LEAGUE_FORMAT;
  algo: "es" | "ppo";
  members: number;
  rounds: number;
  /** Seed of member i is seed + i. */
  seed: number;
  memberSeeds: number[];
  /** Budget per member, and the cumulative target of each round 1..R. */
  timesteps: number;
  roundTargets: number[];
  opponents: string[];
  /** The entries given with --opponent-pool, in every round's pool. */
  extraPool: string[];
  memberDirs: string[];
  /** history[r][i]: member i's snapshot at the end of round r (round 0: the initial policy). */
  history: string[][];
  /** pools[r - 1][i]: member i's training pool in round r. */
  pools: string[][][];
  /** Each member's final counters. */
  final: { member: number; checkpoint: string; timesteps: number; iterations: number; episodes: number }[];
  tournament: {
    seeds: [number, number];
    simulations: number;
    ratings: LeagueRating[];
    /** matrix[i][j]: edge(member i) - edge(member j) per seed (null on the diagonal). */
    matrix: (Estimate | null)[][];
  };
  champion: { member: number; dir: string; rating: number };
}

export const memberDir = (out: string, i: number): string => join(out, `member-${i}`);
export const snapshotDir = (out: string, round: number, i: number): string =>
  join(out, "history", `round-${String(round).padStart(3, "0")}`, `member-${i}`);

/**
 * Member i's training pool in round r >= 1, as paths under `out`: the others' round r - 1
 * snapshots, then every member's snapshots of rounds 0..r-2, then the extra entries.
 */
export function leaguePool(out: string, members: number, round: number, member: number, extra: string[]): string[] {
  const pool: string[] = [];
  for (let j = 0; j < members; j++) if (j !== member) pool.push(snapshotDir(out, round - 1, j));
  for (let q = 0; q < round - 1; q++) for (let j = 0; j < members; j++) pool.push(snapshotDir(out, q, j));
  return [...pool, ...extra];
}

/** The cumulative budget at the end of each round 1..R: whole shares of the total, the last the total. */
export function roundTargets(timesteps: number, rounds: number): number[] {
  return Array.from({ length: rounds }, (_, r) => Math.max(1, Math.round((timesteps * (r + 1)) / rounds)));
}

/** Copies every member's latest checkpoint to round `round`'s snapshots (all at once, by rename). */
function snapshot(out: string, members: number, round: number): void {
  const final = join(out, "history", `round-${String(round).padStart(3, "0")}`);
  const temp = `${final}.partial`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  for (let i = 0; i < members; i++)
    cpSync(resolveCheckpoint(memberDir(out, i)), join(temp, `member-${i}`), { recursive: true });
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
}

/** Trains the league and writes `<out>/league.json`; returns the report. */
export async function trainLeague(o: LeagueOptions): Promise<LeagueReport> {
  const { base } = o;
  if (!Number.isInteger(o.members) || o.members < 2)
    throw new ConfigError(`--league needs at least 2 members (got ${o.members})`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1)
    throw new ConfigError(`--league-rounds must be an integer >= 1 (got ${o.rounds})`);
  if (base.resume)
    throw new ConfigError(
      "--resume with --league: a league cannot be resumed yet; start it again in a new --out (its members are ordinary runs that --resume continues one by one)",
    );
  if (!Number.isSafeInteger(base.timesteps) || base.timesteps < o.rounds)
    throw new ConfigError(
      `--timesteps ${base.timesteps} is less than one decision per round (--league-rounds ${o.rounds})`,
    );
  const out = base.out;
  mkdirSync(out, { recursive: true });
  const taken = readdirSync(out).filter((f) => f !== "train.lock");
  if (taken.length > 0)
    throw new ConfigError(
      `--out ${out} is not empty (${taken.slice(0, 3).join(", ")}${taken.length > 3 ? ", ..." : ""}): a league starts in a new or empty folder`,
    );
  const lock = lockRunFolder(out);
  try {
    return await leagueLocked(o, out);
  } finally {
    lock.release();
  }
}

async function leagueLocked(o: LeagueOptions, out: string): Promise<LeagueReport> {
  const { base, members, rounds } = o;
  const extra = base.env.opponentPool ?? [];
  const targets = roundTargets(base.timesteps, rounds);
  const run = (i: number, over: Partial<TrainOptions>): Promise<string> =>
    train({ ...base, seed: base.seed + i, out: memberDir(out, i), given: [], ...over });
  // Round 0: the initial policies.
  for (let i = 0; i < members; i++) await run(i, { resume: false, initialOnly: true, env: base.env });
  snapshot(out, members, 0);
  // Recorded relative to the league folder (join("", p) is p).
  const pools: string[][][] = [];
  for (let r = 1; r <= rounds; r++) {
    const roundPools: string[][] = [];
    for (let i = 0; i < members; i++) {
      const pool = leaguePool(out, members, r, i, extra);
      roundPools.push(leaguePool("", members, r, i, extra));
      o.onBlock?.(r, i, pool);
      await run(i, { resume: true, timesteps: targets[r - 1], opponentPoolOverride: pool });
    }
    pools.push(roundPools);
    snapshot(out, members, r);
  }

  const dirs = Array.from({ length: members }, (_, i) => memberDir(out, i));
  const t: Tournament = await runTournament(dirs, {
    config: base.env.sim ?? {},
    simulations: o.tournamentSimulations,
    seedStart: LEAGUE_TOURNAMENT_SEED_START,
    workers: o.tournamentWorkers,
    onProgress: o.onTournamentProgress,
  });
  const ratings: LeagueRating[] = t.ratings.map((r, i) => ({
    member: i,
    dir: relative(out, dirs[i]),
    rating: r.rating,
    fisher95: r.fisher95,
    bootstrap95: r.bootstrap95,
    wins: r.wins,
    games: r.games,
    vsNormalizer: r.vsNormalizer,
  }));
  // The highest rating; of equal ratings, the lowest index.
  const best = ratings.reduce((a, b) => (b.rating > a.rating ? b : a));
  const report: LeagueReport = {
    format: LEAGUE_FORMAT,
    algo: base.algo,
    members,
    rounds,
    seed: base.seed,
    memberSeeds: dirs.map((_, i) => base.seed + i),
    timesteps: base.timesteps,
    roundTargets: targets,
    opponents: base.env.opponents,
    extraPool: extra,
    memberDirs: dirs.map((d) => relative(out, d)),
    history: Array.from({ length: rounds + 1 }, (_, r) => dirs.map((_, i) => relative(out, snapshotDir(out, r, i)))),
    pools,
    final: dirs.map((d, i) => {
      const ckpt = resolveCheckpoint(d);
      const s = readCheckpointState(ckpt);
      return {
        member: i,
        checkpoint: relative(out, ckpt),
        timesteps: s.counters.timesteps,
        iterations: s.counters.iterations,
        episodes: s.counters.episodes,
      };
    }),
    tournament: {
      seeds: [t.seeds[0], t.seeds[t.seeds.length - 1]],
      simulations: t.seeds.length,
      ratings,
      matrix: t.matrix,
    },
    champion: { member: best.member, dir: best.dir, rating: best.rating },
  };
  writeFileSync(join(out, "league.json"), JSON.stringify(report, null, 2) + "\n");
  return report;
}

/** The printed summary: ratings, best first, and the champion. */
export function formatLeague(r: LeagueReport): string {
  const pm = (e: Estimate): string =>
    `${e.mean >= 0 ? "+" : ""}${e.mean.toFixed(2)} ±${Number.isFinite(e.ci95) ? e.ci95.toFixed(2) : "n/a"}`;
  const signed = (v: number): string => `${v >= 0 ? "+" : ""}${v.toFixed(2)}`;
  const head =
    "Member".padEnd(12) +
    "Rating".padStart(9) +
    "Bootstrap 95%".padStart(20) +
    "Wins".padStart(12) +
    "vs Norm".padStart(20);
  const lines = [
    `League of ${r.members}, ${r.rounds} round${r.rounds === 1 ? "" : "s"}: tournament on seeds ${r.tournament.seeds[0]}..${r.tournament.seeds[1]} (every pair, with the normalizer)`,
    head,
    "-".repeat(head.length),
  ];
  const order = [...r.tournament.ratings].sort((a, b) => b.rating - a.rating || a.member - b.member);
  for (const x of order) {
    const iv = x.bootstrap95 ? `[${signed(x.bootstrap95[0])}, ${signed(x.bootstrap95[1])}]` : "-";
    lines.push(
      x.dir.padEnd(12) +
        signed(x.rating).padStart(9) +
        iv.padStart(20) +
        `${x.wins}/${x.games}`.padStart(12) +
        pm(x.vsNormalizer).padStart(20),
    );
  }
  lines.push(`champion: ${r.champion.dir} (rating ${signed(r.champion.rating)})`);
  return lines.join("\n");
}
