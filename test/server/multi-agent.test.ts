/**
 * Multi-agent sessions (docs/protocol.md, revision 3) at the handler level: an AEC session and a
 * Parallel session against in-process PropAmmAECEnv / PropAmmParallelEnv runs with the same
 * config, seeds and actions (arrays decoded by hand, infos spelled out by test/helpers/wire.ts),
 * every documented refusal with its code and message, and vector sessions still answered as
 * before.
 */
import { describe, expect, it } from "vitest";
import { PropAmmAECEnv, PropAmmParallelEnv, type MultiAgentEnvConfig } from "../../gym/multi-agent-env.js";
import type { StepInfo } from "../../gym/env.js";
import { RequestHandler } from "../../server/handler.js";
import { RandomStream } from "../../env/rng.js";
import { type Code, fromWire, isMap, type Msg, packr, show, SIM_WIRE, toWire, wireInfo } from "../helpers/wire.js";

const SIM = { steps: 1000, epochLen: 250 };

class Client {
  private seq = 0;
  constructor(readonly handler = new RequestHandler()) {}

  async send(fields: Msg): Promise<Msg> {
    const msg = { v: 1, id: ++this.seq, ...fields };
    const reply = packr.unpack(await this.handler.handle(packr.pack(msg))) as Msg;
    expect(isMap(reply)).toBe(true);
    expect(reply.id).toBe(msg.id);
    return reply;
  }

  async ok(fields: Msg): Promise<Msg> {
    const r = await this.send(fields);
    expect(r.error, `${show(fields)} failed`).toBeUndefined();
    return r;
  }

  async fail(fields: Msg, code: Code, message: RegExp): Promise<void> {
    const r = await this.send(fields);
    expect(r.ok, `${show(fields)} should fail`).toBe(false);
    const e = r.error as Msg;
    expect(e.code, show(e)).toBe(code);
    expect(e.message).toMatch(message);
  }
}

/** The info map an agent's info must arrive as: the vector form, plus its pool and its own epochs. */
function expectedInfo(info: StepInfo, pool: number): unknown {
  const w = wireInfo(info);
  w.pool = pool;
  if (info.episode && isMap(w.episode))
    w.episode = { ...w.episode, agent_epochs: info.episode.pools[pool].epochs.map((e) => ({ ...e })) };
  return packr.unpack(packr.pack(w));
}

function expectState(r: Msg, env: PropAmmAECEnv): void {
  expect(r.agents).toEqual(env.agents);
  expect(r.agent_selection).toBe(env.agentSelection);
  const obs = r.observations as Msg;
  expect(Object.keys(obs)).toEqual(env.agents);
  for (const a of env.agents) expect(fromWire(obs[a], "float32", [5])).toEqual(Array.from(env.observe(a)));
  // Rewards travel as msgpack float64 (or ints when whole): exactly the env's numbers.
  expect(r.rewards).toEqual(env.rewards);
  expect(r.cumulative_rewards).toEqual(env.cumulativeRewards);
  expect(r.terminations).toEqual(env.terminations);
  expect(r.truncations).toEqual(env.truncations);
  const infos = r.infos as Msg;
  expect(Object.keys(infos)).toEqual(env.agents);
  for (const a of env.agents) expect(infos[a]).toEqual(expectedInfo(env.infos[a], env.poolOf(a)));
}

const LINEUP_WIRE = [{ agent: "a" }, "starter", { agent: "b" }];
const CONFIG: Partial<MultiAgentEnvConfig> = {
  lineup: [{ agent: "a" }, "starter", { agent: "b" }],
  decisionInterval: 60,
  rewardMode: "sparse",
  sim: SIM,
};

