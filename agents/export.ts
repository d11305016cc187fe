/**
 * `propamm export`: a checkpoint's deterministic policy as one self-contained strategy file, in
 * TypeScript, JavaScript (ES module) or Rust (the seed's native ABI for prop-amm-multi).
 *
 * The generated file is what agents/policy-strategy.ts runs, written out: the policy runtime
 * (runtime/*.ts: deterministic exp/log/tanh, storage slots, feature updates, decision schedule,
 * observation/action mapping, MLP forward pass) inlined from the very modules the engine runs,
 * then the checkpoint's weights and settings baked in as data. The Rust export is
 * runtime/rust/policy.rs, the runtime's Rust twin, after the same baked data. Exported files
 * import nothing and need no ML runtime. The JS/TS export gives bit-identical results to the
 * env driven by the same policy; the Rust export makes bit-identical storage writes
 * (test/agents/export.test.ts checks both).
 *
 * Keeping it exact: every baked number is written as the shortest decimal that parses back to
 * the identical double (the weights are float32 values held in doubles, as MlpPolicy holds
 * them); the computations are the runtime's own code.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, resolve } from "node:path";
import { type CheckpointState, type PolicyMeta, loadPolicy } from "./checkpoint.js";
import { type PolicySpec, constantFeatures } from "./mlp.js";
import { PropAmmError } from "../env/errors.js";
import { OBSERVATION_SIZE, type ObservationKind } from "../runtime/mapping.js";
import { OBSERVATION_KINDS, isObservationKind } from "../runtime/observation-kinds.js";

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
    // The label `propamm eval` and `propamm run <checkpoint>` show (arena/loader.ts).
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

/** The observation a policy was trained on ("seed" for checkpoints from before the choice). */
function observationOf(p: ExportablePolicy): ObservationKind {
  return p.meta.observation ?? "seed";
}

