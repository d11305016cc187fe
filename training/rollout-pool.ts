/**
 * A pool of worker threads running rollout tasks. Results come back by task index, so the
 * outcome does not depend on the number of workers; with 0 workers tasks run in this thread.
 *
 * Opponents from files run watched (arena/watch.ts): each worker records the opponent call in
 * progress in a SharedArrayBuffer, and a call that has not returned within the call time limit
 * stops the run with a StrategyStoppedError naming the file and the call (docs/sandbox.md). With
 * 0 workers (and in PPO, which steps its envs in this thread) a call cannot be interrupted.
 */
import { Worker } from "node:worker_threads";
import { loadStrategy } from "../arena/loader.js";
import { DEFAULT_LIMITS, StrategyStoppedError } from "../arena/runner.js";
import { callRecord, type CallRecord, newCallRecordBuffer, readCall } from "../arena/watch.js";
import { EpisodeEnvs, type TrainingEnvConfig, watchedSpecs } from "./opponent-pool.js";
import { rollout, type RolloutResult, type RolloutTask } from "./rollout.js";
import type { RolloutReply, RolloutRequest, RolloutWorkerData } from "./rollout-worker.js";

export class RolloutPool {
  private readonly workers: Worker[] = [];
  private readonly records: CallRecord[] = [];
  private localEnv: Promise<EpisodeEnvs> | null = null;

  constructor(
    readonly config: TrainingEnvConfig,
    readonly size: number,
    /** A strategy call longer than this stops the run. */
    readonly callMs = DEFAULT_LIMITS.callMs,
  ) {
    const fromSource = import.meta.url.endsWith(".ts");
    const url = new URL(fromSource ? "./rollout-worker-tsx.mjs" : "./rollout-worker.js", import.meta.url);
    for (let i = 0; i < size; i++) {
      const record = newCallRecordBuffer();
      const workerData: RolloutWorkerData = { record };
      this.records.push(callRecord(record));
      this.workers.push(new Worker(url, { workerData }));
    }
  }

  /**
   * Rejects once a worker has been in the same opponent call for longer than the limit. The
   * sequence number changes with every call, so a call is the same while it stays put.
   */
  private watch(): { stopped: Promise<never>; stop: () => void } {
    const specs = watchedSpecs(this.config);
    const seen = this.records.map(() => ({ seq: 0, since: 0 }));
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<never>((_, reject) => {
      timer = setInterval(
        () => {
          const now = performance.now();
          this.records.forEach((rec, i) => {
            const call = readCall(rec);
            if (call === null || call.seq !== seen[i].seq) {
              seen[i] = { seq: call?.seq ?? 0, since: now };
              return;
            }
            if (now - seen[i].since > this.callMs) {
              clearInterval(timer);
              const who = specs[call.pool] ?? `opponent ${call.pool}`;
              reject(
                new StrategyStoppedError(
                  `${who}: a call did not return within the ${this.callMs} ms time limit in ${call.text}; training stopped`,
                ),
              );
            }
          });
        },
        Math.max(10, Math.min(100, this.callMs / 4)),
      );
    });
    // The run may finish first: nothing waits on this rejection then.
    stopped.catch(() => {});
    return { stopped, stop: () => clearInterval(timer) };
  }

  async run(tasks: RolloutTask[]): Promise<RolloutResult[]> {
    if (this.workers.length === 0) {
      this.localEnv ??= EpisodeEnvs.create(this.config, loadStrategy);
      const env = await this.localEnv;
      return tasks.map((t) => rollout(env, t));
    }
    const results: RolloutResult[] = new Array(tasks.length);
    let next = 0;
    const watchdog = this.watch();
    const work = Promise.all(
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
    try {
      await Promise.race([work, watchdog.stopped]);
    } catch (err) {
      // A stopped call never returns: its worker must go (close() ends them all).
      work.catch(() => {});
      await this.close();
      throw err;
    } finally {
      watchdog.stop();
    }
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
