/**
 * docs/protocol.md at the handler level: RequestHandler turns one request's bytes into one
 * reply's bytes, so every command, error code, retry and limit is checked here without sockets
 * (test/server.test.ts covers the ZeroMQ side).
 *
 * The truth is independent of the server: arrays are decoded by hand (little-endian DataView) and
 * every observation, reward, flag and info is compared with an in-process VectorEnv run with the
 * same config, seeds and actions; fields, defaults, codes and limits are the ones the document
 * states. Episodes are short (1000 steps, epochs of 250) to keep the file fast.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_CONFIG, type MarketPins } from "../../env/config.js";
import type { EnvConfig, StepInfo } from "../../gym/env.js";
import { VectorEnv, type AutoresetMode, type VectorStepInfo } from "../../gym/vector-env.js";
import { RequestHandler, type ServerLimits } from "../../server/handler.js";
import { FuzzRng as Rng } from "../helpers/prng.js";
import {
  type Code,
  fromWire,
  isMap,
  type Msg,
  packr,
  PROTOCOL_CODES as CODES,
  show,
  SHORT,
  SIM_WIRE,
  toWire,
  wireInfo,
} from "../helpers/wire.js";

const COMMANDS = ["hello", "make", "reset", "step", "close", "ping"];
/** docs/gym.md: observation Box(float32, [5]) in [0,0,0,0,0]..[10,1,1,1,1]; action [-1, 1]^2. */
const OBSERVATION_SPACE = { type: "Box", shape: [5], dtype: "float32", low: [0, 0, 0, 0, 0], high: [10, 1, 1, 1, 1] };
const ACTION_SPACE = { type: "Box", shape: [2], dtype: "float32", low: [-1, -1], high: [1, 1] };

const PKG_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

// ---------------------------------------------------------------------------------------------
// Helpers: reply checks, a checked client, lockstep sessions (wire forms: test/helpers/wire.ts)
// ---------------------------------------------------------------------------------------------

/** The id a reply must carry: the request's if it is an int or a string, else nil. */
function echoOf(id: unknown): unknown {
  return typeof id === "number" || typeof id === "string" ? id : null;
}

function sameId(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));
}

/** What is wrong with a reply's envelope (docs/protocol.md, "Requests and replies"), or null. */
function envelopeProblem(reply: unknown, requestId: unknown): string | null {
  if (!isMap(reply)) return `the reply is not a map: ${show(reply)}`;
  if (reply.v !== 1) return `reply v is ${show(reply.v)}`;
  if (!("id" in reply)) return "the reply has no id";
  if (!sameId(reply.id, echoOf(requestId))) return `reply id ${show(reply.id)} for request id ${show(requestId)}`;
  if (typeof reply.ok !== "boolean") return `reply ok is ${show(reply.ok)}`;
  if (!reply.ok) {
    const keys = Object.keys(reply).sort().join(",");
    if (keys !== "error,id,ok,v") return `error reply has fields ${keys}`;
    const e = reply.error;
    if (!isMap(e) || Object.keys(e).sort().join(",") !== "code,message") return `error is ${show(e)}`;
    if (!(CODES as readonly unknown[]).includes(e.code)) return `undocumented code ${show(e.code)}`;
    if (typeof e.message !== "string" || e.message.length === 0) return "empty error message";
  }
  return null;
}

function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** A request map with the protocol version and the given id. */
function req(id: unknown, fields: Msg): Msg {
  return { v: 1, id, ...fields };
}

function expectInfos(got: unknown, ref: readonly (StepInfo | VectorStepInfo)[]): void {
  expect(Array.isArray(got), "infos is a list").toBe(true);
  const infos = got as unknown[];
  expect(infos.length).toBe(ref.length);
  infos.forEach((info, i) => {
    expect(isMap(info)).toBe(true);
    const { final_observation: finalObs, ...rest } = info as Msg;
    const r = ref[i] as VectorStepInfo;
    // Through msgpack once, so -0 and 0 compare as the wire carries them.
    expect(rest, `info ${i}`).toEqual(packr.unpack(packr.pack(wireInfo(r))));
    if (r.finalObservation) expect(fromWire(finalObs, "float32", [5])).toEqual(Array.from(r.finalObservation));
    else expect(finalObs).toBeUndefined();
  });
}

/** A handler with a checked request/reply round trip; ids count up unless given. */
class Client {
  private seq = 0;
  constructor(readonly handler: RequestHandler) {}

  async raw(msg: unknown, now?: number): Promise<Uint8Array> {
    return Uint8Array.from(await this.handler.handle(packr.pack(msg), now));
  }

  async send(fields: Msg, now?: number): Promise<Msg> {
    const msg: Msg = "id" in fields ? { v: 1, ...fields } : { v: 1, id: ++this.seq, ...fields };
    const reply = decode(await this.raw(msg, now));
    expect(envelopeProblem(reply, msg.id), `reply to ${show(msg)}`).toBeNull();
    return reply as Msg;
  }

  async ok(fields: Msg, now?: number): Promise<Msg> {
    const r = await this.send(fields, now);
    expect(r.error, `${show(fields)} failed`).toBeUndefined();
    expect(r.ok).toBe(true);
    return r;
  }

  async fail(fields: Msg, code: Code, now?: number): Promise<Msg> {
    const r = await this.send(fields, now);
    expect(r.ok, `${show(fields)} should fail with ${code}`).toBe(false);
    expect((r.error as Msg).code, `${show(fields)}: ${show(r.error)}`).toBe(code);
    return r;
  }
}

/** A server session and an in-process VectorEnv with the same config, stepped in lockstep. */
interface Pair {
  c: Client;
  envId: string;
  ref: VectorEnv;
  n: number;
}

async function makePair(
  c: Client,
  n: number,
  wireConfig: Msg = { sim: SIM_WIRE },
  config: Partial<EnvConfig> = SHORT,
  mode?: AutoresetMode,
): Promise<Pair> {
  const r = await c.ok({ cmd: "make", num_envs: n, config: wireConfig, ...(mode ? { autoreset_mode: mode } : {}) });
  const ref = await VectorEnv.create(n, config, mode ? { autoresetMode: mode } : {});
  return { c, envId: r.env_id as string, ref, n };
}

async function resetBoth(p: Pair, seed?: number, market?: { wire: Msg; ref: MarketPins }): Promise<Msg> {
  const reply = await p.c.ok({
    cmd: "reset",
    env_id: p.envId,
    seed: seed ?? null,
    ...(market ? { options: { market: market.wire } } : {}),
  });
  const ref = p.ref.reset({ seed, options: market ? { market: market.ref } : undefined });
  expect(Object.keys(reply).sort()).toEqual(["id", "infos", "observations", "ok", "v"]);
  expect(fromWire(reply.observations, "float32", [p.n, 5])).toEqual(Array.from(ref.observations));
  expectInfos(reply.infos, ref.infos);
  return reply;
}

/** Random actions in [-1.5, 1.5] (some outside the box, which is clipped). */
function randomActions(rng: Rng, n: number): number[] {
  return Array.from({ length: 2 * n }, () => rng.next() * 3 - 1.5);
}

/** Steps the session and the reference with the same actions; every reply field must match. */
async function stepBoth(
  p: Pair,
  actions: number[],
  dtype: "float32" | "float64" = "float32",
  flat = false,
  id?: unknown,
): Promise<Msg> {
  const wire = toWire(actions, dtype, flat ? [2 * p.n] : [p.n, 2]);
  const reply = await p.c.ok({ cmd: "step", env_id: p.envId, actions: wire, ...(id === undefined ? {} : { id }) });
  const values = dtype === "float32" ? Float32Array.from(actions) : Float64Array.from(actions);
  const ref = p.ref.step(values);
  expect(Object.keys(reply).sort()).toEqual([
    "id",
    "infos",
    "observations",
    "ok",
    "rewards",
    "terminated",
    "truncated",
    "v",
  ]);
  expect(fromWire(reply.observations, "float32", [p.n, 5])).toEqual(Array.from(ref.observations));
  expect(fromWire(reply.rewards, "float64", [p.n])).toEqual(Array.from(ref.rewards));
  expect(fromWire(reply.terminated, "uint8", [p.n])).toEqual(Array.from(ref.terminated));
  expect(fromWire(reply.truncated, "uint8", [p.n])).toEqual(Array.from(ref.truncated));
  expectInfos(reply.infos, ref.infos);
  return reply;
}

