/**
 * propamm eval, sweep and export end to end (dist/cli/main.js; npm test builds first). Numbers
 * are checked against independent recomputation from the JSON the commands write.
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const CKPT = join(ROOT, "test/fixtures/export/es-run");
const tmp = tempDir("propamm-eval-");

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = runCli(args, { cwd: tmp });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const SMALL = ["--simulations", "6", "--steps", "1000", "--epoch-len", "500", "--workers", "1"];

describe("propamm eval", () => {
  it("runs each candidate in its own simulations and reports paired differences that match the JSON", () => {
    const json = join(tmp, "eval.json");
    const r = cli([
      "eval",
      CKPT,
      "fixed:40",
      "--against",
      "starter",
      ...SMALL,
      "--json",
      json,
      "--plots",
      join(tmp, "plots"),
    ]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report.runs).toHaveLength(2);
    // Same seeds in both runs (common random numbers), and the paired difference recomputed by seed.
    const edges = report.runs.map((run: { simulations: { seed: number; pools: { edge: number }[] }[] }) =>
      run.simulations.map((s) => [s.seed, s.pools[0].edge]),
    );
    expect(edges[0].map((e: number[]) => e[0])).toEqual(edges[1].map((e: number[]) => e[0]));
    const diffs = edges[0].map((e: number[], i: number) => e[1] - edges[1][i][1]);
    const mean = diffs.reduce((a: number, b: number) => a + b, 0) / diffs.length;
    expect(report.pairs[0].diff.mean).toBeCloseTo(mean, 9);
    expect(r.out).toContain("Candidates compared by seed");
    expect(r.out).toMatch(/Win vs Norm/);
    for (const f of ["edge_distribution.svg", "capital_weight.svg"]) {
      const svg = readFileSync(join(tmp, "plots", f), "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain("</svg>");
    }
  });

  it("refuses a corrupted checkpoint with a clear error and exit code 2", () => {
    const r = cli(["eval", join(tmp, "no-such-checkpoint"), ...SMALL, "--no-plots"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: .*not found|unknown strategy/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe("--against none: one strategy and the normalizer (the original challenge's setting)", () => {
  it("eval and sweep play the candidate alone with the normalizer, as `propamm run` does", () => {
    const seeds = ["--seed-start", "40"];
    const evalJson = join(tmp, "alone-eval.json");
    const sweepJson = join(tmp, "alone-sweep.json");
    const runJson = join(tmp, "alone-run.json");
    const e = cli(["eval", "fixed:50", "--against", "none", ...SMALL, ...seeds, "--json", evalJson, "--no-plots"]);
    expect(e.code, e.err).toBe(0);
    expect(e.out).toContain("fixed:50 against no opponents (the normalizer only)");
    const w = cli(["sweep", "fixed", "--from", "50", "--to", "50", "--against", "none", ...SMALL, ...seeds]);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toContain("--against none");
    const s = cli([
      "sweep",
      "fixed",
      "--from",
      "50",
      "--to",
      "50",
      "--against",
      "none",
      ...SMALL,
      ...seeds,
      "--json",
      sweepJson,
      "--no-plots",
      "--fit-simulations",
      "0",
    ]);
    expect(s.code, s.err).toBe(0);
    const r = cli(["run", "fixed:50", ...SMALL, ...seeds, "--json", runJson]);
    expect(r.code, r.err).toBe(0);
    type Sim = { seed: number; pools: { edge: number }[] };
    const alone = (JSON.parse(readFileSync(runJson, "utf8")) as { simulations: Sim[] }).simulations;
    const evaluated = (JSON.parse(readFileSync(evalJson, "utf8")) as { runs: { simulations: Sim[] }[] }).runs[0]
      .simulations;
    // Two pools (the candidate and the normalizer), the same edges by seed as the plain run.
    expect(evaluated.map((x) => x.pools.length)).toEqual(alone.map(() => 2));
    expect(evaluated.map((x) => [x.seed, x.pools[0].edge])).toEqual(alone.map((x) => [x.seed, x.pools[0].edge]));
    const mean = alone.reduce((a, x) => a + x.pools[0].edge, 0) / alone.length;
    const sweep = JSON.parse(readFileSync(sweepJson, "utf8")) as { points: { meanEdge: number }[] };
    expect(sweep.points[0].meanEdge).toBeCloseTo(mean, 9);
  });

  it("refuses 'none' with other strategies, naming the flag", () => {
    for (const args of [
      ["eval", "fixed:50", "--against", "none", "starter", ...SMALL, "--no-plots"],
      ["sweep", "fixed", "--against", "starter", "none", ...SMALL, "--no-plots"],
    ]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.err).toContain("--against: 'none' (no opponents) stands alone");
    }
    const out = join(tmp, "never-created");
    const t = cli(["train", "--opponents", "none", "starter", "--timesteps", "100", "--out", out]);
    expect(t.code).toBe(2);
    expect(t.err).toContain("--opponents: 'none' (no opponents) stands alone");
    expect(existsSync(out)).toBe(false);
  });
});

describe("propamm sweep", () => {
  it("finds the fee with the highest mean edge among those it ran", () => {
    const json = join(tmp, "sweep.json");
    const r = cli([
      "sweep",
      "fixed",
      "--from",
      "20",
      "--to",
      "80",
      "--step",
      "30",
      ...SMALL,
      "--json",
      json,
      "--no-plots",
    ]);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(readFileSync(json, "utf8"));
    expect(s.points.map((p: { feeBps: number }) => p.feeBps)).toEqual([20, 50, 80]);
    const best = s.points.reduce((a: { meanEdge: number }, b: { meanEdge: number }) =>
      b.meanEdge > a.meanEdge ? b : a,
    );
    expect(s.bestFeeBps).toBe(best.feeBps);
    expect(r.out).toContain(`best fixed fee: ${best.feeBps} bps`);
    expect(cli(["sweep", "starter"]).code).toBe(2);
  });
});

describe("propamm export", () => {
  it("writes a file that runs like the checkpoint itself", () => {
    const file = join(tmp, "policy.ts");
    const r = cli(["export", CKPT, "-o", file]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(file)).toBe(true);
    const a = cli(["run", file, "starter", ...SMALL, "--json", join(tmp, "a.json")]);
    const b = cli(["run", CKPT, "starter", ...SMALL, "--json", join(tmp, "b.json")]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const edges = (f: string): number[][] =>
      JSON.parse(readFileSync(join(tmp, f), "utf8")).simulations.map((s: { pools: { edge: number }[] }) =>
        s.pools.map((p) => p.edge),
      );
    expect(edges("a.json")).toEqual(edges("b.json"));
    expect(cli(["export", CKPT, "--format", "py"]).code).toBe(2);
  });
});
