/**
 * PropAmmEnv (spec §6): an env checker in the spirit of Gymnasium's `check_env`, the reward
 * identity, the decision schedule, fees that move only at decisions, the starter replayed
 * through the env against a batch run, input errors and reset options.
 *
 * Expected values come from the spec (§2 epochs, §3 WAD fee slots, §5 the starter's rule, §6 the
 * schedule and reward), from direct Simulation runs with the agent pool, and from invariants;
 * episodes are short (2000 steps, epochs of 500) to keep the file fast.
 */
import { describe, expect, it } from "vitest";
import { agentPool, type DecisionKind } from "../../env/builtins/agent.js";
import { starter } from "../../env/builtins/starter.js";
import { PropAmmEnv, type StepInfo, type StepResult } from "../../gym/env.js";
import { builtinSource } from "../../env/builtins/index.js";
import { RandomStream } from "../../env/rng.js";
import { Simulation, type SimulationResult, type StrategySource } from "../../env/simulation.js";
import { Box, type BoxJSON } from "../../gym/spaces.js";
import type { MarketPins, SimConfig } from "../../env/config.js";
import type { Strategy } from "../../env/strategy.js";
import { cpOutput } from "../helpers/oracles.js";

const STEPS = 2000;
const EPOCH_LEN = 500;
const SIM = { steps: STEPS, epochLen: EPOCH_LEN };
const ENV = { sim: SIM, decisionInterval: 50 };
/** Epoch boundaries that rebalance (spec §2: after step t with (t+1) % epochLen == 0, t not the last). */
const BOUNDARIES = [499, 999, 1499];

/** spec §3: fees are stored as u64 WAD, floor(bps * 1e14); the fraction a quote uses. */
function wadFraction(bps: number): number {
  return Math.floor(bps * 1e14) / 1e14 / 10000;
}

interface Trajectory {
  seed: number;
  observations: Float32Array[];
  rewards: number[];
  infos: StepInfo[];
  terminated: boolean[];
  truncated: boolean[];
}

/** Resets and plays one whole episode with the actions `policy` gives. */
function playEpisode(
  env: PropAmmEnv,
  policy: (obs: Float32Array, k: number) => ArrayLike<number>,
  seed?: number,
): Trajectory {
  const first = env.reset(seed === undefined ? {} : { seed });
  const t: Trajectory = {
    seed: first.info.simSeed,
    observations: [first.observation],
    rewards: [],
    infos: [first.info],
    terminated: [],
    truncated: [],
  };
  let obs = first.observation;
  for (let k = 0; k < 100_000; k++) {
    const r: StepResult = env.step(policy(obs, k));
    t.observations.push(r.observation);
    t.rewards.push(r.reward);
    t.infos.push(r.info);
    t.terminated.push(r.terminated);
    t.truncated.push(r.truncated);
    obs = r.observation;
    if (r.terminated || r.truncated) return t;
  }
  throw new Error("episode did not end");
}

/** A policy of uniform actions from a seeded stream (the same name gives the same actions). */
function randomPolicy(name: string): (obs: Float32Array, k: number) => Float32Array {
  const rng = new RandomStream(name);
  const space = new Box([-1, -1], [1, 1]);
  return () => space.sample(rng);
}

function sameTrajectory(a: Trajectory, b: Trajectory): void {
  expect(a.seed).toBe(b.seed);
  expect(a.observations.length).toBe(b.observations.length);
  for (let i = 0; i < a.observations.length; i++)
    expect(Array.from(a.observations[i])).toEqual(Array.from(b.observations[i]));
  expect(a.rewards).toEqual(b.rewards);
  expect(a.terminated).toEqual(b.terminated);
  expect(a.truncated).toEqual(b.truncated);
  expect(a.infos.map((i) => [i.decision, i.simStep, i.agentEdge])).toEqual(
    b.infos.map((i) => [i.decision, i.simStep, i.agentEdge]),
  );
}

