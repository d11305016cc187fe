/**
 * PropAmmEnv: the fee-setting MDP of spec §6 with Gymnasium's reset/step semantics.
 *
 * The agent controls pool 0 (opponents follow, the normalizer is last). Decisions happen at
 * reset, in the agent pool's afterSwap once `decisionInterval` steps have passed since the last
 * decision, and at every epoch boundary; the simulation pauses inside that hook, and the action
 * passed to the next step() takes effect from the very next quote.
 */
import {
  AGENT_NAME,
  type AgentFeatures,
  type DecisionKind,
  agentPool,
  type ExtendedFeatures,
  INITIAL_STEP_VOL,
  initialFeatures,
  readExtendedFeatures,
  readFeatures,
  readStepVol,
  setAgentFees,
} from "../env/builtins/agent.js";
import { ConfigError, type MarketPins, type SimConfig, checkFeeBps, resolveConfig } from "../env/config.js";
import { PropAmmError } from "../env/errors.js";
import { BUILTIN_HELP, builtinSource } from "../env/builtins/index.js";
import { RandomStream } from "../env/rng.js";
import { Simulation, type SimulationResult, type StrategySource } from "../env/simulation.js";
import { Box } from "./spaces.js";
import { DEFAULT_ENV_CONFIG, RENDER_MODES, checkEnvConfig, type EnvConfig, type RenderMode } from "./options.js";
import { type SimulationTrace, TraceRecorder, renderTraceText } from "../env/trace.js";
import { type RewardMark, agentReward } from "./reward.js";
import {
  EPOCH_EDGE_OBS_MAX,
  OBSERVATION_SIZE,
  type ObservationKind,
  SIGMA_OBS_MAX,
  SPOT_RATIO_OBS_MAX,
  STEP_VOL_OBS_MAX,
  actionToFeeBps,
  observationOfKind,
} from "../runtime/mapping.js";

export {
  DEFAULT_ENV_CONFIG,
  ENV_OPTIONS,
  OBSERVATION_KINDS,
  RENDER_MODES,
  checkEnvConfig,
  type EnvConfig,
  type RenderMode,
  type RewardBaseline,
  type RiskPenalty,
  type RewardMode,
} from "./options.js";

// Observation scaling and the action mapping are the policy runtime's (exported policies inline them).
export {
  EPOCH_EDGE_OBS_MAX,
  EPOCH_EDGE_OBS_SCALE,
  MAX_POOLS,
  OBSERVATION_SIZE,
  SIGMA_OBS_MAX,
  SIGMA_OBS_SCALE,
  SPOT_RATIO_OBS_MAX,
  SPOT_RATIO_OBS_SCALE,
  STEP_VOL_OBS_MAX,
  STEP_VOL_OBS_SCALE,
  TRADE_STEPS_OBS_SCALE,
  actionToFeeBps,
  extendedObservation,
  observationFromFeatures,
  observationOfKind,
  stepVolObservation,
  type ObservationKind,
} from "../runtime/mapping.js";
export { isObservationKind } from "../runtime/observation-kinds.js";

/** The observation space of each observation kind (spec §6.3). */
export function observationSpace(kind: ObservationKind): Box {
  const low = [0, 0, 0, 0, 0];
  const high = [SIGMA_OBS_MAX, 1, 1, 1, 1];
  if (kind === "extended") {
    const r = SPOT_RATIO_OBS_MAX;
    const e = EPOCH_EDGE_OBS_MAX;
    low.push(-1, 0, 0, -r, -r, -r, 0, 0, 0, 0, 0, -e);
    high.push(1, 1, 1, r, r, r, 1, 1, 1, 1, 1, e);
  }
  if (kind === "seed-vol") {
    low.push(0);
    high.push(STEP_VOL_OBS_MAX);
  }
  return new Box(low, high);
}

/** The extended features of a pool that does not keep them: what zeroed storage reads as. */
const NO_EXTENDED: ExtendedFeatures = readExtendedFeatures(new Uint8Array(1024));

/**
 * The observation of an agent pool from its storage (spec §6.3), in a simulation of
 * `nStrategies` strategies with epochs of `epochLen` steps.
 */
