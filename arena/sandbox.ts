/**
 * The sandbox for strategy code we did not write (docs/sandbox.md, spec §2.9). A batch, or a
 * validation, runs in a child process that Node's permission model confines: it may read only
 * this package's compiled code, the one dependency the engine imports and the prepared strategy
 * modules; it may not write files, start processes, load addons or WASI. Built-ins are hardened
 * against prototype pollution (arena/harden.ts), the environment is empty, the working directory is a fresh temporary folder, and, where
 * `unshare --net` works, the process has a network namespace of its own. Strategy modules are
 * bundled beforehand (prepareSpecs) and, inside, may import nothing (arena/sandbox-hook.ts);
 * the simulation threads remove `process`, `fetch` and similar globals before loading them.
 * Results come back over IPC. The parent polls the child's resident memory and kills it past
 * the limit; inside, the watched threads of arena/runner.ts enforce the per-call limits.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError, type SimConfig } from "../env/config.js";
import { BUILTIN_HELP, builtinSource } from "../env/builtins/index.js";
import type { SimulationResult } from "../env/simulation.js";
import type { SimulationTrace } from "../env/trace.js";
import type { ErrorCode } from "../env/errors.js";
import type { EnvConfig } from "../gym/options.js";
import type { AutoresetMode } from "../gym/vector-env.js";
import { isCheckpointPath, looksLikeFile } from "./loader.js";
import { compileRustStrategy } from "./rust.js";
import {
  type BatchOptions,
  type BatchResult,
  DEFAULT_LIMITS,
  type Limits,
  StrategyStoppedError,
  checkBatch,
  rebuildError,
} from "./runner.js";
import type { ValidationReport } from "./validate.js";

/** The package's compiled code: the child runs it, and may read nothing else of ours. */
function distDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  // From sources (tests) the compiled tree sits next to them under dist/.
  return import.meta.url.endsWith(".ts") ? resolve(here, "..", "dist") : resolve(here, "..");
}

function childScript(): string {
  const script = join(distDir(), "arena", "sandbox-child.js");
  if (!existsSync(script))
    throw new ConfigError(`the sandbox needs the compiled package: ${script} is missing (npm run build)`);
  return script;
}

let unshareCache: string | null | undefined;

/** The `unshare` binary when `unshare --net` works here (root or unprivileged user namespaces), else null. */
export function unshareNet(): string | null {
  if (unshareCache !== undefined) return unshareCache;
  unshareCache = null;
  for (const bin of ["/usr/bin/unshare", "/bin/unshare"]) {
    if (!existsSync(bin)) continue;
    for (const args of [["--net"], ["--user", "--map-root-user", "--net"]]) {
      const r = spawnSync(bin, [...args, "--", process.execPath, "-e", ""], { stdio: "ignore", timeout: 10_000 });
      if (r.status === 0) {
        unshareCache = [bin, ...args].join("\u0000");
        return unshareCache;
      }
    }
  }
  return unshareCache;
}

/**
 * The line the CLI prints on stderr: which mode, which limits, whether the network namespace
 * applied. `perRequest`: the served form, where the time limit is per request.
 */
export function sandboxModeLine(limits: Partial<Limits> = {}, perRequest = false): string {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const net =
    unshareNet() !== null ? "network namespace applied" : "network namespace NOT applied (unshare --net unavailable)";
  const time = perRequest
    ? `${l.simulationMs} ms per request`
    : `${l.callMs} ms per call, ${l.simulationMs} ms per simulation`;
  return (
    `strategies: sandboxed (child process under the permission model, hardened built-ins, no imports, ` +
    `${net}; ${time}, ${l.memoryMb} MB)`
  );
}

export const IN_PROCESS_MODE_LINE = "strategies: in-process (trusted local files; watched for time and memory)";

/** What the child is allowed to load, after prepareSpecs. */
export interface PreparedSpecs {
  /** The specs as the child names them: built-ins unchanged, modules as bundled files, folders absolute. */
  specs: string[];
  /** Paths the child may read besides the package (checkpoint folders). */
  readPaths: string[];
}

/**
 * Maps each spec to what the sandboxed child can load, before it starts; this is the one place
 * where that happens. Built-ins stay as they are; a checkpoint folder becomes its absolute path
 * (read-only to the child); a `.ts`/`.mts`/`.js`/`.mjs` module is bundled with its own imports
 * into one ES module in `dir`, and an import of a Node built-in is refused here already; a `.rs`
 * file is compiled to WebAssembly (arena/rust.ts) and the module copied into `dir`, as is a `.wasm`.
 */
