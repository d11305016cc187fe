/**
 * Checkpoints: a directory per save under the run's folder, and a LATEST file naming the
 * current one.
 *
 *   checkpoints/<name>/LATEST            "ckpt-000042"
 *   checkpoints/<name>/ckpt-000042/      state.json, policy/model.json, policy/weights.bin,
 *                                        (PPO) critic/model.json, critic/weights.bin
 *
 * A save writes a new directory under a temporary name, syncs it, renames it into place, then
 * replaces LATEST by rename. A kill at any moment leaves LATEST naming a complete checkpoint.
 * The policy can be read back without tfjs (state.json + the weights manifest), which is how
 * evaluation and export get exactly the trained deterministic policy.
 *
 * state.json carries a sha256 of every other file of the checkpoint (`checksums`); a file that
 * does not match is refused, and so is a weight that is NaN or infinite whatever the checksums
 * say. Checkpoints written before checksums existed (no `checksums`) still load.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { EnvConfig } from "../gym/env.js";
import type { RandomStreamState } from "../env/rng.js";
import { PropAmmError } from "../env/errors.js";
import type { Activation, ObsNormStats, PolicySpec } from "./mlp.js";
import { OBSERVATION_SIZE, type ObservationKind } from "../runtime/mapping.js";
import { OBSERVATION_KINDS, isObservationKind } from "../runtime/observation-kinds.js";

export const CHECKPOINT_FORMAT = "propamm-checkpoint";
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that is missing, corrupted or does not fit the run: bad input, like a bad option. */
export class CheckpointError extends PropAmmError {
  constructor(message: string) {
    super("CHECKPOINT", message);
    this.name = "CheckpointError";
  }
}

/** What the deployed policy needs: network shape, normalisation, fee mapping and schedule. */
export interface PolicyMeta {
  sizes: number[];
  activation: Activation;
  obsClip: number;
  obsNorm: ObsNormStats;
  feeMinBps: number;
  feeMaxBps: number;
  decisionInterval: number;
  epochLen: number;
  /** The observation the policy was trained on (spec §6.3); absent in checkpoints from before the choice: "seed". */
  observation?: ObservationKind;
}

export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  algo: "ppo" | "es";
  name: string;
  createdAt: string;
  seed: number;
  policy: PolicyMeta;
  /** Serializable env config used for training (opponents, and the opponent pool if any, as names or paths). */
  env: Partial<EnvConfig> & { opponents: string[]; opponentPool?: string[] };
  /** The algorithm's hyperparameters. */
  config: Record<string, unknown>;
  counters: { timesteps: number; episodes: number; iterations: number };
  rng: RandomStreamState;
  /** Optimizer state and anything else the algorithm needs to resume, as plain JSON. */
  algoState: Record<string, unknown>;
  /** sha256 (hex) of each other file of the checkpoint, by its path in the checkpoint directory. */
  checksums?: Record<string, string>;
}

export type CheckpointFiles = Record<string, string | Uint8Array>;

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The checksums state.json records: sha256 of every file but state.json itself. */
export function checksumFiles(files: CheckpointFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of Object.keys(files).sort()) if (rel !== "state.json") out[rel] = sha256(files[rel]);
  return out;
}

/**
 * Checks the checkpoint's files against the checksums in its state.json (when it has them);
 * throws CheckpointError naming the first file that is missing or differs.
 */
export function verifyChecksums(dir: string, state: CheckpointState): void {
  const sums = state.checksums;
  if (sums === undefined) return;
  if (sums === null || typeof sums !== "object")
    throw new CheckpointError(`${join(dir, "state.json")}: checksums are malformed`);
  for (const [rel, expected] of Object.entries(sums)) {
    const file = join(dir, rel);
    if (rel.includes("..") || typeof expected !== "string")
      throw new CheckpointError(`${join(dir, "state.json")}: checksums are malformed`);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      throw new CheckpointError(`${file} is missing`);
    }
    if (sha256(data) !== expected) {
      throw new CheckpointError(
        `${file} does not match its checksum in state.json: the file was changed or damaged after it was saved`,
      );
    }
  }
}