export function agentObservation(
  kind: ObservationKind,
  storage: Uint8Array,
  nStrategies: number,
  epochLen: number,
): Float32Array {
  const features = readFeatures(storage, initialFeatures(nStrategies));
  const out = new Float32Array(OBSERVATION_SIZE[kind]);
  // Each kind reads only the features its pool keeps in storage.
  const extended = kind === "extended" ? readExtendedFeatures(storage) : NO_EXTENDED;
  const stepVol = kind === "seed-vol" ? readStepVol(storage) : INITIAL_STEP_VOL;
  return observationOfKind(kind, features, extended, stepVol, epochLen, out);
}

/**
 * A reset's seeding (spec §6.6), shared by the single- and multi-agent envs: checks the seed and
 * the market pins before anything changes (a rejected reset leaves the env as it was); an
 * explicit seed restarts the env's stream and is the simulation seed, without one the next
 * simulation seed is drawn from the stream. Returns the pins, stream and seed to use.
 */
export function episodeSeeding(
  env: { readonly pins: MarketPins; readonly rng: RandomStream },
  simConfig: SimConfig,
  args: { seed?: number; options?: ResetOptions },
): { pins: MarketPins; rng: RandomStream; simSeed: number } {
  const { seed, options } = args;
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new EnvError(`seed must be an integer >= 0 (got ${seed})`);
  }
  let pins = env.pins;
  if (options?.market) {
    pins = { ...simConfig.pins, ...options.market };
    resolveConfig({ ...simConfig, pins });
  }
  if (seed !== undefined) return { pins, rng: new RandomStream(`env:${seed}`), simSeed: seed };
  return { pins, rng: env.rng, simSeed: Math.floor(env.rng.uniform() * 2 ** 31) };
}

/** The seed observation's space: Box(float32, [5]). */
export const OBSERVATION_SPACE = observationSpace("seed");
export const ACTION_SPACE = new Box([-1, -1], [1, 1]);

export interface ResetOptions {
  /** Market parameters pinned for this episode (and the episodes after it, until changed). */
  market?: MarketPins;
}

export interface StepInfo {
  features: AgentFeatures;
  decision: DecisionKind | "end";
  simSeed: number;
  simStep: number;
  epoch: number;
  agentEdge: number;
  normalizerEdge: number;
  capitalWeight: number;
  /** Side of the agent pool's trade that triggered a "swap" decision, else null. */
  tradeSide: 0 | 1 | null;
  /** Fees in force after this step's action (bps). */
  feesBps: [number, number];
  /** The whole simulation's results, on the last step of an episode. */
  episode?: SimulationResult;
}

export interface StepResult {
  observation: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: StepInfo;
}

/** The env refused a call (step before reset, a bad action or seed); nothing changed. */
export class EnvError extends PropAmmError {
  constructor(message: string) {
    super("ENV", message);
    this.name = "EnvError";
  }
}

function resolveOpponent(o: string | StrategySource): StrategySource {
  if (typeof o === "function") return o;
  const src = builtinSource(o);
  if (!src) {
    throw new ConfigError(
      `unknown opponent '${o}' (${BUILTIN_HELP}; files and checkpoints need PropAmmEnv.create(config, loadStrategy))`,
    );
  }
  return src;
}

/** Turns a strategy spec (a name, a path) into a source; `loadStrategy` resolves files and checkpoints. */
export type StrategyResolver = (spec: string) => StrategySource | Promise<StrategySource>;

/** The resolver the env uses when none is given: built-in names only. */
export const resolveBuiltinOpponent: StrategyResolver = (spec) => resolveOpponent(spec);

export class PropAmmEnv {
  /** Gymnasium's metadata: the render modes this env supports. */
  static readonly metadata = { renderModes: RENDER_MODES };
  /** Box(float32, [5]) for the seed observation, [6] for seed-vol, [17] for extended (spec §6.3). */
  readonly observationSpace: Box;
  readonly actionSpace = ACTION_SPACE;
  readonly config: EnvConfig;
  readonly simConfig: SimConfig;
  /** Gymnasium's render_mode, fixed at construction (config.renderMode). */
  readonly renderMode: RenderMode | undefined;