export async function prepareSpecs(specs: readonly string[], dir: string): Promise<PreparedSpecs> {
  const out: string[] = [];
  const readPaths: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const [i, spec] of specs.entries()) {
    if (builtinSource(spec)) out.push(spec);
    else if (isCheckpointPath(spec)) {
      const path = realpathSync(spec);
      // `dir/*` covers the folder itself too; Node 20 aborts when given both `dir` and `dir/*`.
      readPaths.push(`${path}/*`);
      out.push(path);
    } else if (/\.(m?js|m?ts)$/.test(spec)) out.push(await bundleModule(spec, join(dir, `${i}.mjs`)));
    // Rust is compiled here, in the parent (the child may not start rustc); a module is copied in.
    else if (/\.(rs|wasm)$/.test(spec)) out.push(copyModule(spec, join(dir, `${i}.wasm`)));
    else if (looksLikeFile(spec)) throw new ConfigError(`${spec}: not a strategy module or checkpoint folder`);
    else throw new ConfigError(`unknown strategy '${spec}' (${BUILTIN_HELP})`);
  }
  return { specs: out, readPaths };
}

function copyModule(spec: string, outFile: string): string {
  if (!existsSync(resolve(spec))) throw new ConfigError(`strategy file not found: ${spec}`);
  const wasm = /\.rs$/.test(spec) ? compileRustStrategy(spec).wasmPath : resolve(spec);
  copyFileSync(wasm, outFile);
  return outFile;
}

async function bundleModule(spec: string, outFile: string): Promise<string> {
  const path = resolve(spec);
  if (!existsSync(path)) throw new ConfigError(`strategy file not found: ${spec}`);
  const { build } = await import("esbuild");
  try {
    const r = await build({
      entryPoints: [path],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "node20",
      mainFields: ["module", "main"],
      // The package itself: its strategy-side exports only (env/sdk.ts), which import no built-in.
      plugins: [
        {
          name: "prop-amm-gym",
          setup(b) {
            b.onResolve({ filter: /^prop-amm-gym$/ }, () => ({ path: join(distDir(), "env", "sdk.js") }));
          },
        },
      ],
      write: false,
      logLevel: "silent",
    });
    writeFileSync(outFile, r.outputFiles[0].contents);
  } catch (err) {
    const errors = (err as { errors?: { text: string }[] }).errors;
    const text = errors?.length
      ? errors.map((e) => e.text).join("; ")
      : err instanceof Error
        ? err.message
        : String(err);
    throw new ConfigError(`cannot load strategy file ${spec} into the sandbox: ${text}`);
  }
  return outFile;
}

/** Read permissions for the one package the engine imports (seedrandom), wherever it is installed. */
function dependencyReadPaths(): string[] {
  const pkg = dirname(createRequire(import.meta.url).resolve("seedrandom/package.json"));
  const modules = dirname(pkg);
  const paths = [`${realpathSync(pkg)}/*`, modules, realpathSync(modules)];
  // Resolution also looks at node_modules next to the package (a symlink in a worktree).
  const local = resolve(distDir(), "..", "node_modules");
  if (existsSync(local)) paths.push(local);
  return paths;
}

export type ChildRequest =
  | {
      kind: "batch";
      strategies: string[];
      config: SimConfig;
      seeds: number[];
      workers: number;
      limits: Limits;
      sandboxed: boolean;
      strategyDirUrl: string;
      /** Record this seed's tape too (docs/trace.md). */
      traceSeed?: number;
    }
  | { kind: "validate"; spec: string; sandboxed: boolean; strategyDirUrl: string }
  | {
      kind: "env";
      numEnvs: number;
      config: Partial<EnvConfig>;
      autoresetMode: AutoresetMode;
      strategyDirUrl: string;
    }
  | { kind: "env-call"; id: number; method: "reset" | "step"; args: unknown };

export type ChildMessage =
  | { kind: "progress"; done: number; total: number }
  | { kind: "batch"; results: SimulationResult[]; trace?: SimulationTrace }
  | { kind: "validate"; report: ValidationReport }
  | { kind: "error"; message: string; code?: ErrorCode }
  | { kind: "env-ready" }
  | { kind: "env-reply"; id: number; ok: true; value: unknown }
  | { kind: "env-reply"; id: number; ok: false; message: string; code: ErrorCode };

