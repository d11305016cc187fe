/**
 * A private PostgreSQL server for tests: a fresh cluster in a temporary folder (initdb, trust
 * authentication, loopback only, a free port), started with pg_ctl and removed afterwards.
 * Debian's `postgresql` package puts its programs in /usr/lib/postgresql/<version>/bin;
 * `.ci/run` installs it. PostgreSQL refuses to run as root: as root, the cluster belongs to
 * the `postgres` user the package creates.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PgServer {
  url: string;
  stop(): void;
}

/** The folder holding initdb/pg_ctl, or undefined with the reason. */
export function findPostgres(): { bin?: string; reason?: string } {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return { bin: join(root, versions[0], "bin") };
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return { bin: join(which.stdout.trim(), "..") };
  return { reason: "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)" };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function startPostgres(bin: string): Promise<PgServer> {
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "propamm-pg-"));
  const data = join(dir, "data");
  const uid = root ? Number(execFileSync("id", ["-u", "postgres"]).toString().trim()) : undefined;
  const gid = root ? Number(execFileSync("id", ["-g", "postgres"]).toString().trim()) : undefined;
  if (root) {
    chmodSync(dir, 0o755);
    chownSync(dir, uid as number, gid as number);
  }
  const as = (cmd: string, args: string[]): void => {
    const full = root ? ["-u", "postgres", "--", join(bin, cmd), ...args] : args;
    const r = spawnSync(root ? "runuser" : join(bin, cmd), full, { encoding: "utf8", cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  as("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  as("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "log"),
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "start",
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
