/**
 * The multi-agent env (spec §6.7): with one agent it is PropAmmEnv bit for bit; with several,
 * agents playing fixed fees reproduce a plain Simulation of `fixed:<bps>` strategies; rewards
 * sum to the risk-adjusted epoch scores; selection follows pool order at reset and at epoch
 * boundaries; the Parallel view is the AEC env grouped by decision; bad input changes nothing.
 *
 * Episodes are short (2000 steps, epochs of 500) to keep the file fast.
 */
import { describe, expect, it } from "vitest";
import { riskAdjustedScore } from "../../env/capital.js";
import { RandomStream } from "../../env/rng.js";
import { Simulation } from "../../env/simulation.js";
import { builtinSource } from "../../env/builtins/index.js";
import { PropAmmEnv, type StepInfo } from "../../gym/env.js";
import type { EnvConfig } from "../../gym/options.js";
import {
  PropAmmAECEnv,
  PropAmmParallelEnv,
  type LineupEntry,
  type MultiAgentEnvConfig,
} from "../../gym/multi-agent-env.js";

const SIM = { steps: 2000, epochLen: 500 };
const BOUNDARIES = [499, 999, 1499];

function actionStream(seed: number): () => [number, number] {
  const rng = new RandomStream(`actions:${seed}`);
  // Slightly beyond [-1, 1]: clipping is exercised too.
  return () => [rng.uniform() * 2.2 - 1.1, rng.uniform() * 2.2 - 1.1];
}

interface Trace {
  observations: number[][];
  rewards: number[];
  infos: StepInfo[];
  terminated: boolean[];
}

function runSingle(config: Partial<EnvConfig>, seeds: (number | undefined)[], actionSeed: number): Trace {
  const env = new PropAmmEnv(config);
  const next = actionStream(actionSeed);
  const t: Trace = { observations: [], rewards: [], infos: [], terminated: [] };
  for (const seed of seeds) {
    const r0 = env.reset({ seed });
    t.observations.push(Array.from(r0.observation));
    t.infos.push(r0.info);
    for (;;) {
      const r = env.step(next());
      t.observations.push(Array.from(r.observation));
      t.rewards.push(r.reward);
      t.infos.push(r.info);
      t.terminated.push(r.terminated);
      if (r.terminated) break;
    }
  }
  return t;
}

/** The same loop over the AEC env with one agent: last() after each step, then the dead step. */
function runAecOne(config: Partial<MultiAgentEnvConfig>, seeds: (number | undefined)[], actionSeed: number): Trace {
  const env = new PropAmmAECEnv(config);
  const next = actionStream(actionSeed);
  const t: Trace = { observations: [], rewards: [], infos: [], terminated: [] };
  for (const seed of seeds) {
    env.reset({ seed });
    const l0 = env.last();
    t.observations.push(Array.from(l0.observation!));
    t.infos.push(l0.info);
    for (;;) {
      env.step(next());
      const l = env.last();
      t.observations.push(Array.from(l.observation!));
      t.rewards.push(l.reward);
      t.infos.push(l.info);
      t.terminated.push(l.termination);
      if (l.termination) {
        env.step(null);
        expect(env.agents).toEqual([]);
        break;
      }
    }
  }
  return t;
}

function runParallelOne(
  config: Partial<MultiAgentEnvConfig>,
  seeds: (number | undefined)[],
  actionSeed: number,
): Trace {
  const env = new PropAmmParallelEnv(config);
  const next = actionStream(actionSeed);
  const t: Trace = { observations: [], rewards: [], infos: [], terminated: [] };
  for (const seed of seeds) {
    const r0 = env.reset({ seed });
    t.observations.push(Array.from(r0.observations.a));
    t.infos.push(r0.infos.a);
    for (;;) {
      const r = env.step({ a: next() });
      t.observations.push(Array.from(r.observations.a));
      t.rewards.push(r.rewards.a);
      t.infos.push(r.infos.a);
      t.terminated.push(r.terminations.a);
      if (r.terminations.a) {
        expect(env.agents).toEqual([]);
        break;
      }
    }
  }
  return t;
}