  private readonly opponents: StrategySource[];
  private rng: RandomStream;
  private pins: MarketPins;
  private sim: Simulation | null = null;
  private simSeed = 0;
  private decision: DecisionKind | "end" = "reset";
  /** The agent's edge and the normalizer's at the last decision, and the epochs rewarded. */
  private mark: RewardMark = { edgeAtLast: 0, normEdgeAtLast: 0, epochsCounted: 0 };
  private done = true;
  private fees: [number, number] = [0, 0];
  private tradeSide: 0 | 1 | null = null;
  /** Records the episode for render() when renderMode is set; null otherwise. */
  private recorder: TraceRecorder | null = null;

  constructor(config: Partial<EnvConfig> = {}) {
    // An explicit `undefined` (e.g. from an optional field passed along) means "the default".
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<EnvConfig>;
    this.config = { ...DEFAULT_ENV_CONFIG, ...given, sim: { ...(config.sim ?? {}) } };
    checkEnvConfig(this.config);
    this.renderMode = this.config.renderMode;
    this.observationSpace = observationSpace(this.config.observation);
    this.opponents = this.config.opponents.map(resolveOpponent);
    this.simConfig = resolveConfig(this.config.sim, 1 + this.opponents.length);
    this.pins = { ...this.simConfig.pins };
    // Never seeded: draw the stream's seed from entropy, as Gymnasium does.
    this.rng = new RandomStream(`env:${Math.random()}:${Date.now()}`);
  }

  /**
   * Builds an env whose opponents are resolved first by `resolve` (which may load files or
   * checkpoints: pass `loadStrategy`); the env itself knows only the built-in names.
   */
  static async create(
    config: Partial<EnvConfig> = {},
    resolve: StrategyResolver = resolveBuiltinOpponent,
  ): Promise<PropAmmEnv> {
    const opponents = await Promise.all(
      (config.opponents ?? DEFAULT_ENV_CONFIG.opponents).map((o) => (typeof o === "string" ? resolve(o) : o)),
    );
    return new PropAmmEnv({ ...config, opponents });
  }

  /** Action in [-1, 1] -> fee in bps, linear over [feeMinBps, feeMaxBps]; finite values outside are clipped. */
  actionToFeeBps(a: number): number {
    return actionToFeeBps(a, this.config.feeMinBps, this.config.feeMaxBps);
  }

  /**
   * Starts an episode. With a seed, the simulation runs on exactly that seed and the env's own
   * stream restarts from it; without, the next seed comes from that stream.
   */
  reset(args: { seed?: number; options?: ResetOptions } = {}): { observation: Float32Array; info: StepInfo } {
    const next = episodeSeeding({ pins: this.pins, rng: this.rng }, this.simConfig, args);
    this.pins = next.pins;
    this.rng = next.rng;
    this.simSeed = next.simSeed;
    const agent: StrategySource = () =>
      agentPool({
        decisionInterval: this.config.decisionInterval,
        epochLen: this.simConfig.epochLen,
        name: AGENT_NAME,
        extended: this.config.observation === "extended",
        stepVol: this.config.observation === "seed-vol",
        decide: (kind, _step, _storage, event) => {
          this.decision = kind;
          this.tradeSide = event ? event.side : null;
          this.sim!.requestPause();
        },
      });
    this.sim = new Simulation(this.simSeed, [agent, ...this.opponents], { ...this.simConfig, pins: this.pins });
    this.recorder = null;
    if (this.renderMode !== undefined) {
      this.recorder = new TraceRecorder();
      this.sim.observe(this.recorder);
    }
    this.decision = "reset";
    this.mark = { edgeAtLast: 0, normEdgeAtLast: 0, epochsCounted: 0 };
    this.done = false;
    this.fees = [0, 0];
    return { observation: this.observation(), info: this.info() };
  }

  /** Applies an action (two values in [-1, 1]) and runs to the next decision event. */
  step(action: ArrayLike<number>): StepResult {
    if (action === null || action === undefined || typeof action.length !== "number") {
      throw new EnvError("action must be an array of 2 numbers");
    }
    if (action.length !== 2)
      throw new EnvError(`action must have 2 values (side-0 fee, side-1 fee), got ${action.length}`);
    for (let i = 0; i < 2; i++) {
      const v = action[i];
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new EnvError(`action[${i}] must be a finite number, got ${String(v)}`);
    }
    return this.stepFees(this.actionToFeeBps(action[0]), this.actionToFeeBps(action[1]));
  }

