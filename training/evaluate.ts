/**
 * Runs an agent in the env on given seeds: the returns, the agent's edge and the normalizer's
 * edge per episode. Training uses it for held-out evaluation.
 */
import { type EnvConfig, PropAmmEnv } from "../gym/env.js";
import type { Agent } from "../agents/agent.js";

export interface EpisodeStats {
  seed: number;
  return: number;
  agentEdge: number;
  normalizerEdge: number;
  finalWeight: number;
  decisions: number;
}

export function runEpisode(env: PropAmmEnv, agent: Agent, seed: number): EpisodeStats {
  let { observation, info } = env.reset({ seed });
  let ret = 0;
  let decisions = 0;
  for (;;) {
    const r = env.step(agent.act(observation, info));
    decisions++;
    ret += r.reward;
    observation = r.observation;
    info = r.info;
    if (r.terminated || r.truncated) break;
  }
  return {
    seed,
    return: ret,
    agentEdge: info.agentEdge,
    normalizerEdge: info.normalizerEdge,
    finalWeight: info.capitalWeight,
    decisions,
  };
}

export function evaluateAgent(config: Partial<EnvConfig>, agent: Agent, seeds: readonly number[]): EpisodeStats[] {
  const env = new PropAmmEnv(config);
  return seeds.map((s) => runEpisode(env, agent, s));
}
