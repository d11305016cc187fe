/**
 * Hostile clients. 10,000 malformed requests (wrong types, unknown job types, bodies past the
 * limit, path traversal in file names and URLs, bad tokens, broken JSON) each get a 4xx with a
 * JSON error that names the problem, and the server stays up; past the rate limit a client gets
 * 429 with Retry-After; uploaded code that reaches for the database file or the environment
 * fails inside its sandbox without leaking either.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedFeeSource, startTestPlatform, waitForJob, type TestPlatform } from "../helpers/platform.js";
import { mulberry32, type Rng } from "../helpers/prng.js";
import { tempDir } from "../helpers/tmp.js";

const GOOD = fixedFeeSource(30);

interface Bad {
  method: string;
  path: string;
  token?: "user" | "admin" | string;
  body?: string;
  contentType?: string;
  /** A word the error message must contain (the field or the problem). */
  names?: RegExp;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

/** One malformed request, drawn from families of mistakes. */
function badRequest(rng: Rng): Bad {
  const strategy = { filename: "s.ts", source: GOOD };
  const json = (body: unknown, names?: RegExp, token: Bad["token"] = "user"): Bad => ({
    method: "POST",
    path: "/api/jobs",
    token,
    body: JSON.stringify(body),
    names,
  });
  const family = Math.floor(rng() * 14);
  switch (family) {
    case 0:
      return json({ job_type: pick(rng, ["deploy", "RUN", "", "train ", "validate;rm"]), strategy }, /job_type/);
    case 1:
      return json({ job_type: pick(rng, [1, null, true, [], {}]), strategy }, /job_type/);
    case 2:
      return json(
        {
          job_type: "run",
          strategy: {
            filename: pick(rng, [
              "../../etc/passwd.ts",
              "a/b.ts",
              "..\\\\x.ts",
              "/abs.ts",
              "x.exe",
              ".ts",
              "%2e%2e%2fx.ts",
              "x.ts\u0000.rs",
              "a".repeat(80) + ".ts",
            ]),
            source: GOOD,
          },
        },
        /filename/,
      );
    case 3:
      return json(
        { job_type: "run", strategy: { filename: "s.ts", source: pick(rng, [42, null, "", ["x"]]) } },
        /source/,
      );
    case 4:
      return json(
        { job_type: "eval", strategy, params: { simulations: pick(rng, [0, -1, 1.5, "10", 1e9, null]) } },
        /simulations/,
      );
    case 5:
      return json(
        {
          job_type: "run",
          strategy,
          params: { opponents: pick(rng, [["../x.ts"], ["nope"], "starter", [1], ["fixed:abc"]]) },
        },
        /opponents/,
      );
    case 6:
      return json(
        { job_type: "run", strategy, [pick(rng, ["sandbox", "argv", "__proto__x", "cmd"])]: true },
        /additional|must NOT have/,
      );
    case 7:
      return json(
        { job_type: "run", strategy, limits: { time_seconds: pick(rng, [0, -5, 1e9, "60"]) } },
        /time_seconds/,
      );
    case 8:
      return {
        method: "POST",
        path: "/api/jobs",
        token: pick(rng, ["pamm_forged", "x".repeat(300), "", "pamm_admin", "a b"]),
        body: JSON.stringify({ job_type: "run", strategy }),
        names: /token|Authorization|Bearer/,
      };
    case 9:
      return {
        method: "POST",
        path: "/api/jobs",
        token: "user",
        body: pick(rng, ["{", "{'job_type':1}", "[1,2", "nul", '{"job_type": "run",}', "\u0000"]),
        names: /JSON|Unexpected|body/,
      };
    case 10:
      return {
        method: "POST",
        path: "/api/jobs",
        token: "user",
        body: "job_type=run",
        contentType: pick(rng, ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]),
        names: /application\/json/,
      };
    case 11:
      return {
        method: "GET",
        path: pick(rng, [
          "/api/jobs/..%2F..%2Fetc%2Fpasswd",
          "/api/jobs/not-an-id",
          "/api/jobs/00000000-0000-0000-0000-000000000000",
          "/api/jobs/00000000-0000-0000-0000-000000000000/artifacts/../../propamm.db",
          "/api/strategies/abc",
          "/api/entries/%2e%2e",
          "/api/leaderboard?competition=../x",
          "/api/jobs?limit=99999999",
          "/api/jobs?state=done",
          "/api/nothing",
        ]),
      };
    case 12:
      return {
        method: pick(rng, ["DELETE", "POST"]),
        path: pick(rng, [
          "/api/jobs/00000000-0000-0000-0000-000000000000",
          "/api/jobs/00000000-0000-0000-0000-000000000000/cancel",
          "/api/entries/00000000-0000-0000-0000-000000000000",
        ]),
        token: pick(rng, [undefined, "user", "pamm_nope"]),
      };
    default:
      return json(
        { job_type: "submit", strategy, competition: pick(rng, ["nope", "../default", "UPPER", 5]) },
        /competition/,
      );
  }
}