describe("env checker (Gymnasium check_env, in TypeScript)", () => {
  const env = new PropAmmEnv(ENV);

  it("observation and action spaces are float32 Boxes with finite bounds", () => {
    for (const space of [env.observationSpace, env.actionSpace]) {
      expect(space).toBeInstanceOf(Box);
      expect(space.dtype).toBe("float32");
      expect(space.low).toBeInstanceOf(Float32Array);
      expect(space.high).toBeInstanceOf(Float32Array);
      expect(space.shape).toEqual([space.low.length]);
      for (let i = 0; i < space.size; i++) {
        expect(Number.isFinite(space.low[i]) && Number.isFinite(space.high[i])).toBe(true);
        expect(space.low[i]).toBeLessThan(space.high[i]);
      }
    }
    // spec §6: five features; the action is two fees in [-1, 1]^2.
    expect(env.observationSpace.shape).toEqual([5]);
    expect(Array.from(env.actionSpace.low)).toEqual([-1, -1]);
    expect(Array.from(env.actionSpace.high)).toEqual([1, 1]);
  });

  it("spaces serialise to JSON and Box.fromJSON round-trips", () => {
    for (const space of [env.observationSpace, env.actionSpace]) {
      const json = JSON.parse(JSON.stringify(space)) as BoxJSON;
      expect(json).toEqual({
        type: "Box",
        shape: [space.size],
        dtype: "float32",
        low: Array.from(space.low),
        high: Array.from(space.high),
      });
      const back = Box.fromJSON(json);
      expect(Array.from(back.low)).toEqual(Array.from(space.low));
      expect(Array.from(back.high)).toEqual(Array.from(space.high));
      expect(back.shape).toEqual(space.shape);
      expect(back.dtype).toBe("float32");
    }
    expect(() => Box.fromJSON({ type: "Discrete" } as unknown as BoxJSON)).toThrow(/Box/);
  });

  it("sample() lands inside the space, and contains() rejects what is outside", () => {
    const rng = new RandomStream("sample-check");
    for (const space of [env.observationSpace, env.actionSpace]) {
      for (let k = 0; k < 500; k++) {
        const x = space.sample(rng);
        expect(x).toBeInstanceOf(Float32Array);
        expect(space.contains(x)).toBe(true);
      }
      const mid = Array.from(space.low, (lo, i) => (lo + space.high[i]) / 2);
      expect(space.contains(mid)).toBe(true);
      expect(space.contains(mid.slice(1))).toBe(false);
      expect(space.contains([...mid, 0])).toBe(false);
      for (let i = 0; i < space.size; i++) {
        for (const bad of [space.high[i] + 1, space.low[i] - 1, NaN, Infinity]) {
          const x = [...mid];
          x[i] = bad;
          expect(space.contains(x)).toBe(false);
        }
      }
    }
  });

  it("every observation is a Float32Array inside observationSpace; rewards finite; flags boolean", () => {
    for (const seed of [0, 1, 2]) {
      const t = playEpisode(env, randomPolicy(`obs-check:${seed}`), seed);
      for (const obs of t.observations) {
        expect(obs).toBeInstanceOf(Float32Array);
        expect(env.observationSpace.contains(obs)).toBe(true);
      }
      for (let k = 0; k < t.rewards.length; k++) {
        expect(typeof t.rewards[k]).toBe("number");
        expect(Number.isFinite(t.rewards[k])).toBe(true);
        expect(typeof t.terminated[k]).toBe("boolean");
        expect(typeof t.truncated[k]).toBe("boolean");
        // Only the last step ends the episode (spec §6: terminated after the last step, never truncated).
        expect(t.terminated[k]).toBe(k === t.rewards.length - 1);
        expect(t.truncated[k]).toBe(false);
      }
    }
  });

  it("the observation is the documented scaling of the raw features in info", () => {
    const t = playEpisode(env, randomPolicy("scaling"), 4);
    for (let k = 0; k < t.observations.length; k++) {
      const f = t.infos[k].features;
      const expected = [
        Math.min(10, 100 * f.sigmaHat),
        f.flowEma,
        f.capitalWeight,
        f.epochStep / EPOCH_LEN,
        f.nPools / 17,
      ].map(Math.fround);
      expect(Array.from(t.observations[k])).toEqual(expected);
      // One starter opponent: agent + starter + normalizer.
      expect(f.nPools).toBe(3);
      // The pool's weight as the native ABI carries it (f32, spec §3.4) once an event reported it.
      expect([t.infos[k].capitalWeight, Math.fround(t.infos[k].capitalWeight)]).toContain(f.capitalWeight);
    }
    // Before any trade: the starter's initial estimates (spec §5) and an equal capital share.
    expect(Array.from(t.observations[0])).toEqual([0.3, 0.5, 0.5, 0, 3 / 17].map(Math.fround));
  });

  it("reset(seed) is deterministic: same observations, same trajectory under the same actions", () => {
    const a = new PropAmmEnv(ENV);
    const b = new PropAmmEnv(ENV);
    const ta = playEpisode(a, randomPolicy("det"), 11);
    const tb = playEpisode(b, randomPolicy("det"), 11);
    sameTrajectory(ta, tb);
    // The same env, reset again with the seed after an episode, replays it too.
    sameTrajectory(playEpisode(a, randomPolicy("det"), 11), ta);
    // Another seed gives another episode.
    const tc = playEpisode(a, randomPolicy("det"), 12);
    expect(tc.rewards).not.toEqual(ta.rewards);
    expect(ta.infos.at(-1)!.episode!.seed).toBe(11);
  });

  it("step is deterministic: the same state and action give the same result", () => {
    const a = new PropAmmEnv(ENV);
    const b = new PropAmmEnv(ENV);
    a.reset({ seed: 5 });
    b.reset({ seed: 5 });
    const policy = randomPolicy("step-det");
    for (let k = 0; k < 10; k++) {
      const act = policy(new Float32Array(5), k);
      const ra = a.step(act);
      const rb = b.step(act);
      expect(Array.from(ra.observation)).toEqual(Array.from(rb.observation));
      expect(ra.reward).toBe(rb.reward);
      expect(ra.info).toEqual(rb.info);
    }
  });

  it("an unseeded reset after a seeded one continues the env's random sequence", () => {
    const a = new PropAmmEnv(ENV);
    const b = new PropAmmEnv(ENV);
    const seeded = playEpisode(a, randomPolicy("cont"), 21);
    playEpisode(b, randomPolicy("cont"), 21);
    const nextA = playEpisode(a, randomPolicy("cont2"));
    const nextB = playEpisode(b, randomPolicy("cont2"));
    sameTrajectory(nextA, nextB);
    expect(nextA.seed).not.toBe(21);
    expect(nextA.rewards).not.toEqual(seeded.rewards);
    // And the sequence goes on: the episode after that is another one again.
    const thirdA = a.reset();
    const thirdB = b.reset();
    expect(thirdA.info.simSeed).toBe(thirdB.info.simSeed);
    expect(thirdA.info.simSeed).not.toBe(nextA.seed);
    expect(thirdA.info.simSeed).not.toBe(21);
  });

  it("never-seeded envs draw their seeds from entropy", () => {
    const s1 = new PropAmmEnv(ENV).reset().info.simSeed;
    const s2 = new PropAmmEnv(ENV).reset().info.simSeed;
    expect(Number.isInteger(s1) && s1 >= 0).toBe(true);
    expect(s1).not.toBe(s2);
  });
});

