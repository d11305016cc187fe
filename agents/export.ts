/**
 * `propamm export`: a checkpoint's deterministic policy as one self-contained strategy file, in
 * TypeScript, JavaScript (ES module) or Rust (the seed's native ABI for prop-amm-multi).
 *
 * The generated file is what agents/policy-strategy.ts runs, written out: the agent pool's
 * feature updates and decision schedule (env/builtins/agent.ts, env/features.ts), the
 * observation and fee mapping (env/gym.ts), the MLP with its observation normalisation
 * (agents/mlp.ts) and the deterministic exp/log/tanh (env/detmath.ts), with the weights inline.
 * It imports nothing and needs no ML runtime. The JS/TS export gives bit-identical results to
 * the env driven by the same policy; the Rust export makes bit-identical storage writes
 * (test/export.test.ts checks both).
 *
 * Keeping it exact: every baked number is written as the shortest decimal that parses back to
 * the identical double (the weights are float32 values held in doubles, as MlpPolicy holds
 * them), and every computation keeps MlpPolicy's operation order. The algorithms below are
 * copies: a change to agent.ts, features.ts, detmath.ts, gym.ts or mlp.ts must be made here too
 * (the tests fail otherwise).
 */
import { basename, resolve } from "node:path";
import { type CheckpointState, type PolicyMeta, loadPolicy } from "./checkpoint.js";
import { PropAmmError } from "../env/errors.js";
import { AGENT_SLOT } from "../env/builtins/agent.js";
import { INITIAL_FLOW_EMA, INITIAL_VOL } from "../env/features.js";
import { MAX_POOLS, SIGMA_OBS_MAX, SIGMA_OBS_SCALE } from "../gym/env.js";
import { SLOT, STORAGE_BYTES } from "../env/storage.js";
import { OBS_EPS, type PolicySpec } from "./mlp.js";

export type ExportFormat = "ts" | "js" | "rs";

export const EXPORT_FORMATS: readonly ExportFormat[] = ["ts", "js", "rs"];

/** Longest name `propamm validate` accepts. */
export const MAX_NAME_LENGTH = 64;

export interface ExportOptions {
  /** Strategy name (default: the label `propamm eval` shows for the checkpoint). */
  name?: string;
  /**
   * Rust only: number of strategies (pools before the normalizer) the policy will compete in.
   * The native ABI never tells a strategy this before its first hook, yet the reset decision
   * (the fees quoted before the first trade) observes it. Default: the training env's count
   * (the agent plus its opponents). The JS/TS export reads it from the factory's context.
   */
  nStrategies?: number;
}

/** Where a policy came from, for the file's header. */
export interface PolicyOrigin {
  checkpointDir: string;
  algo: string;
  timesteps: number;
  episodes?: number;
  iterations?: number;
  createdAt?: string;
  opponents?: string[];
}

/** Everything a generator needs: the policy, its deployment metadata and its origin. */
export interface ExportablePolicy {
  spec: PolicySpec;
  meta: PolicyMeta;
  origin: PolicyOrigin;
  /** Label used as the default name. */
  label: string;
}

export interface ExportResult {
  source: string;
  format: ExportFormat;
  name: string;
  checkpointDir: string;
  timesteps: number;
  /** A file name for the export, e.g. "ES_exp-ck_20122.ts" (.mjs for JavaScript). */
  suggestedFileName: string;
}

export class ExportError extends PropAmmError {
  constructor(message: string) {
    super("EXPORT", message);
    this.name = "ExportError";
  }
}

/** The format a file name asks for (.ts/.mts, .js/.mjs, .rs), or undefined. */
export function exportFormatFromPath(path: string): ExportFormat | undefined {
  if (/\.m?ts$/.test(path)) return "ts";
  if (/\.m?js$/.test(path)) return "js";
  if (/\.rs$/.test(path)) return "rs";
  return undefined;
}

/** Reads a checkpoint (run folder or checkpoint directory) into what the generators need. */
export function readExportablePolicy(checkpointPath: string): ExportablePolicy {
  const { spec, meta, state, dir } = loadPolicy(checkpointPath);
  return {
    spec,
    meta,
    origin: originOf(state, dir),
    // The label `propamm eval` and `propamm run <checkpoint>` show (env/loader.ts).
    label: `${state.algo.toUpperCase()} ${basename(resolve(checkpointPath))} @${state.counters.timesteps}`,
  };
}

function originOf(state: CheckpointState, dir: string): PolicyOrigin {
  return {
    checkpointDir: dir,
    algo: state.algo,
    timesteps: state.counters.timesteps,
    episodes: state.counters.episodes,
    iterations: state.counters.iterations,
    createdAt: state.createdAt,
    opponents: Array.isArray(state.env?.opponents) ? state.env.opponents.map(String) : undefined,
  };
}

/** The source text of the exported strategy file. */
export function exportPolicy(checkpointPath: string, format: ExportFormat, opts: ExportOptions = {}): string {
  return exportPolicyDetails(checkpointPath, format, opts).source;
}

/** Like exportPolicy, with the resolved name, checkpoint and a suggested file name. */
export function exportPolicyDetails(
  checkpointPath: string,
  format: ExportFormat,
  opts: ExportOptions = {},
): ExportResult {
  const policy = readExportablePolicy(checkpointPath);
  const name = exportName(policy, opts);
  const source = generateExport(policy, format, { ...opts, name });
  const stem = name.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^_+|_+$/g, "") || "policy";
  return {
    source,
    format,
    name,
    checkpointDir: policy.origin.checkpointDir,
    timesteps: policy.origin.timesteps,
    // .mjs: an ES module wherever it is put (a .js file needs a package of type module, or Node's detection).
    suggestedFileName: `${stem}.${format === "js" ? "mjs" : format}`,
  };
}

function exportName(policy: ExportablePolicy, opts: ExportOptions): string {
  if (opts.name === undefined) return policy.label.slice(0, MAX_NAME_LENGTH);
  if (typeof opts.name !== "string" || opts.name.trim() === "" || opts.name.length > MAX_NAME_LENGTH) {
    throw new ExportError(`name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return opts.name;
}

/** Generates the file for an in-memory policy (exportPolicy reads one from a checkpoint). */
export function generateExport(policy: ExportablePolicy, format: ExportFormat, opts: ExportOptions = {}): string {
  checkPolicy(policy);
  const name = exportName(policy, opts);
  if (format === "ts" || format === "js") return generateJs(policy, name, format === "ts");
  if (format === "rs") {
    const n = opts.nStrategies ?? 1 + (policy.origin.opponents?.length ?? 1);
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new ExportError(`nStrategies must be an integer in [1, 16] (got ${n})`);
    return generateRust(policy, name, n);
  }
  throw new ExportError(`unknown export format '${String(format)}' (use ts, js or rs)`);
}

function checkPolicy(p: ExportablePolicy): void {
  const { layers } = p.spec;
  if (layers.length === 0) throw new ExportError("the policy has no layers");
  if (layers[0].inputs !== 5 || layers[layers.length - 1].outputs !== 2) {
    throw new ExportError(
      `the policy maps ${layers[0].inputs} inputs to ${layers[layers.length - 1].outputs} outputs; ` +
        "the agent pool observes 5 features and sets 2 fees",
    );
  }
  layers.forEach((l, i) => {
    if (l.kernel.length !== l.inputs * l.outputs || l.bias.length !== l.outputs)
      throw new ExportError(`layer ${i}: kernel/bias sizes do not match ${l.inputs}x${l.outputs}`);
    if (i > 0 && layers[i - 1].outputs !== l.inputs)
      throw new ExportError(
        `layer ${i}: expects ${l.inputs} inputs, the previous layer gives ${layers[i - 1].outputs}`,
      );
    if (!["tanh", "relu", "linear"].includes(l.activation))
      throw new ExportError(`layer ${i}: unknown activation '${String(l.activation)}'`);
  });
  const { mean, var: variance } = p.spec.obsNorm;
  if (mean.length !== 5 || variance.length !== 5)
    throw new ExportError("observation normalisation must have 5 entries");
  const m = p.meta;
  for (const [key, v] of [
    ["decisionInterval", m.decisionInterval],
    ["epochLen", m.epochLen],
    ["feeMinBps", m.feeMinBps],
    ["feeMaxBps", m.feeMaxBps],
    ["obsClip", p.spec.obsClip],
  ] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ExportError(`policy ${key} must be a finite number`);
  }
}

// ---------------------------------------------------------------------------------------------
// Number and text formatting
// ---------------------------------------------------------------------------------------------

/** A JS literal that evaluates to exactly `x` (String gives the shortest round-trip decimal). */
export function jsNumber(x: number): string {
  if (Object.is(x, -0)) return "-0";
  return String(x); // NaN, Infinity and -Infinity are valid JS expressions too
}

/** A Rust f64 expression that evaluates to exactly `x` (Rust parses decimal literals correctly rounded). */
export function rustNumber(x: number): string {
  if (Number.isNaN(x)) return "f64::NAN";
  if (x === Infinity) return "f64::INFINITY";
  if (x === -Infinity) return "f64::NEG_INFINITY";
  if (Object.is(x, -0)) return "-0.0";
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function rustString(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\u{${c.toString(16)}}`;
  }
  return `"${out}"`;
}

/** Single-line text safe inside a // comment. */
function commentText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}

