/**
 * Batch runs: many simulations of the same strategies on consecutive seeds, spread over worker
 * threads that the main thread watches (spec §2.9, docs/sandbox.md). Every simulation depends
 * only on its seed, and results are stored by seed, so any worker count gives identical results.
 *
 * A strategy call that does not return within the call limit, a simulation past its time limit,
 * a thread past its memory limit, or strategy code that ends its thread, stops that thread; the
 * strategy responsible is named, the seed runs again with it replaced by a stand-in that quotes 0,
 * and the other seeds go on. `workers: 0` runs in this thread without any of this.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ConfigError, type SimConfig, resolveConfig } from "../env/config.js";
import { BUILTIN_HELP, builtinSource } from "../env/builtins/index.js";
import { type ErrorCode, PropAmmError } from "../env/errors.js";
import { isCheckpointPath, loadStrategy, looksLikeFile } from "./loader.js";
import { Simulation, type SimulationResult, type StrategySource } from "../env/simulation.js";
import { type SimulationTrace, recordSimulation } from "../env/trace.js";
import {
  callRecord,
  type CallInProgress,
  type CallRecord,
  newCallRecordBuffer,
  readCall,
  type WorkerSetup,
} from "./watch.js";
import { existsSync } from "node:fs";

export interface BatchOptions {
  /** Strategy specs: built-in names or file paths (paths travel to workers as text). */
  strategies: readonly string[];
  config?: Partial<SimConfig>;
  simulations: number;
  seedStart?: number;
  /** Watched worker threads (default 1); 0 runs in this thread, unwatched. */
  workers?: number;
  /** Time and memory limits of the watched threads (docs/sandbox.md). */
  limits?: Partial<Limits>;
  onProgress?: (done: number, total: number) => void;
  /**
   * Also record the tape of this seed's simulation (docs/trace.md), one of the batch's seeds. It
   * is recorded in the batch's own simulation of that seed, so it shows exactly the results.
   */
  traceSeed?: number;
}

/** The limits a watched run enforces on strategy code. */
export interface Limits {
  /** Longest a single strategy call (or loading a module) may run, in milliseconds. */
  callMs: number;
  /** Longest one simulation may run, in milliseconds. */
  simulationMs: number;
  /** JS heap of each simulation thread, and the resident memory allowed per thread, in MB. */
  memoryMb: number;
}

export const DEFAULT_LIMITS: Limits = { callMs: 1000, simulationMs: 300_000, memoryMb: 1024 };

/** A strategy the runner stopped: the batch went on without it (spec §2.9). */
export class StrategyStoppedError extends PropAmmError {
  constructor(message: string) {
    super("STRATEGY", message);
    this.name = "StrategyStoppedError";
  }
}