/** Plays until every env has ended an episode, then `extra` more steps; returns the replies. */
async function playEpisodes(p: Pair, rng: Rng, extra: number): Promise<Msg[]> {
  const replies: Msg[] = [];
  const ended = new Array<boolean>(p.n).fill(false);
  let after = 0;
  for (let k = 0; k < 400 && after <= extra; k++) {
    const r = await stepBoth(p, randomActions(rng, p.n), k % 2 === 0 ? "float32" : "float64", k % 3 === 2);
    replies.push(r);
    fromWire(r.terminated, "uint8", [p.n]).forEach((t, i) => {
      if (t) ended[i] = true;
    });
    if (ended.every(Boolean)) after++;
  }
  expect(ended, "every env ended an episode").toEqual(new Array(p.n).fill(true));
  return replies;
}

// ---------------------------------------------------------------------------------------------
// hello, ping, ids
// ---------------------------------------------------------------------------------------------

describe("hello and ping", () => {
  it("hello answers the protocol, server, spaces, default config and the documented default limits", async () => {
    const c = new Client(new RequestHandler());
    const r = await c.ok({ id: 1, cmd: "hello" });
    expect(Object.keys(r).sort()).toEqual(
      [
        "action_space",
        "default_config",
        "features",
        "id",
        "limits",
        "observation_space",
        "ok",
        "protocol",
        "revision",
        "server",
        "sessions_open",
        "v",
      ].sort(),
    );
    expect(r.protocol).toBe(1);
    expect(r.revision).toBe(3);
    expect(r.features).toEqual(["reset_seeds", "reset_mask", "evict_idle", "fair_scheduling", "multi_agent"]);
    expect(r.sessions_open).toBe(0);
    expect(r.server).toBe(`prop-amm-gym ${PKG_VERSION}`);
    expect(r.observation_space).toEqual(OBSERVATION_SPACE);
    expect(r.action_space).toEqual(ACTION_SPACE);
    // docs/protocol.md "Limits": 4 MiB, 64 sessions, 1024 envs, 600 s, eviction after 10 s.
    expect(r.limits).toEqual({
      max_message_bytes: 4 * 1024 * 1024,
      max_sessions: 64,
      max_envs_per_session: 1024,
      idle_timeout_s: 600,
      evict_idle_s: 10,
    });
    const d = r.default_config as Msg;
    expect(d).toMatchObject({
      opponents: ["starter"],
      decision_interval: 100,
      reward_mode: "dense",
      reward_scale: 0.01,
      fee_min_bps: 0,
      fee_max_bps: 250,
    });
    const sim = d.sim as Msg;
    const documented: Record<string, keyof typeof DEFAULT_CONFIG> = {
      steps: "steps",
      epoch_len: "epochLen",
      risk_lambda: "riskLambda",
      temperature: "temperature",
      min_weight: "minWeight",
      arb_profit_floor: "arbProfitFloor",
      base_reserve_x: "baseReserveX",
      base_reserve_y: "baseReserveY",
      retail_size_sigma: "retailSizeSigma",
      score_per_capital: "scorePerCapital",
      retail_enabled: "retailEnabled",
    };
    for (const [wire, key] of Object.entries(documented)) expect(sim[wire], `sim.${wire}`).toEqual(DEFAULT_CONFIG[key]);
    expect(sim.pins).toEqual({});
  });

  it("hello's limits are the handler's own", async () => {
    const c = new Client(
      new RequestHandler({
        maxMessageBytes: 5000,
        maxSessions: 3,
        maxEnvsPerSession: 7,
        idleTimeoutS: 42,
        evictIdleS: 5,
      }),
    );
    const r = await c.ok({ cmd: "hello" });
    expect(r.limits).toEqual({
      max_message_bytes: 5000,
      max_sessions: 3,
      max_envs_per_session: 7,
      idle_timeout_s: 42,
      evict_idle_s: 5,
    });
  });

  it("default_config sent back to make builds the default env", async () => {
    const c = new Client(new RequestHandler());
    const hello = await c.ok({ cmd: "hello" });
    const p = await makePair(c, 2, hello.default_config as Msg, {});
    const plain = await c.ok({ cmd: "make", num_envs: 2 });
    const a = await resetBoth(p, 7);
    const b = await c.ok({ cmd: "reset", env_id: plain.env_id, seed: 7 });
    expect(b.observations).toEqual(a.observations);
    expect(b.infos).toEqual(a.infos);
  });

  it("ping answers pong: true", async () => {
    const c = new Client(new RequestHandler());
    expect(await c.ok({ id: "p", cmd: "ping" })).toEqual({ v: 1, id: "p", ok: true, pong: true });
  });

  it("echoes int and string ids in every reply, ok or not", async () => {
    const c = new Client(new RequestHandler());
    const ids = [
      0,
      1,
      -1,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 + 5,
      -(2 ** 33),
      "",
      "a",
      "req-42",
      "ünïcødé ✓",
      "x".repeat(300),
    ];
    for (const id of ids) {
      expect((await c.ok({ id, cmd: "ping" })).id).toEqual(id);
      expect((await c.ok({ id, cmd: "hello" })).id).toEqual(id);
      expect((await c.fail({ id, cmd: "jump" }, "UNKNOWN_COMMAND")).id).toEqual(id);
      expect((await c.fail({ id, v: 7, cmd: "ping" }, "VERSION")).id).toEqual(id);
      expect((await c.fail({ id, cmd: "step", env_id: "nope" }, "UNKNOWN_ENV")).id).toEqual(id);
      const made = await c.ok({ id, cmd: "make", config: { sim: SIM_WIRE } });
      expect(made.id).toEqual(id);
      const env_id = made.env_id;
      expect((await c.fail({ id, cmd: "step", env_id, actions: toWire([0, 0], "float32", [1, 2]) }, "ENV")).id).toEqual(
        id,
      );
      expect((await c.ok({ id, cmd: "reset", env_id, seed: 1 })).id).toEqual(id);
      const step = { id: `${String(id)}/s`, cmd: "step", env_id, actions: toWire([0, 0], "float32", [1, 2]) };
      expect((await c.ok(step)).id).toEqual(step.id);
      expect((await c.ok({ id, cmd: "close", env_id })).id).toEqual(id);
    }
  });

  it("a request without an id, or with an id that is neither int nor string, is answered with id nil", async () => {
    const h = new RequestHandler();
    for (const msg of [
      { v: 1, cmd: "ping" },
      { v: 1, id: null, cmd: "ping" },
      { v: 1, id: [1], cmd: "ping" },
    ]) {
      const r = decode(await h.handle(packr.pack(msg))) as Msg;
      expect(r).toEqual({ v: 1, id: null, ok: true, pong: true });
    }
    const bad = decode(await h.handle(packr.pack({ v: 1, cmd: "jump" }))) as Msg;
    expect(bad.id).toBeNull();
  });

  it("ids sent as msgpack uint64/int64 (Python's msgpack does so from 2**32 up) are echoed", async () => {
    const h = new RequestHandler();
    // {v: 1, id: <uint64 2**40>, cmd: "ping"} and {v: 1, id: <int64 -(2**40)>, cmd: "ping"}, byte by byte.
    const head = [0x83, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64];
    const tail = [0xa3, 0x63, 0x6d, 0x64, 0xa4, 0x70, 0x69, 0x6e, 0x67];
    const u64 = Uint8Array.from([...head, 0xcf, 0, 0, 1, 0, 0, 0, 0, 0, ...tail]);
    const i64 = Uint8Array.from([...head, 0xd3, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, ...tail]);
    const r1 = decode(await h.handle(u64)) as Msg;
    const r2 = decode(await h.handle(i64)) as Msg;
    expect(r1.ok).toBe(true);
    expect(r1.id === null ? null : Number(r1.id)).toBe(2 ** 40);
    expect(r2.id === null ? null : Number(r2.id)).toBe(-(2 ** 40));
  });
});

