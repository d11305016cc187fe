/**
 * End-to-end tests of the `propamm` command: the built CLI (dist/cli/main.js, made by
 * `npm run build`) runs as a child process, exactly as a user would run it.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { VALIDATION_CHECKS } from "../../arena/validate.js";
import { HOOK_ERROR } from "../fixtures/hook-throws.js";
import { type CliResult, requireBuiltCli, ROOT, runCli, showRun as show, STACK_FRAME } from "../helpers/cli.js";
import { mean, sampleStd } from "../helpers/stats.js";
import { tempDir } from "../helpers/tmp.js";

const FIXTURES = "test/fixtures";
/** Two-sided 95% Student-t quantiles for 2 and 3 degrees of freedom. */
const T95: Record<number, number> = { 2: 4.303, 3: 3.182 };

function cli(...args: string[]): CliResult {
  return runCli(args, { cwd: ROOT, timeoutMs: 60_000, env: { ...process.env, NO_COLOR: "1" } });
}

const tmp = tempDir("propamm-cli-");
beforeAll(requireBuiltCli);

// ---------------------------------------------------------------------------------------------
// Recomputing the table from per-simulation results
// ---------------------------------------------------------------------------------------------

interface PoolJson {
  name: string;
  edge: number;
  finalWeight: number | null;
  errors: { quoteErrors: number; invalidQuotes: number; hookErrors: number; feeErrors: number; lastError: string };
  epochs: { edge: number }[];
}
interface RunJson {
  strategies: string[];
  config: { steps: number; epochLen: number };
  seeds: { start: number; count: number };
  summary: {
    simulations: number;
    rows: { name: string; normalizer: boolean; edge: { mean: number }; errors: PoolJson["errors"] }[];
  };
  simulations: { seed: number; pools: PoolJson[] }[];
}