interface ChildRun {
  /** The reply that ended the run, or why there was none. */
  reply: ChildMessage | null;
  /** Why the child ended without a reply: exit code, signal, limit. */
  ended: string;
  output: string;
}

export interface ChildOptions {
  sandboxed: boolean;
  tempDir: string;
  readPaths: string[];
  limits: Limits;
  /** Threads the child may run besides its main one (sizes the resident memory limit). */
  workers: number;
}

/** Starts the child: under the permission model in a network namespace when sandboxed, plain otherwise. */
export function startChild(opts: ChildOptions): ChildProcess {
  const script = childScript();
  const node = [process.execPath];
  const flags: string[] = [];
  let command: string[];
  if (opts.sandboxed) {
    flags.push(
      "--experimental-permission",
      `--allow-fs-read=${distDir()}/*`,
      // Each path once: Node 20 aborts on a path given twice.
      ...[...new Set([...dependencyReadPaths(), `${opts.tempDir}/*`, ...opts.readPaths])].map(
        (p) => `--allow-fs-read=${p}`,
      ),
      "--allow-worker",
      `--max-old-space-size=${opts.limits.memoryMb}`,
      "--no-warnings",
    );
    const unshare = unshareNet();
    command = unshare !== null ? [...unshare.split("\u0000"), "--", ...node] : node;
  } else {
    flags.push(`--max-old-space-size=${opts.limits.memoryMb}`);
    command = node;
  }
  return spawn(command[0], [...command.slice(1), ...flags, script], {
    cwd: opts.sandboxed ? opts.tempDir : process.cwd(),
    env: opts.sandboxed ? {} : process.env,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "advanced",
  });
}

/** The child's resident memory limit in kB: the limit per thread, one more for the main thread, and 512 MB. */
export function residentLimitKb(opts: ChildOptions): number {
  return (opts.limits.memoryMb * (opts.workers + 1) + 512) * 1024;
}

/** Runs one request in a child process: sandboxed (permission model) or plainly isolated. */
async function runChild(
  request: ChildRequest,
  opts: ChildOptions & { timeoutMs: number },
  onProgress?: (done: number, total: number) => void,
): Promise<ChildRun> {
  const child = startChild(opts);
  let output = "";
  const keep = (chunk: Buffer): void => {
    if (output.length < 8192) output += chunk.toString("utf8").slice(0, 8192 - output.length);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const rssLimitKb = residentLimitKb(opts);
  return new Promise<ChildRun>((resolveRun) => {
    let reply: ChildMessage | null = null;
    let ended = "";
    let lastNews = Date.now();
    const kill = (why: string): void => {
      if (ended === "") ended = why;
      child.kill("SIGKILL");
    };
    const poll = setInterval(() => {
      const kb = residentKb(child.pid);
      if (kb > rssLimitKb)
        kill(`the ${opts.sandboxed ? "sandbox" : "child"} process exceeded ${rssLimitKb >> 10} MB of resident memory`);
      else if (Date.now() - lastNews > opts.timeoutMs) kill(`no answer within the ${opts.timeoutMs} ms time limit`);
    }, 100);
    child.on("message", (msg: ChildMessage) => {
      lastNews = Date.now();
      if (msg.kind === "progress") onProgress?.(msg.done, msg.total);
      else {
        reply = msg;
        child.disconnect?.();
      }
    });
    child.on("error", (err) => kill(`could not start: ${err.message}`));
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      if (ended === "") ended = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolveRun({ reply, ended, output: output.trim() });
    });
    child.send(request);
  });
}

