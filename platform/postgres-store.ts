/**
 * PostgreSQL, for deployments where API servers and workers on several machines share one
 * database and one queue. A claim locks the job it picks with FOR UPDATE SKIP LOCKED, so
 * concurrent workers each take a different job without waiting on each other; entry versions
 * are numbered under a transaction-scoped advisory lock per (competition, author).
 */
import pg from "pg";
import { SCHEMA } from "./store.js";
import { SqlStore, type Dialect, type Row, type Tx } from "./sql-store.js";

/** `?` placeholders to `$1, $2, ...` (our statements have no `?` inside strings). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function txOf(client: pg.Pool | pg.PoolClient): Tx {
  return {
    all: async (sql, params = []) => (await client.query(numbered(sql), params as unknown[])).rows as Row[],
    run: async (sql, params = []) => (await client.query(numbered(sql), params as unknown[])).rowCount ?? 0,
    lock: async (key) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [key]);
    },
  };
}

class PostgresDialect implements Dialect {
  readonly kind = "postgres" as const;
  readonly claimLock = " FOR UPDATE SKIP LOCKED";
  private readonly base: Tx;

  constructor(private readonly pool: pg.Pool) {
    this.base = txOf(pool);
  }

  all(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.base.all(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.base.run(sql, params);
  }

  lock(): Promise<void> {
    return Promise.reject(new Error("a lock is only taken inside a transaction"));
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const out = await fn(txOf(client));
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Connects to `url` (postgres://...) and creates the schema if it is not there. */
export async function openPostgresStore(url: string): Promise<SqlStore> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  // A lost connection is reported by the query that used it; an idle one must not kill the process.
  pool.on("error", () => undefined);
  const client = await pool.connect();
  try {
    // Two processes creating the schema at once would race on CREATE TABLE IF NOT EXISTS.
    await client.query("SELECT pg_advisory_lock(hashtext('propamm-schema'))");
    for (const stmt of SCHEMA) {
      await client.query(stmt.replace("SERIAL_ID", "BIGSERIAL PRIMARY KEY").replace(/\bBLOB\b/g, "BYTEA"));
    }
    await client.query("SELECT pg_advisory_unlock(hashtext('propamm-schema'))");
  } finally {
    client.release();
  }
  return new SqlStore(new PostgresDialect(pool));
}
