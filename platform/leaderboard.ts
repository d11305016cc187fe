/**
 * Ranking a competition's entries. Every entry was evaluated on the same seeds, so entries are
 * compared pairwise by seed: the score is the mean edge vs the normalizer with its 95% CI,
 * and each row carries its paired difference against the leader. A row shares the rank of the
 * row above when the 95% CI of their paired difference contains zero: the data cannot order
 * them. Rows are strategy versions of authors (one row each; the same file submitted again by
 * the same author is the same row).
 */
import { estimate, type Estimate } from "../arena/stats.js";
import type { EntryRow } from "./store.js";

export interface LeaderboardRow {
  rank: number;
  /** True when this row's rank is shared with the row above (paired CI contains zero). */
  tiedWithAbove: boolean;
  entryId: string;
  jobId: string;
  author: string;
  name: string;
  version: number;
  strategySha256: string;
  createdAt: number;
  vsNormalizer: Estimate;
  edge: Estimate;
  /** This row minus the leader, paired by seed (null for the leader). */
  vsLeader: Estimate | null;
  /** Paired against the row above (null for the leader). */
  vsAbove: Estimate | null;
}

function paired(a: readonly number[], b: readonly number[]): Estimate {
  return estimate(Float64Array.from(a, (x, i) => x - b[i]));
}

/** Rows ordered by mean edge vs the normalizer (higher first; earlier entry first on equal means). */
export function rankEntries(entries: readonly EntryRow[], latestOnly = false): LeaderboardRow[] {
  let pool = [...entries];
  if (latestOnly) {
    const latest = new Map<string, EntryRow>();
    for (const e of pool) {
      const prev = latest.get(e.author);
      if (!prev || e.createdAt > prev.createdAt || (e.createdAt === prev.createdAt && e.version > prev.version)) {
        latest.set(e.author, e);
      }
    }
    pool = [...latest.values()];
  }
  const scored = pool.map((e) => ({ e, vs: estimate(e.vsNormalizer), edge: estimate(e.edge) }));
  scored.sort((x, y) => y.vs.mean - x.vs.mean || x.e.createdAt - y.e.createdAt || x.e.id.localeCompare(y.e.id));
  const rows: LeaderboardRow[] = [];
  for (let i = 0; i < scored.length; i++) {
    const { e, vs, edge } = scored[i];
    const vsLeader = i === 0 ? null : paired(e.vsNormalizer, scored[0].e.vsNormalizer);
    const vsAbove = i === 0 ? null : paired(e.vsNormalizer, scored[i - 1].e.vsNormalizer);
    // NaN CI (fewer than two seeds, or identical results) cannot separate two rows either.
    const tied = vsAbove !== null && !(Math.abs(vsAbove.mean) > vsAbove.ci95);
    rows.push({
      rank: tied ? rows[i - 1].rank : i + 1,
      tiedWithAbove: tied,
      entryId: e.id,
      jobId: e.jobId,
      author: e.author,
      name: e.name,
      version: e.version,
      strategySha256: e.strategySha256,
      createdAt: e.createdAt,
      vsNormalizer: vs,
      edge,
      vsLeader,
      vsAbove,
    });
  }
  return rows;
}
