/**
 * The configuration schema: one row per option with its name in the TypeScript config, its
 * name on the wire (docs/protocol.md), its command-line flag, its default, its valid values and
 * its help text. Validation (resolveConfig), the CLI's options, the server's name maps and the
 * docs' option tables are all built from these rows, so an option is declared exactly once.
 * This file holds the simulation's options (spec §2); the env's own options are in gym/options.ts.
 */
import { ConfigError } from "./errors.js";

/** What kind of value an option takes; decides the wire type and how the CLI parses it. */
export type OptionKind = "integer" | "number" | "boolean" | "choice" | "list";

/** An option's valid values: a kind, a test and its description. */
export interface OptionCheck {
  readonly kind: OptionKind;
  /** Completes "<option> must be ...", e.g. "an integer >= 1". */
  readonly expected: string;
  readonly valid: (v: unknown) => boolean;
  /** The allowed values of a "choice" option. */
  readonly choices?: readonly string[];
}

/** One option as the tables below declare it (without its key, which is the table's key). */
export interface OptionBody<V> {
  /** The protocol's snake_case name. */
  readonly wire: string;
  /** Command-line flag with its argument name ("--epoch-len <n>", "--no-retail"); null: no flag. */
  readonly flag: string | null;
  readonly check: OptionCheck;
  /** The default; undefined: none (a market pin is drawn per simulation unless given). */
  readonly default: V;
  /** Commands whose default deliberately differs from the library's, by command name. */
  readonly commandDefaults?: Readonly<Record<string, V>>;
  /** Commands whose default depends on more than the command (train's on --algo), said in words. */
  readonly commandDefaultNotes?: Readonly<Record<string, string>>;
  /** What the option does. */
  readonly help: string;
  /** The flag's help where the flag inverts the option (`--no-retail`). */
  readonly flagHelp?: string;
  /** How the default is described when it is not a value ("drawn in [0.4, 1.2]"). */
  readonly defaultText?: string;
}

/** Where an option lives: an env field, a SimConfig field, or a market pin (SimConfig.pins). */
export type OptionGroup = "env" | "sim" | "pins";

/** One row of the schema. */
export interface OptionSpec<V = unknown> extends OptionBody<V> {
  /** The field's name in its object (EnvConfig, SimConfig or MarketPins). */
  readonly key: string;
  readonly group: OptionGroup;
}

/** The rows of a table, in declaration order (which is also the order of the CLI's help and the docs). */
export function optionRows(group: OptionGroup, table: Record<string, OptionBody<unknown>>): readonly OptionSpec[] {
  return Object.freeze(Object.entries(table).map(([key, body]) => Object.freeze({ key, group, ...body })));
}

/** The defaults of a table, as an object with the table's keys in order. */
export function optionDefaults<T>(table: { readonly [K in keyof T]: OptionBody<T[K]> }): T {
  const out: Record<string, unknown> = {};
  for (const [key, body] of Object.entries(table) as [string, OptionBody<unknown>][]) out[key] = body.default;
  return out as T;
}

/** The default a command uses: its own if the row declares one, else the library's. */
export function commandDefault(spec: OptionSpec, command?: string): unknown {
  const own = command !== undefined && spec.commandDefaults ? spec.commandDefaults[command] : undefined;
  return own ?? spec.default;
}

export function integerAtLeast(min: number): OptionCheck {
  return {
    kind: "integer",
    expected: `an integer >= ${min}`,
    valid: (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= min,
  };
}

export function numberWhere(expected: string, test: (v: number) => boolean): OptionCheck {
  return { kind: "number", expected, valid: (v) => typeof v === "number" && Number.isFinite(v) && test(v) };
}

export const BOOLEAN: OptionCheck = {
  kind: "boolean",
  expected: "true or false",
  valid: (v) => typeof v === "boolean",
};

export function oneOf(choices: readonly string[]): OptionCheck {
  return {
    kind: "choice",
    choices,
    expected: choices.map((c) => `'${c}'`).join(" or "),
    valid: (v) => typeof v === "string" && choices.includes(v),
  };
}

export function listOf(expected: string): OptionCheck {
  return { kind: "list", expected, valid: (v) => Array.isArray(v) };
}

/** A fee in basis points (spec §2: fees in [0, 10000) bps). */
export const FEE_BPS = numberWhere("a fee in [0, 10000) bps", (v) => v >= 0 && v < 10000);
const POSITIVE = numberWhere("a finite number > 0", (v) => v > 0);
const NON_NEGATIVE = numberWhere("a finite number >= 0", (v) => v >= 0);

/** A value for an error message that never throws (an object may carry a 'toString' key). */
function describe(v: unknown): string {
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? "an array" : "an object";
}

/** Throws a ConfigError naming the option (as `name`, default its key) unless the value is valid. */
export function checkOption(spec: Pick<OptionSpec, "key" | "check">, value: unknown, name = spec.key): void {
  if (!spec.check.valid(value))
    throw new ConfigError(`${name} must be ${spec.check.expected} (got ${describe(value)})`);
}

/** Market parameters pinned to a fixed value instead of drawn per simulation (spec §2). */
export interface MarketPins {
  sigma?: number;
  retailRate?: number;
  retailMeanSize?: number;
  normalizerFeeBps?: number;
  normalizerLiquidity?: number;
}

/** One simulation's configuration; every field has the spec §2 default. */
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
  /** Score capital per unit of capital held instead of absolute edge (spec §4 option). */
  scorePerCapital: boolean;
  /** Switch retail flow off (used by the loss-versus-rebalancing check and experiments). */
  retailEnabled: boolean;
  pins: MarketPins;
}

