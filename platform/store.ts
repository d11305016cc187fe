/**
 * The platform's storage contract: jobs (a queue with leases), their logs and artifacts,
 * strategies by sha256, API tokens (hashed), competitions and leaderboard entries. Two
 * implementations: SQLite (sqlite-store.ts, the embedded default) and PostgreSQL
 * (postgres-store.ts, for several API servers and workers sharing one database).
 *
 * The queue's guarantees live here, so they hold for every caller:
 * - claiming is atomic: one job goes to one worker (SQLite: one writer at a time under
 *   BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED);
 * - a claim is a lease: a worker renews it while the job runs; a worker that dies stops
 *   renewing, the lease expires and the job is claimed again (up to maxAttempts);
 * - finishing is one transaction guarded by the lease: state, result, artifacts and the
 *   leaderboard entry are written together, and only by the worker that holds the lease, so a
 *   job ends exactly once.
 */

export type JobType = "validate" | "run" | "submit" | "eval" | "train";
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const JOB_TYPES: readonly JobType[] = ["validate", "run", "submit", "eval", "train"];
export const JOB_STATES: readonly JobState[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const TERMINAL_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];

export type Role = "user" | "admin";

export interface TokenRow {
  id: string;
  /** sha256 (hex) of the token; the token itself is never stored. */
  hash: string;
  author: string;
  role: Role;
  createdAt: number;
}

export interface StrategyRow {
  sha256: string;
  filename: string;
  source: string;
  size: number;
  /** Who uploaded it first. */
  author: string;
  createdAt: number;
}

/** Per-job limits, already capped by the server's maxima. */
export interface JobLimits {
  timeSeconds: number;
  memoryMb: number;
}

export interface JobRow {
  id: string;
  type: JobType;
  state: JobState;
  author: string;
  competition: string | null;
  strategySha256: string | null;
  /** Display name of the strategy (submit), else null. */
  name: string | null;
  params: Record<string, unknown>;
  limits: JobLimits;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  cancelRequested: boolean;
  error: string | null;
  result: unknown;
}

export type NewJob = Pick<
  JobRow,
  "id" | "type" | "author" | "competition" | "strategySha256" | "name" | "params" | "limits" | "maxAttempts"
> & { createdAt: number };

export interface LogLine {
  /** Increasing across the whole database; a client follows a log by asking for ids above the last it saw. */
  id: number;
  at: number;
  /** The job's output, the worker's own messages, or (training) a metrics.jsonl record. */
  stream: "stdout" | "stderr" | "system" | "metrics";
  line: string;
}

export interface Artifact {
  name: string;
  contentType: string;
  data: Buffer;
}

export interface ArtifactInfo {
  name: string;
  contentType: string;
  size: number;
}

export interface CompetitionRow {
  id: string;
  /** The competition's published definition (seeds, opponents, simulation settings), as JSON. */
  definition: Record<string, unknown>;
  createdAt: number;
}

/** One leaderboard row: a strategy version of one author, evaluated on the competition's seeds. */
export interface EntryRow {
  id: string;
  competition: string;
  jobId: string;
  strategySha256: string;
  author: string;
  name: string;
  /** 1 for an author's first strategy of this name in this competition, then 2, 3, ... */
  version: number;
  createdAt: number;
  /** Per seed, in seed order: the strategy's edge minus the normalizer's. */
  vsNormalizer: number[];
  /** Per seed, in seed order: the strategy's edge. */
  edge: number[];
}

export type NewEntry = Omit<EntryRow, "version">;

export interface JobOutcome {
  state: "succeeded" | "failed" | "cancelled";
  error?: string;
  result?: unknown;
  artifacts?: Artifact[];
  /** A leaderboard entry to add with the result (submit jobs), unless the author already has this strategy there. */
  entry?: NewEntry;
}

export interface JobFilter {
  author?: string;
  state?: JobState;
  type?: JobType;
  limit: number;
  /** Only jobs created before this time (for paging, newest first). */
  before?: number;
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  close(): Promise<void>;

  addToken(token: TokenRow): Promise<void>;
  findToken(hash: string): Promise<TokenRow | undefined>;
  countTokens(role?: Role): Promise<number>;

  /** Stores the strategy unless one with its sha256 exists; returns the stored row. */
  putStrategy(strategy: StrategyRow): Promise<StrategyRow>;
  getStrategy(sha256: string): Promise<StrategyRow | undefined>;

  /** Stores the competition unless it exists; returns the stored row (compare definitions to detect a change). */
  putCompetition(competition: CompetitionRow): Promise<CompetitionRow>;
  getCompetition(id: string): Promise<CompetitionRow | undefined>;

  insertJob(job: NewJob): Promise<JobRow>;
  getJob(id: string): Promise<JobRow | undefined>;
  listJobs(filter: JobFilter): Promise<JobRow[]>;
  countJobs(state: JobState): Promise<number>;
  /** A queued job is cancelled at once; a running one is flagged for its worker. Returns the job after. */
  requestCancel(id: string, now: number): Promise<JobRow | undefined>;
  /** Removes a job that is not running, with its logs and artifacts (and its leaderboard entry). */
  deleteJob(id: string): Promise<boolean>;