describe("multi-agent sessions", () => {
  it("hello announces revision 3 with the multi_agent feature", async () => {
    const r = await new Client().ok({ cmd: "hello" });
    expect(r.revision).toBe(3);
    expect(r.features).toContain("multi_agent");
  });

  it("an AEC session's whole episode equals the in-process PropAmmAECEnv, dead steps included", async () => {
    const c = new Client();
    const m = await c.ok({
      cmd: "make",
      lineup: LINEUP_WIRE,
      config: { decision_interval: 60, reward_mode: "sparse", sim: SIM_WIRE },
    });
    expect(m.api).toBe("aec");
    expect(m.possible_agents).toEqual(["a", "b"]);
    expect(m.num_envs).toBe(1);
    const envId = m.env_id as string;
    const ref = new PropAmmAECEnv(CONFIG);
    const rng = new RandomStream("actions");
    const r0 = await c.ok({ cmd: "reset", env_id: envId, seed: 5 });
    ref.reset({ seed: 5 });
    expectState(r0, ref);
    let steps = 0;
    while (ref.agents.length > 0) {
      const dead = ref.terminations[ref.agentSelection];
      const action = dead ? null : [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1];
      const r = await c.ok({
        cmd: "step",
        env_id: envId,
        agent: ref.agentSelection,
        action: action === null ? null : toWire(action, "float64", [2]),
      });
      ref.step(action);
      expectState(r, ref);
      steps++;
    }
    expect(steps).toBeGreaterThan(10);
    await c.fail({ cmd: "step", env_id: envId, action: null }, "ENV", /reset/);
  });

  it("a Parallel session equals the in-process PropAmmParallelEnv and reports who acts next", async () => {
    const c = new Client();
    const m = await c.ok({ cmd: "make", api: "parallel", lineup: LINEUP_WIRE, config: { sim: SIM_WIRE } });
    expect(m.api).toBe("parallel");
    const envId = m.env_id as string;
    const ref = new PropAmmParallelEnv({ lineup: CONFIG.lineup, sim: SIM });
    const r0 = await c.ok({ cmd: "reset", env_id: envId, seed: 9 });
    const ref0 = ref.reset({ seed: 9 });
    expect(r0.acting).toEqual(["a", "b"]);
    expect(r0.agents).toEqual(["a", "b"]);
    for (const a of ["a", "b"]) {
      expect(fromWire((r0.observations as Msg)[a], "float32", [5])).toEqual(Array.from(ref0.observations[a]));
      expect((r0.infos as Msg)[a]).toEqual(expectedInfo(ref0.infos[a], ref.aec.poolOf(a)));
    }
    let acting = r0.acting as string[];
    for (let i = 0; ; i++) {
      // The acting agents' actions; an idle agent's may be nil.
      const actions: Msg = {};
      const local: Record<string, [number, number]> = {};
      for (const a of ref.agents) {
        const x: [number, number] = [Math.sin(i + a.length), Math.cos(3 * i)];
        local[a] = x;
        actions[a] = acting.includes(a) ? toWire(x, "float32", [2]) : null;
      }
      const r = await c.ok({ cmd: "step", env_id: envId, actions });
      const want = ref.step(Object.fromEntries(acting.map((a) => [a, Float32Array.from(local[a])])));
      expect(r.acting).toEqual(want.acting);
      expect(r.agents).toEqual(ref.agents);
      expect(r.rewards).toEqual(want.rewards);
      expect(r.terminations).toEqual(want.terminations);
      for (const a of Object.keys(want.observations)) {
        expect(fromWire((r.observations as Msg)[a], "float32", [5])).toEqual(Array.from(want.observations[a]));
        expect((r.infos as Msg)[a]).toEqual(expectedInfo(want.infos[a], ref.aec.poolOf(a)));
      }
      if (want.acting.length === 0) {
        expect(r.agents).toEqual([]);
        break;
      }
      acting = want.acting;
    }
  });

  it("refuses bad multi-agent requests with a code and a message naming the problem; the session goes on", async () => {
    const c = new Client();
    await c.fail({ cmd: "make", lineup: [] }, "CONFIG", /lineup must be a non-empty list/);
    await c.fail({ cmd: "make", lineup: ["starter"] }, "CONFIG", /no agent/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a" }, "nope"] }, "CONFIG", /lineup\[1\]: 'nope' is not a built-in/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a" }, "x.ts"] }, "CONFIG", /built-in opponents only/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a", b: 1 }] }, "CONFIG", /single key 'agent'/);
    await c.fail({ cmd: "make", lineup: [{ agent: 3 }] }, "CONFIG", /lineup\[0\]\.agent must be a string/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a" }, { agent: "a" }] }, "CONFIG", /appears twice/);
    await c.fail({ cmd: "make", lineup: [7] }, "CONFIG", /lineup\[0\] must be/);
    await c.fail(
      { cmd: "make", lineup: [{ agent: "a" }], api: "both" },
      "BAD_REQUEST",
      /'api' must be "aec" or "parallel"/,
    );
    await c.fail({ cmd: "make", api: "aec" }, "BAD_REQUEST", /give a 'lineup'/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a" }], num_envs: 2 }, "BAD_REQUEST", /'num_envs' must be 1/);
    await c.fail({ cmd: "make", lineup: [{ agent: "a" }], autoreset_mode: "same_step" }, "BAD_REQUEST", /autoreset/);
    await c.fail(
      { cmd: "make", lineup: [{ agent: "a" }], config: { opponents: ["starter"] } },
      "CONFIG",
      /opponents from 'lineup'/,
    );
    await c.fail(
      { cmd: "make", lineup: [{ agent: "a" }], config: { reward_mode: "x" } },
      "CONFIG",
      /config\.reward_mode/,
    );

    const aec = (await c.ok({ cmd: "make", lineup: [{ agent: "a" }, { agent: "b" }], config: { sim: SIM_WIRE } }))
      .env_id as string;
    await c.fail({ cmd: "step", env_id: aec, action: toWire([0, 0], "float32", [2]) }, "ENV", /reset\(\)/);
    await c.fail({ cmd: "reset", env_id: aec, seeds: [1] }, "BAD_REQUEST", /'seeds' is for vector sessions/);
    await c.fail({ cmd: "reset", env_id: aec, mask: [true] }, "BAD_REQUEST", /'mask' is for vector sessions/);
    await c.fail({ cmd: "reset", env_id: aec, seed: -1 }, "BAD_REQUEST", /'seed' must be an integer/);
    const before = await c.ok({ cmd: "reset", env_id: aec, seed: 3 });
    await c.fail({ cmd: "step", env_id: aec, action: null }, "ENV", /'a' is live/);
    await c.fail(
      { cmd: "step", env_id: aec, agent: "b", action: toWire([0, 0], "float32", [2]) },
      "BAD_REQUEST",
      /'a' that is selected/,
    );
    await c.fail(
      { cmd: "step", env_id: aec, agent: 5, action: toWire([0, 0], "float32", [2]) },
      "BAD_REQUEST",
      /'agent' must be a string/,
    );
    await c.fail(
      { cmd: "step", env_id: aec, action: toWire([0, NaN], "float32", [2]) },
      "BAD_ACTION",
      /action\[1\] is NaN/,
    );
    await c.fail({ cmd: "step", env_id: aec, action: toWire([0, 0, 0], "float32", [3]) }, "BAD_ACTION", /shape \[2\]/);
    await c.fail({ cmd: "step", env_id: aec, action: [0, 0] }, "BAD_ACTION", /array map/);
    await c.fail({ cmd: "step", env_id: aec, actions: {} }, "BAD_REQUEST", /takes 'action'/);
    // Nothing changed: the first real step equals a fresh env's.
    const ref = new PropAmmAECEnv({ lineup: [{ agent: "a" }, { agent: "b" }], sim: SIM });
    ref.reset({ seed: 3 });
    expectState(before, ref);
    ref.step([0.5, 0.5]);
    expectState(await c.ok({ cmd: "step", env_id: aec, action: toWire([0.5, 0.5], "float64", [2]) }), ref);

    const par = (
      await c.ok({ cmd: "make", api: "parallel", lineup: [{ agent: "a" }, { agent: "b" }], config: { sim: SIM_WIRE } })
    ).env_id as string;
    await c.ok({ cmd: "reset", env_id: par, seed: 1 });
    const zero = toWire([0, 0], "float32", [2]);
    await c.fail({ cmd: "step", env_id: par, actions: { a: zero } }, "ENV", /no action for 'b'/);
    await c.fail(
      { cmd: "step", env_id: par, actions: { a: zero, b: zero, q: zero } },
      "ENV",
      /'q' is not a live agent/,
    );
    await c.fail({ cmd: "step", env_id: par, actions: [zero, zero] }, "BAD_REQUEST", /'actions' must be a map/);
    await c.fail({ cmd: "step", env_id: par, action: zero }, "BAD_REQUEST", /takes 'actions'/);
    await c.fail(
      { cmd: "step", env_id: par, actions: { a: zero, b: toWire([Infinity, 0], "float64", [2]) } },
      "BAD_ACTION",
      /actions\['b'\]\[0\]/,
    );
    const r = await c.ok({ cmd: "step", env_id: par, actions: { a: zero, b: zero } });
    expect((r.acting as string[]).length).toBe(1);

    // A vector session on the same server is untouched by all this.
    const v = (await c.ok({ cmd: "make", num_envs: 2, config: { sim: SIM_WIRE } })).env_id as string;
    const rv = await c.ok({ cmd: "reset", env_id: v, seed: 1 });
    expect((rv.infos as unknown[]).length).toBe(2);
    await c.ok({ cmd: "step", env_id: v, actions: toWire([0, 0, 0, 0], "float32", [2, 2]) });
    await c.ok({ cmd: "close", env_id: aec });
    await c.ok({ cmd: "close", env_id: par });
  });
});
