/**
 * The one episode loop. Every place that plays a policy through episodes of the env runs
 * `runEpisode`: ES's rollouts (in worker threads or in-process), the held-out evaluation during
 * training (the same rollouts), PPO's collection, and `evaluateAgent` for comparisons. What a
 * caller needs beyond the episode's totals it gathers itself: inside its agent's `act` (the
 * observation and what the policy made of it) and in `onReward` (each step's reward).
 */
import { type EnvConfig, PropAmmEnv } from "../gym/env.js";
import type { Agent } from "../agents/agent.js";
import { type Activation, MlpPolicy, type ObsNormStats, specFromFlat } from "../agents/mlp.js";
import { mean } from "../arena/stats.js";
import { ACTION_SIZE } from "./defaults.js";
import { EpisodeEnvs } from "./opponent-pool.js";

export interface EpisodeStats {
  seed: number;
  /** Sum of the episode's rewards, in step order. */
  return: number;
  agentEdge: number;
  normalizerEdge: number;
  finalWeight: number;
  decisions: number;
}

/**
 * Resets `env` with `seed` and steps it with `agent`'s actions until the episode ends.
 * `onReward` sees each step's reward right after that step, before the agent's next `act`.
 */
export function runEpisode(
  env: PropAmmEnv,
  agent: Agent,
  seed: number,
  onReward?: (reward: number) => void,
): EpisodeStats {
  let { observation, info } = env.reset({ seed });
  let ret = 0;
  let decisions = 0;
  for (;;) {
    const r = env.step(agent.act(observation, info));
    decisions++;
    ret += r.reward;
    onReward?.(r.reward);
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

/** `agent` on each seed in a fresh env of `config`, in seed order. */
export function evaluateAgent(config: Partial<EnvConfig>, agent: Agent, seeds: readonly number[]): EpisodeStats[] {
  const env = new PropAmmEnv(config);
  return seeds.map((s) => runEpisode(env, agent, s));
}

/** A deterministic MLP policy and the seeds to play it on: what a rollout worker receives. */
export interface RolloutTask {
  sizes: number[];
  activation: Activation;
  params: Float32Array;
  obsNorm: ObsNormStats;
  seeds: number[];
  /** Training episodes: their opponents come from the opponent pool when there is one. */
  opponentPool?: boolean;
}

export interface RolloutResult {
  meanReturn: number;
  returns: number[];
  agentEdges: number[];
  normalizerEdges: number[];
  decisions: number;
  /** Sum and sum of squares of the raw observations seen, per feature. */
  obsSum: number[];
  obsSumSq: number[];
  /** The smallest and largest raw value of each feature (+inf and -inf when none was seen). */
  obsMin: number[];
  obsMax: number[];
}

/**
 * One episode per seed of the task's policy, with the observation moments ES's normalisation
 * needs; with `EpisodeEnvs` and a training task, each seed's opponents come from the pool.
 */
export function rollout(envs: PropAmmEnv | EpisodeEnvs, task: RolloutTask): RolloutResult {
  const envFor = (seed: number): PropAmmEnv =>
    envs instanceof EpisodeEnvs ? (task.opponentPool === true ? envs.forTraining(seed) : envs.base) : envs;
  const policy = new MlpPolicy(specFromFlat(task.sizes, task.activation, task.params, task.obsNorm));
  const d = task.sizes[0];
  const obsSum = new Array<number>(d).fill(0);
  const obsSumSq = new Array<number>(d).fill(0);
  const obsMin = new Array<number>(d).fill(Infinity);
  const obsMax = new Array<number>(d).fill(-Infinity);
  // One action buffer for the whole task: the env reads it before the next act overwrites it.
  const action = new Float64Array(ACTION_SIZE);
  const agent: Agent = {
    name: "rollout",
    act(observation) {
      for (let i = 0; i < d; i++) {
        obsSum[i] += observation[i];
        obsSumSq[i] += observation[i] * observation[i];
        if (observation[i] < obsMin[i]) obsMin[i] = observation[i];
        if (observation[i] > obsMax[i]) obsMax[i] = observation[i];
      }
      return policy.act(observation, action);
    },
  };
  const returns: number[] = [];
  const agentEdges: number[] = [];
  const normalizerEdges: number[] = [];
  let decisions = 0;
  for (const seed of task.seeds) {
    const e = runEpisode(envFor(seed), agent, seed);
    decisions += e.decisions;
    returns.push(e.return);
    agentEdges.push(e.agentEdge);
    normalizerEdges.push(e.normalizerEdge);
  }
  const meanReturn = mean(returns);
  return { meanReturn, returns, agentEdges, normalizerEdges, decisions, obsSum, obsSumSq, obsMin, obsMax };
}
