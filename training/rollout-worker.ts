/** Worker thread for rollouts: builds the env once per configuration, then runs tasks. */
import { parentPort } from "node:worker_threads";
import { loadStrategy } from "../arena/loader.js";
import { EpisodeEnvs, type TrainingEnvConfig } from "./opponent-pool.js";
import { rollout, type RolloutTask, type RolloutResult } from "./rollout.js";

export interface RolloutRequest {
  index: number;
  /** Serializable env config: opponents (and the opponent pool) as built-in names or file paths. */
  config: TrainingEnvConfig;
  task: RolloutTask;
}

export type RolloutReply =
  { ok: true; index: number; result: RolloutResult } | { ok: false; index: number; error: string };

let cached: { key: string; env: Promise<EpisodeEnvs> } | null = null;

parentPort!.on("message", async (req: RolloutRequest) => {
  let reply: RolloutReply;
  try {
    const key = JSON.stringify(req.config);
    if (cached === null || cached.key !== key) cached = { key, env: EpisodeEnvs.create(req.config, loadStrategy) };
    const env = await cached.env;
    reply = { ok: true, index: req.index, result: rollout(env, req.task) };
  } catch (err) {
    reply = { ok: false, index: req.index, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
