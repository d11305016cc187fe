/**
 * Bradley–Terry ratings from pairwise win counts (docs/spec.md §7.7).
 *
 * Model: P(i beats j) = 1 / (1 + exp(-(r_i - r_j))), ratings r on the natural log-odds scale. A
 * tie counts half a win for each side. The ratings maximise the log-likelihood
 *
 *   L(r) = sum over pairs i<j of  w_ij (r_i - r_j) - n_ij log(1 + exp(r_i - r_j))
 *
 * with w_ij the (fractional) wins of i over j in n_ij games. Only differences are identified:
 * the result is anchored so that the ratings' mean is 0, or a named entrant's rating is 0.
 *
 * `prior` adds that many virtual games to every pair, split evenly (a tie): it shrinks the
 * ratings towards each other and keeps them finite when one entrant won every game against
 * another. With `prior` 0 the fit is the plain maximum-likelihood estimate, which exists only
 * when the "won or tied at least once against" graph is strongly connected (Zermelo 1929,
 * Ford 1957); otherwise `fitBradleyTerry` throws a BradleyTerryError naming a group that
 * never lost to another.
 *
 * The maximiser is Newton's method on the concave log-likelihood with the first rating held at
 * 0, each step halved until the likelihood does not fall (the function is strictly concave in
 * the remaining coordinates when the estimate exists, so this converges from 0). Standard errors
 * come from the observed Fisher information (the negative Hessian) at the estimate, with the
 * prior's virtual games counted as data: for the mean anchor the covariance is the
 * Moore–Penrose inverse of the information, for a named anchor the inverse of the information
 * with the anchor's row and column removed.
 */
import { ConfigError } from "../env/config.js";

export class BradleyTerryError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = "BradleyTerryError";
  }
}

export interface PairwiseRecord {
  /** Number of players. */
  players: number;
  /** wins[i][j]: games i won against j, ties counted half; wins[i][i] is ignored. */
  wins: readonly (readonly number[])[];
}

export interface BradleyTerryOptions {
  /** Virtual games per pair, half a win each (default 0: the maximum-likelihood estimate). */
  prior?: number;
  /** "mean" (default): ratings sum to 0; a number: that player's rating is 0. */
  anchor?: "mean" | number;
}

export interface BradleyTerryFit {
  /** Ratings on the natural log-odds scale, anchored. */
  ratings: number[];
  /** Standard errors from the observed Fisher information (0 for a named anchor). */
  se: number[];
  /** Maximised log-likelihood (prior games included). */
  logLikelihood: number;
  /** Newton iterations used. */
  iterations: number;
}

function games(rec: PairwiseRecord, i: number, j: number, prior: number): number {
  return rec.wins[i][j] + rec.wins[j][i] + prior;
}

/** The log-likelihood of ratings `r` (the prior's virtual games included). */
export function logLikelihood(rec: PairwiseRecord, r: readonly number[], prior = 0): number {
  let ll = 0;
  for (let i = 0; i < rec.players; i++) {
    for (let j = i + 1; j < rec.players; j++) {
      const d = r[i] - r[j];
      const w = rec.wins[i][j] + prior / 2;
      const n = games(rec, i, j, prior);
      // log(1 + e^d), stable for large |d|.
      const softplus = d > 0 ? d + Math.log1p(Math.exp(-d)) : Math.log1p(Math.exp(d));
      ll += w * d - n * softplus;
    }
  }
  return ll;
}

/**
 * When the maximum-likelihood estimate does not exist (prior 0): a split of the players into
 * `winners`, who never lost (nor tied) a game against any of `losers`. Null when it exists.
 * The estimate exists exactly when the graph "i beat j at least once" is strongly connected.
 */
export function separation(rec: PairwiseRecord, prior = 0): { winners: number[]; losers: number[] } | null {
  if (prior > 0) return null;
  const k = rec.players;
  for (let s = 0; s < k; s++) {
    // Everyone s beat, transitively: none of them ever beat anyone outside this set.
    const seen = new Array<boolean>(k).fill(false);
    seen[s] = true;
    const stack = [s];
    while (stack.length > 0) {
      const u = stack.pop()!;
      for (let v = 0; v < k; v++)
        if (!seen[v] && v !== u && rec.wins[u][v] > 0) {
          seen[v] = true;
          stack.push(v);
        }
    }
    const losers = seen.flatMap((b, i) => (b ? [i] : []));
    if (losers.length < k) return { winners: seen.flatMap((b, i) => (b ? [] : [i])), losers };
  }
  return null;
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small and dense). */
export function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const piv = m[c][c];
    if (piv === 0 || !Number.isFinite(piv)) throw new BradleyTerryError("the information matrix is singular");
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / piv;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

