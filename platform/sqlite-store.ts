/**
 * The embedded default: one SQLite file (better-sqlite3), shared by the API and the worker
 * processes of one machine. WAL lets readers run beside the one writer; every transaction
 * starts with BEGIN IMMEDIATE, which takes the write lock at once, so two workers cannot
 * claim the same job. Within one process, statements are queued so a transaction's statements
 * are never interleaved with another request's (better-sqlite3 is synchronous; the awaits
 * between statements would otherwise let them mix).
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SCHEMA } from "./store.js";
import { SqlStore, type Dialect, type Row, type Tx } from "./sql-store.js";

function toSqlite(v: unknown): unknown {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}

class SqliteDialect implements Dialect {
  readonly kind = "sqlite" as const;
  readonly claimLock = "";
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tx: Tx;

  constructor(private readonly db: Database.Database) {
    this.tx = {
      all: async (sql, params = []) => this.db.prepare(sql).all(...params.map(toSqlite)) as Row[],
      run: async (sql, params = []) => this.db.prepare(sql).run(...params.map(toSqlite)).changes,
      lock: async () => {},
    };
  }

  /** Runs fn after every earlier operation of this process has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.serial(() => this.tx.all(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.serial(() => this.tx.run(sql, params));
  }

  lock(): Promise<void> {
    return Promise.resolve();
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(this.tx);
        this.db.exec("COMMIT");
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}

/** Opens (creating if needed) the SQLite database at `file` and its schema. */
export function openSqliteStore(file: string): SqlStore {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // A second process holding the write lock makes this one wait instead of failing at once.
  db.pragma("busy_timeout = 10000");
  db.pragma("synchronous = NORMAL");
  for (const stmt of SCHEMA) {
    db.exec(stmt.replace("SERIAL_ID", "INTEGER PRIMARY KEY AUTOINCREMENT").replace(/\bBIGINT\b/g, "INTEGER"));
  }
  return new SqlStore(new SqliteDialect(db));
}
