/**
 * The fixed-fee baselines of `propamm sweep` and `propamm eval --baselines` end to end
 * (dist/cli/main.js): their numbers recomputed from the per-seed matrices in the JSON, and the
 * best single fee's row equal, bit for bit, to `propamm eval` of that fee on the same seeds.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { mean } from "../helpers/stats.js";

const tmp = tempDir("propamm-baselines-");

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = runCli(args, { cwd: tmp });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const SMALL = ["--simulations", "6", "--steps", "1000", "--epoch-len", "500", "--workers", "1", "--no-plots"];

interface Matrix {
  fees: number[];
  seeds: number[];
  markets: { sigma: number; normalizerFeeBps: number }[];
  edge: number[][];
  vsNormalizer: number[][];
}

interface Row {
  name: string;
  kind: string;
  edge: { mean: number };
  perSeed: { fee: number[]; edge: number[]; vsNormalizer: number[] };
}

interface Baselines {
  fees: number[];
  bestFeeBps: number;
  bestFeeByEdgeBps: number;
  bins: { sigmaCuts: number[]; normFeeCuts: number[] };
  rows: Row[];
  regimeTable: { fallbackFeeBps: number; cells: { cell: number; fitSeeds: number; feeBps: number }[] };
  evalMatrix: Matrix;
  fitMatrix: Matrix;
}

const argmax = (xs: number[]): number => xs.indexOf(Math.max(...xs));
const bin = (cuts: number[], v: number): number => cuts.filter((c) => v >= c).length;

describe("propamm sweep and eval --baselines", () => {
  it("sweep: best single fee, regime table fitted on the fit seeds, hindsight = per-seed max, from its own matrices", () => {
    const json = join(tmp, "sweep.json");
    const r = cli(["sweep", "fixed", "--from", "20", "--to", "80", "--step", "30", ...SMALL, "--fit-simulations", "8"]);
    expect(r.code, r.err).toBe(0);
    const r2 = cli([
      "sweep",
      "fixed",
      "--from",
      "20",
      "--to",
      "80",
      "--step",
      "30",
      ...SMALL,
      "--fit-simulations",
      "8",
      "--json",
      json,
    ]);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toBe(`${r.out}wrote ${json}\n`); // deterministic
    const s = JSON.parse(readFileSync(json, "utf8")) as { baselines: Baselines };
    const b = s.baselines;
    const ev = b.evalMatrix;
    const fit = b.fitMatrix;
    expect(ev.seeds).toEqual([100000, 100001, 100002, 100003, 100004, 100005]);
    expect(fit.seeds).toEqual(Array.from({ length: 8 }, (_, i) => 300000 + i));
    expect(b.bestFeeBps).toBe(ev.fees[argmax(ev.vsNormalizer.map((x) => mean(x)))]);
    expect(b.bestFeeByEdgeBps).toBe(ev.fees[argmax(ev.edge.map((x) => mean(x)))]);
    // The regime table from the fit matrix alone, by brute force.
    const nf = b.bins.normFeeCuts.length + 1;
    const cellOf = (m: { sigma: number; normalizerFeeBps: number }): number =>
      bin(b.bins.sigmaCuts, m.sigma) * nf + bin(b.bins.normFeeCuts, m.normalizerFeeBps);
    const fallback = fit.fees[argmax(fit.vsNormalizer.map((x) => mean(x)))];
    expect(b.regimeTable.fallbackFeeBps).toBe(fallback);
    for (const c of b.regimeTable.cells) {
      const idx = fit.markets.map((m, i) => (cellOf(m) === c.cell ? i : -1)).filter((i) => i >= 0);
      expect(c.fitSeeds).toBe(idx.length);
      const expected = idx.length
        ? fit.fees[argmax(fit.vsNormalizer.map((row) => mean(idx.map((i) => row[i]))))]
        : fallback;
      expect(c.feeBps).toBe(expected);
    }
    const byKind = (k: string): Row => b.rows.find((x) => x.kind === k)!;
    const table = byKind("fitted table");
    ev.markets.forEach((m, i) => {
      const f = ev.fees.indexOf(b.regimeTable.cells[cellOf(m)].feeBps);
      expect(table.perSeed.vsNormalizer[i]).toBe(ev.vsNormalizer[f][i]);
    });
    const hind = byKind("hindsight ceiling");
    ev.seeds.forEach((_, i) => {
      expect(hind.perSeed.vsNormalizer[i]).toBe(Math.max(...ev.vsNormalizer.map((row) => row[i])));
    });
    expect(byKind("oracle ceiling").name).toBe(`oracle:${b.bestFeeBps}`);
    for (const label of ["strategy", "fitted table", "hindsight ceiling", "oracle ceiling", "Regime table fitted on"])
      expect(r.out).toContain(label);
  });

  it("eval --baselines: the best single fee's row is propamm eval of that fee on the same seeds, bit for bit", () => {
    const json = join(tmp, "eval.json");
    const grid = ["--fee-from", "20", "--fee-to", "80", "--fee-step", "30", "--fit-simulations", "4"];
    const r = cli(["eval", "fixed:35", "--baselines", ...grid, ...SMALL, "--json", json]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Minus fixed:");
    const report = JSON.parse(readFileSync(json, "utf8")) as {
      runs: { simulations: { seed: number; pools: { edge: number }[] }[] }[];
      baselines: Baselines & { slices: { name: string; slices: { label: string; diff: { mean: number } }[] }[] };
    };
    const b = report.baselines;
    const best = b.rows[0];
    expect(best.kind).toBe("strategy");
    expect(best.name).toBe(`fixed:${b.bestFeeBps} (best vs norm)`);
    const one = join(tmp, "one.json");
    const e = cli(["eval", `fixed:${b.bestFeeBps}`, `oracle:${b.bestFeeBps}`, ...SMALL, "--json", one]);
    expect(e.code, e.err).toBe(0);
    const direct = JSON.parse(readFileSync(one, "utf8")) as {
      rows: { edge: { mean: number } }[];
      runs: { simulations: { pools: { edge: number }[] }[] }[];
    };
    const edges = (k: number): number[] => direct.runs[k].simulations.map((s) => s.pools[0].edge);
    const vsNorm = (k: number): number[] =>
      direct.runs[k].simulations.map((s) => s.pools[0].edge - s.pools[s.pools.length - 1].edge);
    expect(best.perSeed.edge).toEqual(edges(0));
    expect(best.perSeed.vsNormalizer).toEqual(vsNorm(0));
    expect(best.edge.mean).toBe(direct.rows[0].edge.mean);
    const oracle = b.rows.find((x) => x.kind === "oracle ceiling")!;
    expect(oracle.perSeed.edge).toEqual(edges(1));
    // The candidate's slice over all seeds: its edge vs norm minus the best fee's, by seed.
    const cand = report.runs[0].simulations.map((s) => s.pools[0].edge - s.pools[s.pools.length - 1].edge);
    const all = b.slices[0].slices[0];
    expect(all.label).toBe("all seeds");
    expect(all.diff.mean).toBeCloseTo(mean(cand.map((x, i) => x - best.perSeed.vsNormalizer[i])), 9);
  });

  it("--no-oracle and --fit-simulations 0 leave out the oracle row and the regime table; --oracle sets its fee", () => {
    const grid = ["--fee-from", "20", "--fee-to", "50", "--fee-step", "30"];
    const json = join(tmp, "bare.json");
    const r = cli([
      "eval",
      "fixed:35",
      "--baselines",
      ...grid,
      ...SMALL,
      "--no-oracle",
      "--fit-simulations",
      "0",
      "--json",
      json,
    ]);
    expect(r.code, r.err).toBe(0);
    const b = (JSON.parse(readFileSync(json, "utf8")) as { baselines: Baselines }).baselines;
    expect(b.rows.map((x) => x.kind).filter((k) => k !== "strategy")).toEqual(["hindsight ceiling"]);
    expect(b.regimeTable).toBeNull();
    const o = cli(["eval", "fixed:35", "--baselines", ...grid, ...SMALL, "--oracle", "25", "--fit-simulations", "0"]);
    expect(o.code, o.err).toBe(0);
    expect(o.out).toMatch(/oracle:25 +oracle ceiling/);
  });

  it("refuses fit seeds that overlap the evaluation seeds, and --baselines with --together", () => {
    const grid = ["--fee-from", "20", "--fee-to", "50", "--fee-step", "30"];
    const o = cli(["eval", "fixed:35", "--baselines", ...grid, ...SMALL, "--fit-seed-start", "100003"]);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/overlap the evaluation seeds/);
    const t = cli(["eval", "fixed:35", "--baselines", "--together", ...SMALL]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/--together/);
  });
});
