/**
 * The server's answers to leaked clients, partial resets and large sessions (docs/protocol.md,
 * revision 2): a full session table evicts its longest-idle session past the eviction floor;
 * reset takes per-env `seeds` and a `mask`; an in-process session's work is sliced so another
 * client's requests are answered while a large step runs.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { VectorEnv } from "../../gym/vector-env.js";
import { RequestHandler, type ServerLimits } from "../../server/handler.js";
import { type Code, fromWire, type Msg, packr, SHORT, SIM_WIRE, toWire, wireInfo } from "../helpers/wire.js";

class Client {
  private seq = 0;
  constructor(readonly handler: RequestHandler) {}

  async send(fields: Msg, now?: number): Promise<Msg> {
    const msg = { v: 1, id: ++this.seq, ...fields };
    return packr.unpack(await this.handler.handle(packr.pack(msg), now)) as Msg;
  }

  async ok(fields: Msg, now?: number): Promise<Msg> {
    const r = await this.send(fields, now);
    expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    return r;
  }

  async fail(fields: Msg, code: Code, now?: number): Promise<string> {
    const r = await this.send(fields, now);
    expect(r.ok).toBe(false);
    const e = r.error as { code: string; message: string };
    expect(e.code, e.message).toBe(code);
    return e.message;
  }
}

const MAKE = { cmd: "make", config: { sim: SIM_WIRE } };
const zeros = (n: number): Msg => toWire(new Float32Array(2 * n), "float32", [n, 2]);

describe("a full session table evicts the longest-idle session past the floor", () => {
  const limits: Partial<ServerLimits> = { maxSessions: 2, idleTimeoutS: 600, evictIdleS: 5 };

  it("refuses while every session was used within evict_idle_s, then evicts the longest idle", async () => {
    const c = new Client(new RequestHandler(limits));
    const a = await c.ok(MAKE, 0);
    const b = await c.ok(MAKE, 1000);
    await c.ok({ cmd: "reset", env_id: b.env_id, seed: 1 }, 2000);
    const msg = await c.fail(MAKE, "TOO_MANY_SESSIONS", 4000);
    expect(msg).toContain("within the last 5 s");
    // At 6.5 s: a idle 6.5 s (evicted), b idle 4.5 s (kept).
    await c.ok(MAKE, 6500);
    expect(c.handler.evictions).toEqual([a.env_id]);
    await c.fail({ cmd: "reset", env_id: a.env_id, seed: 1 }, "UNKNOWN_ENV", 6600);
    await c.ok({ cmd: "step", env_id: b.env_id, actions: zeros(1) }, 6700);
    expect(c.handler.sessions.size).toBe(2);
    expect((await c.ok({ cmd: "hello" })).sessions_open).toBe(2);
  });

  it("never evicts a session with a request in flight", async () => {
    const h = new RequestHandler({ maxSessions: 1, evictIdleS: 1, sliceMs: 0 });
    const c = new Client(h);
    const a = await c.ok({ cmd: "make", num_envs: 64, config: { sim: SIM_WIRE } });
    await c.ok({ cmd: "reset", env_id: a.env_id, seed: 1 });
    const s = h.sessions.get(a.env_id as string, Date.now());
    expect(s).toBeDefined();
    const step = c.send({ cmd: "step", env_id: a.env_id, actions: zeros(64) });
    await nextTurn(); // the step is running, sliced
    expect(s!.inFlight).toBe(1);
    await c.fail(MAKE, "TOO_MANY_SESSIONS", Date.now() + 60_000);
    expect((await step).ok).toBe(true);
  });
});

describe("reset: per-env seeds and a mask", () => {
  it("seeds gives env i seeds[i] (nil: its own stream), like the in-process VectorEnv", async () => {
    const c = new Client(new RequestHandler());
    const made = await c.ok({ cmd: "make", num_envs: 3, config: { sim: SIM_WIRE } });
    const ref = new VectorEnv(3, SHORT);
    const r = await c.ok({ cmd: "reset", env_id: made.env_id, seeds: [7, null, 3] });
    const want = ref.reset({ seeds: [7, null, 3] });
    const infos = r.infos as Msg[];
    expect(infos[0].sim_seed).toBe(7);
    expect(infos[2].sim_seed).toBe(3);
    expect(fromWire(r.observations, "float32", [3, 5])).toEqual(Array.from(want.observations));
    expect([infos[0], infos[2]]).toEqual([0, 2].map((i) => packr.unpack(packr.pack(wireInfo(want.infos[i]!)))));
  });

  it("mask resets only the masked envs; the others keep their episode and latest observation", async () => {
    const c = new Client(new RequestHandler());
    const made = await c.ok({ cmd: "make", num_envs: 3, config: { sim: SIM_WIRE } });
    const env_id = made.env_id;
    await c.ok({ cmd: "reset", env_id, seed: 10 });
    let last: Msg = {};
    for (let t = 0; t < 3; t++) last = await c.ok({ cmd: "step", env_id, actions: zeros(3) });
    const before = fromWire(last.observations, "float32", [3, 5]);
    const r = await c.ok({ cmd: "reset", env_id, seed: 20, mask: [false, true, false] });
    const obs = fromWire(r.observations, "float32", [3, 5]);
    expect(obs.slice(0, 5)).toEqual(before.slice(0, 5));
    expect(obs.slice(10, 15)).toEqual(before.slice(10, 15));
    const infos = r.infos as Msg[];
    expect(infos[0]).toEqual({});
    expect(infos[2]).toEqual({});
    expect(infos[1]).toMatchObject({ decision: "reset", sim_seed: 21 }); // env 1 of seed 20
    // A uint8 array mask works too; env 0 and 2 then go on with their episodes.
    const u8 = { dtype: "uint8", shape: [3], data: Uint8Array.from([1, 0, 0]) };
    const again = await c.ok({ cmd: "reset", env_id, seeds: [5, null, null], mask: u8 });
    expect((again.infos as Msg[])[0]).toMatchObject({ sim_seed: 5 });
    const step = await c.ok({ cmd: "step", env_id, actions: zeros(3) });
    expect((step.infos as Msg[])[2].sim_step as number).toBeGreaterThan(300);
  });

  it("bad seeds or masks are BAD_REQUEST naming the field; a partial first reset is ENV", async () => {
    const c = new Client(new RequestHandler());
    const made = await c.ok({ cmd: "make", num_envs: 2, config: { sim: SIM_WIRE } });
    const env_id = made.env_id;
    expect(await c.fail({ cmd: "reset", env_id, mask: [true, false] }, "ENV")).toContain("first reset");
    const bad: [Msg, string][] = [
      [{ seeds: [1] }, "'seeds'"],
      [{ seeds: [1, -2] }, "'seeds[1]'"],
      [{ seeds: [1, 2.5] }, "'seeds[1]'"],
      [{ seeds: "12" }, "'seeds'"],
      [{ seed: 1, seeds: [1, 2] }, "not both"],
      [{ mask: [true] }, "'mask'"],
      [{ mask: [true, "yes"] }, "'mask'"],
      [{ mask: [false, false] }, "resets no env"],
      [{ mask: { dtype: "float32", shape: [2], data: new Uint8Array(8) } }, "'mask'"],
    ];
    for (const [fields, text] of bad) {
      expect(await c.fail({ cmd: "reset", env_id, ...fields }, "BAD_REQUEST"), JSON.stringify(fields)).toContain(text);
    }
    await c.ok({ cmd: "reset", env_id, seed: 1 }); // the session is unchanged and usable
  });
});

describe("fair scheduling", () => {
  it("a light client's steps are answered while a large session's step runs", async () => {
    const h = new RequestHandler({ sliceMs: 1 });
    const c = new Client(h);
    const heavyConfig = { decision_interval: 400, sim: { steps: 10_000, epoch_len: 1000 } };
    const heavy = await c.ok({ cmd: "make", num_envs: 256, config: heavyConfig });
    const light = await c.ok({ cmd: "make", num_envs: 1, config: { sim: SIM_WIRE } });
    await c.ok({ cmd: "reset", env_id: heavy.env_id, seed: 1 });
    await c.ok({ cmd: "reset", env_id: light.env_id, seed: 1 });
    let heavyDone = false;
    const heavyStep = c.ok({ cmd: "step", env_id: heavy.env_id, actions: zeros(256) }).then((r) => {
      heavyDone = true;
      return r;
    });
    let lightSteps = 0;
    while (!heavyDone) {
      // The next light request arrives (a macrotask, as a socket message would).
      await nextTurn();
      if (heavyDone) break;
      await c.ok({ cmd: "step", env_id: light.env_id, actions: zeros(1) });
      lightSteps++;
    }
    const r = await heavyStep;
    expect((r.infos as Msg[]).length).toBe(256);
    // Before slicing, the heavy step ran to its end before any other request: 0 light steps.
    expect(lightSteps).toBeGreaterThanOrEqual(5);
  });
});

describe("VectorEnv: sliced work is the same work", () => {
  it("stepAsync and resetAsync, pausing after every env, equal reset and step", async () => {
    const a = new VectorEnv(5, SHORT, { autoresetMode: "next_step" });
    const b = new VectorEnv(5, SHORT, { autoresetMode: "next_step" });
    let pauses = 0;
    const pause = async (): Promise<void> => {
      pauses++;
      await nextTurn();
    };
    a.reset({ seed: 0 });
    b.reset({ seed: 0 }); // then null continues a seeded stream: the same on both
    const ra = a.reset({ seeds: [3, null, 9, 1, 2] });
    const rb = await b.resetAsync({ seeds: [3, null, 9, 1, 2] }, pause, 0);
    expect(rb.observations).toEqual(ra.observations);
    expect(rb.infos[0]).toEqual(ra.infos[0]);
    for (let t = 0; t < 40; t++) {
      const actions = Float64Array.from({ length: 10 }, (_, k) => Math.sin(t * 10 + k));
      const sa = a.step(actions);
      const sb = await b.stepAsync(actions, pause, 0);
      expect(sb.observations).toEqual(sa.observations);
      expect(sb.rewards).toEqual(sa.rewards);
      expect(sb.terminated).toEqual(sa.terminated);
    }
    expect(pauses).toBeGreaterThan(40 * 4);
    // A partial reset with a mask: the same on both, the others' rows unchanged.
    const before = a.step(new Float64Array(10)).observations;
    b.step(new Float64Array(10));
    const pa = a.reset({ seed: 50, mask: [0, 1, 0, 0, 1] });
    const pb = await b.resetAsync({ seed: 50, mask: [0, 1, 0, 0, 1] }, pause, 0);
    expect(pb.observations).toEqual(pa.observations);
    expect(pa.observations.subarray(0, 5)).toEqual(before.subarray(0, 5));
    expect(pa.infos.map((i) => i?.simSeed ?? null)).toEqual([null, 51, null, null, 54]);
  });
});
