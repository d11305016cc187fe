/**
 * Rust strategy files (spec §3.5) compiled to WebAssembly. A `.rs` file written against the
 * native ABI (it defines `__prop_amm_compute_swap` and friends itself) or against the submission
 * SDK (it defines `fn compute_swap(ctx: &SwapContext) -> u64`, and optionally `after_swap`,
 * `on_epoch_boundary` and `NAME`) is compiled by rustc for `wasm32-unknown-unknown` with our
 * `prop_amm_submission_sdk` crate linked in, and cached by the hash of everything that goes
 * into the build. arena/wasm-strategy.ts runs the module.
 *
 * rustc runs with an empty environment in a fresh folder holding only the source; a source that
 * reads files or environment variables at compile time (`include!`, `include_str!`,
 * `include_bytes!`, `env!`, `option_env!`, `#[path]`) is refused, so compiling a file someone
 * else wrote reads nothing of ours into the module.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PropAmmError } from "../env/errors.js";

export const WASM_TARGET = "wasm32-unknown-unknown";
/** A strategy module's memory may grow to this many bytes; past it, allocation fails in the module. */
export const WASM_MAX_MEMORY_BYTES = 64 * 1024 * 1024;
/** rustc gets this long per file. */
const COMPILE_TIMEOUT_MS = 180_000;
/** Bump when the shim or the flags change meaning: cached modules then rebuild. */
const BUILD_SCHEME = 1;

/** A Rust strategy that does not compile, or a source we refuse to compile. */
export class RustBuildError extends PropAmmError {
  constructor(message: string) {
    super("STRATEGY_FILE", message);
    this.name = "RustBuildError";
  }
}

/** No rustc that can build WebAssembly is installed: the message says what to install. */
export class RustToolchainError extends PropAmmError {
  constructor(message: string) {
    super("TOOLCHAIN", message);
    this.name = "RustToolchainError";
  }
}

export interface RustToolchain {
  rustc: string;
  /** `rustc -vV`: part of every cache key. */
  version: string;
}

const TOOLCHAIN_HELP =
  "Rust strategies need a rustc with the wasm32-unknown-unknown standard library and lld: on Debian/Ubuntu " +
  "`apt-get install rustc libstd-rust-dev-wasm32 lld`, with rustup `rustup target add wasm32-unknown-unknown`; " +
  "or point PROPAMM_RUSTC at such a rustc";

let toolchainCache: RustToolchain | null = null;

