/**
 * The Store contract (store.ts) over SQL, written once for both databases. A dialect adapter
 * (sqlite-store.ts, postgres-store.ts) supplies statements, transactions and the two places
 * the dialects differ: the row lock of a claim and a lock for numbering versions.
 */
import {
  entryFromRow,
  jobFromRow,
  strategyFromRow,
  tokenFromRow,
  type Artifact,
  type ArtifactInfo,
  type CompetitionRow,
  type EntryRow,
  type JobFilter,
  type JobOutcome,
  type JobRow,
  type JobState,
  type LogLine,
  type NewJob,
  type Role,
  type Store,
  type StrategyRow,
  type TokenRow,
} from "./store.js";

export type Row = Record<string, unknown>;

/** Statements inside a transaction (or outside, on the adapter itself). `?` marks parameters. */
export interface Tx {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Serialises writers that number things (entry versions) under one key, until the transaction ends. */
  lock(key: string): Promise<void>;
}

export interface Dialect extends Tx {
  readonly kind: "sqlite" | "postgres";
  /** Appended to the claim's SELECT: row locks where the database has them. */
  readonly claimLock: string;
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const JSON_OR_NULL = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

export class SqlStore implements Store {
  constructor(private readonly db: Dialect) {}

  get kind(): "sqlite" | "postgres" {
    return this.db.kind;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async addToken(t: TokenRow): Promise<void> {
    await this.db.run("INSERT INTO tokens (id, hash, author, role, created_at) VALUES (?, ?, ?, ?, ?)", [
      t.id,
      t.hash,
      t.author,
      t.role,
      t.createdAt,
    ]);
  }

  async findToken(hash: string): Promise<TokenRow | undefined> {
    const rows = await this.db.all("SELECT * FROM tokens WHERE hash = ?", [hash]);
    return rows[0] ? tokenFromRow(rows[0]) : undefined;
  }

  async countTokens(role?: Role): Promise<number> {
    const rows = role
      ? await this.db.all("SELECT COUNT(*) AS n FROM tokens WHERE role = ?", [role])
      : await this.db.all("SELECT COUNT(*) AS n FROM tokens");
    return Number(rows[0].n);
  }

  async putStrategy(s: StrategyRow): Promise<StrategyRow> {
    await this.db.run(
      "INSERT INTO strategies (sha256, filename, source, size, author, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
      [s.sha256, s.filename, s.source, s.size, s.author, s.createdAt],
    );
    return (await this.getStrategy(s.sha256)) as StrategyRow;
  }

  async getStrategy(sha256: string): Promise<StrategyRow | undefined> {
    const rows = await this.db.all("SELECT * FROM strategies WHERE sha256 = ?", [sha256]);
    return rows[0] ? strategyFromRow(rows[0]) : undefined;
  }

  async putCompetition(c: CompetitionRow): Promise<CompetitionRow> {
    await this.db.run(
      "INSERT INTO competitions (id, definition, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
      [c.id, JSON.stringify(c.definition), c.createdAt],
    );
    return (await this.getCompetition(c.id)) as CompetitionRow;
  }

  async getCompetition(id: string): Promise<CompetitionRow | undefined> {
    const rows = await this.db.all("SELECT * FROM competitions WHERE id = ?", [id]);
    if (!rows[0]) return undefined;
    return {
      id: String(rows[0].id),
      definition: JSON.parse(String(rows[0].definition)) as Record<string, unknown>,
      createdAt: Number(rows[0].created_at),
    };
  }

  async insertJob(j: NewJob): Promise<JobRow> {
    await this.db.run(
      `INSERT INTO jobs (id, type, state, author, competition, strategy_sha256, name, params, limits, created_at,
         attempts, max_attempts, cancel_requested)
       VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, 0, ?, 0)`,
      [
        j.id,
        j.type,
        j.author,
        j.competition,
        j.strategySha256,
        j.name,
        JSON.stringify(j.params),
        JSON.stringify(j.limits),
        j.createdAt,
        j.maxAttempts,
      ],
    );
    return (await this.getJob(j.id)) as JobRow;
  }

  async getJob(id: string): Promise<JobRow | undefined> {
    const rows = await this.db.all("SELECT * FROM jobs WHERE id = ?", [id]);
    return rows[0] ? jobFromRow(rows[0]) : undefined;
  }

  async listJobs(f: JobFilter): Promise<JobRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      where.push(clause);
      params.push(value);
    };
    if (f.author !== undefined) add("author = ?", f.author);
    if (f.state !== undefined) add("state = ?", f.state);
    if (f.type !== undefined) add("type = ?", f.type);
    if (f.before !== undefined) add("created_at < ?", f.before);
    params.push(f.limit);
    const rows = await this.db.all(
      `SELECT * FROM jobs ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created_at DESC, id DESC LIMIT ?`,
      params,
    );
    return rows.map(jobFromRow);
  }