/** Numbers as lines of `perLine` values, each line indented. */
function numberLines(values: ArrayLike<number>, fmt: (x: number) => string, indent: string, perLine = 6): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const chunk: string[] = [];
    for (let k = i; k < Math.min(values.length, i + perLine); k++) chunk.push(fmt(values[k]));
    lines.push(indent + chunk.join(", ") + ",");
  }
  return lines.join("\n");
}

/** A row-major [inputs x outputs] kernel, one commented block per input row. */
function kernelLines(
  kernel: ArrayLike<number>,
  inputs: number,
  outputs: number,
  fmt: (x: number) => string,
  indent: string,
  comment: string,
): string {
  const blocks: string[] = [];
  for (let i = 0; i < inputs; i++) {
    const row = Array.from({ length: outputs }, (_, j) => kernel[i * outputs + j]);
    blocks.push(`${indent}${comment} input ${i}\n${numberLines(row, fmt, indent)}`);
  }
  return blocks.join("\n");
}

function headerLines(p: ExportablePolicy, name: string, language: string): string[] {
  const o = p.origin;
  const m = p.meta;
  const sizes = [p.spec.layers[0].inputs, ...p.spec.layers.map((l) => l.outputs)];
  const hidden = p.spec.layers.length > 1 ? p.spec.layers[0].activation : "none";
  const counters = [
    `${o.timesteps} timesteps`,
    o.episodes !== undefined ? `${o.episodes} episodes` : "",
    o.iterations !== undefined ? `${o.iterations} iterations` : "",
  ].filter((s) => s !== "");
  return [
    `${name}: a trained prop-amm gym policy as a ${language} strategy,`,
    "written by `propamm export`.",
    "",
    `Checkpoint: ${o.checkpointDir}`,
    `Algorithm: ${o.algo.toUpperCase()}, ${counters.join(", ")}${o.createdAt ? `, saved ${o.createdAt}` : ""}.`,
    `Trained against: ${o.opponents && o.opponents.length > 0 ? o.opponents.join(", ") : "(not recorded)"}; epochLen ${m.epochLen}.`,
    `Network: ${sizes.join("-")} MLP, ${hidden} hidden layers, linear output, observation normalisation inline.`,
    `Fees: action in [-1, 1] per side -> ${m.feeMinBps}..${m.feeMaxBps} bps, stored as u64 WAD in storage slots 0/1.`,
    `Decisions: before the first quote (reset), in afterSwap once simStep - lastDecisionStep >= ${m.decisionInterval},`,
    "and at every epoch boundary (SPEC §6), exactly as in the env the policy was trained in.",
    "",
    "Self-contained: no imports, no ML runtime. The weights below are the checkpoint's float32 values,",
    "written so that they parse back to the identical doubles; exp/log/tanh are the deterministic",
    "versions from env/detmath.ts, so this file makes the very same fee decisions, bit for bit, as",
    "`propamm eval` does with the checkpoint.",
  ].map((l) => commentText(l));
}

// ---------------------------------------------------------------------------------------------
// JavaScript / TypeScript
// ---------------------------------------------------------------------------------------------

/**
 * TypeScript-only text is written between «guillemets»: kept (without them) for TypeScript and
 * dropped for JavaScript. Applied to the code templates only, never to baked data.
 */
function typed(template: string, ts: boolean): string {
  return template.replace(/«([^»]*)»/g, ts ? "$1" : "");
}

const JS_DETMATH = `// ---------------------------------------------------------------------------------------------
// Deterministic exp / log / tanh: a verbatim port of env/detmath.ts. IEEE basic operations only
// (+, -, *, / and exact power-of-two scaling through the exponent bits): Math.exp/log/tanh may
// differ by an ulp between engines, and one ulp can eventually flip a fee decision.
// ---------------------------------------------------------------------------------------------

const LN2_HI = 6.931471803691238e-1; // ln 2, upper bits (fdlibm's split)
const LN2_LO = 1.9082149292705877e-10; // ln 2 - LN2_HI
const INV_LN2 = 1.4426950408889634;
const SQRT_HALF = 0.7071067811865476;

const scratch = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], exactly. */
function pow2(k«: number»)«: number» {
  scratch.setUint32(0, (k + 1023) << 20, false);
  scratch.setUint32(4, 0, false);
  return scratch.getFloat64(0, false);
}

/** e^x. */
function detExp(x«: number»)«: number» {
  if (x !== x) return x;
  if (x > 709) return Infinity;
  if (x < -745) return 0;
  // x = k ln2 + r, |r| <= ln2 / 2.
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  // Taylor series of e^r to degree 13 (Horner): error below 1e-17 for |r| <= 0.347.
  let p = 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  // Split the scaling so that k near the exponent limits stays exact.
  if (k > 1000) return p * pow2(1000) * pow2(k - 1000);
  if (k < -1000) return p * pow2(-1000) * pow2(k + 1000);
  return p * pow2(k);
}

/** Natural logarithm of a positive, finite x (NaN for x < 0 or NaN, -Infinity for 0). */
function detLog(x«: number»)«: number» {
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
  let e = 0;
  let m = x;
  if (m < 2.2250738585072014e-308) {
    m *= pow2(54);
    e -= 54;
  }
  scratch.setFloat64(0, m, false);
  const hi = scratch.getUint32(0, false);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  scratch.setUint32(0, (hi & 0x000fffff) | 0x3ff00000, false);
  m = scratch.getFloat64(0, false); // in [1, 2)
  if (m > 1 / SQRT_HALF) {
    m *= 0.5;
    e += 1;
  }
  // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: series to s^25.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q = 1 / 25;
  q = q * s2 + 1 / 23;
  q = q * s2 + 1 / 21;
  q = q * s2 + 1 / 19;
  q = q * s2 + 1 / 17;
  q = q * s2 + 1 / 15;
  q = q * s2 + 1 / 13;
  q = q * s2 + 1 / 11;
  q = q * s2 + 1 / 9;
  q = q * s2 + 1 / 7;
  q = q * s2 + 1 / 5;
  q = q * s2 + 1 / 3;
  q = q * s2 + 1;
  return 2 * s * q + e * LN2_LO + e * LN2_HI;
}

/** e^r - 1 for |r| <= 0.7, without the cancellation of detExp(r) - 1 (series to r^18). */
function expm1Small(r«: number»)«: number» {
  let p = 1 / 6402373705728000;
  p = p * r + 1 / 355687428096000;
  p = p * r + 1 / 20922789888000;
  p = p * r + 1 / 1307674368000;
  p = p * r + 1 / 87178291200;
  p = p * r + 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  return p * r;
}

/** tanh(x) = (e^2x - 1) / (e^2x + 1). */
function detTanh(x«: number»)«: number» {
  if (x !== x) return x;
  if (x > 20) return 1;
  if (x < -20) return -1;
  const r = 2 * x;
  const em1 = r > -0.7 && r < 0.7 ? expm1Small(r) : detExp(r) - 1;
  return em1 / (em1 + 2);
}
`;

