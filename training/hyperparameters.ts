/**
 * One typed config per algorithm, in CleanRL's `Args` manner: each hyperparameter is declared
 * once, with its default and a line of documentation. The config type, the defaults, the
 * `--hp key=value` validation and the CLI help all come from that one table.
 */
import { ConfigError } from "../env/config.js";

export interface Hyperparameter<T> {
  readonly default: T;
  readonly doc: string;
}

/** A table's entry: the default value and what the hyperparameter does. */
export function hp<T>(defaultValue: T, doc: string): Hyperparameter<T> {
  return { default: defaultValue, doc };
}

export type HyperparameterTable = Record<string, Hyperparameter<unknown>>;

/** The config a table describes: one field per hyperparameter, typed by its default. */
export type ConfigOf<T extends HyperparameterTable> = {
  -readonly [K in keyof T]: T[K] extends Hyperparameter<infer V> ? V : never;
};

/** A fresh config of the table's defaults, in the table's order (lists copied). */
export function defaultsOf<T extends HyperparameterTable>(table: T): ConfigOf<T> {
  const out: Record<string, unknown> = {};
  for (const [k, h] of Object.entries(table)) out[k] = Array.isArray(h.default) ? [...h.default] : h.default;
  return out as ConfigOf<T>;
}

/** `defaults` with `hyper`'s values in place; an unknown key or a value of the wrong kind is refused. */
export function applyHyper<T extends object>(defaults: T, hyper: Record<string, unknown>): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, given] of Object.entries(hyper)) {
    if (!(k in out)) throw new ConfigError(`unknown hyperparameter '${k}' (known: ${Object.keys(out).join(", ")})`);
    const d = out[k];
    // One number where a list is expected is a list of one (`--hp hidden=64`: one hidden layer).
    const v = Array.isArray(d) && typeof given === "number" ? [given] : given;
    if (Array.isArray(d)) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x) && x > 0)) {
        throw new ConfigError(`hyperparameter '${k}' must be a list of positive integers like 64,64 (or 64, or empty)`);
      }
    } else if (typeof d !== typeof v) throw new ConfigError(`hyperparameter '${k}' must be a ${typeof d}`);
    out[k] = v;
  }
  return out as T;
}

/** "name=default" and the doc of each hyperparameter, in the table's order (for help texts). */
export function describeHyperparameters(table: HyperparameterTable): { key: string; doc: string }[] {
  return Object.entries(table).map(([name, h]) => ({
    key: `${name}=${Array.isArray(h.default) ? h.default.join(",") : String(h.default)}`,
    doc: h.doc,
  }));
}