function expectSame(a: Trace, b: Trace): void {
  expect(b.observations.length).toBe(a.observations.length);
  expect(b.observations).toEqual(a.observations);
  // Rewards bit for bit (Object.is also tells 0 from -0).
  expect(b.rewards.length).toBe(a.rewards.length);
  for (let i = 0; i < a.rewards.length; i++) expect(Object.is(b.rewards[i], a.rewards[i]), `reward ${i}`).toBe(true);
  expect(b.terminated).toEqual(a.terminated);
  // The one difference by design: the agent's pool is named by its agent id, not "Agent".
  const renamed = b.infos.map((i) => {
    if (i.episode === undefined) return i;
    expect(i.episode.pools[0].name).toBe("a");
    const pools = i.episode.pools.map((p, k) => (k === 0 ? { ...p, name: "Agent" } : p));
    return { ...i, episode: { ...i.episode, pools } };
  });
  expect(renamed).toEqual(a.infos);
  const episodes = a.infos.filter((i) => i.episode !== undefined);
  expect(episodes.length).toBeGreaterThan(0);
}

describe("PropAmmAECEnv with one agent is PropAmmEnv", () => {
  const cases: { name: string; env: Partial<EnvConfig> }[] = [
    { name: "interval 100, dense, starter", env: { decisionInterval: 100, opponents: ["starter"] } },
    { name: "interval 0, dense, no opponent", env: { decisionInterval: 0, opponents: [] } },
    {
      name: "interval 100, sparse, normalizer baseline, two opponents",
      env: {
        decisionInterval: 100,
        rewardMode: "sparse",
        rewardBaseline: "normalizer",
        opponents: ["starter", "fixed:40"],
      },
    },
    {
      name: "interval 0, dense, normalizer baseline, scale 1",
      env: { decisionInterval: 0, rewardBaseline: "normalizer", rewardScale: 1, opponents: ["fixed:25"] },
    },
    { name: "interval 100, sparse, starter", env: { decisionInterval: 100, rewardMode: "sparse" } },
    {
      name: "interval 10, the extended observation, two opponents",
      env: { decisionInterval: 10, observation: "extended", opponents: ["starter", "fixed:40"] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const env = { ...c.env, sim: SIM };
      // Two seeded episodes and one drawn from the env's stream.
      const seeds = [7, 123, undefined];
      const single = runSingle(env, seeds, 5);
      const { opponents, ...rest } = env;
      const multi = { ...rest, lineup: [{ agent: "a" }, ...(opponents ?? ["starter"])] as LineupEntry[] };
      expectSame(single, runAecOne(multi, seeds, 5));
      expectSame(single, runParallelOne(multi, seeds, 5));
    });
  }
});

/** Drives an AEC env with a policy per agent to the end; returns each agent's rewards and selections. */
function playAec(
  env: PropAmmAECEnv,
  seed: number,
  policy: (agent: string) => [number, number],
): {
  selections: { agent: string; info: StepInfo }[];
  rewardSums: Record<string, number>;
  lastSums: Record<string, number>;
} {
  env.reset({ seed });
  const selections: { agent: string; info: StepInfo }[] = [];
  const rewardSums: Record<string, number> = {};
  const lastSums: Record<string, number> = {};
  for (const a of env.agents) {
    rewardSums[a] = 0;
    lastSums[a] = 0;
  }
  for (const agent of env.agentIter(1_000_000)) {
    const l = env.last();
    lastSums[agent] += l.reward;
    if (l.termination) {
      env.step(null);
      continue;
    }
    selections.push({ agent, info: l.info });
    env.step(policy(agent));
    for (const [a, r] of Object.entries(env.rewards)) rewardSums[a] += r;
  }
  return { selections, rewardSums, lastSums };
}

