/**
 * The platform's HTTP API (docs/platform.md): jobs, their logs (also live, as server-sent
 * events) and artifacts, strategies by sha256, the leaderboard, tokens, an OpenAPI document,
 * and the dashboard's files. Fastify validates every request against the JSON schemas below
 * and answers a bad one with 400 and the field at fault; the same schemas make the OpenAPI
 * document, so the two cannot disagree.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { estimate } from "../arena/stats.js";
import { hashToken, issueToken, RateLimiter } from "./auth.js";
import type { Competition } from "./competition.js";
import { resolveOpponents, SHA_REF } from "./jobs.js";
import { rankEntries } from "./leaderboard.js";
import {
  JOB_STATES,
  JOB_TYPES,
  TERMINAL_STATES,
  type JobRow,
  type JobState,
  type JobType,
  type Role,
  type Store,
  type TokenRow,
} from "./store.js";

export interface ApiOptions {
  store: Store;
  competitions: ReadonlyMap<string, Competition>;
  /** The competition of submit jobs that name none. */
  defaultCompetition: string;
  /** Largest strategy source accepted, in bytes. */
  maxSourceBytes?: number;
  /** Upper bounds of what a job may ask for. */
  maxSimulations?: number;
  maxTimesteps?: number;
  maxTimeSeconds?: number;
  maxMemoryMb?: number;
  /** Defaults of per-job limits. */
  defaultTimeSeconds?: number;
  defaultMemoryMb?: number;
  /** Attempts a job gets when its worker dies. */
  maxAttempts?: number;
  /** Origins allowed by CORS ("*" for any); none by default. */
  corsOrigins?: readonly string[];
  /** Requests a minute per client address (0: unlimited). */
  rateLimitPerMinute?: number;
  /** Jobs a minute per author (0: unlimited). */
  jobsPerMinute?: number;
  /** Folder of the built dashboard (index.html and assets); none: no dashboard. */
  webDir?: string;
  /** Fastify's logger (off by default). */
  logger?: boolean;
}

const ISO = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** A job as the API shows it. */
export function jobView(j: JobRow): Record<string, unknown> {
  return {
    id: j.id,
    job_type: j.type,
    state: j.state,
    author: j.author,
    competition: j.competition,
    strategy_sha256: j.strategySha256,
    name: j.name,
    params: j.params,
    limits: { time_seconds: j.limits.timeSeconds, memory_mb: j.limits.memoryMb },
    created_at: ISO(j.createdAt),
    started_at: ISO(j.startedAt),
    finished_at: ISO(j.finishedAt),
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    cancel_requested: j.cancelRequested,
    /** The worker holding the job's lease while it runs (host:pid:id), for operators. */
    worker: j.leaseOwner,
    error: j.error,
    result: j.result,
    links: {
      self: `/api/jobs/${j.id}`,
      logs: `/api/jobs/${j.id}/logs`,
      stream: `/api/jobs/${j.id}/logs/stream`,
      artifacts: `/api/jobs/${j.id}/artifacts`,
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

/** Every file of the built dashboard, read once: requests name a key of this map or get index.html. */
function loadWeb(dir: string | undefined): Map<string, { type: string; data: Buffer }> {
  const files = new Map<string, { type: string; data: Buffer }>();
  if (!dir || !existsSync(dir)) return files;
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else {
        files.set("/" + relative(dir, p).split("\\").join("/"), {
          type: CONTENT_TYPES[extname(f)] ?? "application/octet-stream",
          data: readFileSync(p),
        });
      }
    }
  };
  walk(dir);
  return files;
}

const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, code: { type: "string" } },
  required: ["error", "code"],
} as const;

