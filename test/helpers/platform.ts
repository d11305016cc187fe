/**
 * A real platform for tests: the API on a loopback port (platform/platform.ts, role `api`) over
 * a real database, with tokens read from the tokens.txt it writes, and workers either in this
 * process (Worker objects, run one job at a time by the test) or as `propamm platform --role
 * worker` processes. Requests go through fetch, as any client's would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../../platform/platform.js";
import { Worker } from "../../platform/worker.js";
import type { Competition } from "../../platform/competition.js";
import { CLI } from "./cli.js";

export const SMALL_COMPETITION: Competition = {
  id: "small",
  title: "a small competition for tests",
  seedStart: 500_000,
  simulations: 6,
  opponents: ["starter"],
  steps: 1000,
  epochLen: 500,
};

export interface TestPlatform {
  url: string;
  admin: string;
  user: string;
  dataDir: string;
  database: string;
  running: RunningPlatform;
  /** An in-process worker on the same database. */
  worker(leaseMs?: number): Worker;
  /** A `propamm platform --role worker` process on the same database. */
  workerProcess(leaseS: number): ChildProcess;
  api(
    path: string,
    init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> },
    // Response bodies are JSON whose fields the tests assert one by one.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestPlatform(o: {
  dataDir: string;
  database?: string;
  api?: Parameters<typeof startPlatform>[0]["api"];
  port?: number;
}): Promise<TestPlatform> {
  const compFile = join(o.dataDir, "competition.json");
  writeFileSync(compFile, JSON.stringify(SMALL_COMPETITION));
  const database = o.database ?? join(o.dataDir, "propamm.db");
  const start = (): Promise<RunningPlatform> =>
    startPlatform({
      role: "api",
      host: "127.0.0.1",
      port: o.port ?? 0,
      database,
      dataDir: o.dataDir,
      workers: 0,
      competitionFiles: [compFile],
      leaseMs: 2000,
      api: { jobsPerMinute: 0, rateLimitPerMinute: 0, ...o.api },
      say: () => undefined,
    });
  const running = await start();
  const tokens = Object.fromEntries(
    readFileSync(join(o.dataDir, "tokens.txt"), "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(" ") as [string, string]),
  );
  const workers: Worker[] = [];
  const procs: ChildProcess[] = [];
  const competitions = new Map([[SMALL_COMPETITION.id, SMALL_COMPETITION]]);
  const url = running.url as string;
  return {
    url,
    admin: tokens.admin,
    user: tokens.local,
    dataDir: o.dataDir,
    database,
    running,
    worker: (leaseMs = 5000) => {
      const w = new Worker({
        store: running.store,
        workDir: join(o.dataDir, "work"),
        competitions,
        leaseMs,
        pollMs: 50,
      });
      workers.push(w);
      return w;
    },
    workerProcess: (leaseS) => {
      const p = spawn(
        process.execPath,
        [
          CLI,
          "platform",
          "--role",
          "worker",
          "--database",
          database,
          "--data-dir",
          o.dataDir,
          "--competition",
          compFile,
          "--lease",
          String(leaseS),
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      procs.push(p);
      return p;
    },
    api: async (path, init = {}) => {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers["content-type"] ??= "application/json";
      const res = await fetch(url + path, {
        method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
        headers,
        body:
          init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text, headers: res.headers };
    },
    stop: async () => {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.stop()));
      await running.stop();
    },
  };
}

/** Polls a job until it ends (or the time runs out). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a job as JSON, asserted field by field
export async function waitForJob(p: TestPlatform, id: string, timeoutMs = 120_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await p.api(`/api/jobs/${id}`);
    if (["succeeded", "failed", "cancelled"].includes(r.json?.state)) return r.json;
    if (Date.now() > end) throw new Error(`job ${id} still ${r.json?.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A valid strategy file: constant product with a fixed fee of `bps` on both sides. */
export function fixedFeeSource(bps: number): string {
  return (
    `export default {\n  name: "Fixed ${bps}",\n` +
    `  computeSwap(side: number, input: number, x: number, y: number): number {\n` +
    `    const g = (1 - ${bps} / 10000) * input;\n` +
    `    return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);\n  },\n};\n`
  );
}
