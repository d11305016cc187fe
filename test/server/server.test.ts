/**
 * docs/protocol.md over real ZeroMQ sockets: GymServer on a ROUTER (ipc:// in a temp dir, or
 * tcp://127.0.0.1 on a free port), REQ and DEALER clients, and `propamm serve` as a child
 * process (dist/cli/main.js, built by `npm run build`).
 *
 * Trajectories are checked against an in-process VectorEnv with the same config, seeds and
 * actions (arrays decoded by hand, little-endian); the handler's own rules are in
 * test/protocol.test.ts. Episodes are short (1000 steps, epochs of 250).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Request } from "zeromq";
import { VectorEnv } from "../../gym/vector-env.js";
import { GymServer } from "../../server/serve.js";
import { type CliChild, requireBuiltCli, ROOT, STACK_FRAME, startCli } from "../helpers/cli.js";
import { mulberry32 as prng } from "../helpers/prng.js";
import {
  expectedInfos,
  fromWire,
  type Msg,
  packr,
  PROTOCOL_CODES as CODES,
  show,
  SHORT,
  SIM_WIRE,
  toWire,
} from "../helpers/wire.js";

const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

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
    expect(r.infos).toEqual(expectedInfos(ref.infos));
  }

  /** Steps both; returns the server's terminated flags. */
  async step(actions: number[], id?: unknown): Promise<number[]> {
    const r = await this.c.ok({
      cmd: "step",
      env_id: this.envId,
      actions: toWire(actions, "float32", [this.n, 2]),
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
    expect(r.infos).toEqual(expectedInfos(ref.infos));
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
    const request = packr.pack({ v: 1, id: 77, cmd: "step", env_id: p.envId, actions: toWire(a1, "float32", [2, 2]) });
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
    const stepMsg = packr.pack({
      v: 1,
      id: "y",
      cmd: "step",
      env_id: p.envId,
      actions: toWire([0, 0, 0, 0], "float32", [2, 2]),
    });
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

/** `propamm serve ...args`; output() has what it printed on both streams. */
function serve(...args: string[]): CliChild {
  return startCli(["serve", ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
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
    requireBuiltCli();
  });

  it.each(["SIGTERM", "SIGINT"] as const)("answers hello and exits 0 on %s within 2 s", async (signal) => {
    const at = `tcp://127.0.0.1:${await freePort()}`;
    const child = serve("--bind", at);
    try {
      expect(await until(() => child.output().includes("listening"), 15_000), child.output()).toBe(true);
      const c = new Client(at);
      const hello = await c.ok({ cmd: "hello" });
      expect(hello.protocol).toBe(1);
      expect(hello.server).toBe(`prop-amm-gym ${PKG_VERSION}`);
      c.close();
      child.kill(signal);
      const exit = await within(child.exited, 2000);
      expect(exit, child.output()).toEqual({ code: 0, signal: null });
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
      await until(() => !child.running() || child.output().includes("listening"), 10_000);
      expect(child.running(), `still running, not refused:\n${child.output()}`).toBe(false);
      const exit = await child.exited;
      expect(exit.code, child.output()).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(child.output()).toContain(at);
      expect(child.output()).toMatch(/cannot bind/i);
      expect(child.output()).not.toMatch(STACK_FRAME);
    } finally {
      if (child.running()) child.kill("SIGKILL");
      await holder?.stop();
    }
  });
});
