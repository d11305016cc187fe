/**
 * The platform's API against a real server on loopback, over a real SQLite file and a real
 * PostgreSQL (test/helpers/postgres.ts), with real workers running real `propamm` processes.
 * Independent truths: a direct `propamm eval` of the same file on the same seeds (the
 * leaderboard must match it number for number), sha256 computed here, the documented API
 * table (docs/platform.md) against the served OpenAPI document.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCliAsync } from "../helpers/cli.js";
import {
  SMALL_COMPETITION,
  fixedFeeSource,
  startTestPlatform,
  waitForJob,
  type TestPlatform,
} from "../helpers/platform.js";
import { findPostgres, startPostgres, type PgServer } from "../helpers/postgres.js";
import { tempDir } from "../helpers/tmp.js";

const TEMPLATE = readFileSync(join(ROOT, "strategies/template.ts"), "utf8");
const FIXED = fixedFeeSource;
const pgFound = findPostgres();
if (!pgFound.bin) console.log(`PostgreSQL API tests skipped: ${pgFound.reason}`);

const sha = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

let pg: PgServer | undefined;
beforeAll(async () => {
  if (pgFound.bin) pg = await startPostgres(pgFound.bin);
}, 120_000);
afterAll(() => pg?.stop());

describe.each([
  { db: "sqlite", skip: false },
  { db: "postgres", skip: !pgFound.bin },
])("API on $db", ({ db, skip }) => {
  const dir = tempDir(`propamm-api-${db}-`);
  let p: TestPlatform;
  beforeAll(async () => {
    if (skip) return;
    p = await startTestPlatform({ dataDir: dir, database: db === "postgres" ? (pg as PgServer).url : undefined });
  }, 60_000);
  afterAll(async () => {
    if (!skip) await p.stop();
  });

  const submit = (source: string, filename = "template.ts", extra: Record<string, unknown> = {}, token = p.user) =>
    p.api("/api/jobs", { token, body: { job_type: "submit", strategy: { filename, source }, ...extra } });

  it.skipIf(skip)("health names the database and counts the queue", async () => {
    const r = await p.api("/health");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok", database: db, queued: 0, running: 0 });
  });

  it.skipIf(skip)("every endpoint of docs/platform.md is in the served OpenAPI document, and no other", async () => {
    const doc = readFileSync(join(ROOT, "docs/platform.md"), "utf8");
    const documented = new Set<string>();
    for (const m of doc.matchAll(/^\| `((?:GET|POST|DELETE) [^`]+)`(?:, `(GET [^`]+)`)?/gm)) {
      for (const x of [m[1], m[2]]) if (x) documented.add(x.replace(/\?.*$/, ""));
    }
    const r = await p.api("/api/openapi.json");
    expect(r.json.openapi).toBe("3.1.0");
    const served = new Set<string>();
    for (const [path, ops] of Object.entries(r.json.paths as Record<string, object>)) {
      for (const m of Object.keys(ops)) served.add(`${m.toUpperCase()} ${path}`);
    }
    served.delete("GET /api/openapi.json");
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it.skipIf(skip)("a submission is validated, evaluated and ranked; the row equals a direct propamm eval", async () => {
    const r = await submit(TEMPLATE);
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/api/jobs/${r.json.id}`);
    expect(r.json).toMatchObject({
      job_type: "submit",
      state: "queued",
      author: "local",
      competition: "small",
      name: "template",
    });
    expect(r.json.strategy_sha256).toBe(sha(TEMPLATE));
    expect(await p.worker().runOnce()).toBe(true);
    const job = await waitForJob(p, r.json.id);
    expect(job.state).toBe("succeeded");
    expect(job.attempts).toBe(1);
    expect(job.artifacts.map((a: { name: string }) => a.name)).toEqual(
      expect.arrayContaining(["receipt.json", "result.json"]),
    );

    const board = await p.api("/api/leaderboard");
    expect(board.json.competition).toEqual(SMALL_COMPETITION);
    expect(board.json.rows).toHaveLength(1);
    const row = board.json.rows[0];
    expect(row).toMatchObject({ rank: 1, author: "local", name: "template", version: 1, jobId: job.id });

    // The same evaluation, run directly, as docs/platform.md says anyone can.
    const file = join(dir, "template.ts");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, TEMPLATE);
    const c = SMALL_COMPETITION;
    const direct = await runCliAsync(
      [
        "eval",
        file,
        "--against",
        ...c.opponents,
        "--simulations",
        String(c.simulations),
        "--seed-start",
        String(c.seedStart),
        "--steps",
        String(c.steps),
        "--epoch-len",
        String(c.epochLen),
        "--json",
        join(dir, "direct.json"),
        "--no-plots",
        "--sandbox",
      ],
      { cwd: dir },
    );
    expect(direct.status).toBe(0);
    const dj = JSON.parse(readFileSync(join(dir, "direct.json"), "utf8"));
    const sims = dj.runs[0].simulations as { seed: number; pools: { edge: number }[] }[];
    const vs = sims.map((s) => s.pools[0].edge - s.pools[s.pools.length - 1].edge);
    const entry = await p.api(`/api/entries/${row.entryId}`);
    expect(entry.json.entry.vsNormalizer).toEqual(vs);
    expect(entry.json.entry.edge).toEqual(sims.map((s) => s.pools[0].edge));
    expect(entry.json.seeds).toEqual(sims.map((s) => s.seed));
    expect(row.vsNormalizer.mean).toBe(dj.rows[0].vsNormalizer.mean);
    expect(row.vsNormalizer.ci95).toBe(dj.rows[0].vsNormalizer.ci95);
    expect(entry.json.weightsPerEpoch).toHaveLength(c.steps / c.epochLen);
    for (const w of entry.json.weightsPerEpoch) expect(w).toBeGreaterThan(0);

    const receipt = await p.api(`/api/jobs/${job.id}/artifacts/receipt.json`);
    expect(receipt.headers.get("content-type")).toMatch(/application\/json/);
    expect(receipt.json.strategy.sha256).toBe(sha(TEMPLATE));
    expect(receipt.json.competition).toEqual(SMALL_COMPETITION);
    expect(receipt.json.seeds).toEqual(sims.map((s) => s.seed));
  });

  it.skipIf(skip)("the log is kept and streams as server-sent events ending with the state", async () => {
    const jobs = await p.api("/api/jobs?job_type=submit&limit=1");
    const id = jobs.json.jobs[0].id;
    const logs = await p.api(`/api/jobs/${id}/logs`);
    expect(logs.json.done).toBe(true);
    const text = logs.json.lines.map((l: { line: string }) => l.line);
    expect(text[0]).toMatch(/^\$ propamm validate template\.ts --sandbox/);
    expect(text).toContain("job succeeded");
    const res = await fetch(`${p.url}/api/jobs/${id}/logs/stream`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const body = await res.text();
    const events = body.split("\n\n").filter(Boolean);
    expect(events.filter((e) => e.includes("event: log"))).toHaveLength(logs.json.lines.length);
    expect(events.at(-1)).toBe(`event: end\ndata: {"state":"succeeded","error":null}`);
    // Resuming after the third line sends the rest only.
    const third = logs.json.lines[2].id;
    const resumed = await (
      await fetch(`${p.url}/api/jobs/${id}/logs/stream`, { headers: { "last-event-id": String(third) } })
    ).text();
    expect(resumed.split("\n\n").filter((e) => e.includes("event: log"))).toHaveLength(logs.json.lines.length - 3);
  });

  it.skipIf(skip)("the same file again is the same row; a new file under the same name is version 2", async () => {
    const again = await submit(TEMPLATE);
    expect(again.json.strategy_sha256).toBe(sha(TEMPLATE));
    const v2 = await submit(TEMPLATE + "\n// v2\n");
    const w = p.worker();
    await w.runOnce();
    await w.runOnce();
    expect((await waitForJob(p, again.json.id)).state).toBe("succeeded");
    expect((await waitForJob(p, v2.json.id)).state).toBe("succeeded");
    const rows = (await p.api("/api/leaderboard")).json.rows;
    expect(rows.map((r: { version: number }) => r.version).sort()).toEqual([1, 2]);
    const history = await p.api("/api/authors/local");
    expect(history.json.entries.map((r: { version: number }) => r.version)).toEqual([1, 2]);
    expect((await p.api("/api/leaderboard?latest=1")).json.rows.map((r: { version: number }) => r.version)).toEqual([
      2,
    ]);
    // Removing a row shows at once (the ranked leaderboard is cached until entries change).
    const v1 = rows.find((r: { version: number }) => r.version === 1);
    expect((await p.api(`/api/entries/${v1.entryId}`, { method: "DELETE", token: p.user })).status).toBe(403);
    expect((await p.api(`/api/entries/${v1.entryId}`, { method: "DELETE", token: p.admin })).json).toEqual({
      deleted: v1.entryId,
    });
    expect((await p.api("/api/leaderboard")).json.rows.map((r: { version: number }) => r.version)).toEqual([2]);
  });

  it.skipIf(skip)("a strategy that fails validation fails its job, with passed: false and no row", async () => {
    const bad = `export default { name: "Bad", computeSwap() { throw new Error("nope"); }, afterSwap() { return { bidFee: 0.003, askFee: 0.003 }; } };\n`;
    const r = await submit(bad, "bad.ts");
    await p.worker().runOnce();
    const job = await waitForJob(p, r.json.id);
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(/did not pass validation/);
    expect(job.result.passed).toBe(false);
    expect(job.entry).toBeNull();
  });

  it.skipIf(skip)(
    "tokens: none, unknown or malformed get 401; a user cannot delete; an admin makes tokens and deletes",
    async () => {
      const body = { job_type: "validate", strategy: { filename: "a.ts", source: FIXED(30) } };
      expect((await p.api("/api/jobs", { body })).status).toBe(401);
      expect((await p.api("/api/jobs", { body, token: "pamm_unknown" })).json).toEqual({
        error: "unknown token",
        code: "UNAUTHENTICATED",
      });
      expect((await p.api("/api/jobs", { body, headers: { authorization: "Basic abc" } })).status).toBe(401);
      const made = await p.api("/api/tokens", { token: p.admin, body: { author: "bob" } });
      expect(made.status).toBe(201);
      expect((await p.api("/api/me", { token: made.json.token })).json).toEqual({ author: "bob", role: "user" });
      expect(
        (await p.api("/api/tokens", { token: made.json.token, body: { author: "eve", role: "admin" } })).status,
      ).toBe(403);
      const job = await p.api("/api/jobs", { body, token: made.json.token });
      expect(job.status).toBe(201);
      // Another author may not cancel it; its author may; then it has ended.
      expect((await p.api(`/api/jobs/${job.json.id}/cancel`, { method: "POST", token: p.user })).status).toBe(403);
      expect((await p.api(`/api/jobs/${job.json.id}/cancel`, { method: "POST" })).status).toBe(401);
      const c = await p.api(`/api/jobs/${job.json.id}/cancel`, { method: "POST", token: made.json.token });
      expect(c.json.state).toBe("cancelled");
      expect((await p.api(`/api/jobs/${job.json.id}/cancel`, { method: "POST", token: made.json.token })).status).toBe(
        409,
      );
      expect((await p.api(`/api/jobs/${job.json.id}`, { method: "DELETE", token: made.json.token })).status).toBe(403);
      expect((await p.api(`/api/jobs/${job.json.id}`, { method: "DELETE" })).status).toBe(401);
      expect((await p.api(`/api/jobs/${job.json.id}`, { method: "DELETE", token: p.admin })).json).toEqual({
        deleted: job.json.id,
      });
      expect((await p.api(`/api/jobs/${job.json.id}`)).status).toBe(404);
    },
  );

  it.skipIf(skip)("strategies are stored by sha256; the source is shown to its uploader only", async () => {
    const src = FIXED(41);
    const first = await p.api("/api/strategies", { token: p.user, body: { filename: "f41.ts", source: src } });
    expect(first.status).toBe(201);
    expect(first.json).toEqual({ sha256: sha(src), filename: "f41.ts", size: Buffer.byteLength(src), created: true });
    const second = await p.api("/api/strategies", { token: p.admin, body: { filename: "other.ts", source: src } });
    expect(second.status).toBe(200);
    expect(second.json.created).toBe(false);
    expect((await p.api(`/api/strategies/${sha(src)}`, { token: p.user })).json.source).toBe(src);
    expect((await p.api(`/api/strategies/${sha(src)}`)).json.source).toBeUndefined();
    // A job may name it by hash, and an upload may be an eval opponent.
    const ev = await p.api("/api/jobs", {
      token: p.user,
      body: {
        job_type: "eval",
        strategy_sha256: sha(src),
        params: { simulations: 2, steps: 200, opponents: ["fixed:30", `sha256:${sha(src)}`] },
      },
    });
    expect(ev.status).toBe(201);
    await p.worker().runOnce();
    const done = await waitForJob(p, ev.json.id);
    expect(done.state).toBe("succeeded");
    expect(done.result.rows[0].name).toBe("Fixed 41");
    expect(done.artifacts.some((a: { name: string }) => a.name.startsWith("plots/") && a.name.endsWith(".svg"))).toBe(
      true,
    );
  });

  it.skipIf(skip)("a run job keeps its first seed's tape, whose edges are the run's", async () => {
    const r = await p.api("/api/jobs", {
      token: p.user,
      body: {
        job_type: "run",
        strategy: { filename: "f.ts", source: FIXED(45) },
        params: { simulations: 2, steps: 500, seed_start: 7, opponents: ["fixed:30"] },
      },
    });
    await p.worker().runOnce();
    const job = await waitForJob(p, r.json.id);
    expect(job.state).toBe("succeeded");
    const result = (await p.api(`/api/jobs/${job.id}/artifacts/result.json`)).json;
    const tape = (await p.api(`/api/jobs/${job.id}/artifacts/trace.json`)).json;
    expect(tape.format).toBe("propamm-trace");
    expect(tape.seed).toBe(7);
    expect(tape.steps.count).toBe(500);
    const sim = result.simulations.find((x: { seed: number }) => x.seed === 7);
    for (let i = 0; i < sim.pools.length; i++) expect(tape.steps.edge[i][499]).toBe(sim.pools[i].edge);
  });

  it.skipIf(skip)(
    "a running job is cancelled through its worker, and a job past its time limit fails; no process is left",
    async () => {
      const marker = `slow_${Date.now()}.ts`;
      const slow = await p.api("/api/jobs", {
        token: p.user,
        body: { job_type: "run", strategy: { filename: marker, source: FIXED(50) }, params: { simulations: 1000 } },
      });
      const w = p.worker(900);
      const running = w.runOnce();
      for (let i = 0; i < 100 && (await p.api(`/api/jobs/${slow.json.id}`)).json.state !== "running"; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1500));
      expect(
        (await p.api(`/api/jobs/${slow.json.id}/cancel`, { method: "POST", token: p.user })).json.cancel_requested,
      ).toBe(true);
      await running;
      const done = await waitForJob(p, slow.json.id);
      expect(done.state).toBe("cancelled");
      expect(done.error).toBe("cancelled while running");

      const timed = await p.api("/api/jobs", {
        token: p.user,
        body: {
          job_type: "run",
          strategy: { filename: marker, source: FIXED(51) },
          params: { simulations: 1000 },
          limits: { time_seconds: 2 },
        },
      });
      await p.worker(900).runOnce();
      const t = await waitForJob(p, timed.json.id);
      expect(t.state).toBe("failed");
      expect(t.error).toBe("time limit of 2 s reached");
      const { spawnSync } = await import("node:child_process");
      const left = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
      expect(left.stdout.trim()).toBe("");
    },
  );

  it.skipIf(skip || db === "postgres")(
    "a train job streams its learning curve as metrics lines and leaves a policy that validates",
    async () => {
      const r = await p.api("/api/jobs", {
        token: p.user,
        body: { job_type: "train", params: { timesteps: 1000, seed: 3, steps: 2000, opponents: ["fixed:40"] } },
      });
      expect(r.status).toBe(201);
      await p.worker().runOnce();
      const job = await waitForJob(p, r.json.id);
      expect(job.state, job.error).toBe("succeeded");
      const metrics = (await p.api(`/api/jobs/${job.id}/logs?stream=metrics`)).json.lines.map(
        (l: { line: string }) => JSON.parse(l.line) as { type: string; iteration: number },
      );
      // One iteration (the budget is less than one), with its held-out evaluation (--eval-every 1).
      expect(metrics.map((m: { type: string }) => m.type)).toEqual(["train", "eval"]);
      const file = await p.api(`/api/jobs/${job.id}/artifacts/metrics.jsonl`);
      expect(
        file.text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      ).toEqual(metrics);
      expect(job.result.lastEval).toEqual(metrics[1]);
      const policy = await p.api(`/api/jobs/${job.id}/artifacts/policy.ts`);
      expect(policy.status).toBe(200);
      const v = await p.api("/api/jobs", {
        token: p.user,
        body: { job_type: "validate", strategy: { filename: "policy.ts", source: policy.text } },
      });
      await p.worker().runOnce();
      expect((await waitForJob(p, v.json.id)).state).toBe("succeeded");
    },
    240_000,
  );
});