function writeDurable(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Not every platform lets a directory be synced; the renames are still atomic.
  }
}

/** Saves a checkpoint; returns its directory. Keeps the `keep` most recent ones. */
export function writeCheckpoint(root: string, iteration: number, files: CheckpointFiles, keep = 2): string {
  mkdirSync(root, { recursive: true });
  const name = `ckpt-${String(iteration).padStart(6, "0")}`;
  const final = join(root, name);
  const temp = join(root, `.${name}.partial-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  try {
    for (const [rel, data] of Object.entries(files)) writeDurable(join(temp, rel), data);
    syncDir(temp);
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
    writeDurable(join(root, `.LATEST.tmp-${process.pid}`), name + "\n");
    renameSync(join(root, `.LATEST.tmp-${process.pid}`), join(root, "LATEST"));
    syncDir(root);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  const old = readdirSync(root)
    .filter((f) => /^ckpt-\d+$/.test(f) && f !== name)
    .sort();
  for (const f of old.slice(0, Math.max(0, old.length - (keep - 1))))
    rmSync(join(root, f), { recursive: true, force: true });
  // Leftovers of saves that were killed: half-written directories and LATEST temporaries.
  for (const f of readdirSync(root)) {
    if (f.includes(".partial-") || f.startsWith(".LATEST.tmp-"))
      rmSync(join(root, f), { recursive: true, force: true });
  }
  return final;
}

/** A run folder (with LATEST) or a checkpoint directory (with state.json) -> the checkpoint directory. */
export function resolveCheckpoint(path: string): string {
  const p = resolve(path);
  if (!existsSync(p)) throw new CheckpointError(`checkpoint not found: ${path}`);
  if (existsSync(join(p, "LATEST"))) {
    const name = readFileSync(join(p, "LATEST"), "utf8").trim();
    if (!/^ckpt-\d+$/.test(name))
      throw new CheckpointError(`${join(path, "LATEST")} is corrupted: it names '${name.slice(0, 40)}'`);
    const dir = join(p, name);
    if (!existsSync(join(dir, "state.json")))
      throw new CheckpointError(`${join(path, "LATEST")} names ${name}, which has no state.json`);
    return dir;
  }
  if (existsSync(join(p, "state.json"))) return p;
  throw new CheckpointError(`${path} is not a checkpoint: it has neither LATEST nor state.json`);
}

function isNumberArray(x: unknown, len?: number): x is number[] {
  return (
    Array.isArray(x) &&
    x.every((v) => typeof v === "number" && Number.isFinite(v)) &&
    (len === undefined || x.length === len)
  );
}

export function readCheckpointState(dir: string): CheckpointState {
  const file = join(dir, "state.json");
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    throw new CheckpointError(`cannot read ${file}`);
  }
  let s: CheckpointState;
  try {
    s = JSON.parse(raw) as CheckpointState;
  } catch (err) {
    throw new CheckpointError(
      `${file} is corrupted: not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (s === null || typeof s !== "object" || s.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${file} is not a prop-amm gym checkpoint`);
  if (s.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${file} has checkpoint version ${String(s.version)}; this build reads version ${CHECKPOINT_VERSION}`,
    );
  }
  if (s.algo !== "ppo" && s.algo !== "es") throw new CheckpointError(`${file}: unknown algorithm '${String(s.algo)}'`);
  const p = s.policy;
  if (
    !p ||
    !isNumberArray(p.sizes) ||
    p.sizes.length < 2 ||
    !p.obsNorm ||
    !isNumberArray(p.obsNorm.mean, p.sizes[0]) ||
    !isNumberArray(p.obsNorm.var, p.sizes[0])
  ) {
    throw new CheckpointError(`${file}: the policy description is missing or malformed`);
  }
  const { min, max } = p.obsNorm;
  if (min !== undefined || max !== undefined) {
    if (!isNumberArray(min, p.sizes[0]) || !isNumberArray(max, p.sizes[0]) || min.some((lo, i) => lo > max[i]))
      throw new CheckpointError(
        `${file}: the observation range (obsNorm.min, obsNorm.max) must be ${p.sizes[0]} finite pairs with min <= max`,
      );
  }
  const kind = p.observation ?? "seed";
  if (!isObservationKind(kind))
    throw new CheckpointError(
      `${file}: unknown policy observation '${String(kind)}' (${OBSERVATION_KINDS.join(", ")})`,
    );
  if (p.sizes[0] !== OBSERVATION_SIZE[kind])
    throw new CheckpointError(
      `${file}: the policy takes ${p.sizes[0]} inputs, the ${kind} observation has ${OBSERVATION_SIZE[kind]}`,
    );
  if (!s.counters || typeof s.counters.timesteps !== "number")
    throw new CheckpointError(`${file}: counters are missing`);
  return s;
}