// ---------------------------------------------------------------------------------------------
// make, reset, step, close
// ---------------------------------------------------------------------------------------------

describe("make, reset, step and close", () => {
  it("make answers env_id, num_envs, spaces and the autoreset mode", async () => {
    const c = new Client(new RequestHandler());
    const r = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } });
    expect(Object.keys(r).sort()).toEqual(
      ["action_space", "autoreset_mode", "env_id", "id", "num_envs", "observation_space", "ok", "v"].sort(),
    );
    expect(typeof r.env_id).toBe("string");
    expect(r.num_envs).toBe(1);
    expect(r.autoreset_mode).toBe("next_step");
    expect(r.observation_space).toEqual(OBSERVATION_SPACE);
    expect(r.action_space).toEqual(ACTION_SPACE);
    const s = await c.ok({ cmd: "make", num_envs: 3, autoreset_mode: "same_step", config: null });
    expect(s.num_envs).toBe(3);
    expect(s.autoreset_mode).toBe("same_step");
    expect(s.env_id).not.toBe(r.env_id);
  });

  it("a next_step session's whole trajectory equals the in-process VectorEnv's, bit for bit", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 3);
    await resetBoth(p, 11);
    const replies = await playEpisodes(p, new Rng(1), 2);
    // The step after an episode ended reset that env: info.autoreset, reward 0, flags 0.
    const autoresets = replies.flatMap((r) => (r.infos as Msg[]).filter((i) => i.autoreset === true));
    expect(autoresets.length).toBeGreaterThan(0);
    const ends = replies.flatMap((r) => (r.infos as Msg[]).filter((i) => i.episode !== undefined));
    expect(ends.length).toBeGreaterThanOrEqual(3);
    const episode = ends[0].episode as Msg;
    expect((episode.pools as Msg[]).map((q) => q.name).length).toBe(3); // agent, starter, normalizer
    expect((episode.agent_epochs as Msg[]).length).toBe(4); // 1000 steps, epochs of 250
  });

  it("a same_step session carries final_observation and final_info like the in-process VectorEnv", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2, { sim: SIM_WIRE }, SHORT, "same_step");
    await resetBoth(p, 5);
    const replies = await playEpisodes(p, new Rng(2), 1);
    const finals = replies.flatMap((r) => (r.infos as Msg[]).filter((i) => i.final_info !== undefined));
    expect(finals.length).toBeGreaterThanOrEqual(2);
    for (const f of finals) expect((f.final_info as Msg).decision).toBe("end");
  });

  it("config and reset options map onto the env's configuration", async () => {
    const c = new Client(new RequestHandler());
    const wire = {
      opponents: ["fixed:30", "normalizer"],
      decision_interval: 40,
      reward_mode: "sparse",
      reward_scale: 0.5,
      fee_min_bps: 10,
      fee_max_bps: 120,
      sim: {
        steps: 1000,
        epoch_len: 250,
        risk_lambda: 1.5,
        temperature: 2,
        min_weight: 0.05,
        retail_size_sigma: 0.8,
        score_per_capital: true,
        pins: { sigma: 0.002, retail_rate: 0.9 },
      },
    };
    const config: Partial<EnvConfig> = {
      opponents: ["fixed:30", "normalizer"],
      decisionInterval: 40,
      rewardMode: "sparse",
      rewardScale: 0.5,
      feeMinBps: 10,
      feeMaxBps: 120,
      sim: {
        steps: 1000,
        epochLen: 250,
        riskLambda: 1.5,
        temperature: 2,
        minWeight: 0.05,
        retailSizeSigma: 0.8,
        scorePerCapital: true,
        pins: { sigma: 0.002, retailRate: 0.9 },
      },
    };
    const p = await makePair(c, 2, wire, config);
    await resetBoth(p, 3, {
      wire: { normalizer_fee_bps: 45, retail_mean_size: 15 },
      ref: { normalizerFeeBps: 45, retailMeanSize: 15 },
    });
    const rng = new Rng(3);
    for (let k = 0; k < 6; k++) await stepBoth(p, randomActions(rng, 2), "float64");
    // A config that differs (fee range) must give a different trajectory: the mapping is not ignored.
    const q = await makePair(c, 2, { ...wire, fee_max_bps: 200 }, { ...config, feeMaxBps: 200 });
    await resetBoth(q, 3);
    const r1 = await stepBoth(q, [1, 1, 1, 1]);
    const fees = (r1.infos as Msg[])[0].fees_bps as number[];
    expect(fees[0]).toBeCloseTo(200, 6);
    expect(fees[1]).toBeCloseTo(200, 6);
  });

  it("reset with seed nil continues each env's own stream, and seed s gives env i the seed s + i", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 3);
    const first = await resetBoth(p, 40);
    expect((first.infos as Msg[]).map((i) => i.sim_seed)).toEqual([40, 41, 42]);
    await stepBoth(p, [0, 0, 0.5, 0.5, -1, 1]);
    const next = await resetBoth(p);
    expect((next.infos as Msg[]).map((i) => i.sim_seed)).not.toEqual([40, 41, 42]);
    await stepBoth(p, [0.2, 0.1, 0, 0, 1, -1]);
  });

  it("actions outside [-1, 1] act as the bound they are clipped to", async () => {
    const c = new Client(new RequestHandler());
    const a = await c.ok({ cmd: "make", num_envs: 2, config: { sim: SIM_WIRE } });
    const b = await c.ok({ cmd: "make", num_envs: 2, config: { sim: SIM_WIRE } });
    await c.ok({ cmd: "reset", env_id: a.env_id, seed: 9 });
    await c.ok({ cmd: "reset", env_id: b.env_id, seed: 9 });
    for (let k = 0; k < 5; k++) {
      const id = `s${k}`;
      const wide = toWire([5, -7, 1e30, -1.0000001], "float64", [2, 2]);
      const ra = await c.ok({ id, cmd: "step", env_id: a.env_id, actions: wide });
      const rb = await c.ok({ id, cmd: "step", env_id: b.env_id, actions: toWire([1, -1, 1, -1], "float32", [4]) });
      expect(ra).toEqual(rb);
    }
  });

  it("close answers closed: true and the id is then unknown", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    await resetBoth(p, 1);
    expect(await c.ok({ id: 9, cmd: "close", env_id: p.envId })).toEqual({ v: 1, id: 9, ok: true, closed: true });
    expect(c.handler.sessions.size).toBe(0);
    await c.fail({ cmd: "step", env_id: p.envId, actions: toWire([0, 0], "float32", [1, 2]) }, "UNKNOWN_ENV");
    await c.fail({ cmd: "reset", env_id: p.envId, seed: 1 }, "UNKNOWN_ENV");
    await c.fail({ cmd: "close", env_id: p.envId }, "UNKNOWN_ENV");
  });
});

// ---------------------------------------------------------------------------------------------
// Error codes
// ---------------------------------------------------------------------------------------------

