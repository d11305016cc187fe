/**
 * VectorEnv: n PropAmmEnv copies stepped together with batched typed arrays.
 *
 * Autoreset follows Gymnasium 1.x. NEXT_STEP (default): when env i ends at step k, step k+1
 * ignores its action, resets it and returns the new episode's first observation with reward 0
 * and both flags false. SAME_STEP: env i is reset within step k; the observation returned is
 * the new episode's first one and the last observation of the finished episode is in
 * infos[i].finalObservation (with infos[i].finalInfo).
 *
 * reset({ seed }) seeds env i with seed + i; reset({ seeds }) gives each env its own seed (null:
 * its own stream); reset({ mask }) resets only the envs whose mask entry is true (the others keep
 * their episode, their observation row is their latest one and their info is null).
 *
 * stepAsync/resetAsync do the same work in slices, awaiting a pause between slices, so a server
 * can interleave a large session's work with other clients' requests.
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

export interface VectorResetArgs {
  /** Env i gets seed + i. */
  seed?: number;
  /** One seed per env (null or undefined: that env continues its own seed stream). */
  seeds?: readonly (number | null | undefined)[];
  /** Reset only the envs whose entry is true (or non-zero). */
  mask?: ArrayLike<boolean | number>;
  options?: ResetOptions;
}

function runToEnd<T>(work: Generator<void, T>): T {
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
  }
}

async function runSliced<T>(work: Generator<void, T>, pause: () => Promise<void>, sliceMs: number): Promise<T> {
  let t0 = performance.now();
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
    if (performance.now() - t0 >= sliceMs) {
      await pause();
      t0 = performance.now();
    }
  }
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
  /** Each env's latest observation (what a partial reset returns for the envs it leaves alone). */
  private readonly lastObservations: Float32Array;
  private readonly startedEnvs: Uint8Array;
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
    this.lastObservations = new Float32Array(numEnvs * this.obsSize);
    this.startedEnvs = new Uint8Array(numEnvs);
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

  reset(args?: VectorResetArgs & { mask?: undefined }): { observations: Float32Array; infos: StepInfo[] };
  reset(args: VectorResetArgs): { observations: Float32Array; infos: (StepInfo | null)[] };
  reset(args: VectorResetArgs = {}): { observations: Float32Array; infos: (StepInfo | null)[] } {
    return runToEnd(this.resetWork(args));
  }

  /** step(), but it awaits pause() whenever it has run for sliceMs, so other work can interleave. */
  stepAsync(actions: ArrayLike<number>, pause: () => Promise<void>, sliceMs = 5): Promise<VectorStepResult> {
    return runSliced(this.stepWork(actions), pause, sliceMs);
  }

  /** reset(), but it awaits pause() whenever it has run for sliceMs. */
  resetAsync(
    args: VectorResetArgs,
    pause: () => Promise<void>,
    sliceMs = 5,
  ): Promise<{ observations: Float32Array; infos: (StepInfo | null)[] }> {
    return runSliced(this.resetWork(args), pause, sliceMs);
  }

  /** Checks the arguments (before any env resets), then resets env by env, yielding after each. */
  private *resetWork(
    args: VectorResetArgs,
  ): Generator<void, { observations: Float32Array; infos: (StepInfo | null)[] }> {
    const n = this.numEnvs;
    if (
      args.seed !== undefined &&
      (!Number.isSafeInteger(args.seed) || args.seed < 0 || !Number.isSafeInteger(args.seed + n - 1))
    ) {
      throw new EnvError(
        `seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER - n + 1}] (env i uses seed + i), got ${args.seed}`,
      );
    }
    if (args.seeds !== undefined) {
      if (args.seed !== undefined) throw new EnvError("give seed or seeds, not both");
      if (args.seeds.length !== n) throw new EnvError(`seeds must hold ${n} entries, got ${args.seeds.length}`);
      args.seeds.forEach((s, i) => {
        if (s !== null && s !== undefined && (!Number.isSafeInteger(s) || s < 0))
          throw new EnvError(`seeds[${i}] must be an integer in [0, ${Number.MAX_SAFE_INTEGER}] or null, got ${s}`);
      });
    }
    const mask = args.mask;
    if (mask !== undefined) {
      if (mask.length !== n) throw new EnvError(`mask must hold ${n} entries, got ${mask.length}`);
      for (let i = 0; i < n; i++) {
        if (!this.startedEnvs[i] && !mask[i])
          throw new EnvError(`env ${i} was never reset: the first reset must include it (mask[${i}] is false)`);
      }
    }
    const observations = new Float32Array(n * this.obsSize);
    const infos: (StepInfo | null)[] = new Array<StepInfo | null>(n).fill(null);
    for (let i = 0; i < n; i++) {
      if (mask !== undefined && !mask[i]) {
        observations.set(this.lastObservations.subarray(i * this.obsSize, (i + 1) * this.obsSize), i * this.obsSize);
        continue;
      }
      const seed =
        args.seeds !== undefined ? (args.seeds[i] ?? undefined) : args.seed === undefined ? undefined : args.seed + i;
      const r = this.envs[i].reset({ seed, options: args.options });
      observations.set(r.observation, i * this.obsSize);
      this.lastObservations.set(r.observation, i * this.obsSize);
      infos[i] = r.info;
      this.pendingReset[i] = 0;
      this.startedEnvs[i] = 1;
      yield;
    }
    this.started = true;
    return { observations, infos };
  }

  /** actions: [n x 2] row-major (any numeric array-like). */
  step(actions: ArrayLike<number>): VectorStepResult {
    return runToEnd(this.stepWork(actions));
  }

  private *stepWork(actions: ArrayLike<number>): Generator<void, VectorStepResult> {
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
    const infos: VectorStepInfo[] = new Array<VectorStepInfo>(n);
    const a = new Float64Array(this.actSize);
    for (let i = 0; i < n; i++) {
      infos[i] = this.stepOne(i, actions, a, observations, rewards, terminated, truncated);
      this.lastObservations.set(observations.subarray(i * this.obsSize, (i + 1) * this.obsSize), i * this.obsSize);
      yield;
    }
    return { observations, rewards, terminated, truncated, infos };
  }

  private stepOne(
    i: number,
    actions: ArrayLike<number>,
    a: Float64Array,
    observations: Float32Array,
    rewards: Float64Array,
    terminated: Uint8Array,
    truncated: Uint8Array,
  ): VectorStepInfo {
    const env = this.envs[i];
    if (this.pendingReset[i]) {
      const r = env.reset();
      this.pendingReset[i] = 0;
      observations.set(r.observation, i * this.obsSize);
      return { ...r.info, autoreset: true };
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
        return { ...fresh.info, finalObservation: r.observation, finalInfo: r.info };
      }
      this.pendingReset[i] = 1;
    }
    observations.set(r.observation, i * this.obsSize);
    return r.info;
  }

  close(): void {
    for (const e of this.envs) e.close();
    this.started = false;
    this.startedEnvs.fill(0);
  }
}