/** The deterministic math of the JS/TS export, on its own (the tests compare it with env/detmath.ts). */
export function jsDetmathSource(ts = false): string {
  return typed(JS_DETMATH, ts);
}

const JS_TYPES = `«// ---------------------------------------------------------------------------------------------
// The strategy interface (SPEC §3), declared here because this file imports nothing.
// ---------------------------------------------------------------------------------------------

type Side = 0 | 1;

interface AfterSwapEvent {
  side: Side;
  inputAmount: number;
  outputAmount: number;
  reserveX: number;
  reserveY: number;
  simStep: number;
  epochStep: number;
  epochNumber: number;
  nStrategies: number;
  strategyIndex: number;
  flowCaptured: number;
  capitalWeight: number;
  competingSpotPrices: ArrayLike<number>;
}

interface EpochEvent {
  epochNumber: number;
  newReserveX: number;
  newReserveY: number;
  epochEdge: number;
  cumulativeEdge: number;
  capitalWeight: number;
}

/** The part of the factory's context this strategy reads. */
interface StrategyContext {
  config: { epochLen: number };
  nStrategies: number;
}

interface Strategy {
  readonly name: string;
  computeSwap(side: Side, inputAmount: number, reserveX: number, reserveY: number, storage: Uint8Array): number;
  constantProductFees(storage: Uint8Array, out: Float64Array): void;
  afterSwap(event: AfterSwapEvent, storage: Uint8Array): void;
  onEpochBoundary(event: EpochEvent, storage: Uint8Array): void;
}

interface Layer {
  inputs: number;
  outputs: number;
  activation: "tanh" | "relu" | "linear";
  kernel: number[];
  bias: number[];
}

/** The raw features the policy observes (SPEC §6). */
interface Features {
  sigmaHat: number;
  flowEma: number;
  capitalWeight: number;
  epochStep: number;
  nPools: number;
}

»`;

