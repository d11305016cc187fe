/**
 * propamm tournament end to end (dist/cli/main.js; npm test builds first). The truth is outside
 * the command: `propamm run` of the same pair on the same seeds, the closed-form two-player
 * Bradley–Terry estimate, and the JSON's own per-seed edges recomputed here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli, STACK_FRAME } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const CKPT = join(ROOT, "test/fixtures/export/es-run");
const tmp = tempDir("propamm-tournament-");

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = runCli(args, { cwd: tmp });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const SMALL = ["--simulations", "6", "--steps", "1000", "--epoch-len", "500"];

interface Match {
  a: string;
  b: string;
  diff: { mean: number; ci95: number; n: number };
  winsA: number;
  winsB: number;
  ties: number;
  edgeA: number[];
  edgeB: number[];
  edgeNormalizer: number[];
}

describe("propamm tournament", () => {
  it("plays each pair on the same seeds as `propamm run` would, and the JSON's figures follow from its per-seed edges", () => {
    const json = join(tmp, "t.json");
    const r = cli(["tournament", CKPT, "fixed:40", "starter", ...SMALL, "--workers", "2", "--json", json]);
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(readFileSync(json, "utf8"));
    expect(t.format).toBe("propamm-tournament/1");
    expect(t.entrants.map((e: { spec: string }) => e.spec)).toEqual([CKPT, "fixed:40", "starter"]);
    expect(t.seeds).toEqual([100000, 100001, 100002, 100003, 100004, 100005]);
    expect(t.matches).toHaveLength(3);
    // The pair fixed:40 v starter, as `propamm run` plays it on the same seeds.
    const runJson = join(tmp, "run.json");
    const run = cli([
      "run",
      "fixed:40",
      "starter",
      ...SMALL,
      "--seed-start",
      "100000",
      "--workers",
      "1",
      "--json",
      runJson,
    ]);
    expect(run.code, run.err).toBe(0);
    const sims = JSON.parse(readFileSync(runJson, "utf8")).simulations as { pools: { edge: number }[] }[];
    const m = (t.matches as Match[]).find((x) => x.a === "fixed:40" && x.b === "starter")!;
    expect(m.edgeA).toEqual(sims.map((s) => s.pools[0].edge));
    expect(m.edgeB).toEqual(sims.map((s) => s.pools[1].edge));
    expect(m.edgeNormalizer).toEqual(sims.map((s) => s.pools[2].edge));
    for (const [idx, x] of (t.matches as Match[]).entries()) {
      const d = x.edgeA.map((e, i) => e - x.edgeB[i]);
      const mean = d.reduce((s, v) => s + v, 0) / d.length;
      const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1));
      expect(x.diff.mean).toBeCloseTo(mean, 9);
      expect(x.diff.ci95).toBeCloseTo((2.571 * sd) / Math.sqrt(6), 9); // t(0.975, 5) = 2.571
      expect(x.winsA).toBe(d.filter((v) => v > 0).length);
      expect(x.winsB).toBe(d.filter((v) => v < 0).length);
      expect(x.winsA + x.winsB + x.ties).toBe(6);
      // The matrix is antisymmetric, row minus column.
      const [a, b] = [
        [0, 1],
        [0, 2],
        [1, 2],
      ][idx];
      expect(t.matrix[a][b].mean).toBeCloseTo(mean, 9);
      expect(t.matrix[b][a].mean).toBeCloseTo(-mean, 9);
    }
    expect(t.matrix[1][1]).toBeNull();
    expect(t.rating).toMatchObject({
      method: "bradley-terry",
      prior: 1,
      anchor: "mean",
      bootstrap: 1000,
      bootstrapSeed: 0,
    });
    const sum = t.ratings.reduce((s: number, x: { rating: number }) => s + x.rating, 0);
    expect(Math.abs(sum)).toBeLessThan(1e-9);
    expect(r.out).toContain("Paired edge difference, row minus column");
    expect(r.out).toMatch(/Entrant\s+Rating\s+Fisher 95%\s+Bootstrap 95%\s+Wins\s+vs Norm/);
  });

  it("two entrants: the rating difference is log((wins + prior/2) / (losses + prior/2)), anchored at the named entrant", () => {
    const json = join(tmp, "two.json");
    const r = cli([
      "tournament",
      "fixed:30",
      "fixed:70",
      ...SMALL,
      "--workers",
      "1",
      "--anchor",
      "fixed:70",
      "--json",
      json,
    ]);
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(readFileSync(json, "utf8"));
    const m = t.matches[0] as Match;
    const w = m.winsA + m.ties / 2;
    const l = m.winsB + m.ties / 2;
    expect(t.ratings[1].rating).toBe(0);
    expect(t.ratings[0].rating).toBeCloseTo(Math.log((w + 0.5) / (l + 0.5)), 9);
    expect(t.rating.anchor).toBe("fixed:70");
  });

  it("is deterministic: the same command gives the same output bit for bit, whatever the worker count", () => {
    const args = ["tournament", "fixed:20", "fixed:50", "starter", ...SMALL, "--bootstrap", "200"];
    const a = cli([...args, "--workers", "1", "--json", join(tmp, "d1.json")]);
    const b = cli([...args, "--workers", "2", "--json", join(tmp, "d2.json")]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    expect(readFileSync(join(tmp, "d1.json"), "utf8")).toBe(readFileSync(join(tmp, "d2.json"), "utf8"));
    expect(a.out.replace(/d1\.json/g, "")).toBe(b.out.replace(/d2\.json/g, ""));
    const c = cli([...args, "--bootstrap-seed", "1", "--workers", "1", "--json", join(tmp, "d3.json")]);
    expect(c.code, c.err).toBe(0);
    const [one, three] = ["d1.json", "d3.json"].map((f) => JSON.parse(readFileSync(join(tmp, f), "utf8")));
    expect(three.matches).toEqual(one.matches);
    expect(three.ratings.map((x: { bootstrap95: number[] }) => x.bootstrap95)).not.toEqual(
      one.ratings.map((x: { bootstrap95: number[] }) => x.bootstrap95),
    );
  });

  it("refuses bad input with a clear error naming the problem and exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["tournament", "nosuch", "fixed:30"], /unknown strategy 'nosuch'/],
      [["tournament", "fixed:30"], /at least 2 entrants \(got 1: fixed:30\)/],
      [["tournament", "fixed:30", "fixed:30"], /entrant 'fixed:30' is given twice/],
      [["tournament", "fixed:30", "fixed:40", "--simulations", "0"], /--simulations <n>' argument '0' is invalid/],
      [["tournament", "fixed:30", "fixed:40", "--simulations", "2.5"], /--simulations <n>' argument '2.5' is invalid/],
      [["tournament", "fixed:30", "fixed:40", "--anchor", "starter"], /--anchor 'starter' is not one of the entrants/],
      [["tournament", "fixed:30", "fixed:40", "--prior", "-1"], /--prior <games>' argument '-1' is invalid/],
      [["tournament", "fixed:30", "fixed:40", "--bootstrap", "x"], /--bootstrap <n>' argument 'x' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = cli([...args, "--steps", "500", "--workers", "1"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
      expect(r.err).not.toMatch(STACK_FRAME);
    }
  });

  it("with --prior 0 says when the maximum-likelihood ratings do not exist", () => {
    // On one seed one of them wins every game (or they tie): the difference has no finite MLE.
    const r = cli([
      "tournament",
      "fixed:30",
      "fixed:900",
      "--simulations",
      "1",
      "--steps",
      "1000",
      "--prior",
      "0",
      "--workers",
      "1",
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /maximum-likelihood ratings do not exist: fixed:(30|900) never lost nor tied a seed against fixed:(30|900) .*--prior/,
    );
  });
});
