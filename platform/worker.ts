/**
 * A worker: claims jobs from the store, runs each job's command lines (jobs.ts) in a child
 * process, streams the child's output into the job's log, and ends the job in one
 * transaction with its result, artifacts and leaderboard entry.
 *
 * The child is a `propamm` process in its own process group and its own empty folder, with an
 * environment of PATH alone: it cannot see the platform's database, tokens or files, and the
 * uploaded code inside it runs in the sandbox (--sandbox). The group is killed on cancel, on
 * the job's time limit, and when this worker loses its lease; the child also kills its group
 * when this worker dies (PROPAMM_JOB_GROUP, cli/main.ts), so a `kill -9` of the worker
 * leaves nothing running. The lease is renewed every leaseMs/3; a worker that stops renewing
 * loses the job to another worker after leaseMs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Competition } from "./competition.js";
import { planJob, SHA_REF, type JobParams, type OpponentFile } from "./jobs.js";
import type { Artifact, JobOutcome, JobRow, LogLine, NewEntry, Store, StrategyRow } from "./store.js";

export interface WorkerOptions {
  store: Store;
  /** Job folders are made (and removed) under this folder. */
  workDir: string;
  competitions: ReadonlyMap<string, Competition>;
  /** Lease length; renewed every third of it. */
  leaseMs?: number;
  /** Pause between claims when the queue is empty. */
  pollMs?: number;
  /** Longest one strategy call may run, in jobs' simulations. */
  callTimeMs?: number;
  /** The `propamm` entry point (default: this package's dist/cli/main.js). */
  cliPath?: string;
  /** Where compiled Rust strategies are cached between jobs. */
  cacheDir?: string;
  /** Worker id in leases and logs (default: host:pid:random). */
  id?: string;
  /** Progress messages of the worker itself. */
  say?: (msg: string) => void;
}

const MAX_LINE = 2000;
const MAX_LINES_PER_JOB = 20_000;
const FLUSH_MS = 250;

/**
 * The built CLI: beside this file's folder when this is the built package (dist/platform), or
 * in dist/ when this runs from source (tests under tsx/vitest): jobs always run the built CLI.
 */
