/**
 * VectorEnv: n PropAmmEnv copies stepped together with batched typed arrays.
 *
 * Autoreset follows Gymnasium 1.x. NEXT_STEP (default): when env i ends at step k, step k+1
 * ignores its action, resets it and returns the new episode's first observation with reward 0
 * and both flags false. SAME_STEP: env i is reset within step k; the observation returned is
 * the new episode's first one and the last observation of the finished episode is in
 * infos[i].finalObservation (with infos[i].finalInfo).
 *
 * reset({ seed }) seeds env i with seed + i.
 */
import {
  type EnvConfig,
  EnvError,
  PropAmmEnv,
  type ResetOptions,
  type StepInfo,
  type StrategyResolver,
} from "./env.js";
import type { Box } from "./spaces.js";

export type AutoresetMode = "next_step" | "same_step";

export interface VectorStepInfo extends StepInfo {
  /** NEXT_STEP: true on the step that reset this env (its action was ignored). */
  autoreset?: boolean;
  /** SAME_STEP: the finished episode's last observation and info. */
  finalObservation?: Float32Array;
  finalInfo?: StepInfo;
}

export interface VectorStepResult {
  /** [n x 5] row-major. */
  observations: Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  infos: VectorStepInfo[];
}

export class VectorEnv {
  readonly numEnvs: number;
  readonly envs: PropAmmEnv[];
  readonly autoresetMode: AutoresetMode;
  readonly singleObservationSpace: Box;
  readonly singleActionSpace: Box;
  private readonly obsSize: number;
  private readonly actSize: number;
  private readonly pendingReset: Uint8Array;
  private started = false;

  constructor(numEnvs: number, config: Partial<EnvConfig> = {}, opts: { autoresetMode?: AutoresetMode } = {}) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1 || numEnvs > 4096) {
      throw new EnvError(`numEnvs must be an integer in [1, 4096] (got ${numEnvs})`);
    }
    const mode = opts.autoresetMode ?? "next_step";
    if (mode !== "next_step" && mode !== "same_step")
      throw new EnvError(`autoresetMode must be 'next_step' or 'same_step' (got ${String(mode)})`);
    this.numEnvs = numEnvs;
    this.autoresetMode = mode;
    this.envs = Array.from({ length: numEnvs }, () => new PropAmmEnv(config));
    this.singleObservationSpace = this.envs[0].observationSpace;
    this.singleActionSpace = this.envs[0].actionSpace;
    this.obsSize = this.singleObservationSpace.size;
    this.actSize = this.singleActionSpace.size;
    this.pendingReset = new Uint8Array(numEnvs);
  }

  static async create(
    numEnvs: number,
    config: Partial<EnvConfig> = {},
    opts: { autoresetMode?: AutoresetMode } = {},
    resolve?: StrategyResolver,
  ): Promise<VectorEnv> {
    // Resolve opponents once (files load here), then share the sources between the copies.
    const probe = await PropAmmEnv.create(config, resolve);
    const opponents = probe.config.opponents;
    return new VectorEnv(numEnvs, { ...config, opponents }, opts);
  }

  reset(args: { seed?: number; options?: ResetOptions } = {}): { observations: Float32Array; infos: StepInfo[] } {
    if (
      args.seed !== undefined &&
      (!Number.isSafeInteger(args.seed) || args.seed < 0 || !Number.isSafeInteger(args.seed + this.numEnvs - 1))
    ) {
      throw new EnvError(
        `seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER - this.numEnvs + 1}] (env i uses seed + i), got ${args.seed}`,
      );
    }
    const observations = new Float32Array(this.numEnvs * this.obsSize);
    const infos: StepInfo[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const r = this.envs[i].reset({
        seed: args.seed === undefined ? undefined : args.seed + i,
        options: args.options,
      });
      observations.set(r.observation, i * this.obsSize);
      infos.push(r.info);
    }
    this.pendingReset.fill(0);
    this.started = true;
    return { observations, infos };
  }

  /** actions: [n x 2] row-major (any numeric array-like). */
  step(actions: ArrayLike<number>): VectorStepResult {
    if (!this.started) throw new EnvError("call reset() before step()");
    if (actions.length !== this.numEnvs * this.actSize) {
      throw new EnvError(
        `actions must hold ${this.numEnvs} x ${this.actSize} = ${this.numEnvs * this.actSize} values, got ${actions.length}`,
      );
    }
    const n = this.numEnvs;
    // Reject a bad action before any env moves, so an error leaves every env where it was.
    for (let k = 0; k < actions.length; k++) {
      if (typeof actions[k] !== "number" || !Number.isFinite(actions[k])) {
        throw new EnvError(
          `actions[${Math.floor(k / this.actSize)}][${k % this.actSize}] must be a finite number, got ${String(actions[k])}`,
        );
      }
    }
    const observations = new Float32Array(n * this.obsSize);
    const rewards = new Float64Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const infos: VectorStepInfo[] = new Array(n);
    const a = new Float64Array(this.actSize);
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      if (this.pendingReset[i]) {
        const r = env.reset();
        this.pendingReset[i] = 0;
        observations.set(r.observation, i * this.obsSize);
        infos[i] = { ...r.info, autoreset: true };
        continue;
      }
      for (let k = 0; k < this.actSize; k++) a[k] = actions[i * this.actSize + k];
      const r = env.step(a);
      rewards[i] = r.reward;
      terminated[i] = r.terminated ? 1 : 0;
      truncated[i] = r.truncated ? 1 : 0;
      if (r.terminated || r.truncated) {
        if (this.autoresetMode === "same_step") {
          const fresh = env.reset();
          observations.set(fresh.observation, i * this.obsSize);
          infos[i] = { ...fresh.info, finalObservation: r.observation, finalInfo: r.info };
          continue;
        }
        this.pendingReset[i] = 1;
      }
      observations.set(r.observation, i * this.obsSize);
      infos[i] = r.info;
    }
    return { observations, rewards, terminated, truncated, infos };
  }

  close(): void {
    for (const e of this.envs) e.close();
    this.started = false;
  }
}
