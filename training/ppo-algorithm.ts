/** PPO as a TrainingAlgorithm: the trainer plus its checkpoint format. */
import { join } from "node:path";
import type { CheckpointFiles, CheckpointState } from "../agents/checkpoint.js";
import { readModelWeights } from "../agents/checkpoint.js";
import type { EnvConfig } from "../gym/env.js";
import { loadStrategy } from "../arena/loader.js";
import { loadTf, type Tf } from "./backend.js";
import type { PolicySpec } from "../agents/mlp.js";
import { DEFAULT_PPO_CONFIG, type PpoConfig, type PpoState, PpoTrainer } from "./ppo.js";
import { modelFiles } from "./tf-model.js";
import type { IterationMetrics, TrainingAlgorithm } from "./algorithm.js";

interface PpoAlgoState {
  logStd: number[];
  optimizer: PpoState["optimizer"];
  adamBetaPowers?: [number, number];
}

export class PpoAlgorithm implements TrainingAlgorithm {
  readonly name = "ppo" as const;

  private constructor(
    private readonly tf: Tf,
    private readonly trainer: PpoTrainer,
  ) {}

  static defaults(): PpoConfig {
    return { ...DEFAULT_PPO_CONFIG, hidden: [...DEFAULT_PPO_CONFIG.hidden] };
  }

  static async create(
    config: PpoConfig,
    seed: number,
    env: Partial<EnvConfig> & { opponents: string[] },
    resume?: { dir: string; state: CheckpointState },
  ): Promise<PpoAlgorithm> {
    const { tf } = await loadTf();
    // Opponents may be files: load them once, here.
    const { PropAmmEnv } = await import("../gym/env.js");
    const probe = await PropAmmEnv.create(env, loadStrategy);
    const envConfig = { ...env, opponents: probe.config.opponents };
    let state: PpoState | undefined;
    if (resume) {
      const a = resume.state.algoState as unknown as PpoAlgoState;
      const flat = (sub: string): Float32Array =>
        Float32Array.from(readModelWeights(join(resume.dir, sub)).flatMap((w) => Array.from(w.values)));
      state = {
        iteration: resume.state.counters.iterations,
        timesteps: resume.state.counters.timesteps,
        episodes: resume.state.counters.episodes,
        actor: flat("policy"),
        critic: flat("critic"),
        logStd: Float32Array.from(a.logStd),
        optimizer: a.optimizer,
        adamBetaPowers: a.adamBetaPowers,
        obsNorm: resume.state.policy.obsNorm,
        rng: resume.state.rng,
      };
    }
    return new PpoAlgorithm(tf, new PpoTrainer(tf, config, seed, envConfig, state));
  }

  get timesteps(): number {
    return this.trainer.timesteps;
  }
  get episodes(): number {
    return this.trainer.episodes;
  }
  get iterations(): number {
    return this.trainer.iterations;
  }

  async iterate(): Promise<IterationMetrics> {
    return { ...(await this.trainer.iterate()) };
  }

  policySpec(): PolicySpec {
    return this.trainer.policySpec();
  }

  async checkpoint(): Promise<{
    files: CheckpointFiles;
    state: Omit<CheckpointState, "format" | "version" | "name" | "createdAt" | "policy" | "env" | "seed">;
  }> {
    const snap = await this.trainer.snapshot();
    const policy = await modelFiles(this.tf, this.trainer.actor);
    const critic = await modelFiles(this.tf, this.trainer.critic);
    const algoState: PpoAlgoState = {
      logStd: Array.from(snap.logStd),
      optimizer: snap.optimizer,
      adamBetaPowers: snap.adamBetaPowers,
    };
    return {
      files: {
        "policy/model.json": policy.modelJson,
        "policy/weights.bin": policy.weights,
        "critic/model.json": critic.modelJson,
        "critic/weights.bin": critic.weights,
      },
      state: {
        algo: "ppo",
        config: { ...this.trainer.config },
        counters: { timesteps: snap.timesteps, episodes: snap.episodes, iterations: snap.iteration },
        rng: snap.rng,
        algoState: algoState as unknown as Record<string, unknown>,
      },
    };
  }

  async close(): Promise<void> {
    this.trainer.dispose();
  }
}
