/**
 * A round-robin tournament on fixed, published seeds (docs/spec.md §7.7): every pair of
 * entrants plays the same seeds in one market (the two entrants and the normalizer). Per pair
 * and seed the paired edge difference; per pair the estimate of §7.2; over all pairs
 * Bradley–Terry ratings (bradley-terry.ts) fitted on per-seed wins, with 95% intervals from the
 * observed Fisher information and from a seeded bootstrap over seeds.
 */
import type { Limits } from "./runner.js";
import { runStrategies } from "./batch.js";
import { ConfigError, type SimConfig } from "../env/config.js";
import { RandomStream } from "../env/rng.js";
import { estimate, type Estimate } from "./stats.js";
import { BradleyTerryError, fitBradleyTerry, type PairwiseRecord, separation } from "./bradley-terry.js";

/** The JSON format's name and version (`propamm tournament --json`). */
export const TOURNAMENT_FORMAT = "propamm-tournament/1";

export interface TournamentOptions {
  config: Partial<SimConfig>;
  simulations: number;
  seedStart: number;
  workers: number;
  /** Run strategy code in the sandbox (docs/sandbox.md), with these limits. */
  sandbox?: boolean;
  limits?: Partial<Limits>;
  /** Virtual games per pair, half a win each (bradley-terry.ts; default 1). */
  prior?: number;
  /** Entrant index whose rating is 0, or "mean" (default). */
  anchor?: "mean" | number;
  /** Bootstrap resamples of the seeds (default 1000; 0 for none). */
  bootstrap?: number;
  /** Seed of the bootstrap's random stream (default 0). */
  bootstrapSeed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TournamentEntrant {
  spec: string;
  /** The strategy's own name, as its results report it. */
  name: string;
}

/** One pair's games: `a` and `b` are entrant indices, a < b. */
export interface TournamentMatch {
  a: number;
  b: number;
  /** Per seed (in seed order): edge of a, edge of b, edge of the normalizer in the same simulation. */
  edgeA: number[];
  edgeB: number[];
  edgeNormalizer: number[];
  /** Per seed edge(a) - edge(b), estimated as in §7.2. */
  diff: Estimate;
  /** Seeds a won (edge a > edge b), b won, and tied (equal edges). */
  winsA: number;
  winsB: number;
  ties: number;
}

export interface TournamentRating {
  /** Bradley–Terry rating, natural log-odds scale, anchored. */
  rating: number;
  /** Standard error from the observed Fisher information (0 for the anchor). */
  se: number;
  /** rating ± 1.96 se. */
  fisher95: [number, number];
  /** 2.5% and 97.5% percentiles of the bootstrap ratings (null without a bootstrap). */
  bootstrap95: [number, number] | null;
  /** Seeds won (ties half) and games played over all the entrant's matches. */
  wins: number;
  games: number;
  /** Per seed, the entrant's edge minus the normalizer's averaged over its matches, then estimated over seeds. */
  vsNormalizer: Estimate;
}

export interface Tournament {
  entrants: TournamentEntrant[];
  seeds: number[];
  config: SimConfig;
  matches: TournamentMatch[];
  /** matrix[i][j]: edge(i) - edge(j) per seed from their match (null on the diagonal). */
  matrix: (Estimate | null)[][];
  ratings: TournamentRating[];
  rating: {
    method: "bradley-terry";
    prior: number;
    anchor: "mean" | string;
    bootstrap: number;
    bootstrapSeed: number;
    /** Bootstrap resamples whose fit failed (only possible with prior 0); left out of the intervals. */
    bootstrapFailed: number;
  };
}

/** The wins record of all matches on the seeds at `idx` (each index one seed; repeats allowed). */
export function winsRecord(
  players: number,
  matches: readonly TournamentMatch[],
  idx?: readonly number[],
): PairwiseRecord {
  const wins = Array.from({ length: players }, () => new Array<number>(players).fill(0));
  for (const m of matches) {
    const seeds = idx ?? m.edgeA.map((_, i) => i);
    for (const s of seeds) {
      const d = m.edgeA[s] - m.edgeB[s];
      if (d > 0) wins[m.a][m.b] += 1;
      else if (d < 0) wins[m.b][m.a] += 1;
      else {
        wins[m.a][m.b] += 0.5;
        wins[m.b][m.a] += 0.5;
      }
    }
  }
  return { players, wins };
}

/** The linearly interpolated quantile of sorted values (R's type 7, numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Ratings from finished matches: the fit on all seeds, and a bootstrap that resamples seeds with
 * replacement (the same resampled seeds for every match, so a seed's outcomes across matches stay
 * together) and refits.
 */
export function rateMatches(
  entrants: readonly TournamentEntrant[],
  seeds: number,
  matches: readonly TournamentMatch[],
  opts: { prior?: number; anchor?: "mean" | number; bootstrap?: number; bootstrapSeed?: number } = {},
): { ratings: TournamentRating[]; rating: Tournament["rating"] } {
  const k = entrants.length;
  const prior = opts.prior ?? 1;
  const anchor = opts.anchor ?? "mean";
  const samples = opts.bootstrap ?? 1000;
  const bootstrapSeed = opts.bootstrapSeed ?? 0;
  if (!Number.isInteger(samples) || samples < 0)
    throw new ConfigError(`bootstrap must be an integer >= 0 (got ${samples})`);
  const rec = winsRecord(k, matches);
  const split = separation(rec, prior);
  if (split !== null) {
    const list = (xs: number[]): string => xs.map((i) => entrants[i].spec).join(", ");
    throw new BradleyTerryError(
      `the maximum-likelihood ratings do not exist: ${list(split.winners)} never lost nor tied a seed against ` +
        `${list(split.losers)} (the difference would be infinite); give a prior > 0 (--prior)`,
    );
  }
  const fit = fitBradleyTerry(rec, { prior, anchor });
  const boot: number[][] = Array.from({ length: k }, () => []);
  let failed = 0;
  if (samples > 0) {
    const rng = new RandomStream(`tournament-bootstrap:${bootstrapSeed}`);
    const idx = new Array<number>(seeds);
    for (let b = 0; b < samples; b++) {
      for (let i = 0; i < seeds; i++) idx[i] = Math.floor(rng.uniform() * seeds);
      try {
        const f = fitBradleyTerry(winsRecord(k, matches, idx), { prior, anchor });
        f.ratings.forEach((r, i) => boot[i].push(r));
      } catch (err) {
        if (!(err instanceof BradleyTerryError)) throw err;
        failed++;
      }
    }
  }
  const ratings: TournamentRating[] = entrants.map((_, i) => {
    let wins = 0;
    let games = 0;
    const perSeed = new Float64Array(seeds);
    let played = 0;
    for (const m of matches) {
      if (m.a !== i && m.b !== i) continue;
      played++;
      for (let j = 0; j < m.edgeA.length; j++) {
        perSeed[j] += (m.a === i ? m.edgeA[j] : m.edgeB[j]) - m.edgeNormalizer[j];
      }
      wins += m.a === i ? m.winsA + m.ties / 2 : m.winsB + m.ties / 2;
      games += m.edgeA.length;
    }
    const sorted = [...boot[i]].sort((x, y) => x - y);
    const se = fit.se[i];
    return {
      rating: fit.ratings[i],
      se,
      fisher95: [fit.ratings[i] - 1.959963984540054 * se, fit.ratings[i] + 1.959963984540054 * se],
      bootstrap95: sorted.length > 0 ? [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)] : null,
      wins,
      games,
      vsNormalizer: estimate(perSeed.map((v) => v / played)),
    };
  });
  return {
    ratings,
    rating: {
      method: "bradley-terry",
      prior,
      anchor: anchor === "mean" ? "mean" : entrants[anchor].spec,
      bootstrap: samples,
      bootstrapSeed,
      bootstrapFailed: failed,
    },
  };
}