describe("PropAmmAECEnv with several agents", () => {
  it("agents playing fixed fees reproduce a Simulation of fixed:<bps> strategies, seed by seed", () => {
    const fees: Record<string, number> = { low: 30, high: 70 };
    const env = new PropAmmAECEnv({
      lineup: [{ agent: "low" }, "starter", { agent: "high" }],
      decisionInterval: 100,
      sim: SIM,
    });
    for (const seed of [3, 4]) {
      env.reset({ seed });
      for (const agent of env.agentIter(1_000_000)) {
        if (env.last(false).termination) env.step(null);
        else env.stepFees(fees[agent], fees[agent]);
      }
      const got = env.simulation!.result();
      const want = new Simulation(
        seed,
        [builtinSource("fixed:30")!, builtinSource("starter")!, builtinSource("fixed:70")!],
        SIM,
      ).run();
      expect(got.pools.map((p) => p.name)).toEqual(["low", want.pools[1].name, "high", want.pools[3].name]);
      for (let i = 0; i < want.pools.length; i++) {
        const { name: _a, ...g } = got.pools[i];
        const { name: _b, ...w } = want.pools[i];
        expect(g).toEqual(w);
      }
      expect(got.finalPrice).toBe(want.finalPrice);
      expect(got.ordersRouted).toBe(want.ordersRouted);
    }
  });

  const rewardCases = (["dense", "sparse"] as const).flatMap((rewardMode) =>
    (["none", "normalizer"] as const).flatMap((rewardBaseline) =>
      (["downside", "none"] as const).map((riskPenalty) => ({ rewardMode, rewardBaseline, riskPenalty })),
    ),
  );
  for (const { rewardMode, rewardBaseline, riskPenalty } of rewardCases) {
    it(`each agent's rewards sum to its epoch scores (${rewardMode}, baseline ${rewardBaseline}, risk penalty ${riskPenalty})`, () => {
      const env = new PropAmmAECEnv({
        lineup: [{ agent: "x" }, { agent: "y" }, "starter", { agent: "z" }],
        decisionInterval: 50,
        rewardMode,
        rewardBaseline,
        riskPenalty,
        sim: SIM,
      });
      const next = actionStream(11);
      const { rewardSums, lastSums } = playAec(env, 21, () => next());
      const sim = env.simulation!;
      const lambda = env.simConfig.riskLambda;
      const normEpochs = sim.epochSummaries(sim.pools.length - 1);
      let losing = 0;
      for (const a of env.possibleAgents) {
        const epochs = sim.epochSummaries(env.poolOf(a));
        expect(epochs.length).toBe(4);
        let want = 0;
        epochs.forEach((e, k) => {
          // Without the penalty an epoch scores its edge; with it, the spec's risk-adjusted score.
          want += riskPenalty === "downside" ? riskAdjustedScore(e.edge, lambda) : e.edge;
          if (e.edge < 0) losing++;
          if (rewardBaseline === "normalizer") want -= normEpochs[k].edge;
        });
        want *= env.config.rewardScale;
        expect(Math.abs(want)).toBeGreaterThan(0.01);
        expect(rewardSums[a]).toBeCloseTo(want, 8);
        // What last() handed each agent adds up to the same.
        expect(lastSums[a]).toBeCloseTo(want, 8);
      }
      // Some epoch lost edge, so the two penalties give different sums.
      expect(losing).toBeGreaterThan(0);
    });
  }

  it("selects agents in pool order at reset and at every epoch boundary", () => {
    // A decision interval beyond the episode: only reset and epoch decisions.
    const env = new PropAmmAECEnv({
      lineup: [{ agent: "zed" }, "starter", { agent: "alpha" }, { agent: "mid" }],
      decisionInterval: 1_000_000,
      sim: SIM,
    });
    expect(env.possibleAgents).toEqual(["zed", "alpha", "mid"]);
    const { selections } = playAec(env, 9, () => [0, 0]);
    const want: { agent: string; decision: string; simStep: number }[] = [];
    for (const a of ["zed", "alpha", "mid"]) want.push({ agent: a, decision: "reset", simStep: 0 });
    for (const t of BOUNDARIES)
      for (const a of ["zed", "alpha", "mid"]) want.push({ agent: a, decision: "epoch", simStep: t });
    expect(selections.map((s) => ({ agent: s.agent, decision: s.info.decision, simStep: s.info.simStep }))).toEqual(
      want,
    );
  });

  it("swap decisions follow each agent's own schedule (spec §6.2)", () => {
    const env = new PropAmmAECEnv({
      lineup: [{ agent: "a" }, { agent: "b" }, "starter"],
      decisionInterval: 100,
      sim: SIM,
    });
    const next = actionStream(2);
    const { selections } = playAec(env, 5, () => next());
    for (const agent of ["a", "b"]) {
      let last = 0;
      const mine = selections.filter((s) => s.agent === agent).slice(1);
      expect(mine.filter((s) => s.info.decision === "swap").length).toBeGreaterThan(5);
      for (const s of mine) {
        if (s.info.decision === "swap") {
          expect(s.info.simStep - last).toBeGreaterThanOrEqual(100);
          expect(s.info.tradeSide === 0 || s.info.tradeSide === 1).toBe(true);
        } else expect(s.info.decision).toBe("epoch");
        last = s.info.decision === "epoch" ? BOUNDARIES[s.info.epoch] : s.info.simStep;
      }
    }
  });

  it("ends with every agent terminated, each removed by its own step(null)", () => {
    const env = new PropAmmAECEnv({ lineup: [{ agent: "a" }, { agent: "b" }], decisionInterval: 500, sim: SIM });
    env.reset({ seed: 1 });
    while (!env.terminations[env.agentSelection]) env.step([0, 0]);
    expect(env.terminations).toEqual({ a: true, b: true });
    expect(env.truncations).toEqual({ a: false, b: false });
    expect(env.infos.a.decision).toBe("end");
    expect(env.infos.b.episode).toBeDefined();
    expect(env.agentSelection).toBe("a");
    expect(() => env.step([0, 0])).toThrow(/'a' has finished/);
    env.step(null);
    expect(env.agents).toEqual(["b"]);
    expect(Object.keys(env.rewards)).toEqual(["b"]);
    expect(env.agentSelection).toBe("b");
    env.step(null);
    expect(env.agents).toEqual([]);
    expect(env.numAgents).toBe(0);
    expect(() => env.step(null)).toThrow(/every agent has finished: call reset\(\)/);
  });

  it("seeding: reset({seed}) replays an episode; reset() continues the env's stream as PropAmmEnv does", () => {
    const cfg = { lineup: [{ agent: "a" }, "starter", { agent: "b" }] as LineupEntry[], sim: SIM };
    const e1 = new PropAmmAECEnv(cfg);
    const e2 = new PropAmmAECEnv(cfg);
    const s1 = new PropAmmEnv({ sim: SIM });
    e1.reset({ seed: 42 });
    e2.reset({ seed: 42 });
    s1.reset({ seed: 42 });
    e1.reset();
    e2.reset();
    expect(e1.infos.a.simSeed).toBe(e2.infos.a.simSeed);
    expect(e1.infos.a.simSeed).toBe(s1.reset().info.simSeed);
    const n1 = actionStream(1);
    const n2 = actionStream(1);
    const p1 = playAec(e1, 77, () => n1());
    const p2 = playAec(e2, 77, () => n2());
    expect(p2).toEqual(p1);
  });
});

