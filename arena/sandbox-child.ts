/**
 * The child process of arena/sandbox.ts: takes one request over IPC (a batch or a validation),
 * answers with the results, and exits. In a batch, strategy code runs only in the watched
 * threads (arena/runner.ts); in a validation it runs in this thread, after the same lockdown
 * the threads apply (no imports from strategy modules, no `process` or `fetch` global), with a
 * reference to `process` kept where strategy code cannot reach it.
 */
import { register } from "node:module";
import { type Limits, runWatched } from "./runner.js";
import type { ChildMessage, ChildRequest } from "./sandbox.js";
import { validateStrategy } from "./validate.js";
import { hardenIntrinsics } from "./harden.js";
import { PropAmmError, errorCodeOf } from "../env/errors.js";
import { VectorEnv } from "../gym/vector-env.js";
import { loadStrategy } from "./loader.js";
import type { SimulationTrace } from "../env/trace.js";

const proc = process;
const hookUrl = new URL("./sandbox-hook.js", import.meta.url).href;

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolveSent) => {
    proc.send!(msg, () => resolveSent());
  });
}

function lockdownThisThread(strategyDirUrl: string): void {
  register(hookUrl, { data: { strategyDirUrl } });
  for (const name of ["process", "fetch", "BroadcastChannel", "WebSocket", "EventSource", "navigator"]) {
    delete (globalThis as Record<string, unknown>)[name];
  }
  hardenIntrinsics();
}

/** A served session's envs: made once, then reset and stepped on request until the parent ends the child. */
async function serveEnv(req: Extract<ChildRequest, { kind: "env" }>): Promise<void> {
  lockdownThisThread(req.strategyDirUrl);
  let env: VectorEnv;
  try {
    env = await VectorEnv.create(req.numEnvs, req.config, { autoresetMode: req.autoresetMode }, loadStrategy);
  } catch (err) {
    await send({
      kind: "error",
      message: err instanceof Error ? err.message : String(err),
      code: err instanceof PropAmmError ? err.code : undefined,
    });
    return;
  }
  proc.on("message", (call: ChildRequest) => {
    if (call.kind !== "env-call") return;
    let reply: ChildMessage;
    try {
      const value =
        call.method === "reset"
          ? env.reset(call.args as Parameters<VectorEnv["reset"]>[0])
          : env.step(call.args as Float64Array);
      reply = { kind: "env-reply", id: call.id, ok: true, value };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      reply = { kind: "env-reply", id: call.id, ok: false, message, code: errorCodeOf(err) };
    }
    void send(reply);
  });
  await send({ kind: "env-ready" });
}

async function answer(req: ChildRequest): Promise<ChildMessage> {
  if (req.kind === "env" || req.kind === "env-call") throw new Error(`unexpected request '${req.kind}'`);
  if (req.kind === "validate") {
    if (req.sandboxed) lockdownThisThread(req.strategyDirUrl);
    return { kind: "validate", report: await validateStrategy(req.spec) };
  }
  const limits: Limits = req.limits;
  let trace: SimulationTrace | undefined;
  const results = await runWatched(req.strategies, req.config, req.seeds, req.workers, limits, {
    lockdown: req.sandboxed ? { hookUrl, strategyDirUrl: req.strategyDirUrl } : undefined,
    onProgress: (done, total) => void send({ kind: "progress", done, total }),
    ...(req.traceSeed !== undefined
      ? { trace: { seed: req.traceSeed, done: (t: SimulationTrace) => (trace = t) } }
      : {}),
  });
  return trace ? { kind: "batch", results, trace } : { kind: "batch", results };
}

proc.once("message", (req: ChildRequest) => {
  if (req.kind === "env") {
    void serveEnv(req);
    return;
  }
  void answer(req)
    .catch((err: unknown): ChildMessage => ({
      kind: "error",
      message: err instanceof Error ? err.message : String(err),
      code: err instanceof PropAmmError ? err.code : undefined,
    }))
    .then(send)
    .then(() => proc.exit(0));
});
