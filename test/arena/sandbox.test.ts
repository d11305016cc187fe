/**
 * Hostile strategies (docs/sandbox.md, spec §2.9): each attempt fails, the batch finishes, and
 * the culprit is named. The sandbox runs the compiled package (dist/, `npm run build`). Limits
 * are short so that the tests are quick; they assert outcomes, never durations.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBatch, StrategyStoppedError, type BatchOptions } from "../../arena/runner.js";
import { PropAmmError, exitCodeOf, wireErrorCodeOf } from "../../env/errors.js";
import { prepareSpecs, runBatchSandboxed, unshareNet } from "../../arena/sandbox.js";
import { requireBuiltCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("propamm-hostile-");
const written = join(dir, "written-by-strategy.txt");
let tcp: Server;
let port = 0;
let connections = 0;

/** A constant-product quote at 30 bps, what every hostile file answers when its attack is over. */
const CP = `const g = 0.997 * input; return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);`;

const FILES: Record<string, () => string> = {
  "loop.mjs": () =>
    `export default { name: "looper", computeSwap(side, input, x, y) { if (input > 1) for (;;) {} ${CP} } };`,
  "heap.mjs": () =>
    `const keep = []; export default { name: "heap bomb", computeSwap(side, input, x, y) { if (input > 1) for (;;) keep.push(new Array(1e5).fill(Math.random())); ${CP} } };`,
  "buffers.mjs": () =>
    `const keep = []; export default { name: "buffer bomb", computeSwap(side, input, x, y) { if (input > 1) for (;;) keep.push(new Uint8Array(1 << 24).fill(7)); ${CP} } };`,
  "exits.mjs": () => `export default { name: "exits", computeSwap(side, input, x, y) { process.exit(0); } };`,
  "reads.mjs": () => `
    let got = "nothing";
    try { const fs = await import("node:" + "fs"); got = fs.readFileSync("/etc/passwd", "utf8"); } catch (e) { got = "refused"; }
    export default { name: "reads " + got.slice(0, 20), computeSwap(side, input, x, y) { ${CP} } };`,
  "writes.mjs": () => `
    const target = ${JSON.stringify(written)};
    try { const fs = await import("node:" + "fs"); fs.writeFileSync(target, "top level"); } catch {}
    let tried = false;
    export default { name: "writes", computeSwap(side, input, x, y) {
      if (!tried) import("node:" + "fs").then((fs) => fs.writeFileSync(target, "in a call")).catch(() => {});
      tried = true;
      ${CP} } };`,
  "network.mjs": () => `
    const port = ${port};
    try { const net = await import("node:" + "net"); net.connect(port, "127.0.0.1").on("error", () => {}); } catch {}
    try { fetch("http://127.0.0.1:" + port + "/").catch(() => {}); } catch {}
    let tried = false;
    export default { name: "network", computeSwap(side, input, x, y) {
      if (!tried) try { fetch("http://127.0.0.1:" + port + "/x").catch(() => {}); } catch {}
      tried = true;
      ${CP} } };`,
  // Tries to hurt the engine and the opponents: every attempt is inside try, the quotes are CP's.
  "pollutes.mjs": () => `
    for (const attack of [
      () => { Math.exp = () => 0; },
      () => { Math.log = () => 0; },
      () => { Array.prototype.push = function () { return 0; }; },
      () => { Float64Array.prototype.fill = function () { return this; }; },
      () => { Object.defineProperty(Math, "sqrt", { value: () => 1 }); },
      () => { Number.prototype.toFixed = () => "0"; },
      () => { Function.prototype.call = () => 0; },
      () => { globalThis.Math = { exp: () => 0, log: () => 0, sqrt: () => 0 }; },
      () => { Object.prototype.oracle = true; },
      () => { Object.getPrototypeOf(Uint8Array).prototype.set = function () {}; },
      () => { Object.setPrototypeOf(Array.prototype, null); },
    ]) { try { attack(); } catch {} }
    export default { name: "pollutes", computeSwap(side, input, x, y) { ${CP} } };`,
  "benign.mjs": () => `export default { name: "pollutes", computeSwap(side, input, x, y) { ${CP} } };`,
  "imports-fs.mjs": () =>
    `import { readFileSync } from "node:fs"; export default { name: "static import", computeSwap() { return readFileSync("/etc/passwd").length; } };`,
};

const file = (name: string): string => join(dir, name);

beforeAll(async () => {
  requireBuiltCli();
  tcp = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  port = (tcp.address() as AddressInfo).port;
  for (const [name, text] of Object.entries(FILES)) writeFileSync(file(name), text());
});

