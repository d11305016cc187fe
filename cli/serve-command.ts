/** `propamm serve`: the gym over ZeroMQ until SIGINT, SIGTERM or SIGHUP (docs/protocol.md). */
import type { Command } from "commander";
import { ConfigError } from "../env/config.js";
import { DEFAULT_LIMITS } from "../server/handler.js";
import { GymServer } from "../server/serve.js";
import { integer } from "./options.js";
import { existsSync, statSync } from "node:fs";
import { DEFAULT_LIMITS as RUN_LIMITS } from "../arena/runner.js";
import { sandboxModeLine } from "../arena/sandbox.js";

export function addServeCommand(program: Command): void {
  program
    .command("serve")
    .description("serve the gym environment over ZeroMQ (protocol: docs/protocol.md)")
    .option("--bind <endpoint>", "ZeroMQ endpoint, tcp://host:port or ipc://path", "tcp://127.0.0.1:5555")
    .option("--max-message-bytes <n>", "largest request answered", integer(1024), DEFAULT_LIMITS.maxMessageBytes)
    .option("--max-sessions <n>", "open sessions at once", integer(1, 100000), DEFAULT_LIMITS.maxSessions)
    .option("--max-envs <n>", "environments per session", integer(1, 65536), DEFAULT_LIMITS.maxEnvsPerSession)
    .option(
      "--idle-timeout <s>",
      "seconds after which an unused session is freed",
      integer(1),
      DEFAULT_LIMITS.idleTimeoutS,
    )
    .option(
      "--evict-idle <s>",
      "when every session slot is taken, a new session evicts the longest-idle one idle at least this long",
      integer(1),
      DEFAULT_LIMITS.evictIdleS,
    )
    .option(
      "--strategy-dir <dir>",
      "the only folder whose strategy files and checkpoints clients may name; they run sandboxed (default: built-ins only)",
    )
    .option(
      "--request-time-limit <s>",
      "longest a sandboxed session's request (make, reset, step) may run",
      integer(1),
      RUN_LIMITS.simulationMs / 1000,
    )
    .option("--memory-limit <MB>", "JS heap of a sandboxed session", integer(64), RUN_LIMITS.memoryMb)
    .action(
      async (o: {
        bind: string;
        maxMessageBytes: number;
        maxSessions: number;
        maxEnvs: number;
        idleTimeout: number;
        evictIdle: number;
        strategyDir?: string;
        requestTimeLimit: number;
        memoryLimit: number;
      }) => {
        if (o.strategyDir !== undefined && !(existsSync(o.strategyDir) && statSync(o.strategyDir).isDirectory())) {
          throw new ConfigError(`--strategy-dir: ${o.strategyDir} is not a folder`);
        }
        const sandboxLimits = { simulationMs: o.requestTimeLimit * 1000, memoryMb: o.memoryLimit };
        const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(o.bind);
        if (tcp && (Number(tcp[2]) < 1 || Number(tcp[2]) > 65535)) {
          throw new ConfigError(`cannot bind ${o.bind}: the port must be in [1, 65535]`);
        }
        const server = new GymServer({
          bind: o.bind,
          maxMessageBytes: o.maxMessageBytes,
          maxSessions: o.maxSessions,
          maxEnvsPerSession: o.maxEnvs,
          idleTimeoutS: o.idleTimeout,
          evictIdleS: o.evictIdle,
          strategyDir: o.strategyDir,
          sandboxLimits,
          log: (line) => console.error(`[serve] ${line}`),
        });
        try {
          await server.start();
        } catch (err) {
          throw new ConfigError(`cannot bind ${o.bind}: ${err instanceof Error ? err.message : String(err)}`);
        }
        console.error(
          o.strategyDir === undefined
            ? "[serve] strategies: built-ins only (no --strategy-dir)"
            : `[serve] files in ${o.strategyDir}: ${sandboxModeLine(sandboxLimits, true)}`,
        );
        console.error(`[serve] prop-amm gym listening on ${o.bind} (protocol 1); Ctrl-C to stop`);
        // SIGINT, SIGTERM and SIGHUP (its terminal or parent went away) close the socket and the
        // sessions and exit with 0; a second signal while shutting down exits at once.
        await new Promise<void>((resolveStop) => {
          let stopping = false;
          const stop = (signal: NodeJS.Signals): void => {
            if (stopping) {
              console.error(`[serve] ${signal} again: exiting now`);
              process.exit(1);
            }
            stopping = true;
            console.error(`[serve] ${signal}: shutting down`);
            void server.stop().then(resolveStop);
          };
          for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);
        });
      },
    );
}
