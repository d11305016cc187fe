import type { RandomStream } from "./rng.js";
import { ConfigError } from "./errors.js";
import {
  FEE_BPS,
  MARKET_RANGES,
  PIN_OPTIONS,
  SIM_OPTIONS,
  DEFAULT_CONFIG,
  checkOption,
  type MarketPins,
  type SimConfig,
} from "./options.js";

export { ConfigError } from "./errors.js";
export { DEFAULT_CONFIG, MARKET_RANGES, type MarketPins, type SimConfig } from "./options.js";

/** The market a simulation runs in, drawn from its seed unless pinned. */
export interface MarketParams {
  sigma: number;
  retailRate: number;
  retailMeanSize: number;
  normalizerFeeBps: number;
  normalizerLiquidity: number;
}

export const MAX_STRATEGIES = 16;

/**
 * Draws the market parameters. All five draws happen whether or not a value is pinned, so
 * pinning one parameter leaves the others of the same seed unchanged.
 */
export function sampleMarket(stream: RandomStream, pins: MarketPins): MarketParams {
  const sigma = stream.uniformIn(MARKET_RANGES.sigma[0], MARKET_RANGES.sigma[1]);
  const retailRate = stream.uniformIn(MARKET_RANGES.retailRate[0], MARKET_RANGES.retailRate[1]);
  const retailMeanSize = stream.uniformIn(MARKET_RANGES.retailMeanSize[0], MARKET_RANGES.retailMeanSize[1]);
  const normalizerFeeBps = stream.integerIn(MARKET_RANGES.normalizerFeeBps[0], MARKET_RANGES.normalizerFeeBps[1]);
  const normalizerLiquidity = stream.uniformIn(
    MARKET_RANGES.normalizerLiquidity[0],
    MARKET_RANGES.normalizerLiquidity[1],
  );
  return {
    sigma: pins.sigma ?? sigma,
    retailRate: pins.retailRate ?? retailRate,
    retailMeanSize: pins.retailMeanSize ?? retailMeanSize,
    normalizerFeeBps: pins.normalizerFeeBps ?? normalizerFeeBps,
    normalizerLiquidity: pins.normalizerLiquidity ?? normalizerLiquidity,
  };
}

function requireInteger(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}] (got ${v})`);
  }
}

/** Merges overrides onto the defaults and checks every value (spec §2), naming any bad option. */
export function resolveConfig(overrides: Partial<SimConfig> = {}, nStrategies?: number): SimConfig {
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) throw new ConfigError(`unknown configuration option '${key}'`);
  }
  const cfg: SimConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    pins: { ...(overrides.pins ?? {}) },
  };
  for (const spec of SIM_OPTIONS) checkOption(spec, cfg[spec.key as keyof SimConfig]);
  if (nStrategies !== undefined) {
    requireInteger("number of strategies", nStrategies, 1, MAX_STRATEGIES);
    if (nStrategies * cfg.minWeight > 1 + 1e-12) {
      throw new ConfigError(
        `minWeight must satisfy N * minWeight <= 1 (N = ${nStrategies}, minWeight = ${cfg.minWeight}, so at most ${1 / nStrategies})`,
      );
    }
  }
  const pinKeys = new Set(PIN_OPTIONS.map((o) => o.key));
  for (const key of Object.keys(cfg.pins)) {
    if (!pinKeys.has(key)) throw new ConfigError(`unknown market parameter '${key}'`);
  }
  for (const spec of PIN_OPTIONS) {
    const v = cfg.pins[spec.key as keyof MarketPins];
    if (v !== undefined) checkOption(spec, v);
  }
  return cfg;
}

/** Checks a fee in basis points (spec §2: fees in [0, 10000) bps). */
export function checkFeeBps(name: string, bps: number): void {
  checkOption({ key: name, check: FEE_BPS }, bps);
}
