/**
 * Starting the platform: the database (SQLite file by default, or PostgreSQL), the
 * competitions, the first tokens, the API with the dashboard, and worker processes, by role:
 * `all` (one machine: API + workers), `api` or `worker` (several machines on one PostgreSQL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { buildApi, type ApiOptions } from "./api.js";
import { issueToken } from "./auth.js";
import { DEFAULT_COMPETITION, parseCompetition, type Competition } from "./competition.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";
import { DEFAULT_CLI, Worker } from "./worker.js";

export type PlatformRole = "all" | "api" | "worker";

export interface PlatformOptions {
  role: PlatformRole;
  host: string;
  port: number;
  /** `postgres://...`, or a SQLite file path (default: <dataDir>/propamm.db). */
  database?: string;
  /** Where the SQLite file, job folders and the Rust build cache go. */
  dataDir: string;
  /** Worker processes (role all) or worker loops (role worker). */
  workers: number;
  /** Competition definition files (JSON); the first is the default. None: the built-in default competition. */
  competitionFiles: string[];
  leaseMs: number;
  api: Partial<Omit<ApiOptions, "store" | "competitions" | "defaultCompetition" | "webDir">>;
  /** The dashboard's built files (default: this package's dist/web). */
  webDir?: string;
  say: (msg: string) => void;
}

/** The built dashboard: dist/web, whether this file runs built (dist/platform) or from source. */
export const DEFAULT_WEB_DIR =
  [new URL("../web/", import.meta.url), new URL("../dist/web/", import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((p) => existsSync(join(p, "index.html"))) ?? fileURLToPath(new URL("../web/", import.meta.url));

export async function openStore(database: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(database)) {
    // Loaded only when asked for: a SQLite platform never loads the PostgreSQL driver.
    const { openPostgresStore } = await import("./postgres-store.js");
    return openPostgresStore(database);
  }
  return openSqliteStore(database);
}

export function databaseOf(o: Pick<PlatformOptions, "database" | "dataDir">): string {
  return o.database ?? join(o.dataDir, "propamm.db");
}

/** Reads competition files, checks them, and publishes each in the store (refusing a changed definition). */
export async function loadCompetitions(store: Store, files: readonly string[]): Promise<Map<string, Competition>> {
  const list = files.length
    ? files.map((f) => {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(f, "utf8"));
        } catch (err) {
          throw new Error(`--competition ${f}: ${(err as Error).message}`);
        }
        try {
          return parseCompetition(json);
        } catch (err) {
          throw new Error(`--competition ${f}: ${(err as Error).message}`);
        }
      })
    : [DEFAULT_COMPETITION];
  const out = new Map<string, Competition>();
  for (const c of list) {
    if (out.has(c.id)) throw new Error(`competition '${c.id}' is defined twice`);
    const stored = await store.putCompetition({ id: c.id, definition: { ...c }, createdAt: Date.now() });
    if (JSON.stringify(stored.definition) !== JSON.stringify(c)) {
      throw new Error(
        `competition '${c.id}' is already published with another definition (${JSON.stringify(stored.definition)}); ` +
          "entries are only comparable on one definition: give the changed competition a new id",
      );
    }
    out.set(c.id, c);
  }
  return out;
}

export interface RunningPlatform {
  store: Store;
  app?: FastifyInstance;
  url?: string;
  stop(): Promise<void>;
}

/** Starts what the role asks for; resolves once the API listens (or the workers run). */
export async function startPlatform(o: PlatformOptions): Promise<RunningPlatform> {
  mkdirSync(o.dataDir, { recursive: true });
  const database = databaseOf(o);
  const store = await openStore(database);
  const competitions = await loadCompetitions(store, o.competitionFiles);
  const defaultCompetition = [...competitions.keys()][0];
  const stops: (() => Promise<void>)[] = [];

  if (o.role !== "worker" && (await store.countTokens("admin")) === 0) {
    const admin = await issueToken(store, "admin", "admin");
    const local = await issueToken(store, "local", "user");
    const file = join(o.dataDir, "tokens.txt");
    writeFileSync(
      file,
      `# Made at the platform's first start; only their hashes are in the database.\nadmin ${admin.token}\nlocal ${local.token}\n`,
      { mode: 0o600 },
    );
    o.say(`first start: an admin token and a token for author 'local' are in ${file} (shown once, kept only there)`);
  }

  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (o.role !== "worker") {
    const webDir = o.webDir ?? DEFAULT_WEB_DIR;
    if (!existsSync(join(webDir, "index.html")))
      o.say(`no dashboard at ${webDir} (run npm run build); the API runs without it`);
    app = await buildApi({ ...o.api, store, competitions, defaultCompetition, webDir });
    url = await app.listen({ host: o.host, port: o.port });
    stops.push(() => (app as FastifyInstance).close());
    o.say(`API and dashboard on ${url} (database: ${store.kind === "sqlite" ? database : "postgres"})`);
  }

  if (o.role === "worker") {
    const workers = Array.from(
      { length: o.workers },
      () =>
        new Worker({
          store,
          workDir: join(o.dataDir, "work"),
          cacheDir: join(o.dataDir, "cache"),
          competitions,
          leaseMs: o.leaseMs,
          say: o.say,
        }),
    );
    for (const w of workers) w.start();
    stops.push(async () => {
      await Promise.all(workers.map((w) => w.stop()));
    });
    o.say(`${workers.length} worker loop(s) on ${store.kind}`);
  } else if (o.role === "all" && o.workers > 0) {
    stops.push(superviseWorkers(o, database));
  }

  return {
    store,
    app,
    url,
    stop: async () => {
      for (const s of stops.reverse()) await s();
      await store.close();
    },
  };
}

/**
 * Worker processes for role `all`: each a `propamm platform --role worker` on the same
 * database; one that dies is started again after a second (its job goes back to the queue
 * when its lease runs out). Returns the function that stops them.
 */
function superviseWorkers(o: PlatformOptions, database: string): () => Promise<void> {
  let stopping = false;
  const children = new Set<ChildProcess>();
  const args = (): string[] => {
    const a = [DEFAULT_CLI, "platform", "--role", "worker", "--workers", "1", "--database", database];
    a.push("--data-dir", o.dataDir, "--lease", String(o.leaseMs / 1000));
    for (const f of o.competitionFiles) a.push("--competition", f);
    return a;
  };
  const startOne = (i: number): void => {
    // PROPAMM_EXIT_WITH_PARENT: a worker process ends when this process dies, even by kill -9 (cli/main.ts).
    const child = spawn(process.execPath, args(), {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, PROPAMM_EXIT_WITH_PARENT: "1" },
    });
    children.add(child);
    child.on("exit", (code, signal) => {
      children.delete(child);
      if (stopping) return;
      o.say(`worker process ${i} ended (${signal ?? code}); starting it again`);
      setTimeout(() => {
        if (!stopping) startOne(i);
      }, 1000).unref();
    });
  };
  for (let i = 0; i < o.workers; i++) startOne(i);
  o.say(`${o.workers} worker process(es)`);
  return async () => {
    stopping = true;
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
          }),
      ),
    );
  };
}
