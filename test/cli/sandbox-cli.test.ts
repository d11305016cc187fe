/**
 * The CLI's side of the sandbox (docs/sandbox.md): the mode line, validate that strategy code
 * cannot end early or make pass, and run that finishes with the culprit named. Uses dist/.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, requireBuiltCli, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("propamm-cli-sandbox-");
const good = join(ROOT, "test", "fixtures", "good.ts");

beforeAll(() => {
  requireBuiltCli();
  writeFileSync(join(dir, "exits.mjs"), `process.exit(0); export default { name: "x", computeSwap() { return 0; } };`);
  writeFileSync(
    join(dir, "exits-in-call.mjs"),
    `export default { name: "exits in a call", computeSwap() { process.exit(0); } };`,
  );
  writeFileSync(join(dir, "loop.mjs"), `export default { name: "looper", computeSwap() { for (;;) {} } };`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("validate in a child process", () => {
  it("a strategy that exits at load is a FAIL, and the command exits 1 after checking the others", () => {
    const r = runCli(["validate", good, join(dir, "exits.mjs"), "starter"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ok {4}.*good\.ts/m);
    expect(r.stdout).toMatch(
      /^FAIL {2}.*exits\.mjs\n {2}\[validation finishes\] the validation process exited with code 0/m,
    );
    expect(r.stdout).toMatch(/^ok {4}starter/m);
    expect(r.stderr).toContain("strategies: child process per strategy (trusted local files)");
  });

  it("a strategy that exits in a call is a FAIL too", () => {
    const r = runCli(["validate", join(dir, "exits-in-call.mjs")], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("[validation finishes]");
  });

  it("a looping strategy fails at the time limit instead of hanging", () => {
    const r = runCli(["validate", "--sim-time-limit", "2", join(dir, "loop.mjs")], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\[validation finishes\].*no answer within the 2000 ms time limit/);
  });

  it("--sandbox says so on stderr, and process.exit is simply not there", () => {
    const r = runCli(["validate", "--sandbox", join(dir, "exits-in-call.mjs")], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^strategies: sandboxed \(/m);
    expect(r.stdout).toMatch(/\[computeSwap does not throw\].*ReferenceError: process is not defined/);
  });
});

describe("run and submit", () => {
  it("run names the mode and the stopped strategy, and finishes", () => {
    const r = runCli(
      ["run", join(dir, "loop.mjs"), "fixed:30", "--simulations", "2", "--steps", "300", "--call-time-limit", "300"],
      { cwd: dir },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("strategies: in-process (trusted local files; watched for time and memory)");
    expect(r.stdout).toMatch(
      /loop\.mjs: stopped in 2 simulation\(s\); first: seed 0: .*loop\.mjs: a call did not return within the 300 ms time limit in computeSwap\(side=/,
    );
  });

  it("submit is sandboxed by default", () => {
    const r = runCli(["submit", "starter", "--simulations", "2", "--steps", "300", "--out-dir", join(dir, "subs")], {
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^strategies: sandboxed \(/m);
  });
});
