/**
 * ThreadedVectorEnv: VectorEnv's envs spread over worker threads. Worker k holds a contiguous
 * block of envs and steps them while the others step theirs; results are merged in env order,
 * and env i still gets seed + i, so the output equals a VectorEnv of the same size exactly.
 * Worth it when a batch step costs more than a message round trip (measured in
 * docs/BENCHMARKS.md); the API is asynchronous.
 */
import { Worker } from "node:worker_threads";
import { ConfigError } from "./config.js";
import { type EnvConfig, EnvError, type ResetOptions, type StepInfo } from "./gym.js";
import type { AutoresetMode, VectorStepInfo, VectorStepResult } from "./vector-env.js";
import type { VectorWorkerReply, VectorWorkerRequest } from "./vector-worker.js";

const OBS = 5;
const ACT = 2;

function call(w: Worker, req: VectorWorkerRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: VectorWorkerReply): void => {
      w.off("error", onError);
      if (msg.ok) resolve(msg.result);
      else reject(msg.name === "ConfigError" ? new ConfigError(msg.error) : new EnvError(msg.error));
    };
    const onError = (err: Error): void => {
      w.off("message", onMessage);
      reject(err);
    };
    w.once("message", onMessage);
    w.once("error", onError);
    w.postMessage(req);
  });
}

export class ThreadedVectorEnv {
  readonly numEnvs: number;
  private readonly workers: Worker[];
  /** First env index of each worker's block, and the block sizes. */
  private readonly offsets: number[];
  private readonly sizes: number[];
  private started = false;

  private constructor(numEnvs: number, workers: Worker[], sizes: number[]) {
    this.numEnvs = numEnvs;
    this.workers = workers;
    this.sizes = sizes;
    this.offsets = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
  }

  /** `config.opponents` must be built-in names or file paths (they travel to the workers). */
  static async create(
    numEnvs: number,
    config: Partial<EnvConfig> & { opponents?: string[] } = {},
    opts: { workers?: number; autoresetMode?: AutoresetMode } = {},
  ): Promise<ThreadedVectorEnv> {
    if (!Number.isInteger(numEnvs) || numEnvs < 1 || numEnvs > 4096) {
      throw new EnvError(`numEnvs must be an integer in [1, 4096] (got ${numEnvs})`);
    }
    const nWorkers = Math.min(numEnvs, Math.max(1, opts.workers ?? 2));
    const sizes = Array.from(
      { length: nWorkers },
      (_, k) => Math.floor(numEnvs / nWorkers) + (k < numEnvs % nWorkers ? 1 : 0),
    );
    const fromSource = import.meta.url.endsWith(".ts");
    const url = new URL(fromSource ? "./vector-worker-tsx.mjs" : "./vector-worker.js", import.meta.url);
    const workers = sizes.map(() => new Worker(url));
    const env = new ThreadedVectorEnv(numEnvs, workers, sizes);
    try {
      const serializable = { ...config, opponents: config.opponents ?? ["starter"] };
      await Promise.all(
        workers.map((w, k) =>
          call(w, {
            op: "make",
            numEnvs: sizes[k],
            config: serializable,
            autoresetMode: opts.autoresetMode ?? "next_step",
          }),
        ),
      );
    } catch (err) {
      await env.close();
      throw err;
    }
    return env;
  }

  async reset(
    args: { seed?: number; options?: ResetOptions } = {},
  ): Promise<{ observations: Float32Array; infos: StepInfo[] }> {
    if (
      args.seed !== undefined &&
      (!Number.isSafeInteger(args.seed) || args.seed < 0 || !Number.isSafeInteger(args.seed + this.numEnvs - 1))
    ) {
      throw new EnvError(
        `seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER - this.numEnvs + 1}] (env i uses seed + i), got ${args.seed}`,
      );
    }
    const parts = (await Promise.all(
      this.workers.map((w, k) =>
        call(w, {
          op: "reset",
          seed: args.seed === undefined ? undefined : args.seed + this.offsets[k],
          options: args.options,
        }),
      ),
    )) as { observations: Float32Array; infos: StepInfo[] }[];
    const observations = new Float32Array(this.numEnvs * OBS);
    const infos: StepInfo[] = [];
    parts.forEach((p, k) => {
      observations.set(p.observations, this.offsets[k] * OBS);
      infos.push(...p.infos);
    });
    this.started = true;
    return { observations, infos };
  }

  async step(actions: ArrayLike<number>): Promise<VectorStepResult> {
    if (!this.started) throw new EnvError("call reset() before step()");
    if (actions.length !== this.numEnvs * ACT) {
      throw new EnvError(
        `actions must hold ${this.numEnvs} x ${ACT} = ${this.numEnvs * ACT} values, got ${actions.length}`,
      );
    }
    for (let k = 0; k < actions.length; k++) {
      if (typeof actions[k] !== "number" || !Number.isFinite(actions[k])) {
        throw new EnvError(
          `actions[${Math.floor(k / ACT)}][${k % ACT}] must be a finite number, got ${String(actions[k])}`,
        );
      }
    }
    const parts = (await Promise.all(
      this.workers.map((w, k) => {
        const a = new Float64Array(this.sizes[k] * ACT);
        for (let i = 0; i < a.length; i++) a[i] = actions[this.offsets[k] * ACT + i];
        return call(w, { op: "step", actions: a });
      }),
    )) as VectorStepResult[];
    const n = this.numEnvs;
    const out: VectorStepResult = {
      observations: new Float32Array(n * OBS),
      rewards: new Float64Array(n),
      terminated: new Uint8Array(n),
      truncated: new Uint8Array(n),
      infos: [] as VectorStepInfo[],
    };
    parts.forEach((p, k) => {
      const o = this.offsets[k];
      out.observations.set(p.observations, o * OBS);
      out.rewards.set(p.rewards, o);
      out.terminated.set(p.terminated, o);
      out.truncated.set(p.truncated, o);
      out.infos.push(...p.infos);
    });
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.started = false;
  }
}