export const DEFAULT_CLI = [new URL("../cli/main.js", import.meta.url), new URL("../dist/cli/main.js", import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) as string;

type Pending = Omit<LogLine, "id">;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kills a child's whole process group (the child and the sandbox processes it started). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

export class Worker {
  readonly id: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly cliPath: string;
  private current: ChildProcess | undefined;

  constructor(private readonly o: WorkerOptions) {
    this.id = o.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.pollMs = o.pollMs ?? 500;
    this.cliPath = o.cliPath ?? DEFAULT_CLI;
    mkdirSync(o.workDir, { recursive: true });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming; a running job is killed and left to its lease (another worker will take it). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.current) killGroup(this.current);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await this.runOnce();
      } catch (err) {
        this.o.say?.(`worker ${this.id}: ${(err as Error).message}`);
      }
      if (!worked && !this.stopping) await sleep(this.pollMs);
    }
  }

  /** Claims and runs one job; false when the queue was empty. */
  async runOnce(): Promise<boolean> {
    const job = await this.o.store.claimJob(this.id, Date.now(), this.leaseMs);
    if (!job) return false;
    this.o.say?.(`worker ${this.id}: ${job.type} job ${job.id} (attempt ${job.attempts})`);
    await this.execute(job);
    return true;
  }

  private async execute(job: JobRow): Promise<void> {
    const store = this.o.store;
    const dir = mkdtempSync(join(this.o.workDir, `job-${job.id.slice(0, 8)}-`));
    const pending: Pending[] = [];
    let lines = 0;
    let lost = false;
    let cancelled = false;
    let timedOut = false;
    const sys = (line: string): void => {
      pending.push({ at: Date.now(), stream: "system", line });
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0 || lost) return;
      const batch = pending.splice(0, pending.length);
      if (!(await store.appendLogs(job.id, this.id, batch))) lost = true;
    };
    // Each attempt gets the whole time limit: an attempt cut short by a lost worker did no work we keep.
    const deadline = Date.now() + job.limits.timeSeconds * 1000;
    const kill = (): void => {
      if (this.current) killGroup(this.current);
    };
    const heartbeat = setInterval(
      () => {
        store
          .renewLease(job.id, this.id, Date.now(), this.leaseMs)
          .then((r) => {
            if (!r.held) lost = true;
            if (r.cancel) cancelled = true;
            if (!r.held || r.cancel) kill();
          })
          .catch(() => undefined);
        if (Date.now() > deadline) {
          timedOut = true;
          kill();
        }
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    let metricsOffset = 0;
    const metricsFile = join(dir, "run", "metrics.jsonl");
    const flusher = setInterval(() => {
      // Training writes its learning curve to metrics.jsonl; new lines go to the log as "metrics".
      if (job.type === "train" && existsSync(metricsFile)) {
        const text = readFileSync(metricsFile, "utf8");
        const end = text.lastIndexOf("\n") + 1;
        if (end > metricsOffset) {
          for (const l of text.slice(metricsOffset, end).split("\n")) {
            if (l) pending.push({ at: Date.now(), stream: "metrics", line: l });
          }
          metricsOffset = end;
        }
      }
      void flush().catch(() => undefined);
    }, FLUSH_MS);

    let outcome: JobOutcome;
    try {
      outcome = await this.runSteps(
        job,
        dir,
        (stream, line) => {
          if (++lines > MAX_LINES_PER_JOB) {
            if (lines === MAX_LINES_PER_JOB + 1) sys(`output past ${MAX_LINES_PER_JOB} lines is not kept`);
            return;
          }
          pending.push({
            at: Date.now(),
            stream,
            line: line.length > MAX_LINE ? line.slice(0, MAX_LINE) + " ..." : line,
          });
        },
        sys,
        () => lost || cancelled || timedOut || this.stopping,
      );
      if (cancelled) outcome = { state: "cancelled", error: "cancelled while running" };
      else if (timedOut) outcome = { state: "failed", error: `time limit of ${job.limits.timeSeconds} s reached` };
    } catch (err) {
      outcome = { state: "failed", error: (err as Error).message };
    } finally {
      clearInterval(heartbeat);
      clearInterval(flusher);
    }
    if (outcome.error) sys(`job ${outcome.state}: ${outcome.error}`);
    else sys(`job ${outcome.state}`);
    await flush().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (lost || (this.stopping && !cancelled && !timedOut && outcome.state !== "succeeded")) {
      // Not ours to end: another worker holds the job now, or this one is shutting down and
      // leaves the job to its lease.
      this.o.say?.(`worker ${this.id}: left job ${job.id} to its lease`);
      return;
    }
    const ended = await store.finishJob(job.id, this.id, Date.now(), outcome);
    if (!ended) this.o.say?.(`worker ${this.id}: job ${job.id} was taken over; its result was not written`);
  }

  private async runSteps(
    job: JobRow,
    dir: string,
    out: (stream: "stdout" | "stderr", line: string) => void,
    sys: (line: string) => void,
    aborted: () => boolean,
  ): Promise<JobOutcome> {
    const store = this.o.store;
    let strategyFile: string | null = null;
    let strategySource: { filename: string; source: string } | undefined;
    if (job.strategySha256) {
      const s = await store.getStrategy(job.strategySha256);
      if (!s) throw new Error(`strategy ${job.strategySha256} is not stored`);
      strategyFile = s.filename;
      strategySource = s;
      writeFileSync(join(dir, s.filename), s.source);
    }
    const competition = job.competition ? this.o.competitions.get(job.competition) : undefined;
    if (job.type === "submit" && !competition) throw new Error(`competition '${job.competition}' is not configured`);
    const params = job.params as JobParams;
    const uploads = new Map<string, StrategyRow>();
    for (const ref of params.opponents ?? []) {
      const sha = SHA_REF.exec(ref)?.[1];
      if (sha === undefined || uploads.has(sha)) continue;
      const s = await store.getStrategy(sha);
      if (!s) throw new Error(`opponent ${ref} is not stored`);
      uploads.set(sha, s);
    }
    // Each opponent upload is written under a name of ours, with its own extension (which selects its loader).
    const fileOf = (f: OpponentFile): string => {
      const s = uploads.get(f.sha256) as StrategyRow;
      const name = f.file + extname(s.filename);
      writeFileSync(join(dir, name), s.source);
      return name;
    };
    const plan = planJob(job.type, params, strategyFile, competition, fileOf, {
      memoryMb: job.limits.memoryMb,
      callTimeMs: this.o.callTimeMs ?? 1000,
    });
    const exits: Record<string, number> = {};
    for (const step of plan.steps) {
      if (aborted()) break;
      sys(`$ propamm ${step.args.join(" ")}`);
      const code = await this.spawnStep(step.args, dir, job.limits.memoryMb, out);
      exits[step.title] = code;
      if (code !== 0) {
        if (aborted()) break;
        const what =
          step.title === "validate" && code === 1
            ? "the strategy did not pass validation (see the log)"
            : `'${step.title}' exited with code ${code} (see the log)`;
        return { state: "failed", error: what, result: { exitCodes: exits, passed: false } };
      }
    }
    if (aborted()) return { state: "failed", error: "stopped" };
    return this.collect(job, dir, exits, competition, strategySource);
  }

  private spawnStep(
    args: string[],
    dir: string,
    memoryMb: number,
    out: (stream: "stdout" | "stderr", line: string) => void,
  ): Promise<number> {
    return new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        PROPAMM_JOB_GROUP: "1",
        NO_COLOR: "1",
      };
      if (this.o.cacheDir) env.PROPAMM_CACHE_DIR = this.o.cacheDir;
      if (process.env.PROPAMM_RUSTC) env.PROPAMM_RUSTC = process.env.PROPAMM_RUSTC;
      const child = spawn(process.execPath, [`--max-old-space-size=${memoryMb}`, this.cliPath, ...args], {
        cwd: dir,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.current = child;
      for (const [stream, src] of [
        ["stdout", child.stdout],
        ["stderr", child.stderr],
      ] as const) {
        let rest = "";
        src.setEncoding("utf8");
        src.on("data", (chunk: string) => {
          const parts = (rest + chunk).split(/\r?\n|\r/);
          rest = parts.pop() ?? "";
          for (const p of parts) out(stream, p);
          if (rest.length > MAX_LINE * 4) {
            out(stream, rest);
            rest = "";
          }
        });
        src.on("end", () => {
          if (rest) out(stream, rest);
        });
      }
      child.on("error", (err) => {
        out("stderr", `could not start propamm: ${err.message}`);
        resolve(127);
      });
      child.on("close", (code, signal) => {
        this.current = undefined;
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
  }

  private collect(
    job: JobRow,
    dir: string,
    exits: Record<string, number>,
    competition: Competition | undefined,
    strategy: { filename: string; source: string } | undefined,
  ): JobOutcome {
    const artifacts: Artifact[] = [];
    const add = (name: string, file: string, contentType: string): void => {
      if (existsSync(file) && statSync(file).isFile()) {
        artifacts.push({ name, contentType, data: readFileSync(file) });
      }
    };
    add("result.json", join(dir, "result.json"), "application/json");
    add("trace.json", join(dir, "trace.json"), "application/json");
    const plots = join(dir, "plots");
    if (existsSync(plots)) {
      for (const f of readdirSync(plots).sort()) {
        if (f.endsWith(".svg")) add(`plots/${f}`, join(plots, f), "image/svg+xml");
      }
    }
    if (job.type === "train") {
      add("metrics.jsonl", join(dir, "run", "metrics.jsonl"), "application/x-ndjson");
      add("policy.ts", join(dir, "policy.ts"), "text/typescript");
    }
    const json = existsSync(join(dir, "result.json"))
      ? (JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as EvalJson)
      : undefined;
    switch (job.type) {
      case "validate":
        return { state: "succeeded", result: { passed: true, exitCodes: exits } };
      case "run":
        return { state: "succeeded", result: { exitCodes: exits, summary: json?.summary ?? null }, artifacts };
      case "eval":
        return { state: "succeeded", result: { exitCodes: exits, rows: json?.rows ?? null }, artifacts };
      case "train": {
        const metrics = existsSync(join(dir, "run", "metrics.jsonl"))
          ? readFileSync(join(dir, "run", "metrics.jsonl"), "utf8")
              .trim()
              .split("\n")
          : [];
        const evals = metrics.map((l) => JSON.parse(l) as Record<string, unknown>).filter((m) => m.type === "eval");
        return { state: "succeeded", result: { exitCodes: exits, lastEval: evals.at(-1) ?? null }, artifacts };
      }
      case "submit": {
        if (!json || !competition || !strategy) throw new Error("the evaluation wrote no result.json");
        const per = perSeed(json);
        const entry: NewEntry = {
          id: randomUUID(),
          competition: competition.id,
          jobId: job.id,
          strategySha256: job.strategySha256 as string,
          author: job.author,
          name: job.name ?? strategy.filename,
          createdAt: Date.now(),
          vsNormalizer: per.vsNormalizer,
          edge: per.edge,
        };
        const receipt = {
          format: "propamm-receipt",
          version: 1,
          job: job.id,
          author: job.author,
          strategy: { name: entry.name, filename: strategy.filename, sha256: job.strategySha256 },
          competition,
          seeds: per.seeds,
          row: json.rows?.[0] ?? null,
          finishedAt: new Date().toISOString(),
        };
        artifacts.push({
          name: "receipt.json",
          contentType: "application/json",
          data: Buffer.from(JSON.stringify(receipt, null, 2) + "\n"),
        });
        return {
          state: "succeeded",
          result: { exitCodes: exits, entryId: entry.id, competition: competition.id, row: json.rows?.[0] ?? null },
          artifacts,
          entry,
        };
      }
    }
  }
}

/** The parts of `propamm eval/run --json` the platform reads (spec: docs/spec.md, eval JSON). */
interface EvalJson {
  rows?: unknown[];
  summary?: unknown;
  runs?: {
    simulations: { seed: number; pools: { edge: number }[] }[];
  }[];
}

/** Per-seed edge of the candidate (pool 0) and its edge minus the normalizer's (the last pool). */
export function perSeed(json: EvalJson): { seeds: number[]; edge: number[]; vsNormalizer: number[] } {
  const sims = json.runs?.[0]?.simulations;
  if (!sims || sims.length === 0) throw new Error("result.json has no simulations");
  return {
    seeds: sims.map((s) => s.seed),
    edge: sims.map((s) => s.pools[0].edge),
    vsNormalizer: sims.map((s) => s.pools[0].edge - s.pools[s.pools.length - 1].edge),
  };
}
