/**
 * The multi-agent env (spec §6.7): any subset of the strategy pools is controlled by agents, each
 * deciding at its own decision events exactly as PropAmmEnv's agent does (reset, afterSwap once
 * `decisionInterval` steps passed, every epoch boundary).
 *
 * PropAmmAECEnv has PettingZoo's AEC semantics: one agent is selected at a time (the one whose
 * hook paused the simulation, or, at reset, each agent in pool order); `step(action)` applies
 * its action and runs the simulation to the next decision; every live agent's reward over that
 * interval goes to `rewards` and is accumulated in `cumulativeRewards` until the agent acts
 * again, so `last()` gives the selected agent its reward since its previous decision. When the
 * simulation ends every agent is terminated and is removed by a `step(null)` of its own.
 *
 * PropAmmParallelEnv is a Parallel view of the same env: a step takes the actions of the agents
 * whose decision is due (`actingAgents`: all of them after reset, then the one whose hook paused
 * the simulation) and returns every live agent's observation, reward over the step, flags and
 * info, plus the agents that must act next.
 */
import {
  type DecisionKind,
  agentPool,
  initialFeatures,
  readFeatures,
  setAgentFees,
  type AgentFeatures,
} from "../env/builtins/agent.js";
import {
  ConfigError,
  MAX_STRATEGIES,
  type MarketPins,
  type SimConfig,
  checkFeeBps,
  resolveConfig,
} from "../env/config.js";
import { RandomStream } from "../env/rng.js";
import { Simulation, type SimulationResult, type StrategySource } from "../env/simulation.js";
import { type RewardMark, agentReward } from "./reward.js";
import { actionToFeeBps } from "../runtime/mapping.js";
import {
  ACTION_SPACE,
  EnvError,
  agentObservation,
  episodeSeeding,
  observationSpace,
  type ResetOptions,
  type StepInfo,
  type StrategyResolver,
  resolveBuiltinOpponent,
} from "./env.js";
import { DEFAULT_ENV_CONFIG, checkEnvConfig, type EnvConfig } from "./options.js";
import type { Box } from "./spaces.js";

/** A line-up entry for a pool an agent controls; `agent` is the agent's id. */
export interface AgentSlot {
  agent: string;
}

/** One strategy pool of the line-up: an agent, or an opponent (a built-in name or a source). */
export type LineupEntry = AgentSlot | string | StrategySource;

export interface MultiAgentEnvConfig extends Omit<EnvConfig, "opponents" | "renderMode"> {
  /**
   * The strategy pools in pool order (the normalizer always comes last): `{ agent: id }` for a
   * pool an agent controls, a built-in name or a strategy source for an opponent. At least one
   * agent; agent ids are unique.
   */
  lineup: LineupEntry[];
}

/** Two agents and no opponent. */
export const DEFAULT_LINEUP: readonly AgentSlot[] = Object.freeze([
  Object.freeze({ agent: "agent_0" }),
  Object.freeze({ agent: "agent_1" }),
]);

const AGENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isAgentSlot(e: unknown): e is AgentSlot {
  return typeof e === "object" && e !== null && !Array.isArray(e) && "agent" in e;
}

