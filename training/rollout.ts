/**
 * Deterministic-policy rollouts with the plain MLP, shared by the ES workers and evaluation:
 * one episode per seed, returning the episode's return, edges and observation moments.
 */
import { type EnvConfig, PropAmmEnv } from "../gym/env.js";
import { type Activation, MlpPolicy, type ObsNormStats, specFromFlat } from "../agents/mlp.js";
import { mean } from "../arena/stats.js";

export interface RolloutTask {
  sizes: number[];
  activation: Activation;
  params: Float32Array;
  obsNorm: ObsNormStats;
  seeds: number[];
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
}

export function rollout(env: PropAmmEnv, task: RolloutTask): RolloutResult {
  const policy = new MlpPolicy(specFromFlat(task.sizes, task.activation, task.params, task.obsNorm));
  const d = task.sizes[0];
  const obsSum = new Array<number>(d).fill(0);
  const obsSumSq = new Array<number>(d).fill(0);
  const action = new Float64Array(2);
  const returns: number[] = [];
  const agentEdges: number[] = [];
  const normalizerEdges: number[] = [];
  let decisions = 0;
  for (const seed of task.seeds) {
    let { observation } = env.reset({ seed });
    let ret = 0;
    for (;;) {
      for (let i = 0; i < d; i++) {
        obsSum[i] += observation[i];
        obsSumSq[i] += observation[i] * observation[i];
      }
      policy.act(observation, action);
      const r = env.step(action);
      decisions++;
      ret += r.reward;
      observation = r.observation;
      if (r.terminated || r.truncated) {
        agentEdges.push(r.info.agentEdge);
        normalizerEdges.push(r.info.normalizerEdge);
        break;
      }
    }
    returns.push(ret);
  }
  const meanReturn = mean(returns);
  return { meanReturn, returns, agentEdges, normalizerEdges, decisions, obsSum, obsSumSq };
}

export type { EnvConfig };
