/** Worker thread of ThreadedVectorEnv: a plain VectorEnv holding this worker's share of the envs. */
import { parentPort } from "node:worker_threads";
import type { EnvConfig, ResetOptions } from "./gym.js";
import { type AutoresetMode, VectorEnv } from "./vector-env.js";

export type VectorWorkerRequest =
  | { op: "make"; numEnvs: number; config: Partial<EnvConfig> & { opponents: string[] }; autoresetMode: AutoresetMode }
  | { op: "reset"; seed?: number; options?: ResetOptions }
  | { op: "step"; actions: Float64Array };

export type VectorWorkerReply = { ok: true; result: unknown } | { ok: false; error: string; name: string };

let env: VectorEnv | null = null;

parentPort!.on("message", async (req: VectorWorkerRequest) => {
  let reply: VectorWorkerReply;
  try {
    if (req.op === "make") {
      env = await VectorEnv.create(req.numEnvs, req.config, { autoresetMode: req.autoresetMode });
      reply = { ok: true, result: null };
    } else if (env === null) {
      throw new Error("worker env not made");
    } else if (req.op === "reset") {
      reply = { ok: true, result: env.reset({ seed: req.seed, options: req.options }) };
    } else {
      reply = { ok: true, result: env.step(req.actions) };
    }
  } catch (err) {
    reply = {
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      name: err instanceof Error ? err.name : "Error",
    };
  }
  parentPort!.postMessage(reply);
});