/** The ranges the market parameters are drawn from per simulation (spec §2). */
export const MARKET_RANGES = {
  sigma: [0.0001, 0.007],
  retailRate: [0.4, 1.2],
  retailMeanSize: [12, 28],
  normalizerFeeBps: [30, 80],
  normalizerLiquidity: [0.4, 2.0],
} as const;

/** The simulation options (spec §2 defaults), in the order the CLI and the docs list them. */
export const SIM_OPTION_TABLE: { readonly [K in Exclude<keyof SimConfig, "pins">]: OptionBody<SimConfig[K]> } = {
  steps: {
    wire: "steps",
    flag: "--steps <n>",
    check: integerAtLeast(1),
    default: 10000,
    help: "steps per simulation",
  },
  epochLen: {
    wire: "epoch_len",
    flag: "--epoch-len <n>",
    check: integerAtLeast(1),
    default: 1000,
    help: "steps per epoch",
  },
  baseReserveX: {
    wire: "base_reserve_x",
    flag: "--base-x <x>",
    check: POSITIVE,
    default: 100,
    help: "initial X reserve of each strategy pool",
  },
  baseReserveY: {
    wire: "base_reserve_y",
    flag: "--base-y <y>",
    check: POSITIVE,
    default: 10000,
    help: "initial Y reserve of each strategy pool",
  },
  initialPrice: {
    wire: "initial_price",
    flag: null,
    check: POSITIVE,
    default: 100,
    help: "initial fair price of X in Y",
  },
  riskLambda: {
    wire: "risk_lambda",
    flag: "--risk-lambda <l>",
    check: NON_NEGATIVE,
    default: 2.0,
    help: "downside penalty in the capital score",
  },
  temperature: {
    wire: "temperature",
    flag: "--temperature <t>",
    check: POSITIVE,
    default: 1.0,
    help: "softmax temperature of capital weights",
  },
  minWeight: {
    wire: "min_weight",
    flag: "--min-weight <w>",
    check: numberWhere("a number in [0, 1]", (v) => v >= 0 && v <= 1),
    default: 0.02,
    help: "floor on each strategy's capital weight (N * minWeight <= 1)",
  },
  arbProfitFloor: {
    wire: "arb_profit_floor",
    flag: "--arb-floor <y>",
    check: NON_NEGATIVE,
    default: 0.01,
    help: "minimum arbitrage profit (Y) for a trade",
  },
  retailSizeSigma: {
    wire: "retail_size_sigma",
    flag: "--retail-sigma <s>",
    check: NON_NEGATIVE,
    default: 1.2,
    help: "log-normal sigma of retail order sizes",
  },
  scorePerCapital: {
    wire: "score_per_capital",
    flag: "--score-per-capital",
    check: BOOLEAN,
    default: false,
    help: "score capital on edge per unit of capital instead of absolute edge",
  },
  retailEnabled: {
    wire: "retail_enabled",
    flag: "--no-retail",
    check: BOOLEAN,
    default: true,
    help: "retail flow on (off: arbitrage only)",
    flagHelp: "switch retail flow off (arbitrage only)",
  },
};

function drawn(key: keyof typeof MARKET_RANGES, integer = false): string {
  const [lo, hi] = MARKET_RANGES[key];
  return integer ? `drawn in {${lo}..${hi}}` : `drawn in [${lo}, ${hi}]`;
}

/** The market parameters a simulation draws unless they are pinned (spec §2). */
export const PIN_OPTION_TABLE: { readonly [K in keyof MarketPins]-?: OptionBody<undefined> } = {
  sigma: {
    wire: "sigma",
    flag: "--sigma <s>",
    check: numberWhere("a number in [0, 1)", (v) => v >= 0 && v < 1),
    default: undefined,
    defaultText: drawn("sigma"),
    help: "pin per-step volatility",
  },
  retailRate: {
    wire: "retail_rate",
    flag: "--retail-rate <r>",
    check: numberWhere("a number in [0, 1000]", (v) => v >= 0 && v <= 1000),
    default: undefined,
    defaultText: drawn("retailRate"),
    help: "pin retail orders per step",
  },
  retailMeanSize: {
    wire: "retail_mean_size",
    flag: "--retail-size <y>",
    check: POSITIVE,
    default: undefined,
    defaultText: drawn("retailMeanSize"),
    help: "pin mean retail order size in Y",
  },
  normalizerFeeBps: {
    wire: "normalizer_fee_bps",
    flag: "--norm-fee <bps>",
    check: FEE_BPS,
    default: undefined,
    defaultText: drawn("normalizerFeeBps", true),
    help: "pin the normalizer fee",
  },
  normalizerLiquidity: {
    wire: "normalizer_liquidity",
    flag: "--norm-liquidity <m>",
    check: POSITIVE,
    default: undefined,
    defaultText: drawn("normalizerLiquidity"),
    help: "pin the normalizer liquidity multiplier",
  },
};

export const SIM_OPTIONS = optionRows("sim", SIM_OPTION_TABLE);
export const PIN_OPTIONS = optionRows("pins", PIN_OPTION_TABLE);

export const DEFAULT_CONFIG: Readonly<SimConfig> = Object.freeze({
  ...optionDefaults<Omit<SimConfig, "pins">>(SIM_OPTION_TABLE),
  pins: Object.freeze({}) as MarketPins,
});
