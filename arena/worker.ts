/** Worker thread for batch runs: loads the strategies once, then simulates seeds on request. */
import { parentPort } from "node:worker_threads";
import { loadStrategy } from "./loader.js";
import type { WorkerReply, WorkerRequest } from "./runner.js";
import { Simulation, type StrategySource } from "../env/simulation.js";

let cache: { key: string; sources: Promise<StrategySource[]> } | null = null;

function sourcesFor(specs: string[]): Promise<StrategySource[]> {
  const key = JSON.stringify(specs);
  if (cache === null || cache.key !== key) cache = { key, sources: Promise.all(specs.map(loadStrategy)) };
  return cache.sources;
}

parentPort!.on("message", async (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const sources = await sourcesFor(req.strategies);
    const result = new Simulation(req.seed, sources, req.config).run();
    reply = { ok: true, index: req.index, result };
  } catch (err) {
    reply = { ok: false, index: req.index, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
