/**
 * Where `propamm` writes and how it reports bad arguments, end to end (dist/cli/main.js; `npm
 * test` builds first): every output path is created and proven writable before any simulation
 * or training, defaults land under the git-ignored `runs/`, README's example commands write only
 * into ignored folders, and an argument error is one line and a hint, not the whole help.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ESLint } from "eslint";
import * as prettier from "prettier";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const CKPT = join(ROOT, "test/fixtures/export/es-run");
const STACK_FRAME = /^\s+at\s.*:\d+:\d+\)?$/m;

const tmp = mkdtempSync(join(tmpdir(), "propamm-outputs-"));
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function cli(args: string[], cwd = ROOT, timeout = 60_000): CliResult {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - started) / 1000 };
}

function show(args: string[], r: CliResult): string {
  return `propamm ${args.join(" ")}\nexit ${r.status} after ${r.seconds.toFixed(1)} s\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Output paths are checked before any work
// ---------------------------------------------------------------------------------------------

describe("output paths: created and checked writable before any simulation or training", () => {
  // A regular file in the way of a folder: no process, root included, can create below it.
  const blocker = join(tmp, "plain-file");
  writeFileSync(blocker, "in the way\n");
  const bad = join(blocker, "out");
  // Workloads that would take many minutes: an exit within the timeout proves nothing ran first.
  const huge = ["--simulations", "1000000", "--steps", "100000", "--workers", "1"];
  const cases: { what: string; args: string[]; option: string }[] = [
    { what: "run --json", args: ["run", "starter", ...huge, "--json", join(bad, "r.json")], option: "--json" },
    { what: "submit --out-dir", args: ["submit", "starter", ...huge, "--out-dir", bad], option: "--out-dir" },
    {
      what: "eval --json",
      args: ["eval", "starter", ...huge, "--no-plots", "--json", join(bad, "e.json")],
      option: "--json",
    },
    { what: "eval --plots", args: ["eval", "starter", ...huge, "--plots", bad], option: "--plots" },
    { what: "eval --plots on a file", args: ["eval", "starter", ...huge, "--plots", blocker], option: "--plots" },
    {
      what: "sweep --json",
      args: ["sweep", "fixed", ...huge, "--no-plots", "--json", join(bad, "s.json")],
      option: "--json",
    },
    { what: "sweep --plots", args: ["sweep", "fixed", ...huge, "--plots", bad], option: "--plots" },
    { what: "export -o", args: ["export", CKPT, "-o", join(bad, "p.ts")], option: "--out" },
    {
      what: "train --out",
      args: ["train", "--timesteps", "100000000", "--steps", "100000", "--out", bad],
      option: "--out",
    },
    { what: "demo --out", args: ["demo", "--timesteps", "100000000", "--out", bad], option: "--out" },
  ];
  for (const c of cases) {
    it(`${c.what}: exit 2 naming the option and the path, before any work`, () => {
      const r = cli(c.args, tmp, 30_000);
      const context = show(c.args, r);
      expect(r.status, context).toBe(2);
      expect(r.stderr, context).toMatch(new RegExp(`^error: ${c.option}: .*plain-file`, "m"));
      expect(r.stderr, context).not.toMatch(STACK_FRAME);
      expect(r.stdout, context).not.toMatch(/Mean Edge|tfjs backend|wrote /);
    });
  }

  it("creates the missing parent folders of an output file", () => {
    const json = join(tmp, "new", "deeper", "r.json");
    const args = ["run", "starter", "--simulations", "1", "--steps", "200", "--workers", "1", "--json", json];
    const r = cli(args);
    expect(r.status, show(args, r)).toBe(0);
    expect(JSON.parse(readFileSync(json, "utf8")).seeds).toEqual({ start: 0, count: 1 });
    expect(filesUnder(join(tmp, "new"))).toEqual(["deeper/r.json"]);
  });

  it("refuses an output file that is a folder", () => {
    const dir = join(tmp, "a-folder");
    mkdirSync(dir, { recursive: true });
    const args = ["run", "starter", "--simulations", "1", "--steps", "200", "--json", dir];
    const r = cli(args);
    expect(r.status, show(args, r)).toBe(2);
    expect(r.stderr).toMatch(/^error: --json: .*a-folder is a directory$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// Defaults go under runs/, which the repository ignores
// ---------------------------------------------------------------------------------------------

describe("default outputs go under runs/", () => {
  const quick = ["--simulations", "1", "--steps", "200", "--workers", "1"];

  it("submit, eval, sweep and export write only below runs/ of the working folder", () => {
    const cwd = join(tmp, "project");
    mkdirSync(cwd);
    for (const args of [
      ["submit", "fixed:30", ...quick],
      ["eval", "fixed:30", ...quick],
      ["sweep", "fixed", "--from", "10", "--to", "20", "--step", "10", ...quick],
      ["export", CKPT],
    ]) {
      const r = cli(args, cwd);
      expect(r.status, show(args, r)).toBe(0);
    }
    expect(readdirSync(cwd)).toEqual(["runs"]);
    const files = filesUnder(join(cwd, "runs"));
    const ts = "\\d{8}T\\d{6}Z";
    const expected = [
      new RegExp(`^eval/eval_${ts}/capital_weight\\.svg$`),
      new RegExp(`^eval/eval_${ts}/edge_distribution\\.svg$`),
      new RegExp(`^eval/sweep_${ts}/edge_vs_fee\\.svg$`),
      /^export\/[\w.-]+\.ts$/,
      new RegExp(`^submissions/submission_${ts}/receipt\\.json$`),
    ];
    expect(files.length, files.join("\n")).toBe(expected.length);
    files.forEach((f, i) => expect(f).toMatch(expected[i]));
  });

  it("train's default run folder is runs/checkpoints/<algo>-seed<seed>", () => {
    const cwd = join(tmp, "train-project");
    mkdirSync(cwd);
    const args = ["train", "--algo", "es", "--timesteps", "40", "--steps", "200", "--seed", "3"];
    args.push("--eval-every", "0", "--workers", "0", "--hp", "population=2", "--hp", "seedsPerGeneration=1");
    const r = cli(args, cwd, 120_000);
    expect(r.status, show(args, r)).toBe(0);
    expect(readdirSync(cwd)).toEqual(["runs"]);
    expect(existsSync(join(cwd, "runs/checkpoints/es-seed3/LATEST")), show(args, r)).toBe(true);
  });
});

describe("the repository ignores runs/ and README's commands write only into ignored folders", () => {
  /** Whether git, prettier and eslint all leave `path` (relative to the repository) alone. */
  async function ignored(path: string): Promise<{ git: boolean; prettier: boolean; eslint: boolean }> {
    const git = spawnSync("git", ["check-ignore", "-q", "--no-index", path], { cwd: ROOT }).status === 0;
    const info = await prettier.getFileInfo(join(ROOT, path), {
      ignorePath: [join(ROOT, ".gitignore"), join(ROOT, ".prettierignore")],
    });
    const eslint = await new ESLint({ cwd: ROOT }).isPathIgnored(join(ROOT, path));
    return { git, prettier: info.ignored, eslint };
  }

  it("runs/ is ignored by git, prettier and eslint", async () => {
    for (const path of ["runs/results.json", "runs/my-policy.ts", "runs/checkpoints/es-seed0/ckpt-000001/state.json"])
      expect(await ignored(path), path).toEqual({ git: true, prettier: true, eslint: true });
    // The check can fail: a source file is not ignored.
    expect(await ignored("cli/main.ts")).toEqual({ git: false, prettier: false, eslint: false });
  });

  it("every output path in README's commands is ignored", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const commands = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)]
      .flatMap((m) => m[1].split("\n"))
      .filter((l) => /\bnpx propamm\b/.test(l))
      .map((l) => l.replace(/#.*$/, ""));
    const outputs = commands.flatMap((l) =>
      [...l.matchAll(/(?:--json|--out-dir|--plots|--out|-o)\s+(\S+)/g)].map((m) => m[1]),
    );
    expect(outputs.length, commands.join("\n")).toBeGreaterThanOrEqual(4);
    for (const out of outputs) expect(await ignored(out), out).toEqual({ git: true, prettier: true, eslint: true });
  });
});

