/**
 * Running the built `propamm` command (dist/cli/main.js, made by `npm run build`) as a child
 * process, exactly as a user runs it. The independent truth for the CLI tests is what the
 * process does from outside: its exit status, what it prints, and the files it writes; nothing
 * here imports the CLI's code.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "../..");
/** The built CLI entry point. */
export const CLI = join(ROOT, "dist", "cli", "main.js");
/** A Node stack frame ("    at fn (file:1:2)"): bad input must never produce one. */
export const STACK_FRAME = /^\s+at\s.*:\d+:\d+\)?$/m;

/** Throws a clear error when the CLI has not been built, so that tests do not fail obscurely. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Set by runCliAsync when it had to kill the run. */
  timedOut?: boolean;
}

export interface CliOptions {
  cwd: string;
  /** The child's whole environment; the parent's when left out. */
  env?: NodeJS.ProcessEnv;
  /** Kill the run after this long; no limit when left out. */
  timeoutMs?: number;
}

/** Runs `propamm ...args` to completion, blocking. */
export function runCli(args: string[], opts: CliOptions): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    encoding: "utf8",
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running `propamm` process. */
export interface CliChild {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved in the order they arrived. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
  running(): boolean;
}

/** Starts `propamm ...args` without waiting for it (stdin closed), collecting what it prints. */
export function startCli(args: string[], opts: Omit<CliOptions, "timeoutMs">): CliChild {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  let out = "";
  let err = "";
  let both = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
    both += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString();
    both += b.toString();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on("close", (code, signal) => {
      done = true;
      ok({ code, signal });
    }),
  );
  return {
    exited,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    kill: (s) => child.kill(s),
    running: () => !done,
  };
}

/** Runs `propamm ...args` without blocking, so that several runs (and a hung one) overlap. */
export async function runCliAsync(args: string[], opts: CliOptions): Promise<CliResult & { timedOut: boolean }> {
  const child = startCli(args, opts);
  let timedOut = false;
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { status: code, stdout: child.stdout(), stderr: child.stderr(), timedOut };
}

/** The command line and everything it printed, for failure messages. */
export function showRun(args: string[], r: CliResult): string {
  return `propamm ${args.join(" ")}\nexit ${r.status}${r.timedOut ? " (killed: did not exit in time)" : ""}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