/** Header line and the data rows of the printed table, keyed by strategy name. */
function parseTable(stdout: string, names: string[]): { header: string; rows: Map<string, string[]> } {
  const lines = stdout.split("\n");
  const h = lines.findIndex((l) => l.startsWith("Strategy"));
  expect(h, `no table header in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  expect(lines[h + 1]).toMatch(/^-+$/);
  const body = lines.slice(h + 2, h + 2 + names.length);
  const rows = new Map<string, string[]>();
  names.forEach((name, i) => {
    expect(body[i].startsWith(name), `row ${i} should be '${name}':\n${stdout}`).toBe(true);
    rows.set(name, body[i].slice(name.length).trim().split(/\s+/));
  });
  return { header: lines[h], rows };
}

/** `printed` is `value` rounded to `digits` decimals. */
function expectRounded(printed: string, value: number, digits: number, what: string): void {
  const n = Number(printed.replace(/[±%]/g, ""));
  expect(Number.isFinite(n), `${what}: '${printed}' is not a number`).toBe(true);
  expect(Math.abs(n - value), `${what}: printed ${printed}, recomputed ${value}`).toBeLessThanOrEqual(
    0.5 * 10 ** -digits + 1e-9,
  );
}

// ---------------------------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------------------------

describe("propamm run", () => {
  const base = ["run", "starter", "fixed:30", "--simulations", "4", "--steps", "2000", "--epoch-len", "500"];
  let one: CliResult;
  let json: RunJson;

  beforeAll(() => {
    const args = [...base, "--workers", "1", "--json", join(tmp, "r.json")];
    one = cli(...args);
    expect(one.status, show(args, one)).toBe(0);
    json = JSON.parse(readFileSync(join(tmp, "r.json"), "utf8")) as RunJson;
  });

  it("prints the spec §7 table with a normalizer row", () => {
    const header = one.stdout.split("\n").find((l) => l.startsWith("Strategy"));
    expect(header, one.stdout).toBeDefined();
    const columns = ["Strategy", "Mean Edge", "Std Edge", "vs Norm", "Sharpe", "Final Cap%"];
    for (const c of columns) expect(header).toContain(c);
    const at = columns.map((c) => header!.indexOf(c));
    expect(at, "columns in spec §7.3 order").toEqual([...at].sort((a, b) => a - b));
    expect(one.stdout).toMatch(/^\[Normalizer\]\s/m);
    expect(one.stdout).toContain("(4 simulations");
    expect(one.stderr).not.toMatch(STACK_FRAME);
  });

  it("writes JSON with one result per simulation", () => {
    expect(json.strategies).toEqual(["starter", "fixed:30"]);
    expect(json.config).toMatchObject({ steps: 2000, epochLen: 500 });
    expect(json.seeds).toEqual({ start: 0, count: 4 });
    expect(json.simulations.map((s) => s.seed)).toEqual([0, 1, 2, 3]);
    for (const sim of json.simulations) {
      expect(sim.pools.map((p) => p.name)).toEqual(json.summary.rows.map((r) => r.name));
      expect(sim.pools).toHaveLength(3);
      expect(sim.pools[2].name).toBe("[Normalizer]");
      for (const p of sim.pools) {
        expect(Number.isFinite(p.edge), `${p.name} edge in seed ${sim.seed}`).toBe(true);
        // 2000 steps in epochs of 500: four epochs whose edges add up to the simulation's edge.
        expect(p.epochs).toHaveLength(4);
        expect(mean(p.epochs.map((e) => e.edge)) * 4).toBeCloseTo(p.edge, 9);
      }
      const weights = sim.pools.slice(0, 2).map((p) => p.finalWeight as number);
      expect(weights[0] + weights[1], `capital weights of seed ${sim.seed}`).toBeCloseTo(1, 9);
    }
  });

  it("prints numbers that agree with the per-simulation JSON", () => {
    const names = json.simulations[0].pools.map((p) => p.name);
    const { rows } = parseTable(one.stdout, names);
    const n = json.simulations.length;
    const norm = json.simulations.map((s) => s.pools[2].edge);
    names.forEach((name, i) => {
      const cells = rows.get(name)!;
      const edges = json.simulations.map((s) => s.pools[i].edge);
      const m = mean(edges);
      const sd = sampleStd(edges);
      expect(json.summary.rows[i].edge.mean).toBeCloseTo(m, 9);
      if (i === 2) {
        // [Normalizer]: mean ±ci, std, "-", Sharpe, "-"
        expect(cells, name).toHaveLength(6);
        expect(cells[3]).toBe("-");
        expect(cells[5]).toBe("-");
      } else {
        // mean ±ci, std, vsNorm ±ci, Sharpe, cap%
        expect(cells, name).toHaveLength(7);
        const vs = edges.map((e, k) => e - norm[k]);
        expectRounded(cells[3], mean(vs), 2, `${name} vs Norm`);
        expectRounded(cells[4], (T95[n - 1] * sampleStd(vs)) / Math.sqrt(n), 2, `${name} vs Norm CI`);
        const cap = mean(json.simulations.map((s) => s.pools[i].finalWeight as number)) * 100;
        expect(cells[6].endsWith("%")).toBe(true);
        expectRounded(cells[6], cap, 1, `${name} Final Cap%`);
      }
      expectRounded(cells[0], m, 2, `${name} Mean Edge`);
      expectRounded(cells[1], (T95[n - 1] * sd) / Math.sqrt(n), 2, `${name} Mean Edge CI`);
      expectRounded(cells[2], sd, 2, `${name} Std Edge`);
      expectRounded(cells[cells.length - 2], m / sd, 3, `${name} Sharpe`);
    });
  });

  it("gives identical results with 2 workers", () => {
    const args = [...base, "--workers", "2", "--json", join(tmp, "r2.json")];
    const two = cli(...args);
    expect(two.status, show(args, two)).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, "r2.json"), "utf8"))).toEqual(json);
    // The printed table and paired differences match too (only the timing line may differ).
    const report = (s: string) => s.split("\n").filter((l) => !l.startsWith("seeds ") && !l.startsWith("wrote "));
    expect(report(two.stdout)).toEqual(report(one.stdout));
  });

  it("contains a strategy whose hook throws and reports its errors", () => {
    const file = `${FIXTURES}/hook-throws.ts`;
    const out = join(tmp, "hooks.json");
    const args = ["run", file, "fixed:30", "--simulations", "3", "--steps", "1000", "--epoch-len", "250"];
    const r = cli(...args, "--workers", "2", "--json", out);
    expect(r.status, show(args, r)).toBe(0);
    expect(r.stdout).toContain("Contained strategy errors");
    const line = r.stdout.split("\n").find((l) => l.trim().startsWith("Fixture: throwing hook:"));
    expect(line, r.stdout).toBeDefined();
    expect(line).toContain(HOOK_ERROR);
    const printed = Number(/(\d+) hook throws/.exec(line!)?.[1]);
    expect(printed).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(out, "utf8")) as RunJson;
    const total = report.simulations.reduce((a, s) => a + s.pools[0].errors.hookErrors, 0);
    expect(report.summary.rows[0].errors.hookErrors).toBe(total);
    expect(printed).toBe(total);
    expect(report.summary.rows[1].errors.hookErrors).toBe(0);
    expect(r.stdout).not.toMatch(/^\s+Fixed 30bps:/m);
    expect(Number.isFinite(report.summary.rows[0].edge.mean)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// bad arguments
// ---------------------------------------------------------------------------------------------

describe("bad arguments: a clear error and a non-zero exit", () => {
  const quick = ["--simulations", "1", "--steps", "200", "--workers", "1"];
  const seventeen = Array.from({ length: 17 }, (_, i) => `fixed:${i + 1}`);
  // Missing output folders are created (test/cli/outputs.test.ts); one under a file cannot be.
  const notAFolder = join(tmp, "not-a-folder");
  writeFileSync(notAFolder, "a file\n");
  const cases: { what: string; args: string[]; says: RegExp[] }[] = [
    { what: "--steps 0", args: ["run", "starter", "--steps", "0", "--simulations", "1"], says: [/--steps/, /1/] },
    { what: "--steps abc", args: ["run", "starter", "--steps", "abc", "--simulations", "1"], says: [/--steps/, /abc/] },
    {
      what: "--min-weight 0.9 with 2 strategies",
      args: ["run", "starter", "fixed:30", "--min-weight", "0.9", ...quick],
      says: [/minWeight|min-weight/, /0\.9/],
    },
    {
      what: "unknown strategy",
      args: ["run", "nosuchstrategy", ...quick],
      says: [/unknown strategy/, /nosuchstrategy/],
    },
    { what: "fixed:abc", args: ["run", "fixed:abc", ...quick], says: [/fixed:abc/] },
    { what: "fixed:20000", args: ["run", "fixed:20000", ...quick], says: [/20000/, /10000/] },
    {
      what: "a missing file",
      args: ["run", `${FIXTURES}/does-not-exist.ts`, ...quick],
      says: [/not found/, /does-not-exist\.ts/],
    },
    { what: "17 strategies", args: ["run", ...seventeen, ...quick], says: [/16/, /17/] },
    {
      what: "a module that fails to import",
      args: ["run", `${FIXTURES}/import-fails.mjs`, ...quick],
      says: [/import-fails\.mjs/, /fails at import time/],
    },
    {
      what: "--json into a directory that cannot be created",
      args: ["run", "starter", ...quick, "--json", join(notAFolder, "r.json")],
      says: [/not-a-folder/],
    },
  ];

  for (const c of cases) {
    it(c.what, () => {
      const r = cli(...c.args);
      const context = show(c.args, r);
      expect(r.status, context).not.toBe(0);
      expect(r.status, context).not.toBeNull();
      expect(r.stderr, context).toMatch(/error/i);
      for (const re of c.says) expect(r.stderr, context).toMatch(re);
      expect(r.stderr, `stack trace on bad input:\n${context}`).not.toMatch(STACK_FRAME);
      expect(r.stdout, context).not.toMatch(/^Strategy\s+Mean Edge/m);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------------

/** `[check] detail` lines of a validate report. */
function failures(stdout: string): { check: string; detail: string }[] {
  return [...stdout.matchAll(/^\s+\[(.+?)\] (.*)$/gm)].map((m) => ({ check: m[1], detail: m[2] }));
}

interface Where {
  side: 0 | 1;
  input: number;
  reserveX: number;
  reserveY: number;
}

function where(detail: string): Where {
  const m = /side=([01]) input=(\S+) reserveX=(\S+) reserveY=(\S+)/.exec(detail);
  expect(m, `no offending input in '${detail}'`).not.toBeNull();
  return { side: Number(m![1]) as 0 | 1, input: Number(m![2]), reserveX: Number(m![3]), reserveY: Number(m![4]) };
}

type Quote = (side: 0 | 1, input: number, reserveX: number, reserveY: number, storage: Uint8Array) => number;

async function quoteOf(file: string): Promise<Quote> {
  const mod = (await import(`../fixtures/${file}`)) as { default: { computeSwap: Quote } };
  return (side, input, rx, ry, storage) => mod.default.computeSwap(side, input, rx, ry, storage);
}

/** Checks, with the fixture itself, that the reported input really breaks the property. */
type Confirm = (q: Quote, w: Where, detail: string) => void;

const zero = () => new Uint8Array(1024);
const at = (q: Quote, w: Where, input = w.input) => q(w.side, input, w.reserveX, w.reserveY, zero());

const BAD: { file: string; checks: string[]; says?: RegExp; confirm?: Confirm }[] = [
  { file: "no-name.ts", checks: ["name", "loads"], says: /name/ },
  { file: "long-name.ts", checks: ["name"], says: /64/ },
  {
    file: "nan-quote.ts",
    checks: ["finite outputs"],
    says: /NaN/,
    confirm: (q, w) => expect(at(q, w)).toBeNaN(),
  },
  {
    file: "non-monotone.ts",
    checks: ["monotone quotes"],
    confirm: (q, w, detail) => {
      const smaller = Number(/smaller input (\S+)/.exec(detail)?.[1]);
      expect(smaller).toBeLessThan(w.input);
      expect(at(q, w)).toBeLessThan(at(q, w, smaller));
    },
  },
  {
    file: "non-concave.ts",
    checks: ["concave quotes"],
    confirm: (q, w, detail) => {
      // A concave curve through the origin has chord slope on [a, b] at most f(a) / a.
      const [a, b] = (/inputs (\S+)\.\.(\S+)\)/.exec(detail) ?? []).slice(1).map(Number);
      expect(b).toBe(w.input);
      expect(a).toBeGreaterThan(0);
      expect((at(q, w, b) - at(q, w, a)) / (b - a)).toBeGreaterThan(at(q, w, a) / a);
    },
  },
  {
    file: "writes-storage.ts",
    checks: ["quotes do not write storage"],
    confirm: (q, w) => {
      const storage = zero();
      q(w.side, w.input, w.reserveX, w.reserveY, storage);
      expect(storage.some((b) => b !== 0)).toBe(true);
    },
  },
  { file: "hook-throws.ts", checks: ["hooks do not throw"], says: new RegExp(HOOK_ERROR) },
  { file: "import-fails.mjs", checks: ["loads"], says: /fails at import time/ },
  {
    file: "wrong-cp-fees.ts",
    checks: ["constantProductFees matches computeSwap"],
    says: /0\.0025/,
    confirm: (q, w, detail) => {
      const quoted = Number(/computeSwap (\S+),/.exec(detail)?.[1]);
      expect(at(q, w)).toBeCloseTo(quoted, 15);
      const gammaIn = 0.9975 * w.input;
      const cp25 =
        w.side === 0
          ? (w.reserveX * gammaIn) / (w.reserveY + gammaIn)
          : (w.reserveY * gammaIn) / (w.reserveX + gammaIn);
      expect(Math.abs(quoted - cp25)).toBeGreaterThan(1e-9 * cp25);
    },
  },
];

describe("propamm validate", () => {
  it("passes the good fixtures, the example strategies and the built-ins", () => {
    const specs = [
      `${FIXTURES}/good.ts`,
      `${FIXTURES}/good-factory.mjs`,
      "strategies/template.ts",
      "strategies/per-step-vol.ts",
      "starter",
      "normalizer",
      "fixed:30",
      "fixed:20/40",
      "oracle:30",
    ];
    const r = cli("validate", ...specs);
    expect(r.status, show(["validate", ...specs], r)).toBe(0);
    expect(r.stdout).not.toContain("FAIL");
    for (const spec of specs) {
      const line = r.stdout.split("\n").find((l) => l.startsWith(`ok    ${spec} (`));
      expect(line, `no ok line for ${spec}:\n${r.stdout}`).toBeDefined();
      expect(line).toContain(`${VALIDATION_CHECKS.length} checks passed`);
    }
  });

  it("knows every check it can report", () => {
    expect(new Set(VALIDATION_CHECKS).size).toBe(VALIDATION_CHECKS.length);
    for (const b of BAD) for (const c of b.checks) expect(VALIDATION_CHECKS).toContain(c);
  });

  for (const bad of BAD) {
    it(`rejects ${bad.file}, naming the check and the input`, async () => {
      const spec = `${FIXTURES}/${bad.file}`;
      const r = cli("validate", spec);
      const context = show(["validate", spec], r);
      expect(r.status, context).toBe(1);
      expect(r.stdout, context).toMatch(new RegExp(`^FAIL  ${spec.replace(/[.]/g, "\\.")}`, "m"));
      expect(r.stderr + r.stdout, context).not.toMatch(STACK_FRAME);
      const found = failures(r.stdout);
      expect(found.length, context).toBeGreaterThan(0);
      for (const f of found) expect(VALIDATION_CHECKS, context).toContain(f.check);
      const hit = found.find((f) => bad.checks.includes(f.check));
      expect(hit, `expected a [${bad.checks.join("] or [")}] failure:\n${context}`).toBeDefined();
      if (bad.says) expect(hit!.detail).toMatch(bad.says);
      if (bad.confirm) {
        const w = where(hit!.detail);
        bad.confirm(await quoteOf(bad.file), w, hit!.detail);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// submit
// ---------------------------------------------------------------------------------------------

describe("propamm submit", () => {
  const options = ["--simulations", "3", "--steps", "1000", "--epoch-len", "250", "--workers", "1"];

  it("writes exactly one complete submission folder with a receipt", () => {
    const file = `${FIXTURES}/good.ts`;
    const outDir = join(tmp, "subs");
    const args = ["submit", file, "starter", ...options, "--out-dir", outDir];
    const before = Date.now();
    const r = cli(...args);
    const after = Date.now();
    const context = show(args, r);
    expect(r.status, context).toBe(0);

    const entries = readdirSync(outDir);
    expect(entries, "one folder, no leftovers such as .partial").toHaveLength(1);
    expect(entries[0]).toMatch(/^submission_\d{8}T\d{6}Z$/);
    expect(entries.some((e) => e.includes("partial"))).toBe(false);
    const dir = join(outDir, entries[0]);
    expect(readdirSync(dir).sort()).toEqual(["good.ts", "receipt.json"]);
    expect(r.stdout).toContain(`wrote ${join(dir, "receipt.json")}`);

    const source = readFileSync(join(ROOT, file));
    expect(readFileSync(join(dir, "good.ts")).equals(source), "the copy is byte-identical").toBe(true);
    const receipt = JSON.parse(readFileSync(join(dir, "receipt.json"), "utf8"));
    expect(receipt.files).toEqual([
      { spec: file, file: "good.ts", sha256: createHash("sha256").update(source).digest("hex") },
    ]);
    expect(receipt.strategies).toEqual([file, "starter"]);
    expect(receipt.config).toMatchObject({ steps: 1000, epochLen: 250 });
    expect(receipt.simulations).toBe(3);
    expect(receipt.seeds).toEqual({ start: 0, count: 3 });

    const created = Date.parse(receipt.createdAt);
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(created).toBeLessThanOrEqual(after + 1000);
    const stamp = receipt.createdAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    expect(entries[0]).toBe(`submission_${stamp}`);

    const rows = receipt.statistics.rows as { name: string; edge: { mean: number; n: number } }[];
    expect(rows.map((row) => row.name)).toEqual([
      "Fixture: good adaptive fee",
      "Multi-AMM Vol-Adaptive Starter",
      "[Normalizer]",
    ]);
    for (const row of rows) {
      expect(row.edge.n).toBe(3);
      expect(Number.isFinite(row.edge.mean), row.name).toBe(true);
    }

    // The receipt's statistics are those `run` reports for the same strategies and options.
    const json = join(tmp, "submit-run.json");
    const again = cli("run", file, "starter", ...options, "--json", json);
    expect(again.status, show(["run", file, "starter", ...options], again)).toBe(0);
    expect(receipt.statistics).toEqual((JSON.parse(readFileSync(json, "utf8")) as RunJson).summary);
  });

  it("writes nothing for a strategy that fails validation", () => {
    const outDir = join(tmp, "bad-subs");
    const args = ["submit", `${FIXTURES}/nan-quote.ts`, "starter", ...options, "--out-dir", outDir];
    const r = cli(...args);
    const context = show(args, r);
    expect(r.status, context).toBe(1);
    expect(r.stdout, context).toContain("[finite outputs]");
    expect(r.stderr, context).toMatch(/validation failed/);
    expect(existsSync(outDir) ? readdirSync(outDir) : [], context).toEqual([]);
  });

  it("reports an --out-dir that is a file without a stack trace", () => {
    const blocker = join(tmp, "a-file");
    writeFileSync(blocker, "not a directory\n");
    const args = ["submit", `${FIXTURES}/good.ts`, "--simulations", "1", "--steps", "200", "--out-dir", blocker];
    const r = cli(...args);
    const context = show(args, r);
    expect(r.status, context).not.toBe(0);
    expect(r.stderr, context).toMatch(/error/i);
    expect(r.stderr, context).toContain("a-file");
    expect(r.stderr, `stack trace on bad input:\n${context}`).not.toMatch(STACK_FRAME);
  });
});
