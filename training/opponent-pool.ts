/**
 * Training against a pool of opponents (`propamm train --opponent-pool ...`), so that a policy
 * does not fit one line-up: each training episode's opponents (as many as `opponents` lists) are
 * drawn uniformly, with replacement, from the pool by a random stream seeded with the episode's
 * simulation seed. The line-up is a function of the seed alone, so every ES candidate of a
 * generation meets the same opponents on the same seed (common random numbers), and the result
 * does not depend on the worker count. Held-out evaluation keeps the fixed `opponents`.
 * The entry `none` is an empty seat: an episode that draws it has one opponent fewer, so the
 * number of pools varies in training and the policy learns what it means.
 */
import { type EnvConfig, PropAmmEnv, type StrategyResolver } from "../gym/env.js";
import { RandomStream } from "../env/rng.js";
import type { StrategySource } from "../env/simulation.js";

/** The env config training serializes: opponents as names or paths, and the optional pool. */
export type TrainingEnvConfig = Partial<EnvConfig> & { opponents: string[]; opponentPool?: string[] };

/** Every opponent spec of a training config, in the order a watched call record's index refers to. */
export function watchedSpecs(config: TrainingEnvConfig): string[] {
  return [...config.opponents, ...(config.opponentPool ?? [])];
}

/** The pool entry that leaves its seat empty. */
export const EMPTY_SEAT = "none";

/** Indices into `poolSize` entries for an episode's `count` opponents, from the episode's seed. */
export function lineupFor(poolSize: number, count: number, seed: number): number[] {
  const rng = new RandomStream(`opponent-pool:${seed}`);
  return Array.from({ length: count }, () => Math.min(poolSize - 1, Math.floor(rng.uniform() * poolSize)));
}

/** The env config without the training-only pool (what PropAmmEnv takes). */
export function envOnly(config: TrainingEnvConfig): Partial<EnvConfig> & { opponents: string[] } {
  const { opponentPool: _pool, ...rest } = config;
  return rest;
}

/** The envs an episode runs in: the fixed line-up, or one per line-up drawn from the pool. */
export class EpisodeEnvs {
  private readonly byLineup = new Map<string, PropAmmEnv>();

  private constructor(
    readonly base: PropAmmEnv,
    private readonly config: Partial<EnvConfig>,
    /** The pool's entries, null for an empty seat. */
    private readonly pool: (StrategySource | null)[],
  ) {}

  /** Resolves the opponents and every pool entry once (files and checkpoints through `resolve`). */
  static async create(config: TrainingEnvConfig, resolve: StrategyResolver): Promise<EpisodeEnvs> {
    const env = envOnly(config);
    const base = await PropAmmEnv.create(env, resolve);
    const pool = await Promise.all((config.opponentPool ?? []).map((o) => (o === EMPTY_SEAT ? null : resolve(o))));
    return new EpisodeEnvs(base, env, pool);
  }

  /** Whether training episodes draw their opponents from a pool. */
  get pooled(): boolean {
    return this.pool.length > 0;
  }

  /** The env for a training episode on `seed` (the fixed line-up without a pool). */
  forTraining(seed: number): PropAmmEnv {
    if (!this.pooled) return this.base;
    const lineup = lineupFor(this.pool.length, this.base.config.opponents.length, seed);
    const key = lineup.join(",");
    let env = this.byLineup.get(key);
    if (env === undefined) {
      const opponents = lineup.map((i) => this.pool[i]).filter((s): s is StrategySource => s !== null);
      env = new PropAmmEnv({ ...this.config, opponents });
      this.byLineup.set(key, env);
    }
    return env;
  }
}
