/**
 * Faults, as an operator meets them: a worker process killed with SIGKILL in the middle of a
 * job, the API restarted in the middle of a job, and a queue filled with 200 jobs by 10 clients
 * at once. The truth is bookkeeping: every job ends exactly once (one terminal line in its log,
 * one terminal state), none is lost, and the killed worker leaves no process behind.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fixedFeeSource, startTestPlatform, waitForJob, type TestPlatform } from "../helpers/platform.js";
import { tempDir } from "../helpers/tmp.js";

const STRATEGY = fixedFeeSource;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a process runs: a zombie (killed, not yet reaped by whoever adopted it) does not. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function terminalLines(p: TestPlatform, id: string): Promise<string[]> {
  const logs = await p.api(`/api/jobs/${id}/logs?limit=5000`);
  return (logs.json.lines as { stream: string; line: string }[])
    .filter((l) => l.stream === "system" && /^job (succeeded|failed|cancelled)/.test(l.line))
    .map((l) => l.line);
}

async function waitRunning(p: TestPlatform, id: string): Promise<{ worker: string }> {
  for (let i = 0; i < 300; i++) {
    const j = await p.api(`/api/jobs/${id}`);
    if (j.json.state === "running") return j.json;
    await sleep(100);
  }
  throw new Error(`job ${id} never started`);
}

describe("faults", () => {
  it("a worker killed with SIGKILL mid-job: its job process dies, another worker reruns the job, it ends once", async () => {
    const p = await startTestPlatform({ dataDir: tempDir("propamm-kill-") });
    try {
      const w1 = p.workerProcess(2);
      const r = await p.api("/api/jobs", {
        token: p.user,
        body: {
          job_type: "run",
          strategy: { filename: "k.ts", source: STRATEGY(30) },
          params: { simulations: 24, steps: 2000 },
        },
      });
      const running = await waitRunning(p, r.json.id);
      expect(running.worker).toContain(`:${w1.pid}:`);
      await sleep(800);
      const jobPids = spawnSync("pgrep", ["-P", String(w1.pid)], { encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .filter(Boolean)
        .map(Number);
      expect(jobPids.length).toBeGreaterThan(0);
      w1.kill("SIGKILL");
      // The job's process notices its parent is gone within half a second and kills its group.
      await sleep(1500);
      for (const pid of jobPids) expect(alive(pid)).toBe(false);
      p.workerProcess(2);
      const done = await waitForJob(p, r.json.id, 180_000);
      expect(done.state).toBe("succeeded");
      expect(done.attempts).toBe(2);
      const lines = (await p.api(`/api/jobs/${r.json.id}/logs?limit=5000`)).json.lines.map(
        (l: { line: string }) => l.line,
      );
      expect(
        lines.filter((l: string) => /lease of worker .* expired; the job starts again \(attempt 2 of 3\)/.test(l)),
      ).toHaveLength(1);
      expect(await terminalLines(p, r.json.id)).toEqual(["job succeeded"]);
      expect(done.result.summary.simulations).toBe(24);
    } finally {
      await p.stop();
    }
  }, 240_000);

  it("propamm platform killed with SIGKILL: its worker processes end too", async () => {
    const dir = tempDir("propamm-parent-");
    const { spawn } = await import("node:child_process");
    const { CLI } = await import("../helpers/cli.js");
    const parent = spawn(process.execPath, [CLI, "platform", "--port", "0", "--workers", "2", "--data-dir", dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    parent.stdout.on("data", (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 200 && (out.match(/worker loop/g) ?? []).length < 2; i++) await sleep(100);
    const workers = spawnSync("pgrep", ["-P", String(parent.pid)], { encoding: "utf8" })
      .stdout.trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
    expect(workers).toHaveLength(2);
    parent.kill("SIGKILL");
    await sleep(1500);
    for (const pid of workers) expect(alive(pid)).toBe(false);
  }, 60_000);

  it("the API restarted mid-job: the job finishes, and the new API serves it and its whole log", async () => {
    const dir = tempDir("propamm-restart-");
    let p = await startTestPlatform({ dataDir: dir });
    const port = Number(new URL(p.url).port);
    const w = p.workerProcess(2);
    const r = await p.api("/api/jobs", {
      token: p.user,
      body: {
        job_type: "run",
        strategy: { filename: "r.ts", source: STRATEGY(35) },
        params: { simulations: 16, steps: 2000 },
      },
    });
    await waitRunning(p, r.json.id);
    await p.running.stop();
    await expect(fetch(`${p.url}/health`)).rejects.toThrow();
    await sleep(1000);
    p = await startTestPlatform({ dataDir: dir, port });
    try {
      const done = await waitForJob(p, r.json.id, 180_000);
      expect(done.state).toBe("succeeded");
      expect(done.attempts).toBe(1);
      expect(await terminalLines(p, r.json.id)).toEqual(["job succeeded"]);
      // The stream of a finished job replays the whole log and ends.
      const body = await (await fetch(`${p.url}/api/jobs/${r.json.id}/logs/stream`)).text();
      expect(body.trim().endsWith(`event: end\ndata: {"state":"succeeded","error":null}`)).toBe(true);
    } finally {
      w.kill("SIGKILL");
      await p.stop();
    }
  }, 240_000);

  it("200 jobs from 10 clients at once, some cancelled: every job ends exactly once, none is lost", async () => {
    const p = await startTestPlatform({ dataDir: tempDir("propamm-flood-") });
    try {
      const tokens: string[] = [];
      for (let c = 0; c < 10; c++) {
        const t = await p.api("/api/tokens", { token: p.admin, body: { author: `client${c}` } });
        tokens.push(t.json.token);
      }
      p.workerProcess(5);
      p.workerProcess(5);
      const created: { id: string; author: string; cancel: boolean }[] = [];
      await Promise.all(
        tokens.map(async (token, c) => {
          for (let k = 0; k < 20; k++) {
            const body =
              k % 2 === 0
                ? { job_type: "validate", strategy: { filename: `c${c}.ts`, source: STRATEGY(20 + c) } }
                : {
                    job_type: "run",
                    strategy: { filename: `c${c}.ts`, source: STRATEGY(20 + c) },
                    params: { simulations: 1, steps: 100 },
                  };
            const r = await p.api("/api/jobs", { token, body });
            expect(r.status).toBe(201);
            const cancel = k % 4 === 3;
            if (cancel) await p.api(`/api/jobs/${r.json.id}/cancel`, { method: "POST", token });
            created.push({ id: r.json.id, author: `client${c}`, cancel });
          }
        }),
      );
      expect(new Set(created.map((j) => j.id)).size).toBe(200);
      const end = Date.now() + 900_000;
      for (;;) {
        const h = await p.api("/health");
        if (h.json.queued === 0 && h.json.running === 0) break;
        if (Date.now() > end) throw new Error(`queue not empty: ${JSON.stringify(h.json)}`);
        await sleep(1000);
      }
      let listed = 0;
      for (let c = 0; c < 10; c++) listed += (await p.api(`/api/jobs?author=client${c}&limit=200`)).json.jobs.length;
      expect(listed).toBe(200);
      for (const j of created) {
        const job = (await p.api(`/api/jobs/${j.id}`)).json;
        expect(job.author).toBe(j.author);
        const lines = await terminalLines(p, j.id);
        if (j.cancel && job.state === "cancelled" && job.started_at === null) {
          expect(lines).toEqual([]);
        } else {
          // A job cancelled after it started ends as cancelled; every other one succeeds.
          const log = job.state === "failed" ? (await p.api(`/api/jobs/${j.id}/logs?limit=5000`)).json.lines : [];
          expect(job.state, JSON.stringify({ error: job.error, log })).toBe(j.cancel ? job.state : "succeeded");
          expect(lines).toEqual([`job ${job.state}${job.state === "cancelled" ? ": cancelled while running" : ""}`]);
        }
        expect(["succeeded", "cancelled"]).toContain(job.state);
        expect(job.attempts).toBeLessThanOrEqual(1);
      }
    } finally {
      await p.stop();
    }
  }, 960_000);
});