const JS_BODY = `// ---------------------------------------------------------------------------------------------
// Storage (SPEC §3): 1024 bytes, slot k = bytes 8k..8k+7, little-endian. Slots 0-7 follow the
// starter's convention, 8-11 are the agent pool's (env/builtins/agent.ts), so the storage this
// strategy writes is byte for byte the storage of the pool the policy was trained in.
// ---------------------------------------------------------------------------------------------

const SLOT_FEE0 = @SLOT_FEE0@; // side-0 fee, u64 WAD (1e18 = 100%)
const SLOT_FEE1 = @SLOT_FEE1@; // side-1 fee, u64 WAD
const SLOT_VOL = @SLOT_VOL@; // volatility estimate (f64)
const SLOT_LAST_SPOT = @SLOT_LAST_SPOT@; // spot after the last trade (f64); 0 until the first trade
const SLOT_FLOW_EMA = @SLOT_FLOW_EMA@; // EMA of the flow captured (f64)
const SLOT_TRADES = @SLOT_TRADES@; // trades this epoch (u64)
const SLOT_CAPITAL_WEIGHT = @SLOT_CAPITAL_WEIGHT@; // capital weight at the last event (f64)
const SLOT_EPOCH = @SLOT_EPOCH@; // epoch number (u64)
const SLOT_LAST_DECISION = @SLOT_LAST_DECISION@; // step of the last decision (f64)
const SLOT_EPOCH_STEP = @SLOT_EPOCH_STEP@; // epoch step at the last event (f64): 0 after a boundary
const SLOT_N_POOLS = @SLOT_N_POOLS@; // pools incl. the normalizer, as the events report it (f64)
const SLOT_FEES_SET = @SLOT_FEES_SET@; // 1 once a decision has written the fee slots (u64)

const TWO_32 = 4294967296;
const WAD_PER_BPS = 1e14;

/** A u64 slot as the nearest double. */
function readU64(v«: DataView», slot«: number»)«: number» {
  const off = slot * 8;
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * TWO_32;
}

/** Writes floor(value), clamped to [0, 2^64), to a u64 slot. */
function writeU64(v«: DataView», slot«: number», value«: number»)«: void» {
  const off = slot * 8;
  let w = Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
  if (value === Infinity || w >= TWO_32 * TWO_32) w = TWO_32 * TWO_32 - 1; // saturates
  const hi = Math.min(Math.floor(w / TWO_32), TWO_32 - 1);
  const lo = Math.min(w - hi * TWO_32, TWO_32 - 1);
  v.setUint32(off, lo, true);
  v.setUint32(off + 4, hi, true);
}

function readF64(v«: DataView», slot«: number»)«: number» {
  return v.getFloat64(slot * 8, true);
}

function writeF64(v«: DataView», slot«: number», value«: number»)«: void» {
  v.setFloat64(slot * 8, value, true);
}

/** A fee in bps as u64 WAD: floored to the WAD unit; negative, NaN or infinite fees store 0. */
function writeFeeBps(v«: DataView», slot«: number», bps«: number»)«: void» {
  const wad = Number.isFinite(bps) && bps > 0 ? BigInt(Math.floor(bps * WAD_PER_BPS)) : BigInt(0);
  v.setBigUint64(slot * 8, BigInt.asUintN(64, wad), true);
}

/** A fee slot as a fraction (0.003 = 30 bps). */
function readFee(v«: DataView», slot«: number»)«: number» {
  return readU64(v, slot) / WAD_PER_BPS / 10000;
}

/** A decision's fees, and the mark that the fee slots now hold them. */
function setFees(v«: DataView», fee0Bps«: number», fee1Bps«: number»)«: void» {
  writeFeeBps(v, SLOT_FEE0, fee0Bps);
  writeFeeBps(v, SLOT_FEE1, fee1Bps);
  v.setBigUint64(SLOT_FEES_SET * 8, BigInt(1), true);
}

/** Fee fractions exactly as fees written in bps read back from their u64 WAD slots. */
function storedFees(bps«: [number, number]»)«: [number, number]» {
  const v = new DataView(new ArrayBuffer(16));
  writeFeeBps(v, 0, bps[0]);
  writeFeeBps(v, 1, bps[1]);
  return [readFee(v, 0), readFee(v, 1)];
}

/** One DataView per storage array (a strategy sees the same arrays on every call of a simulation). */
function viewCache()«: (storage: Uint8Array) => DataView» {
  let last«: Uint8Array | null» = null;
  let view«: DataView | null» = null;
  return (storage) => {
    if (storage !== last || view === null) {
      last = storage;
      view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
    }
    return view;
  };
}

// ---------------------------------------------------------------------------------------------
// Features (env/features.ts): the starter's volatility EMA of log spot changes between trades,
// EMA of flow captured and trade count, computed in afterSwap from what the event carries.
// ---------------------------------------------------------------------------------------------

const INITIAL_VOL = @INITIAL_VOL@;
const INITIAL_FLOW_EMA = @INITIAL_FLOW_EMA@;

function updateFeatures(v«: DataView», ev«: AfterSwapEvent»)«: void» {
  const spot = ev.reserveY / ev.reserveX;
  let lastSpot = readF64(v, SLOT_LAST_SPOT);
  let vol = readF64(v, SLOT_VOL);
  let flowEma = readF64(v, SLOT_FLOW_EMA);
  if (lastSpot === 0) {
    // First trade of the simulation (storage starts zeroed).
    lastSpot = spot;
    vol = INITIAL_VOL;
    flowEma = INITIAL_FLOW_EMA;
  }
  vol = 0.05 * Math.abs(detLog(spot / lastSpot)) + 0.95 * vol;
  flowEma = 0.1 * ev.flowCaptured + 0.9 * flowEma;
  writeF64(v, SLOT_VOL, vol);
  writeF64(v, SLOT_FLOW_EMA, flowEma);
  writeF64(v, SLOT_LAST_SPOT, spot);
  writeU64(v, SLOT_TRADES, readU64(v, SLOT_TRADES) + 1);
}

/** Features before any trade: the starter's initial estimates and an equal capital share. */
function initialFeatures(nStrategies«: number»)«: Features» {
  return {
    sigmaHat: INITIAL_VOL,
    flowEma: INITIAL_FLOW_EMA,
    capitalWeight: 1 / nStrategies,
    epochStep: 0,
    nPools: nStrategies + 1,
  };
}

function readFeatures(v«: DataView», fallback«: Features»)«: Features» {
  const traded = readF64(v, SLOT_LAST_SPOT) !== 0;
  const pools = readF64(v, SLOT_N_POOLS);
  return {
    sigmaHat: traded ? readF64(v, SLOT_VOL) : fallback.sigmaHat,
    flowEma: traded ? readF64(v, SLOT_FLOW_EMA) : fallback.flowEma,
    capitalWeight: pools > 0 ? readF64(v, SLOT_CAPITAL_WEIGHT) : fallback.capitalWeight,
    epochStep: readF64(v, SLOT_EPOCH_STEP),
    nPools: pools > 0 ? pools : fallback.nPools,
  };
}

// ---------------------------------------------------------------------------------------------
// Observation (env/gym.ts): float32, scaled and clipped to the observation space.
// ---------------------------------------------------------------------------------------------

const SIGMA_OBS_SCALE = @SIGMA_OBS_SCALE@;
const SIGMA_OBS_MAX = @SIGMA_OBS_MAX@;
const MAX_POOLS = @MAX_POOLS@;

function observationFromFeatures(f«: Features», out«: Float32Array»)«: Float32Array» {
  out[0] = Math.min(SIGMA_OBS_MAX, Math.max(0, f.sigmaHat * SIGMA_OBS_SCALE));
  out[1] = Math.min(1, Math.max(0, f.flowEma));
  out[2] = Math.min(1, Math.max(0, f.capitalWeight));
  // Scaled by the training epochLen, whatever the simulation's.
  out[3] = Math.min(1, Math.max(0, f.epochStep / TRAIN_EPOCH_LEN));
  out[4] = Math.min(1, f.nPools / MAX_POOLS);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The policy (agents/mlp.ts): x = clip((obs - mean) / sqrt(var + eps), +-clip), then dense
// layers in double precision, summing bias + x[0] k[0][j] + x[1] k[1][j] + ... in that order.
// ---------------------------------------------------------------------------------------------

const OBS_EPS = @OBS_EPS@;
const INV_STD = OBS_VAR.map((v) => 1 / Math.sqrt(v + OBS_EPS));
const KERNELS = LAYERS.map((l) => Float64Array.from(l.kernel));
const BIASES = LAYERS.map((l) => Float64Array.from(l.bias));

/** The deterministic action (the network's output, the Gaussian mean) for one observation. */
function act(obs«: Float32Array», out«: Float64Array»)«: Float64Array» {
  let x«: Float64Array» = new Float64Array(LAYERS[0].inputs);
  for (let i = 0; i < x.length; i++) {
    const z = (obs[i] - OBS_MEAN[i]) * INV_STD[i];
    x[i] = z > OBS_CLIP ? OBS_CLIP : z < -OBS_CLIP ? -OBS_CLIP : z;
  }
  for (let li = 0; li < LAYERS.length; li++) {
    const l = LAYERS[li];
    const k = KERNELS[li];
    const y«: Float64Array» = li === LAYERS.length - 1 ? out : new Float64Array(l.outputs);
    for (let j = 0; j < l.outputs; j++) {
      let s = BIASES[li][j];
      for (let i = 0; i < l.inputs; i++) s += x[i] * k[i * l.outputs + j];
      y[j] = l.activation === "tanh" ? detTanh(s) : l.activation === "relu" ? (s > 0 ? s : 0) : s;
    }
    x = y;
  }
  return out;
}

/** Action in [-1, 1] -> fee in bps over [FEE_MIN_BPS, FEE_MAX_BPS]; values outside are clipped. */
function actionToFeeBps(a«: number»)«: number» {
  const c = Math.min(1, Math.max(-1, a));
  return FEE_MIN_BPS + ((c + 1) / 2) * (FEE_MAX_BPS - FEE_MIN_BPS);
}

// ---------------------------------------------------------------------------------------------
// The strategy: the agent pool (env/builtins/agent.ts) with the policy deciding in its hooks.
// ---------------------------------------------------------------------------------------------

let warnedEpochLen = false;

export default function createStrategy(ctx«: StrategyContext»)«: Strategy» {
  // The decision schedule follows the simulation's epochs, like the env's agent pool.
  const epochLen = ctx.config.epochLen;
  if (epochLen !== TRAIN_EPOCH_LEN && !warnedEpochLen) {
    warnedEpochLen = true;
    // The epoch-step feature is scaled by the training epoch length; say so rather than drift silently.
    const proc = «(»globalThis« as unknown as { process?: { emitWarning?: (message: string) => void } })».process;
    proc?.emitWarning?.(
      "policy '" + NAME + "' was trained with epochLen " + TRAIN_EPOCH_LEN + ", this simulation uses " + epochLen,
    );
  }
  const fallback = initialFeatures(ctx.nStrategies);
  const obs = new Float32Array(5);
  const action = new Float64Array(2);
  const decide = (features«: Features»)«: [number, number]» => {
    act(observationFromFeatures(features, obs), action);
    return [actionToFeeBps(action[0]), actionToFeeBps(action[1])];
  };
  // The reset decision: no hook runs before the first quote, so its fees are kept here (as they
  // would read back from storage) until the first hook writes them to the fee slots.
  const initialBps = decide(fallback);
  const initial = storedFees(initialBps);
  const hookViews = viewCache();
  const quoteViews = viewCache();
  const feesSet = (v«: DataView»)«: boolean» => readU64(v, SLOT_FEES_SET) !== 0;
  const fee = (v«: DataView», side«: Side»)«: number» =>
    feesSet(v) ? readFee(v, side === 0 ? SLOT_FEE0 : SLOT_FEE1) : initial[side];
  const materialise = (v«: DataView»)«: void» => {
    if (!feesSet(v)) setFees(v, initialBps[0], initialBps[1]);
  };
  const decideNow = (v«: DataView»)«: void» => {
    const [f0, f1] = decide(readFeatures(v, fallback));
    setFees(v, f0, f1);
  };

  return {
    name: NAME,

    // Constant product with a fee on the input, the fee read from storage.
    computeSwap(side, input, rx, ry, storage) {
      const gi = (1 - fee(quoteViews(storage), side)) * input;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },

    // Declares the curve, so the engine prices this pool in closed form (as it does the agent pool).
    constantProductFees(storage, out) {
      const v = quoteViews(storage);
      out[0] = fee(v, 0);
      out[1] = fee(v, 1);
    },

    afterSwap(ev, storage) {
      const v = hookViews(storage);
      materialise(v);
      updateFeatures(v, ev);
      writeF64(v, SLOT_CAPITAL_WEIGHT, ev.capitalWeight);
      writeF64(v, SLOT_EPOCH_STEP, ev.epochStep);
      writeF64(v, SLOT_N_POOLS, ev.nStrategies);
      if (ev.simStep - readF64(v, SLOT_LAST_DECISION) >= DECISION_INTERVAL) {
        writeF64(v, SLOT_LAST_DECISION, ev.simStep);
        decideNow(v);
      }
    },

    onEpochBoundary(ev, storage) {
      const v = hookViews(storage);
      materialise(v);
      // The starter's epoch updates, without its fee adjustments (the policy sets the fees).
      writeF64(v, SLOT_VOL, 0.5 * readF64(v, SLOT_VOL) + 0.5 * INITIAL_VOL);
      writeU64(v, SLOT_TRADES, 0);
      writeF64(v, SLOT_CAPITAL_WEIGHT, ev.capitalWeight);
      writeU64(v, SLOT_EPOCH, ev.epochNumber);
      writeF64(v, SLOT_EPOCH_STEP, 0);
      // The boundary follows the epoch's last step; the event does not carry it, the config does.
      writeF64(v, SLOT_LAST_DECISION, (ev.epochNumber + 1) * epochLen - 1);
      decideNow(v);
    },
  };
}
`;