/** Plays every pair of `specs` on the same seeds and rates them. */
export async function runTournament(specs: readonly string[], opts: TournamentOptions): Promise<Tournament> {
  if (specs.length < 2) throw new ConfigError(`a tournament needs at least 2 entrants (got ${specs.length})`);
  const dup = specs.find((s, i) => specs.indexOf(s) !== i);
  if (dup !== undefined) throw new ConfigError(`entrant '${dup}' is given twice: each entrant plays once`);
  if (opts.anchor !== undefined && opts.anchor !== "mean" && !(opts.anchor >= 0 && opts.anchor < specs.length))
    throw new ConfigError(`anchor must be an entrant index in 0..${specs.length - 1} (got ${opts.anchor})`);
  const k = specs.length;
  const pairs: [number, number][] = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) pairs.push([a, b]);
  const names = new Array<string>(k).fill("");
  const matches: TournamentMatch[] = [];
  let seeds: number[] = [];
  let config: SimConfig | undefined;
  for (const [p, [a, b]] of pairs.entries()) {
    const batch = await runStrategies({
      sandbox: opts.sandbox,
      limits: opts.limits,
      strategies: [specs[a], specs[b]],
      config: opts.config,
      simulations: opts.simulations,
      seedStart: opts.seedStart,
      workers: opts.workers,
      onProgress: (d, t) => opts.onProgress?.(p * t + d, pairs.length * t),
    });
    seeds = batch.seeds;
    config = batch.config;
    const res = batch.results;
    names[a] ||= res[0].pools[0].name;
    names[b] ||= res[0].pools[1].name;
    const edgeA = res.map((r) => r.pools[0].edge);
    const edgeB = res.map((r) => r.pools[1].edge);
    const d = edgeA.map((e, i) => e - edgeB[i]);
    matches.push({
      a,
      b,
      edgeA,
      edgeB,
      edgeNormalizer: res.map((r) => r.pools[2].edge),
      diff: estimate(d),
      winsA: d.filter((x) => x > 0).length,
      winsB: d.filter((x) => x < 0).length,
      ties: d.filter((x) => x === 0).length,
    });
  }
  const entrants = specs.map((spec, i) => ({ spec, name: names[i] }));
  const matrix: (Estimate | null)[][] = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k }, (_, j): Estimate | null => {
      if (i === j) return null;
      const m = matches.find((x) => (x.a === i && x.b === j) || (x.a === j && x.b === i))!;
      return m.a === i ? m.diff : { ...m.diff, mean: -m.diff.mean };
    }),
  );
  const { ratings, rating } = rateMatches(entrants, seeds.length, matches, opts);
  return { entrants, seeds, config: config!, matches, matrix, ratings, rating };
}

