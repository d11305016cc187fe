/**
 * One training process per run folder: `propamm train` holds `<out>/train.lock` (the holder's
 * pid, host and start time) while it runs. A second run on the folder is refused with an error
 * naming the holder; a lock left by a process that no longer exists on this host is taken over.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { CheckpointError } from "../agents/checkpoint.js";

export const LOCK_FILE = "train.lock";

interface LockRecord {
  pid: number;
  host: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(path: string): LockRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, "utf8")) as LockRecord;
    return Number.isSafeInteger(r.pid) && r.pid > 0 ? r : null;
  } catch {
    return null;
  }
}

/** A held lock; `release()` removes the file if it is still this process's. */
export interface RunLock {
  readonly path: string;
  /** Set when a stale lock of a dead process was taken over: its record. */
  readonly tookOver?: LockRecord;
  release(): void;
}

/** Takes `<dir>/train.lock` or throws CheckpointError naming the process that holds it. */
export function lockRunFolder(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: LockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  let tookOver: LockRecord | undefined;
  // The record is written to a file of our own and linked into place: the lock file appears
  // complete or not at all, and link fails if it exists.
  const mine = join(dir, `.${LOCK_FILE}.${process.pid}`);
  try {
    writeFileSync(mine, JSON.stringify(me) + "\n");
  } catch (err) {
    throw new CheckpointError(`cannot lock ${dir}: ${(err as Error).message}`);
  }
  try {
    return take();
  } finally {
    rmSync(mine, { force: true });
  }

  function take(): RunLock {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new CheckpointError(`cannot lock ${dir}: ${(err as Error).message}`);
        }
        const held = readLock(path);
        if (held && (held.host !== me.host || alive(held.pid))) {
          throw new CheckpointError(
            `${dir} is in use by another training run: pid ${held.pid} on ${held.host}, started ${held.startedAt} ` +
              `(lock file ${path}; if that process is gone, delete the file)`,
          );
        }
        // A dead holder on this host, or an unreadable lock file: take it over.
        tookOver = held ?? undefined;
        rmSync(path, { force: true });
        continue;
      }
      return {
        path,
        tookOver,
        release() {
          if (readLock(path)?.pid === me.pid) rmSync(path, { force: true });
        },
      };
    }
    throw new CheckpointError(`cannot lock ${dir}: another process keeps replacing ${path}`);
  }
}