// ---------------------------------------------------------------------------------------------
// Argument errors: one line and a hint
// ---------------------------------------------------------------------------------------------

describe("an argument error prints one line and where the usage is, not the whole help", () => {
  const cases: { args: string[]; line: RegExp; hint: string }[] = [
    { args: ["run", "starter", "--bogus"], line: /unknown option '--bogus'/, hint: "propamm run --help" },
    { args: ["run"], line: /missing required argument 'strategy'/, hint: "propamm run --help" },
    {
      args: ["run", "starter", "--steps", "abc"],
      line: /option '--steps <n>' argument 'abc' is invalid\. expected an integer >= 1\./,
      hint: "propamm run --help",
    },
    { args: ["rn", "starter"], line: /unknown command 'rn'/, hint: "propamm --help" },
    { args: ["export", "a", "b"], line: /too many arguments/, hint: "propamm export --help" },
    { args: ["eval", "starter", "--workers", "-1"], line: /--workers/, hint: "propamm eval --help" },
    { args: ["train", "--algo", "sac"], line: /--algo must be es or ppo \(got 'sac'\)/, hint: "propamm train --help" },
    { args: ["serve", "--max-sessions", "0"], line: /--max-sessions/, hint: "propamm serve --help" },
  ];
  for (const c of cases) {
    it(`propamm ${c.args.join(" ")}`, () => {
      const r = cli(c.args);
      const context = show(c.args, r);
      expect(r.status, context).toBe(2);
      expect(r.stdout, context).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0], context).toMatch(/^error: /);
      expect(lines[0], context).toMatch(c.line);
      expect(lines[lines.length - 1], context).toBe(`(run '${c.hint}' for usage)`);
      // At most a "Did you mean" line in between; never the option list.
      expect(lines.length, context).toBeLessThanOrEqual(3);
      expect(r.stderr, context).not.toMatch(/Usage:|Options:/);
    });
  }

  it("--help still prints the whole help, and exits 0", () => {
    const r = cli(["run", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: propamm run \[options\] <strategy\.\.\.>/);
    expect(r.stdout).toMatch(/--json <file>/);
  });
});
