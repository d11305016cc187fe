/**
 * docs/protocol.md over real ZeroMQ sockets: GymServer on a ROUTER (ipc:// in a temp dir, or
 * tcp://127.0.0.1 on a free port), REQ and DEALER clients, and `propamm serve` as a child
 * process (dist/cli/main.js, built by `npm run build`).
 *
 * Trajectories are checked against an in-process VectorEnv with the same config, seeds and
 * actions (arrays decoded by hand, little-endian); the handler's own rules are in
 * test/protocol.test.ts. Episodes are short (1000 steps, epochs of 250).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Request } from "zeromq";
import type { EnvConfig, StepInfo } from "../../gym/env.js";
import { VectorEnv, type VectorStepInfo } from "../../gym/vector-env.js";
import { GymServer } from "../../server/serve.js";

type Msg = Record<string, unknown>;
type DType = "float32" | "float64" | "uint8";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** A Node stack frame ("    at fn (file:1:2)"): a bad endpoint must not print one. */
const STACK_FRAME = /^\s+at\s.*:\d+:\d+\)?$/m;
const CODES = [
  "BAD_MESSAGE",
  "TOO_LARGE",
  "VERSION",
  "BAD_REQUEST",
  "UNKNOWN_COMMAND",
  "UNKNOWN_ENV",
  "BAD_ACTION",
  "CONFIG",
  "ENV",
  "TOO_MANY_SESSIONS",
  "INTERNAL",
];

const packr = new Packr({ useRecords: false });
const SIM_WIRE = { steps: 1000, epoch_len: 250 };
const SHORT: Partial<EnvConfig> = { sim: { steps: 1000, epochLen: 250 } };
const LIMIT = 16 * 1024;

const tmp = mkdtempSync(join(tmpdir(), "propamm-zmq-"));
let endpoint = "";
let server: GymServer;
const sockets: { close(): void }[] = [];

beforeAll(async () => {
  endpoint = `ipc://${join(tmp, "gym.sock")}`;
  server = new GymServer({ bind: endpoint, maxMessageBytes: LIMIT });
  await server.start();
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function isMap(x: unknown): x is Msg {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function show(x: unknown): string {
  const s = JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? `<bin ${v.byteLength}>` : v));
  return s === undefined ? String(x) : s.slice(0, 300);
}

function req(sock?: Partial<{ receiveTimeout: number }>): Request {
  const s = new Request({ linger: 0, receiveTimeout: 10_000, sendTimeout: 10_000, ...sock });
  sockets.push(s);
  return s;
}

function dealer(receiveTimeout = 10_000): Dealer {
  const s = new Dealer({ linger: 0, receiveTimeout, sendTimeout: 10_000 });
  sockets.push(s);
  return s;
}

/** A REQ client: one request, one reply, the envelope checked. */
class Client {
  private seq = 0;
  readonly sock: Request;
  constructor(at: string) {
    this.sock = req();
    this.sock.connect(at);
  }

  async send(fields: Msg): Promise<Msg> {
    const msg: Msg = "id" in fields ? { v: 1, ...fields } : { v: 1, id: ++this.seq, ...fields };
    await this.sock.send(packr.pack(msg));
    const frames = await this.sock.receive();
    expect(frames.length, "one reply frame").toBe(1);
    const r = packr.unpack(frames[0]) as Msg;
    expect(r.v).toBe(1);
    expect(r.id).toEqual(msg.id);
    expect(typeof r.ok).toBe("boolean");
    return r;
  }

  async ok(fields: Msg): Promise<Msg> {
    const r = await this.send(fields);
    expect(r.error, `${show(fields)} failed`).toBeUndefined();
    return r;
  }

  close(): void {
    this.sock.close();
  }
}

function fromWire(x: unknown, dtype: DType, shape: number[]): number[] {
  expect(isMap(x), `array map, got ${show(x)}`).toBe(true);
  const a = x as Msg;
  expect(a.dtype).toBe(dtype);
  expect(a.shape).toEqual(shape);
  expect(a.data).toBeInstanceOf(Uint8Array);
  const data = a.data as Uint8Array;
  const size = { float32: 4, float64: 8, uint8: 1 }[dtype];
  const count = shape.reduce((p, d) => p * d, 1);
  expect(data.byteLength).toBe(count * size);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: count }, (_, i) =>
    dtype === "float32" ? view.getFloat32(i * 4, true) : dtype === "float64" ? view.getFloat64(i * 8, true) : data[i],
  );
}

