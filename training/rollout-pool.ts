/**
 * A pool of worker threads running rollout tasks. Results come back by task index, so the
 * outcome does not depend on the number of workers; with 0 workers tasks run in this thread.
 */
import { Worker } from "node:worker_threads";
import { loadStrategy } from "../arena/loader.js";
import { EpisodeEnvs, type TrainingEnvConfig } from "./opponent-pool.js";
import { rollout, type RolloutResult, type RolloutTask } from "./rollout.js";
import type { RolloutReply, RolloutRequest } from "./rollout-worker.js";

export class RolloutPool {
  private readonly workers: Worker[] = [];
  private localEnv: Promise<EpisodeEnvs> | null = null;

  constructor(
    readonly config: TrainingEnvConfig,
    readonly size: number,
  ) {
    const fromSource = import.meta.url.endsWith(".ts");
    const url = new URL(fromSource ? "./rollout-worker-tsx.mjs" : "./rollout-worker.js", import.meta.url);
    for (let i = 0; i < size; i++) this.workers.push(new Worker(url));
  }

  async run(tasks: RolloutTask[]): Promise<RolloutResult[]> {
    if (this.workers.length === 0) {
      this.localEnv ??= EpisodeEnvs.create(this.config, loadStrategy);
      const env = await this.localEnv;
      return tasks.map((t) => rollout(env, t));
    }
    const results: RolloutResult[] = new Array(tasks.length);
    let next = 0;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= tasks.length) {
                w.off("message", onMessage);
                w.off("error", reject);
                resolve();
                return;
              }
              const index = next++;
              const req: RolloutRequest = { index, config: this.config, task: tasks[index] };
              w.postMessage(req);
            };
            const onMessage = (msg: RolloutReply): void => {
              if (!msg.ok) {
                w.off("message", onMessage);
                reject(new Error(`rollout ${msg.index} failed: ${msg.error}`));
                return;
              }
              results[msg.index] = msg.result;
              feed();
            };
            w.on("message", onMessage);
            w.on("error", reject);
            feed();
          }),
      ),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