/** Resident memory of a process in kB from /proc (0 where there is no /proc). */
export function residentKb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "propamm-sandbox-")));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** runBatch with every strategy in the sandbox (same results as in-process, seed by seed). */
export async function runBatchSandboxed(opts: BatchOptions): Promise<BatchResult> {
  const config = checkBatch(opts);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const seedStart = opts.seedStart ?? 0;
  const seeds = Array.from({ length: opts.simulations }, (_, i) => seedStart + i);
  const workers = Math.max(1, Math.min(opts.workers ?? 1, seeds.length));
  const started = performance.now();
  const { results, trace } = await withTempDir(async (dir) => {
    const strategyDir = join(dir, "strategies");
    const prepared = await prepareSpecs(opts.strategies, strategyDir);
    const run = await runChild(
      {
        kind: "batch",
        strategies: prepared.specs,
        config,
        seeds,
        workers,
        limits,
        sandboxed: true,
        strategyDirUrl: pathToFileURL(strategyDir).href + "/",
        ...(opts.traceSeed !== undefined ? { traceSeed: opts.traceSeed } : {}),
      },
      {
        sandboxed: true,
        tempDir: dir,
        readPaths: prepared.readPaths,
        limits,
        timeoutMs: limits.simulationMs + 60_000,
        workers,
      },
      opts.onProgress,
    );
    const reply = run.reply;
    if (reply?.kind === "batch") return reply;
    if (reply?.kind === "error") throw rebuildError(reply.code, reply.message) ?? new Error(reply.message);
    throw new StrategyStoppedError(
      `the sandbox ${run.ended} before the batch finished${run.output ? `: ${crashSummary(run.output)}` : ""}`,
    );
  });
  // The child named bundled files; the results name the specs as given.
  for (const r of results) {
    for (const p of r.pools) {
      if (p.errors.stopped) {
        p.errors.stopped = renameSpecs(p.errors.stopped, opts.strategies);
        p.name = renameSpecs(p.name, opts.strategies);
        if (trace && r.seed === trace.seed) trace.pools[p.index].name = p.name;
      }
    }
  }
  return {
    config,
    strategies: [...opts.strategies],
    seeds,
    results,
    wallSeconds: (performance.now() - started) / 1000,
    workers,
    ...(trace ? { trace } : {}),
  };
}

/** Prepared file names (`<dir>/strategies/<i>.mjs` or `.wasm`) back to the spec the user gave. */
function renameSpecs(text: string, specs: readonly string[]): string {
  return text.replace(/\S*\/strategies\/(\d+)\.(mjs|wasm)/g, (m, i: string) => specs[Number(i)] ?? m);
}

/**
 * Validates one strategy in a child process, so that nothing the strategy does can end
 * `propamm validate` early or make it pass: an exit, a crash, a kill or a hang without a report
 * is a failure. With `sandboxed` the child is the sandbox; without, a plain child process.
 */
export async function validateInChild(
  spec: string,
  opts: { sandboxed: boolean; limits?: Partial<Limits> },
): Promise<ValidationReport> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const failed = (detail: string): ValidationReport => ({
    spec,
    name: "",
    failures: [{ check: "loads", detail }],
    checks: [],
  });
  return withTempDir(async (dir) => {
    const strategyDir = join(dir, "strategies");
    let prepared: PreparedSpecs = { specs: [spec], readPaths: [] };
    if (opts.sandboxed) {
      try {
        prepared = await prepareSpecs([spec], strategyDir);
      } catch (err) {
        return failed(err instanceof Error ? err.message : String(err));
      }
    }
    const run = await runChild(
      {
        kind: "validate",
        spec: prepared.specs[0],
        sandboxed: opts.sandboxed,
        strategyDirUrl: pathToFileURL(strategyDir).href + "/",
      },
      {
        sandboxed: opts.sandboxed,
        tempDir: dir,
        readPaths: prepared.readPaths,
        limits,
        timeoutMs: limits.simulationMs,
        workers: 0,
      },
    );
    if (run.reply?.kind === "validate") return { ...run.reply.report, spec };
    const why = run.reply?.kind === "error" ? run.reply.message : run.ended;
    const tail = run.output ? `; its last output: ${run.output.split("\n").slice(-2).join(" | ")}` : "";
    return {
      spec,
      name: "",
      failures: [
        {
          check: "validation finishes",
          detail: `the validation process ${why} before reporting (the strategy may have exited, crashed, looped or run out of memory)${tail}`,
        },
      ],
      checks: [],
    };
  });
}

/**
 * What a crashed child printed, in one line: its first error line (the cause; a stack trace's
 * last lines only say where Node's loader was) and its last line.
 */
function crashSummary(output: string): string {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const first = lines.find((l) => /\b\w*Error\b|^error:/i.test(l) && !/^\s+at /.test(l));
  const last = lines.at(-1) ?? "";
  return first && first !== last ? `${first.trim()} | ${last.trim()}` : lines.slice(-3).join(" | ");
}