export interface BatchResult {
  config: SimConfig;
  strategies: string[];
  seeds: number[];
  results: SimulationResult[];
  wallSeconds: number;
  workers: number;
  /** The tape of `traceSeed`'s simulation, when one was asked for. */
  trace?: SimulationTrace;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export function checkBatch(opts: BatchOptions): SimConfig {
  if (opts.strategies.length === 0) throw new ConfigError("give at least one strategy");
  if (!Number.isInteger(opts.simulations) || opts.simulations < 1) {
    throw new ConfigError(`simulations must be an integer >= 1 (got ${opts.simulations})`);
  }
  const seedStart = opts.seedStart ?? 0;
  if (!Number.isSafeInteger(seedStart) || seedStart < 0)
    throw new ConfigError(`seed-start must be an integer >= 0 (got ${seedStart})`);
  const w = opts.workers ?? 1;
  if (!Number.isInteger(w) || w < 0 || w > 256)
    throw new ConfigError(`workers must be an integer in [0, 256] (got ${w})`);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (!(Number.isInteger(limits.callMs) && limits.callMs >= 1))
    throw new ConfigError(`the call time limit must be an integer >= 1 ms (got ${limits.callMs})`);
  if (!(Number.isInteger(limits.simulationMs) && limits.simulationMs >= 1))
    throw new ConfigError(`the simulation time limit must be an integer >= 1 ms (got ${limits.simulationMs})`);
  if (!(Number.isInteger(limits.memoryMb) && limits.memoryMb >= 64))
    throw new ConfigError(`the memory limit must be an integer >= 64 MB (got ${limits.memoryMb})`);
  const ts = opts.traceSeed;
  if (ts !== undefined && !(Number.isSafeInteger(ts) && ts >= seedStart && ts < seedStart + opts.simulations)) {
    throw new ConfigError(
      `the trace seed must be one of the run's seeds, ${seedStart}..${seedStart + opts.simulations - 1} (got ${ts})`,
    );
  }
  return resolveConfig(opts.config ?? {}, opts.strategies.length);
}

/**
 * Checks what each spec names without running any of its code: a built-in, a checkpoint folder
 * or an existing module file. Loading (and its errors) happens in the watched thread.
 */
export function checkSpecs(specs: readonly string[]): void {
  for (const spec of specs) {
    if (builtinSource(spec) || isCheckpointPath(spec)) continue;
    if (!looksLikeFile(spec)) throw new ConfigError(`unknown strategy '${spec}' (${BUILTIN_HELP})`);
    if (!existsSync(spec)) throw new ConfigError(`strategy file not found: ${spec}`);
  }
}

/** One simulation, and its tape (docs/trace.md) when `record` is set. */
export function simulateSeed(
  sources: readonly StrategySource[],
  config: Partial<SimConfig>,
  seed: number,
  record = false,
): { result: SimulationResult; trace?: SimulationTrace } {
  const sim = new Simulation(seed, sources, config);
  return record ? recordSimulation(sim) : { result: sim.run() };
}

/** Runs simulations in this thread with already-loaded strategy sources. */
export function runSeeds(
  sources: readonly StrategySource[],
  config: Partial<SimConfig>,
  seeds: readonly number[],
  onDone?: (result: SimulationResult, index: number) => void,
  onTrace?: { seed: number; done: (trace: SimulationTrace) => void },
): SimulationResult[] {
  return seeds.map((seed, i) => {
    const { result, trace } = simulateSeed(sources, config, seed, onTrace?.seed === seed);
    if (trace) onTrace!.done(trace);
    onDone?.(result, i);
    return result;
  });
}

export async function runBatch(opts: BatchOptions): Promise<BatchResult> {
  const config = checkBatch(opts);
  const seedStart = opts.seedStart ?? 0;
  const seeds = Array.from({ length: opts.simulations }, (_, i) => seedStart + i);
  const workers = Math.min(opts.workers ?? 1, seeds.length);
  const started = performance.now();
  let results: SimulationResult[];
  let trace: SimulationTrace | undefined;
  const onTrace =
    opts.traceSeed === undefined ? undefined : { seed: opts.traceSeed, done: (t: SimulationTrace) => (trace = t) };
  if (workers === 0) {
    const sources = await Promise.all(opts.strategies.map(loadStrategy));
    let done = 0;
    results = runSeeds(sources, config, seeds, () => opts.onProgress?.(++done, seeds.length), onTrace);
  } else {
    checkSpecs(opts.strategies);
    results = await runWatched(
      opts.strategies,
      config,
      seeds,
      workers,
      { ...DEFAULT_LIMITS, ...opts.limits },
      {
        onProgress: opts.onProgress,
        trace: onTrace,
      },
    );
  }
  return {
    config,
    strategies: [...opts.strategies],
    seeds,
    results,
    wallSeconds: (performance.now() - started) / 1000,
    workers: Math.max(1, workers),
    ...(trace ? { trace } : {}),
  };
}

/** A strategy stopped in one seed's attempt; the seed runs again with a stand-in in its seat. */
export interface Disabled {
  pool: number;
  /** The name the stand-in carries: the strategy's own when it is known, else its spec. */
  name: string;
  reason: string;
}

export interface WorkerRequest {
  strategies: string[];
  config: SimConfig;
  seed: number;
  index: number;
  disabled: Disabled[];
  /** Record this simulation's tape too. */
  trace?: boolean;
}

export type WorkerReply =
  | { ok: true; index: number; result: SimulationResult; trace?: SimulationTrace }
  | { ok: false; index: number; error: string; code?: ErrorCode };

/**
 * An error that crossed a thread or process boundary, as the project's error it was (same code,
 * so the same exit code and protocol code), or null when it was not one of ours.
 */
export function rebuildError(code: ErrorCode | undefined, message: string): Error | null {
  if (code === undefined) return null;
  if (code === "CONFIG") return new ConfigError(message);
  if (code === "STRATEGY") return new StrategyStoppedError(message);
  return new PropAmmError(code, message);
}

function workerUrl(): URL {
  // From the compiled package the worker is plain JS. From sources (tests) a small .mjs
  // bootstrap loads it through tsx: Node 20 ignores `--import tsx` in a worker's execArgv.
  const fromSource = import.meta.url.endsWith(".ts");
  return new URL(fromSource ? "./worker-tsx.mjs" : "./worker.js", import.meta.url);
}

export interface WatchOptions {
  onProgress?: (done: number, total: number) => void;
  /** In a sandbox: the worker's lockdown (arena/worker.ts). */
  lockdown?: WorkerSetup["lockdown"];
  /** Record the tape of this seed (the attempt that gives its result) and hand it to `done`. */
  trace?: { seed: number; done: (trace: SimulationTrace) => void };
}

interface Job {
  index: number;
  disabled: Disabled[];
}

interface Thread {
  worker: Worker;
  rec: CallRecord;
  job: Job | null;
  /** Sequence number last seen, and for how long it has not moved while odd (in a call). */
  seq: number;
  stuckMs: number;
  simStart: number;
  /** Watchdog samples per pool of the running seed: which strategy the time goes to. */
  samples: number[];
  dead: boolean;
}

const THREAD_MEMORY_BASE_MB = 256;

/**
 * Runs seeds on watched worker threads. The watchdog ticks a few times per call limit, reads
 * each thread's call record, and stops a thread whose call has not moved for the call limit,
 * whose seed has run past the simulation limit, or (all threads together) whose process is past
 * the memory limit.
 */
export async function runWatched(
  strategies: readonly string[],
  config: SimConfig,
  seeds: readonly number[],
  workers: number,
  limits: Limits,
  opts: WatchOptions = {},
): Promise<SimulationResult[]> {
  const results: SimulationResult[] = new Array(seeds.length);
  const queue: Job[] = seeds.map((_, index) => ({ index, disabled: [] }));
  const names: (string | undefined)[] = strategies.map(() => undefined);
  const threads: Thread[] = [];
  const url = workerUrl();
  const tickMs = Math.max(5, Math.min(250, Math.floor(limits.callMs / 4)));
  const rssLimit = (limits.memoryMb * workers + THREAD_MEMORY_BASE_MB) * 1024 * 1024;
  let done = 0;
  let timer: NodeJS.Timeout | undefined;

  const label = (pool: number): string =>
    names[pool] !== undefined && names[pool] !== strategies[pool]
      ? `${strategies[pool]} (${names[pool]})`
      : strategies[pool];

  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        rejectAll(err);
      };

