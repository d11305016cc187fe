/**
 * Turns what a user types (a built-in such as `starter` or `fixed:30`, a path to a
 * `.ts`/`.js`/`.mjs` strategy module, or a training checkpoint folder) into a strategy source the
 * engine can call once per simulation. The env and the engine never import this: it is handed
 * down to them (`PropAmmEnv.create(config, loadStrategy)`).
 */
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../env/config.js";
import { BUILTIN_HELP, builtinSource } from "../env/builtins/index.js";
import type { StrategySource } from "../env/simulation.js";
import type { Strategy } from "../env/strategy.js";
import { loadPolicy } from "../agents/checkpoint.js";
import { policyStrategy } from "../agents/policy-strategy.js";
import { compileRustStrategy } from "./rust.js";
import { loadWasmFile } from "./wasm-strategy.js";

export function looksLikeFile(spec: string): boolean {
  return /\.(m?js|ts|mts|rs|wasm)$/.test(spec) || spec.includes("/") || spec.includes("\\");
}

/** Checks that a value is a usable strategy; the message names what is missing. */
export function checkStrategyShape(value: unknown, where: string): Strategy {
  if (value === null || typeof value !== "object")
    throw new ConfigError(`${where}: a strategy must be an object, got ${typeof value}`);
  const s = value as Partial<Strategy>;
  if (typeof s.name !== "string" || s.name.trim() === "")
    throw new ConfigError(`${where}: strategy.name must be a non-empty string`);
  if (typeof s.computeSwap !== "function") throw new ConfigError(`${where}: strategy.computeSwap must be a function`);
  for (const hook of ["afterSwap", "onEpochBoundary", "constantProductFees"] as const) {
    if (s[hook] !== undefined && typeof s[hook] !== "function")
      throw new ConfigError(`${where}: strategy.${hook} must be a function when present`);
  }
  return s as Strategy;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  if (/\.(m?ts)$/.test(path)) {
    const { tsImport } = await import("tsx/esm/api");
    return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

/**
 * Loads a strategy module. It may export (as `default`, `strategy` or `createStrategy`) a
 * strategy object or a factory `(ctx) => strategy`; a factory is called once per simulation,
 * which is what a strategy that keeps JS-side state needs.
 */
export async function loadStrategyFile(file: string): Promise<StrategySource> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError(`strategy file not found: ${file}`);
  // Rust (spec §3.5): compiled to WebAssembly, cached, run with no imports.
  if (/\.rs$/.test(path)) return loadWasmFile(compileRustStrategy(file).wasmPath, file).source;
  if (/\.wasm$/.test(path)) return loadWasmFile(path, file).source;
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (err) {
    throw new ConfigError(`cannot load strategy file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let exported = mod.createStrategy ?? mod.strategy ?? mod.default;
  // tsx may wrap a CommonJS-style default export once more.
  if (exported && typeof exported === "object" && "default" in exported && !("computeSwap" in exported)) {
    exported = (exported as { default: unknown }).default;
  }
  if (exported === undefined) {
    throw new ConfigError(
      `${file}: export a strategy (or a factory returning one) as default, 'strategy' or 'createStrategy'`,
    );
  }
  if (typeof exported === "function") {
    const factory = exported as StrategySource;
    return (ctx) => checkStrategyShape(factory(ctx), file);
  }
  const strategy = checkStrategyShape(exported, file);
  return () => strategy;
}

/** A training run folder (with LATEST) or a checkpoint directory (with state.json). */
export function isCheckpointPath(spec: string): boolean {
  try {
    return statSync(spec).isDirectory() && (existsSync(join(spec, "LATEST")) || existsSync(join(spec, "state.json")));
  } catch {
    return false;
  }
}

/** A checkpoint's deterministic policy as a strategy (what `propamm eval` runs). */
export async function loadCheckpointStrategy(spec: string): Promise<StrategySource> {
  const { spec: policy, meta, state } = loadPolicy(spec);
  const label = `${state.algo.toUpperCase()} ${basename(resolve(spec))} @${state.counters.timesteps}`;
  return policyStrategy(policy, meta, label);
}

/** Resolves a built-in name, a checkpoint folder or a strategy file path. */
export async function loadStrategy(spec: string): Promise<StrategySource> {
  const builtin = builtinSource(spec);
  if (builtin) return builtin;
  if (isCheckpointPath(spec)) return loadCheckpointStrategy(spec);
  if (looksLikeFile(spec)) return loadStrategyFile(spec);
  throw new ConfigError(`unknown strategy '${spec}' (${BUILTIN_HELP})`);
}
