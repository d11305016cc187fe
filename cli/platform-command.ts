/**
 * `propamm platform`: the competition platform (docs/platform.md) — the job API, the dashboard
 * and worker processes on one port, with an embedded SQLite database by default.
 */
import type { Command } from "commander";
import { ConfigError } from "../env/config.js";
import type { PlatformRole } from "../platform/platform.js";
import { integer } from "./options.js";

interface PlatformFlags {
  role: string;
  host: string;
  port: number;
  database?: string;
  dataDir: string;
  workers: number;
  competition: string[];
  lease: number;
  cors: string[];
  rateLimit: number;
  jobsPerMinute: number;
  maxSourceKb: number;
  maxSimulations: number;
  jobTimeLimit: number;
  jobMemoryLimit: number;
  newToken?: string;
  admin?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function addPlatformCommand(program: Command): void {
  program
    .command("platform")
    .description(
      "the competition platform: job API, leaderboard, dashboard and workers on one port (SQLite by default; docs/platform.md)",
    )
    .option("--role <role>", "all (API + workers), api, or worker", "all")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", integer(0, 65535), 8080)
    .option(
      "--database <url>",
      "postgres://user@host/db, or a SQLite file (default: $DATABASE_URL, else <data-dir>/propamm.db)",
    )
    .option("--data-dir <dir>", "SQLite file, job folders, build cache and first tokens", "platform-data")
    .option("--workers <n>", "worker processes (role all) or job loops (role worker)", integer(0, 64), 1)
    .option(
      "--competition <file>",
      "a competition definition (JSON; repeatable; the first is the default)",
      collect,
      [],
    )
    .option("--lease <s>", "seconds a worker holds a job without renewing it", integer(1, 3600), 30)
    .option("--cors <origin>", "an origin allowed to call the API from a browser (repeatable; * for any)", collect, [])
    .option("--rate-limit <n>", "requests a minute per client address (0: unlimited)", integer(0), 600)
    .option("--jobs-per-minute <n>", "jobs a minute per author (0: unlimited)", integer(0), 30)
    .option("--max-source-kb <n>", "largest strategy source accepted (KiB)", integer(1, 16384), 256)
    .option("--max-simulations <n>", "most simulations a run or eval job may ask for", integer(1), 1000)
    .option("--job-time-limit <s>", "default time limit of a job (jobs may ask for less, or up to 4x)", integer(1), 900)
    .option("--job-memory-limit <MB>", "default memory limit of a job (jobs may ask for up to 4x)", integer(128), 1024)
    .option("--new-token <author>", "make an API token for <author>, print it and exit")
    .option("--admin", "with --new-token: an admin token")
    .action(async (f: PlatformFlags) => {
      // Loaded here, not at the top: the platform's dependencies (Fastify, database drivers) would
      // otherwise add half a second to every propamm command, platform jobs included.
      const { databaseOf, openStore, startPlatform } = await import("../platform/platform.js");
      const { issueToken } = await import("../platform/auth.js");
      if (!["all", "api", "worker"].includes(f.role))
        throw new ConfigError(`--role: expected all, api or worker (got '${f.role}')`);
      // Hosts such as Render and compose files hand the database over in DATABASE_URL.
      f.database ??= process.env.DATABASE_URL || undefined;
      const database = databaseOf({ database: f.database, dataDir: f.dataDir });
      if (f.newToken !== undefined) {
        const store = await openStore(database);
        try {
          const { token } = await issueToken(store, f.newToken, f.admin ? "admin" : "user").catch((err: Error) => {
            throw new ConfigError(`--new-token: ${err.message}`);
          });
          console.log(token);
        } finally {
          await store.close();
        }
        return;
      }
      const running = await startPlatform({
        role: f.role as PlatformRole,
        host: f.host,
        port: f.port,
        database: f.database,
        dataDir: f.dataDir,
        workers: f.workers,
        competitionFiles: f.competition,
        leaseMs: f.lease * 1000,
        api: {
          corsOrigins: f.cors,
          rateLimitPerMinute: f.rateLimit,
          jobsPerMinute: f.jobsPerMinute,
          maxSourceBytes: f.maxSourceKb * 1024,
          maxSimulations: f.maxSimulations,
          defaultTimeSeconds: f.jobTimeLimit,
          maxTimeSeconds: f.jobTimeLimit * 4,
          defaultMemoryMb: f.jobMemoryLimit,
          maxMemoryMb: f.jobMemoryLimit * 4,
        },
        say: (m) => console.log(m),
      }).catch((err: Error) => {
        throw new ConfigError(err.message);
      });
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.off("SIGINT", done);
          process.off("SIGTERM", done);
          resolve();
        };
        process.on("SIGINT", done);
        process.on("SIGTERM", done);
      });
      await running.stop();
    });
}