describe("bad input", () => {
  let p: TestPlatform;
  const dir = tempDir("propamm-bad-");
  beforeAll(async () => {
    p = await startTestPlatform({ dataDir: dir, api: { maxSourceBytes: 64 * 1024 } });
  }, 60_000);
  afterAll(async () => {
    await p.stop();
  });

  it("10,000 malformed requests: each a 4xx with a JSON error naming the problem; the server stays up", async () => {
    const rng = mulberry32(2026);
    const codes = new Map<number, number>();
    const send = async (b: Bad): Promise<void> => {
      const headers: Record<string, string> = {};
      const token = b.token === "user" ? p.user : b.token === "admin" ? p.admin : b.token;
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (b.body !== undefined) headers["content-type"] = b.contentType ?? "application/json";
      const res = await fetch(p.url + b.path, { method: b.method, headers, body: b.body });
      const text = await res.text();
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      const what = `${b.method} ${b.path} ${b.body?.slice(0, 120)} -> ${res.status} ${text.slice(0, 200)}`;
      expect(res.status >= 400 && res.status < 500, what).toBe(true);
      const j = JSON.parse(text) as { error: string; code: string };
      expect(typeof j.error === "string" && j.error.length > 5, what).toBe(true);
      expect(j.code, what).toMatch(/^[A-Z_]+$/);
      expect(text, what).not.toMatch(/\n\s+at .*:\d+:\d+/);
      if (b.names) expect(j.error, what).toMatch(b.names);
    };
    const reqs = Array.from({ length: 9_990 }, () => badRequest(rng));
    // Bodies past the limit (64 KiB sources here: 448 KiB bodies), ten of them.
    for (let i = 0; i < 10; i++) {
      reqs.push({
        method: "POST",
        path: "/api/jobs",
        token: "user",
        body: JSON.stringify({ job_type: "run", strategy: { filename: "big.ts", source: "x".repeat(600_000 + i) } }),
        names: /too large|limit|maxLength|longer|Body/i,
      });
    }
    for (let i = 0; i < reqs.length; i += 50) await Promise.all(reqs.slice(i, i + 50).map(send));
    expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect([...codes.keys()].every((c) => c >= 400 && c < 500)).toBe(true);
    const h = await p.api("/health");
    expect(h.status).toBe(200);
    // A path outside /api/ is the dashboard's page (a client route), never a file of the machine.
    const outside = await fetch(`${p.url}/%2e%2e/%2e%2e/etc/passwd`);
    expect(await outside.text()).not.toMatch(/root:/);
    // Nothing was queued by any of them.
    expect((await p.api("/api/jobs?limit=200")).json.jobs).toEqual([]);
  }, 300_000);

  it("specific messages name the field", async () => {
    const r1 = await p.api("/api/jobs", {
      token: p.user,
      body: { job_type: "deploy", strategy: { filename: "s.ts", source: GOOD } },
    });
    expect(r1.status).toBe(400);
    expect(r1.json.error).toBe("invalid request: body/job_type must be equal to one of the allowed values");
    const r2 = await p.api("/api/jobs", {
      token: p.user,
      body: { job_type: "run", strategy: { filename: "../x.ts", source: GOOD } },
    });
    expect(r2.json.error).toMatch(/^invalid request: body\/strategy\/filename must match pattern/);
    const r3 = await p.api("/api/jobs", { token: p.user, body: { job_type: "run" } });
    expect(r3.json.error).toBe("a run job needs 'strategy' ({filename, source}) or 'strategy_sha256'");
    const r4 = await p.api("/api/jobs", {
      token: p.user,
      body: { job_type: "run", strategy: { filename: "s.ts", source: GOOD }, params: { opponents: ["nope"] } },
    });
    expect(r4.json.error).toBe(
      "params/opponents[0]: 'nope' is neither a built-in strategy nor sha256:<hex> of an upload",
    );
    const r5 = await p.api("/api/jobs", {
      token: p.user,
      body: { job_type: "train", params: { opponents: ["sha256:" + "a".repeat(64)] } },
    });
    expect(r5.json.error).toBe("params/opponents[0]: only built-in strategies can be training opponents");
  });

  it("past the rate limit: 429 with Retry-After", async () => {
    const q = await startTestPlatform({
      dataDir: tempDir("propamm-rate-"),
      api: { rateLimitPerMinute: 12, jobsPerMinute: 3 },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await q.api("/api/jobs", {
          token: q.user,
          body: { job_type: "validate", strategy: { filename: "s.ts", source: GOOD } },
        });
        statuses.push(r.status);
        if (r.status === 429) {
          expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
          expect(r.json.error).toMatch(/^too many jobs from local; retry in \d+ s$/);
        }
      }
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
      let limited = 0;
      for (let i = 0; i < 20; i++) if ((await q.api("/health")).status === 429) limited++;
      // The address's bucket holds a minute's 12 requests; the 5 above spent 5 of them.
      expect(limited).toBe(13);
    } finally {
      await q.stop();
    }
  });

  it("CORS: only configured origins are allowed, preflight included", async () => {
    const q = await startTestPlatform({
      dataDir: tempDir("propamm-cors-"),
      api: { corsOrigins: ["https://board.example"] },
    });
    try {
      const pre = await fetch(`${q.url}/api/jobs`, {
        method: "OPTIONS",
        headers: { origin: "https://board.example", "access-control-request-method": "POST" },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("https://board.example");
      expect(pre.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      const ok = await fetch(`${q.url}/api/leaderboard`, { headers: { origin: "https://board.example" } });
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://board.example");
      const other = await fetch(`${q.url}/api/leaderboard`, { headers: { origin: "https://evil.example" } });
      expect(other.status).toBe(200);
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      // The platform under test in this file allows no origin at all.
      const none = await fetch(`${p.url}/api/leaderboard`, { headers: { origin: "https://board.example" } });
      expect(none.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await q.stop();
    }
  });

  it("uploaded code that reaches for the database file or the environment fails inside its sandbox", async () => {
    const db = join(dir, "propamm.db");
    // Valid strategies (constant product, 30 bps) but for one line that reaches out at load time.
    const valid = (attack: string): string =>
      attack + "\n" + GOOD.replace('name: "Fixed 30"', 'name: "L" + String(leak)');
    const attempts: Record<string, string> = {
      "fs.ts": valid(
        `import { readFileSync } from "node:fs";\nconst leak = readFileSync(${JSON.stringify(db)}, "latin1").slice(0, 16);`,
      ),
      "env.ts": valid(`const leak = (process as any).env.PATH;`),
      "ctor.ts": valid(
        `const p = (globalThis as any).constructor.constructor("return process")();\nconst leak = p.env.PATH + p.mainModule.require("fs").readFileSync(${JSON.stringify(db)}, "latin1").slice(0, 16);`,
      ),
      "dynamic.ts": valid(
        `const fs: any = await import("node:fs");\nconst leak = fs.readFileSync(${JSON.stringify(db)}, "latin1").slice(0, 16);`,
      ),
      "require.ts": valid(
        `const leak = (globalThis as any).require?.("fs") ?? (0, eval)("require")("fs").readFileSync(${JSON.stringify(db)});`,
      ),
    };
    // The control: the same file without the reach passes.
    const control = await p.api("/api/jobs", {
      token: p.user,
      body: { job_type: "validate", strategy: { filename: "control.ts", source: valid("const leak = 1;") } },
    });
    const dbHead = readFileSync(db, "latin1").slice(0, 16);
    p.worker().start();
    for (const [filename, source] of Object.entries(attempts)) {
      const r = await p.api("/api/jobs", {
        token: p.user,
        body: { job_type: "validate", strategy: { filename, source } },
      });
      expect(r.status).toBe(201);
      const job = await waitForJob(p, r.json.id);
      const log = (await p.api(`/api/jobs/${r.json.id}/logs?limit=5000`)).json.lines
        .map((l: { line: string }) => l.line)
        .join("\n");
      expect(job.state, `${filename}\n${log}`).toBe("failed");
      expect(log).not.toContain(dbHead);
      expect(log).not.toContain(process.env.PATH as string);
    }
    expect((await waitForJob(p, control.json.id)).state).toBe("succeeded");
  }, 120_000);
});
