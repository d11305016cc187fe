/** Option parsing shared by the commands: every SPEC default overridable, every value checked. */
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_CONFIG, type MarketPins, type SimConfig } from "../env/config.js";

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
      throw new InvalidArgumentError(`expected ${range}.`);
    }
    return n;
  };
}

export function real(check: (v: number) => boolean, range: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`expected ${range}.`);
    return n;
  };
}

export interface SimOptions {
  steps: number;
  epochLen: number;
  baseX: number;
  baseY: number;
  riskLambda: number;
  temperature: number;
  minWeight: number;
  arbFloor: number;
  retailSigma: number;
  scorePerCapital?: boolean;
  retail: boolean;
  sigma?: number;
  retailRate?: number;
  retailSize?: number;
  normFee?: number;
  normLiquidity?: number;
}

export function addSimulationOptions(cmd: Command): Command {
  const d = DEFAULT_CONFIG;
  return cmd
    .option("--steps <n>", "steps per simulation", integer(1), d.steps)
    .option("--epoch-len <n>", "steps per epoch", integer(1), d.epochLen)
    .option(
      "--base-x <x>",
      "initial X reserve of each strategy pool",
      real((v) => v > 0, "a number > 0"),
      d.baseReserveX,
    )
    .option(
      "--base-y <y>",
      "initial Y reserve of each strategy pool",
      real((v) => v > 0, "a number > 0"),
      d.baseReserveY,
    )
    .option(
      "--risk-lambda <l>",
      "downside penalty in the capital score",
      real((v) => v >= 0, "a number >= 0"),
      d.riskLambda,
    )
    .option(
      "--temperature <t>",
      "softmax temperature of capital weights",
      real((v) => v > 0, "a number > 0"),
      d.temperature,
    )
    .option(
      "--min-weight <w>",
      "floor on each strategy's capital weight",
      real((v) => v >= 0 && v <= 1, "a number in [0, 1]"),
      d.minWeight,
    )
    .option(
      "--arb-floor <y>",
      "minimum arbitrage profit (Y) for a trade",
      real((v) => v >= 0, "a number >= 0"),
      d.arbProfitFloor,
    )
    .option(
      "--retail-sigma <s>",
      "log-normal sigma of retail order sizes",
      real((v) => v >= 0, "a number >= 0"),
      d.retailSizeSigma,
    )
    .option("--score-per-capital", "score capital on edge per unit of capital instead of absolute edge")
    .option("--no-retail", "switch retail flow off (arbitrage only)")
    .addOption(
      new Option("--sigma <s>", "pin per-step volatility (default: drawn in [0.0001, 0.007])").argParser(
        real((v) => v >= 0 && v < 1, "a number in [0, 1)"),
      ),
    )
    .addOption(
      new Option("--retail-rate <r>", "pin retail orders per step (default: drawn in [0.4, 1.2])").argParser(
        real((v) => v >= 0 && v <= 1000, "a number in [0, 1000]"),
      ),
    )
    .addOption(
      new Option("--retail-size <y>", "pin mean retail order size in Y (default: drawn in [12, 28])").argParser(
        real((v) => v > 0, "a number > 0"),
      ),
    )
    .addOption(
      new Option("--norm-fee <bps>", "pin the normalizer fee (default: drawn in {30..80})").argParser(
        real((v) => v >= 0 && v < 10000, "a fee in [0, 10000) bps"),
      ),
    )
    .addOption(
      new Option(
        "--norm-liquidity <m>",
        "pin the normalizer liquidity multiplier (default: drawn in [0.4, 2])",
      ).argParser(real((v) => v > 0, "a number > 0")),
    );
}

export function configFromOptions(o: SimOptions): Partial<SimConfig> {
  const pins: MarketPins = {};
  if (o.sigma !== undefined) pins.sigma = o.sigma;
  if (o.retailRate !== undefined) pins.retailRate = o.retailRate;
  if (o.retailSize !== undefined) pins.retailMeanSize = o.retailSize;
  if (o.normFee !== undefined) pins.normalizerFeeBps = o.normFee;
  if (o.normLiquidity !== undefined) pins.normalizerLiquidity = o.normLiquidity;
  return {
    steps: o.steps,
    epochLen: o.epochLen,
    baseReserveX: o.baseX,
    baseReserveY: o.baseY,
    riskLambda: o.riskLambda,
    temperature: o.temperature,
    minWeight: o.minWeight,
    arbProfitFloor: o.arbFloor,
    retailSizeSigma: o.retailSigma,
    scorePerCapital: o.scorePerCapital === true,
    retailEnabled: o.retail,
    pins,
  };
}
