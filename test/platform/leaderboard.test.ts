/**
 * Leaderboard ranking (platform/leaderboard.ts) against statistics written out by hand
 * (test/helpers/stats.ts) and the Student t quantile from a table: t(0.975, 4) = 2.776.
 */
import { describe, expect, it } from "vitest";
import { rankEntries } from "../../platform/leaderboard.js";
import type { EntryRow } from "../../platform/store.js";
import { mean, paired, sampleStd } from "../helpers/stats.js";

const T4 = 2.776;

function entry(id: string, author: string, vs: number[], createdAt: number, version = 1): EntryRow {
  return {
    id,
    competition: "c",
    jobId: `job-${id}`,
    strategySha256: id.repeat(64).slice(0, 64),
    author,
    name: "s",
    version,
    createdAt,
    vsNormalizer: vs,
    edge: vs.map((x) => x + 100),
  };
}

const A = [10, 12, 11, 13, 9];
const B = A.map((x, i) => x - [1, 1.2, 0.9, 1.1, 0.8][i]);
const C = B.map((x, i) => x + [3, -3, 2, -2, -0.5][i]);
const D = [...C];

describe("rankEntries", () => {
  const rows = rankEntries([
    entry("d", "dave", D, 4),
    entry("b", "bob", B, 2),
    entry("a", "ann", A, 1),
    entry("c", "cat", C, 3),
  ]);

  it("orders by mean edge vs the normalizer, earlier entry first on equal means", () => {
    expect(rows.map((r) => r.entryId)).toEqual(
      ["a", "b", "c", "d"].sort((x, y) => {
        const m = { a: mean(A), b: mean(B), c: mean(C), d: mean(D) } as Record<string, number>;
        return m[y] - m[x] || x.localeCompare(y);
      }),
    );
    expect(rows[0].vsNormalizer.mean).toBeCloseTo(mean(A), 12);
    expect(rows[0].vsNormalizer.ci95).toBeCloseTo((T4 * sampleStd(A)) / Math.sqrt(5), 3);
    expect(rows[0].edge.mean).toBeCloseTo(mean(A) + 100, 12);
  });

  it("a row shares the rank above exactly when the paired 95% CI contains zero", () => {
    for (let i = 1; i < rows.length; i++) {
      const self = [A, B, C, D][["a", "b", "c", "d"].indexOf(rows[i].entryId)];
      const above = [A, B, C, D][["a", "b", "c", "d"].indexOf(rows[i - 1].entryId)];
      const p = paired(self, above);
      // Identical rows (zero spread) cannot be ordered either.
      const tied = !(Math.abs(p.t) > T4);
      expect(rows[i].tiedWithAbove).toBe(tied);
      expect(rows[i].rank).toBe(tied ? rows[i - 1].rank : i + 1);
      expect(rows[i].vsAbove?.mean).toBeCloseTo(p.mean, 12);
    }
    expect(rows.map((r) => r.rank)).toEqual([1, 2, 2, 2]);
  });

  it("the paired difference against the leader, with its CI", () => {
    expect(rows[0].vsLeader).toBeNull();
    for (const r of rows.slice(1)) {
      const self = { b: B, c: C, d: D }[r.entryId as "b" | "c" | "d"];
      const d = self.map((x, i) => x - A[i]);
      expect(r.vsLeader?.mean).toBeCloseTo(mean(d), 12);
      expect(r.vsLeader?.ci95).toBeCloseTo((T4 * sampleStd(d)) / Math.sqrt(5), 3);
    }
  });

  it("latest-only keeps each author's newest version", () => {
    const all = [entry("a", "ann", A, 1, 1), entry("b", "ann", B, 5, 2), entry("c", "cat", C, 3)];
    expect(
      rankEntries(all, true)
        .map((r) => `${r.author}:v${r.version}`)
        .sort(),
    ).toEqual(["ann:v2", "cat:v1"]);
    expect(rankEntries(all)).toHaveLength(3);
  });

  it("no entries, no rows", () => {
    expect(rankEntries([])).toEqual([]);
  });
});