describe("error codes", () => {
  it("BAD_MESSAGE: not msgpack, or not a map (id nil)", async () => {
    const h = new RequestHandler();
    const valid = packr.pack({ v: 1, id: 3, cmd: "ping" });
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["0xc1 (never used)", Uint8Array.of(0xc1)],
      ["truncated map", valid.subarray(0, valid.length - 2)],
      ["a map and a trailing byte", Uint8Array.from([...valid, 0xc0])],
      ["an int", packr.pack(5)],
      ["a string", packr.pack("ping")],
      ["a list", packr.pack([{ v: 1, id: 3, cmd: "ping" }])],
      ["nil", packr.pack(null)],
      ["a bool", packr.pack(true)],
      ["a float", packr.pack(1.5)],
      ["bin", packr.pack(Uint8Array.of(1, 2, 3))],
    ];
    for (const [what, bytes] of cases) {
      const r = decode(await h.handle(bytes));
      expect.soft(envelopeProblem(r, null), what).toBeNull();
      expect.soft((r as Msg).ok, what).toBe(false);
      expect.soft(((r as Msg).error as Msg).code, what).toBe("BAD_MESSAGE");
    }
  });

  it("TOO_LARGE: a message one byte above max_message_bytes (exactly at the limit is answered)", async () => {
    const limit = 1024;
    const h = new RequestHandler({ maxMessageBytes: limit });
    const sized = (bytes: number): Uint8Array => {
      for (let pad = 0; pad < bytes; pad++) {
        const b = packr.pack({ v: 1, id: 5, cmd: "ping", pad: "x".repeat(pad) });
        if (b.byteLength === bytes) return Uint8Array.from(b);
      }
      throw new Error(`no padding gives ${bytes} bytes`);
    };
    const at = decode(await h.handle(sized(limit))) as Msg;
    expect(at).toEqual({ v: 1, id: 5, ok: true, pong: true });
    const above = decode(await h.handle(sized(limit + 1))) as Msg;
    expect(above.ok).toBe(false);
    expect((above.error as Msg).code).toBe("TOO_LARGE");
    expect([null, 5]).toContain(above.id);
    const far = decode(await h.handle(new Uint8Array(10 * limit))) as Msg;
    expect((far.error as Msg).code).toBe("TOO_LARGE");
  });

  it("VERSION: v missing or not 1 (id still echoed)", async () => {
    const c = new Client(new RequestHandler());
    for (const v of [2, 0, -1, "1", 1.5, null, true, [1], { major: 1 }]) {
      const r = await c.send({ id: "vv", v, cmd: "ping" });
      expect.soft((r.error as Msg | undefined)?.code, show(v)).toBe("VERSION");
    }
    const h = c.handler;
    const missing = decode(await h.handle(packr.pack({ id: 4, cmd: "ping" }))) as Msg;
    expect(missing).toMatchObject({ v: 1, id: 4, ok: false, error: { code: "VERSION" } });
  });

  it("VERSION (not INTERNAL) for a v that decodes to a map with a toString or valueOf key", async () => {
    const c = new Client(new RequestHandler());
    for (const v of [{ toString: 1 }, { valueOf: 2, toString: 3 }, [{ toString: 1 }]]) {
      const r = await c.send({ id: "v", v, cmd: "ping" });
      expect.soft((r.error as Msg | undefined)?.code, `v = ${show(v)}: ${show(r.error)}`).toBe("VERSION");
    }
  });

  it("BAD_REQUEST: a field missing or of the wrong type or range", async () => {
    const c = new Client(new RequestHandler({ maxEnvsPerSession: 8 }));
    const p = await makePair(c, 2);
    await resetBoth(p, 1);
    const env_id = p.envId;
    const cases: Msg[] = [
      {},
      { cmd: null },
      { cmd: 1 },
      { cmd: ["ping"] },
      { cmd: "reset" },
      { cmd: "step", actions: toWire([0, 0, 0, 0], "float32", [2, 2]) },
      { cmd: "close" },
      { cmd: "close", env_id: 5 },
      { cmd: "reset", env_id: [env_id] },
      { cmd: "make", num_envs: 0 },
      { cmd: "make", num_envs: -1 },
      { cmd: "make", num_envs: 1.5 },
      { cmd: "make", num_envs: "2" },
      { cmd: "make", num_envs: true },
      { cmd: "make", num_envs: 9 },
      { cmd: "make", autoreset_mode: "sometimes" },
      { cmd: "make", autoreset_mode: 1 },
      { cmd: "reset", env_id, seed: -1 },
      { cmd: "reset", env_id, seed: 1.5 },
      { cmd: "reset", env_id, seed: "3" },
      { cmd: "reset", env_id, seed: true },
      { cmd: "reset", env_id, seed: 2 ** 53 },
      { cmd: "reset", env_id, seed: [1] },
      { cmd: "reset", env_id, seed: 1, options: [] },
      { cmd: "reset", env_id, seed: 1, options: "market" },
      { cmd: "reset", env_id, seed: 1, options: 5 },
      { cmd: "reset", env_id, seed: 1, options: { bogus: 1 } },
    ];
    for (const fields of cases) {
      const r = await c.send(fields);
      expect.soft((r.error as Msg | undefined)?.code, `${show(fields)}: ${show(r)}`).toBe("BAD_REQUEST");
    }
    expect(c.handler.sessions.size).toBe(1);
  });

  it("BAD_REQUEST for options or config that are not maps (bin, timestamp)", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    await resetBoth(p, 1);
    for (const options of [new Uint8Array(0), Uint8Array.of(1), new Date(0)]) {
      const r = await c.send({ cmd: "reset", env_id: p.envId, seed: 2, options });
      expect.soft((r.error as Msg | undefined)?.code, `options ${show(options)}: ${show(r)}`).toBe("BAD_REQUEST");
    }
    for (const config of [Uint8Array.of(1), new Date(0)]) {
      const r = await c.send({ cmd: "make", config });
      const code = (r.error as Msg | undefined)?.code;
      expect.soft(["CONFIG", "BAD_REQUEST"], `config ${show(config)}: ${show(r)}`).toContain(code);
    }
  });

  it("UNKNOWN_COMMAND: cmd is a string naming no command", async () => {
    const c = new Client(new RequestHandler());
    for (const cmd of ["jump", "HELLO", "Ping", "step ", "", "constructor", "__proto__", "toString"]) {
      const r = await c.fail({ cmd }, "UNKNOWN_COMMAND");
      expect((r.error as Msg).message).toContain(cmd);
    }
  });

  it("UNKNOWN_ENV: an env_id never made or already closed", async () => {
    const c = new Client(new RequestHandler());
    const made = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } });
    await c.ok({ cmd: "close", env_id: made.env_id });
    for (const env_id of ["nope", "", "e1", "__proto__", made.env_id]) {
      await c.fail({ cmd: "reset", env_id, seed: 1 }, "UNKNOWN_ENV");
      await c.fail({ cmd: "step", env_id, actions: toWire([0, 0], "float32", [1, 2]) }, "UNKNOWN_ENV");
      await c.fail({ cmd: "close", env_id }, "UNKNOWN_ENV");
    }
  });

  it("BAD_ACTION: wrong shape, dtype, byte length or type; NaN or infinity", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2);
    await resetBoth(p, 4);
    const z = (n: number) => new Array<number>(n).fill(0.25);
    const bad: unknown[] = [
      undefined,
      null,
      [0.1, 0.2, 0.3, 0.4],
      "0.1,0.2,0.3,0.4",
      toWire(z(6), "float32", [2, 3]),
      toWire(z(2), "float32", [1, 2]),
      toWire(z(6), "float32", [3, 2]),
      toWire(z(3), "float32", [3]),
      toWire(z(4), "float32", [2, 2, 1]),
      toWire(z(4), "float32", [4, 1]),
      toWire(z(4), "float32", [1, 4]),
      toWire(z(4), "float32", "2,2"),
      toWire(z(4), "float32", [2.5, 2]),
      toWire(z(4), "float32", [-2, -2]),
      { ...toWire(z(4), "float32", [2, 2]), dtype: "uint8" },
      { ...toWire(z(4), "float32", [2, 2]), dtype: "int32" },
      { ...toWire(z(4), "float32", [2, 2]), dtype: "float16" },
      { ...toWire(z(4), "float32", [2, 2]), dtype: "<f4" },
      { ...toWire(z(4), "float32", [2, 2]), dtype: undefined },
      { dtype: "float32", shape: [2, 2], data: new Uint8Array(15) },
      { dtype: "float64", shape: [2, 2], data: new Uint8Array(16) },
      { dtype: "float32", shape: [2, 2], data: [0, 0, 0, 0] },
      { dtype: "float32", shape: [2, 2], data: "\u0000".repeat(16) },
      { dtype: "float32", shape: [2, 2] },
    ];
    for (const dtype of ["float32", "float64"] as const) {
      for (const x of [NaN, Infinity, -Infinity]) {
        for (let i = 0; i < 4; i++)
          bad.push(
            toWire(
              z(4).map((v, j) => (j === i ? x : v)),
              dtype,
              i % 2 ? [4] : [2, 2],
            ),
          );
      }
    }
    for (const actions of bad) {
      const fields: Msg = { cmd: "step", env_id: p.envId };
      if (actions !== undefined) fields.actions = actions;
      const r = await c.send(fields);
      expect.soft((r.error as Msg | undefined)?.code, `actions ${show(actions)}: ${show(r)}`).toBe("BAD_ACTION");
    }
    await stepBoth(p, [0.25, 0.25, 0.25, 0.25]); // nothing above moved the env
  });

  it("CONFIG: a configuration value out of range, named in the message", async () => {
    const c = new Client(new RequestHandler());
    const cases: [unknown, RegExp][] = [
      ["fast", /config/],
      [[], /config/],
      [{ bogus: 1 }, /bogus/],
      [{ reward_scale: -1 }, /reward_?scale/i],
      [{ reward_scale: "big" }, /reward_?scale/i],
      [{ reward_mode: "medium" }, /reward_?mode/i],
      [{ fee_min_bps: 300, fee_max_bps: 200 }, /fee_?(min|max)_?bps/i],
      [{ fee_max_bps: 10000 }, /fee_?max_?bps/i],
      [{ decision_interval: 1.5 }, /decision_?interval/i],
      [{ decision_interval: -3 }, /decision_?interval/i],
      [{ opponents: ["no-such-strategy"] }, /no-such-strategy/],
      [{ opponents: "starter" }, /opponents/],
      [{ opponents: [1] }, /opponents/],
      [{ opponents: Array.from({ length: 16 }, () => "starter") }, /strateg/i],
      [{ sim: 5 }, /sim/],
      [{ sim: { steps: 0 } }, /steps/],
      [{ sim: { steps: "many" } }, /steps/],
      [{ sim: { epoch_len: -5 } }, /epoch_?len/i],
      [{ sim: { min_weight: 2 } }, /min_?weight/i],
      [{ sim: { temperature: 0 } }, /temperature/],
      [{ sim: { retail_enabled: 1 } }, /retail_?enabled/i],
      [{ sim: { bogus: 1 } }, /bogus/],
      [{ sim: { pins: { sigma: 2 } } }, /sigma/],
      [{ sim: { pins: { bogus: 1 } } }, /bogus/],
      [{ sim: { pins: [] } }, /pins/],
    ];
    for (const [config, names] of cases) {
      const r = await c.send({ cmd: "make", config });
      const e = r.error as Msg | undefined;
      expect.soft(e?.code, `config ${show(config)}: ${show(r)}`).toBe("CONFIG");
      expect.soft(String(e?.message), `config ${show(config)}`).toMatch(names);
    }
    expect(c.handler.sessions.size, "a refused make opens no session").toBe(0);
    const p = await makePair(c, 1);
    await resetBoth(p, 1);
    for (const [market, names] of [
      [5, /market/],
      [{ bogus: 1 }, /bogus/],
      [{ sigma: "x" }, /sigma/],
    ] as [unknown, RegExp][]) {
      const r = await c.send({ cmd: "reset", env_id: p.envId, seed: 2, options: { market } });
      expect.soft((r.error as Msg | undefined)?.code, `market ${show(market)}`).toBe("CONFIG");
      expect.soft(String((r.error as Msg | undefined)?.message), `market ${show(market)}`).toMatch(names);
    }
    await stepBoth(p, [0.3, -0.3]);
  });

  it("ENV: step before reset", async () => {
    const c = new Client(new RequestHandler());
    const made = await c.ok({ cmd: "make", num_envs: 2, config: { sim: SIM_WIRE } });
    const r = await c.fail(
      { cmd: "step", env_id: made.env_id, actions: toWire([0, 0, 0, 0], "float32", [2, 2]) },
      "ENV",
    );
    expect((r.error as Msg).message).toMatch(/reset/);
  });

  it("TOO_MANY_SESSIONS at max_sessions; closing one makes room", async () => {
    const c = new Client(new RequestHandler({ maxSessions: 3 }));
    const ids: unknown[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.ok({ cmd: "make", config: { sim: SIM_WIRE } })).env_id);
    const r = await c.fail({ id: "fourth", cmd: "make", config: { sim: SIM_WIRE } }, "TOO_MANY_SESSIONS");
    expect(r.id).toBe("fourth");
    expect(c.handler.sessions.size).toBe(3);
    for (const env_id of ids) await c.ok({ cmd: "reset", env_id, seed: 1 }); // the open ones still work
    await c.ok({ cmd: "close", env_id: ids[1] });
    await c.ok({ cmd: "make", config: { sim: SIM_WIRE } });
    await c.fail({ cmd: "make", config: { sim: SIM_WIRE } }, "TOO_MANY_SESSIONS");
  });

  it("INTERNAL: a failure inside the handler is answered, names what failed, and the handler goes on", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    await resetBoth(p, 2);
    const spy = vi.spyOn(c.handler.sessions, "get").mockImplementationOnce(() => {
      throw new Error("boom in sessions.get");
    });
    const r = await c.fail({ cmd: "step", env_id: p.envId, actions: toWire([0, 0], "float32", [1, 2]) }, "INTERNAL");
    expect((r.error as Msg).message).toContain("boom in sessions.get");
    spy.mockRestore();
    await stepBoth(p, [0, 0]);
    await c.ok({ cmd: "hello" });
  });
});

