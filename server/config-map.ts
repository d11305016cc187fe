/**
 * Protocol config maps (snake_case) to the env's configuration, naming any unknown or mistyped
 * key. The names come from the configuration schema (env/options.ts, gym/options.ts); here
 * only the wire types are checked, the ranges are the env's to check.
 */
import { ConfigError } from "../env/errors.js";
import { DEFAULT_CONFIG, type MarketPins, type SimConfig } from "../env/config.js";
import { PIN_OPTIONS, SIM_OPTIONS, type OptionSpec } from "../env/options.js";
import { DEFAULT_ENV_CONFIG, ENV_OPTIONS, type EnvConfig } from "../gym/options.js";

function byWire(rows: readonly OptionSpec[]): ReadonlyMap<string, OptionSpec> {
  return new Map(rows.map((o) => [o.wire, o]));
}

const ENV_BY_WIRE = byWire(ENV_OPTIONS);
const SIM_BY_WIRE = byWire(SIM_OPTIONS);
const PIN_BY_WIRE = byWire(PIN_OPTIONS);

/** Every option's wire name by its TypeScript name (for error messages in the protocol's spelling). */
export const WIRE_NAMES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries([...ENV_OPTIONS, ...SIM_OPTIONS, ...PIN_OPTIONS].map((o) => [o.key, o.wire])),
);

/** A decoded msgpack map (a plain object: not bin, not an extension value such as a timestamp). */
function isMap(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object" || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Checks a value's wire type (msgpack has numbers, booleans, strings, arrays); `where` names it. */
function checkWireType(spec: OptionSpec, v: unknown, where: string): void {
  const check = spec.check;
  switch (check.kind) {
    case "integer":
    case "number":
      if (typeof v !== "number") throw new ConfigError(`${where} must be a number`);
      return;
    case "boolean":
      if (typeof v !== "boolean") throw new ConfigError(`${where} must be a boolean`);
      return;
    case "choice":
      if (!check.valid(v)) throw new ConfigError(`${where} must be ${check.expected}`);
      return;
    case "list":
      if (!Array.isArray(v) || !v.every((o) => typeof o === "string"))
        throw new ConfigError(`${where} must be a list of strings`);
      return;
  }
}

export function pinsFromWire(x: unknown, where: string): MarketPins {
  if (!isMap(x)) throw new ConfigError(`${where} must be a map`);
  const pins: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    const spec = PIN_BY_WIRE.get(k);
    if (!spec)
      throw new ConfigError(`${where}: unknown market parameter '${k}' (known: ${[...PIN_BY_WIRE.keys()].join(", ")})`);
    checkWireType(spec, v, `${where}.${k}`);
    pins[spec.key] = v;
  }
  return pins as MarketPins;
}

export function simFromWire(x: unknown): Partial<SimConfig> {
  if (!isMap(x)) throw new ConfigError("config.sim must be a map");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    if (k === "pins") {
      out.pins = pinsFromWire(v, "config.sim.pins");
      continue;
    }
    const spec = SIM_BY_WIRE.get(k);
    if (!spec)
      throw new ConfigError(`config.sim: unknown option '${k}' (known: ${[...SIM_BY_WIRE.keys(), "pins"].join(", ")})`);
    checkWireType(spec, v, `config.sim.${k}`);
    out[spec.key] = v;
  }
  return out as Partial<SimConfig>;
}

export function envConfigFromWire(x: unknown): Partial<EnvConfig> {
  if (x === undefined || x === null) return {};
  if (!isMap(x)) throw new ConfigError("config must be a map");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    if (k === "sim") {
      out.sim = simFromWire(v);
      continue;
    }
    const spec = ENV_BY_WIRE.get(k);
    if (!spec)
      throw new ConfigError(`config: unknown option '${k}' (known: ${[...ENV_BY_WIRE.keys(), "sim"].join(", ")})`);
    checkWireType(spec, v, `config.${k}`);
    out[spec.key] = v;
  }
  return out as Partial<EnvConfig>;
}

/** The default config in the protocol's names (`hello`'s default_config). */
export function defaultConfigWire(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of ENV_OPTIONS) {
    const v = DEFAULT_ENV_CONFIG[o.key as keyof EnvConfig];
    out[o.wire] = Array.isArray(v) ? v.filter((s) => typeof s === "string") : v;
  }
  const sim: Record<string, unknown> = {};
  for (const o of SIM_OPTIONS) sim[o.wire] = DEFAULT_CONFIG[o.key as keyof SimConfig];
  sim.pins = {};
  out.sim = sim;
  return out;
}