function invert(a: number[][]): number[][] {
  const n = a.length;
  const cols = Array.from({ length: n }, (_, j) =>
    solve(
      a,
      Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)),
    ),
  );
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => cols[j][i]));
}

/** The observed Fisher information (negative Hessian of the log-likelihood) at `r`. */
export function information(rec: PairwiseRecord, r: readonly number[], prior = 0): number[][] {
  const k = rec.players;
  const h = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const p = 1 / (1 + Math.exp(-(r[i] - r[j])));
      const v = games(rec, i, j, prior) * p * (1 - p);
      h[i][j] -= v;
      h[j][i] -= v;
      h[i][i] += v;
      h[j][j] += v;
    }
  }
  return h;
}

function checkRecord(rec: PairwiseRecord, prior: number): void {
  if (!Number.isInteger(rec.players) || rec.players < 2)
    throw new BradleyTerryError(`a rating needs at least 2 players (got ${rec.players})`);
  if (!(prior >= 0) || !Number.isFinite(prior))
    throw new BradleyTerryError(`prior must be a finite number >= 0 (got ${prior})`);
  for (let i = 0; i < rec.players; i++)
    for (let j = 0; j < rec.players; j++)
      if (i !== j && !(rec.wins[i][j] >= 0 && Number.isFinite(rec.wins[i][j])))
        throw new BradleyTerryError(`wins[${i}][${j}] must be a finite number >= 0 (got ${rec.wins[i][j]})`);
  for (let i = 0; i < rec.players; i++)
    for (let j = i + 1; j < rec.players; j++)
      if (games(rec, i, j, prior) === 0)
        throw new BradleyTerryError(`players ${i} and ${j} played no games: every pair needs at least one`);
}

export function fitBradleyTerry(rec: PairwiseRecord, opts: BradleyTerryOptions = {}): BradleyTerryFit {
  const prior = opts.prior ?? 0;
  const anchor = opts.anchor ?? "mean";
  const k = rec.players;
  checkRecord(rec, prior);
  if (anchor !== "mean" && !(Number.isInteger(anchor) && anchor >= 0 && anchor < k))
    throw new BradleyTerryError(`anchor must be "mean" or a player index in 0..${k - 1} (got ${anchor})`);
  const split = separation(rec, prior);
  if (split !== null)
    throw new BradleyTerryError(
      `the maximum-likelihood ratings do not exist: player(s) ${split.winners.join(", ")} never lost nor tied a game ` +
        `against player(s) ${split.losers.join(", ")} (the difference would be infinite); use a prior > 0`,
    );
  // Newton's method on r[1..k-1] with r[0] = 0.
  let r = new Array<number>(k).fill(0);
  let ll = logLikelihood(rec, r, prior);
  let iterations = 0;
  for (; iterations < 200; iterations++) {
    const grad = new Array<number>(k).fill(0);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        if (i === j) continue;
        const p = 1 / (1 + Math.exp(-(r[i] - r[j])));
        grad[i] += rec.wins[i][j] + prior / 2 - games(rec, i, j, prior) * p;
      }
    }
    const info = information(rec, r, prior);
    const reduced = info.slice(1).map((row) => row.slice(1));
    const step = solve(reduced, grad.slice(1));
    let scale = 1;
    let next = r;
    let nextLl = -Infinity;
    for (let halvings = 0; halvings < 60; halvings++) {
      next = [0, ...r.slice(1).map((v, i) => v + scale * step[i])];
      nextLl = logLikelihood(rec, next, prior);
      if (nextLl >= ll) break;
      scale /= 2;
    }
    const moved = Math.max(...step.map((s) => Math.abs(s * scale)));
    if (nextLl >= ll) {
      r = next;
      ll = nextLl;
    }
    if (moved < 1e-12 || nextLl < ll) {
      iterations++;
      break;
    }
  }
  const shift = anchor === "mean" ? r.reduce((s, v) => s + v, 0) / k : r[anchor];
  const ratings = r.map((v) => v - shift);
  const info = information(rec, ratings, prior);
  let cov: number[][];
  if (anchor === "mean") {
    // pinv(I) = (I + J/k)^-1 - J/k for an information matrix whose null space is the ones vector.
    const inv = invert(info.map((row) => row.map((v) => v + 1 / k)));
    cov = inv.map((row) => row.map((v) => v - 1 / k));
  } else {
    const keep = Array.from({ length: k }, (_, i) => i).filter((i) => i !== anchor);
    const inv = invert(keep.map((i) => keep.map((j) => info[i][j])));
    cov = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    keep.forEach((i, a) => keep.forEach((j, b) => (cov[i][j] = inv[a][b])));
  }
  const se = cov.map((row, i) => Math.sqrt(Math.max(0, row[i])));
  return { ratings, se, logLikelihood: ll, iterations };
}
