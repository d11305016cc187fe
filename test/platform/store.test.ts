/**
 * The queue's guarantees (platform/store.ts), on both databases: atomic claims, leases that
 * expire and pass a job on, finishing guarded by the lease and written in one transaction,
 * cancellation, versions of leaderboard entries. The truth is counting: each job claimed by
 * exactly one worker, ended exactly once, and nothing written by a worker that lost its lease.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../platform/postgres-store.js";
import { openSqliteStore } from "../../platform/sqlite-store.js";
import type { NewEntry, NewJob, Store } from "../../platform/store.js";
import { ROOT } from "../helpers/cli.js";
import { findPostgres, startPostgres, type PgServer } from "../helpers/postgres.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("propamm-store-");
const pgFound = findPostgres();
if (!pgFound.bin) console.log(`PostgreSQL store tests skipped: ${pgFound.reason}`);

let t0 = 1_800_000_000_000;
function job(over: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(),
    type: "validate",
    author: "alice",
    competition: null,
    strategySha256: null,
    name: null,
    params: {},
    limits: { timeSeconds: 60, memoryMb: 256 },
    maxAttempts: 3,
    createdAt: t0++,
    ...over,
  };
}

function entry(jobId: string, over: Partial<NewEntry> = {}): NewEntry {
  return {
    id: randomUUID(),
    competition: "c",
    jobId,
    strategySha256: "a".repeat(64),
    author: "alice",
    name: "s",
    createdAt: t0++,
    vsNormalizer: [1, 2, 3],
    edge: [4, 5, 6],
    ...over,
  };
}

interface Backend {
  name: string;
  skip: boolean;
  open(): Promise<Store>;
}

let pg: PgServer | undefined;
const backends: Backend[] = [
  { name: "sqlite", skip: false, open: async () => openSqliteStore(join(dir, `${randomUUID()}.db`)) },
  {
    name: "postgres",
    skip: !pgFound.bin,
    open: async () => {
      const s = await openPostgresStore((pg as PgServer).url);
      // One cluster for the file: start each test from empty tables.
      for (const t of ["jobs", "job_logs", "artifacts", "entries", "strategies", "tokens", "competitions"]) {
        await (s as unknown as { db: { run(sql: string): Promise<number> } }).db.run(`DELETE FROM ${t}`);
      }
      return s;
    },
  },
];

beforeAll(async () => {
  if (pgFound.bin) pg = await startPostgres(pgFound.bin);
}, 120_000);
afterAll(() => pg?.stop());

describe.each(backends)("store on $name", (b) => {
  let store: Store;
  beforeAll(async () => {
    if (!b.skip) store = await b.open();
  });
  afterAll(async () => {
    if (!b.skip) await store.close();
  });

  it.skipIf(b.skip)("claims the oldest queued job, once, and not again while its lease runs", async () => {
    const a = await store.insertJob(job());
    const c = await store.insertJob(job());
    const now = Date.now();
    const first = await store.claimJob("w1", now, 60_000);
    const second = await store.claimJob("w2", now, 60_000);
    const third = await store.claimJob("w3", now, 60_000);
    expect(first?.id).toBe(a.id);
    expect(first?.state).toBe("running");
    expect(first?.attempts).toBe(1);
    expect(first?.leaseOwner).toBe("w1");
    expect(second?.id).toBe(c.id);
    expect(third).toBeUndefined();
    for (const id of [a.id, c.id])
      expect(await store.finishJob(id, id === a.id ? "w1" : "w2", now, { state: "succeeded" })).toBe(true);
  });

  it.skipIf(b.skip)("many concurrent claimers take each job exactly once", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add((await store.insertJob(job())).id);
    const claimed: string[] = [];
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (;;) {
          const j = await store.claimJob(`w${w}`, now, 60_000);
          if (!j) return;
          claimed.push(j.id);
          expect(await store.finishJob(j.id, `w${w}`, now, { state: "succeeded" })).toBe(true);
        }
      }),
    );
    expect(claimed.length).toBe(30);
    expect(new Set(claimed)).toEqual(ids);
  });

  it.skipIf(b.skip)(
    "an expired lease passes the job on; the first worker can no longer log, renew or finish",
    async () => {
      const j = await store.insertJob(job());
      const now = Date.now();
      expect((await store.claimJob("w1", now, 1000))?.id).toBe(j.id);
      expect(await store.claimJob("w2", now + 999, 1000)).toBeUndefined();
      const again = await store.claimJob("w2", now + 1001, 1000);
      expect(again?.id).toBe(j.id);
      expect(again?.attempts).toBe(2);
      expect(again?.leaseOwner).toBe("w2");
      expect(await store.renewLease(j.id, "w1", now + 1002, 1000)).toEqual({ held: false, cancel: false });
      expect(await store.appendLogs(j.id, "w1", [{ at: now, stream: "stdout", line: "late" }])).toBe(false);
      expect(await store.finishJob(j.id, "w1", now + 1003, { state: "succeeded", result: { by: "w1" } })).toBe(false);
      expect(await store.appendLogs(j.id, "w2", [{ at: now, stream: "stdout", line: "mine" }])).toBe(true);
      expect(await store.finishJob(j.id, "w2", now + 1004, { state: "succeeded", result: { by: "w2" } })).toBe(true);
      expect(await store.finishJob(j.id, "w2", now + 1005, { state: "failed" })).toBe(false);
      const done = await store.getJob(j.id);
      expect(done?.state).toBe("succeeded");
      expect(done?.result).toEqual({ by: "w2" });
      const lines = (await store.getLogs(j.id, 0, 100)).map((l) => l.line);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/lease of worker w1 expired.*attempt 2 of 3/);
      expect(lines[1]).toBe("mine");
    },
  );

  it.skipIf(b.skip)("a renewed lease keeps the job; the last attempt's expiry fails it", async () => {
    const j = await store.insertJob(job({ maxAttempts: 1 }));
    const now = Date.now();
    await store.claimJob("w1", now, 1000);
    expect(await store.renewLease(j.id, "w1", now + 900, 1000)).toEqual({ held: true, cancel: false });
    expect(await store.claimJob("w2", now + 1500, 1000)).toBeUndefined();
    expect(await store.claimJob("w2", now + 2000, 1000)).toBeUndefined();
    const failed = await store.getJob(j.id);
    expect(failed?.state).toBe("failed");
    expect(failed?.error).toMatch(/stopped answering on each of 1 attempts/);
  });

  it.skipIf(b.skip)("cancel: a queued job at once, a running one through its worker's renewal", async () => {
    const q = await store.insertJob(job());
    const now = Date.now();
    expect((await store.requestCancel(q.id, now))?.state).toBe("cancelled");
    expect(await store.claimJob("w1", now, 1000)).toBeUndefined();
    const r = await store.insertJob(job());
    await store.claimJob("w1", now, 1000);
    expect((await store.requestCancel(r.id, now))?.state).toBe("running");
    expect(await store.renewLease(r.id, "w1", now + 10, 1000)).toEqual({ held: true, cancel: true });
    expect(await store.finishJob(r.id, "w1", now + 20, { state: "cancelled", error: "cancelled while running" })).toBe(
      true,
    );
    expect((await store.getJob(r.id))?.state).toBe("cancelled");
  });

  it.skipIf(b.skip)(
    "finishing is one transaction: a failing artifact write leaves the job running and no entry",
    async () => {
      const j = await store.insertJob(job({ type: "submit", competition: "c" }));
      const now = Date.now();
      await store.claimJob("w1", now, 60_000);
      const a = { name: "x.json", contentType: "application/json", data: Buffer.from("{}") };
      await expect(
        store.finishJob(j.id, "w1", now, { state: "succeeded", artifacts: [a, a], entry: entry(j.id) }),
      ).rejects.toThrow();
      expect((await store.getJob(j.id))?.state).toBe("running");
      expect(await store.listArtifacts(j.id)).toEqual([]);
      expect(await store.getEntryByJob(j.id)).toBeUndefined();
      expect(await store.finishJob(j.id, "w1", now, { state: "succeeded", artifacts: [a], entry: entry(j.id) })).toBe(
        true,
      );
      expect(await store.listArtifacts(j.id)).toEqual([{ name: "x.json", contentType: "application/json", size: 2 }]);
      expect((await store.getArtifact(j.id, "x.json"))?.data.toString()).toBe("{}");
      expect((await store.getEntryByJob(j.id))?.vsNormalizer).toEqual([1, 2, 3]);
    },
  );

  it.skipIf(b.skip)("entries: versions count per author and name; the same file again adds no row", async () => {
    const finish = async (e: Partial<NewEntry>): Promise<void> => {
      const j = await store.insertJob(job({ type: "submit", competition: "v" }));
      await store.claimJob("w", Date.now(), 60_000);
      expect(
        await store.finishJob(j.id, "w", Date.now(), {
          state: "succeeded",
          entry: entry(j.id, { competition: "v", ...e }),
        }),
      ).toBe(true);
    };
    await finish({ strategySha256: "1".repeat(64) });
    await finish({ strategySha256: "2".repeat(64) });
    await finish({ strategySha256: "2".repeat(64) });
    await finish({ strategySha256: "3".repeat(64), author: "bob" });
    await finish({ strategySha256: "4".repeat(64), name: "other" });
    const rows = await store.listEntries("v");
    expect(rows.map((r) => [r.author, r.name, r.version, r.strategySha256[0]])).toEqual([
      ["alice", "s", 1, "1"],
      ["alice", "s", 2, "2"],
      ["bob", "s", 1, "3"],
      ["alice", "other", 1, "4"],
    ]);
  });

  it.skipIf(b.skip)("strategies and tokens are stored once by their hash", async () => {
    const s = { sha256: "f".repeat(64), filename: "a.ts", source: "x", size: 1, author: "alice", createdAt: 1 };
    expect(await store.putStrategy(s)).toEqual(s);
    expect(await store.putStrategy({ ...s, filename: "b.ts", author: "bob" })).toEqual(s);
    await store.addToken({ id: randomUUID(), hash: "h1", author: "alice", role: "user", createdAt: 1 });
    await expect(
      store.addToken({ id: randomUUID(), hash: "h1", author: "eve", role: "admin", createdAt: 1 }),
    ).rejects.toThrow();
    expect((await store.findToken("h1"))?.author).toBe("alice");
    expect(await store.countTokens("admin")).toBe(0);
  });

  it.skipIf(b.skip)("deleting a job removes its logs, artifacts and entry; a running job is not deleted", async () => {
    const j = await store.insertJob(job({ type: "submit", competition: "d" }));
    await store.claimJob("w", Date.now(), 60_000);
    await store.appendLogs(j.id, "w", [{ at: 1, stream: "stdout", line: "x" }]);
    expect(await store.deleteJob(j.id)).toBe(false);
    await store.finishJob(j.id, "w", Date.now(), {
      state: "succeeded",
      artifacts: [{ name: "a", contentType: "text/plain", data: Buffer.from("a") }],
      entry: entry(j.id, { competition: "d" }),
    });
    expect(await store.deleteJob(j.id)).toBe(true);
    expect(await store.getJob(j.id)).toBeUndefined();
    expect(await store.getLogs(j.id, 0, 10)).toEqual([]);
    expect(await store.listArtifacts(j.id)).toEqual([]);
    expect(await store.listEntries("d")).toEqual([]);
  });
});

describe("SQLite across processes", () => {
  it("worker processes claiming from one file take each job exactly once", async () => {
    const file = join(dir, "shared.db");
    const store = openSqliteStore(file);
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add((await store.insertJob(job())).id);
    await store.close();
    // Each process claims until the queue is empty and prints what it took.
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(join(ROOT, "dist/platform/sqlite-store.js"))});
      const s = openSqliteStore(${JSON.stringify(file)});
      const got = [];
      for (;;) {
        const j = await s.claimJob("p" + process.pid, Date.now(), 60000);
        if (!j) break;
        got.push(j.id);
        if (!(await s.finishJob(j.id, "p" + process.pid, Date.now(), { state: "succeeded" }))) throw new Error("lost " + j.id);
      }
      await s.close();
      console.log(JSON.stringify(got));`;
    const runs = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<string[]>((resolve, reject) => {
            const p = spawn(process.execPath, ["--input-type=module", "-e", script], {
              stdio: ["ignore", "pipe", "inherit"],
            });
            let out = "";
            p.stdout.on("data", (d: Buffer) => (out += d.toString()));
            p.on("close", (code) =>
              code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`)),
            );
          }),
      ),
    );
    const all = runs.flat();
    expect(all.length).toBe(60);
    expect(new Set(all)).toEqual(ids);
  });
});