afterAll(async () => {
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const BASE: Omit<BatchOptions, "strategies"> = {
  simulations: 2,
  config: { steps: 300, epochLen: 100 },
  workers: 1,
  limits: { callMs: 400, simulationMs: 60_000, memoryMb: 96 },
};

function sandboxed(strategies: string[]) {
  return runBatchSandboxed({ ...BASE, strategies });
}

/** The opponent's (seat 1) edges, seed by seed. */
const opponentEdges = (b: Awaited<ReturnType<typeof sandboxed>>): number[] => b.results.map((r) => r.pools[1].edge);

describe("sandbox: hostile strategies are contained and named", () => {
  it.each([
    ["loop.mjs", /time limit in computeSwap\(side=\d, inputAmount=[\d.e+-]+, reserveX=/],
    ["heap.mjs", /memory limit.*in computeSwap\(side=/],
    ["buffers.mjs", /memory limit.*in computeSwap\(side=/],
  ])("%s is stopped in every seed, the batch finishes and the opponent plays on", async (name, reason) => {
    // The bombs get a call limit they cannot reach first: the memory limit must be what stops them.
    const callMs = name === "loop.mjs" ? 400 : 60_000;
    const b = await runBatchSandboxed({
      ...BASE,
      strategies: [file(name), "fixed:30"],
      limits: { ...BASE.limits, callMs },
    });
    expect(b.results).toHaveLength(2);
    for (const r of b.results) {
      const culprit = r.pools[0];
      expect(culprit.errors.stopped).toMatch(reason);
      expect(culprit.errors.stopped).toContain(file(name));
      expect(r.pools[1].errors.stopped).toBeUndefined();
      expect(r.pools[1].arbTrades + r.pools[1].retailTrades).toBeGreaterThan(0);
    }
  });

  it("process.exit is not there: the call throws, is counted, and the batch finishes", async () => {
    const b = await sandboxed([file("exits.mjs"), "fixed:30"]);
    for (const r of b.results) {
      expect(r.pools[0].errors.quoteErrors).toBeGreaterThan(0);
      expect(r.pools[0].errors.firstError).toMatch(/computeSwap\(side=.*threw ReferenceError: process is not defined/);
    }
  });

  it("reading /etc/passwd is refused", async () => {
    const b = await sandboxed([file("reads.mjs"), "fixed:30"]);
    expect(b.results[0].pools[0].name).toBe("reads refused");
  });

  it("a static import of a Node built-in is refused before anything runs, with the file named", async () => {
    await expect(sandboxed([file("imports-fs.mjs"), "fixed:30"])).rejects.toThrow(
      /imports-fs\.mjs into the sandbox: Could not resolve "node:fs"/,
    );
  });

  it("writing a file fails, at the top level and in a call", async () => {
    await sandboxed([file("writes.mjs"), "fixed:30"]);
    expect(existsSync(written)).toBe(false);
  });

  it("the network is out of reach: a local TCP server sees no connection", async () => {
    await sandboxed([file("network.mjs"), "fixed:30"]);
    // Whatever the strategy started had the whole batch to connect; give the loopback a moment more.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connections).toBe(0);
  });

  it("prototype pollution does not reach the engine or the opponents", async () => {
    const polluted = await sandboxed([file("pollutes.mjs"), "starter", "fixed:30"]);
    const clean = await runBatch({ ...BASE, strategies: [file("benign.mjs"), "starter", "fixed:30"] });
    expect(polluted.results.map((r) => r.pools.map((p) => p.edge))).toEqual(
      clean.results.map((r) => r.pools.map((p) => p.edge)),
    );
    expect(opponentEdges(polluted).every(Number.isFinite)).toBe(true);
  });

  it("a clean strategy gives the same numbers sandboxed and in-process", async () => {
    const specs = [file("benign.mjs"), "starter"];
    const a = await sandboxed(specs);
    const b = await runBatch({ ...BASE, strategies: specs, workers: 0 });
    expect(a.results).toEqual(b.results);
  });

  it("prepareSpecs: built-ins stay, modules become bundled files, unknown names are refused", async () => {
    const out = join(dir, "prepared");
    const p = await prepareSpecs(["fixed:30", file("benign.mjs")], out);
    expect(p.specs[0]).toBe("fixed:30");
    expect(p.specs[1]).toBe(join(out, "1.mjs"));
    await expect(prepareSpecs(["no-such-builtin"], out)).rejects.toThrow(/unknown strategy 'no-such-builtin'/);
  });

  it("a stopped strategy is a PropAmmError: exit code 1, protocol code ENV", () => {
    const e = new StrategyStoppedError("x.mjs: a call did not return within the 1000 ms time limit");
    expect(e).toBeInstanceOf(PropAmmError);
    expect(e.name).toBe("StrategyStoppedError");
    expect(exitCodeOf(e)).toBe(1);
    expect(wireErrorCodeOf(e)).toBe("ENV");
  });

  it("says whether the network namespace applies", () => {
    expect([null, "string"]).toContain(unshareNet() === null ? null : typeof unshareNet());
  });
});

describe("in-process (watched threads): contained failures", () => {
  it("an endless loop is stopped by the watchdog and named with its input; other seeds go on", async () => {
    const b = await runBatch({ ...BASE, strategies: [file("loop.mjs"), "starter"], simulations: 3, workers: 2 });
    expect(b.results).toHaveLength(3);
    for (const r of b.results) {
      expect(r.pools[0].errors.stopped).toMatch(
        /loop\.mjs: a call did not return within the 400 ms time limit in computeSwap\(side=/,
      );
      expect(r.pools[1].errors.stopped).toBeUndefined();
    }
  });

  it("process.exit in a strategy ends only its thread: named, and the batch finishes", async () => {
    const b = await runBatch({ ...BASE, strategies: [file("exits.mjs"), "fixed:30"] });
    for (const r of b.results)
      expect(r.pools[0].errors.stopped).toMatch(/exits\.mjs: ended its thread \(exit code 0\) in computeSwap/);
  });

  it("a throw or a bad quote is counted with its first offending input", async () => {
    const nan = join(dir, "nan.mjs");
    writeFileSync(nan, `export default { name: "nan", computeSwap(side, input) { return input > 1 ? NaN : 0; } };`);
    const b = await runBatch({ ...BASE, strategies: [nan, "fixed:30"] });
    const e = b.results[0].pools[0].errors;
    expect(e.invalidQuotes).toBeGreaterThan(0);
    expect(e.firstError).toMatch(
      /^computeSwap\(side=\d, inputAmount=[\d.e+-]+, reserveX=[\d.e+-]+, reserveY=[\d.e+-]+\): returned NaN/,
    );
  });
});
