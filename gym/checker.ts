/**
 * The env checker, as library code (Gymnasium's `utils/env_checker.py`): runs an env through
 * the contract of docs/gym.md and reports every way it breaks it. Use it on a wrapper stack or
 * a new env before training on it; the server's Python client is checked by Gymnasium's own.
 */
import { RandomStream } from "../env/rng.js";
import { Box } from "./spaces.js";
import type { StepResult } from "./env.js";
import type { GymEnv } from "./wrappers.js";

export interface CheckOptions {
  /** Seed for the two reset/step runs compared for determinism (default 0). */
  seed?: number;
  /** Steps per run (default 50; fewer if the episode ends first). */
  steps?: number;
}

export class EnvCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`the env breaks the gym contract:\n- ${problems.join("\n- ")}`);
    this.name = "EnvCheckError";
  }
}

function throws(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

interface Trace {
  observations: number[][];
  rewards: number[];
  ended: boolean;
}

/** Problems by kind: the first occurrence of each kind is the one reported. */
class Problems {
  private readonly byKind = new Map<string, string>();
  add(kind: string, message = kind): void {
    if (!this.byKind.has(kind)) this.byKind.set(kind, message);
  }
  get size(): number {
    return this.byKind.size;
  }
  list(): string[] {
    return [...this.byKind.values()];
  }
}

/** One seeded run with actions drawn from the action space; records what determinism compares. */
function run(env: GymEnv, seed: number, steps: number, problems: Problems): Trace {
  const obsSpace = env.observationSpace;
  const trace: Trace = { observations: [], rewards: [], ended: false };
  const first = env.reset({ seed });
  if (!(first.observation instanceof Float32Array)) problems.add("reset(): observation is not a Float32Array");
  else if (!obsSpace.contains(first.observation))
    problems.add(
      "reset-obs",
      `reset(): observation [${first.observation.join(", ")}] is outside the observation space`,
    );
  if (first.info === null || typeof first.info !== "object") problems.add("reset(): info is not an object");
  trace.observations.push(Array.from(first.observation ?? []));
  const rng = new RandomStream(`check:${seed}`);
  for (let t = 0; t < steps; t++) {
    const r: StepResult = env.step(env.actionSpace.sample(rng));
    if (!obsSpace.contains(r.observation)) {
      problems.add("step-obs", `step(): observation [${r.observation.join(", ")}] is outside the observation space`);
    }
    if (typeof r.reward !== "number" || !Number.isFinite(r.reward))
      problems.add("reward", `step(): reward ${String(r.reward)} is not a finite number`);
    if (typeof r.terminated !== "boolean" || typeof r.truncated !== "boolean")
      problems.add("step(): terminated and truncated must be booleans");
    if (r.info === null || typeof r.info !== "object") problems.add("step(): info is not an object");
    trace.observations.push(Array.from(r.observation));
    trace.rewards.push(r.reward);
    if (r.terminated || r.truncated) {
      trace.ended = true;
      if (!throws(() => env.step(env.actionSpace.sample(rng))))
        problems.add("step() after the episode ended did not throw (call reset() first)");
      break;
    }
  }
  return trace;
}

function sameTrace(a: Trace, b: Trace): boolean {
  if (a.observations.length !== b.observations.length) return false;
  for (let i = 0; i < a.observations.length; i++) {
    const x = a.observations[i];
    const y = b.observations[i];
    if (x.length !== y.length || x.some((v, j) => !Object.is(v, y[j]))) return false;
  }
  return a.rewards.every((r, i) => Object.is(r, b.rewards[i]));
}

/** Every way `env` breaks the contract (spaces, reset, step, seeding, bad input); empty when it keeps it. */
export function checkEnv(env: GymEnv, opts: CheckOptions = {}): string[] {
  const seed = opts.seed ?? 0;
  const steps = opts.steps ?? 50;
  const problems = new Problems();
  for (const [what, space] of [
    ["observationSpace", env.observationSpace],
    ["actionSpace", env.actionSpace],
  ] as const) {
    if (!(space instanceof Box) || space.size === 0) problems.add(`${what} must be a non-empty Box`);
  }
  if (problems.size > 0) return problems.list();

  let a: Trace;
  let b: Trace;
  try {
    a = run(env, seed, steps, problems);
    b = run(env, seed, steps, problems);
  } catch (err) {
    problems.add(`reset()/step() threw on valid input: ${err instanceof Error ? err.message : String(err)}`);
    return problems.list();
  }
  if (!sameTrace(a, b)) problems.add(`two runs from reset({ seed: ${seed} }) with the same actions differ`);
  // Gymnasium's render semantics: a string for "ansi", nothing without a render mode.
  const shown = env.render();
  if (env.renderMode === undefined && shown !== undefined)
    problems.add("render() returned something although renderMode is not set");
  if (env.renderMode === "ansi" && (typeof shown !== "string" || shown.length === 0))
    problems.add(`render() with renderMode "ansi" must return a non-empty string (got ${typeof shown})`);

  env.reset({ seed });
  const size = env.actionSpace.size;
  const bad: [string, ArrayLike<number>][] = [
    ["an action of the wrong length", new Float64Array(size + 1)],
    ["a NaN action", new Float64Array(size).fill(Number.NaN)],
  ];
  for (const [what, action] of bad) {
    if (!throws(() => env.step(action))) problems.add(`step() accepted ${what}`);
  }
  if (!throws(() => env.reset({ seed: -1 }))) problems.add("reset() accepted the seed -1");
  return problems.list();
}

/** Throws an EnvCheckError listing every problem checkEnv finds. */
export function assertValidEnv(env: GymEnv, opts: CheckOptions = {}): void {
  const problems = checkEnv(env, opts);
  if (problems.length > 0) throw new EnvCheckError(problems);
}