describe("PropAmmParallelEnv", () => {
  const cfg: Partial<MultiAgentEnvConfig> = {
    lineup: [{ agent: "a" }, "starter", { agent: "b" }, { agent: "c" }],
    decisionInterval: 80,
    sim: SIM,
  };

  it("is the AEC env grouped by decision: all agents act after reset, then the agent whose hook paused", () => {
    const par = new PropAmmParallelEnv(cfg);
    const aec = new PropAmmAECEnv(cfg);
    const next = actionStream(4);
    const r0 = par.reset({ seed: 12 });
    aec.reset({ seed: 12 });
    expect(r0.acting).toEqual(["a", "b", "c"]);
    expect(Object.keys(r0.observations)).toEqual(["a", "b", "c"]);
    let acting = r0.acting;
    let steps = 0;
    const parSums: Record<string, number> = { a: 0, b: 0, c: 0 };
    const aecSums: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (;;) {
      const actions: Record<string, [number, number]> = {};
      // Every live agent gets an action, as pettingzoo's parallel_api_test does; only the acting ones count.
      for (const a of par.agents) actions[a] = next();
      const r = par.step(actions);
      for (const a of acting) {
        expect(aec.agentSelection).toBe(a);
        aec.step(actions[a]);
        for (const [b, x] of Object.entries(aec.rewards)) aecSums[b] += x;
      }
      for (const [b, x] of Object.entries(r.rewards)) parSums[b] += x;
      steps++;
      expect(Object.keys(r.observations)).toEqual(["a", "b", "c"]);
      for (const a of ["a", "b", "c"]) {
        expect(Array.from(r.observations[a])).toEqual(Array.from(aec.observe(a)));
        expect(r.infos[a]).toEqual(aec.infos[a]);
        expect(r.terminations[a]).toBe(aec.terminations[a]);
      }
      if (r.terminations.a) {
        expect(r.acting).toEqual([]);
        expect(par.agents).toEqual([]);
        break;
      }
      expect(r.acting).toEqual([aec.agentSelection]);
      acting = r.acting;
    }
    expect(steps).toBeGreaterThan(20);
    for (const a of ["a", "b", "c"]) expect(parSums[a]).toBeCloseTo(aecSums[a], 9);
    expect(() => par.step({})).toThrow(/episode has ended/);
  });

  it("refuses a missing acting action, an unknown agent or a bad action, changing nothing", () => {
    const par = new PropAmmParallelEnv(cfg);
    expect(() => par.step({ a: [0, 0] })).toThrow(/reset\(\)/);
    par.reset({ seed: 1 });
    expect(() => par.step({ a: [0, 0], b: [0, 0] })).toThrow(/no action for 'c'/);
    expect(() => par.step({ a: [0, 0], b: [0, 0], c: [0, 0], d: [0, 0] })).toThrow(/'d' is not a live agent/);
    expect(() => par.step({ a: [0, 0], b: [0, NaN], c: [0, 0] })).toThrow(
      /actions\['b'\]\[1\] must be a finite number/,
    );
    expect(() => par.step({ a: [0, 0], b: [0], c: [0, 0] })).toThrow(/must have 2 values/);
    expect(par.aec.agentSelection).toBe("a");
    expect(par.actingAgents).toEqual(["a", "b", "c"]);
    expect(par.aec.simulation!.step).toBe(0);
    const r = par.step({ a: [0, 0], b: [0, 0], c: [0, 0] });
    expect(r.acting.length).toBe(1);
  });
});

