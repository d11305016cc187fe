/**
 * Evaluation of candidates that each play their own simulations against the same opponents on
 * the same seeds: a candidate is judged in the setting it was built for, and candidates are
 * compared with paired differences by seed (common random numbers: identical markets).
 */
import type { BatchResult, Limits } from "./runner.js";
import { runStrategies } from "./batch.js";
import type { SimConfig } from "../env/config.js";
import { estimate, type Estimate, summarize, type Summary } from "./stats.js";

export interface CandidateRun {
  spec: string;
  batch: BatchResult;
  summary: Summary;
}

export interface CandidateRow {
  spec: string;
  name: string;
  edge: Estimate;
  vsNormalizer: Estimate;
  winRateVsNormalizer: number;
  /** Paired edge difference against each opponent in the same simulations. */
  vsOpponents: { name: string; diff: Estimate; winRate: number }[];
  sharpe: number;
  finalWeight: Estimate;
}

export interface CrossPair {
  a: string;
  b: string;
  /** Per seed: edge of a (in its own runs) minus edge of b (in its own runs). */
  diff: Estimate;
  winRate: number;
}

export interface Evaluation {
  runs: CandidateRun[];
  rows: CandidateRow[];
  pairs: CrossPair[];
}

export async function evaluateCandidates(
  candidates: readonly string[],
  opponents: readonly string[],
  opts: {
    config: Partial<SimConfig>;
    simulations: number;
    seedStart: number;
    workers: number;
    /** Run strategy code in the sandbox (docs/sandbox.md), with these limits. */
    sandbox?: boolean;
    limits?: Partial<Limits>;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<Evaluation> {
  const runs: CandidateRun[] = [];
  for (const [k, spec] of candidates.entries()) {
    const batch = await runStrategies({
      sandbox: opts.sandbox,
      limits: opts.limits,
      strategies: [spec, ...opponents],
      config: opts.config,
      simulations: opts.simulations,
      seedStart: opts.seedStart,
      workers: opts.workers,
      onProgress: (d, t) => opts.onProgress?.(k * t + d, candidates.length * t),
    });
    runs.push({ spec, batch, summary: summarize(batch.results) });
  }
  const rows: CandidateRow[] = runs.map(({ spec, batch, summary }) => {
    const r = summary.rows[0];
    return {
      spec,
      name: r.name,
      edge: r.edge,
      vsNormalizer: r.vsNormalizer,
      winRateVsNormalizer: r.winRateVsNormalizer,
      vsOpponents: summary.paired
        .filter((p) => p.a === r.name)
        .map((p) => ({ name: p.b, diff: p.diff, winRate: p.winRate }))
        .concat(batch.results.length === 0 ? [] : []),
      sharpe: r.sharpe,
      finalWeight: r.finalWeight,
    };
  });
  const pairs: CrossPair[] = [];
  for (let a = 0; a < runs.length; a++) {
    for (let b = a + 1; b < runs.length; b++) {
      const d = runs[a].batch.results.map((r, i) => r.pools[0].edge - runs[b].batch.results[i].pools[0].edge);
      pairs.push({
        a: rows[a].name,
        b: rows[b].name,
        diff: estimate(d),
        winRate: d.filter((x) => x > 0).length / d.length,
      });
    }
  }
  return { runs, rows, pairs };
}

function pm(e: Estimate): string {
  const sign = e.mean >= 0 ? "+" : "";
  return `${sign}${e.mean.toFixed(2)} ±${Number.isFinite(e.ci95) ? e.ci95.toFixed(2) : "n/a"}`;
}

/** A 95% CI entirely above 0, entirely below, or straddling it. */
export function verdict(e: Estimate): string {
  if (e.mean - e.ci95 > 0) return "better (95% CI above 0)";
  if (e.mean + e.ci95 < 0) return "worse (95% CI below 0)";
  return "no significant difference";
}

export function formatEvaluation(ev: Evaluation, opponents: readonly string[]): string {
  const nameW = Math.max(24, ...ev.rows.map((r) => r.name.length)) + 2;
  const opp = ev.runs[0]?.summary.rows.slice(1, 1 + opponents.length).map((r) => r.name) ?? [];
  const head =
    "Candidate".padEnd(nameW) +
    "Mean Edge".padStart(20) +
    "vs Norm".padStart(20) +
    "Win vs Norm".padStart(13) +
    opp.map((n) => `vs ${n.slice(0, 14)}`.padStart(22)).join("") +
    "Sharpe".padStart(9) +
    "Final Cap%".padStart(12);
  const lines = [head, "-".repeat(head.length)];
  for (const r of ev.rows) {
    lines.push(
      r.name.padEnd(nameW) +
        pm(r.edge).padStart(20) +
        pm(r.vsNormalizer).padStart(20) +
        `${(r.winRateVsNormalizer * 100).toFixed(1)}%`.padStart(13) +
        r.vsOpponents.map((o) => pm(o.diff).padStart(22)).join("") +
        (Number.isFinite(r.sharpe) ? r.sharpe.toFixed(3) : "n/a").padStart(9) +
        `${(r.finalWeight.mean * 100).toFixed(1)}%`.padStart(12),
    );
  }
  const n = ev.runs[0]?.batch.seeds.length ?? 0;
  lines.push(
    `(each candidate in its own ${n} simulations against ${opponents.length > 0 ? `${opponents.join(", ")} and the normalizer` : "the normalizer alone"}, same seeds; ± is the 95% CI)`,
  );
  if (ev.pairs.length) {
    lines.push("Candidates compared by seed (each in its own simulations):");
    for (const p of ev.pairs)
      lines.push(`  ${p.a} - ${p.b}: ${pm(p.diff)}  (wins ${(p.winRate * 100).toFixed(1)}%): ${verdict(p.diff)}`);
  }
  return lines.join("\n");
}
