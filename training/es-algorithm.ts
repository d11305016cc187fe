/** ES as a TrainingAlgorithm: the trainer plus its checkpoint format. */
import { join } from "node:path";
import type { CheckpointFiles, CheckpointState } from "../agents/checkpoint.js";
import { readModelWeights } from "../agents/checkpoint.js";
import { loadTf } from "./backend.js";
import { DEFAULT_ES_CONFIG, type EsConfig, type EsState, EsTrainer } from "./es.js";
import { specFromFlat, type PolicySpec } from "../agents/mlp.js";
import type { RolloutPool } from "./rollout-pool.js";
import { buildMlp, modelFiles, setFlatWeights } from "./tf-model.js";
import type { IterationMetrics, TrainingAlgorithm } from "./algorithm.js";

export const OBS_CLIP = 10;

export class EsAlgorithm implements TrainingAlgorithm {
  readonly name = "es" as const;
  private readonly trainer: EsTrainer;

  constructor(
    readonly config: EsConfig,
    seed: number,
    feeRange: [number, number],
    private readonly pool: RolloutPool,
    resume?: { dir: string; state: CheckpointState },
  ) {
    let state: EsState | undefined;
    if (resume) {
      const a = resume.state.algoState as { adamM: number[]; adamV: number[]; adamT: number };
      const flat = readModelWeights(join(resume.dir, "policy")).flatMap((w) => Array.from(w.values));
      state = {
        generation: resume.state.counters.iterations,
        timesteps: resume.state.counters.timesteps,
        episodes: resume.state.counters.episodes,
        params: Float32Array.from(flat),
        adamM: Float64Array.from(a.adamM),
        adamV: Float64Array.from(a.adamV),
        adamT: a.adamT,
        obsNorm: resume.state.policy.obsNorm,
        rng: resume.state.rng,
      };
    }
    this.trainer = new EsTrainer(config, seed, feeRange, state);
  }

  static defaults(): EsConfig {
    return { ...DEFAULT_ES_CONFIG, hidden: [...DEFAULT_ES_CONFIG.hidden] };
  }

  get timesteps(): number {
    return this.trainer.snapshot().timesteps;
  }
  get episodes(): number {
    return this.trainer.snapshot().episodes;
  }
  get iterations(): number {
    return this.trainer.snapshot().generation;
  }

  async iterate(): Promise<IterationMetrics> {
    const m = await this.trainer.generation(this.pool);
    return { ...m, iteration: m.generation };
  }

  policySpec(): PolicySpec {
    return specFromFlat(
      this.trainer.sizes,
      this.config.activation,
      this.trainer.params,
      this.trainer.obsNorm,
      OBS_CLIP,
    );
  }

  async checkpoint(): Promise<{
    files: CheckpointFiles;
    state: Omit<CheckpointState, "format" | "version" | "name" | "createdAt" | "policy" | "env" | "seed">;
  }> {
    const { tf } = await loadTf();
    const snap = this.trainer.snapshot();
    const model = buildMlp(tf, this.trainer.sizes, this.config.activation, "policy");
    setFlatWeights(tf, model, snap.params);
    const policy = await modelFiles(tf, model);
    model.dispose();
    return {
      files: { "policy/model.json": policy.modelJson, "policy/weights.bin": policy.weights },
      state: {
        algo: "es",
        config: { ...this.config },
        counters: { timesteps: snap.timesteps, episodes: snap.episodes, iterations: snap.generation },
        rng: snap.rng,
        algoState: { adamM: Array.from(snap.adamM), adamV: Array.from(snap.adamV), adamT: snap.adamT },
      },
    };
  }

  async close(): Promise<void> {}
}