// ---------------------------------------------------------------------------------------------
// A failed request leaves the session unchanged
// ---------------------------------------------------------------------------------------------

describe("a refused request leaves the session as it was", () => {
  it("after rejected steps and resets, the next step and reset equal an untouched env's", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2);
    await resetBoth(p, 5);
    await stepBoth(p, [0.1, 0.2, 0.3, 0.4]);
    const env_id = p.envId;
    await c.fail({ cmd: "step", env_id, actions: toWire([NaN, 0, 0, 0], "float32", [2, 2]) }, "BAD_ACTION");
    await c.fail({ cmd: "step", env_id, actions: toWire([0, 0, 0, 0, 0, 0], "float32", [3, 2]) }, "BAD_ACTION");
    await c.fail({ cmd: "step", env_id, actions: toWire([0, 0, 0, Infinity], "float64", [4]) }, "BAD_ACTION");
    await c.fail({ cmd: "reset", env_id, seed: -4 }, "BAD_REQUEST");
    await c.fail({ cmd: "reset", env_id, seed: 9, options: { bogus: {} } }, "BAD_REQUEST");
    await c.fail({ cmd: "reset", env_id, seed: 9, options: { market: { bogus: 1 } } }, "CONFIG");
    await c.fail({ cmd: "step", env_id, v: 3, actions: toWire([0, 0, 0, 0], "float32", [2, 2]) }, "VERSION");
    await c.fail({ cmd: "stepp", env_id, actions: toWire([0, 0, 0, 0], "float32", [2, 2]) }, "UNKNOWN_COMMAND");
    await stepBoth(p, [-0.5, 0.5, 1, -1]);
    await resetBoth(p); // the envs' own seed streams were not touched either
    await stepBoth(p, [0, 0, 0, 0]);
  });

  it("a reset refused for an out-of-range market pin (CONFIG) leaves the session as it was", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2);
    await resetBoth(p, 5);
    await stepBoth(p, [0.1, 0.2, 0.3, 0.4]);
    await c.fail({ cmd: "reset", env_id: p.envId, seed: 9, options: { market: { sigma: 5 } } }, "CONFIG");
    await stepBoth(p, [-0.5, 0.5, 1, -1]);
    await resetBoth(p); // nil seed: continues the streams of the seed-5 reset; no pin carried over
    await stepBoth(p, [0, 0, 0, 0]);
  });

  it("a reset whose seed + i leaves the int range is refused (BAD_REQUEST) before any env is reset", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2);
    await resetBoth(p, 5);
    await stepBoth(p, [0.1, 0.2, 0.3, 0.4]);
    const r = await c.send({ cmd: "reset", env_id: p.envId, seed: Number.MAX_SAFE_INTEGER });
    expect.soft(r.ok).toBe(false);
    expect.soft((r.error as Msg | undefined)?.code, show(r.error)).toBe("BAD_REQUEST");
    await stepBoth(p, [-0.5, 0.5, 1, -1]);
  });

  it("a seed sent as msgpack uint64 (Python's msgpack does so from 2**32 up) is accepted", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    // {v: 1, id: 1, cmd: "reset", env_id: <id>, seed: <uint64 2**32>}
    const head = packr.pack({ v: 1, id: 1, cmd: "reset", env_id: p.envId, seed: null });
    const bytes = Uint8Array.from([...head.subarray(0, head.length - 1), 0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
    const r = decode(await c.handler.handle(bytes)) as Msg;
    expect(r.error, show(r.error)).toBeUndefined();
    expect((r.infos as Msg[])[0].sim_seed).toBe(2 ** 32);
  });
});

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

