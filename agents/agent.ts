/** What a policy is to the training and evaluation loops: observation (and info) in, action out. */
import type { StepInfo } from "../gym/env.js";

export interface Agent {
  readonly name: string;
  /** Action in [-1, 1]^2 (side-0 fee, side-1 fee) for a raw observation. */
  act(observation: Float32Array, info: StepInfo): ArrayLike<number>;
}

/** Maps a fee in bps back to the action that produces it. */
export function feeToAction(bps: number, feeMinBps: number, feeMaxBps: number): number {
  return Math.max(-1, Math.min(1, ((bps - feeMinBps) / (feeMaxBps - feeMinBps)) * 2 - 1));
}