      const feed = (t: Thread): void => {
        if (failed || t.dead) return;
        const job = queue.shift();
        t.job = job ?? null;
        if (!job) {
          if (done === seeds.length) resolveAll();
          return;
        }
        t.simStart = performance.now();
        t.samples = strategies.map(() => 0);
        t.stuckMs = 0;
        const req: WorkerRequest = {
          strategies: [...strategies],
          config,
          seed: seeds[job.index],
          index: job.index,
          disabled: job.disabled,
          ...(opts.trace?.seed === seeds[job.index] ? { trace: true } : {}),
        };
        t.worker.postMessage(req);
      };

      /** Ends a thread's attempt at its seed: the culprit gets a stand-in and the seed goes back first in line. */
      const stop = (t: Thread, call: CallInProgress | null, what: string, culprit?: number): void => {
        if (t.dead) return;
        t.dead = true;
        void t.worker.terminate();
        const job = t.job;
        const pool = culprit ?? call?.pool;
        if (job && pool !== undefined && pool >= 0 && pool < strategies.length) {
          const where = call && call.pool === pool ? ` in ${call.text}` : "";
          const reason = `${label(pool)}: ${what}${where}`;
          job.disabled = [...job.disabled, { pool, name: names[pool] ?? strategies[pool], reason }];
          queue.unshift(job);
        } else if (job) {
          fail(new StrategyStoppedError(`simulation with seed ${seeds[job.index]} stopped: ${what}`));
          return;
        }
        spawn();
      };

