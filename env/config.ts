import type { RandomStream } from "./rng.js";

/** Market parameters pinned to a fixed value instead of drawn per simulation (SPEC §2). */
export interface MarketPins {
  sigma?: number;
  retailRate?: number;
  retailMeanSize?: number;
  normalizerFeeBps?: number;
  normalizerLiquidity?: number;
}

/** One simulation's configuration; every field has the SPEC §2 default. */
export interface SimConfig {
  steps: number;
  epochLen: number;
  baseReserveX: number;
  baseReserveY: number;
  initialPrice: number;
  riskLambda: number;
  temperature: number;
  minWeight: number;
  arbProfitFloor: number;
  retailSizeSigma: number;
  /** Score capital per unit of capital held instead of absolute edge (SPEC §4 option). */
  scorePerCapital: boolean;
  /** Switch retail flow off (used by the loss-versus-rebalancing check and experiments). */
  retailEnabled: boolean;
  pins: MarketPins;
}

export const DEFAULT_CONFIG: Readonly<SimConfig> = Object.freeze({
  steps: 10000,
  epochLen: 1000,
  baseReserveX: 100,
  baseReserveY: 10000,
  initialPrice: 100,
  riskLambda: 2.0,
  temperature: 1.0,
  minWeight: 0.02,
  arbProfitFloor: 0.01,
  retailSizeSigma: 1.2,
  scorePerCapital: false,
  retailEnabled: true,
  pins: Object.freeze({}) as MarketPins,
});

/** The market a simulation runs in, drawn from its seed unless pinned. */
export interface MarketParams {
  sigma: number;
  retailRate: number;
  retailMeanSize: number;
  normalizerFeeBps: number;
  normalizerLiquidity: number;
}

export const MARKET_RANGES = {
  sigma: [0.0001, 0.007],
  retailRate: [0.4, 1.2],
  retailMeanSize: [12, 28],
  normalizerFeeBps: [30, 80],
  normalizerLiquidity: [0.4, 2.0],
} as const;

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

/** Raised for a configuration value outside its allowed range; the message names the option. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function requireInteger(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new ConfigError(`${name} must be ${range} (got ${v})`);
  }
}

function requireFinite(name: string, v: number, check: (v: number) => boolean, range: string): void {
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) {
    throw new ConfigError(`${name} must be ${range} (got ${v})`);
  }
}

/** Merges overrides onto the defaults and checks every value (SPEC §2), naming any bad option. */
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
  requireInteger("steps", cfg.steps, 1);
  requireInteger("epochLen", cfg.epochLen, 1);
  requireFinite("baseReserveX", cfg.baseReserveX, (v) => v > 0, "a finite number > 0");
  requireFinite("baseReserveY", cfg.baseReserveY, (v) => v > 0, "a finite number > 0");
  requireFinite("initialPrice", cfg.initialPrice, (v) => v > 0, "a finite number > 0");
  requireFinite("riskLambda", cfg.riskLambda, (v) => v >= 0, "a finite number >= 0");
  requireFinite("temperature", cfg.temperature, (v) => v > 0, "a finite number > 0");
  requireFinite("minWeight", cfg.minWeight, (v) => v >= 0 && v <= 1, "in [0, 1]");
  requireFinite("arbProfitFloor", cfg.arbProfitFloor, (v) => v >= 0, "a finite number >= 0");
  requireFinite("retailSizeSigma", cfg.retailSizeSigma, (v) => v >= 0, "a finite number >= 0");
  if (nStrategies !== undefined) {
    requireInteger("number of strategies", nStrategies, 1, MAX_STRATEGIES);
    if (nStrategies * cfg.minWeight > 1 + 1e-12) {
      throw new ConfigError(
        `minWeight must satisfy N * minWeight <= 1 (N = ${nStrategies}, minWeight = ${cfg.minWeight}, so at most ${1 / nStrategies})`,
      );
    }
  }
  const p = cfg.pins;
  const pinKeys = new Set(Object.keys(MARKET_RANGES));
  for (const key of Object.keys(p)) {
    if (!pinKeys.has(key)) throw new ConfigError(`unknown market parameter '${key}'`);
  }
  if (p.sigma !== undefined) requireFinite("sigma", p.sigma, (v) => v >= 0 && v < 1, "in [0, 1)");
  if (p.retailRate !== undefined) requireFinite("retailRate", p.retailRate, (v) => v >= 0 && v <= 1000, "in [0, 1000]");
  if (p.retailMeanSize !== undefined)
    requireFinite("retailMeanSize", p.retailMeanSize, (v) => v > 0, "a finite number > 0");
  if (p.normalizerFeeBps !== undefined)
    requireFinite("normalizerFeeBps", p.normalizerFeeBps, (v) => v >= 0 && v < 10000, "in [0, 10000) bps");
  if (p.normalizerLiquidity !== undefined)
    requireFinite("normalizerLiquidity", p.normalizerLiquidity, (v) => v > 0, "a finite number > 0");
  return cfg;
}

/** Checks a fee in basis points (SPEC §2: fees in [0, 10000) bps). */
export function checkFeeBps(name: string, bps: number): void {
  requireFinite(name, bps, (v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps");
}