describe("reward (spec §6): sums to the agent's risk-adjusted epoch scores", () => {
  const lambda = 2; // spec §2 default riskLambda
  const score = (e: number): number => e - lambda * Math.max(0, -e); // spec §4

  /** Fees of 0..37.5 bps: in a volatile market some epochs lose to arbitrage, others win. */
  const lowFees = (name: string): (() => number[]) => {
    const rng = new RandomStream(name);
    return () => [-1 + 0.3 * rng.uniform(), -1 + 0.3 * rng.uniform()];
  };
  const cases: [number, number, "random" | "low", MarketPins][] = [
    [3, 0.01, "random", {}],
    [3, 1, "low", { sigma: 0.003 }],
    [13, 0.37, "low", { sigma: 0.004 }],
  ];
  for (const mode of ["dense", "sparse"] as const) {
    for (const [seed, rewardScale, policy, pins] of cases) {
      it(`${mode}, seed ${seed}, rewardScale ${rewardScale}, ${policy} fees`, () => {
        const env = new PropAmmEnv({ ...ENV, rewardMode: mode, rewardScale, sim: { ...SIM, pins } });
        const policyFn = policy === "random" ? randomPolicy(`reward:${seed}`) : lowFees(`low:${seed}`);
        const t = playEpisode(env, policyFn, seed);
        const episode = t.infos.at(-1)!.episode!;
        const epochs = episode.pools[0].epochs;
        expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
        // The epoch edges add up to the pool's edge, and each score is spec §4's.
        const edgeSum = epochs.reduce((s, e) => s + e.edge, 0);
        expect(edgeSum).toBeCloseTo(episode.pools[0].edge, 9);
        for (const e of epochs) expect(e.score).toBeCloseTo(score(e.edge), 9);
        // The low-fee cases have losing and winning epochs, so the penalty is exercised.
        if (policy === "low") expect(epochs.some((e) => e.edge < 0) && epochs.some((e) => e.edge > 0)).toBe(true);

        const total = t.rewards.reduce((s, r) => s + r, 0);
        const expected = rewardScale * epochs.reduce((s, e) => s + e.score, 0);
        expect(Math.abs(total - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));

        // Step by step: which decision each reward belongs to.
        let closed = 0;
        for (let k = 0; k < t.rewards.length; k++) {
          const info = t.infos[k + 1];
          const prev = t.infos[k];
          const closing = info.decision === "epoch" || info.decision === "end";
          let r = mode === "dense" ? info.agentEdge - prev.agentEdge : 0;
          if (closing) {
            const e = epochs[closed++].edge;
            r += mode === "dense" ? -lambda * Math.max(0, -e) : score(e);
          }
          r *= rewardScale;
          expect(Math.abs(t.rewards[k] - r)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(r)));
          if (mode === "sparse" && !closing) expect(t.rewards[k]).toBe(0);
        }
        expect(closed).toBe(4);
      });
    }
  }

  it("a losing epoch is penalised: zero fees lose to arbitrage and the penalty shows in the reward", () => {
    // Pinned high volatility and fee 0: the agent pool pays arbitrage and earns no fees.
    const env = new PropAmmEnv({ ...ENV, rewardScale: 1, sim: { ...SIM, pins: { sigma: 0.006 } } });
    const t = playEpisode(env, () => [-1, -1], 2);
    const epochs = t.infos.at(-1)!.episode!.pools[0].epochs;
    expect(epochs.every((e) => e.edge < 0)).toBe(true);
    const total = t.rewards.reduce((s, r) => s + r, 0);
    const edge = epochs.reduce((s, e) => s + e.edge, 0);
    expect(total).toBeCloseTo(3 * edge, 6); // a loss of X scores -3X at lambda = 2
  });

  it("riskPenalty none: the return is the edge, and with the normalizer baseline eval's edge vs the normalizer", () => {
    for (const [pins, policy] of [
      [{ sigma: 0.006 }, () => [-1, -1]], // every epoch loses: the penalty would triple the loss
      [{ sigma: 0.003 }, lowFees("low:none")],
    ] as const) {
      for (const mode of ["dense", "sparse"] as const) {
        const sim = { ...SIM, pins };
        const plain = playEpisode(
          new PropAmmEnv({ ...ENV, rewardMode: mode, rewardScale: 1, riskPenalty: "none", sim }),
          policy,
          2,
        );
        const pools = plain.infos.at(-1)!.episode!.pools;
        const total = plain.rewards.reduce((s, r) => s + r, 0);
        expect(total).toBeCloseTo(pools[0].edge, 6);
        const vs = playEpisode(
          new PropAmmEnv({
            ...ENV,
            rewardMode: mode,
            rewardScale: 1,
            riskPenalty: "none",
            rewardBaseline: "normalizer",
            sim,
          }),
          policy,
          2,
        );
        const vsPools = vs.infos.at(-1)!.episode!.pools;
        expect(vs.rewards.reduce((s, r) => s + r, 0)).toBeCloseTo(
          vsPools[0].edge - vsPools[vsPools.length - 1].edge,
          6,
        );
      }
    }
  });

  it("an uneven last epoch is scored too (steps not a multiple of epochLen)", () => {
    const env = new PropAmmEnv({ ...ENV, rewardScale: 1, sim: { steps: 1800, epochLen: 500 } });
    const t = playEpisode(env, randomPolicy("uneven"), 6);
    const epochs = t.infos.at(-1)!.episode!.pools[0].epochs;
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    const total = t.rewards.reduce((s, r) => s + r, 0);
    const expected = epochs.reduce((s, e) => s + score(e.edge), 0);
    expect(Math.abs(total - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  });
});

/** Integer fees in [5, 200] bps from a named stream: exact in WAD, so quotes use bps / 10000 exactly. */
function feeStream(name: string): () => [number, number] {
  const rng = new RandomStream(name);
  return () => [rng.integerIn(5, 200), rng.integerIn(5, 200)];
}

interface DirectRun {
  /** Agent events in order: its trades and the epoch boundaries, with the step they happened at. */
  events: ["trade" | "epoch", number][];
  decisions: [DecisionKind, number][];
  /** Quotes of the agent pool whose storage fee slots differed from the last decision's fees. */
  staleQuotes: number;
  quotes: number;
  result: SimulationResult;
}

/**
 * A Simulation with the agent pool in seat 0 (no gym): `decide` writes the next fees of
 * `nextFees` straight into storage. With `blackBox`, the agent's constant-product declaration is
 * dropped so that every quote goes through computeSwap, where the fee slots it reads are checked.
 */
function runDirect(seed: number, interval: number, nextFees: () => [number, number], blackBox: boolean): DirectRun {
  const run: Omit<DirectRun, "result"> = { events: [], decisions: [], staleQuotes: 0, quotes: 0 };
  let current: [bigint, bigint] = [0n, 0n];
  let sim: Simulation | null = null;
  const write = (storage: Uint8Array): void => {
    const [f0, f1] = nextFees();
    const v = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
    current = [BigInt(f0) * 10n ** 14n, BigInt(f1) * 10n ** 14n];
    v.setBigUint64(0, current[0], true);
    v.setBigUint64(8, current[1], true);
  };
  const agent: StrategySource = () => {
    const inner = agentPool({
      decisionInterval: interval,
      epochLen: EPOCH_LEN,
      decide: (kind, simStep, storage) => {
        run.decisions.push([kind, simStep]);
        write(storage);
      },
    });
    const s: Strategy = {
      name: inner.name,
      computeSwap(side, input, rx, ry, storage) {
        run.quotes++;
        const v = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
        if (v.getBigUint64(0, true) !== current[0] || v.getBigUint64(8, true) !== current[1]) run.staleQuotes++;
        return inner.computeSwap(side, input, rx, ry, storage);
      },
      afterSwap(ev, storage) {
        expect(ev.simStep).toBe(sim!.step);
        run.events.push(["trade", sim!.step]);
        inner.afterSwap!(ev, storage);
      },
      onEpochBoundary(ev, storage) {
        run.events.push(["epoch", sim!.step]);
        inner.onEpochBoundary!(ev, storage);
      },
    };
    if (!blackBox) s.constantProductFees = (storage, out) => inner.constantProductFees!(storage, out);
    return s;
  };
  sim = new Simulation(seed, [agent, () => starter()], SIM);
  write(sim.pools[0].storage); // the decision at reset
  sim.pools[0].syncStorage();
  const result = sim.run();
  return { ...run, result };
}

/** spec §6's schedule worked out from the agent's events: the last decision is at step 0 at reset. */
function expectedSchedule(events: ["trade" | "epoch", number][], interval: number): [DecisionKind, number][] {
  const out: [DecisionKind, number][] = [];
  let last = 0;
  for (const [kind, step] of events) {
    if (kind === "epoch") {
      out.push(["epoch", step]);
      last = step;
    } else if (step - last >= interval) {
      out.push(["swap", step]);
      last = step;
    }
  }
  return out;
}

describe("decision events and fees (spec §6)", () => {
  it("agent pool alone: decisions follow the schedule and every quote sees the last decision's fees", () => {
    for (const [seed, interval] of [
      [1, 50],
      [2, 0],
      [3, 230],
    ] as const) {
      const run = runDirect(seed, interval, feeStream(`direct:${seed}`), true);
      expect(run.quotes).toBeGreaterThan(STEPS); // quotes are observed throughout the run
      expect(run.staleQuotes).toBe(0);
      expect(run.decisions).toEqual(expectedSchedule(run.events, interval));
      const epochSteps = run.decisions.filter(([k]) => k === "epoch").map(([, s]) => s);
      expect(epochSteps).toEqual(BOUNDARIES);
      const swaps = run.decisions.filter(([k]) => k === "swap").length;
      const trades = run.events.filter(([k]) => k === "trade").length;
      if (interval === 0) expect(swaps).toBe(trades);
      else expect(swaps).toBeLessThan(trades);
      expect(swaps).toBeGreaterThan(0);
    }
  });

  it("the env decides at the same events as the agent pool run directly, and ends on the same results", () => {
    for (const seed of [4, 5]) {
      const direct = runDirect(seed, 50, feeStream(`env-vs-direct:${seed}`), false);
      const env = new PropAmmEnv(ENV);
      const fees = feeStream(`env-vs-direct:${seed}`);
      const first = env.reset({ seed });
      expect(first.info.decision).toBe("reset");
      expect(first.info.simStep).toBe(0);
      const seen: [string, number][] = [];
      const weightsAtEpochs: number[] = [];
      let r: StepResult;
      do {
        r = env.stepFees(...fees());
        seen.push([r.info.decision, r.info.simStep]);
        if (r.info.decision === "epoch") weightsAtEpochs.push(r.info.capitalWeight);
        if (r.info.decision === "swap") expect([0, 1]).toContain(r.info.tradeSide);
        else expect(r.info.tradeSide).toBeNull();
        if (r.info.decision === "epoch") expect(r.info.features.epochStep).toBe(0);
      } while (!r.terminated);
      expect(seen.at(-1)).toEqual(["end", STEPS]);
      expect(seen.slice(0, -1)).toEqual(direct.decisions);
      expect(direct.decisions).toEqual(expectedSchedule(direct.events, 50));
      const episode = r.info.episode!;
      expect(episode.pools.map((p) => p.edge)).toEqual(direct.result.pools.map((p) => p.edge));
      expect(episode.pools.map((p) => p.arbTrades + p.retailTrades)).toEqual(
        direct.result.pools.map((p) => p.arbTrades + p.retailTrades),
      );
      // The capital weight observed at each epoch decision is the one that epoch's rebalance set.
      expect(weightsAtEpochs).toEqual(episode.pools[0].epochs.slice(0, 3).map((e) => e.weight));
    }
  });

  it("the agent pool's fees change only at decisions: a black-box opponent watches them at every quote", () => {
    let env: PropAmmEnv | null = null;
    let watching: { f0: number; f1: number; w0: bigint; w1: bigint } | null = null;
    let checks = 0;
    let stale = 0;
    const stepsSeen = new Set<number>();
    // An opponent without the constant-product declaration is quoted (arbitrage and routing) every step.
    const spy: StrategySource = () => {
      const inner = starter();
      return {
        name: "spy",
        computeSwap(side, input, rx, ry, storage) {
          if (watching !== null) {
            const sim = env!.simulation!;
            const agent = sim.pools[0];
            const v = new DataView(agent.storage.buffer);
            checks++;
            stepsSeen.add(sim.step);
            const ok =
              agent.fee0 === watching.f0 &&
              agent.fee1 === watching.f1 &&
              v.getBigUint64(0, true) === watching.w0 &&
              v.getBigUint64(8, true) === watching.w1 &&
              // The agent's quote uses the fee: constant product with fee on input (spec §5).
              agent.quote(1, 0.05) === cpOutput(agent.reserveY, agent.reserveX, watching.f1, 0.05);
            if (!ok) stale++;
          }
          return inner.computeSwap(side, input, rx, ry, storage);
        },
        afterSwap: (ev, storage) => inner.afterSwap!(ev, storage),
        onEpochBoundary: (ev, storage) => inner.onEpochBoundary!(ev, storage),
      };
    };
    env = new PropAmmEnv({ ...ENV, opponents: [spy] });
    const fees = feeStream("spy");
    env.reset({ seed: 9 });
    let decisions = 0;
    for (;;) {
      const [b0, b1] = fees();
      watching = { f0: b0 / 10000, f1: b1 / 10000, w0: BigInt(b0) * 10n ** 14n, w1: BigInt(b1) * 10n ** 14n };
      const r = env.stepFees(b0, b1);
      expect(r.info.feesBps).toEqual([b0, b1].map((b) => wadFraction(b) * 10000));
      decisions++;
      if (r.terminated) break;
      // Paused at a decision: the fees are still the ones of the action just taken.
      expect(env.simulation!.pools[0].fee0).toBe(b0 / 10000);
    }
    expect(decisions).toBeGreaterThan(20);
    expect(stepsSeen.size).toBe(STEPS); // the fees were watched during every step
    expect(checks).toBeGreaterThan(STEPS);
    expect(stale).toBe(0);
  });

  it("actions map linearly onto [feeMinBps, feeMaxBps]; finite values outside [-1, 1] are clipped", () => {
    const env = new PropAmmEnv({ ...ENV, feeMinBps: 10, feeMaxBps: 110 });
    env.reset({ seed: 1 });
    const cases: [number[], number[]][] = [
      [
        [-1, 1],
        [10, 110],
      ],
      [
        [0, 0.5],
        [60, 85],
      ],
      [
        [5, -7],
        [110, 10],
      ],
      [
        [1e300, -1e300],
        [110, 10],
      ],
      [
        [1.0000001, -1.0000001],
        [110, 10],
      ],
    ];
    for (const [action, bps] of cases) {
      const r = env.step(action);
      expect(r.info.feesBps[0]).toBeCloseTo(bps[0], 9);
      expect(r.info.feesBps[1]).toBeCloseTo(bps[1], 9);
      expect(env.simulation!.pools[0].fee0).toBe(wadFraction(bps[0]));
      expect(env.simulation!.pools[0].fee1).toBe(wadFraction(bps[1]));
    }
    // Default range 0..250 bps.
    const d = new PropAmmEnv(ENV);
    d.reset({ seed: 1 });
    expect(d.step([2, -2]).info.feesBps).toEqual([250, 0]);
    expect(d.step([0, 0]).info.feesBps[0]).toBeCloseTo(125, 9);
  });
});

describe("the starter's fee rule driven through the env equals a batch run with the starter in seat 0", () => {
  const MIN = 5;
  /** The bps value the starter stores, as it reads it back (u64 WAD = floor(bps * 1e14)). */
  const readBack = (bps: number | null): number => (bps === null ? 0 : Math.floor(bps * 1e14) / 1e14);

  /** Plays the env with spec §5's starter rule computed from info; returns the final results. */
  function replay(
    env: PropAmmEnv,
    seed: number,
    volScale: number,
  ): { result: SimulationResult; decisions: number; branches: Set<string> } {
    const branches = new Set<string>();
    // What the starter would have in storage slots 0/1 (null: never written, reads 0).
    let stored: [number | null, number | null] = [null, null];
    const inForce = (): [number, number] => [Math.max(MIN, readBack(stored[0])), Math.max(MIN, readBack(stored[1]))];
    const fees = (): [number, number] => [stored[0] ?? MIN, stored[1] ?? MIN];
    const first = env.reset({ seed });
    expect(first.info.decision).toBe("reset");
    let r = env.stepFees(...fees()); // zero storage: the starter quotes at its 5 bps floor
    let decisions = 1;
    while (!r.terminated) {
      const info = r.info;
      if (info.decision === "swap") {
        const vol = info.features.sigmaHat;
        const flow = info.features.flowEma;
        const base = 30 + Math.min(200, vol * volScale);
        const flowAdj = flow < 0.25 ? -10 : flow > 0.7 ? 10 : 0;
        branches.add(vol * volScale < 200 ? "vol below cap" : "vol capped").add(`flow ${flowAdj}`);
        const lower = Math.max(MIN, base + flowAdj - 5);
        const higher = Math.max(MIN, base + flowAdj + 5);
        stored = info.tradeSide === 0 ? [lower, higher] : [higher, lower];
      } else if (info.decision === "epoch") {
        const w = info.capitalWeight;
        const adj = w < 0.15 ? -5 : w > 0.5 ? 5 : 0;
        branches.add(`epoch ${adj}`);
        if (adj !== 0) stored = [Math.max(MIN, readBack(stored[0]) + adj), Math.max(MIN, readBack(stored[1]) + adj)];
      } else {
        throw new Error(`unexpected decision ${info.decision}`);
      }
      // The fees the agent quotes with are the starter's.
      const f = fees();
      const expected = inForce();
      expect(wadFraction(f[0])).toBe(expected[0] / 10000);
      expect(wadFraction(f[1])).toBe(expected[1] / 10000);
      r = env.stepFees(...f);
      decisions++;
    }
    return { result: r.info.episode!, decisions, branches };
  }

  // The seat-0 starter: `starter` (vol * 1e4 bps) unless a case names `starter:seed` (vol * 1e6).
  const cases: [string, number, Partial<SimConfig>, string[], ("starter" | "starter:seed")?][] = [
    ["seed 1", 1, {}, ["starter"]],
    ["seed 1, the seed's starter (vol * 1e6, capped)", 1, {}, ["starter"], "starter:seed"],
    ["seed 6, a violent market (sigma 0.05: vol above the 200 bps cap)", 6, { pins: { sigma: 0.05 } }, ["fixed:30"]],
    ["seed 2, two starter opponents", 2, {}, ["starter", "starter"]],
    [
      "seed 3, deep pools, a calm market and expensive rivals (most flow, vol below the 200 bps cap)",
      3,
      { baseReserveX: 10000, baseReserveY: 1e6, pins: { sigma: 0.0001, retailMeanSize: 12, normalizerFeeBps: 500 } },
      ["fixed:500"],
    ],
    ["seed 4, a fixed-fee opponent (capital weights move)", 4, {}, ["fixed:30"]],
    ["seed 5, a zero-fee opponent", 5, { pins: { sigma: 0.003 } }, ["fixed:0"]],
  ];
  const seen = new Set<string>();
  for (const [label, seed, overrides, opponents, seat0 = "starter"] of cases) {
    it(label, () => {
      const sim = { ...SIM, ...overrides };
      const env = new PropAmmEnv({ sim, opponents, decisionInterval: 0 });
      const { result, decisions, branches } = replay(env, seed, seat0 === "starter" ? 1e4 : 1e6);
      for (const b of branches) seen.add(b);
      const sources = opponents.map((o) => builtinSource(o)!);
      const batch = new Simulation(seed, [builtinSource(seat0)!, ...sources], sim).run();
      const agentTrades = result.pools[0].arbTrades + result.pools[0].retailTrades;
      expect(decisions).toBe(1 + agentTrades + BOUNDARIES.length); // reset, each trade, each boundary
      expect(result.pools.map((p) => p.edge)).toEqual(batch.pools.map((p) => p.edge));
      expect(result.pools.map((p) => [p.arbTrades, p.retailTrades])).toEqual(
        batch.pools.map((p) => [p.arbTrades, p.retailTrades]),
      );
      expect(result.pools[0].epochs).toEqual(batch.pools[0].epochs);
      expect(result.pools.map((p) => p.finalValue)).toEqual(batch.pools.map((p) => p.finalValue));
    });
  }

  it("the cases above went through every branch of the starter's rule", () => {
    expect([...seen].sort()).toEqual(
      ["epoch -5", "epoch 0", "epoch 5", "flow -10", "flow 0", "flow 10", "vol below cap", "vol capped"].sort(),
    );
  });
});

describe("invalid input gets an error naming the problem", () => {
  it("step before reset, and after the episode ended", () => {
    const env = new PropAmmEnv(ENV);
    expect(() => env.step([0, 0])).toThrow(/reset\(\)/);
    expect(() => env.stepFees(10, 10)).toThrow(/reset\(\)/);
    playEpisode(env, () => [0, 0], 1);
    expect(() => env.step([0, 0])).toThrow(/episode has ended.*reset\(\)/);
    env.reset({ seed: 1 });
    expect(() => env.step([0, 0])).not.toThrow();
    env.close();
    expect(() => env.step([0, 0])).toThrow(/reset\(\)/);
  });

  it("wrong action length, non-numbers, NaN and infinities", () => {
    const env = new PropAmmEnv(ENV);
    env.reset({ seed: 1 });
    expect(() => env.step([0])).toThrow(/2 values.*got 1/);
    expect(() => env.step([0, 0, 0])).toThrow(/2 values.*got 3/);
    expect(() => env.step([])).toThrow(/got 0/);
    expect(() => env.step(null as unknown as number[])).toThrow(/action/);
    expect(() => env.step(["0.5", 0] as unknown as number[])).toThrow(/action\[0\]/);
    expect(() => env.step([NaN, 0])).toThrow(/action\[0\].*finite.*NaN/);
    expect(() => env.step([0, Infinity])).toThrow(/action\[1\].*finite.*Infinity/);
    expect(() => env.step([-Infinity, 0])).toThrow(/action\[0\]/);
    expect(() => env.stepFees(NaN, 10)).toThrow(/fee0/);
    expect(() => env.stepFees(10, 10000)).toThrow(/fee1.*10000/);
    expect(() => env.stepFees(-1, 10)).toThrow(/fee0/);
  });

  it("a rejected action changes nothing: the episode goes on as if it had not been sent", () => {
    const a = new PropAmmEnv(ENV);
    const b = new PropAmmEnv(ENV);
    a.reset({ seed: 3 });
    b.reset({ seed: 3 });
    expect(() => a.step([NaN, 0.2])).toThrow();
    expect(() => a.step([0.2])).toThrow();
    expect(() => a.stepFees(20, 1e9)).toThrow();
    for (let k = 0; k < 5; k++) {
      const ra = a.step([0.1 * k, -0.1 * k]);
      const rb = b.step([0.1 * k, -0.1 * k]);
      expect(ra.info).toEqual(rb.info);
      expect(ra.reward).toBe(rb.reward);
    }
  });

  it("bad configuration and seeds", () => {
    expect(() => new PropAmmEnv({ opponents: ["no-such-strategy"] })).toThrow(/unknown opponent 'no-such-strategy'/);
    expect(() => new PropAmmEnv({ decisionInterval: -1 })).toThrow(/decisionInterval.*-1/);
    expect(() => new PropAmmEnv({ decisionInterval: 2.5 })).toThrow(/decisionInterval/);
    expect(() => new PropAmmEnv({ feeMinBps: 100, feeMaxBps: 100 })).toThrow(/feeMaxBps/);
    expect(() => new PropAmmEnv({ feeMinBps: 100, feeMaxBps: 50 })).toThrow(/feeMaxBps/);
    expect(() => new PropAmmEnv({ feeMaxBps: 10000 })).toThrow(/feeMaxBps/);
    expect(() => new PropAmmEnv({ feeMinBps: -1 })).toThrow(/feeMinBps/);
    expect(() => new PropAmmEnv({ rewardScale: 0 })).toThrow(/rewardScale/);
    expect(() => new PropAmmEnv({ rewardMode: "episodic" as "dense" })).toThrow(/rewardMode/);
    expect(() => new PropAmmEnv({ sim: { epochLen: 0 } })).toThrow(/epochLen/);
    expect(() => new PropAmmEnv({ sim: { stepz: 10 } as never })).toThrow(/stepz/);
    expect(() => new PropAmmEnv({ opponents: Array(16).fill("starter") })).toThrow(/strategies/);
    const env = new PropAmmEnv(ENV);
    expect(() => env.reset({ seed: -1 })).toThrow(/seed/);
    expect(() => env.reset({ seed: 1.5 })).toThrow(/seed/);
  });
});

describe("reset options override the episode's market parameters", () => {
  it("options.market pins parameters, leaves the others as the seed draws them, and persists", () => {
    const env = new PropAmmEnv(ENV);
    env.reset({ seed: 17 });
    const drawn = { ...env.simulation!.market };
    const pins = { sigma: 0.0042, normalizerFeeBps: 61, retailRate: 0.9 };
    env.reset({ seed: 17, options: { market: pins } });
    expect(env.simulation!.market).toEqual({ ...drawn, ...pins });
    // "...and the episodes after it, until changed" (ResetOptions): a plain reset keeps the pins.
    env.reset({ seed: 18 });
    expect(env.simulation!.market.sigma).toBe(0.0042);
    expect(env.simulation!.market.normalizerFeeBps).toBe(61);
    // A new market option replaces the previous pins (on top of the config's own pins).
    env.reset({ seed: 17, options: { market: { retailMeanSize: 20 } } });
    expect(env.simulation!.market).toEqual({ ...drawn, retailMeanSize: 20 });
    // The pinned market is the one simulated: the episode matches a Simulation with those pins.
    const pinned = new PropAmmEnv({ ...ENV, sim: { ...SIM, pins } });
    const t1 = playEpisode(pinned, () => [0, 0], 17);
    env.reset({ seed: 17, options: { market: pins } });
    let r: StepResult;
    do r = env.step([0, 0]);
    while (!r.terminated);
    expect(r.info.episode!.pools.map((p) => p.edge)).toEqual(t1.infos.at(-1)!.episode!.pools.map((p) => p.edge));
  });

  it("bad market options get an error naming the parameter", () => {
    const env = new PropAmmEnv(ENV);
    expect(() => env.reset({ seed: 1, options: { market: { sigma: -0.1 } } })).toThrow(/sigma/);
    expect(() => env.reset({ seed: 1, options: { market: { volatility: 0.1 } as MarketPins } })).toThrow(/volatility/);
  });

  it("a reset rejected for bad market options leaves the env usable", () => {
    const env = new PropAmmEnv(ENV);
    const good = env.reset({ seed: 1 }).observation;
    expect(() => env.reset({ seed: 1, options: { market: { sigma: -0.1 } } })).toThrow(/sigma/);
    // The rejected pins must not stick: the next reset works and gives the seed's own market.
    const again = env.reset({ seed: 1 });
    expect(Array.from(again.observation)).toEqual(Array.from(good));
    expect(env.simulation!.market.sigma).toBeGreaterThanOrEqual(0.0001);
  });
});
