/**
 * The fixed-fee baselines of `propamm sweep` and `propamm eval --baselines` (spec §7.6): their
 * options, the printed tables and the JSON, around arena/baselines.ts.
 */
import type { Command } from "commander";
import {
  type BaselineReport,
  type BaselineRun,
  type BaselineRunOptions,
  defaultBins,
  defaultFitSeedStart,
  normFeeLabel,
  sigmaLabel,
  sliceDifferences,
} from "../arena/baselines.js";
import type { Estimate } from "../arena/stats.js";
import { integer, lineUpText, real } from "./options.js";

export interface BaselineCliOptions {
  fitSeedStart?: number;
  fitSimulations?: number;
  sigmaBins: number;
  normFeeBins: number;
  oracle?: number | false;
}

export function addBaselineOptions(cmd: Command): Command {
  return cmd
    .option(
      "--fit-seed-start <n>",
      "first seed of the regime table's fit (default 300000, or right after the evaluation seeds when they overlap it)",
      integer(0),
    )
    .option(
      "--fit-simulations <n>",
      "seeds per fee for fitting the regime table, disjoint from the evaluation seeds (default: as many as evaluated; 0: no table)",
      integer(0),
    )
    .option("--sigma-bins <n>", "equal-width sigma bins of the regime table and slices", integer(1, 20), 3)
    .option("--norm-fee-bins <n>", "equal-width normalizer-fee bins of the regime table and slices", integer(1, 20), 3)
    .option(
      "--oracle <bps>",
      "fee of the oracle ceiling row (default: the best single fee)",
      real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps"),
    )
    .option("--no-oracle", "no oracle ceiling row");
}

/** The run options of the baselines from the command line. */
export function baselineRunOptions(
  o: BaselineCliOptions,
  base: Omit<BaselineRunOptions, "fitSeedStart" | "fitSimulations" | "bins" | "oracleFee">,
): BaselineRunOptions {
  const fitSimulations = o.fitSimulations ?? base.simulations;
  return {
    ...base,
    fitSimulations,
    fitSeedStart: o.fitSeedStart ?? defaultFitSeedStart(base.seedStart, base.simulations, fitSimulations),
    bins: defaultBins(o.sigmaBins, o.normFeeBins),
    oracleFee: o.oracle === false ? null : (o.oracle ?? "best"),
  };
}

function pm(e: Estimate): string {
  const sign = e.mean >= 0 ? "+" : "";
  return `${sign}${e.mean.toFixed(2)} ±${Number.isFinite(e.ci95) ? e.ci95.toFixed(2) : "n/a"}`;
}

function seedRange(seeds: readonly number[]): string {
  return `${seeds[0]}..${seeds[seeds.length - 1]}`;
}

/** A candidate compared with the best single fee: its per-seed edge vs the normalizer on the same seeds. */
export interface SlicedCandidate {
  name: string;
  vsNormalizer: readonly number[];
}