export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const store = o.store;
  const maxSource = o.maxSourceBytes ?? 256 * 1024;
  const maxSims = o.maxSimulations ?? 1000;
  // Twice `propamm train`'s ES default (100M decisions at every trade; the time limit bounds it too).
  const maxTimesteps = o.maxTimesteps ?? 200_000_000;
  const maxTime = o.maxTimeSeconds ?? 3600;
  const maxMem = o.maxMemoryMb ?? 4096;
  const defTime = Math.min(o.defaultTimeSeconds ?? 900, maxTime);
  const defMem = Math.min(o.defaultMemoryMb ?? 1024, maxMem);
  const cors = new Set(o.corsOrigins ?? []);
  // A client may spend a minute's allowance at once, then gets it back at the per-minute rate.
  const perIp = new RateLimiter(o.rateLimitPerMinute ?? 600, o.rateLimitPerMinute ?? 600);
  const perAuthor = new RateLimiter(o.jobsPerMinute ?? 30, o.jobsPerMinute ?? 30);
  const web = loadWeb(o.webDir);

  const app = Fastify({
    logger: o.logger ?? false,
    // A source of maxSource bytes, JSON-escaped (up to 6 bytes per character of control text), plus the rest.
    bodyLimit: maxSource * 6 + 64 * 1024,
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });

  const openapiPaths: Record<string, Record<string, unknown>> = {};
  const route = (
    method: "GET" | "POST" | "DELETE",
    url: string,
    summary: string,
    schema: Record<string, unknown>,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    auth: "public" | "user" | "admin" = "public",
  ): void => {
    app.route({ method, url, schema, handler });
    const path = url.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\*$/, "{name}");
    const params = schema.params as { properties?: Record<string, unknown> } | undefined;
    const query = schema.querystring as { properties?: Record<string, unknown> } | undefined;
    openapiPaths[path] ??= {};
    openapiPaths[path][method.toLowerCase()] = {
      summary,
      ...(auth !== "public" ? { security: [{ bearer: [] }] } : {}),
      parameters: [
        ...Object.entries(params?.properties ?? (url.endsWith("*") ? { name: { type: "string" } } : {})).map(
          ([name, s]) => ({ name, in: "path", required: true, schema: s }),
        ),
        ...Object.entries(query?.properties ?? {}).map(([name, s]) => ({ name, in: "query", schema: s })),
      ],
      ...(schema.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schema.body } } } }
        : {}),
      responses: {
        "200": { description: "OK" },
        "4XX": { description: "bad request", content: { "application/json": { schema: errorSchema } } },
      },
    };
  };

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message, code: err.code });
    if (err.validation) {
      return reply.code(400).send({ error: `invalid request: ${err.message}`, code: "BAD_REQUEST" });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error(err);
    return reply.code(status).send({
      error: status === 500 ? "internal error" : err.message,
      code: status === 500 ? "INTERNAL" : (err.code ?? "BAD_REQUEST"),
    });
  });
  app.setNotFoundHandler((req, reply) => {
    if ((req.method === "GET" || req.method === "HEAD") && !req.url.startsWith("/api/")) {
      const path = req.url.split("?")[0];
      const file = web.get(path) ?? web.get("/index.html");
      if (file) {
        return reply
          .header("content-type", file.type)
          .header("cache-control", path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache")
          .send(file.data);
      }
    }
    return reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}`, code: "NOT_FOUND" });
  });
  // JSON only: anything else is refused with a name for the problem instead of fastify's generic 415.
  app.removeContentTypeParser(["text/plain"]);
  app.addContentTypeParser("*", (_req, _payload, done) => {
    done(new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json"), undefined);
  });

  app.addHook("onRequest", async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && (cors.has("*") || cors.has(origin))) {
      reply.header("access-control-allow-origin", cors.has("*") ? "*" : origin);
      reply.header("vary", "origin");
      reply.header("access-control-allow-headers", "authorization, content-type");
      reply.header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
      if (req.method === "OPTIONS") return reply.code(204).send();
    }
    const wait = perIp.take(req.ip);
    if (wait > 0) {
      return reply
        .code(429)
        .header("retry-after", String(wait))
        .send({ error: `too many requests from ${req.ip}; retry in ${wait} s`, code: "RATE_LIMITED" });
    }
  });

  const authOf = async (req: FastifyRequest, need: Role): Promise<TokenRow> => {
    const h = req.headers.authorization;
    if (!h) throw new HttpError(401, "UNAUTHENTICATED", "this needs a token: send 'Authorization: Bearer <token>'");
    const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h);
    if (!m) throw new HttpError(401, "UNAUTHENTICATED", "the Authorization header must be 'Bearer <token>'");
    const t = await store.findToken(hashToken(m[1]));
    if (!t) throw new HttpError(401, "UNAUTHENTICATED", "unknown token");
    if (need === "admin" && t.role !== "admin") throw new HttpError(403, "FORBIDDEN", "this needs an admin token");
    return t;
  };

  const getJob = async (id: string): Promise<JobRow> => {
    const j = await store.getJob(id);
    if (!j) throw new HttpError(404, "NOT_FOUND", `no job ${id}`);
    return j;
  };

  const idParam = {
    type: "object",
    properties: { id: { type: "string", pattern: "^[0-9a-f-]{36}$" } },
    required: ["id"],
  } as const;
  const shaParam = {
    type: "object",
    properties: { sha256: { type: "string", pattern: "^[0-9a-f]{64}$" } },
    required: ["sha256"],
  } as const;
  const strategyBody = {
    type: "object",
    additionalProperties: false,
    required: ["filename", "source"],
    properties: {
      filename: {
        type: "string",
        pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\\.(ts|js|mjs|rs)$",
        description: "a plain file name ending in .ts, .js, .mjs or .rs (no folders)",
      },
      source: { type: "string", minLength: 1, maxLength: maxSource },
    },
  } as const;

  const health = async (): Promise<unknown> => ({
    status: "ok",
    database: store.kind,
    queued: await store.countJobs("queued"),
    running: await store.countJobs("running"),
  });
  route("GET", "/health", "liveness and queue depth", {}, health);
  route("GET", "/healthz", "liveness and queue depth (alias)", {}, health);

  route("GET", "/api/openapi.json", "this document", {}, async () => ({
    openapi: "3.1.0",
    info: { title: "prop-amm gym platform", version: "1", description: "docs/platform.md" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: errorSchema },
    },
    paths: openapiPaths,
  }));

  route(
    "GET",
    "/api/me",
    "who a token belongs to",
    {},
    async (req) => {
      const t = await authOf(req, "user");
      return { author: t.author, role: t.role };
    },
    "user",
  );

  route(
    "POST",
    "/api/tokens",
    "make a token for an author (admin); the token is shown only in this answer",
    {
      body: {
        type: "object",
        additionalProperties: false,
        required: ["author"],
        properties: {
          author: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$" },
          role: { type: "string", enum: ["user", "admin"] },
        },
      },
    },
    async (req, reply) => {
      await authOf(req, "admin");
      const b = req.body as { author: string; role?: Role };
      const { token, row } = await issueToken(store, b.author, b.role ?? "user");
      return reply.code(201).send({ token, author: row.author, role: row.role });
    },
    "admin",
  );

  route("GET", "/api/competitions", "the competitions and their published definitions", {}, async () => ({
    default: o.defaultCompetition,
    competitions: [...o.competitions.values()],
  }));

  const putStrategy = async (
    author: string,
    filename: string,
    source: string,
  ): Promise<{ sha256: string; filename: string; size: number; created: boolean }> => {
    const size = Buffer.byteLength(source, "utf8");
    if (size > maxSource)
      throw new HttpError(413, "TOO_LARGE", `strategy source is ${size} bytes; the limit is ${maxSource}`);
    if (source.includes("\u0000")) throw new HttpError(400, "BAD_REQUEST", "strategy source contains a NUL byte");
    const sha256 = createHash("sha256").update(source, "utf8").digest("hex");
    const before = await store.getStrategy(sha256);
    const s = await store.putStrategy({ sha256, filename, source, size, author, createdAt: Date.now() });
    return { sha256, filename: s.filename, size: s.size, created: !before };
  };

  route(
    "POST",
    "/api/strategies",
    "upload a strategy (stored by the sha256 of its source: the same file is one strategy)",
    { body: strategyBody },
    async (req, reply) => {
      const t = await authOf(req, "user");
      const b = req.body as { filename: string; source: string };
      const s = await putStrategy(t.author, b.filename, b.source);
      return reply.code(s.created ? 201 : 200).send(s);
    },
    "user",
  );

  route(
    "GET",
    "/api/strategies/:sha256",
    "a stored strategy (its source only for its uploader or an admin)",
    { params: shaParam },
    async (req) => {
      const { sha256 } = req.params as { sha256: string };
      const s = await store.getStrategy(sha256);
      if (!s) throw new HttpError(404, "NOT_FOUND", `no strategy ${sha256}`);
      let mine = false;
      if (req.headers.authorization) {
        const t = await authOf(req, "user");
        mine = t.role === "admin" || t.author === s.author;
      }
      return {
        sha256: s.sha256,
        filename: s.filename,
        size: s.size,
        author: s.author,
        created_at: ISO(s.createdAt),
        ...(mine ? { source: s.source } : {}),
      };
    },
  );

  const jobBody = {
    type: "object",
    additionalProperties: false,
    required: ["job_type"],
    properties: {
      job_type: { type: "string", enum: JOB_TYPES },
      strategy: strategyBody,
      strategy_sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
      name: { type: "string", minLength: 1, maxLength: 64, pattern: "^[^\\u0000-\\u001f]+$" },
      competition: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,39}$" },
      params: {
        type: "object",
        additionalProperties: false,
        properties: {
          simulations: { type: "integer", minimum: 1, maximum: maxSims },
          seed_start: { type: "integer", minimum: 0, maximum: 2 ** 31 },
          steps: { type: "integer", minimum: 100, maximum: 100_000 },
          epoch_len: { type: "integer", minimum: 1, maximum: 100_000 },
          opponents: {
            type: "array",
            maxItems: 8,
            items: { type: "string", minLength: 1, maxLength: 80, pattern: "^[A-Za-z0-9:./_-]+$" },
          },
          timesteps: { type: "integer", minimum: 1, maximum: maxTimesteps },
          seed: { type: "integer", minimum: 0, maximum: 2 ** 31 },
          algo: { type: "string", enum: ["es", "ppo"] },
        },
      },
      limits: {
        type: "object",
        additionalProperties: false,
        properties: {
          time_seconds: { type: "integer", minimum: 1, maximum: maxTime },
          memory_mb: { type: "integer", minimum: 128, maximum: maxMem },
        },
      },
    },
  } as const;

  route(
    "POST",
    "/api/jobs",
    "queue a job: validate | run | submit | eval | train",
    { body: jobBody },
    async (req, reply) => {
      const t = await authOf(req, "user");
      const wait = perAuthor.take(t.author);
      if (wait > 0) {
        return reply
          .code(429)
          .header("retry-after", String(wait))
          .send({ error: `too many jobs from ${t.author}; retry in ${wait} s`, code: "RATE_LIMITED" });
      }
      const b = req.body as {
        job_type: JobType;
        strategy?: { filename: string; source: string };
        strategy_sha256?: string;
        name?: string;
        competition?: string;
        params?: Record<string, unknown> & { opponents?: string[]; epoch_len?: number; steps?: number };
        limits?: { time_seconds?: number; memory_mb?: number };
      };
      if (b.strategy && b.strategy_sha256) {
        throw new HttpError(400, "BAD_REQUEST", "give either 'strategy' or 'strategy_sha256', not both");
      }
      let sha: string | null = null;
      let filename = "";
      if (b.strategy) {
        const s = await putStrategy(t.author, b.strategy.filename, b.strategy.source);
        sha = s.sha256;
        filename = s.filename;
      } else if (b.strategy_sha256) {
        const s = await store.getStrategy(b.strategy_sha256);
        if (!s) throw new HttpError(400, "BAD_REQUEST", `strategy_sha256: no strategy ${b.strategy_sha256} is stored`);
        sha = s.sha256;
        filename = s.filename;
      }
      if (b.job_type === "train") {
        if (sha) throw new HttpError(400, "BAD_REQUEST", "a train job takes no strategy");
      } else if (!sha) {
        throw new HttpError(
          400,
          "BAD_REQUEST",
          `a ${b.job_type} job needs 'strategy' ({filename, source}) or 'strategy_sha256'`,
        );
      }
      const params = b.params ?? {};
      if (b.job_type === "submit" && Object.keys(params).length > 0) {
        throw new HttpError(
          400,
          "BAD_REQUEST",
          "params: a submit job is evaluated on its competition's fixed settings; send no params",
        );
      }
      if (params.epoch_len !== undefined && params.epoch_len > (params.steps ?? 10_000)) {
        throw new HttpError(400, "BAD_REQUEST", "params/epoch_len must not exceed params/steps");
      }
      try {
        resolveOpponents(params.opponents ?? [], b.job_type !== "train");
      } catch (err) {
        throw new HttpError(400, "BAD_REQUEST", `params/${(err as Error).message}`);
      }
      for (const ref of params.opponents ?? []) {
        const m = SHA_REF.exec(ref);
        if (m && !(await store.getStrategy(m[1]))) {
          throw new HttpError(400, "BAD_REQUEST", `params/opponents: no strategy ${m[1]} is stored`);
        }
      }
      let competition: string | null = null;
      if (b.job_type === "submit") {
        competition = b.competition ?? o.defaultCompetition;
        if (!o.competitions.has(competition)) {
          throw new HttpError(
            400,
            "BAD_REQUEST",
            `competition: no competition '${competition}' (see GET /api/competitions)`,
          );
        }
      } else if (b.competition !== undefined) {
        throw new HttpError(400, "BAD_REQUEST", "competition: only submit jobs belong to a competition");
      }
      const job = await store.insertJob({
        id: randomUUID(),
        type: b.job_type,
        author: t.author,
        competition,
        strategySha256: sha,
        name: b.job_type === "submit" ? (b.name ?? filename.replace(/\.(ts|js|mjs|rs)$/, "")) : (b.name ?? null),
        params,
        limits: {
          timeSeconds: b.limits?.time_seconds ?? defTime,
          memoryMb: b.limits?.memory_mb ?? defMem,
        },
        maxAttempts: o.maxAttempts ?? 3,
        createdAt: Date.now(),
      });
      return reply.code(201).header("location", `/api/jobs/${job.id}`).send(jobView(job));
    },
    "user",
  );

  route(
    "GET",
    "/api/jobs",
    "jobs, newest first",
    {
      querystring: {
        type: "object",
        additionalProperties: false,
        properties: {
          author: { type: "string", maxLength: 40 },
          state: { type: "string", enum: JOB_STATES },
          job_type: { type: "string", enum: JOB_TYPES },
          limit: { type: "string", pattern: "^[0-9]{1,3}$" },
          before: { type: "string", format: "date-time" },
        },
      },
    },
    async (req) => {
      const q = req.query as { author?: string; state?: JobState; job_type?: JobType; limit?: string; before?: string };
      const limit = Math.min(200, Math.max(1, Number(q.limit ?? 50)));
      const jobs = await store.listJobs({
        author: q.author,
        state: q.state,
        type: q.job_type,
        limit,
        before: q.before ? Date.parse(q.before) : undefined,
      });
      return { jobs: jobs.map(jobView) };
    },
  );

  route("GET", "/api/jobs/:id", "one job", { params: idParam }, async (req) => {
    const j = await getJob((req.params as { id: string }).id);
    const view = jobView(j);
    view.artifacts = await store.listArtifacts(j.id);
    if (j.type === "submit") view.entry = (await store.getEntryByJob(j.id))?.id ?? null;
    return view;
  });

  const logsQuery = {
    type: "object",
    additionalProperties: false,
    properties: {
      after: { type: "string", pattern: "^[0-9]{1,15}$" },
      limit: { type: "string", pattern: "^[0-9]{1,5}$" },
      stream: { type: "string", enum: ["stdout", "stderr", "system", "metrics"] },
    },
  } as const;

  route(
    "GET",
    "/api/jobs/:id/logs",
    "a job's log lines (kept after it ends)",
    { params: idParam, querystring: logsQuery },
    async (req) => {
      const j = await getJob((req.params as { id: string }).id);
      const q = req.query as { after?: string; limit?: string; stream?: string };
      const lines = await store.getLogs(j.id, Number(q.after ?? 0), Math.min(5000, Number(q.limit ?? 1000)));
      return {
        job: j.id,
        state: j.state,
        lines: (q.stream ? lines.filter((l) => l.stream === q.stream) : lines).map((l) => ({
          id: l.id,
          at: ISO(l.at),
          stream: l.stream,
          line: l.line,
        })),
        next: lines.length ? lines[lines.length - 1].id : Number(q.after ?? 0),
        done: TERMINAL_STATES.includes(j.state),
      };
    },
  );

  route(
    "GET",
    "/api/jobs/:id/logs/stream",
    "a job's log as server-sent events: 'log' events, then one 'end' event with the final state",
    { params: idParam },
    async (req, reply) => {
      const j = await getJob((req.params as { id: string }).id);
      let after = Number(req.headers["last-event-id"] ?? 0) || 0;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        ...(reply.getHeader("access-control-allow-origin")
          ? { "access-control-allow-origin": String(reply.getHeader("access-control-allow-origin")) }
          : {}),
      });
      let open = true;
      req.raw.on("close", () => {
        open = false;
      });
      let lastBeat = Date.now();
      while (open) {
        const lines = await store.getLogs(j.id, after, 500);
        for (const l of lines) {
          res.write(
            `id: ${l.id}\nevent: log\ndata: ${JSON.stringify({ id: l.id, at: ISO(l.at), stream: l.stream, line: l.line })}\n\n`,
          );
          after = l.id;
        }
        if (lines.length === 500) continue;
        const now = await store.getJob(j.id);
        if (!now || TERMINAL_STATES.includes(now.state)) {
          // Lines written in the same transaction as the end were read above only if they came first: read once more.
          const tail = await store.getLogs(j.id, after, 5000);
          for (const l of tail) {
            res.write(
              `id: ${l.id}\nevent: log\ndata: ${JSON.stringify({ id: l.id, at: ISO(l.at), stream: l.stream, line: l.line })}\n\n`,
            );
          }
          res.write(
            `event: end\ndata: ${JSON.stringify({ state: now?.state ?? "deleted", error: now?.error ?? null })}\n\n`,
          );
          break;
        }
        if (Date.now() - lastBeat > 15_000) {
          res.write(": keep-alive\n\n");
          lastBeat = Date.now();
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      res.end();
    },
  );

  route(
    "POST",
    "/api/jobs/:id/cancel",
    "cancel a job (its author or an admin): a queued job at once, a running one within a lease period",
    { params: idParam },
    async (req) => {
      const t = await authOf(req, "user");
      const j = await getJob((req.params as { id: string }).id);
      if (t.role !== "admin" && t.author !== j.author) {
        throw new HttpError(403, "FORBIDDEN", "only the job's author or an admin can cancel it");
      }
      if (TERMINAL_STATES.includes(j.state)) {
        throw new HttpError(409, "CONFLICT", `job ${j.id} has already ended (${j.state})`);
      }
      return jobView((await store.requestCancel(j.id, Date.now())) as JobRow);
    },
    "user",
  );

  route(
    "DELETE",
    "/api/jobs/:id",
    "delete a job that is not running, with its logs, artifacts and leaderboard entry (admin)",
    { params: idParam },
    async (req) => {
      await authOf(req, "admin");
      const j = await getJob((req.params as { id: string }).id);
      if (!(await store.deleteJob(j.id)))
        throw new HttpError(409, "CONFLICT", `job ${j.id} is running; cancel it first`);
      return { deleted: j.id };
    },
    "admin",
  );

  route("GET", "/api/jobs/:id/artifacts", "a job's artifacts", { params: idParam }, async (req) => {
    const j = await getJob((req.params as { id: string }).id);
    return {
      artifacts: (await store.listArtifacts(j.id)).map((a) => ({
        name: a.name,
        content_type: a.contentType,
        size: a.size,
        url: `/api/jobs/${j.id}/artifacts/${a.name}`,
      })),
    };
  });

  route("GET", "/api/jobs/:id/artifacts/*", "download one artifact", {}, async (req, reply) => {
    const p = req.params as { id: string; "*": string };
    if (!/^[0-9a-f-]{36}$/.test(p.id)) throw new HttpError(400, "BAD_REQUEST", "params/id must be a job id");
    const a = await store.getArtifact(p.id, p["*"]);
    if (!a) throw new HttpError(404, "NOT_FOUND", `job ${p.id} has no artifact '${p["*"]}'`);
    const base = a.name.split("/").pop() ?? a.name;
    return (
      reply
        .header("content-type", a.contentType)
        .header("content-disposition", `inline; filename="${base.replace(/[^A-Za-z0-9_.-]/g, "_")}"`)
        .header("x-content-type-options", "nosniff")
        // An SVG opened on its own must not run script in our origin.
        .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
        .send(a.data)
    );
  });

  const boards = new Map<string, { version: string; body: string }>();
  const compQuery = {
    type: "object",
    additionalProperties: false,
    properties: {
      competition: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,39}$" },
      latest: { type: "string", enum: ["0", "1", "true", "false"] },
    },
  } as const;
  const competitionOf = (id: string | undefined): Competition => {
    const c = o.competitions.get(id ?? o.defaultCompetition);
    if (!c) throw new HttpError(404, "NOT_FOUND", `no competition '${id}'`);
    return c;
  };

  route(
    "GET",
    "/api/leaderboard",
    "the ranked leaderboard: mean edge vs the normalizer with 95% CIs, paired differences, ties",
    { querystring: compQuery },
    async (req, reply) => {
      const q = req.query as { competition?: string; latest?: string };
      const c = competitionOf(q.competition);
      const latest = q.latest === "1" || q.latest === "true";
      // Ranking reads and parses every entry's per-seed numbers: keep the answer until an entry
      // is added or removed (by any process: the version is read from the database).
      const version = await store.entriesVersion(c.id);
      const key = `${c.id}/${latest}`;
      let cached = boards.get(key);
      if (cached?.version !== version) {
        cached = {
          version,
          body: JSON.stringify({ competition: c, rows: rankEntries(await store.listEntries(c.id), latest) }),
        };
        boards.set(key, cached);
      }
      return reply.header("content-type", "application/json; charset=utf-8").send(cached.body);
    },
  );

  route(
    "GET",
    "/api/entries/:id",
    "one leaderboard entry: per-seed results, its rank, capital weight per epoch and paired comparisons",
    { params: idParam },
    async (req) => {
      const e = await store.getEntry((req.params as { id: string }).id);
      if (!e) throw new HttpError(404, "NOT_FOUND", `no entry ${(req.params as { id: string }).id}`);
      const c = competitionOf(e.competition);
      const all = await store.listEntries(e.competition);
      const rows = rankEntries(all);
      const row = rows.find((r) => r.entryId === e.id);
      const byId = new Map(all.map((x) => [x.id, x]));
      const comparisons = rows
        .filter((r) => r.entryId !== e.id)
        .map((r) => {
          const other = byId.get(r.entryId) as typeof e;
          const d = Float64Array.from(e.vsNormalizer, (x, i) => x - other.vsNormalizer[i]);
          let wins = 0;
          for (const x of d) if (x > 0) wins++;
          return {
            entryId: r.entryId,
            author: r.author,
            name: r.name,
            version: r.version,
            rank: r.rank,
            diff: estimate(d),
            winRate: wins / d.length,
          };
        });
      const weights = await weightsPerEpoch(store, e.jobId);
      return {
        entry: { ...e, created_at: ISO(e.createdAt) },
        competition: c,
        seeds: Array.from({ length: e.vsNormalizer.length }, (_, i) => c.seedStart + i),
        row: row ?? null,
        comparisons,
        weightsPerEpoch: weights,
      };
    },
  );

  route(
    "DELETE",
    "/api/entries/:id",
    "remove a leaderboard entry (admin)",
    { params: idParam },
    async (req) => {
      await authOf(req, "admin");
      const id = (req.params as { id: string }).id;
      if (!(await store.deleteEntry(id))) throw new HttpError(404, "NOT_FOUND", `no entry ${id}`);
      return { deleted: id };
    },
    "admin",
  );

  route(
    "GET",
    "/api/authors/:author",
    "an author's history: entries in a competition (every version) and recent jobs",
    {
      params: {
        type: "object",
        properties: { author: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$" } },
        required: ["author"],
      },
      querystring: compQuery,
    },
    async (req) => {
      const { author } = req.params as { author: string };
      const c = competitionOf((req.query as { competition?: string }).competition);
      const rows = rankEntries(await store.listEntries(c.id)).filter((r) => r.author === author);
      rows.sort((a, b) => a.createdAt - b.createdAt);
      const jobs = await store.listJobs({ author, limit: 50 });
      return { author, competition: c.id, entries: rows, jobs: jobs.map(jobView) };
    },
  );

  return app;
}

/** Mean capital weight per epoch over the entry's simulations, from its result.json artifact. */
async function weightsPerEpoch(store: Store, jobId: string): Promise<number[] | null> {
  const a = await store.getArtifact(jobId, "result.json");
  if (!a) return null;
  const json = JSON.parse(a.data.toString("utf8")) as {
    runs?: { simulations: { pools: { epochs?: { weight: number }[] }[] }[] }[];
  };
  const sims = json.runs?.[0]?.simulations ?? [];
  if (sims.length === 0) return null;
  const epochs = sims[0].pools[0].epochs?.length ?? 0;
  const out: number[] = [];
  for (let k = 0; k < epochs; k++) {
    let s = 0;
    for (const sim of sims) s += sim.pools[0].epochs?.[k]?.weight ?? NaN;
    out.push(s / sims.length);
  }
  return out;
}
