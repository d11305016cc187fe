/** Protocol config maps (snake_case) to the env's configuration, naming any unknown or mistyped key. */
import { ConfigError, DEFAULT_CONFIG, type MarketPins, type SimConfig } from "../env/config.js";
import { DEFAULT_ENV_CONFIG, type EnvConfig } from "../gym/env.js";

const SIM_KEYS: Record<string, keyof SimConfig> = {
  steps: "steps",
  epoch_len: "epochLen",
  base_reserve_x: "baseReserveX",
  base_reserve_y: "baseReserveY",
  initial_price: "initialPrice",
  risk_lambda: "riskLambda",
  temperature: "temperature",
  min_weight: "minWeight",
  arb_profit_floor: "arbProfitFloor",
  retail_size_sigma: "retailSizeSigma",
  score_per_capital: "scorePerCapital",
  retail_enabled: "retailEnabled",
};

const PIN_KEYS: Record<string, keyof MarketPins> = {
  sigma: "sigma",
  retail_rate: "retailRate",
  retail_mean_size: "retailMeanSize",
  normalizer_fee_bps: "normalizerFeeBps",
  normalizer_liquidity: "normalizerLiquidity",
};

const BOOLEAN_SIM = new Set(["scorePerCapital", "retailEnabled"]);

/** A decoded msgpack map (a plain object: not bin, not an extension value such as a timestamp). */
function isMap(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object" || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function pinsFromWire(x: unknown, where: string): MarketPins {
  if (!isMap(x)) throw new ConfigError(`${where} must be a map`);
  const pins: MarketPins = {};
  for (const [k, v] of Object.entries(x)) {
    const key = Object.hasOwn(PIN_KEYS, k) ? PIN_KEYS[k] : undefined;
    if (!key)
      throw new ConfigError(`${where}: unknown market parameter '${k}' (known: ${Object.keys(PIN_KEYS).join(", ")})`);
    if (typeof v !== "number") throw new ConfigError(`${where}.${k} must be a number`);
    pins[key] = v;
  }
  return pins;
}

export function simFromWire(x: unknown): Partial<SimConfig> {
  if (!isMap(x)) throw new ConfigError("config.sim must be a map");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    if (k === "pins") {
      out.pins = pinsFromWire(v, "config.sim.pins");
      continue;
    }
    const key = Object.hasOwn(SIM_KEYS, k) ? SIM_KEYS[k] : undefined;
    if (!key)
      throw new ConfigError(
        `config.sim: unknown option '${k}' (known: ${[...Object.keys(SIM_KEYS), "pins"].join(", ")})`,
      );
    if (BOOLEAN_SIM.has(key) ? typeof v !== "boolean" : typeof v !== "number") {
      throw new ConfigError(`config.sim.${k} must be a ${BOOLEAN_SIM.has(key) ? "boolean" : "number"}`);
    }
    out[key] = v;
  }
  return out as Partial<SimConfig>;
}

export function envConfigFromWire(x: unknown): Partial<EnvConfig> {
  if (x === undefined || x === null) return {};
  if (!isMap(x)) throw new ConfigError("config must be a map");
  const out: Partial<EnvConfig> = {};
  for (const [k, v] of Object.entries(x)) {
    switch (k) {
      case "opponents":
        if (!Array.isArray(v) || !v.every((o) => typeof o === "string"))
          throw new ConfigError("config.opponents must be a list of strings");
        out.opponents = v as string[];
        break;
      case "decision_interval":
        if (typeof v !== "number") throw new ConfigError("config.decision_interval must be a number");
        out.decisionInterval = v;
        break;
      case "reward_mode":
        if (v !== "dense" && v !== "sparse") throw new ConfigError("config.reward_mode must be 'dense' or 'sparse'");
        out.rewardMode = v;
        break;
      case "reward_baseline":
        if (v !== "none" && v !== "normalizer")
          throw new ConfigError("config.reward_baseline must be 'none' or 'normalizer'");
        out.rewardBaseline = v;
        break;
      case "reward_scale":
        if (typeof v !== "number") throw new ConfigError("config.reward_scale must be a number");
        out.rewardScale = v;
        break;
      case "fee_min_bps":
        if (typeof v !== "number") throw new ConfigError("config.fee_min_bps must be a number");
        out.feeMinBps = v;
        break;
      case "fee_max_bps":
        if (typeof v !== "number") throw new ConfigError("config.fee_max_bps must be a number");
        out.feeMaxBps = v;
        break;
      case "sim":
        out.sim = simFromWire(v);
        break;
      default:
        throw new ConfigError(
          `config: unknown option '${k}' (known: opponents, decision_interval, reward_mode, reward_baseline, reward_scale, fee_min_bps, fee_max_bps, sim)`,
        );
    }
  }
  return out;
}

export function defaultConfigWire(): Record<string, unknown> {
  const e = DEFAULT_ENV_CONFIG;
  const sim: Record<string, unknown> = {};
  for (const [wire, key] of Object.entries(SIM_KEYS)) sim[wire] = DEFAULT_CONFIG[key];
  sim.pins = {};
  return {
    opponents: [...e.opponents].filter((o) => typeof o === "string"),
    decision_interval: e.decisionInterval,
    reward_mode: e.rewardMode,
    reward_baseline: e.rewardBaseline,
    reward_scale: e.rewardScale,
    fee_min_bps: e.feeMinBps,
    fee_max_bps: e.feeMaxBps,
    sim,
  };
}