/** Checks a line-up (entries, agent ids, size), naming the bad entry; returns the agent ids. */
export function checkLineup(lineup: unknown): string[] {
  if (!Array.isArray(lineup) || lineup.length === 0)
    throw new ConfigError("lineup must be a non-empty list of agents ({ agent: id }) and opponent strategies");
  if (lineup.length > MAX_STRATEGIES)
    throw new ConfigError(`lineup has ${lineup.length} pools; at most ${MAX_STRATEGIES} strategies are allowed`);
  const ids: string[] = [];
  lineup.forEach((e: unknown, i) => {
    if (isAgentSlot(e)) {
      const keys = Object.keys(e);
      if (keys.length !== 1) throw new ConfigError(`lineup[${i}]: an agent entry has only the key 'agent'`);
      if (typeof e.agent !== "string" || !AGENT_ID.test(e.agent))
        throw new ConfigError(
          `lineup[${i}]: agent id must be 1 to 64 characters of letters, digits, '_', '.', ':' or '-' (got ${JSON.stringify(e.agent)})`,
        );
      if (ids.includes(e.agent)) throw new ConfigError(`lineup[${i}]: agent id '${e.agent}' appears twice`);
      ids.push(e.agent);
    } else if (typeof e !== "string" && typeof e !== "function") {
      throw new ConfigError(`lineup[${i}] must be an agent ({ agent: id }) or an opponent strategy name`);
    }
  });
  if (ids.length === 0) throw new ConfigError("lineup has no agent: add at least one { agent: id } entry");
  return ids;
}

/** Checks a step's action (two finite numbers) before anything changes. */
export function checkAction(action: unknown, who = "action"): asserts action is ArrayLike<number> {
  if (action === null || action === undefined || typeof (action as ArrayLike<number>).length !== "number")
    throw new EnvError(`${who} must be an array of 2 numbers`);
  const a = action as ArrayLike<unknown>;
  if (a.length !== 2) throw new EnvError(`${who} must have 2 values (side-0 fee, side-1 fee), got ${a.length}`);
  for (let i = 0; i < 2; i++) {
    const v = a[i];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new EnvError(`${who}[${i}] must be a finite number, got ${String(v)}`);
  }
}

/** What the env tracks for one agent between its decisions. */
interface AgentState {
  id: string;
  pool: number;
  decision: DecisionKind | "end";
  tradeSide: 0 | 1 | null;
  fees: [number, number];
  /** Where its reward counting stands: at the previous reward (the last step of any agent). */
  mark: RewardMark;
}

/** What `last()` returns: the selected agent's view (PettingZoo's `last()` tuple). */
export interface AgentLast {
  observation: Float32Array | null;
  /** The agent's cumulative reward since it last acted. */
  reward: number;
  termination: boolean;
  truncation: boolean;
  info: StepInfo;
}

