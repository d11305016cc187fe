/**
 * What the training loop needs from an algorithm: iterate, report, expose the deterministic
 * policy, and save/restore everything needed to resume.
 */
import type { CheckpointFiles, CheckpointState } from "../agents/checkpoint.js";
import type { PolicySpec } from "../agents/mlp.js";

export interface IterationMetrics {
  iteration: number;
  timesteps: number;
  episodes: number;
  /** Mean episode return of the episodes this iteration finished (NaN if none). */
  meanReturn: number;
  meanEdge: number;
  meanEdgeVsNormalizer: number;
  [key: string]: number;
}

/** What an algorithm contributes to a checkpoint; train() adds the run's own fields (format, env, seed, policy...). */
export interface AlgorithmCheckpoint {
  files: CheckpointFiles;
  state: Omit<CheckpointState, "format" | "version" | "name" | "createdAt" | "policy" | "env" | "seed">;
}

export interface TrainingAlgorithm {
  readonly name: "ppo" | "es";
  readonly timesteps: number;
  readonly episodes: number;
  readonly iterations: number;
  /** Episodes one iteration plays (iterations are played whole, so the budget rounds up to them). */
  readonly episodesPerIteration: number;
  iterate(): Promise<IterationMetrics>;
  /** The current deterministic policy (what evaluation and export run). */
  policySpec(): PolicySpec;
  /** Files and state for a checkpoint of the current point. */
  checkpoint(): Promise<AlgorithmCheckpoint>;
  close(): Promise<void>;
}
