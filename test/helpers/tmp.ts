/**
 * A scratch folder for one test file: created when the file loads, removed with everything in
 * it after the file's last test (an afterAll hook registered here, so call it at module level
 * or inside a describe, not inside a test).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A fresh folder under the OS temp dir, named `prefix` + random characters. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
