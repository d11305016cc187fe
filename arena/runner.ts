/**
 * Batch runs: many simulations of the same strategies on consecutive seeds, optionally spread
 * over worker threads. Every simulation depends only on its seed, and results are stored by
 * seed, so any worker count gives identical results.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ConfigError, type SimConfig, resolveConfig } from "../env/config.js";
import { loadStrategy } from "./loader.js";
import { Simulation, type SimulationResult, type StrategySource } from "../env/simulation.js";

export interface BatchOptions {
  /** Strategy specs: built-in names or file paths (paths travel to workers as text). */
  strategies: readonly string[];
  config?: Partial<SimConfig>;
  simulations: number;
  seedStart?: number;
  /** Worker threads; 0 or 1 runs in this thread. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface BatchResult {
  config: SimConfig;
  strategies: string[];
  seeds: number[];
  results: SimulationResult[];
  wallSeconds: number;
  workers: number;
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
  return resolveConfig(opts.config ?? {}, opts.strategies.length);
}

/** Runs simulations in this thread with already-loaded strategy sources. */
export function runSeeds(
  sources: readonly StrategySource[],
  config: Partial<SimConfig>,
  seeds: readonly number[],
  onDone?: (result: SimulationResult, index: number) => void,
): SimulationResult[] {
  return seeds.map((seed, i) => {
    const r = new Simulation(seed, sources, config).run();
    onDone?.(r, i);
    return r;
  });
}

export async function runBatch(opts: BatchOptions): Promise<BatchResult> {
  const config = checkBatch(opts);
  const seedStart = opts.seedStart ?? 0;
  const seeds = Array.from({ length: opts.simulations }, (_, i) => seedStart + i);
  const workers = Math.min(opts.workers ?? 1, seeds.length);
  const started = performance.now();
  const sources = await Promise.all(opts.strategies.map(loadStrategy));
  let results: SimulationResult[];
  if (workers <= 1) {
    let done = 0;
    results = runSeeds(sources, config, seeds, () => opts.onProgress?.(++done, seeds.length));
  } else {
    results = await runInWorkers(opts.strategies, config, seeds, workers, opts.onProgress);
  }
  return {
    config,
    strategies: [...opts.strategies],
    seeds,
    results,
    wallSeconds: (performance.now() - started) / 1000,
    workers: Math.max(1, workers),
  };
}

export interface WorkerRequest {
  strategies: string[];
  config: SimConfig;
  seed: number;
  index: number;
}

export type WorkerReply =
  { ok: true; index: number; result: SimulationResult } | { ok: false; index: number; error: string };

function workerUrl(): URL {
  // From the compiled package the worker is plain JS. From sources (tests) a small .mjs
  // bootstrap loads it through tsx: Node 20 ignores `--import tsx` in a worker's execArgv.
  const fromSource = import.meta.url.endsWith(".ts");
  return new URL(fromSource ? "./worker-tsx.mjs" : "./worker.js", import.meta.url);
}

/** A pool of worker threads pulling seeds from a shared queue. */
async function runInWorkers(
  strategies: readonly string[],
  config: SimConfig,
  seeds: readonly number[],
  workers: number,
  onProgress?: (done: number, total: number) => void,
): Promise<SimulationResult[]> {
  const results: SimulationResult[] = new Array(seeds.length);
  const url = workerUrl();
  let next = 0;
  let done = 0;
  const threads: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: workers }, () => {
        const w = new Worker(url);
        threads.push(w);
        return new Promise<void>((resolveDone, reject) => {
          const feed = (): void => {
            if (next >= seeds.length) {
              resolveDone();
              return;
            }
            const index = next++;
            const req: WorkerRequest = { strategies: [...strategies], config, seed: seeds[index], index };
            w.postMessage(req);
          };
          w.on("message", (msg: WorkerReply) => {
            if (!msg.ok) {
              reject(new Error(`simulation with seed ${seeds[msg.index]} failed: ${msg.error}`));
              return;
            }
            results[msg.index] = msg.result;
            onProgress?.(++done, seeds.length);
            feed();
          });
          w.on("error", reject);
          w.on("exit", (code) => {
            if (next < seeds.length || done < seeds.length) reject(new Error(`worker exited early with code ${code}`));
          });
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}
