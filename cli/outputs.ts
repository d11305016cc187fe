/**
 * Where the commands write, and the check that they can, made before any simulation or
 * training starts: a run that cannot save its results must fail in its first second, not
 * after an hour. Defaults all live under one folder (`runs/`), which the repository ignores
 * (git, eslint, prettier), so a command run in a checkout never dirties it.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../env/config.js";

/** The folder every default output goes under, relative to the working directory. */
export const OUTPUT_ROOT = "runs";

/** A default output location: `runs/<parts...>`. */
export function defaultOutput(...parts: string[]): string {
  return join(OUTPUT_ROOT, ...parts);
}

/** A short reason for a failed file-system call, without Node's stack or syscall noise. */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOTDIR":
    case "EEXIST":
      return "a part of the path is a file, not a folder";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "read-only file system";
    case "ENOSPC":
      return "no space left on the device";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** Creates `dir` (and its parents) and proves a file can be written in it. */
function ensureWritableDir(dir: string, option: string, shown: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`${option}: cannot create ${shown}: ${reason(err)}`);
  }
  // access(W_OK) says yes to root on a read-only mount's permission bits; writing says the truth.
  const probe = join(dir, `.propamm-write-check-${process.pid}`);
  try {
    writeFileSync(probe, "");
  } catch (err) {
    throw new ConfigError(`${option}: cannot write in ${shown}: ${reason(err)}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * Checks that `path` can be written as a file: creates its parent folders, refuses a path that
 * is a folder or a read-only file. Throws ConfigError (exit 2) naming the option and the path.
 */
export function prepareOutputFile(path: string, option: string): void {
  const abs = resolve(path);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new ConfigError(`${option}: ${path} is a directory`);
  ensureWritableDir(dirname(abs), option, `the folder of ${path}`);
  if (existsSync(abs)) {
    try {
      accessSync(abs, constants.W_OK);
    } catch (err) {
      throw new ConfigError(`${option}: cannot overwrite ${path}: ${reason(err)}`);
    }
  }
}

/**
 * Checks that `path` can be used as an output folder: creates it (and its parents) and proves
 * a file can be written in it. Throws ConfigError (exit 2) naming the option and the path.
 */
export function prepareOutputDir(path: string, option: string): void {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new ConfigError(`${option}: ${path} exists and is not a directory`);
  ensureWritableDir(resolve(path), option, path);
}
