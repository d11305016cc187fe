/** `propamm serve`: the gym over ZeroMQ until SIGINT or SIGTERM (docs/protocol.md). */
import type { Command } from "commander";
import { ConfigError } from "../env/config.js";
import { DEFAULT_LIMITS } from "../server/handler.js";
import { GymServer } from "../server/serve.js";
import { integer } from "./options.js";

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
    .action(
      async (o: {
        bind: string;
        maxMessageBytes: number;
        maxSessions: number;
        maxEnvs: number;
        idleTimeout: number;
      }) => {
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
          log: (line) => console.error(`[serve] ${line}`),
        });
        try {
          await server.start();
        } catch (err) {
          throw new ConfigError(`cannot bind ${o.bind}: ${err instanceof Error ? err.message : String(err)}`);
        }
        console.error(`[serve] prop-amm gym listening on ${o.bind} (protocol 1); Ctrl-C to stop`);
        await new Promise<void>((resolveStop) => {
          const stop = (signal: string): void => {
            console.error(`[serve] ${signal}: shutting down`);
            void server.stop().then(resolveStop);
          };
          process.once("SIGINT", () => stop("SIGINT"));
          process.once("SIGTERM", () => stop("SIGTERM"));
        });
      },
    );
}
