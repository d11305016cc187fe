/**
 * `propamm submit`: validate, run, and write runs/submissions/submission_<timestamp>/ with copies of
 * the strategy files and receipt.json. The folder is written under a temporary name and renamed
 * into place, so an interrupted submit never leaves a half-written receipt.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { BatchResult } from "../arena/runner.js";
import type { Summary } from "../arena/stats.js";
import { looksLikeFile } from "../arena/loader.js";

export function timestamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function writeSubmission(root: string, batch: BatchResult, summary: Summary, now = new Date()): string {
  mkdirSync(root, { recursive: true });
  let name = `submission_${timestamp(now)}`;
  for (let k = 2; existsSync(join(root, name)); k++) name = `submission_${timestamp(now)}_${k}`;
  const final = join(root, name);
  const temp = join(root, `.${name}.partial`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  try {
    const files: { spec: string; file: string; sha256: string }[] = [];
    for (const spec of batch.strategies) {
      if (!looksLikeFile(spec)) continue;
      const src = resolve(spec);
      const copy = basename(src);
      copyFileSync(src, join(temp, copy));
      files.push({ spec, file: copy, sha256: sha256File(src) });
    }
    const receipt = {
      createdAt: now.toISOString(),
      tool: "prop-amm-gym",
      strategies: batch.strategies,
      files,
      config: batch.config,
      simulations: batch.seeds.length,
      seeds: { start: batch.seeds[0], count: batch.seeds.length },
      statistics: summary,
    };
    writeFileSync(join(temp, "receipt.json"), JSON.stringify(receipt, null, 2) + "\n");
    renameSync(temp, final);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return final;
}