function resolveEntry(e: LineupEntry, i: number): StrategySource | null {
  if (isAgentSlot(e)) return null;
  if (typeof e === "function") return e;
  try {
    return resolveBuiltinOpponent(e) as StrategySource;
  } catch (err) {
    throw new ConfigError(`lineup[${i}]: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export class PropAmmAECEnv {
  static readonly metadata = { name: "propamm_aec_v0", isParallelizable: true };
  readonly config: MultiAgentEnvConfig;
  readonly simConfig: SimConfig;
  /** Every agent id, in pool order. */
  readonly possibleAgents: readonly string[];
  /** Live agents (PettingZoo's `agents`), in pool order; a finished agent leaves at its step(null). */
  agents: string[] = [];
  agentSelection = "";
  /** Each live agent's reward over the last step (PettingZoo's `rewards`). */
  rewards: Record<string, number> = {};
  /** Each live agent's reward since it last acted (PettingZoo's `_cumulative_rewards`). */
  cumulativeRewards: Record<string, number> = {};
  terminations: Record<string, boolean> = {};
  truncations: Record<string, boolean> = {};
  infos: Record<string, StepInfo> = {};

  private readonly sources: (StrategySource | null)[];
  /** Every agent's observation space (all agents observe the same kind, spec §6.3). */
  private readonly obsSpace: Box;
  private readonly states: AgentState[];
  private readonly byId = new Map<string, AgentState>();
  private rng: RandomStream;
  private pins: MarketPins;
  private sim: Simulation | null = null;
  private simSeed = 0;
  /** Agents whose reset decision is still due (after the selected one). */
  private pending: string[] = [];
  /** The agent whose hook paused the simulation during the current advance. */
  private paused: string | null = null;
  private result: SimulationResult | undefined = undefined;

  constructor(config: Partial<MultiAgentEnvConfig> = {}) {
    const given = Object.fromEntries(
      Object.entries(config).filter(([, v]) => v !== undefined),
    ) as Partial<MultiAgentEnvConfig>;
    const { opponents: _unused, renderMode: _none, ...defaults } = DEFAULT_ENV_CONFIG;
    if ("opponents" in given)
      throw new ConfigError("a multi-agent env takes its opponents from 'lineup', not 'opponents'");
    this.config = {
      ...defaults,
      lineup: [...DEFAULT_LINEUP],
      ...given,
      sim: { ...(config.sim ?? {}) },
    };
    const ids = checkLineup(this.config.lineup);
    this.config.lineup = [...this.config.lineup];
    checkEnvConfig({ ...this.config, opponents: [] });
    this.obsSpace = observationSpace(this.config.observation);
    this.sources = this.config.lineup.map(resolveEntry);
    this.simConfig = resolveConfig(this.config.sim, this.config.lineup.length);
    this.pins = { ...this.simConfig.pins };
    this.possibleAgents = Object.freeze(ids);
    this.states = [];
    this.config.lineup.forEach((e, pool) => {
      if (!isAgentSlot(e)) return;
      const st: AgentState = {
        id: e.agent,
        pool,
        decision: "reset",
        tradeSide: null,
        fees: [0, 0],
        mark: { edgeAtLast: 0, normEdgeAtLast: 0, epochsCounted: 0 },
      };
      this.states.push(st);
      this.byId.set(e.agent, st);
    });
    this.rng = new RandomStream(`env:${Math.random()}:${Date.now()}`);
  }

  /** Builds an env whose opponents are resolved by `resolve` (pass `loadStrategy` for files). */
  static async create(
    config: Partial<MultiAgentEnvConfig> = {},
    resolve: StrategyResolver = resolveBuiltinOpponent,
  ): Promise<PropAmmAECEnv> {
    const lineup = await Promise.all(
      (config.lineup ?? DEFAULT_LINEUP).map((e) => (typeof e === "string" ? resolve(e) : e)),
    );
    return new PropAmmAECEnv({ ...config, lineup });
  }

  get numAgents(): number {
    return this.agents.length;
  }

  get maxNumAgents(): number {
    return this.possibleAgents.length;
  }

  /** The pool index an agent controls. */
  poolOf(agent: string): number {
    return this.state(agent).pool;
  }

  observationSpace(agent: string): Box {
    this.state(agent);
    return this.obsSpace;
  }

  actionSpace(agent: string): Box {
    this.state(agent);
    return ACTION_SPACE;
  }

  actionToFeeBps(a: number): number {
    return actionToFeeBps(a, this.config.feeMinBps, this.config.feeMaxBps);
  }

  /**
   * Starts an episode, as PropAmmEnv.reset does (same seeding, same market pins); every agent
   * is live and its reset decision is due, the first agent in pool order selected.
   */
  reset(args: { seed?: number; options?: ResetOptions } = {}): void {
    const next = episodeSeeding({ pins: this.pins, rng: this.rng }, this.simConfig, args);
    this.pins = next.pins;
    this.rng = next.rng;
    this.simSeed = next.simSeed;
    const sources = this.sources.map((src, pool): StrategySource => {
      if (src !== null) return src;
      const st = this.states.find((s) => s.pool === pool)!;
      return () =>
        agentPool({
          decisionInterval: this.config.decisionInterval,
          epochLen: this.simConfig.epochLen,
          name: st.id,
          extended: this.config.observation === "extended",
          stepVol: this.config.observation === "seed-vol",
          decide: (kind, _step, _storage, event) => {
            st.decision = kind;
            st.tradeSide = event ? event.side : null;
            this.paused = st.id;
            this.sim!.requestPause();
          },
        });
    });
    this.sim = new Simulation(this.simSeed, sources, { ...this.simConfig, pins: this.pins });
    this.result = undefined;
    for (const st of this.states) {
      st.decision = "reset";
      st.tradeSide = null;
      st.fees = [0, 0];
      st.mark = { edgeAtLast: 0, normEdgeAtLast: 0, epochsCounted: 0 };
    }
    this.agents = [...this.possibleAgents];
    this.agentSelection = this.agents[0];
    this.pending = this.agents.slice(1);
    this.rewards = {};
    this.cumulativeRewards = {};
    this.terminations = {};
    this.truncations = {};
    this.infos = {};
    for (const a of this.agents) {
      this.rewards[a] = 0;
      this.cumulativeRewards[a] = 0;
      this.terminations[a] = false;
      this.truncations[a] = false;
    }
    this.refreshInfos();
  }

  /** An agent's observation now (spec §6.3, of its own pool). */
  observe(agent: string): Float32Array {
    const st = this.state(agent);
    const sim = this.requireSim();
    return agentObservation(
      this.config.observation,
      sim.pools[st.pool].storage,
      sim.nStrategies,
      this.simConfig.epochLen,
    );
  }

  /** An agent's raw features now. */
  features(agent: string): AgentFeatures {
    const st = this.state(agent);
    const sim = this.requireSim();
    return readFeatures(sim.pools[st.pool].storage, initialFeatures(sim.nStrategies));
  }

  /** The selected agent's observation, cumulative reward, flags and info. */
  last(observe = true): AgentLast {
    this.requireSim();
    const a = this.agentSelection;
    return {
      observation: observe ? this.observe(a) : null,
      reward: this.cumulativeRewards[a],
      termination: this.terminations[a],
      truncation: this.truncations[a],
      info: this.infos[a],
    };
  }

  /**
   * The selected agent acts: two values in [-1, 1] (as PropAmmEnv.step), or null for a finished
   * agent, which removes it from `agents`.
   */
  step(action: ArrayLike<number> | null | undefined): void {
    this.requireLive();
    const agent = this.agentSelection;
    if (this.terminations[agent] || this.truncations[agent]) {
      this.deadStep(action);
      return;
    }
    if (action === null || action === undefined)
      throw new EnvError(`agent '${agent}' is live: its action must be 2 numbers (null only removes a finished agent)`);
    checkAction(action);
    this.stepFees(this.actionToFeeBps(action[0]), this.actionToFeeBps(action[1]));
  }

  /** Like step(), with the selected agent's two fees in bps. */
  stepFees(fee0Bps: number, fee1Bps: number): void {
    const sim = this.requireLive();
    const agent = this.agentSelection;
    if (this.terminations[agent] || this.truncations[agent])
      throw new EnvError(`agent '${agent}' has finished: step(null) removes it`);
    checkFeeBps("fee0", fee0Bps);
    checkFeeBps("fee1", fee1Bps);
    const st = this.state(agent);
    const pool = sim.pools[st.pool];
    setAgentFees(pool.storage, fee0Bps, fee1Bps);
    pool.syncStorage();
    st.fees = [pool.fee0 * 10000, pool.fee1 * 10000];
    this.cumulativeRewards[agent] = 0;

    let finished = false;
    if (this.pending.length > 0) {
      // The next reset decision: no simulated time passes.
      this.agentSelection = this.pending.shift()!;
    } else {
      this.paused = null;
      finished = sim.advance();
      if (!finished) {
        if (this.paused === null) throw new Error("the simulation paused without an agent's decision");
        this.agentSelection = this.paused;
      }
    }
    const norm = sim.pools[sim.pools.length - 1];
    for (const a of this.agents) {
      const s = this.state(a);
      this.rewards[a] = agentReward(sim, s.pool, this.config, s.mark, sim.pools[s.pool].edge, norm.edge);
      s.mark.edgeAtLast = sim.pools[s.pool].edge;
      s.mark.normEdgeAtLast = norm.edge;
    }
    if (finished) {
      this.result = sim.result();
      for (const a of this.agents) {
        this.state(a).decision = "end";
        this.terminations[a] = true;
      }
      this.agentSelection = this.agents[0];
    }
    this.refreshInfos();
    for (const a of this.agents) this.cumulativeRewards[a] += this.rewards[a];
  }

  /** PettingZoo's `_was_dead_step`: the selected finished agent leaves. */
  private deadStep(action: unknown): void {
    const agent = this.agentSelection;
    if (action !== null && action !== undefined)
      throw new EnvError(`agent '${agent}' has finished: its action must be null (it then leaves 'agents')`);
    delete this.rewards[agent];
    delete this.cumulativeRewards[agent];
    delete this.terminations[agent];
    delete this.truncations[agent];
    delete this.infos[agent];
    this.agents = this.agents.filter((a) => a !== agent);
    const dead = this.agents.find((a) => this.terminations[a] || this.truncations[a]);
    if (dead !== undefined) this.agentSelection = dead;
    for (const a of this.agents) this.rewards[a] = 0;
  }

  /** Iterates the selected agent until no agent is left or `maxIter` selections (PettingZoo's agent_iter). */
  *agentIter(maxIter = 2 ** 63): Generator<string, void, void> {
    for (let i = 0; i < maxIter && this.agents.length > 0; i++) yield this.agentSelection;
  }

  private refreshInfos(): void {
    for (const a of this.agents) this.infos[a] = this.info(this.state(a));
  }

  private info(st: AgentState): StepInfo {
    const sim = this.sim!;
    const pool = sim.pools[st.pool];
    const norm = sim.pools[sim.pools.length - 1];
    const step = Math.min(sim.step, this.simConfig.steps - 1);
    const info: StepInfo = {
      features: readFeatures(pool.storage, initialFeatures(sim.nStrategies)),
      decision: st.decision,
      simSeed: this.simSeed,
      simStep: sim.step,
      epoch: Math.floor(step / this.simConfig.epochLen),
      agentEdge: pool.edge,
      normalizerEdge: norm.edge,
      capitalWeight: pool.capitalWeight,
      feesBps: [st.fees[0], st.fees[1]],
      tradeSide: st.decision === "swap" ? st.tradeSide : null,
    };
    if (this.result !== undefined) info.episode = this.result;
    return info;
  }

  private state(agent: string): AgentState {
    const st = this.byId.get(agent);
    if (st === undefined)
      throw new EnvError(`unknown agent '${String(agent)}' (agents: ${this.possibleAgents.join(", ")})`);
    return st;
  }

  /** The simulation, while some agent is live. */
  private requireLive(): Simulation {
    const sim = this.requireSim();
    if (this.agents.length === 0) throw new EnvError("every agent has finished: call reset() before step()");
    return sim;
  }

  private requireSim(): Simulation {
    if (this.sim === null) throw new EnvError("call reset() before step()");
    return this.sim;
  }

  /** The running simulation (read-only use: results, pools). */
  get simulation(): Simulation | null {
    return this.sim;
  }

  close(): void {
    this.sim = null;
    this.agents = [];
  }
}

/** What a Parallel step returns: every live agent's view, and who must act next. */
export interface ParallelStepResult {
  observations: Record<string, Float32Array>;
  rewards: Record<string, number>;
  terminations: Record<string, boolean>;
  truncations: Record<string, boolean>;
  infos: Record<string, StepInfo>;
  /** The agents whose action the next step uses (empty once the episode has ended). */
  acting: string[];
}

/**
 * The Parallel view (PettingZoo's ParallelEnv) of a PropAmmAECEnv. `agents` are the live agents;
 * a step takes an action for each agent of `actingAgents` (actions of other live agents are
 * accepted and ignored: their fees change only at their own decisions), applies them in pool
 * order and returns every live agent's observation, its reward summed over the step, flags and
 * info. After the last step every agent is terminated and `agents` is empty.
 */
export class PropAmmParallelEnv {
  static readonly metadata = { name: "propamm_parallel_v0" };
  readonly aec: PropAmmAECEnv;
  private acting: string[] = [];

  constructor(config: Partial<MultiAgentEnvConfig> | PropAmmAECEnv = {}) {
    this.aec = config instanceof PropAmmAECEnv ? config : new PropAmmAECEnv(config);
  }

  static async create(
    config: Partial<MultiAgentEnvConfig> = {},
    resolve: StrategyResolver = resolveBuiltinOpponent,
  ): Promise<PropAmmParallelEnv> {
    return new PropAmmParallelEnv(await PropAmmAECEnv.create(config, resolve));
  }

  get possibleAgents(): readonly string[] {
    return this.aec.possibleAgents;
  }

  get agents(): string[] {
    return this.aec.agents;
  }

  get numAgents(): number {
    return this.aec.numAgents;
  }

  /** The agents whose action the next step uses. */
  get actingAgents(): readonly string[] {
    return this.acting;
  }

  observationSpace(agent: string): Box {
    return this.aec.observationSpace(agent);
  }

  actionSpace(agent: string): Box {
    return this.aec.actionSpace(agent);
  }

  reset(args: { seed?: number; options?: ResetOptions } = {}): {
    observations: Record<string, Float32Array>;
    infos: Record<string, StepInfo>;
    acting: string[];
  } {
    this.aec.reset(args);
    this.acting = [...this.aec.agents];
    const observations: Record<string, Float32Array> = {};
    for (const a of this.aec.agents) observations[a] = this.aec.observe(a);
    return { observations, infos: { ...this.aec.infos }, acting: [...this.acting] };
  }

  /** Applies the acting agents' actions and runs to the next decision (or the end). */
  step(actions: Readonly<Record<string, ArrayLike<number> | null | undefined>>): ParallelStepResult {
    const aec = this.aec;
    if (aec.simulation === null) throw new EnvError("call reset() before step()");
    if (this.acting.length === 0) throw new EnvError("the episode has ended: call reset() before step()");
    if (actions === null || typeof actions !== "object") throw new EnvError("actions must map agent ids to actions");
    for (const a of Object.keys(actions)) {
      if (!aec.agents.includes(a))
        throw new EnvError(`actions: '${a}' is not a live agent (agents: ${aec.agents.join(", ")})`);
    }
    for (const a of this.acting) {
      const act = actions[a];
      if (act === null || act === undefined)
        throw new EnvError(`actions: no action for '${a}', whose decision is due (acting: ${this.acting.join(", ")})`);
      checkAction(act, `actions['${a}']`);
    }
    const rewards: Record<string, number> = {};
    for (const a of aec.agents) rewards[a] = 0;
    for (const a of this.acting) {
      if (aec.agentSelection !== a)
        throw new Error(`parallel view out of step: '${aec.agentSelection}' selected, '${a}' acting`);
      aec.step(actions[a]!);
      for (const b of Object.keys(rewards)) rewards[b] += aec.rewards[b];
    }
    const observations: Record<string, Float32Array> = {};
    for (const a of aec.agents) observations[a] = aec.observe(a);
    const out: ParallelStepResult = {
      observations,
      rewards,
      terminations: { ...aec.terminations },
      truncations: { ...aec.truncations },
      infos: { ...aec.infos },
      acting: [],
    };
    if (aec.agents.every((a) => aec.terminations[a] || aec.truncations[a])) {
      while (aec.agents.length > 0) aec.step(null);
      this.acting = [];
    } else {
      this.acting = [aec.agentSelection];
    }
    out.acting = [...this.acting];
    return out;
  }

  close(): void {
    this.aec.close();
    this.acting = [];
  }
}
