/**
 * The built-in strategies by name: `starter`, `starter:seed`, `normalizer`, `fixed:<bps>`, `fixed:<bid>/<ask>`,
 * `oracle:<bps>`. Resolving files and checkpoints happens above the engine (arena/loader.ts);
 * this is the part every layer may use.
 */
import { checkFeeBps, ConfigError } from "../config.js";
import type { StrategySource } from "../simulation.js";
import { fixedFee } from "./fixed.js";
import { normalizer } from "./normalizer.js";
import { oracle } from "./oracle.js";
import { starter, starterSeed } from "./starter.js";

export const BUILTIN_HELP =
  "built-ins: starter, starter:seed (the seed's reference starter, vol*1e6), normalizer, fixed:<bps>, fixed:<bidBps>/<askBps>, oracle:<bps> (research ceiling); a path to a .ts/.js/.mjs strategy file; or a training checkpoint folder";

function parseBps(text: string, spec: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new ConfigError(`'${spec}': fee '${text}' is not a number of basis points`);
  const bps = Number(text);
  checkFeeBps(`fee in '${spec}'`, bps);
  return bps;
}

/** A built-in strategy source, or undefined when `spec` names none. */
export function builtinSource(spec: string): StrategySource | undefined {
  if (spec === "starter") return () => starter();
  if (spec === "starter:seed") return () => starterSeed();
  if (spec === "normalizer") {
    return (ctx) => ({ ...normalizer(ctx.market.normalizerFeeBps), name: "Normalizer copy" });
  }
  const fixed = /^fixed:(.+)$/.exec(spec);
  if (fixed) {
    const parts = fixed[1].split("/");
    if (parts.length > 2) throw new ConfigError(`'${spec}': use fixed:<bps> or fixed:<bidBps>/<askBps>`);
    const bid = parseBps(parts[0], spec);
    const ask = parts.length === 2 ? parseBps(parts[1], spec) : bid;
    return () => fixedFee(bid, ask);
  }
  const orc = /^oracle:(.+)$/.exec(spec);
  if (orc) {
    const bps = parseBps(orc[1], spec);
    return () => oracle(bps);
  }
  return undefined;
}
