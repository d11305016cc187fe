/**
 * Worker thread for batch runs: loads the strategies once, then simulates seeds on request.
 * Every strategy that is not a built-in is wrapped so that its calls are recorded in the shared
 * call record (arena/watch.ts) the main thread watches; a strategy the main thread stopped in an
 * earlier attempt at the seed is replaced by a stand-in that quotes 0 (`disabled`).
 * In a sandbox (arena/sandbox.ts) the thread first locks itself down: strategy modules may import
 * nothing, `process`, `fetch` and the other globals that reach outside are removed, and the
 * built-ins are hardened against prototype pollution (arena/harden.ts).
 */
import { register } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import { PropAmmError } from "../env/errors.js";
import { builtinSource } from "../env/builtins/index.js";
import { loadStrategy } from "./loader.js";
import type { WorkerReply, WorkerRequest } from "./runner.js";
import { Simulation, type StrategySource } from "../env/simulation.js";
import { recordSimulation } from "../env/trace.js";
import type { Strategy } from "../env/strategy.js";
import { hardenIntrinsics } from "./harden.js";
import { callRecord, enterLoad, leave, watchStrategy, type WorkerSetup } from "./watch.js";

const setup = workerData as WorkerSetup;
const rec = callRecord(setup.record);

/** Globals that reach outside the process or into it; removed before strategy code runs in a sandbox. */
const OUTSIDE_GLOBALS = ["process", "fetch", "BroadcastChannel", "WebSocket", "EventSource", "navigator"] as const;

if (setup.lockdown) {
  register(setup.lockdown.hookUrl, { data: { strategyDirUrl: setup.lockdown.strategyDirUrl } });
  for (const name of OUTSIDE_GLOBALS) delete (globalThis as Record<string, unknown>)[name];
  hardenIntrinsics();
}

function standIn(name: string): StrategySource {
  const s: Strategy = { name, computeSwap: () => 0 };
  return () => s;
}

async function load(spec: string, pool: number): Promise<StrategySource> {
  const builtin = builtinSource(spec);
  if (builtin) return builtin;
  enterLoad(rec, pool);
  let source: StrategySource;
  try {
    source = await loadStrategy(spec);
  } finally {
    leave(rec);
  }
  return (ctx) => {
    enterLoad(rec, pool);
    let strategy: Strategy;
    try {
      strategy = source(ctx);
    } finally {
      leave(rec);
    }
    return watchStrategy(strategy, pool, rec);
  };
}

let cache: { key: string; sources: StrategySource[] } | null = null;

async function sourcesFor(req: WorkerRequest): Promise<StrategySource[]> {
  const key = JSON.stringify([req.strategies, req.disabled]);
  if (cache !== null && cache.key === key) return cache.sources;
  const sources: StrategySource[] = [];
  // One at a time: the call record names the module being loaded.
  for (let i = 0; i < req.strategies.length; i++) {
    const off = req.disabled.find((d) => d.pool === i);
    sources.push(off ? standIn(off.name) : await load(req.strategies[i], i));
  }
  cache = { key, sources };
  return sources;
}

parentPort!.on("message", async (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const sources = await sourcesFor(req);
    const sim = new Simulation(req.seed, sources, req.config);
    if (req.trace === true) {
      const { result, trace } = recordSimulation(sim);
      reply = { ok: true, index: req.index, result, trace };
    } else {
      reply = { ok: true, index: req.index, result: sim.run() };
    }
  } catch (err) {
    reply = {
      ok: false,
      index: req.index,
      error: err instanceof Error ? err.message : String(err),
      code: err instanceof PropAmmError ? err.code : undefined,
    };
  }
  parentPort!.postMessage(reply);
});
