/**
 * `propamm run --trace` (docs/trace.md) through the built CLI: the tape it writes parses, names
 * the format, and its edges are the ones the same run's `--json` reports for that seed, in
 * worker threads, in this thread and in the sandbox; bad trace options are refused with exit 2.
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SimulationTrace } from "../../env/trace.js";
import { type CliResult, requireBuiltCli, ROOT, runCli, showRun, STACK_FRAME } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-trace-cli-");
beforeAll(requireBuiltCli);

interface RunJson {
  simulations: {
    seed: number;
    finalPrice: number;
    pools: { name: string; edge: number; epochs: { weight: number | null }[] }[];
  }[];
}

function run(args: string[]): CliResult & { args: string[] } {
  const full = ["run", ...args];
  return { ...runCli(full, { cwd: ROOT, timeoutMs: 120_000, env: { ...process.env, NO_COLOR: "1" } }), args: full };
}

/** The tape's final edges, summed from its trades, and the last step's cumulative edges. */
function tapeEdges(t: SimulationTrace): { summed: number[]; last: number[] } {
  const summed = t.pools.map(() => 0);
  t.trades.edge.forEach((e, k) => (summed[t.trades.pool[k]] += e));
  return { summed, last: t.steps.edge.map((c) => c[c.length - 1]) };
}

function checkAgainstJson(tracePath: string, jsonPath: string, seed: number): SimulationTrace {
  const text = readFileSync(tracePath, "utf8");
  // Compact: one line of JSON.
  expect(text.trimEnd().split("\n")).toHaveLength(1);
  const t = JSON.parse(text) as SimulationTrace;
  expect(t.format).toBe("propamm-trace");
  expect(t.version).toBe(1);
  expect(t.seed).toBe(seed);
  const sim = (JSON.parse(readFileSync(jsonPath, "utf8")) as RunJson).simulations.find((s) => s.seed === seed)!;
  expect(t.pools.map((p) => p.name)).toEqual(sim.pools.map((p) => p.name));
  const { summed, last } = tapeEdges(t);
  expect(last).toEqual(sim.pools.map((p) => p.edge));
  expect(summed).toEqual(sim.pools.map((p) => p.edge));
  expect(t.steps.price[t.steps.count - 1]).toBe(sim.finalPrice);
  expect(t.epochs.weight).toEqual(sim.pools.map((p) => p.epochs.map((e) => e.weight)));
  return t;
}

describe("propamm run --trace", () => {
  it("writes the tape of --trace-seed, matching the run's own results for that seed (worker threads)", () => {
    const trace = join(tmp, "threads", "tape.json");
    const json = join(tmp, "threads", "run.json");
    const r = run([
      "starter",
      "fixed:30",
      ...["--simulations", "3", "--seed-start", "2", "--steps", "800", "--epoch-len", "300", "--workers", "2"],
      ...["--json", json, "--trace", trace, "--trace-seed", "3"],
    ]);
    expect(r.status, showRun(r.args, r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`wrote ${trace} \\(seed 3: 800 steps, \\d+ trades\\)`));
    const t = checkAgainstJson(trace, json, 3);
    expect(t.steps.count).toBe(800);
    expect(t.epochs.step).toEqual([299, 599, 799]);
  });

  it("records the first seed by default, in this thread too, and the tape is the same in both modes", () => {
    const a = join(tmp, "here-a.json");
    const b = join(tmp, "here-b.json");
    const json = join(tmp, "here-run.json");
    const common = ["starter", "fixed:30", "--simulations", "2", "--seed-start", "2", "--steps", "800"];
    const r = run([...common, "--epoch-len", "300", "--workers", "0", "--json", json, "--trace", a]);
    expect(r.status, showRun(r.args, r)).toBe(0);
    checkAgainstJson(a, json, 2);
    const r2 = run([...common, "--epoch-len", "300", "--workers", "1", "--trace", b]);
    expect(r2.status, showRun(r2.args, r2)).toBe(0);
    expect(readFileSync(b, "utf8")).toBe(readFileSync(a, "utf8"));
  });

  it("works with --sandbox and a strategy file", () => {
    const trace = join(tmp, "sandbox-tape.json");
    const json = join(tmp, "sandbox-run.json");
    const r = run([
      "test/fixtures/good.ts",
      "fixed:40",
      ...["--sandbox", "--simulations", "2", "--steps", "600", "--workers", "1"],
      ...["--json", json, "--trace", trace, "--trace-seed", "1"],
    ]);
    expect(r.status, showRun(r.args, r)).toBe(0);
    expect(r.stderr).toMatch(/^strategies: sandboxed \(/m);
    const t = checkAgainstJson(trace, json, 1);
    expect(t.pools[0].name).toBe("Fixture: good adaptive fee");
  });

  it("refuses a trace seed outside the run's seeds, and --trace-seed without --trace, with exit code 2", () => {
    const trace = join(tmp, "refused.json");
    const r = run(["fixed:30", "--simulations", "2", "--steps", "50", "--trace", trace, "--trace-seed", "5"]);
    expect(r.status, showRun(r.args, r)).toBe(2);
    expect(r.stderr).toMatch(/trace seed must be one of the run's seeds, 0..1 \(got 5\)/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(trace)).toBe(false);
    const r2 = run(["fixed:30", "--simulations", "2", "--steps", "50", "--trace-seed", "1"]);
    expect(r2.status, showRun(r2.args, r2)).toBe(2);
    expect(r2.stderr).toMatch(/--trace-seed needs --trace/);
  });
});