function pm(e: Estimate): string {
  const sign = e.mean >= 0 ? "+" : "";
  return `${sign}${e.mean.toFixed(2)} ±${Number.isFinite(e.ci95) ? e.ci95.toFixed(2) : "n/a"}`;
}

/** Signed, with a rounded zero shown as +0.00 (not -0.00). */
function signed(v: number, digits = 2): string {
  const text = v.toFixed(digits);
  return Number(text) === 0 ? `+${(0).toFixed(digits)}` : `${v > 0 ? "+" : ""}${text}`;
}

/** The ratings table and the paired edge matrix, as `propamm tournament` prints them. */
export function formatTournament(t: Tournament): string {
  const k = t.entrants.length;
  const label = t.entrants.map((e, i) => `${i + 1}. ${e.name === e.spec ? e.spec : `${e.name} (${e.spec})`}`);
  const nameW = Math.max(24, ...label.map((l) => l.length)) + 2;
  const order = t.ratings.map((_, i) => i).sort((x, y) => t.ratings[y].rating - t.ratings[x].rating || x - y);
  const head =
    "Entrant".padEnd(nameW) +
    "Rating".padStart(9) +
    "Fisher 95%".padStart(20) +
    "Bootstrap 95%".padStart(20) +
    "Wins".padStart(14) +
    "vs Norm".padStart(20);
  const lines = [head, "-".repeat(head.length)];
  for (const i of order) {
    const r = t.ratings[i];
    const iv = (x: [number, number] | null): string => (x ? `[${signed(x[0])}, ${signed(x[1])}]` : "-");
    lines.push(
      label[i].padEnd(nameW) +
        signed(r.rating).padStart(9) +
        iv(r.fisher95).padStart(20) +
        iv(r.bootstrap95).padStart(20) +
        `${r.wins}/${r.games}`.padStart(14) +
        pm(r.vsNormalizer).padStart(20),
    );
  }
  const anchor = t.rating.anchor === "mean" ? "mean rating 0" : `${t.rating.anchor} at 0`;
  lines.push(
    `(Bradley-Terry on per-seed wins, ties half; natural log-odds: a difference d means P(win) = 1/(1+e^-d); ${anchor}; ` +
      `prior ${t.rating.prior} virtual game(s) per pair; bootstrap ${t.rating.bootstrap} resamples of the seeds, seed ${t.rating.bootstrapSeed}` +
      (t.rating.bootstrapFailed > 0 ? `, ${t.rating.bootstrapFailed} without a finite fit left out` : "") +
      ")",
  );
  lines.push("");
  lines.push("Paired edge difference, row minus column, per seed (mean ±95% CI; win rate of the row):");
  const cellW = 22;
  lines.push(" ".repeat(6) + t.entrants.map((_, j) => `${j + 1}`.padStart(cellW)).join(""));
  for (let i = 0; i < k; i++) {
    let line = `${i + 1}`.padEnd(6);
    for (let j = 0; j < k; j++) {
      const c = t.matrix[i][j];
      if (c === null) {
        line += "-".padStart(cellW);
        continue;
      }
      const m = t.matches.find((x) => (x.a === i && x.b === j) || (x.a === j && x.b === i))!;
      const won = (m.a === i ? m.winsA : m.winsB) + m.ties / 2;
      line += `${pm(c)} ${Math.round((won / m.edgeA.length) * 100)}%`.padStart(cellW);
    }
    lines.push(line);
  }
  const s = t.seeds;
  lines.push(
    `(${t.matches.length} match${t.matches.length === 1 ? "" : "es"}, each on seeds ${s[0]}..${s[s.length - 1]}: the two entrants and the normalizer, ` +
      `${t.config.steps} steps, epoch ${t.config.epochLen})`,
  );
  return lines.join("\n");
}