describe("retried requests", () => {
  it("a repeated reset or step with the same id gets the identical reply bytes and does not run again", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 2);
    const other = await makePair(c, 1);
    await resetBoth(other, 1);
    const h = c.handler;
    const resetMsg = req("r-1", { cmd: "reset", env_id: p.envId, seed: 3 });
    const first = Uint8Array.from(await h.handle(packr.pack(resetMsg)));
    const ref = p.ref.reset({ seed: 3 });
    expect(fromWire((decode(first) as Msg).observations, "float32", [2, 5])).toEqual(Array.from(ref.observations));
    expect(Buffer.from(await h.handle(packr.pack(resetMsg))).equals(first)).toBe(true);

    const a1 = [0.5, -0.5, 0.25, 0.75];
    const a2 = [-1, 1, 0, 0];
    const s1 = Uint8Array.from(
      await h.handle(packr.pack(req(7, { cmd: "step", env_id: p.envId, actions: toWire(a1, "float64", [2, 2]) }))),
    );
    const r1 = p.ref.step(a1);
    expect(fromWire((decode(s1) as Msg).rewards, "float64", [2])).toEqual(Array.from(r1.rewards));
    // Traffic in between, on this handler and another session.
    await c.ok({ cmd: "hello" });
    await c.fail({ cmd: "jump" }, "UNKNOWN_COMMAND");
    await stepBoth(other, [0, 0]);
    // The retry (even with other actions) is answered from the last reply, byte for byte.
    for (const actions of [a1, a2]) {
      const again = await h.handle(
        packr.pack(req(7, { cmd: "step", env_id: p.envId, actions: toWire(actions, "float64", [2, 2]) })),
      );
      expect(Buffer.from(again).equals(s1)).toBe(true);
    }
    // So the next step is the env's second, not its third.
    await stepBoth(p, a2, "float64", false, 8);
  });

  it('only the session\'s last id is replayed; 7 and "7" differ; requests without an id always run', async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    await resetBoth(p, 6);
    await stepBoth(p, [0.1, 0.1], "float32", false, 7);
    await stepBoth(p, [0.2, 0.2], "float32", false, "7");
    await stepBoth(p, [0.3, 0.3], "float32", false, 8);
    await stepBoth(p, [0.4, 0.4], "float32", false, 7); // not the last id: a new step
    await stepBoth(p, [0.5, 0.5], "float32", false, null);
    await stepBoth(p, [0.6, 0.6], "float32", false, null);
  });

  it("a retry of a refused request runs it", async () => {
    const c = new Client(new RequestHandler());
    const p = await makePair(c, 1);
    await resetBoth(p, 8);
    await c.fail({ id: 5, cmd: "step", env_id: p.envId, actions: toWire([NaN, 0], "float32", [1, 2]) }, "BAD_ACTION");
    await stepBoth(p, [0.5, 0.5], "float32", false, 5);
  });
});

// ---------------------------------------------------------------------------------------------
// Idle sessions
// ---------------------------------------------------------------------------------------------

describe("idle sessions", () => {
  const limits: Partial<ServerLimits> = { idleTimeoutS: 10, maxSessions: 2 };

  it("the sweep frees sessions idle longer than idle_timeout_s; their ids are then UNKNOWN_ENV", async () => {
    const c = new Client(new RequestHandler(limits));
    const a = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } }, 0);
    const b = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } }, 1000);
    await c.ok({ cmd: "reset", env_id: a.env_id, seed: 1 }, 5000);
    await c.fail({ cmd: "make", config: { sim: SIM_WIRE } }, "TOO_MANY_SESSIONS", 6000);
    // At 11.5 s, b has been idle 10.5 s (freed), a 6.5 s (kept): the make that sweeps finds room.
    await c.ok({ cmd: "make", config: { sim: SIM_WIRE } }, 11_500);
    await c.fail({ cmd: "reset", env_id: b.env_id, seed: 1 }, "UNKNOWN_ENV", 11_600);
    await c.fail({ cmd: "close", env_id: b.env_id }, "UNKNOWN_ENV", 11_600);
    await c.ok({ cmd: "step", env_id: a.env_id, actions: toWire([0, 0], "float32", [1, 2]) }, 11_700);
    expect(c.handler.sessions.size).toBe(2);
  });

  it("a session unused for longer than idle_timeout_s is UNKNOWN_ENV on its next use", async () => {
    const c = new Client(new RequestHandler(limits));
    const a = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } }, 0);
    await c.ok({ cmd: "reset", env_id: a.env_id, seed: 1 }, 1000);
    await c.fail({ cmd: "step", env_id: a.env_id, actions: toWire([0, 0], "float32", [1, 2]) }, "UNKNOWN_ENV", 60_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz
// ---------------------------------------------------------------------------------------------

const KEY_POOL = [
  "v",
  "id",
  "cmd",
  "env_id",
  "seed",
  "options",
  "actions",
  "config",
  "num_envs",
  "autoreset_mode",
  "market",
  "dtype",
  "shape",
  "data",
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "prototype",
  "length",
  "0",
  "",
];

/** A map with own keys (including "__proto__" as a plain key). */
function mapOf(entries: [string, unknown][]): Msg {
  const m: Msg = {};
  for (const [k, v] of entries) Object.defineProperty(m, k, { value: v, enumerable: true, writable: true });
  return m;
}

/** Any msgpack value msgpackr can send: scalars, strings, bin, 64-bit ints, maps with odd keys, nesting. */
function junk(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 9 : 12)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, 1, -1, 2, 7, 255, 256, 65535, -129, 2 ** 31, 2 ** 32, -(2 ** 40), 2 ** 53, 2 ** 60]);
    case 3:
      return r.pick([0.5, -0, NaN, Infinity, -Infinity, 1e300, -1e-300, Math.PI, Number.MAX_VALUE]);
    case 4:
      return r.word(r.int(12));
    case 5:
      return r.pick(["", "1", "hello", "step", "null", "\u0000", "é✓🚀", "x".repeat(300), "float32"]);
    case 6:
      return r.bytes(1 + r.int(20));
    case 7:
      return r.pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, -1n, -(2n ** 40n)]);
    case 8:
      return mapOf([[r.pick(["toString", "valueOf", "__proto__", "constructor"]), r.pick([1, "x", null, [1]])]]);
    case 9:
      return Array.from({ length: r.int(4) }, () => junk(r, depth + 1));
    case 10:
      return mapOf(
        Array.from({ length: r.int(4) }, () => [r.chance(0.7) ? r.pick(KEY_POOL) : r.word(4), junk(r, depth + 1)]),
      );
    default:
      return new Date(r.int(2 ** 40));
  }
}

function junkWhere(r: Rng, ok: (x: unknown) => boolean): unknown {
  for (;;) {
    const x = junk(r);
    if (ok(x)) return x;
  }
}

