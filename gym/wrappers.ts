/**
 * Wrappers in Gymnasium's sense: an env around an env that changes one thing (the action's
 * units, the reward's scale, what `info` reports) and passes everything else through, so
 * transformations compose instead of growing options on PropAmmEnv.
 */
import { Box } from "./spaces.js";
import { EnvError, type PropAmmEnv, type ResetOptions, type StepInfo, type StepResult } from "./env.js";
import type { RenderMode } from "./options.js";

/** What a wrapper needs of the env inside: Gymnasium's core methods, the two spaces and the render mode. */
export interface GymEnv {
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  /** Fixed at construction; undefined: render() returns undefined. */
  readonly renderMode: RenderMode | undefined;
  reset(args?: { seed?: number; options?: ResetOptions }): { observation: Float32Array; info: StepInfo };
  step(action: ArrayLike<number>): StepResult;
  /** "ansi": a text picture of the current state; undefined without a render mode. */
  render(): string | undefined;
  close(): void;
}

/** Passes every call through; subclasses override what they change. */
export class Wrapper implements GymEnv {
  constructor(readonly env: GymEnv) {}

  get observationSpace(): Box {
    return this.env.observationSpace;
  }

  get actionSpace(): Box {
    return this.env.actionSpace;
  }

  get renderMode(): RenderMode | undefined {
    return this.env.renderMode;
  }

  reset(args?: { seed?: number; options?: ResetOptions }): { observation: Float32Array; info: StepInfo } {
    return this.env.reset(args);
  }

  step(action: ArrayLike<number>): StepResult {
    return this.env.step(action);
  }

  render(): string | undefined {
    return this.env.render();
  }

  close(): void {
    this.env.close();
  }

  /** The innermost env (through every wrapper). */
  get unwrapped(): GymEnv {
    return this.env instanceof Wrapper ? this.env.unwrapped : this.env;
  }
}

function checkAction(action: ArrayLike<number>, size: number): void {
  if (action === null || action === undefined || action.length !== size) {
    throw new EnvError(`action must have ${size} values, got ${action === null ? "null" : String(action?.length)}`);
  }
  for (let i = 0; i < size; i++) {
    if (typeof action[i] !== "number" || !Number.isFinite(action[i])) {
      throw new EnvError(`action[${i}] must be a finite number, got ${String(action[i])}`);
    }
  }
}

/** Clips each action value into the action space's bounds before the env sees it. */
export class ClipAction extends Wrapper {
  private readonly buf: Float64Array;

  constructor(env: GymEnv) {
    super(env);
    this.buf = new Float64Array(env.actionSpace.size);
  }

  override step(action: ArrayLike<number>): StepResult {
    const { low, high } = this.env.actionSpace;
    checkAction(action, this.buf.length);
    for (let i = 0; i < this.buf.length; i++) this.buf[i] = Math.min(high[i], Math.max(low[i], action[i]));
    return this.env.step(this.buf);
  }
}

/**
 * The agent acts in [low, high] per dimension; the action is mapped linearly onto the inner
 * env's action space (low -> its low, high -> its high). Values outside are passed on mapped,
 * and the inner env clips them as it does any out-of-range value.
 */
export class RescaleAction extends Wrapper {
  private readonly space: Box;
  private readonly buf: Float64Array;

  constructor(env: GymEnv, low: ArrayLike<number>, high: ArrayLike<number>) {
    super(env);
    const n = env.actionSpace.size;
    if (low.length !== n || high.length !== n) throw new EnvError(`RescaleAction: bounds must have ${n} values`);
    for (let i = 0; i < n; i++) {
      if (!(high[i] > low[i])) throw new EnvError(`RescaleAction: high[${i}] must exceed low[${i}]`);
    }
    this.space = new Box(low, high);
    this.buf = new Float64Array(n);
  }

  override get actionSpace(): Box {
    return this.space;
  }

  override step(action: ArrayLike<number>): StepResult {
    const inner = this.env.actionSpace;
    checkAction(action, this.buf.length);
    for (let i = 0; i < this.buf.length; i++) {
      const t = (action[i] - this.space.low[i]) / (this.space.high[i] - this.space.low[i]);
      this.buf[i] = inner.low[i] + t * (inner.high[i] - inner.low[i]);
    }
    return this.env.step(this.buf);
  }
}

/**
 * The action is the two fees in basis points, passed to PropAmmEnv.stepFees unchanged (no
 * round trip through [-1, 1], so a fee of 30 bps is exactly 30 bps).
 */
export class FeeBpsAction extends Wrapper {
  private readonly space: Box;

  constructor(private readonly propEnv: PropAmmEnv) {
    super(propEnv);
    const { feeMinBps, feeMaxBps } = propEnv.config;
    this.space = new Box([feeMinBps, feeMinBps], [feeMaxBps, feeMaxBps]);
  }

  override get actionSpace(): Box {
    return this.space;
  }

  override step(action: ArrayLike<number>): StepResult {
    checkAction(action, 2);
    const lo = this.space.low[0];
    const hi = this.space.high[0];
    return this.propEnv.stepFees(Math.min(hi, Math.max(lo, action[0])), Math.min(hi, Math.max(lo, action[1])));
  }
}

/** Multiplies every reward by `scale` (on top of the env's own rewardScale). */
export class ScaleReward extends Wrapper {
  constructor(
    env: GymEnv,
    readonly scale: number,
  ) {
    super(env);
    if (!Number.isFinite(scale) || scale === 0) throw new EnvError(`ScaleReward: scale must be finite and non-zero`);
  }

  override step(action: ArrayLike<number>): StepResult {
    const r = this.env.step(action);
    r.reward *= this.scale;
    return r;
  }
}

/** Episode statistics in `info` on the last step, as Gymnasium's RecordEpisodeStatistics. */
export interface EpisodeStatistics {
  /** Sum of the rewards this wrapper passed on in the episode. */
  return: number;
  /** Steps (decisions) in the episode. */
  length: number;
}

export class RecordEpisodeStatistics extends Wrapper {
  private total = 0;
  private length = 0;

  override reset(args?: { seed?: number; options?: ResetOptions }): { observation: Float32Array; info: StepInfo } {
    const r = this.env.reset(args);
    this.total = 0;
    this.length = 0;
    return r;
  }

  override step(action: ArrayLike<number>): StepResult & { info: StepInfo & { episodeStats?: EpisodeStatistics } } {
    const r = this.env.step(action) as StepResult & { info: StepInfo & { episodeStats?: EpisodeStatistics } };
    this.total += r.reward;
    this.length += 1;
    if (r.terminated || r.truncated) r.info.episodeStats = { return: this.total, length: this.length };
    return r;
  }
}