/** The baseline rows, the regime table, and candidate minus best single fee per regime slice. */
export function formatBaselines(
  r: BaselineReport,
  opponents: readonly string[],
  candidates: SlicedCandidate[],
): string {
  const lines: string[] = [];
  const fees = r.fees;
  lines.push(
    `Fixed-fee baselines against ${lineUpText(opponents)} on seeds ${seedRange(r.seeds)} (each of ${fees.length} fees, ${fees[0]}..${fees[fees.length - 1]} bps, in its own simulations):`,
  );
  const nameW = Math.max(26, ...r.rows.map((x) => x.name.length + 2));
  const head = "Baseline".padEnd(nameW) + "What".padEnd(20) + "Mean Edge".padStart(20) + "vs Norm".padStart(20);
  lines.push(head, "-".repeat(head.length));
  for (const row of r.rows)
    lines.push(
      row.name.padEnd(nameW) + row.kind.padEnd(20) + pm(row.edge).padStart(20) + pm(row.vsNormalizer).padStart(20),
    );
  lines.push(
    `strategy: a fixed fee, chosen on these same seeds (in-sample); fitted table: fees per regime chosen on ${r.table ? `seeds ${seedRange(r.fitSeeds)}` : "(not fitted)"}, played here;`,
    "hindsight ceiling: each seed's best fee, known only afterwards; oracle ceiling: the oracle pool (spec §5.4). Ceilings are not strategies.",
  );
  if (r.bestFeeByEdge === r.bestFee) lines.push(`best single fee by edge vs norm and by raw edge: ${r.bestFee} bps`);
  else lines.push(`best single fee by edge vs norm: ${r.bestFee} bps; by raw edge: ${r.bestFeeByEdge} bps`);
  if (r.table) {
    const t = r.table;
    lines.push(
      `Regime table fitted on seeds ${seedRange(r.fitSeeds)} (fee in bps, fit seeds in brackets; * = no fit seed, the fit's best single fee ${fees[t.fallbackFee]}):`,
    );
    const nf = r.bins.normFeeCuts.length + 1;
    const colW = Math.max(...Array.from({ length: nf }, (_, k) => normFeeLabel(r.bins, k).length)) + 3;
    const rowW =
      Math.max(...Array.from({ length: r.bins.sigmaCuts.length + 1 }, (_, k) => sigmaLabel(r.bins, k).length)) + 2;
    lines.push("".padEnd(rowW) + Array.from({ length: nf }, (_, k) => normFeeLabel(r.bins, k).padStart(colW)).join(""));
    for (let s = 0; s <= r.bins.sigmaCuts.length; s++) {
      const cells = t.cells.filter((c) => c.sigmaBin === s);
      lines.push(
        sigmaLabel(r.bins, s).padEnd(rowW) +
          cells.map((c) => `${fees[c.fee]}${c.fallback ? "*" : ""} (${c.fitSeeds})`.padStart(colW)).join(""),
      );
    }
  }
  const best = r.rows[0];
  const compared: SlicedCandidate[] = [
    ...candidates,
    ...r.rows.slice(1).map((x) => ({ name: `${x.name} [${x.kind}]`, vsNormalizer: x.perSeed.vsNormalizer })),
  ];
  lines.push(`Minus ${best.name}, edge vs norm by seed, per regime slice (95% CI):`);
  for (const c of compared) {
    lines.push(`  ${c.name}`);
    for (const s of sliceDifferences(r.bins, r.markets, c.vsNormalizer, best.perSeed.vsNormalizer)) {
      const ok = s.diff.n > 0;
      lines.push(
        `    ${s.label.padEnd(28)}${(ok ? pm(s.diff) : "n/a").padStart(20)}  n ${String(s.diff.n).padEnd(6)}${ok ? `wins ${(s.winRate * 100).toFixed(1)}%` : ""}`,
      );
    }
  }
  return lines.join("\n");
}

/** The baselines as JSON: every row with its per-seed numbers, the table, the grids' per-seed matrices. */
export function baselinesJson(run: BaselineRun, candidates: SlicedCandidate[]): unknown {
  const r = run.report;
  const best = r.rows[0];
  const compared = [
    ...candidates,
    ...r.rows.slice(1).map((x) => ({ name: x.name, vsNormalizer: x.perSeed.vsNormalizer })),
  ];
  return {
    fees: r.fees,
    seeds: r.seeds,
    fitSeeds: r.fitSeeds,
    bins: r.bins,
    bestFeeBps: r.bestFee,
    bestFeeByEdgeBps: r.bestFeeByEdge,
    rows: r.rows,
    regimeTable: r.table && {
      fallbackFeeBps: r.fees[r.table.fallbackFee],
      cells: r.table.cells.map(({ fee, ...c }) => ({ ...c, feeBps: r.fees[fee] })),
    },
    slices: compared.map((c) => ({
      name: c.name,
      minus: best.name,
      slices: sliceDifferences(r.bins, r.markets, c.vsNormalizer, best.perSeed.vsNormalizer),
    })),
    evalMatrix: run.evalMatrix,
    fitMatrix: run.fitMatrix,
  };
}