const present = (x: unknown): boolean => x !== null && x !== undefined;
const notDate = (x: unknown): boolean => !(x instanceof Date);
/** Big ints are kept out of int fields: how the server should read msgpack int64 is tested on its own above. */
const noBigInt = (x: unknown): boolean => typeof x !== "bigint";

interface FuzzTarget {
  envId: string;
  closedId: string;
  n: number;
  maxEnvs: number;
}

/** Market pins (or a sim.pins map) that are always refused. */
function badPins(r: Rng): unknown {
  switch (r.int(4)) {
    case 0:
      return junkWhere(r, (x) => !isMap(x) || x instanceof Uint8Array);
    case 1:
      return { [r.pick(["sgima", "volatility", "Sigma", r.word(5)])]: 0.001 };
    case 2:
      return {
        [r.pick(["sigma", "retail_rate", "retail_mean_size", "normalizer_fee_bps", "normalizer_liquidity"])]: junkWhere(
          r,
          (x) => typeof x !== "number",
        ),
      };
    default:
      return r.pick([
        { sigma: 5 },
        { sigma: -1 },
        { sigma: NaN },
        { retail_rate: 2000 },
        { normalizer_fee_bps: 10000 },
        { normalizer_liquidity: 0 },
        { retail_mean_size: -3 },
      ]);
  }
}

/** A config that make must refuse with CONFIG. */
function badConfig(r: Rng): unknown {
  const notNumber = (x: unknown): boolean => typeof x !== "number";
  switch (r.int(12)) {
    case 0:
      return junkWhere(r, (x) => present(x) && notDate(x) && (!isMap(x) || x instanceof Uint8Array));
    case 1:
      return mapOf([[r.pick(["__proto__", "constructor", "toString", "Sim", "steps", r.word(6)]), junk(r)]]);
    case 2:
      return {
        opponents: r.chance(0.5)
          ? junkWhere(r, (x) => !Array.isArray(x))
          : ["starter", r.chance(0.5) ? junk(r) : `zz${r.word(4).replace(/[^a-z]/g, "")}`],
      };
    case 3:
      return { decision_interval: r.chance(0.5) ? junkWhere(r, notNumber) : r.pick([-1, 1.5, NaN, Infinity]) };
    case 4:
      return { reward_mode: junkWhere(r, (x) => x !== "dense" && x !== "sparse") };
    case 5:
      return { reward_scale: r.chance(0.5) ? junkWhere(r, notNumber) : r.pick([0, -1, NaN, Infinity]) };
    case 6:
      return {
        [r.pick(["fee_min_bps", "fee_max_bps"])]: r.chance(0.5)
          ? junkWhere(r, notNumber)
          : r.pick([-1, 10000, NaN, -Infinity]),
      };
    case 7:
      return { sim: junkWhere(r, (x) => notDate(x) && (!isMap(x) || x instanceof Uint8Array)) };
    case 8:
      return { sim: mapOf([[r.pick(["bogus", "epochLen", "constructor", "toString", r.word(5)]), 1]]) };
    case 9:
      return {
        sim: { [r.pick(["steps", "epoch_len"])]: r.chance(0.5) ? junkWhere(r, notNumber) : r.pick([0, -3, 1.5, NaN]) },
      };
    case 10:
      return {
        sim: r.chance(0.5)
          ? { [r.pick(["retail_enabled", "score_per_capital"])]: junkWhere(r, (x) => typeof x !== "boolean") }
          : r.pick([{ min_weight: 2 }, { temperature: 0 }, { base_reserve_x: -5 }, { risk_lambda: -1 }]),
      };
    default:
      return { sim: { pins: badPins(r) } };
  }
}

interface FuzzCase {
  /** The kind of defect, to group failures by. */
  kind: string;
  what: string;
  bytes: Uint8Array;
  id: unknown;
  /** Acceptable codes; null: any documented code but INTERNAL. */
  codes: Code[] | null;
}