function checkPolicy(p: ExportablePolicy): void {
  const { layers } = p.spec;
  if (layers.length === 0) throw new ExportError("the policy has no layers");
  const kind = observationOf(p);
  if (!isObservationKind(kind))
    throw new ExportError(`unknown policy observation '${String(kind)}' (${OBSERVATION_KINDS.join(", ")})`);
  const n = OBSERVATION_SIZE[kind];
  if (layers[0].inputs !== n || layers[layers.length - 1].outputs !== 2) {
    throw new ExportError(
      `the policy maps ${layers[0].inputs} inputs to ${layers[layers.length - 1].outputs} outputs; ` +
        `the agent pool observes ${n} features (the ${kind} observation) and sets 2 fees`,
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
  if (mean.length !== n || variance.length !== n)
    throw new ExportError(`observation normalisation must have ${n} entries`);
  const { min, max } = p.spec.obsNorm;
  if ((min === undefined) !== (max === undefined) || (min && (min.length !== n || max?.length !== n)))
    throw new ExportError(`the observation range needs min and max with ${n} entries each`);
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
    `Observation: ${observationOf(p)} (${sizes[0]} values, spec §6.3).`,
    `Fees: action in [-1, 1] per side -> ${m.feeMinBps}..${m.feeMaxBps} bps, stored as u64 WAD in storage slots 0/1.`,
    `Decisions: before the first quote (reset), in afterSwap once simStep - lastDecisionStep >= ${m.decisionInterval},`,
    "and at every epoch boundary (spec §6), exactly as in the env the policy was trained in.",
    "",
    "Self-contained: no imports, no ML runtime. The weights below are the checkpoint's float32 values,",
    "written so that they parse back to the identical doubles; the code after them is the gym's policy",
    "runtime (runtime/ in prop-amm gym, exp/log/tanh included), so this file makes the very same fee",
    "decisions, bit for bit, as `propamm eval` does with the checkpoint.",
  ].map((l) => commentText(l));
}

// ---------------------------------------------------------------------------------------------
// The runtime's source, read at export time
// ---------------------------------------------------------------------------------------------

/**
 * The runtime modules in dependency order. Concatenated without their import/export keywords
 * they form one scope (their top-level names are distinct, and distinct from the baked data's),
 * and everything they declare is used by an export (strict TypeScript rejects unused locals).
 */
const RUNTIME_MODULES = ["detmath", "slots", "features", "mapping", "mlp", "schedule", "policy"] as const;

/*
 * Where the runtime's files are. Reading them at export time, rather than generating a module
 * of source strings at build time, leaves nothing to regenerate and nothing that can go stale:
 * - compiled (dist/agents/export.js, the CLI and an installed package): the JavaScript is the
 *   tsc output next to this file (dist/runtime/*.js), the TypeScript and Rust sources are the
 *   package's runtime/ folder (shipped through package.json "files");
 * - from source (agents/export.ts under vitest): the sources are ../runtime/, and the JavaScript
 *   is their transpilation by the typescript package (a devDependency, present wherever the
 *   sources are run), so a stale dist/ can never leak into a test.
 */
const COMPILED = import.meta.url.endsWith(".js");
const SOURCE_ROOT = new URL(COMPILED ? "../../runtime/" : "../runtime/", import.meta.url);

function readRuntimeFile(url: URL): string {
  try {
    return readFileSync(url, "utf8");
  } catch (e) {
    throw new ExportError(`cannot read the policy runtime at ${url.pathname}: ${(e as Error).message}`);
  }
}

function runtimeJs(module: string): string {
  if (COMPILED) return readRuntimeFile(new URL(`../runtime/${module}.js`, import.meta.url));
  const ts = createRequire(import.meta.url)("typescript") as typeof import("typescript");
  return ts.transpileModule(readRuntimeFile(new URL(`${module}.ts`, SOURCE_ROOT)), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
}

/** A runtime module as part of one self-contained file: its imports (all of the runtime) and export keywords go. */
function inlineModule(module: string, text: string): string {
  const body = text
    .replace(/^import\b[^;]*;\n/gm, "")
    .replace(/^export (?=(?:declare )?(?:const|let|function|class|interface|type|abstract)\b)/gm, "")
    .replace(/^\/\/# sourceMappingURL=.*$/gm, "")
    .trim();
  const left = /^(import|export)\b.*$/m.exec(body);
  if (left)
    throw new ExportError(`runtime/${module}: cannot inline '${left[0]}' (the runtime must import only itself)`);
  const title = `// runtime/${module}.ts `;
  return `${title}${"-".repeat(Math.max(3, 96 - title.length))}\n\n${body}\n`;
}

/** The whole runtime, inlined: TypeScript source or its JavaScript. */
export function inlinedRuntime(ts: boolean): string {
  return RUNTIME_MODULES.map((m) =>
    inlineModule(m, ts ? readRuntimeFile(new URL(`${m}.ts`, SOURCE_ROOT)) : runtimeJs(m)),
  ).join("\n");
}

/** runtime/rust/policy.rs: the Rust runtime, which expects the baked policy before it. */
export function rustRuntime(): string {
  return readRuntimeFile(new URL("rust/policy.rs", SOURCE_ROOT));
}

// ---------------------------------------------------------------------------------------------
// JavaScript / TypeScript
// ---------------------------------------------------------------------------------------------

/**
 * TypeScript-only text is written between «guillemets»: kept (without them) for TypeScript and
 * dropped for JavaScript. Applied to the glue templates only, never to baked data.
 */
function typed(template: string, ts: boolean): string {
  return template.replace(/«([^»]*)»/g, ts ? "$1" : "");
}

/** The strategy factory around the runtime's policyAgent (runtime/policy.ts). */
const JS_FACTORY = `// ---------------------------------------------------------------------------------------------
// The strategy factory: the agent pool deciding with the baked policy (runtime/policy.ts).
// ---------------------------------------------------------------------------------------------
«
/** The part of the factory's context this strategy reads. */
interface StrategyContext {
  config: { epochLen: number };
  nStrategies: number;
}
»
let warnedEpochLen = false;

export default function createStrategy(ctx«: StrategyContext») {
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
  // Weights and scratch buffers per simulation, as agents/policy-strategy.ts holds them.
  const policy«: PolicyDeployment» = {
    name: NAME,
    mlp: mlpWeights(LAYERS, OBS_MEAN, OBS_VAR, OBS_CLIP, OBS_CONSTANT),
    decisionInterval: DECISION_INTERVAL,
    trainEpochLen: TRAIN_EPOCH_LEN,
    feeMinBps: FEE_MIN_BPS,
    feeMaxBps: FEE_MAX_BPS,
    observation: OBSERVATION,
  };
  return policyAgent(policy, ctx.nStrategies, epochLen);
}
`;

/** OBS_CONSTANT's entries: every feature false for a checkpoint without ranges. */
function constantList(p: ExportablePolicy): string {
  const n = p.spec.layers[0].inputs;
  const constant = constantFeatures(p.spec.obsNorm) ?? new Array<boolean>(n).fill(false);
  return constant.map(String).join(", ");
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
/** The observation the policy was trained on (spec §6.3). */
const OBSERVATION«: ObservationKind» = ${JSON.stringify(observationOf(p))};
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
// The features that took one value in training: the policy reads them as 0.
const OBS_CONSTANT«: boolean[]» = [${constantList(p)}];
const OBS_CLIP = ${jsNumber(p.spec.obsClip)};

const LAYERS«: DenseLayer[]» = [
${layers}
];
`;
  const runtime = `// ---------------------------------------------------------------------------------------------
// The policy runtime (runtime/*.ts of prop-amm gym, verbatim${ts ? "" : ", compiled to JavaScript"}).
// ---------------------------------------------------------------------------------------------

${inlinedRuntime(ts)}`;
  return [header, "//", usage, "", typed(policy, ts), runtime, typed(JS_FACTORY, ts)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Rust (prop-amm-multi's native ABI)
// ---------------------------------------------------------------------------------------------

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
    `// Baked in: ${nStrategies} strategies per simulation, for the reset decision (quoted before any`,
    "// hook runs, it observes the number of pools) when the engine does not say: prop-amm gym calls",
    "// __prop_amm_init with the real count first; `propamm export` can bake another default. And",
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
/// Strategies in the simulation (pools before the normalizer), for the reset decision when the
/// engine does not call __prop_amm_init.
const N_STRATEGIES: f64 = ${rustNumber(nStrategies)};
/// The action range [-1, 1] maps linearly onto [FEE_MIN_BPS, FEE_MAX_BPS].
const FEE_MIN_BPS: f64 = ${rustNumber(m.feeMinBps)};
const FEE_MAX_BPS: f64 = ${rustNumber(m.feeMaxBps)};

/// The observation the policy was trained on (spec §6.3): ${observationOf(p)}, ${layers[0].inputs} values.
const EXTENDED: bool = ${observationOf(p) === "extended"};
const STEP_VOL: bool = ${observationOf(p) === "seed-vol"};
const OBS_SIZE: usize = ${layers[0].inputs};

// Observation normalisation (running mean and variance from training) and its clip.
const OBS_MEAN: [f64; OBS_SIZE] = [
${numberLines(p.spec.obsNorm.mean, rustNumber, "    ", 3)}
];
const OBS_VAR: [f64; OBS_SIZE] = [
${numberLines(p.spec.obsNorm.var, rustNumber, "    ", 3)}
];
/// The features that took one value in training: the policy reads them as 0.
const OBS_CONSTANT: [bool; OBS_SIZE] = [${constantList(p)}];
const OBS_CLIP: f64 = ${rustNumber(p.spec.obsClip)};

${weights}

/// The deterministic action (the network's output, the Gaussian mean) for one observation.
fn act(obs: &[f64; OBS_SIZE]) -> [f64; 2] {
    let mut x0 = [0.0f64; OBS_SIZE];
    normalize(obs, &mut x0);
${forward}
    x${layers.length}
}
`;
  return [header, usage, "", policy, rustRuntime()].join("\n");
}