describe("PropAmmAECEnv input errors", () => {
  it("names a bad line-up", () => {
    expect(() => new PropAmmAECEnv({ lineup: ["starter"] })).toThrow(/no agent/);
    expect(() => new PropAmmAECEnv({ lineup: [] })).toThrow(/non-empty list/);
    expect(() => new PropAmmAECEnv({ lineup: [{ agent: "a" }, { agent: "a" }] })).toThrow(/'a' appears twice/);
    expect(() => new PropAmmAECEnv({ lineup: [{ agent: "" }] })).toThrow(/lineup\[0\]: agent id/);
    expect(() => new PropAmmAECEnv({ lineup: [{ agent: "a" }, "nope"] })).toThrow(
      /lineup\[1\]: unknown opponent 'nope'/,
    );
    expect(() => new PropAmmAECEnv({ lineup: [{ agent: "a" }, 5 as unknown as string] })).toThrow(/lineup\[1\]/);
    expect(
      () => new PropAmmAECEnv({ lineup: [{ agent: "a" }], opponents: ["starter"] } as Partial<MultiAgentEnvConfig>),
    ).toThrow(/'lineup', not 'opponents'/);
    expect(() => new PropAmmAECEnv({ lineup: [{ agent: "a" }], rewardMode: "x" as "dense" })).toThrow(/rewardMode/);
  });

  it("refuses steps before reset, null for a live agent, bad actions and unknown agents, changing nothing", () => {
    const env = new PropAmmAECEnv({ lineup: [{ agent: "a" }, { agent: "b" }], sim: SIM });
    expect(() => env.step([0, 0])).toThrow(/reset\(\)/);
    env.reset({ seed: 2 });
    expect(() => env.step(null)).toThrow(/'a' is live/);
    expect(() => env.step([0, Infinity])).toThrow(/action\[1\] must be a finite number/);
    expect(() => env.step([0, 0, 0])).toThrow(/must have 2 values/);
    expect(() => env.observe("q")).toThrow(/unknown agent 'q'/);
    expect(() => env.actionSpace("q")).toThrow(/unknown agent 'q'/);
    expect(() => env.reset({ seed: -1 })).toThrow(/seed must be an integer/);
    expect(env.agentSelection).toBe("a");
    expect(env.infos.a.simSeed).toBe(2);
    env.step([0, 0]);
    expect(env.agentSelection).toBe("b");
  });

  it("gives each agent the spaces of PropAmmEnv, the same object every time", () => {
    const env = new PropAmmAECEnv();
    const single = new PropAmmEnv();
    expect(env.possibleAgents).toEqual(["agent_0", "agent_1"]);
    expect(env.observationSpace("agent_1")).toBe(env.observationSpace("agent_1"));
    expect(env.observationSpace("agent_0").toJSON()).toEqual(single.observationSpace.toJSON());
    expect(env.actionSpace("agent_0").toJSON()).toEqual(single.actionSpace.toJSON());
  });
});