  async countJobs(state: JobState): Promise<number> {
    const rows = await this.db.all("SELECT COUNT(*) AS n FROM jobs WHERE state = ?", [state]);
    return Number(rows[0].n);
  }

  async requestCancel(id: string, now: number): Promise<JobRow | undefined> {
    await this.db.transaction(async (tx) => {
      const n = await tx.run(
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled before it started' WHERE id = ? AND state = 'queued'",
        [now, id],
      );
      if (n === 0) await tx.run("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'", [id]);
    });
    return this.getJob(id);
  }

  async deleteJob(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const n = await tx.run("DELETE FROM jobs WHERE id = ? AND state <> 'running'", [id]);
      if (n === 0) return false;
      await tx.run("DELETE FROM job_logs WHERE job_id = ?", [id]);
      await tx.run("DELETE FROM artifacts WHERE job_id = ?", [id]);
      await tx.run("DELETE FROM entries WHERE job_id = ?", [id]);
      return true;
    });
  }

  async claimJob(workerId: string, now: number, leaseMs: number): Promise<JobRow | undefined> {
    return this.db.transaction(async (tx) => {
      // Leases that ran out on the last attempt (or on a job whose cancel was asked) end here.
      const dead = await tx.all(
        `SELECT id, attempts, cancel_requested FROM jobs
         WHERE state = 'running' AND lease_until < ? AND (attempts >= max_attempts OR cancel_requested = 1)${this.db.claimLock}`,
        [now],
      );
      for (const d of dead) {
        const cancelled = Number(d.cancel_requested) === 1;
        await tx.run(
          `UPDATE jobs SET state = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL, error = ? WHERE id = ?`,
          [
            cancelled ? "cancelled" : "failed",
            now,
            cancelled ? "cancelled" : `its worker stopped answering on each of ${Number(d.attempts)} attempts`,
            d.id,
          ],
        );
      }
      const rows = await tx.all(
        `SELECT id, state, attempts, max_attempts, lease_owner FROM jobs
         WHERE state = 'queued' OR (state = 'running' AND lease_until < ? AND attempts < max_attempts AND cancel_requested = 0)
         ORDER BY created_at, id LIMIT 1${this.db.claimLock}`,
        [now],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (row.state === "running") {
        await tx.run("INSERT INTO job_logs (job_id, at, stream, line) VALUES (?, ?, 'system', ?)", [
          row.id,
          now,
          `the lease of worker ${String(row.lease_owner)} expired; the job starts again (attempt ${Number(row.attempts) + 1} of ${Number(row.max_attempts)})`,
        ]);
      }
      await tx.run(
        `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?) WHERE id = ?`,
        [workerId, now + leaseMs, now, row.id],
      );
      const claimed = await tx.all("SELECT * FROM jobs WHERE id = ?", [row.id]);
      return jobFromRow(claimed[0]);
    });
  }

  async renewLease(
    id: string,
    workerId: string,
    now: number,
    leaseMs: number,
  ): Promise<{ held: boolean; cancel: boolean }> {
    const n = await this.db.run(
      "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'",
      [now + leaseMs, id, workerId],
    );
    if (n === 0) return { held: false, cancel: false };
    const rows = await this.db.all("SELECT cancel_requested FROM jobs WHERE id = ?", [id]);
    return { held: true, cancel: Number(rows[0]?.cancel_requested) === 1 };
  }

  async appendLogs(id: string, workerId: string, lines: Omit<LogLine, "id">[]): Promise<boolean> {
    if (lines.length === 0) return true;
    return this.db.transaction(async (tx) => {
      const held = await tx.all("SELECT 1 AS ok FROM jobs WHERE id = ? AND lease_owner = ? AND state = 'running'", [
        id,
        workerId,
      ]);
      if (held.length === 0) return false;
      for (const l of lines) {
        await tx.run("INSERT INTO job_logs (job_id, at, stream, line) VALUES (?, ?, ?, ?)", [
          id,
          l.at,
          l.stream,
          l.line,
        ]);
      }
      return true;
    });
  }

  async getLogs(id: string, afterId: number, limit: number): Promise<LogLine[]> {
    const rows = await this.db.all(
      "SELECT id, at, stream, line FROM job_logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
      [id, afterId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      stream: r.stream as LogLine["stream"],
      line: String(r.line),
    }));
  }

  async finishJob(id: string, workerId: string, now: number, o: JobOutcome): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const n = await tx.run(
        `UPDATE jobs SET state = ?, finished_at = ?, error = ?, result = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
        [o.state, now, o.error ?? null, JSON_OR_NULL(o.result), id, workerId],
      );
      if (n === 0) return false;
      for (const a of o.artifacts ?? []) {
        await tx.run("INSERT INTO artifacts (job_id, name, content_type, data, size) VALUES (?, ?, ?, ?, ?)", [
          id,
          a.name,
          a.contentType,
          a.data,
          a.data.length,
        ]);
      }
      const e = o.entry;
      if (e) {
        await tx.lock(`${e.competition}/${e.author}`);
        const v = await tx.all(
          "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM entries WHERE competition = ? AND author = ? AND name = ?",
          [e.competition, e.author, e.name],
        );
        await tx.run(
          `INSERT INTO entries (id, competition, job_id, strategy_sha256, author, name, version, created_at, vs_normalizer, edge)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (competition, author, strategy_sha256) DO NOTHING`,
          [
            e.id,
            e.competition,
            e.jobId,
            e.strategySha256,
            e.author,
            e.name,
            Number(v[0].v),
            e.createdAt,
            JSON.stringify(e.vsNormalizer),
            JSON.stringify(e.edge),
          ],
        );
      }
      return true;
    });
  }

  async listArtifacts(jobId: string): Promise<ArtifactInfo[]> {
    const rows = await this.db.all("SELECT name, content_type, size FROM artifacts WHERE job_id = ? ORDER BY name", [
      jobId,
    ]);
    return rows.map((r) => ({ name: String(r.name), contentType: String(r.content_type), size: Number(r.size) }));
  }

  async getArtifact(jobId: string, name: string): Promise<Artifact | undefined> {
    const rows = await this.db.all("SELECT name, content_type, data FROM artifacts WHERE job_id = ? AND name = ?", [
      jobId,
      name,
    ]);
    const r = rows[0];
    return r
      ? { name: String(r.name), contentType: String(r.content_type), data: Buffer.from(r.data as Uint8Array) }
      : undefined;
  }

  async listEntries(competition: string): Promise<EntryRow[]> {
    const rows = await this.db.all("SELECT * FROM entries WHERE competition = ? ORDER BY created_at, id", [
      competition,
    ]);
    return rows.map(entryFromRow);
  }

  async entriesVersion(competition: string): Promise<string> {
    const rows = await this.db.all(
      "SELECT COUNT(*) AS n, MAX(created_at) AS t, MAX(id) AS i FROM entries WHERE competition = ?",
      [competition],
    );
    return `${Number(rows[0].n)}:${Number(rows[0].t ?? 0)}:${String(rows[0].i ?? "")}`;
  }

  async getEntryByJob(jobId: string): Promise<EntryRow | undefined> {
    const rows = await this.db.all("SELECT * FROM entries WHERE job_id = ?", [jobId]);
    return rows[0] ? entryFromRow(rows[0]) : undefined;
  }

  async getEntry(id: string): Promise<EntryRow | undefined> {
    const rows = await this.db.all("SELECT * FROM entries WHERE id = ?", [id]);
    return rows[0] ? entryFromRow(rows[0]) : undefined;
  }

  async deleteEntry(id: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM entries WHERE id = ?", [id])) > 0;
  }
}
