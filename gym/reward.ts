/**
 * The reward of spec §6.5, shared by PropAmmEnv and the multi-agent env: one agent pool's
 * reward since the last time it was counted.
 */
import { riskAdjustedScore } from "../env/capital.js";
import type { Simulation } from "../env/simulation.js";
import type { EnvConfig } from "./options.js";

/** Where an agent's reward counting stands. */
export interface RewardMark {
  /** The pool's and the normalizer's cumulative edge when the reward was last counted. */
  edgeAtLast: number;
  normEdgeAtLast: number;
  /** Closed epochs already rewarded. */
  epochsCounted: number;
}

/**
 * Dense: edge since the mark plus the downside penalty of each epoch closed since. Sparse: the
 * closed epochs' risk-adjusted scores. Without the risk penalty, the same with the penalty left
 * out (dense: the edge; sparse: the epochs' edges). With the normalizer baseline, its edge over
 * the same interval (dense) or the same epochs (sparse) is subtracted. Counts the closed epochs into
 * `mark.epochsCounted`; the caller moves the edges of the mark.
 */
export function agentReward(
  sim: Simulation,
  pool: number,
  config: Pick<EnvConfig, "rewardMode" | "rewardBaseline" | "rewardScale" | "riskPenalty">,
  mark: RewardMark,
  edgeNow: number,
  normEdgeNow: number,
): number {
  const epochs = sim.epochSummaries(pool);
  const normEpochs = sim.epochSummaries(sim.pools.length - 1);
  const lambda = sim.config.riskLambda;
  const dense = config.rewardMode === "dense";
  const baseline = config.rewardBaseline === "normalizer";
  const penalty = config.riskPenalty !== "none";
  let r = dense ? edgeNow - mark.edgeAtLast : 0;
  if (dense && baseline) r -= normEdgeNow - mark.normEdgeAtLast;
  for (; mark.epochsCounted < epochs.length; mark.epochsCounted++) {
    const e = epochs[mark.epochsCounted].edge;
    const score = penalty ? riskAdjustedScore(e, lambda) : e;
    r += dense ? score - e : score;
    if (!dense && baseline) r -= normEpochs[mark.epochsCounted].edge;
  }
  return r * config.rewardScale;
}
