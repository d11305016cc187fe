/**
 * A vector env whose simulations, opponents included, run in a sandbox child process
 * (docs/sandbox.md): what `propamm serve` makes when a client names a strategy file. Each
 * request (reset, step) is one IPC round trip; a request that does not come back within the
 * time limit, or a child past its memory limit, ends the sandbox and every later request of the
 * session fails with a StrategyStoppedError naming what happened. The server itself never runs
 * the file's code.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../env/config.js";
import { PropAmmError } from "../env/errors.js";
import type { StepInfo } from "../gym/env.js";
import type { EnvConfig } from "../gym/options.js";
import type { AutoresetMode, VectorResetArgs, VectorStepResult } from "../gym/vector-env.js";
import { DEFAULT_LIMITS, type Limits, StrategyStoppedError, rebuildError } from "./runner.js";
import {
  type ChildMessage,
  type ChildOptions,
  prepareSpecs,
  residentKb,
  residentLimitKb,
  startChild,
} from "./sandbox.js";

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

export class SandboxedVectorEnv {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private readonly poll: NodeJS.Timeout;
  private ready: Pending | null = null;

  private constructor(
    readonly numEnvs: number,
    private readonly child: ReturnType<typeof startChild>,
    private readonly tempDir: string,
    private readonly limits: Limits,
    childOpts: ChildOptions,
  ) {
    const limitKb = residentLimitKb(childOpts);
    this.poll = setInterval(() => {
      if (residentKb(child.pid) > limitKb) this.stop(`its sandbox exceeded ${limitKb >> 10} MB of resident memory`);
    }, 100);
    this.poll.unref();
    child.on("message", (msg: ChildMessage) => this.receive(msg));
    child.on("exit", (code, signal) =>
      this.stop(`its sandbox ended (${signal ? `killed by ${signal}` : `exit code ${code}`})`),
    );
    child.on("error", (err) => this.stop(`its sandbox could not run: ${err.message}`));
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** Prepares the opponents (spec §2.9: bundled, or checkpoint folders read-only), starts the child, makes the envs. */
  static async create(
    numEnvs: number,
    config: Partial<EnvConfig>,
    opts: { autoresetMode?: AutoresetMode; limits?: Partial<Limits> } = {},
  ): Promise<SandboxedVectorEnv> {
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const tempDir = realpathSync(mkdtempSync(join(tmpdir(), "propamm-sandbox-")));
    const strategyDir = join(tempDir, "strategies");
    let env: SandboxedVectorEnv | null = null;
    try {
      const specs = (config.opponents ?? []).map((o) => {
        if (typeof o !== "string") throw new ConfigError("a sandboxed env names its opponents by spec (text)");
        return o;
      });
      const prepared = await prepareSpecs(specs, strategyDir);
      const childOpts: ChildOptions = { sandboxed: true, tempDir, readPaths: prepared.readPaths, limits, workers: 0 };
      env = new SandboxedVectorEnv(numEnvs, startChild(childOpts), tempDir, limits, childOpts);
      await env.start({
        kind: "env",
        numEnvs,
        config: { ...config, opponents: prepared.specs },
        autoresetMode: opts.autoresetMode ?? "next_step",
        strategyDirUrl: pathToFileURL(strategyDir).href + "/",
      });
      return env;
    } catch (err) {
      if (env) env.close();
      else rmSync(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  private start(request: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.stop(`making the envs took longer than the ${this.limits.simulationMs} ms time limit`),
        this.limits.simulationMs,
      );
      this.ready = { resolve, reject, timer };
      this.child.send(request as never);
    });
  }

  private receive(msg: ChildMessage): void {
    if (msg.kind === "env-ready" && this.ready) {
      clearTimeout(this.ready.timer);
      this.ready.resolve(undefined);
      this.ready = null;
    } else if (msg.kind === "error" && this.ready) {
      clearTimeout(this.ready.timer);
      this.ready.reject(rebuildError(msg.code, msg.message) ?? new StrategyStoppedError(msg.message));
      this.ready = null;
    } else if (msg.kind === "env-reply") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new PropAmmError(msg.code, msg.message));
    }
  }

  /** Ends the sandbox; the request in flight and every later one fail with the reason. */
  private stop(why: string): void {
    if (this.dead) return;
    this.dead = new StrategyStoppedError(`session stopped: ${why}`);
    clearInterval(this.poll);
    this.child.kill("SIGKILL");
    rmSync(this.tempDir, { recursive: true, force: true });
    if (this.ready) {
      clearTimeout(this.ready.timer);
      this.ready.reject(this.dead);
      this.ready = null;
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.dead);
    }
    this.pending.clear();
  }

  private call(method: "reset" | "step", args: unknown): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.stop(
            `a ${method} request did not come back within the ${this.limits.simulationMs} ms time limit (a strategy in the session looped or was too slow)`,
          ),
        this.limits.simulationMs,
      );
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ kind: "env-call", id, method, args });
    });
  }

  /** As VectorEnv.reset: with a mask, the envs left alone have a null info. */
  async reset(args: VectorResetArgs = {}): Promise<{ observations: Float32Array; infos: (StepInfo | null)[] }> {
    return (await this.call("reset", args)) as { observations: Float32Array; infos: (StepInfo | null)[] };
  }

  async step(actions: ArrayLike<number>): Promise<VectorStepResult> {
    return (await this.call("step", Float64Array.from(actions))) as VectorStepResult;
  }

  close(): void {
    this.stop("closed");
  }
}