/** Reads a layers model's float32 weights in manifest order, without tfjs. */
export function readModelWeights(dir: string): { name: string; shape: number[]; values: Float32Array }[] {
  const file = join(dir, "model.json");
  let json: { weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CheckpointError(`${file} is missing or corrupted (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new CheckpointError(`${file} has no weightsManifest`);
  const out: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(
      group.paths.map((p) => {
        try {
          return readFileSync(join(dir, p));
        } catch {
          throw new CheckpointError(`${join(dir, p)} is missing`);
        }
      }),
    );
    let o = 0;
    for (const w of group.weights) {
      if (w.dtype !== "float32")
        throw new CheckpointError(`${file}: weight ${w.name} has dtype ${w.dtype}, expected float32`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (o + 4 * n > bytes.byteLength) {
        throw new CheckpointError(
          `${join(dir, group.paths[0])} is truncated: ${bytes.byteLength} bytes, the manifest needs more`,
        );
      }
      const values = new Float32Array(n);
      for (let k = 0; k < n; k++) values[k] = bytes.readFloatLE(o + 4 * k);
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        throw new CheckpointError(
          `${join(dir, group.paths[0])}: weight ${w.name} holds ${String(values[bad])} at index ${bad}: a policy with NaN or infinite weights cannot be used`,
        );
      }
      o += 4 * n;
      out.push({ name: w.name, shape: w.shape, values });
    }
    if (o !== bytes.byteLength)
      throw new CheckpointError(
        `${join(dir, group.paths[0])} has ${bytes.byteLength} bytes, the manifest describes ${o}`,
      );
  }
  return out;
}

/** The deterministic policy of a checkpoint (run folder or checkpoint directory), without tfjs. */
export function loadPolicy(path: string): { spec: PolicySpec; meta: PolicyMeta; state: CheckpointState; dir: string } {
  const dir = resolveCheckpoint(path);
  const state = readCheckpointState(dir);
  const meta = state.policy;
  const weights = readModelWeights(join(dir, "policy"));
  const layers = [];
  for (let i = 0; i + 1 < meta.sizes.length; i++) {
    const k = weights[2 * i];
    const b = weights[2 * i + 1];
    const inputs = meta.sizes[i];
    const outputs = meta.sizes[i + 1];
    if (!k || !b || k.values.length !== inputs * outputs || b.values.length !== outputs) {
      throw new CheckpointError(`${dir}: policy weights do not match the network ${meta.sizes.join("-")}`);
    }
    layers.push({
      kernel: Array.from(k.values),
      bias: Array.from(b.values),
      inputs,
      outputs,
      activation: (i + 2 === meta.sizes.length ? "linear" : meta.activation) as Activation,
    });
  }
  if (weights.length !== 2 * layers.length)
    throw new CheckpointError(`${dir}: policy has ${weights.length} weight tensors, expected ${2 * layers.length}`);
  verifyChecksums(dir, state);
  return { spec: { layers, obsNorm: meta.obsNorm, obsClip: meta.obsClip }, meta, state, dir };
}
