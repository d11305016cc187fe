/**
 * The env's options (spec §6) in the configuration schema of env/options.ts: the gym's rows,
 * from which PropAmmEnv's defaults and checks, `propamm train`'s options and the server's
 * `make` config are built.
 */
import type { SimConfig } from "../env/config.js";
import { ConfigError } from "../env/errors.js";
import {
  FEE_BPS,
  checkOption,
  integerAtLeast,
  listOf,
  numberWhere,
  oneOf,
  optionDefaults,
  optionRows,
  type OptionBody,
} from "../env/options.js";
import type { StrategySource } from "../env/simulation.js";
import type { ObservationKind } from "../runtime/mapping.js";
import { OBSERVATION_KINDS } from "../runtime/observation-kinds.js";

/** The observations the env offers (spec §6.3). */
export { OBSERVATION_KINDS };

export type RewardMode = "dense" | "sparse";
/** Gymnasium's render modes this env supports: "ansi", a text picture from render(). */
export const RENDER_MODES = ["ansi"] as const;
export type RenderMode = (typeof RENDER_MODES)[number];
/** What the reward is measured against: nothing (spec §6), or the normalizer's edge over the same interval. */
export type RewardBaseline = "none" | "normalizer";
/** The reward's risk term: spec §6.5's downside penalty on losing epochs, or none. */
export type RiskPenalty = "downside" | "none";

export interface EnvConfig {
  /** Opponent strategies: built-in names or strategy sources (files: use PropAmmEnv.create with a resolver). */
  opponents: (string | StrategySource)[];
  /** Minimum steps between two afterSwap decisions (spec §6; default 100). */
  decisionInterval: number;
  /**
   * "seed": the seed's five features; "seed-vol": those and a per-step volatility estimate (an
   * EMA of |ln spot change| / sqrt(steps between the pool's trades)); "extended": the five and
   * twelve more that the hooks see
   * (last trade's side, kind and size, spot against the competitors, steps since the last
   * trade and decision, flow by side, last epoch's edge). Spec §6.3.
   */
  observation: ObservationKind;
  rewardMode: RewardMode;
  /**
   * "normalizer" subtracts the normalizer's edge over the same interval (dense: since the last
   * decision; sparse: over the closed epochs), so the agent learns to out-earn the reference
   * pool rather than only to earn. Default "none", as spec §6 defines the reward.
   */
  rewardBaseline: RewardBaseline;
  /**
   * "downside" (default, spec §6.5): each closed epoch with edge e < 0 adds riskLambda * e to the
   * reward, as capital allocation scores epochs. "none": the reward is the edge alone (minus the
   * baseline's), so an episode's return is exactly the edge (vs the normalizer) that `eval` reports.
   */
  riskPenalty: RiskPenalty;
  /** Rewards are multiplied by this (default 0.01: edges are tens to hundreds of Y). */
  rewardScale: number;
  /** Fee range the action [-1, 1] maps onto, in bps (default 0..250). */
  feeMinBps: number;
  feeMaxBps: number;
  /** Simulation configuration: steps, epochLen, market pins, ... (spec §2 defaults). */
  sim: Partial<SimConfig>;
  /**
   * Gymnasium's render_mode, fixed at construction: "ansi" makes render() return a text picture
   * of the simulation (recorded with env/trace.ts); unset (the default), render() returns
   * undefined and nothing is recorded. Not a training or protocol option.
   */
  renderMode?: RenderMode;
}

/** The env's options, in the order the CLI and the docs list them (the simulation's follow under `sim`). */
export const ENV_OPTION_TABLE: {
  readonly [K in Exclude<keyof EnvConfig, "sim" | "renderMode">]: OptionBody<EnvConfig[K]>;
} = {
  opponents: {
    wire: "opponents",
    flag: "--opponents <strategy...>",
    check: listOf("a list of strategies"),
    default: ["starter"],
    help: "opponent strategies: built-in names (files and checkpoints through PropAmmEnv.create or the server)",
    flagHelp:
      "opponent strategies (built-ins, files or checkpoints; commas or spaces between them; none: the normalizer only)",
  },
  decisionInterval: {
    wire: "decision_interval",
    flag: "--decision-interval <n>",
    check: integerAtLeast(0),
    default: 100,
    // What ES reaches most with (docs/training.md, "Against the baselines"); cli/train-command.ts.
    commandDefaultNotes: { train: "`1` with ES, `100` with PPO or `--league`" },
    help: "steps between the agent's afterSwap decisions",
  },
  observation: {
    wire: "observation",
    flag: "--observation <kind>",
    check: oneOf(OBSERVATION_KINDS),
    default: "seed",
    commandDefaultNotes: { train: '`"extended"` with ES, `"seed"` with PPO or `--league`' },
    help: "seed (5 features), seed-vol (6: adds a per-step volatility estimate) or extended (17: adds the last trade, spots vs competitors, timing, flow by side, last epoch's edge)",
  },
  rewardMode: {
    wire: "reward_mode",
    flag: "--reward-mode <mode>",
    check: oneOf(["dense", "sparse"]),
    default: "dense",
    help: "dense (edge since the last decision) or sparse (closed epochs' scores)",
  },
  rewardBaseline: {
    wire: "reward_baseline",
    flag: "--reward-baseline <b>",
    check: oneOf(["none", "normalizer"]),
    default: "none",
    // Training aims at out-earning the reference pool, so `propamm train` subtracts its edge.
    commandDefaults: { train: "normalizer" },
    help: "none (the spec §6 reward) or normalizer (edge minus the normalizer's edge, to learn to out-earn it)",
  },
  riskPenalty: {
    wire: "risk_penalty",
    flag: "--risk-penalty <p>",
    check: oneOf(["downside", "none"]),
    default: "downside",
    help: "downside (the spec §6.5 penalty on losing epochs) or none (the reward is edge alone, as eval reports it)",
  },
  rewardScale: {
    wire: "reward_scale",
    flag: "--reward-scale <x>",
    check: numberWhere("a number in (0, 1e6]", (v) => v > 0 && v <= 1e6),
    default: 0.01,
    help: "reward multiplier",
  },
  feeMinBps: {
    wire: "fee_min_bps",
    flag: "--fee-min <bps>",
    check: FEE_BPS,
    default: 0,
    help: "fee (bps) at action -1",
  },
  feeMaxBps: {
    wire: "fee_max_bps",
    flag: "--fee-max <bps>",
    check: FEE_BPS,
    default: 250,
    help: "fee (bps) at action +1, above the fee at -1",
  },
};

export const ENV_OPTIONS = optionRows("env", ENV_OPTION_TABLE);

export const DEFAULT_ENV_CONFIG: Readonly<EnvConfig> = Object.freeze({
  ...optionDefaults<Omit<EnvConfig, "sim" | "renderMode">>(ENV_OPTION_TABLE),
  sim: {},
});

/** Checks every env option (not the simulation's: resolveConfig does those), naming a bad one. */
export function checkEnvConfig(c: EnvConfig): void {
  for (const spec of ENV_OPTIONS) checkOption(spec, c[spec.key as keyof EnvConfig]);
  if (c.renderMode !== undefined && !(RENDER_MODES as readonly unknown[]).includes(c.renderMode))
    throw new ConfigError(
      `renderMode must be one of ${RENDER_MODES.map((m) => `"${m}"`).join(", ")} or left unset (got ${JSON.stringify(c.renderMode)})`,
    );
  if (!(c.feeMaxBps > c.feeMinBps))
    throw new ConfigError(`feeMaxBps must exceed feeMinBps (got ${c.feeMinBps}..${c.feeMaxBps})`);
}