/** One malformed request; every one must be refused. */
function fuzzCase(r: Rng, k: number, t: FuzzTarget): FuzzCase {
  const id = r.chance(0.5) ? 1_000_000 + k : `fz-${k}`;
  const actions = toWire([0.1, 0.2, 0.3, 0.4], "float32", [2, 2]);
  const templates: Record<string, () => Msg> = {
    hello: () => ({ v: 1, id, cmd: "hello" }),
    ping: () => ({ v: 1, id, cmd: "ping" }),
    make: () => ({ v: 1, id, cmd: "make", num_envs: 1, autoreset_mode: "next_step", config: { sim: SIM_WIRE } }),
    reset: () => ({ v: 1, id, cmd: "reset", env_id: t.envId, seed: 3, options: { market: { sigma: 0.002 } } }),
    step: () => ({ v: 1, id, cmd: "step", env_id: t.envId, actions }),
    close: () => ({ v: 1, id, cmd: "close", env_id: t.envId }),
  };
  const template = () => templates[r.pick(COMMANDS)]();
  const kind = r.int(12);
  if (kind === 0)
    return { kind: "random bytes", what: "random bytes", bytes: r.bytes(r.int(48)), id: null, codes: null };
  if (kind === 1) {
    const b = packr.pack(template());
    return {
      kind: "truncated",
      what: "truncated",
      bytes: Uint8Array.from(b.subarray(0, r.int(b.length))),
      id: null,
      codes: ["BAD_MESSAGE"],
    };
  }
  if (kind === 2) {
    const b = Uint8Array.from([...packr.pack(template()), ...r.bytes(1 + r.int(8))]);
    return { kind: "trailing bytes", what: "trailing bytes", bytes: b, id: null, codes: ["BAD_MESSAGE"] };
  }
  if (kind === 3) {
    const x = junkWhere(r, (v) => !isMap(v) || v instanceof Uint8Array);
    return { kind: "non-map", what: `non-map ${show(x)}`, bytes: packr.pack(x), id: null, codes: ["BAD_MESSAGE"] };
  }
  if (kind === 4) {
    const entries = Array.from({ length: r.int(6) }, (): [string, unknown] => [
      r.chance(0.8) ? r.pick(KEY_POOL) : r.word(5),
      junk(r),
    ]);
    const m = mapOf(entries.filter(([key]) => key !== "v" && key !== "id"));
    if (r.chance(0.5)) m.v = junkWhere(r, (x) => x !== 1 && x !== 1n);
    const mid = junkWhere(r, noBigInt);
    m.id = mid;
    return { kind: "random map", what: `random map ${show(m)}`, bytes: packr.pack(m), id: mid, codes: ["VERSION"] };
  }
  if (kind === 5) {
    // Deep nesting in one field, spliced in as raw bytes: [[[...]]] or {k: {k: ...}}.
    const cmd = r.pick(["make", "step", "reset", "hello"]);
    const field = { make: "config", step: "actions", reset: "options", hello: r.pick(["v", "cmd"]) }[cmd]!;
    const codes: Code[] = [
      { config: "CONFIG", actions: "BAD_ACTION", options: "BAD_REQUEST", v: "VERSION", cmd: "BAD_REQUEST" }[
        field
      ] as Code,
      "BAD_MESSAGE",
    ];
    const base = templates[cmd]();
    delete base[field];
    const head = packr.pack({ ...base, [field]: null });
    const depth = r.chance(0.03) ? 200_000 : r.pick([1, 2, 5, 50, 500, 3000, 20_000]);
    const leaf = packr.pack(junk(r, 3));
    const bytes = new Uint8Array(head.length - 1 + 3 * depth + leaf.length);
    bytes.set(head.subarray(0, head.length - 1));
    let at = head.length - 1;
    for (let i = 0; i < depth; i++) {
      if (r.chance(0.5))
        bytes[at++] = 0x91; // [x]
      else for (const b of [0x81, 0xa1, 0x6b]) bytes[at++] = b; // {k: x}
    }
    bytes.set(leaf, at);
    at += leaf.length;
    return {
      kind: `${cmd}.${field} nested`,
      what: `${cmd} with ${field} nested ${depth} deep`,
      bytes: bytes.subarray(0, at),
      id,
      codes,
    };
  }
  // One field of a valid request made wrong; the code the document gives for it.
  const cmd = r.pick(COMMANDS);
  const m = templates[cmd]();
  const fields = ["v", "cmd", ...Object.keys(m).filter((f) => f !== "v" && f !== "id" && f !== "cmd")];
  const field = r.pick(fields);
  let codes: Code[];
  const set = (value: unknown) => {
    if (value === undefined) delete m[field];
    else m[field] = value;
  };
  switch (field) {
    case "v":
      set(r.chance(0.1) ? undefined : junkWhere(r, (x) => x !== 1 && x !== 1n));
      codes = ["VERSION"];
      break;
    case "cmd":
      if (r.chance(0.5)) {
        set(r.chance(0.1) ? undefined : junkWhere(r, (x) => typeof x !== "string"));
        codes = ["BAD_REQUEST"];
      } else {
        set(junkWhere(r, (x) => typeof x === "string" && !COMMANDS.includes(x)));
        codes = ["UNKNOWN_COMMAND"];
      }
      break;
    case "env_id":
      if (r.chance(0.5)) {
        set(r.chance(0.1) ? undefined : junkWhere(r, (x) => typeof x !== "string"));
        codes = ["BAD_REQUEST"];
      } else {
        set(r.chance(0.3) ? t.closedId : `${r.pick(["e", "e1-", "", t.envId])}${r.word(1 + r.int(6))}`);
        codes = ["UNKNOWN_ENV"];
      }
      break;
    case "num_envs":
      set(
        junkWhere(
          r,
          (x) =>
            present(x) && noBigInt(x) && !(Number.isInteger(x) && (x as number) >= 1 && (x as number) <= t.maxEnvs),
        ),
      );
      codes = ["BAD_REQUEST"];
      break;
    case "autoreset_mode":
      set(junkWhere(r, (x) => present(x) && x !== "next_step" && x !== "same_step"));
      codes = ["BAD_REQUEST"];
      break;
    case "config":
      set(badConfig(r));
      codes = ["CONFIG"];
      break;
    case "seed":
      set(junkWhere(r, (x) => present(x) && noBigInt(x) && !(Number.isSafeInteger(x) && (x as number) >= 0)));
      codes = ["BAD_REQUEST"];
      break;
    case "options":
      if (r.chance(0.5)) {
        set(
          r.chance(0.5)
            ? junkWhere(r, (x) => present(x) && notDate(x) && (x instanceof Uint8Array ? x.length > 0 : !isMap(x)))
            : mapOf([[r.pick(["Market", "seed", "__proto__", "constructor", r.word(4)]), junk(r)]]),
        );
        codes = ["BAD_REQUEST"];
      } else {
        set({ market: badPins(r) });
        codes = ["CONFIG"];
      }
      break;
    default: {
      // actions, for a session of n = 2
      const z = [0.1, 0.2, 0.3, 0.4];
      const variants: (() => unknown)[] = [
        () => undefined,
        () => junkWhere(r, (x) => !isMap(x) || x instanceof Uint8Array),
        () => z,
        () => ({ ...toWire(z, "float32", [2, 2]), dtype: junkWhere(r, (x) => x !== "float32" && x !== "float64") }),
        () => {
          const shape = r.pick<unknown>([
            [2, 3],
            [4, 1],
            [1, 4],
            [3],
            [8],
            [1, 2],
            [2, 2, 1],
            [],
            [-1, 2],
            [2.5, 2],
            "2,2",
            [2, "2"],
            [2, 2, 1, 1, 1],
            junkWhere(r, (x) => !["[2,2]", "[4]"].includes(show(x))),
          ]);
          const count =
            Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0)
              ? shape.reduce((p: number, d: number) => p * d, 1)
              : 4;
          return toWire(new Array<number>(count).fill(0.5), r.pick(["float32", "float64"] as const), shape);
        },
        () => ({
          dtype: r.pick(["float32", "float64"]),
          shape: [2, 2],
          data: r.chance(0.5)
            ? r.bytes(r.pick([0, 1, 8, 15, 17, 31, 33]))
            : junkWhere(r, (x) => !(x instanceof Uint8Array)),
        }),
        () => {
          const values = [...z];
          values[r.int(4)] = r.pick([NaN, Infinity, -Infinity]);
          return toWire(values, r.pick(["float32", "float64"] as const), r.pick([[2, 2], [4]]));
        },
      ];
      set(r.pick(variants)());
      codes = ["BAD_ACTION"];
    }
  }
  return { kind: `${cmd}.${field}`, what: `${cmd} with a bad ${field}: ${show(m)}`, bytes: packr.pack(m), id, codes };
}

describe("fuzz", () => {
  it("10000 malformed requests each get a well-formed error reply, and the handler still works", async () => {
    const c = new Client(new RequestHandler({ maxEnvsPerSession: 16 }));
    const h = c.handler;
    const p = await makePair(c, 2);
    await resetBoth(p, 21);
    await stepBoth(p, [0.1, -0.1, 0.2, -0.2]);
    const closed = await c.ok({ cmd: "make", config: { sim: SIM_WIRE } });
    await c.ok({ cmd: "close", env_id: closed.env_id });
    const target: FuzzTarget = { envId: p.envId, closedId: closed.env_id as string, n: 2, maxEnvs: 16 };

    const r = new Rng(20240611);
    /** Wrong replies, grouped by kind of request and outcome: count and first example. */
    const failures = new Map<string, { count: number; example: string }>();
    const fail = (fc: FuzzCase, outcome: string, detail: string) => {
      const key = `${fc.kind} -> ${outcome}`;
      const f = failures.get(key) ?? { count: 0, example: `${fc.what} => ${detail}` };
      f.count++;
      failures.set(key, f);
    };
    const seen = new Map<string, number>();
    const N = 10_000;
    for (let k = 0; k < N; k++) {
      const fc = fuzzCase(r, k, target);
      let reply: unknown;
      try {
        reply = decode(await h.handle(fc.bytes));
      } catch (err) {
        fail(fc, "threw or undecodable reply", String(err));
        continue;
      }
      const m = reply as Msg;
      const code = isMap(m) && isMap(m.error) ? (m.error.code as Code) : undefined;
      // A message that could not be read (BAD_MESSAGE: too deep for the decoder) is answered with id nil.
      const problem = envelopeProblem(reply, code === "BAD_MESSAGE" ? null : fc.id);
      seen.set(String(code), (seen.get(String(code)) ?? 0) + 1);
      if (problem) fail(fc, "malformed reply", problem);
      else if (m.ok !== false) fail(fc, "ok: true", show(m));
      else if (fc.codes ? !fc.codes.includes(code!) : code === "INTERNAL")
        fail(fc, `${code} (expected ${fc.codes?.join("|") ?? "not INTERNAL"})`, show((m.error as Msg).message));
    }
    const report = [...failures].map(([key, f]) => `${key}: ${f.count}x, e.g. ${f.example}`).sort();
    const total = [...failures.values()].reduce((a, f) => a + f.count, 0);
    expect.soft(report, `${total} of ${N} fuzz replies were wrong`).toEqual([]);
    // The fuzz reached every kind of refusal.
    for (const code of [
      "BAD_MESSAGE",
      "VERSION",
      "BAD_REQUEST",
      "UNKNOWN_COMMAND",
      "UNKNOWN_ENV",
      "BAD_ACTION",
      "CONFIG",
    ])
      expect(seen.get(code) ?? 0, code).toBeGreaterThan(50);

    // Afterwards: the fuzzed session is where it was, no session leaked, and everything works.
    expect(h.sessions.size).toBe(1);
    await c.ok({ cmd: "hello" });
    await c.ok({ cmd: "ping" });
    await stepBoth(p, [0.3, 0.3, -0.3, -0.3]);
    await resetBoth(p); // the envs' own seed streams too
    await stepBoth(p, [0.1, 0.1, 0.1, 0.1]);
    const q = await makePair(c, 3);
    await resetBoth(q, 99);
    for (let k = 0; k < 3; k++) await stepBoth(q, randomActions(r, 3));
  });
});