/** Fills the template's @KEY@ markers; a marker without a value is an error. */
function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/@([A-Z0-9_]+)@/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`export template: no value for @${key}@`);
    return String(values[key]);
  });
}

function slotValues(): Record<string, number> {
  return {
    SLOT_FEE0: SLOT.fee0Wad,
    SLOT_FEE1: SLOT.fee1Wad,
    SLOT_VOL: SLOT.volatility,
    SLOT_LAST_SPOT: SLOT.lastSpot,
    SLOT_FLOW_EMA: SLOT.flowEma,
    SLOT_TRADES: SLOT.tradesThisEpoch,
    SLOT_CAPITAL_WEIGHT: SLOT.capitalWeight,
    SLOT_EPOCH: SLOT.epochNumber,
    SLOT_LAST_DECISION: AGENT_SLOT.lastDecisionStep,
    SLOT_EPOCH_STEP: AGENT_SLOT.epochStep,
    SLOT_N_POOLS: AGENT_SLOT.nPools,
    SLOT_FEES_SET: AGENT_SLOT.feesSet,
  };
}

function generateJs(p: ExportablePolicy, name: string, ts: boolean): string {
  const m = p.meta;
  const header = headerLines(p, name, ts ? "TypeScript" : "JavaScript (ES module)")
    .map((l) => (l === "" ? "//" : `// ${l}`))
    .join("\n");
  const usage = ts
    ? "// Use: propamm run <this file> starter   (or propamm validate <this file>)"
    : "// Use: propamm run <this file> starter   (an ES module: name it .mjs, or .js inside a package of type module)";
  const layers = p.spec.layers
    .map(
      (
        l,
        i,
      ) => `  // Layer ${i}: ${l.inputs} -> ${l.outputs}, ${l.activation}. Kernel row-major [inputs x outputs], as tfjs stores it.
  {
    inputs: ${l.inputs},
    outputs: ${l.outputs},
    activation: ${JSON.stringify(l.activation)},
    kernel: [
${kernelLines(l.kernel, l.inputs, l.outputs, jsNumber, "      ", "//")}
    ],
    bias: [
${numberLines(l.bias, jsNumber, "      ")}
    ],
  },`,
    )
    .join("\n");
  const policy = `// ---------------------------------------------------------------------------------------------
// The policy, baked from the checkpoint.
// ---------------------------------------------------------------------------------------------

const NAME = ${JSON.stringify(name)};
/** Minimum steps between two afterSwap decisions. */
const DECISION_INTERVAL = ${jsNumber(m.decisionInterval)};
/** The epoch length the policy was trained with (it scales the epoch-step feature). */
const TRAIN_EPOCH_LEN = ${jsNumber(m.epochLen)};
/** The action range [-1, 1] maps linearly onto [FEE_MIN_BPS, FEE_MAX_BPS]. */
const FEE_MIN_BPS = ${jsNumber(m.feeMinBps)};
const FEE_MAX_BPS = ${jsNumber(m.feeMaxBps)};

// Observation normalisation (running mean and variance from training) and its clip.
const OBS_MEAN«: number[]» = [
${numberLines(p.spec.obsNorm.mean, jsNumber, "  ", 3)}
];
const OBS_VAR«: number[]» = [
${numberLines(p.spec.obsNorm.var, jsNumber, "  ", 3)}
];
const OBS_CLIP = ${jsNumber(p.spec.obsClip)};

const LAYERS«: Layer[]» = [
${layers}
];
`;
  const body = fill(JS_BODY, {
    ...slotValues(),
    INITIAL_VOL: jsNumber(INITIAL_VOL),
    INITIAL_FLOW_EMA: jsNumber(INITIAL_FLOW_EMA),
    SIGMA_OBS_SCALE: jsNumber(SIGMA_OBS_SCALE),
    SIGMA_OBS_MAX: jsNumber(SIGMA_OBS_MAX),
    MAX_POOLS: jsNumber(MAX_POOLS),
    OBS_EPS: jsNumber(OBS_EPS),
  });
  return [
    header,
    "//",
    usage,
    "",
    typed(JS_TYPES, ts) + typed(policy, ts),
    typed(JS_DETMATH, ts),
    typed(body, ts),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Rust (prop-amm-multi's native ABI)
// ---------------------------------------------------------------------------------------------

const RS_DETMATH = `// ---------------------------------------------------------------------------------------------
// Deterministic exp / log / tanh: a line-by-line port of env/detmath.ts. IEEE basic operations
// only (Rust never fuses a * b + c on its own), so these give the JavaScript policy's bits; the
// platform's libm (f64::ln, f64::tanh) may differ by an ulp and eventually flip a fee decision.
// ---------------------------------------------------------------------------------------------

const LN2_HI: f64 = 6.931471803691238e-1; // ln 2, upper bits (fdlibm's split)
const LN2_LO: f64 = 1.9082149292705877e-10; // ln 2 - LN2_HI
const INV_LN2: f64 = 1.4426950408889634;
const SQRT_HALF: f64 = 0.7071067811865476;

/// 2^k for an integer k in [-1022, 1023], exactly.
fn pow2(k: f64) -> f64 {
    f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// e^x.
fn det_exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = k ln2 + r, |r| <= ln2 / 2.
    let k = (x * INV_LN2 + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    // Taylor series of e^r to degree 13 (Horner): error below 1e-17 for |r| <= 0.347.
    let mut p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // Split the scaling so that k near the exponent limits stays exact.
    if k > 1000.0 {
        return p * pow2(1000.0) * pow2(k - 1000.0);
    }
    if k < -1000.0 {
        return p * pow2(-1000.0) * pow2(k + 1000.0);
    }
    p * pow2(k)
}

/// Natural logarithm of a positive, finite x (NaN for x < 0 or NaN, -inf for 0).
fn det_log(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
    let mut e: f64 = 0.0;
    let mut m = x;
    if m < 2.2250738585072014e-308 {
        m *= pow2(54.0);
        e -= 54.0;
    }
    let bits = m.to_bits();
    let hi = (bits >> 32) as u32;
    e += (((hi >> 20) & 0x7ff) as f64) - 1023.0;
    // Exponent bits of 1.0, same mantissa: m in [1, 2).
    m = f64::from_bits(((((hi & 0x000fffff) | 0x3ff00000) as u64) << 32) | (bits & 0xffff_ffff));
    if m > 1.0 / SQRT_HALF {
        m *= 0.5;
        e += 1.0;
    }
    // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: series to s^25.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut q = 1.0 / 25.0;
    q = q * s2 + 1.0 / 23.0;
    q = q * s2 + 1.0 / 21.0;
    q = q * s2 + 1.0 / 19.0;
    q = q * s2 + 1.0 / 17.0;
    q = q * s2 + 1.0 / 15.0;
    q = q * s2 + 1.0 / 13.0;
    q = q * s2 + 1.0 / 11.0;
    q = q * s2 + 1.0 / 9.0;
    q = q * s2 + 1.0 / 7.0;
    q = q * s2 + 1.0 / 5.0;
    q = q * s2 + 1.0 / 3.0;
    q = q * s2 + 1.0;
    2.0 * s * q + e * LN2_LO + e * LN2_HI
}

/// e^r - 1 for |r| <= 0.7, without the cancellation of det_exp(r) - 1 (series to r^18).
fn expm1_small(r: f64) -> f64 {
    let mut p = 1.0 / 6402373705728000.0;
    p = p * r + 1.0 / 355687428096000.0;
    p = p * r + 1.0 / 20922789888000.0;
    p = p * r + 1.0 / 1307674368000.0;
    p = p * r + 1.0 / 87178291200.0;
    p = p * r + 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p * r
}

/// tanh(x) = (e^2x - 1) / (e^2x + 1).
fn det_tanh(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 20.0 {
        return 1.0;
    }
    if x < -20.0 {
        return -1.0;
    }
    let r = 2.0 * x;
    let em1 = if r > -0.7 && r < 0.7 { expm1_small(r) } else { det_exp(r) - 1.0 };
    em1 / (em1 + 2.0)
}

// JavaScript's Math.min / Math.max (NaN propagates, -0 < +0); Rust's f64::min/max differ on NaN.
fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else if b < a {
        b
    } else if a == 0.0 && (a.is_sign_negative() || b.is_sign_negative()) {
        -0.0
    } else {
        a
    }
}

fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b {
        a
    } else if b > a {
        b
    } else if a == 0.0 && (a.is_sign_positive() || b.is_sign_positive()) {
        0.0
    } else {
        a
    }
}
`;

const RS_BODY = `// ---------------------------------------------------------------------------------------------
// Storage (SPEC §3): 1024 bytes, slot k = bytes 8k..8k+7, little-endian. Slots 0-7 follow the
// starter's convention, 8-11 are the agent pool's (env/builtins/agent.ts). Values are read and
// written exactly as the JavaScript DataView helpers do (env/storage.ts).
// ---------------------------------------------------------------------------------------------

const STORAGE_BYTES: usize = @STORAGE_BYTES@;
const SLOT_FEE0: usize = @SLOT_FEE0@; // side-0 fee, u64 WAD (1e18 = 100%)
const SLOT_FEE1: usize = @SLOT_FEE1@; // side-1 fee, u64 WAD
const SLOT_VOL: usize = @SLOT_VOL@; // volatility estimate (f64)
const SLOT_LAST_SPOT: usize = @SLOT_LAST_SPOT@; // spot after the last trade (f64); 0 until the first trade
const SLOT_FLOW_EMA: usize = @SLOT_FLOW_EMA@; // EMA of the flow captured (f64)
const SLOT_TRADES: usize = @SLOT_TRADES@; // trades this epoch (u64)
const SLOT_CAPITAL_WEIGHT: usize = @SLOT_CAPITAL_WEIGHT@; // capital weight at the last event (f64)
const SLOT_EPOCH: usize = @SLOT_EPOCH@; // epoch number (u64)
const SLOT_LAST_DECISION: usize = @SLOT_LAST_DECISION@; // step of the last decision (f64)
const SLOT_EPOCH_STEP: usize = @SLOT_EPOCH_STEP@; // epoch step at the last event (f64): 0 after a boundary
const SLOT_N_POOLS: usize = @SLOT_N_POOLS@; // pools incl. the normalizer, as the events report it (f64)
const SLOT_FEES_SET: usize = @SLOT_FEES_SET@; // 1 once a decision has written the fee slots (u64)

const WAD_PER_BPS: f64 = 1e14;
const TWO_64: f64 = 18446744073709551616.0;

type Storage = [u8; STORAGE_BYTES];

fn bytes8(b: &[u8], off: usize) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    a
}

fn bytes4(b: &[u8], off: usize) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    a
}

fn read_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(bytes8(b, off))
}

fn read_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(bytes4(b, off))
}

/// An f32 field widened to f64, as JavaScript's DataView.getFloat32 returns it.
fn read_f32(b: &[u8], off: usize) -> f64 {
    f32::from_le_bytes(bytes4(b, off)) as f64
}

/// A wire amount ("nano", 1e9 scale) in token units.
fn from_nano(n: u64) -> f64 {
    n as f64 / 1e9
}

/// Token units to nano: floor(v * 1e9); NaN or v <= 0 -> 0; +inf or overflow -> 2^64 - 1.
fn to_nano(v: f64) -> u64 {
    if v.is_nan() || v <= 0.0 {
        return 0;
    }
    let scaled = (v * 1e9).floor();
    if !scaled.is_finite() || scaled >= TWO_64 {
        return u64::MAX;
    }
    scaled as u64
}

fn slot_f64(st: &Storage, slot: usize) -> f64 {
    f64::from_le_bytes(bytes8(st, slot * 8))
}

fn set_slot_f64(st: &mut Storage, slot: usize, value: f64) {
    st[slot * 8..slot * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// A u64 slot as the nearest double.
fn slot_u64(st: &Storage, slot: usize) -> f64 {
    read_u64(st, slot * 8) as f64
}

fn set_slot_u64_raw(st: &mut Storage, slot: usize, value: u64) {
    st[slot * 8..slot * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes floor(value), clamped to [0, 2^64), to a u64 slot.
fn set_slot_u64(st: &mut Storage, slot: usize, value: f64) {
    let w = if value.is_finite() && value > 0.0 { value.floor() } else { 0.0 };
    let raw = if value == f64::INFINITY || w >= TWO_64 { u64::MAX } else { w as u64 };
    set_slot_u64_raw(st, slot, raw);
}

/// A fee in bps as u64 WAD: floored to the WAD unit; negative, NaN or infinite fees store 0.
fn fee_wad(bps: f64) -> u64 {
    if bps.is_finite() && bps > 0.0 {
        let w = (bps * WAD_PER_BPS).floor();
        // Wraps like JavaScript's BigInt.asUintN(64, ..) would (never reached: fees are < 10000 bps).
        if w >= TWO_64 {
            (w % TWO_64) as u64
        } else {
            w as u64
        }
    } else {
        0
    }
}

/// A fee slot as a fraction (0.003 = 30 bps).
fn read_fee(st: &Storage, slot: usize) -> f64 {
    slot_u64(st, slot) / WAD_PER_BPS / 10000.0
}

/// A decision's fees, and the mark that the fee slots now hold them.
fn set_fees(st: &mut Storage, fees_bps: (f64, f64)) {
    set_slot_u64_raw(st, SLOT_FEE0, fee_wad(fees_bps.0));
    set_slot_u64_raw(st, SLOT_FEE1, fee_wad(fees_bps.1));
    set_slot_u64_raw(st, SLOT_FEES_SET, 1);
}

fn fees_set(st: &Storage) -> bool {
    slot_u64(st, SLOT_FEES_SET) != 0.0
}

/// The fee (fraction) quoted on a side: the stored one, or the reset decision's until a hook stores it.
fn current_fee(st: &Storage, side: u8) -> f64 {
    if fees_set(st) {
        return read_fee(st, if side == 0 { SLOT_FEE0 } else { SLOT_FEE1 });
    }
    // As the reset decision's fees read back from their WAD slots.
    let (f0, f1) = reset_fees_bps();
    let wad = fee_wad(if side == 0 { f0 } else { f1 });
    wad as f64 / WAD_PER_BPS / 10000.0
}

/// The reset decision's fees (bps): the policy on the features before any trade. Computed once.
fn reset_fees_bps() -> (f64, f64) {
    static RESET: std::sync::OnceLock<(f64, f64)> = std::sync::OnceLock::new();
    *RESET.get_or_init(|| decide(&initial_features()))
}

/// Until the first hook the reset decision's fees live only in code; the first hook stores them.
fn materialise(st: &mut Storage) {
    if !fees_set(st) {
        set_fees(st, reset_fees_bps());
    }
}

// ---------------------------------------------------------------------------------------------
// Features (env/features.ts): the starter's volatility EMA of log spot changes between trades,
// EMA of flow captured and trade count.
// ---------------------------------------------------------------------------------------------

const INITIAL_VOL: f64 = @INITIAL_VOL@;
const INITIAL_FLOW_EMA: f64 = @INITIAL_FLOW_EMA@;

fn update_features(st: &mut Storage, reserve_x: f64, reserve_y: f64, flow_captured: f64) {
    let spot = reserve_y / reserve_x;
    let mut last_spot = slot_f64(st, SLOT_LAST_SPOT);
    let mut vol = slot_f64(st, SLOT_VOL);
    let mut flow_ema = slot_f64(st, SLOT_FLOW_EMA);
    if last_spot == 0.0 {
        // First trade of the simulation (storage starts zeroed).
        last_spot = spot;
        vol = INITIAL_VOL;
        flow_ema = INITIAL_FLOW_EMA;
    }
    vol = 0.05 * det_log(spot / last_spot).abs() + 0.95 * vol;
    flow_ema = 0.1 * flow_captured + 0.9 * flow_ema;
    set_slot_f64(st, SLOT_VOL, vol);
    set_slot_f64(st, SLOT_FLOW_EMA, flow_ema);
    set_slot_f64(st, SLOT_LAST_SPOT, spot);
    let trades = slot_u64(st, SLOT_TRADES);
    set_slot_u64(st, SLOT_TRADES, trades + 1.0);
}

/// The raw features the policy observes (SPEC §6).
struct Features {
    sigma_hat: f64,
    flow_ema: f64,
    capital_weight: f64,
    epoch_step: f64,
    n_pools: f64,
}

/// Features before any trade: the starter's initial estimates and an equal capital share.
fn initial_features() -> Features {
    Features {
        sigma_hat: INITIAL_VOL,
        flow_ema: INITIAL_FLOW_EMA,
        capital_weight: 1.0 / N_STRATEGIES,
        epoch_step: 0.0,
        n_pools: N_STRATEGIES + 1.0,
    }
}

fn read_features(st: &Storage) -> Features {
    let fallback = initial_features();
    let traded = slot_f64(st, SLOT_LAST_SPOT) != 0.0;
    let pools = slot_f64(st, SLOT_N_POOLS);
    Features {
        sigma_hat: if traded { slot_f64(st, SLOT_VOL) } else { fallback.sigma_hat },
        flow_ema: if traded { slot_f64(st, SLOT_FLOW_EMA) } else { fallback.flow_ema },
        capital_weight: if pools > 0.0 { slot_f64(st, SLOT_CAPITAL_WEIGHT) } else { fallback.capital_weight },
        epoch_step: slot_f64(st, SLOT_EPOCH_STEP),
        n_pools: if pools > 0.0 { pools } else { fallback.n_pools },
    }
}

// ---------------------------------------------------------------------------------------------
// Observation (env/gym.ts): float32 like the env's Float32Array, scaled and clipped.
// ---------------------------------------------------------------------------------------------

const SIGMA_OBS_SCALE: f64 = @SIGMA_OBS_SCALE@;
const SIGMA_OBS_MAX: f64 = @SIGMA_OBS_MAX@;
const MAX_POOLS: f64 = @MAX_POOLS@;

/// Rounds to float32 and back, as storing into a Float32Array does (round to nearest even).
fn f32_round(x: f64) -> f64 {
    x as f32 as f64
}

fn observation(f: &Features) -> [f64; 5] {
    [
        f32_round(js_min(SIGMA_OBS_MAX, js_max(0.0, f.sigma_hat * SIGMA_OBS_SCALE))),
        f32_round(js_min(1.0, js_max(0.0, f.flow_ema))),
        f32_round(js_min(1.0, js_max(0.0, f.capital_weight))),
        f32_round(js_min(1.0, js_max(0.0, f.epoch_step / EPOCH_LEN))),
        f32_round(js_min(1.0, f.n_pools / MAX_POOLS)),
    ]
}

// ---------------------------------------------------------------------------------------------
// The policy (agents/mlp.ts): x = clip((obs - mean) / sqrt(var + eps), +-clip), then dense
// layers in double precision, summing bias + x[0] k[0][j] + x[1] k[1][j] + ... in that order.
// ---------------------------------------------------------------------------------------------

const OBS_EPS: f64 = @OBS_EPS@;

#[derive(Clone, Copy)]
#[allow(dead_code)]
enum Activation {
    Tanh,
    Relu,
    Linear,
}

fn normalize(obs: &[f64; 5], x: &mut [f64]) {
    for i in 0..x.len() {
        let inv_std = 1.0 / (OBS_VAR[i] + OBS_EPS).sqrt();
        let z = (obs[i] - OBS_MEAN[i]) * inv_std;
        x[i] = if z > OBS_CLIP {
            OBS_CLIP
        } else if z < -OBS_CLIP {
            -OBS_CLIP
        } else {
            z
        };
    }
}

/// y = activation(bias + x . kernel), kernel row-major [inputs x outputs].
fn dense(x: &[f64], kernel: &[f64], bias: &[f64], activation: Activation, y: &mut [f64]) {
    let outputs = y.len();
    for j in 0..outputs {
        let mut s = bias[j];
        for i in 0..x.len() {
            s += x[i] * kernel[i * outputs + j];
        }
        y[j] = match activation {
            Activation::Tanh => det_tanh(s),
            Activation::Relu => {
                if s > 0.0 {
                    s
                } else {
                    0.0
                }
            }
            Activation::Linear => s,
        };
    }
}

/// Action in [-1, 1] -> fee in bps over [FEE_MIN_BPS, FEE_MAX_BPS]; values outside are clipped.
fn action_to_fee_bps(a: f64) -> f64 {
    let c = js_min(1.0, js_max(-1.0, a));
    FEE_MIN_BPS + ((c + 1.0) / 2.0) * (FEE_MAX_BPS - FEE_MIN_BPS)
}

/// The policy's fees (bps) for some features.
fn decide(f: &Features) -> (f64, f64) {
    let a = act(&observation(f));
    (action_to_fee_bps(a[0]), action_to_fee_bps(a[1]))
}

// ---------------------------------------------------------------------------------------------
// The hooks: the agent pool (env/builtins/agent.ts) with the policy deciding in them.
// ---------------------------------------------------------------------------------------------

const TAG_AFTER_SWAP: u8 = 2;
const TAG_EPOCH_BOUNDARY: u8 = 5;
const AFTER_SWAP_HEADER: usize = 92;
const EPOCH_HEADER: usize = 41;
const COMPUTE_SWAP_HEADER: usize = 25;

fn after_swap(d: &[u8], st: &mut Storage) {
    // Payload: side u8 @1, input/output/reserve_x/reserve_y u64 nano @2/10/18/26, sim_step u64 @34,
    // epoch_step u32 @42, epoch_number u32 @46, n_strategies u8 @50, strategy_index u8 @51,
    // flow_captured f32 @52, capital_weight f32 @56, competing spots f32 x 8 @60.
    let reserve_x = from_nano(read_u64(d, 18));
    let reserve_y = from_nano(read_u64(d, 26));
    let sim_step = read_u64(d, 34) as f64;
    let epoch_step = read_u32(d, 42) as f64;
    let n_pools = d[50] as f64;
    let flow_captured = read_f32(d, 52);
    let capital_weight = read_f32(d, 56);

    materialise(st);
    update_features(st, reserve_x, reserve_y, flow_captured);
    set_slot_f64(st, SLOT_CAPITAL_WEIGHT, capital_weight);
    set_slot_f64(st, SLOT_EPOCH_STEP, epoch_step);
    set_slot_f64(st, SLOT_N_POOLS, n_pools);
    if sim_step - slot_f64(st, SLOT_LAST_DECISION) >= DECISION_INTERVAL {
        set_slot_f64(st, SLOT_LAST_DECISION, sim_step);
        let fees = decide(&read_features(st));
        set_fees(st, fees);
    }
}

fn epoch_boundary(d: &[u8], st: &mut Storage) {
    // Payload: epoch_number u32 @1, new reserves u64 nano @5/13, epoch/cumulative edge f64 @21/29,
    // capital_weight f32 @37.
    let epoch_number = read_u32(d, 1) as f64;
    let capital_weight = read_f32(d, 37);

    materialise(st);
    // The starter's epoch updates, without its fee adjustments (the policy sets the fees).
    let vol = slot_f64(st, SLOT_VOL);
    set_slot_f64(st, SLOT_VOL, 0.5 * vol + 0.5 * INITIAL_VOL);
    set_slot_u64(st, SLOT_TRADES, 0.0);
    set_slot_f64(st, SLOT_CAPITAL_WEIGHT, capital_weight);
    set_slot_u64(st, SLOT_EPOCH, epoch_number);
    set_slot_f64(st, SLOT_EPOCH_STEP, 0.0);
    // The boundary follows the epoch's last step; the event does not carry it, so the epoch
    // length baked above stands in for the simulation's (as the JavaScript agent uses its config).
    set_slot_f64(st, SLOT_LAST_DECISION, (epoch_number + 1.0) * EPOCH_LEN - 1.0);
    let fees = decide(&read_features(st));
    set_fees(st, fees);
}

// ---------------------------------------------------------------------------------------------
// The native ABI (prop-amm-multi).
// ---------------------------------------------------------------------------------------------

/// Quote: side u8 @0 (0: pay Y, receive X; 1: pay X, receive Y), input/reserve_x/reserve_y u64
/// nano @1/9/17, storage @25. Returns the output in nano; constant product with the fee on input.
#[no_mangle]
pub extern "C" fn __prop_amm_compute_swap(data: *const u8, len: usize) -> u64 {
    if data.is_null() || len < COMPUTE_SWAP_HEADER + STORAGE_BYTES {
        return 0;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let side = d[0];
    if side > 1 {
        return 0;
    }
    let input = from_nano(read_u64(d, 1));
    let rx = from_nano(read_u64(d, 9));
    let ry = from_nano(read_u64(d, 17));
    let mut st: Storage = [0u8; STORAGE_BYTES];
    st.copy_from_slice(&d[COMPUTE_SWAP_HEADER..COMPUTE_SWAP_HEADER + STORAGE_BYTES]);
    let gi = (1.0 - current_fee(&st, side)) * input;
    let out = if side == 0 { (rx * gi) / (ry + gi) } else { (ry * gi) / (rx + gi) };
    to_nano(out)
}

/// Hooks: tag 2 (after swap, 92 + 1024 bytes) or tag 5 (epoch boundary, 41 + 1024 bytes). The
/// payload's storage is updated and written to \`storage\` (1024 bytes); anything else is ignored.
#[no_mangle]
pub extern "C" fn __prop_amm_after_swap(data: *const u8, len: usize, storage: *mut u8) {
    if data.is_null() || storage.is_null() || len == 0 {
        return;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let header = match d[0] {
        TAG_AFTER_SWAP => AFTER_SWAP_HEADER,
        TAG_EPOCH_BOUNDARY => EPOCH_HEADER,
        _ => return,
    };
    if len < header + STORAGE_BYTES {
        return;
    }
    // Work on a copy: \`storage\` may alias the payload's storage bytes.
    let mut st: Storage = [0u8; STORAGE_BYTES];
    st.copy_from_slice(&d[header..header + STORAGE_BYTES]);
    if d[0] == TAG_AFTER_SWAP {
        after_swap(d, &mut st);
    } else {
        epoch_boundary(d, &mut st);
    }
    unsafe { std::ptr::copy(st.as_ptr(), storage, STORAGE_BYTES) };
}

/// Writes the strategy's name (UTF-8, truncated to max_len bytes); returns the bytes written.
#[no_mangle]
pub extern "C" fn __prop_amm_get_name(buf: *mut u8, max_len: usize) -> usize {
    if buf.is_null() {
        return 0;
    }
    let name = NAME.as_bytes();
    let n = name.len().min(max_len);
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n) };
    n
}
`;

/** The deterministic math of the Rust export, on its own (for tests). */
export function rustDetmathSource(): string {
  return RS_DETMATH;
}

function rustActivation(a: string): string {
  return a === "tanh" ? "Activation::Tanh" : a === "relu" ? "Activation::Relu" : "Activation::Linear";
}

function generateRust(p: ExportablePolicy, name: string, nStrategies: number): string {
  const m = p.meta;
  const header = headerLines(p, name, "Rust (prop-amm-multi native ABI)")
    .map((l) => (l === "" ? "//" : `// ${l}`))
    .join("\n");
  const usage = [
    "//",
    "// Build: rustc --edition 2021 --crate-type cdylib -O <this file>   (no crates needed)",
    "// Exports __prop_amm_compute_swap, __prop_amm_after_swap (tags 2 and 5) and __prop_amm_get_name.",
    `// Baked in: ${nStrategies} strategies per simulation (the reset decision, quoted before any hook`,
    "// runs, observes the number of pools; `propamm export` can bake another count), and",
    `// epochLen ${m.epochLen} (the epoch event does not carry the step; the schedule derives it).`,
  ].join("\n");
  const layers = p.spec.layers;
  const weights = layers
    .map(
      (
        l,
        i,
      ) => `// Layer ${i}: ${l.inputs} -> ${l.outputs}, ${l.activation}. Kernel row-major [inputs x outputs], as tfjs stores it.
static L${i}_KERNEL: [f64; ${l.inputs * l.outputs}] = [
${kernelLines(l.kernel, l.inputs, l.outputs, rustNumber, "    ", "//")}
];
static L${i}_BIAS: [f64; ${l.outputs}] = [
${numberLines(l.bias, rustNumber, "    ")}
];`,
    )
    .join("\n\n");
  const forward = layers
    .map(
      (l, i) =>
        `    let mut x${i + 1} = [0.0f64; ${l.outputs}];\n` +
        `    dense(&x${i}, &L${i}_KERNEL, &L${i}_BIAS, ${rustActivation(l.activation)}, &mut x${i + 1});`,
    )
    .join("\n");
  const policy = `// ---------------------------------------------------------------------------------------------
// The policy, baked from the checkpoint.
// ---------------------------------------------------------------------------------------------

const NAME: &str = ${rustString(name)};
/// Minimum steps between two afterSwap decisions.
const DECISION_INTERVAL: f64 = ${rustNumber(m.decisionInterval)};
/// The epoch length the policy was trained with: scales the epoch-step feature and, since the
/// epoch event does not carry the step, places the epoch-boundary decision.
const EPOCH_LEN: f64 = ${rustNumber(m.epochLen)};
/// Strategies in the simulation (pools before the normalizer), for the reset decision.
const N_STRATEGIES: f64 = ${rustNumber(nStrategies)};
/// The action range [-1, 1] maps linearly onto [FEE_MIN_BPS, FEE_MAX_BPS].
const FEE_MIN_BPS: f64 = ${rustNumber(m.feeMinBps)};
const FEE_MAX_BPS: f64 = ${rustNumber(m.feeMaxBps)};

// Observation normalisation (running mean and variance from training) and its clip.
const OBS_MEAN: [f64; 5] = [
${numberLines(p.spec.obsNorm.mean, rustNumber, "    ", 3)}
];
const OBS_VAR: [f64; 5] = [
${numberLines(p.spec.obsNorm.var, rustNumber, "    ", 3)}
];
const OBS_CLIP: f64 = ${rustNumber(p.spec.obsClip)};

${weights}

/// The deterministic action (the network's output, the Gaussian mean) for one observation.
fn act(obs: &[f64; 5]) -> [f64; 2] {
    let mut x0 = [0.0f64; 5];
    normalize(obs, &mut x0);
${forward}
    x${layers.length}
}
`;
  const body = fill(RS_BODY, {
    ...slotValues(),
    STORAGE_BYTES: STORAGE_BYTES,
    INITIAL_VOL: rustNumber(INITIAL_VOL),
    INITIAL_FLOW_EMA: rustNumber(INITIAL_FLOW_EMA),
    SIGMA_OBS_SCALE: rustNumber(SIGMA_OBS_SCALE),
    SIGMA_OBS_MAX: rustNumber(SIGMA_OBS_MAX),
    MAX_POOLS: rustNumber(MAX_POOLS),
    OBS_EPS: rustNumber(OBS_EPS),
  });
  return [header, usage, "", policy, RS_DETMATH, body].join("\n");
}