      const spawn = (): void => {
        const record = newCallRecordBuffer();
        const setup: WorkerSetup = { record, lockdown: opts.lockdown };
        const worker = new Worker(url, {
          workerData: setup,
          resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb },
          stdout: false,
          stderr: false,
        });
        const t: Thread = {
          worker,
          rec: callRecord(record),
          job: null,
          seq: 0,
          stuckMs: 0,
          simStart: 0,
          samples: [],
          dead: false,
        };
        threads.push(t);
        worker.on("message", (msg: WorkerReply) => {
          if (t.dead || failed) return;
          const job = t.job;
          if (!msg.ok) {
            const text = `simulation with seed ${seeds[msg.index]} failed: ${msg.error}`;
            fail(rebuildError(msg.code, msg.error) ?? new Error(text));
            return;
          }
          const result = msg.result;
          result.pools.forEach((p, i) => {
            if (i < strategies.length && !job?.disabled.some((d) => d.pool === i)) names[i] = p.name;
          });
          for (const d of job?.disabled ?? []) result.pools[d.pool].errors.stopped = d.reason;
          results[msg.index] = result;
          if (msg.trace) opts.trace?.done(msg.trace);
          done++;
          opts.onProgress?.(done, seeds.length);
          feed(t);
        });
        worker.on("error", (err: Error & { code?: string }) => {
          const call = readCall(t.rec);
          const what =
            err.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? `exceeded the memory limit (${limits.memoryMb} MB of JS heap)`
              : `threw out of the simulation thread: ${err.message}`;
          stop(t, call, what);
        });
        worker.on("exit", (code) => {
          if (t.dead || failed) return;
          // Strategy code ended its thread (process.exit in a worker ends the thread).
          stop(t, readCall(t.rec), `ended its thread (exit code ${code})`);
        });
        feed(t);
      };

      const tick = (): void => {
        if (failed) return;
        const now = performance.now();
        const overMemory = process.memoryUsage.rss() > rssLimit;
        for (const t of [...threads]) {
          if (t.dead || t.job === null) continue;
          const call = readCall(t.rec);
          if (call) t.samples[call.pool] = (t.samples[call.pool] ?? 0) + 1;
          if (call && call.seq === t.seq) t.stuckMs += tickMs;
          else t.stuckMs = 0;
          t.seq = call?.seq ?? 0;
          const callLimit = call?.kind === "load" ? limits.simulationMs : limits.callMs;
          if (call && t.stuckMs >= callLimit) {
            stop(t, call, `a call did not return within the ${callLimit} ms time limit`);
          } else if (overMemory && call) {
            stop(t, call, `the process exceeded the memory limit (resident memory above ${rssLimit >> 20} MB)`);
          } else if (now - t.simStart > limits.simulationMs) {
            // The strategy the watchdog most often found running gets the blame.
            let top = -1;
            for (let i = 0; i < t.samples.length; i++)
              if (t.samples[i] > 0 && (top < 0 || t.samples[i] > t.samples[top])) top = i;
            const what = `the simulation exceeded the ${limits.simulationMs} ms time limit`;
            stop(
              t,
              call,
              top >= 0 ? `${what} (most of it in this strategy's calls)` : what,
              top >= 0 ? top : undefined,
            );
          }
        }
        threads.splice(0, threads.length, ...threads.filter((t) => !t.dead));
      };

      timer = setInterval(tick, tickMs);
      for (let i = 0; i < workers; i++) spawn();
    });
  } finally {
    if (timer) clearInterval(timer);
    // Marked first, so that their exits are not taken for strategy code ending them.
    for (const t of threads) t.dead = true;
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
  return results;
}
