/**
 * Capital rebalancing between strategies at an epoch boundary (spec §4). The normalizer takes
 * no part. Total strategy capital at the fair price is conserved exactly (up to rounding), and
 * each pool keeps its own spot price.
 */
import type { Pool } from "./pool.js";

export interface CapitalParams {
  riskLambda: number;
  temperature: number;
  minWeight: number;
  /** Score edge per unit of capital held at the epoch's start, rescaled to an equal share. */
  scorePerCapital: boolean;
}

/** score = e - lambda * max(0, -e): a loss of X scores -(1 + lambda) X. */
export function riskAdjustedScore(edge: number, riskLambda: number): number {
  return edge - riskLambda * Math.max(0, -edge);
}

/**
 * Capital weights from scores: softmax(score / (T * s)) with s = max(1, spread / 40), then the
 * floor w = minWeight + (1 - N * minWeight) * p. Writes into `weights`; allocates nothing.
 * (spec §4 writes "else p" for N * minWeight = 1; the floor formula gives 1/N there, which keeps
 * both promises, w >= minWeight and sum w = 1, so it is used for every allowed value.)
 */
export function capitalWeights(
  scores: Float64Array,
  n: number,
  temperature: number,
  minWeight: number,
  weights: Float64Array,
): void {
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    if (scores[i] > max) max = scores[i];
    if (scores[i] < min) min = scores[i];
  }
  const spread = Math.max(1, (max - min) / 40);
  const scale = temperature * spread;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((scores[i] - max) / scale);
    weights[i] = e;
    sum += e;
  }
  const free = Math.max(0, 1 - n * minWeight);
  for (let i = 0; i < n; i++) weights[i] = minWeight + (free * weights[i]) / sum;
}

/**
 * Rebalances the first `n` pools (the strategies) at fair price `price`. Fills `scores` and
 * `weights`; each pool then moves itself to `w_i * C` (`Pool.rebalanceTo`, spec §4).
 */
export function rebalance(
  pools: readonly Pool[],
  n: number,
  price: number,
  params: CapitalParams,
  scores: Float64Array,
  weights: Float64Array,
): void {
  let total = 0;
  for (let i = 0; i < n; i++) total += pools[i].valueAt(price);
  for (let i = 0; i < n; i++) {
    const p = pools[i];
    let e = p.epochEdge;
    if (params.scorePerCapital) {
      e = p.epochStartValue > 0 ? (e / p.epochStartValue) * (total / n) : e;
    }
    scores[i] = riskAdjustedScore(e, params.riskLambda);
  }
  capitalWeights(scores, n, params.temperature, params.minWeight, weights);
  for (let i = 0; i < n; i++) pools[i].rebalanceTo(weights[i], weights[i] * total, price);
}