function hasWasmStd(rustc: string): string | null {
  const r = spawnSync(rustc, ["--print", "target-libdir", "--target", WASM_TARGET], { encoding: "utf8" });
  if (r.status !== 0) return null;
  const dir = r.stdout.trim();
  try {
    return readdirSync(dir).some((f) => /^libstd-.*\.rlib$/.test(f)) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * The first rustc that can build `wasm32-unknown-unknown`: PROPAMM_RUSTC, then `rustc` on PATH,
 * then Debian's /usr/bin/rustc (a rustup toolchain on PATH often lacks the target while the
 * distribution's compiler has it).
 */
export function findWasmRustc(): RustToolchain {
  if (toolchainCache) return toolchainCache;
  const candidates = [process.env.PROPAMM_RUSTC, "rustc", "/usr/bin/rustc"].filter(
    (c): c is string => typeof c === "string" && c !== "",
  );
  const tried: string[] = [];
  for (const rustc of candidates) {
    const v = spawnSync(rustc, ["-vV"], { encoding: "utf8" });
    if (v.status !== 0) {
      tried.push(`${rustc}: not found`);
      continue;
    }
    if (hasWasmStd(rustc) === null) {
      tried.push(`${rustc}: no ${WASM_TARGET} standard library`);
      continue;
    }
    toolchainCache = { rustc, version: v.stdout.trim() };
    return toolchainCache;
  }
  throw new RustToolchainError(`no Rust compiler for WebAssembly (${tried.join("; ")}). ${TOOLCHAIN_HELP}`);
}

/** Where compiled modules live: PROPAMM_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, /prop-amm-gym. */
export function cacheDir(): string {
  const base =
    process.env.PROPAMM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prop-amm-gym");
  return resolve(base);
}

/** The SDK crate's source: shipped in the package beside the policy runtime. */
export function sdkSourcePath(): string {
  // From dist/arena/rust.js or arena/rust.ts the package root is two folders up.
  const here = dirname(fileURLToPath(import.meta.url));
  const fromDist = resolve(here, "../../runtime/rust/prop_amm_submission_sdk.rs");
  return existsSync(fromDist) ? fromDist : resolve(here, "../runtime/rust/prop_amm_submission_sdk.rs");
}

function sha256(parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(`${p.length}:${p}`);
  return h.digest("hex");
}

/** Compile-time reads of files or the environment, refused in any strategy file. */
const FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\binclude(_str|_bytes)?\s*!/, "include!/include_str!/include_bytes! (reads files at compile time)"],
  [/\b(option_)?env\s*!/, "env!/option_env! (reads the environment at compile time)"],
  [/#\s*\[\s*path\s*=/, "#[path] (loads another file)"],
];

function lineOf(source: string, index: number): number {
  return source.slice(0, index).split("\n").length;
}

/** What kind of file this is, and the code the compiler step appends to it. */
export function shimFor(source: string, file: string): string {
  const native = /\b__prop_amm_compute_swap\b/.test(source);
  const sdk = /\bfn\s+compute_swap\s*[(<]/.test(source);
  if (!native && !sdk) {
    throw new RustBuildError(
      `${file}: defines neither \`__prop_amm_compute_swap\` (the native ABI, spec §3.5) nor ` +
        "`fn compute_swap(ctx: &SwapContext) -> u64` (the submission SDK form)",
    );
  }
  const lines = ["", "// ---- appended by prop-amm gym's Rust build (arena/rust.ts) ----"];
  if (!native) {
    const sdkPath = "prop_amm_submission_sdk";
    const hook = (name: string, ctx: string): string =>
      new RegExp(`\\bfn\\s+${name}\\s*[(<]`).test(source)
        ? `Some(${name} as fn(&${sdkPath}::${ctx}, &mut ${sdkPath}::Storage))`
        : "None";
    const hasName = /\bconst\s+NAME\s*:/.test(source);
    const stem = basename(file).replace(/\.rs$/, "");
    lines.push(
      "#[no_mangle]",
      'pub extern "C" fn __prop_amm_compute_swap(data: *const u8, len: usize) -> u64 {',
      `    ${sdkPath}::ffi_compute_swap(data, len, compute_swap)`,
      "}",
      "#[no_mangle]",
      'pub extern "C" fn __prop_amm_after_swap(data: *const u8, len: usize, storage: *mut u8) {',
      `    ${sdkPath}::ffi_after_swap(data, len, storage, ${hook("after_swap", "AfterSwapContext")}, ${hook(
        "on_epoch_boundary",
        "EpochContext",
      )})`,
      "}",
      "#[no_mangle]",
      'pub extern "C" fn __prop_amm_get_name(buf: *mut u8, max_len: usize) -> usize {',
      `    ${sdkPath}::ffi_get_name(buf, max_len, ${hasName ? "NAME" : JSON.stringify(stem)})`,
      "}",
    );
  }
  // The quote as f64 (u64 -> f64 rounds to nearest, as JavaScript's Number(bigint) does): the
  // host reads it without allocating a BigInt per quote.
  lines.push(
    "#[no_mangle]",
    "#[allow(unused_unsafe)]",
    'pub extern "C" fn __propamm_quote_f64(data: *const u8, len: usize) -> f64 {',
    "    unsafe { __prop_amm_compute_swap(data, len) as f64 }",
    "}",
    "",
  );
  return lines.join("\n");
}

function checkSource(source: string, file: string): void {
  for (const [re, what] of FORBIDDEN) {
    const m = re.exec(source);
    if (m) throw new RustBuildError(`${file}:${lineOf(source, m.index)}: ${what} is not allowed in a strategy file`);
  }
}

function runRustc(tc: RustToolchain, args: string[], cwd: string): { ok: boolean; stderr: string } {
  const r = spawnSync(tc.rustc, args, {
    cwd,
    encoding: "utf8",
    timeout: COMPILE_TIMEOUT_MS,
    // Nothing of ours: no RUSTC_BOOTSTRAP, no secrets, only a PATH to find the linker.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: cwd },
  });
  if (r.error) return { ok: false, stderr: `rustc could not run: ${r.error.message}` };
  if (r.signal) return { ok: false, stderr: `rustc was stopped (${r.signal}) after ${COMPILE_TIMEOUT_MS / 1000} s` };
  return { ok: r.status === 0, stderr: r.stderr };
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const COMMON_FLAGS = ["--edition", "2021", "--target", WASM_TARGET, "-C", "opt-level=3", "-C", "debuginfo=0"];

/** The SDK compiled as an rlib for the target, cached by SDK source and compiler. */
function sdkRlib(tc: RustToolchain): string {
  const source = readFileSync(sdkSourcePath(), "utf8");
  const key = sha256([String(BUILD_SCHEME), tc.version, source, COMMON_FLAGS.join(" ")]);
  const out = join(cacheDir(), "sdk", key, "libprop_amm_submission_sdk.rlib");
  if (existsSync(out)) return out;
  const work = mkdtempSync(join(tmpdir(), "propamm-sdk-"));
  try {
    writeFileSync(join(work, "sdk.rs"), source);
    const built = join(work, "libprop_amm_submission_sdk.rlib");
    const r = runRustc(
      tc,
      [...COMMON_FLAGS, "--crate-type", "rlib", "--crate-name", "prop_amm_submission_sdk", "-o", built, "sdk.rs"],
      work,
    );
    if (!r.ok) throw new RustToolchainError(`the submission SDK does not build with ${tc.rustc}:\n${r.stderr}`);
    writeAtomically(out, readFileSync(built));
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface CompiledRust {
  /** The cached module. */
  wasmPath: string;
  /** True when the module came from the cache. */
  cached: boolean;
}

/**
 * Compiles a Rust strategy file to a WebAssembly module (or finds it in the cache). Compiler
 * errors come back as a RustBuildError whose message is rustc's, with the file's own path.
 */
export function compileRustStrategy(file: string): CompiledRust {
  const path = resolve(file);
  if (!existsSync(path)) throw new RustBuildError(`strategy file not found: ${file}`);
  const source = readFileSync(path, "utf8");
  checkSource(source, file);
  const full = source + shimFor(source, file);
  const tc = findWasmRustc();
  const rlib = sdkRlib(tc);
  const linkFlags = ["-C", `link-arg=--max-memory=${WASM_MAX_MEMORY_BYTES}`, "-C", "link-arg=--strip-all"];
  const key = sha256([
    String(BUILD_SCHEME),
    tc.version,
    readFileSync(rlib).toString("base64"),
    full,
    linkFlags.join(" "),
  ]);
  const wasmPath = join(cacheDir(), "wasm", `${key}.wasm`);
  if (existsSync(wasmPath)) return { wasmPath, cached: true };
  const work = mkdtempSync(join(tmpdir(), "propamm-rs-"));
  try {
    const name = basename(path);
    writeFileSync(join(work, name), full);
    const out = join(work, "strategy.wasm");
    const r = runRustc(
      tc,
      [
        ...COMMON_FLAGS,
        ...linkFlags,
        "--crate-type",
        "cdylib",
        "--crate-name",
        "strategy",
        "--extern",
        `prop_amm_submission_sdk=${rlib}`,
        "--cap-lints",
        "allow",
        "-o",
        out,
        name,
      ],
      work,
    );
    if (!r.ok) {
      // rustc names the copy by its folder-relative name; say the user's path instead.
      const text = r.stderr
        .split(join(work, name))
        .join(file)
        .replace(new RegExp(`(-->\\s+)${escapeRe(name)}`, "g"), `$1${file}`);
      throw new RustBuildError(`${file} does not compile (${tc.rustc}, ${WASM_TARGET}):\n${text.trimEnd()}`);
    }
    writeAtomically(wasmPath, readFileSync(out));
    return { wasmPath, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