function toWire(values: ArrayLike<number>, shape: number[]): Msg {
  const data = new Uint8Array(values.length * 4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { dtype: "float32", shape, data };
}

/** An info map as docs/protocol.md spells it, from the in-process env's info. */
function wireInfo(info: StepInfo | VectorStepInfo): Msg {
  const f = info.features;
  const out: Msg = {
    decision: info.decision,
    sim_seed: info.simSeed,
    sim_step: info.simStep,
    epoch: info.epoch,
    agent_edge: info.agentEdge,
    normalizer_edge: info.normalizerEdge,
    capital_weight: info.capitalWeight,
    fees_bps: [...info.feesBps],
    trade_side: info.tradeSide,
    features: {
      sigma_hat: f.sigmaHat,
      flow_ema: f.flowEma,
      capital_weight: f.capitalWeight,
      epoch_step: f.epochStep,
      n_pools: f.nPools,
    },
  };
  if (info.episode) {
    out.episode = {
      pools: info.episode.pools.map((p) => ({
        name: p.name,
        edge: p.edge,
        arb_edge: p.arbEdge,
        retail_edge: p.retailEdge,
        final_weight: p.finalWeight,
      })),
      agent_epochs: info.episode.pools[0].epochs.map((e) => ({
        epoch: e.epoch,
        edge: e.edge,
        score: e.score,
        weight: e.weight,
        trades: e.trades,
      })),
    };
  }
  if ((info as VectorStepInfo).autoreset) out.autoreset = true;
  return out;
}

/** A session on the server and an in-process VectorEnv, stepped in lockstep. */
class Pair {
  private constructor(
    readonly c: Client,
    readonly envId: string,
    readonly ref: VectorEnv,
    readonly n: number,
  ) {}

  static async make(c: Client, n: number): Promise<Pair> {
    const r = await c.ok({ cmd: "make", num_envs: n, config: { sim: SIM_WIRE } });
    return new Pair(c, r.env_id as string, await VectorEnv.create(n, SHORT), n);
  }

  async reset(seed: number): Promise<void> {
    const r = await this.c.ok({ cmd: "reset", env_id: this.envId, seed });
    const ref = this.ref.reset({ seed });
    expect(fromWire(r.observations, "float32", [this.n, 5])).toEqual(Array.from(ref.observations));
    expect(r.infos).toEqual(packr.unpack(packr.pack(ref.infos.map(wireInfo))));
  }

  /** Steps both; returns the server's terminated flags. */
  async step(actions: number[], id?: unknown): Promise<number[]> {
    const r = await this.c.ok({
      cmd: "step",
      env_id: this.envId,
      actions: toWire(actions, [this.n, 2]),
      ...(id === undefined ? {} : { id }),
    });
    return this.check(r, actions);
  }

  check(r: Msg, actions: number[]): number[] {
    const ref = this.ref.step(Float32Array.from(actions));
    expect(fromWire(r.observations, "float32", [this.n, 5])).toEqual(Array.from(ref.observations));
    expect(fromWire(r.rewards, "float64", [this.n])).toEqual(Array.from(ref.rewards));
    expect(fromWire(r.truncated, "uint8", [this.n])).toEqual(Array.from(ref.truncated));
    const terminated = fromWire(r.terminated, "uint8", [this.n]);
    expect(terminated).toEqual(Array.from(ref.terminated));
    expect(r.infos).toEqual(packr.unpack(packr.pack(ref.infos.map(wireInfo))));
    return terminated;
  }
}

/** Deterministic actions in [-1.2, 1.2] for a client and step. */
function actionsFor(seed: number, k: number, n = 1): number[] {
  return Array.from({ length: 2 * n }, (_, j) => 1.2 * Math.sin(seed * 7.1 + k * 1.3 + j * 0.7));
}

/** Reads a DEALER reply: [payload] or [empty delimiter, payload]; returns the decoded map. */
function dealerReply(frames: Buffer[], delimited: boolean): Msg {
  if (delimited) {
    expect(frames.length, "delimiter + payload").toBe(2);
    expect(frames[0].length).toBe(0);
  } else expect(frames.length, "one payload frame").toBe(1);
  return packr.unpack(frames[frames.length - 1]) as Msg;
}

function expectRefused(r: Msg, codes: string[] | null, what: string): void {
  expect(r.v, what).toBe(1);
  expect(r.ok, what).toBe(false);
  const code = (r.error as Msg).code as string;
  expect(CODES, `${what}: code ${code}`).toContain(code);
  if (codes) expect(codes, `${what}: code ${code}`).toContain(code);
  else expect(code, `${what}: ${show(r.error)}`).not.toBe("INTERNAL");
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

/** mulberry32, for the socket fuzz. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// GymServer
// ---------------------------------------------------------------------------------------------

describe("GymServer over ZeroMQ", () => {
  it("REQ and DEALER clients (with or without the empty delimiter) get one reply each, id echoed", async () => {
    const c = new Client(endpoint);
    for (const id of [0, 7, -3, 2 ** 40, "", "abc", "ünï ✓"]) {
      expect(await c.ok({ id, cmd: "ping" })).toEqual({ v: 1, id, ok: true, pong: true });
    }
    const hello = await c.ok({ id: "h", cmd: "hello" });
    expect(hello.protocol).toBe(1);
    expect(hello.server).toBe(`prop-amm-gym ${PKG_VERSION}`);
    expect(hello.limits).toMatchObject({ max_message_bytes: LIMIT });
    const refused = await c.send({ id: 12, cmd: "jump" });
    expect(refused).toMatchObject({ v: 1, id: 12, ok: false, error: { code: "UNKNOWN_COMMAND" } });
    c.close();

    const d = dealer();
    d.connect(endpoint);
    await d.send(packr.pack({ v: 1, id: "bare", cmd: "ping" }));
    expect(dealerReply(await d.receive(), false)).toEqual({ v: 1, id: "bare", ok: true, pong: true });
    await d.send([Buffer.alloc(0), packr.pack({ v: 1, id: "delimited", cmd: "ping" })]);
    expect(dealerReply(await d.receive(), true)).toEqual({ v: 1, id: "delimited", ok: true, pong: true });
    d.close();
  });

  it("16 REQ clients at once, each with its own session, each trajectory equal to the in-process one", async () => {
    const play = async (i: number): Promise<number> => {
      const c = new Client(endpoint);
      try {
        const p = await Pair.make(c, 1);
        const seed = 100 + i;
        await p.reset(seed);
        let k = 0;
        for (; k < 200; k++) if ((await p.step(actionsFor(seed, k)))[0]) break;
        expect(k, `client ${i} reached the end of its episode`).toBeLessThan(200);
        expect(await c.ok({ cmd: "close", env_id: p.envId })).toMatchObject({ closed: true });
        return k + 1;
      } finally {
        c.close();
      }
    };
    const steps = await Promise.all(Array.from({ length: 16 }, (_, i) => play(i)));
    expect(steps.every((s) => s > 4)).toBe(true);
    expect(server.handler.sessions.size).toBe(0);
  });

  it("a retried step over the socket gets identical reply bytes and does not step twice", async () => {
    const c = new Client(endpoint);
    const p = await Pair.make(c, 2);
    await p.reset(31);
    const d = dealer();
    d.connect(endpoint);
    const a1 = actionsFor(31, 0, 2);
    const request = packr.pack({ v: 1, id: 77, cmd: "step", env_id: p.envId, actions: toWire(a1, [2, 2]) });
    await d.send(request);
    const [first] = await d.receive();
    p.check(packr.unpack(first) as Msg, a1);
    await d.send(request); // the client "lost" the reply and sends the same request again
    const [again] = await d.receive();
    expect(Buffer.compare(first, again)).toBe(0);
    await p.step(actionsFor(31, 1, 2)); // the env's second step, not its third
    await c.ok({ cmd: "close", env_id: p.envId });
    c.close();
    d.close();
  });

  it("TOO_LARGE just above max_message_bytes; far above, the message is dropped and the server goes on", async () => {
    const d = dealer();
    d.connect(endpoint);
    const padded = (bytes: number): Buffer => {
      const b = Buffer.from(packr.pack({ v: 1, id: 5, cmd: "ping", pad: new Uint8Array(bytes) }));
      return Buffer.from(packr.pack({ v: 1, id: 5, cmd: "ping", pad: new Uint8Array(bytes - (b.length - bytes)) }));
    };
    const at = padded(LIMIT);
    expect(at.length).toBe(LIMIT);
    await d.send(at);
    expect(dealerReply(await d.receive(), false)).toEqual({ v: 1, id: 5, ok: true, pong: true });
    for (const size of [LIMIT + 1, 512 * 1024]) {
      const above = padded(size);
      expect(above.length).toBe(size);
      await d.send(above);
      const r = dealerReply(await d.receive(), false);
      expectRefused(r, ["TOO_LARGE"], `${size} bytes`);
    }
    // Above four times the limit (and 1 MiB): ZeroMQ drops it; no reply comes.
    const far = dealer(500);
    far.connect(endpoint);
    await far.send(Buffer.alloc(2 * 1024 * 1024));
    await expect(far.receive()).rejects.toThrow();
    far.close();
    const c = new Client(endpoint);
    expect((await c.ok({ cmd: "ping" })).pong).toBe(true);
    c.close();
    d.close();
  });

  it("a socket fuzz, single- and multi-frame, gets one well-formed refusal per message; then all still works", async () => {
    const c = new Client(endpoint);
    const p = await Pair.make(c, 2);
    await p.reset(3);
    await p.step(actionsFor(3, 0, 2));
    const closeMsg = packr.pack({ v: 1, id: "x", cmd: "close", env_id: p.envId });
    const stepMsg = packr.pack({ v: 1, id: "y", cmd: "step", env_id: p.envId, actions: toWire([0, 0, 0, 0], [2, 2]) });
    const rand = prng(77);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const empty = Buffer.alloc(0);
    const d = dealer();
    d.connect(endpoint);
    for (let k = 0; k < 400; k++) {
      const valid = pick([closeMsg, stepMsg]);
      const kind = Math.floor(rand() * 9);
      let frames: Buffer[];
      let codes: string[] | null = ["BAD_MESSAGE"];
      let delimited = false;
      if (kind === 0) [frames, codes] = [[bytes(Math.floor(rand() * 40))], null];
      else if (kind === 1) frames = [Buffer.from(valid.subarray(0, Math.floor(rand() * valid.length)))];
      else if (kind === 2) frames = [Buffer.from(packr.pack(pick([1, "close", [1, 2], null, 1.5, true])))];
      else if (kind === 3)
        [frames, codes] = [[Buffer.from(valid), Buffer.from(valid)], null]; // 2 payload frames
      else if (kind === 4) frames = [bytes(5), Buffer.from(valid), bytes(3)];
      else if (kind === 5) [frames, delimited] = [[empty, Buffer.from(valid), Buffer.from(valid)], true];
      else if (kind === 6) frames = [empty];
      else if (kind === 7) [frames, delimited] = [[empty, empty], true];
      else [frames, delimited] = [[empty, Buffer.from(valid), empty, bytes(4)], true];
      await d.send(frames);
      const what = `message ${k}: ${frames.length} frame(s) of ${frames.map((f) => f.length).join("/")} bytes`;
      expectRefused(dealerReply(await d.receive(), delimited), codes, what);
    }
    // Exactly one reply each: nothing more is waiting.
    d.receiveTimeout = 300;
    await expect(d.receive()).rejects.toThrow();
    // A REQ client sending two frames gets one refusal.
    const r = req();
    r.connect(endpoint);
    await r.send([Buffer.from(stepMsg), Buffer.from(stepMsg)]);
    const [reply] = await r.receive();
    expectRefused(packr.unpack(reply) as Msg, ["BAD_MESSAGE"], "REQ with two frames");
    r.close();
    // The fuzzed session was neither closed nor stepped, and everything still works.
    await p.step(actionsFor(3, 1, 2));
    const q = await Pair.make(c, 3);
    await q.reset(8);
    for (let k = 0; k < 3; k++) await q.step(actionsFor(8, k, 3));
    await c.ok({ cmd: "close", env_id: p.envId });
    await c.ok({ cmd: "close", env_id: q.envId });
    c.close();
    d.close();
  });
});

describe("GymServer.stop", () => {
  it("closes cleanly with clients connected, a second stop is a no-op, and the port can be bound again", async () => {
    const at = `tcp://127.0.0.1:${await freePort()}`;
    const first = new GymServer({ bind: at });
    await first.start();
    const c = new Client(at);
    await c.ok({ cmd: "make", config: { sim: SIM_WIRE } });
    expect(first.handler.sessions.size).toBe(1);
    // A request still in flight when the server stops.
    const d = dealer(300);
    d.connect(at);
    await d.send(packr.pack({ v: 1, id: 1, cmd: "hello" }));
    const t0 = performance.now();
    await first.stop();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(first.handler.sessions.size, "stop frees the sessions").toBe(0);
    await first.stop();
    c.close();
    d.close();

    const second = new GymServer({ bind: at });
    await second.start();
    const c2 = new Client(at);
    expect((await c2.ok({ cmd: "ping" })).pong).toBe(true);
    c2.close();
    await second.stop();
  });
});

// ---------------------------------------------------------------------------------------------
// propamm serve
// ---------------------------------------------------------------------------------------------

interface Child {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  running(): boolean;
}

function serve(...args: string[]): Child {
  const child = spawn(process.execPath, [CLI, "serve", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  child.stdout.on("data", (b: Buffer) => (err += b.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on("close", (code, signal) => {
      done = true;
      ok({ code, signal });
    }),
  );
  return { exited, stderr: () => err, kill: (s) => child.kill(s), running: () => !done };
}

async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((ok) => (timer = setTimeout(() => ok("timeout"), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe("propamm serve", () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("answers hello and exits 0 on %s within 2 s", async (signal) => {
    const at = `tcp://127.0.0.1:${await freePort()}`;
    const child = serve("--bind", at);
    try {
      expect(await until(() => child.stderr().includes("listening"), 15_000), child.stderr()).toBe(true);
      const c = new Client(at);
      const hello = await c.ok({ cmd: "hello" });
      expect(hello.protocol).toBe(1);
      expect(hello.server).toBe(`prop-amm-gym ${PKG_VERSION}`);
      c.close();
      child.kill(signal);
      const exit = await within(child.exited, 2000);
      expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      if (child.running()) child.kill("SIGKILL");
    }
  });

  it.each([
    ["an unknown transport", "foo://bar"],
    ["no transport", "not-an-endpoint"],
    ["a port above 65535", "tcp://127.0.0.1:99999"],
    ["a port in use", "IN_USE"],
  ])("a bind to %s exits non-zero with a clear message", async (_what, given) => {
    let holder: GymServer | null = null;
    let at = given;
    if (given === "IN_USE") {
      at = `tcp://127.0.0.1:${await freePort()}`;
      holder = new GymServer({ bind: at });
      await holder.start();
    }
    const child = serve("--bind", at);
    try {
      await until(() => !child.running() || child.stderr().includes("listening"), 10_000);
      expect(child.running(), `still running, not refused:\n${child.stderr()}`).toBe(false);
      const exit = await child.exited;
      expect(exit.code, child.stderr()).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(child.stderr()).toContain(at);
      expect(child.stderr()).toMatch(/cannot bind/i);
      expect(child.stderr()).not.toMatch(STACK_FRAME);
    } finally {
      if (child.running()) child.kill("SIGKILL");
      await holder?.stop();
    }
  });
});
