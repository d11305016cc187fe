/** Worker thread for rollouts: builds the env once per configuration, then runs tasks. */
import { parentPort, workerData } from "node:worker_threads";
import { loadStrategy } from "../arena/loader.js";
import { callRecord, watchStrategy } from "../arena/watch.js";
import { builtinSource } from "../env/builtins/index.js";
import type { StrategyResolver } from "../gym/env.js";

import { EpisodeEnvs, type TrainingEnvConfig, watchedSpecs } from "./opponent-pool.js";
import { rollout, type RolloutTask, type RolloutResult } from "./rollout.js";

export interface RolloutRequest {
  index: number;
  /** Serializable env config: opponents (and the opponent pool) as built-in names or file paths. */
  config: TrainingEnvConfig;
  task: RolloutTask;
}

export type RolloutReply =
  { ok: true; index: number; result: RolloutResult } | { ok: false; index: number; error: string };

/** What a rollout worker is given when it starts: the call record its watchdog reads. */
export interface RolloutWorkerData {
  record: SharedArrayBuffer;
}

let cached: { key: string; env: Promise<EpisodeEnvs> } | null = null;

const record = (workerData as RolloutWorkerData | undefined)?.record;
const rec = record === undefined ? null : callRecord(record);

/**
 * Opponents from files with every call recorded for the pool's watchdog, under their index in
 * watchedSpecs; built-ins are ours and run bare. The wrapper changes no number (arena/watch.ts).
 */
function watchedResolver(config: TrainingEnvConfig): StrategyResolver {
  const specs = watchedSpecs(config);
  return async (spec) => {
    const source = await loadStrategy(spec);
    if (rec === null || builtinSource(spec) !== undefined) return source;
    const index = specs.indexOf(spec);
    return (ctx) => watchStrategy(source(ctx), index, rec);
  };
}

parentPort!.on("message", async (req: RolloutRequest) => {
  let reply: RolloutReply;
  try {
    const key = JSON.stringify(req.config);
    if (cached === null || cached.key !== key)
      cached = { key, env: EpisodeEnvs.create(req.config, watchedResolver(req.config)) };
    const env = await cached.env;
    reply = { ok: true, index: req.index, result: rollout(env, req.task) };
  } catch (err) {
    reply = { ok: false, index: req.index, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
