/**
 * Multi-agent sessions (docs/protocol.md, revision 3): a `make` with a `lineup` holds one
 * PropAmmAECEnv (`api: "aec"`) or PropAmmParallelEnv (`api: "parallel"`) in this process; the
 * replies carry the env's per-agent state as maps keyed by agent id.
 */
import { ConfigError } from "../env/errors.js";
import { builtinSource } from "../env/builtins/index.js";
import type { StepInfo } from "../gym/env.js";
import {
  PropAmmAECEnv,
  PropAmmParallelEnv,
  type LineupEntry,
  type MultiAgentEnvConfig,
  type ParallelStepResult,
} from "../gym/multi-agent-env.js";
import { encodeArray } from "./arrays.js";

export const MULTI_AGENT_APIS = ["aec", "parallel"] as const;
export type MultiAgentApi = (typeof MULTI_AGENT_APIS)[number];

type Msg = Record<string, unknown>;
type InfoWire = (info: StepInfo) => Msg;

function isMap(x: unknown): x is Msg {
  if (x === null || typeof x !== "object" || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * `make`'s `lineup`: a list whose entries are built-in strategy names (opponents) or maps
 * `{agent: id}`; files and checkpoints are refused (a multi-agent session runs in this process,
 * which never imports a client's file).
 */
export function lineupFromWire(x: unknown): LineupEntry[] {
  if (!Array.isArray(x) || x.length === 0)
    throw new ConfigError("lineup must be a non-empty list of {agent: id} maps and built-in strategy names");
  return x.map((e: unknown, i): LineupEntry => {
    if (typeof e === "string") {
      if (!builtinSource(e))
        throw new ConfigError(
          `lineup[${i}]: '${e}' is not a built-in strategy (multi-agent sessions take built-in opponents only)`,
        );
      return e;
    }
    if (isMap(e)) {
      const keys = Object.keys(e);
      if (keys.length !== 1 || keys[0] !== "agent")
        throw new ConfigError(
          `lineup[${i}]: an agent entry is a map with the single key 'agent' (got keys ${keys.join(", ") || "none"})`,
        );
      if (typeof e.agent !== "string") throw new ConfigError(`lineup[${i}].agent must be a string`);
      return { agent: e.agent };
    }
    throw new ConfigError(`lineup[${i}] must be a built-in strategy name or a map {agent: id}`);
  });
}

/** A session's env: one multi-agent env, AEC or its Parallel view. */
export class MultiAgentSession {
  /** Sessions count their envs; a multi-agent session is one env. */
  readonly numEnvs = 1;
  readonly aec: PropAmmAECEnv;
  readonly parallel: PropAmmParallelEnv | null;

  constructor(
    readonly api: MultiAgentApi,
    config: Partial<MultiAgentEnvConfig>,
  ) {
    this.aec = new PropAmmAECEnv(config);
    this.parallel = api === "parallel" ? new PropAmmParallelEnv(this.aec) : null;
  }

  close(): void {
    this.aec.close();
  }
}

function observationsWire(env: PropAmmAECEnv, agents: readonly string[]): Msg {
  const out: Msg = {};
  for (const a of agents) {
    const o = env.observe(a);
    out[a] = encodeArray(o, "float32", [o.length]);
  }
  return out;
}

/**
 * Each agent's info map: the vector session's fields plus `pool` (the agent's pool index); an
 * ended episode's `agent_epochs` are the agent's own pool's.
 */
function infosWire(env: PropAmmAECEnv, infos: Record<string, StepInfo>, info: InfoWire): Msg {
  const out: Msg = {};
  for (const [a, i] of Object.entries(infos)) {
    const pool = env.poolOf(a);
    const w = info(i);
    w.pool = pool;
    if (i.episode !== undefined && isMap(w.episode))
      w.episode = { ...w.episode, agent_epochs: i.episode.pools[pool].epochs };
    out[a] = w;
  }
  return out;
}

/** An AEC session's state after reset or step: every live agent's view and who is selected. */
export function aecStateWire(env: PropAmmAECEnv, info: InfoWire): Msg {
  return {
    agents: [...env.agents],
    agent_selection: env.agentSelection,
    observations: observationsWire(env, env.agents),
    rewards: { ...env.rewards },
    cumulative_rewards: { ...env.cumulativeRewards },
    terminations: { ...env.terminations },
    truncations: { ...env.truncations },
    infos: infosWire(env, env.infos, info),
  };
}

/** A Parallel session's reset reply. */
export function parallelResetWire(
  env: PropAmmParallelEnv,
  r: { infos: Record<string, StepInfo>; acting: string[] },
  info: InfoWire,
): Msg {
  return {
    agents: [...env.agents],
    acting: r.acting,
    observations: observationsWire(env.aec, env.agents),
    infos: infosWire(env.aec, r.infos, info),
  };
}

/** A Parallel session's step reply. */
export function parallelStepWire(env: PropAmmParallelEnv, r: ParallelStepResult, info: InfoWire): Msg {
  const observations: Msg = {};
  for (const [a, o] of Object.entries(r.observations)) observations[a] = encodeArray(o, "float32", [o.length]);
  return {
    agents: [...env.agents],
    acting: r.acting,
    observations,
    rewards: r.rewards,
    terminations: r.terminations,
    truncations: r.truncations,
    infos: infosWire(env.aec, r.infos, info),
  };
}
