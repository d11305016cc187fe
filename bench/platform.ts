/**
 * Platform benchmark (`npm run bench`, last part; docs/BENCHMARKS.md): a real platform on
 * loopback with its SQLite file, loaded by autocannon from this process.
 *   1. GET /api/leaderboard with 50 ranked entries of 100 seeds each: latency p50/p99, requests/s.
 *   2. POST /api/jobs (a submission with a 1 KiB strategy; no worker runs them): p50/p99, requests/s.
 *   3. Jobs per minute with 1 and 2 worker processes: 12 submit jobs on a small competition
 *      (10 seeds of 2000 steps against the starter), from the first claim to the last end.
 * Arguments: [seconds per autocannon run (default 5)] [jobs for part 3 (default 12)].
 */
import autocannon from "autocannon";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform, type RunningPlatform } from "../platform/platform.js";

const SECONDS = Number(process.argv[2] ?? 5);
const JOBS = Number(process.argv[3] ?? 12);
const CONNECTIONS = 10;

const SOURCE = `export default {
  name: "Fixed 30",
  computeSwap(side: number, input: number, x: number, y: number): number {
    const g = 0.997 * input;
    return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);
  },
};
${"// padding to a typical strategy's size\n".repeat(20)}`;

async function start(dir: string, workers: number): Promise<RunningPlatform> {
  const comp = join(dir, "competition.json");
  writeFileSync(
    comp,
    JSON.stringify({ id: "bench", title: "bench", simulations: 10, steps: 2000, epochLen: 1000, seedStart: 500000 }),
  );
  return startPlatform({
    role: "all",
    host: "127.0.0.1",
    port: 0,
    dataDir: dir,
    workers,
    competitionFiles: [comp],
    leaseMs: 30_000,
    api: { rateLimitPerMinute: 0, jobsPerMinute: 0 },
    say: () => undefined,
  });
}

function token(dir: string): string {
  return /^local (\S+)$/m.exec(readFileSync(join(dir, "tokens.txt"), "utf8"))?.[1] as string;
}

async function load(
  title: string,
  opts: autocannon.Options,
): Promise<{ title: string; p50: number; p99: number; rps: number; non2xx: number }> {
  const r = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  return { title, p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, non2xx: r.non2xx };
}

async function latency(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "propamm-bench-platform-"));
  const p = await start(dir, 0);
  try {
    // 50 entries, as if 50 submissions had been evaluated on 100 seeds.
    const seeds = 100;
    let s = 1;
    const rand = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) * 200 - 100;
    for (let i = 0; i < 50; i++) {
      const id = randomUUID();
      await p.store.insertJob({
        id,
        type: "submit",
        author: `author${i}`,
        competition: "bench",
        strategySha256: i.toString(16).padStart(64, "0"),
        name: `s${i}`,
        params: {},
        limits: { timeSeconds: 60, memoryMb: 256 },
        maxAttempts: 1,
        createdAt: Date.now(),
      });
      await p.store.claimJob("bench", Date.now(), 60_000);
      const vs = Array.from({ length: seeds }, () => rand() + i);
      await p.store.finishJob(id, "bench", Date.now(), {
        state: "succeeded",
        entry: {
          id: randomUUID(),
          competition: "bench",
          jobId: id,
          strategySha256: i.toString(16).padStart(64, "0"),
          author: `author${i}`,
          name: `s${i}`,
          createdAt: Date.now(),
          vsNormalizer: vs,
          edge: vs.map((x) => x + 300),
        },
      });
    }
    const rows = [
      await load("GET /api/leaderboard (50 rows x 100 seeds)", { url: `${p.url}/api/leaderboard` }),
      await load("POST /api/jobs (submit, 1 KiB source)", {
        url: `${p.url}/api/jobs`,
        method: "POST",
        headers: { authorization: `Bearer ${token(dir)}`, "content-type": "application/json" },
        body: JSON.stringify({ job_type: "submit", strategy: { filename: "s.ts", source: SOURCE } }),
      }),
    ];
    console.log(`API latency under load (${CONNECTIONS} connections, ${SECONDS} s each, SQLite):`);
    console.log("request                                       p50 ms  p99 ms   req/s  non-2xx");
    for (const r of rows) {
      console.log(
        `${r.title.padEnd(44)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${r.rps.toFixed(0).padStart(7)} ${String(r.non2xx).padStart(8)}`,
      );
    }
  } finally {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throughput(workers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "propamm-bench-platform-"));
  const p = await start(dir, workers);
  try {
    const tok = token(dir);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const res = await fetch(`${p.url}/api/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
        // Distinct files: each job is a new strategy evaluated in full.
        body: JSON.stringify({ job_type: "submit", strategy: { filename: "s.ts", source: `${SOURCE}// ${i}\n` } }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (;;) {
      const jobs = await Promise.all(ids.map((id) => p.store.getJob(id)));
      if (jobs.every((j) => j && ["succeeded", "failed", "cancelled"].includes(j.state))) {
        const failed = jobs.filter((j) => j?.state !== "succeeded").length;
        if (failed) throw new Error(`${failed} jobs did not succeed`);
        const first = Math.min(...jobs.map((j) => j?.startedAt ?? Infinity));
        const last = Math.max(...jobs.map((j) => j?.finishedAt ?? 0));
        return (JOBS / (last - first)) * 60_000;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await latency();
console.log(`\nJobs per minute (${JOBS} submit jobs: validate + 10 seeds x 2000 steps vs the starter, sandboxed):`);
for (const w of [1, 2]) console.log(`  ${w} worker process(es): ${(await throughput(w)).toFixed(1)} jobs/min`);
console.log(`(${cpus().length} cores: ${cpus()[0]?.model ?? "unknown CPU"}; Node ${process.version})`);