  /** Like step(), with the two fees given directly in bps (scripted policies, tests). */
  stepFees(fee0Bps: number, fee1Bps: number): StepResult {
    const sim = this.sim;
    if (sim === null) throw new EnvError("call reset() before step()");
    if (this.done) throw new EnvError("the episode has ended: call reset() before step()");
    checkFeeBps("fee0", fee0Bps);
    checkFeeBps("fee1", fee1Bps);
    const pool = sim.pools[0];
    setAgentFees(pool.storage, fee0Bps, fee1Bps);
    pool.syncStorage();
    this.fees = [pool.fee0 * 10000, pool.fee1 * 10000];

    const finished = sim.advance();
    if (finished) {
      this.decision = "end";
      this.done = true;
    }
    const norm = sim.pools[sim.pools.length - 1];
    const reward = agentReward(sim, 0, this.config, this.mark, pool.edge, norm.edge);
    this.mark.edgeAtLast = pool.edge;
    this.mark.normEdgeAtLast = norm.edge;
    const info = this.info();
    if (finished) info.episode = sim.result();
    return { observation: this.observation(), reward, terminated: finished, truncated: false, info };
  }

  features(): AgentFeatures {
    const sim = this.sim;
    if (sim === null) throw new EnvError("call reset() first");
    return readFeatures(sim.pools[0].storage, initialFeatures(sim.nStrategies));
  }

  /** The extended features (spec §6.3) at the current decision; null with the seed observation. */
  extendedFeatures(): ExtendedFeatures | null {
    const sim = this.sim;
    if (sim === null) throw new EnvError("call reset() first");
    return this.config.observation === "extended" ? readExtendedFeatures(sim.pools[0].storage) : null;
  }

  /** The per-step volatility estimate (spec §6.3) at the current decision; null unless the observation is seed-vol. */
  stepVol(): number | null {
    const sim = this.sim;
    if (sim === null) throw new EnvError("call reset() first");
    return this.config.observation === "seed-vol" ? readStepVol(sim.pools[0].storage) : null;
  }

  private observation(): Float32Array {
    const sim = this.sim!;
    return agentObservation(this.config.observation, sim.pools[0].storage, sim.nStrategies, this.simConfig.epochLen);
  }

  private info(): StepInfo {
    const sim = this.sim!;
    const agent = sim.pools[0];
    const norm = sim.pools[sim.pools.length - 1];
    const step = Math.min(sim.step, this.simConfig.steps - 1);
    return {
      features: this.features(),
      decision: this.decision,
      simSeed: this.simSeed,
      simStep: sim.step,
      epoch: Math.floor(step / this.simConfig.epochLen),
      agentEdge: agent.edge,
      normalizerEdge: norm.edge,
      capitalWeight: agent.capitalWeight,
      feesBps: [this.fees[0], this.fees[1]],
      tradeSide: this.decision === "swap" ? this.tradeSide : null,
    };
  }

  /**
   * Gymnasium's render(): with renderMode "ansi", a text picture of the simulation where it
   * paused (step, fair price, each pool's spot, fees, reserves, edge and weight, the last
   * trades); undefined when no renderMode was given.
   */
  render(): string | undefined {
    if (this.renderMode === undefined) return undefined;
    if (this.recorder === null) throw new EnvError("call reset() before render()");
    const decision =
      this.tradeSide !== null && this.decision === "swap" ? `swap (side ${this.tradeSide})` : this.decision;
    return `${renderTraceText(this.recorder)}\nagent decision: ${decision}, fees ${this.fees[0].toFixed(1)}/${this.fees[1].toFixed(1)} bps`;
  }

  /** With a render mode, the episode's tape so far (docs/trace.md); undefined otherwise. */
  trace(): SimulationTrace | undefined {
    return this.recorder?.trace();
  }

  /** The running simulation (read-only use: results, pools). */
  get simulation(): Simulation | null {
    return this.sim;
  }

  close(): void {
    this.sim = null;
    this.recorder = null;
    this.done = true;
  }
}