  /**
   * Claims the oldest claimable job: queued, or running with an expired lease and attempts left.
   * Jobs whose lease expired with no attempts left are failed on the way. Atomic.
   */
  claimJob(workerId: string, now: number, leaseMs: number): Promise<JobRow | undefined>;
  /** Extends the lease if this worker still holds it; says whether it does and whether cancel was asked. */
  renewLease(id: string, workerId: string, now: number, leaseMs: number): Promise<{ held: boolean; cancel: boolean }>;
  /** Appends log lines if this worker holds the lease (a worker that lost its job writes nothing more). */
  appendLogs(id: string, workerId: string, lines: Omit<LogLine, "id">[]): Promise<boolean>;
  getLogs(id: string, afterId: number, limit: number): Promise<LogLine[]>;
  /** Ends a job in one transaction, only if this worker holds its lease. Returns false if it does not. */
  finishJob(id: string, workerId: string, now: number, outcome: JobOutcome): Promise<boolean>;

  listArtifacts(jobId: string): Promise<ArtifactInfo[]>;
  getArtifact(jobId: string, name: string): Promise<Artifact | undefined>;

  listEntries(competition: string): Promise<EntryRow[]>;
  /** Changes whenever a competition's entries do (an entry added or removed): a cache key. */
  entriesVersion(competition: string): Promise<string>;
  getEntryByJob(jobId: string): Promise<EntryRow | undefined>;
  getEntry(id: string): Promise<EntryRow | undefined>;
  deleteEntry(id: string): Promise<boolean>;
}

/** Row decoding shared by both stores: JSON text columns and integer times. */
export function jobFromRow(r: Record<string, unknown>): JobRow {
  return {
    id: String(r.id),
    type: r.type as JobType,
    state: r.state as JobState,
    author: String(r.author),
    competition: (r.competition as string | null) ?? null,
    strategySha256: (r.strategy_sha256 as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
    limits: JSON.parse(String(r.limits)) as JobLimits,
    createdAt: Number(r.created_at),
    startedAt: r.started_at == null ? null : Number(r.started_at),
    finishedAt: r.finished_at == null ? null : Number(r.finished_at),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseUntil: r.lease_until == null ? null : Number(r.lease_until),
    cancelRequested: Boolean(Number(r.cancel_requested)),
    error: (r.error as string | null) ?? null,
    result: r.result == null ? null : JSON.parse(String(r.result)),
  };
}

export function entryFromRow(r: Record<string, unknown>): EntryRow {
  return {
    id: String(r.id),
    competition: String(r.competition),
    jobId: String(r.job_id),
    strategySha256: String(r.strategy_sha256),
    author: String(r.author),
    name: String(r.name),
    version: Number(r.version),
    createdAt: Number(r.created_at),
    vsNormalizer: JSON.parse(String(r.vs_normalizer)) as number[],
    edge: JSON.parse(String(r.edge)) as number[],
  };
}

export function tokenFromRow(r: Record<string, unknown>): TokenRow {
  return {
    id: String(r.id),
    hash: String(r.hash),
    author: String(r.author),
    role: r.role as Role,
    createdAt: Number(r.created_at),
  };
}

export function strategyFromRow(r: Record<string, unknown>): StrategyRow {
  return {
    sha256: String(r.sha256),
    filename: String(r.filename),
    source: String(r.source),
    size: Number(r.size),
    author: String(r.author),
    createdAt: Number(r.created_at),
  };
}

/**
 * The schema, one statement per entry, in a dialect-neutral form: `BLOB` becomes `BYTEA` and
 * `SERIAL_ID` an auto-increment key in each store.
 */
export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS tokens (
     id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, author TEXT NOT NULL, role TEXT NOT NULL,
     created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS strategies (
     sha256 TEXT PRIMARY KEY, filename TEXT NOT NULL, source TEXT NOT NULL, size INTEGER NOT NULL,
     author TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS competitions (
     id TEXT PRIMARY KEY, definition TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS jobs (
     id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL, author TEXT NOT NULL,
     competition TEXT, strategy_sha256 TEXT, name TEXT, params TEXT NOT NULL, limits TEXT NOT NULL,
     created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT,
     attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
     lease_owner TEXT, lease_until BIGINT, cancel_requested INTEGER NOT NULL DEFAULT 0,
     error TEXT, result TEXT)`,
  `CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (state, created_at)`,
  `CREATE INDEX IF NOT EXISTS jobs_author ON jobs (author, created_at)`,
  `CREATE TABLE IF NOT EXISTS job_logs (
     id SERIAL_ID, job_id TEXT NOT NULL, at BIGINT NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS job_logs_job ON job_logs (job_id, id)`,
  `CREATE TABLE IF NOT EXISTS artifacts (
     job_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL, data BLOB NOT NULL,
     size INTEGER NOT NULL, PRIMARY KEY (job_id, name))`,
  `CREATE TABLE IF NOT EXISTS entries (
     id TEXT PRIMARY KEY, competition TEXT NOT NULL, job_id TEXT NOT NULL UNIQUE,
     strategy_sha256 TEXT NOT NULL, author TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
     created_at BIGINT NOT NULL, vs_normalizer TEXT NOT NULL, edge TEXT NOT NULL,
     UNIQUE (competition, author, strategy_sha256))`,
];
