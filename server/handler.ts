/**
 * The protocol's request handler (docs/protocol.md), independent of the socket: bytes in,
 * bytes out. Every failure becomes an error reply; nothing a client sends can throw out of here.
 */
import { readFileSync, realpathSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { sep } from "node:path";
import { Packr } from "msgpackr";
import {
  PropAmmError,
  wireErrorCodeOf,
  type ErrorCode as PropAmmErrorCode,
  type WireErrorCode,
} from "../env/errors.js";
import { type StepInfo } from "../gym/env.js";
import { OBSERVATION_SPACE, ACTION_SPACE, DEFAULT_ENV_CONFIG, observationSpace } from "../gym/env.js";
import { VectorEnv, type AutoresetMode, type VectorStepInfo } from "../gym/vector-env.js";
import { loadStrategy } from "../arena/loader.js";
import { builtinSource } from "../env/builtins/index.js";
import { ConfigError } from "../env/config.js";
import type { Limits } from "../arena/runner.js";
import { SandboxedVectorEnv } from "../arena/sandbox-env.js";
import { ArrayError, decodeFloatArray, encodeArray } from "./arrays.js";
import { WIRE_NAMES, defaultConfigWire, envConfigFromWire, pinsFromWire } from "./config-map.js";
import { type Session, Sessions } from "./sessions.js";
import {
  MULTI_AGENT_APIS,
  MultiAgentSession,
  type MultiAgentApi,
  aecStateWire,
  lineupFromWire,
  parallelResetWire,
  parallelStepWire,
} from "./multi-agent.js";

export const PROTOCOL_VERSION = 1;
/**
 * Backward-compatible additions to protocol 1 (docs/protocol.md, "Revisions"): 2 added reset's
 * `seeds` and `mask`, the eviction of idle sessions when the table is full and fair scheduling;
 * 3 added multi-agent sessions (`make`'s `lineup` and `api`).
 */
export const PROTOCOL_REVISION = 3;
export const FEATURES = ["reset_seeds", "reset_mask", "evict_idle", "fair_scheduling", "multi_agent"] as const;

/** The protocol's error codes (docs/protocol.md); env/errors.ts maps every error to one. */
export type ErrorCode = WireErrorCode;

export interface ServerLimits {
  maxMessageBytes: number;
  maxSessions: number;
  maxEnvsPerSession: number;
  idleTimeoutS: number;
  /**
   * When every session slot is taken, a `make` frees the longest-idle session that has been idle
   * at least this long (a client that died or was dropped without close()).
   */
  evictIdleS: number;
  /** An in-process session's reset/step yields to other clients after this many ms of work. */
  sliceMs?: number;
  /**
   * The only folder whose strategy files and checkpoints clients may name (docs/sandbox.md);
   * without it clients may name built-ins only. Named files always run in a sandbox.
   */
  strategyDir?: string;
  /** Time and memory limits of sandboxed sessions; the time limit applies to each request. */
  sandboxLimits?: Partial<Limits>;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 4 * 1024 * 1024,
  maxSessions: 64,
  maxEnvsPerSession: 1024,
  idleTimeoutS: 600,
  evictIdleS: 10,
};

/** A request the protocol refuses before any env sees it (its code is the wire code). */
export class ProtocolError extends PropAmmError {
  constructor(
    code: Extract<
      PropAmmErrorCode,
      "BAD_REQUEST" | "VERSION" | "UNKNOWN_COMMAND" | "UNKNOWN_ENV" | "TOO_MANY_SESSIONS"
    >,
    message: string,
  ) {
    super(code, message);
    this.name = "ProtocolError";
  }
}

function packageVersion(): string {
  try {
    const url = new URL("../../package.json", import.meta.url);
    const fromSource = import.meta.url.endsWith(".ts");
    const pkg = JSON.parse(readFileSync(fromSource ? new URL("../package.json", import.meta.url) : url, "utf8")) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

type Msg = Record<string, unknown>;

/** A msgpack map decoded to a plain object (not bin, not an extension such as a timestamp). */
export function isPlainMap(x: unknown): x is Msg {
  if (x === null || typeof x !== "object" || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** A value for an error message that never throws (a map may carry a 'toString' key). */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "object") return Array.isArray(v) ? "an array" : "a map";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Config errors name options as the protocol spells them. */
function wireNames(message: string): string {
  return message.replace(/\b[a-z]+(?:[A-Z][a-z0-9]*)+\b/g, (w) => (Object.hasOwn(WIRE_NAMES, w) ? WIRE_NAMES[w] : w));
}

function infoToWire(info: VectorStepInfo | StepInfo | null): Msg {
  if (info === null) return {}; // a partial reset left this env alone
  const f = info.features;
  const out: Msg = {
    decision: info.decision,
    sim_seed: info.simSeed,
    sim_step: info.simStep,
    epoch: info.epoch,
    agent_edge: info.agentEdge,
    normalizer_edge: info.normalizerEdge,
    capital_weight: info.capitalWeight,
    fees_bps: info.feesBps,
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
      agent_epochs: info.episode.pools[0].epochs,
    };
  }
  const v = info as VectorStepInfo;
  if (v.autoreset) out.autoreset = true;
  if (v.finalObservation)
    out.final_observation = encodeArray(v.finalObservation, "float32", [v.finalObservation.length]);
  if (v.finalInfo) out.final_info = infoToWire(v.finalInfo);
  return out;
}

function requireString(m: Msg, key: string): string {
  const v = m[key];
  if (typeof v !== "string") throw new ProtocolError("BAD_REQUEST", `'${key}' must be a string`);
  return v;
}

export class RequestHandler {
  readonly sessions: Sessions;
  readonly limits: ServerLimits;
  // 64-bit integers (Python sends every int >= 2^32 that way) decode as numbers, not BigInt.
  private readonly packr = new Packr({
    useRecords: false,
    mapsAsObjects: true,
    variableMapSize: true,
    int64AsType: "number",
  });
  private readonly version = packageVersion();
  /** Ids of sessions evicted to make room (for logs and tests); the server drains it. */
  readonly evictions: string[] = [];
  /** Errors answered, by code (for logs and tests). */
  readonly errorCounts = new Map<ErrorCode, number>();

  constructor(limits: Partial<ServerLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.sessions = new Sessions(
      this.limits.maxSessions,
      this.limits.idleTimeoutS * 1000,
      Math.min(this.limits.evictIdleS, this.limits.idleTimeoutS) * 1000,
    );
  }

  encode(msg: Msg): Uint8Array {
    return this.packr.pack(msg);
  }

  decode(buf: Uint8Array): unknown {
    return this.packr.unpack(buf);
  }

  errorReply(id: unknown, code: ErrorCode, message: string): Uint8Array {
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
    return this.encode({ v: PROTOCOL_VERSION, id: id ?? null, ok: false, error: { code, message } });
  }

  /** Handles one request message; always returns a reply. */
  async handle(buf: Uint8Array, now = Date.now()): Promise<Uint8Array> {
    if (buf.byteLength > this.limits.maxMessageBytes) {
      return this.errorReply(
        null,
        "TOO_LARGE",
        `message of ${buf.byteLength} bytes exceeds the limit of ${this.limits.maxMessageBytes}`,
      );
    }
    let msg: unknown;
    try {
      msg = this.decode(buf);
    } catch (err) {
      return this.errorReply(
        null,
        "BAD_MESSAGE",
        `not a msgpack message: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!isPlainMap(msg)) return this.errorReply(null, "BAD_MESSAGE", "a request must be a msgpack map");
    const m = msg as Msg;
    const id = typeof m.id === "number" || typeof m.id === "string" ? m.id : null;
    try {
      if (m.v !== PROTOCOL_VERSION)
        throw new ProtocolError("VERSION", `protocol version must be ${PROTOCOL_VERSION} (got ${describeValue(m.v)})`);
      const cmd = m.cmd;
      if (typeof cmd !== "string") throw new ProtocolError("BAD_REQUEST", "'cmd' must be a string");
      const result = await this.dispatch(cmd, m, id, now);
      if (result instanceof Uint8Array) return result;
      return this.encode({ v: PROTOCOL_VERSION, id, ok: true, ...result });
    } catch (err) {
      const code = wireErrorCodeOf(err);
      if (!(err instanceof PropAmmError))
        return this.errorReply(id, code, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      return this.errorReply(id, code, code === "CONFIG" ? wireNames(err.message) : err.message);
    }
  }

  private async dispatch(cmd: string, m: Msg, id: unknown, now: number): Promise<Msg | Uint8Array> {
    switch (cmd) {
      case "hello":
        return {
          protocol: PROTOCOL_VERSION,
          revision: PROTOCOL_REVISION,
          features: [...FEATURES],
          server: `prop-amm-gym ${this.version}`,
          observation_space: OBSERVATION_SPACE.toJSON(),
          action_space: ACTION_SPACE.toJSON(),
          default_config: defaultConfigWire(),
          limits: {
            max_message_bytes: this.limits.maxMessageBytes,
            max_sessions: this.limits.maxSessions,
            max_envs_per_session: this.limits.maxEnvsPerSession,
            idle_timeout_s: this.limits.idleTimeoutS,
            evict_idle_s: this.limits.evictIdleS,
          },
          sessions_open: this.sessions.size,
        };
      case "ping":
        return { pong: true };
      case "make":
        return this.make(m, now);
      case "reset":
        return this.reset(m, id, now);
      case "step":
        return this.step(m, id, now);
      case "close": {
        const envId = requireString(m, "env_id");
        if (!this.sessions.close(envId)) throw new ProtocolError("UNKNOWN_ENV", `no open session '${envId}'`);
        return { closed: true };
      }
      default:
        throw new ProtocolError("UNKNOWN_COMMAND", `unknown command '${cmd}' (hello, make, reset, step, close, ping)`);
    }
  }

  private async make(m: Msg, now: number): Promise<Msg> {
    if (m.lineup !== undefined && m.lineup !== null) return this.makeMultiAgent(m, now);
    if (m.api !== undefined && m.api !== null)
      throw new ProtocolError("BAD_REQUEST", "'api' is for multi-agent sessions: give a 'lineup' too");
    const n = m.num_envs ?? 1;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > this.limits.maxEnvsPerSession) {
      throw new ProtocolError("BAD_REQUEST", `'num_envs' must be an integer in [1, ${this.limits.maxEnvsPerSession}]`);
    }
    const mode = m.autoreset_mode ?? "next_step";
    if (mode !== "next_step" && mode !== "same_step") {
      throw new ProtocolError("BAD_REQUEST", '\'autoreset_mode\' must be "next_step" or "same_step"');
    }
    const config = envConfigFromWire(m.config);
    this.makeRoom(now);
    const opponents = config.opponents ?? [];
    const files = opponents.filter((o) => typeof o !== "string" || !builtinSource(o));
    const allowed = opponents.map((o) => (typeof o === "string" && builtinSource(o) ? o : this.allowedPath(o)));
    const env =
      files.length === 0
        ? await VectorEnv.create(n, config, { autoresetMode: mode as AutoresetMode }, loadStrategy)
        : await SandboxedVectorEnv.create(
            n,
            { ...config, opponents: allowed },
            {
              autoresetMode: mode as AutoresetMode,
              limits: this.limits.sandboxLimits,
            },
          );
    const s = this.sessions.add(env, now);
    return {
      env_id: s.id,
      num_envs: n,
      observation_space: observationSpace(config.observation ?? DEFAULT_ENV_CONFIG.observation).toJSON(),
      action_space: ACTION_SPACE.toJSON(),
      autoreset_mode: mode,
    };
  }

  /** Frees idle sessions, and the longest-idle one when the table is full; refuses when it stays full. */
  private makeRoom(now: number): void {
    this.sessions.sweep(now);
    if (this.sessions.full()) {
      const evicted = this.sessions.evictLongestIdle(now);
      if (evicted !== null) this.evictions.push(evicted);
    }
    if (this.sessions.full()) {
      throw new ProtocolError(
        "TOO_MANY_SESSIONS",
        `${this.sessions.size} sessions are open (limit ${this.limits.maxSessions}), all used within the last ${this.limits.evictIdleS} s; close one first`,
      );
    }
  }

  /** Revision 3: a multi-agent session (one env; built-in opponents only; in this process). */
  private makeMultiAgent(m: Msg, now: number): Msg {
    const api = m.api ?? "aec";
    if (!(MULTI_AGENT_APIS as readonly unknown[]).includes(api))
      throw new ProtocolError("BAD_REQUEST", `'api' must be "aec" or "parallel" (got ${describeValue(api)})`);
    if (m.num_envs !== undefined && m.num_envs !== null && m.num_envs !== 1)
      throw new ProtocolError("BAD_REQUEST", "'num_envs' must be 1 or nil for a multi-agent session (one env)");
    if (m.autoreset_mode !== undefined && m.autoreset_mode !== null)
      throw new ProtocolError(
        "BAD_REQUEST",
        "'autoreset_mode' is not for multi-agent sessions (they do not autoreset)",
      );
    const lineup = lineupFromWire(m.lineup);
    const config = envConfigFromWire(m.config);
    if (config.opponents !== undefined)
      throw new ConfigError("config.opponents: a multi-agent session takes its opponents from 'lineup'");
    const { opponents: _none, ...rest } = config;
    const env = new MultiAgentSession(api as MultiAgentApi, { ...rest, lineup });
    this.makeRoom(now);
    const s = this.sessions.add(env, now);
    return {
      env_id: s.id,
      num_envs: 1,
      api,
      possible_agents: [...env.aec.possibleAgents],
      observation_space: env.aec.observationSpace(env.aec.possibleAgents[0]).toJSON(),
      action_space: ACTION_SPACE.toJSON(),
    };
  }

  /**
   * A client may name a file only inside the server's strategy folder (symbolic links resolved),
   * and the server never imports it: the session runs in a sandbox.
   */
  private allowedPath(spec: unknown): string {
    const dir = this.limits.strategyDir;
    if (typeof spec !== "string") throw new ConfigError("opponents must be strategy names");
    if (dir === undefined) {
      throw new ConfigError(
        `opponent '${spec}': this server accepts built-in strategies only (start it with --strategy-dir to allow files)`,
      );
    }
    let real: string;
    try {
      real = realpathSync(spec.startsWith("/") ? spec : `${dir}/${spec}`);
    } catch {
      throw new ConfigError(`opponent '${spec}': no such file in the server's strategy folder`);
    }
    const root = realpathSync(dir);
    if (!real.startsWith(root + sep)) {
      throw new ConfigError(`opponent '${spec}': only files inside the server's strategy folder may be named`);
    }
    return real;
  }

  private session(m: Msg, now: number) {
    const envId = requireString(m, "env_id");
    const s = this.sessions.get(envId, now);
    if (!s)
      throw new ProtocolError(
        "UNKNOWN_ENV",
        `no open session '${envId}' (never made, closed, or freed after ${this.limits.idleTimeoutS} s idle)`,
      );
    return s;
  }

  /**
   * Runs fn after the session's earlier requests (two clients may share an env_id, and an
   * in-process request yields between slices); the session counts as busy meanwhile.
   */
  private async exclusive<T>(s: Session, now: number, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    s.inFlight++;
    const run = s.queue.then(fn);
    s.queue = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      s.inFlight--;
      s.lastUsed = now + (Date.now() - started); // idle from the end of its last request
    }
  }

  private readonly pause = (): Promise<void> => nextTurn();

  private replay(s: ReturnType<RequestHandler["session"]>, id: unknown): Uint8Array | null {
    return id !== null && s.lastReply !== null && s.lastRequestId === id ? s.lastReply : null;
  }

  private remember(s: ReturnType<RequestHandler["session"]>, id: unknown, result: Msg): Uint8Array {
    const reply = this.encode({ v: PROTOCOL_VERSION, id, ok: true, ...result });
    s.lastRequestId = id;
    s.lastReply = reply;
    return reply;
  }

  private async reset(m: Msg, id: unknown, now: number): Promise<Uint8Array> {
    const s = this.session(m, now);
    return this.exclusive(s, now, () => this.resetNow(s, m, id));
  }

  private async resetNow(s: Session, m: Msg, id: unknown): Promise<Uint8Array> {
    const cached = this.replay(s, id);
    if (cached) return cached;
    const seed = m.seed ?? undefined;
    // Env i gets seed + i: each must be a safe integer, checked before any env resets.
    const maxSeed = Number.MAX_SAFE_INTEGER - (s.env.numEnvs - 1);
    if (seed !== undefined && (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0 || seed > maxSeed)) {
      throw new ProtocolError(
        "BAD_REQUEST",
        `'seed' must be an integer in [0, ${maxSeed}] or nil (env i uses seed + i)`,
      );
    }
    let options: { market?: ReturnType<typeof pinsFromWire> } | undefined;
    if (m.options !== undefined && m.options !== null) {
      if (!isPlainMap(m.options)) throw new ProtocolError("BAD_REQUEST", "'options' must be a map or nil");
      const o = m.options as Msg;
      for (const k of Object.keys(o))
        if (k !== "market") throw new ProtocolError("BAD_REQUEST", `options: unknown key '${k}' (known: market)`);
      options = o.market === undefined ? {} : { market: pinsFromWire(o.market, "options.market") };
    }
    if (s.env instanceof MultiAgentSession) {
      for (const k of ["seeds", "mask"])
        if (m[k] !== undefined && m[k] !== null)
          throw new ProtocolError("BAD_REQUEST", `'${k}' is for vector sessions; a multi-agent session has one env`);
      const env = s.env;
      const args = { seed: seed as number | undefined, options };
      if (env.parallel !== null) {
        const r = env.parallel.reset(args);
        return this.remember(s, id, parallelResetWire(env.parallel, r, infoToWire));
      }
      env.aec.reset(args);
      return this.remember(s, id, aecStateWire(env.aec, infoToWire));
    }
    const n = s.env.numEnvs;
    const seeds = this.seedList(m.seeds, n, seed);
    const mask = this.resetMask(m.mask, n);
    const args = { seed: seed as number | undefined, seeds, mask, options };
    const r =
      s.env instanceof VectorEnv
        ? await s.env.resetAsync(args, this.pause, this.limits.sliceMs)
        : await s.env.reset(args);
    return this.remember(s, id, {
      observations: encodeArray(r.observations, "float32", [n, r.observations.length / n]),
      infos: r.infos.map(infoToWire),
    });
  }

  /** One agent's action: an array of 2 finite numbers ([2] or [1, 2]). */
  private agentAction(x: unknown, what: string): Float64Array {
    const { values, shape } = decodeFloatArray(x, what);
    const ok = (shape.length === 1 && shape[0] === 2) || (shape.length === 2 && shape[0] === 1 && shape[1] === 2);
    if (!ok) throw new ArrayError(`${what} must have shape [2] (got ${JSON.stringify(shape)})`);
    for (let i = 0; i < 2; i++)
      if (!Number.isFinite(values[i])) throw new ArrayError(`${what}[${i}] is ${values[i]}: actions must be finite`);
    return values;
  }

  /**
   * A multi-agent step. AEC: `action`, the selected agent's action (nil removes a finished
   * agent), with an optional `agent` naming who is meant to act. Parallel: `actions`, a map from
   * agent id to action (nil for an agent that is not acting).
   */
  private multiAgentStep(env: MultiAgentSession, m: Msg): Msg {
    if (env.parallel === null) {
      if (m.actions !== undefined)
        throw new ProtocolError(
          "BAD_REQUEST",
          "an AEC session's step takes 'action' (the selected agent's), not 'actions'",
        );
      if (m.agent !== undefined && m.agent !== null) {
        if (typeof m.agent !== "string") throw new ProtocolError("BAD_REQUEST", "'agent' must be a string or nil");
        if (env.aec.simulation !== null && m.agent !== env.aec.agentSelection)
          throw new ProtocolError(
            "BAD_REQUEST",
            `'agent' is '${m.agent}' but it is '${env.aec.agentSelection}' that is selected to act`,
          );
      }
      const action = m.action === undefined || m.action === null ? null : this.agentAction(m.action, "action");
      env.aec.step(action);
      return aecStateWire(env.aec, infoToWire);
    }
    if (m.action !== undefined)
      throw new ProtocolError(
        "BAD_REQUEST",
        "a parallel session's step takes 'actions' (a map agent -> action), not 'action'",
      );
    if (!isPlainMap(m.actions))
      throw new ProtocolError(
        "BAD_REQUEST",
        "'actions' must be a map from agent id to action (nil for an agent not acting)",
      );
    const actions: Record<string, Float64Array | null> = {};
    for (const [a, x] of Object.entries(m.actions))
      actions[a] = x === null || x === undefined ? null : this.agentAction(x, `actions['${a}']`);
    const r = env.parallel.step(actions);
    return parallelStepWire(env.parallel, r, infoToWire);
  }

  /** reset's `seeds`: nil, or a list of n ints >= 0 or nils (not with `seed`). */
  private seedList(v: unknown, n: number, seed: unknown): (number | null)[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (seed !== undefined)
      throw new ProtocolError("BAD_REQUEST", "give 'seed' or 'seeds', not both ('seed' must be nil with 'seeds')");
    if (!Array.isArray(v) || v.length !== n)
      throw new ProtocolError("BAD_REQUEST", `'seeds' must be a list of ${n} entries (one per env) or nil`);
    return v.map((x: unknown, i) => {
      if (x === null) return null;
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0)
        throw new ProtocolError(
          "BAD_REQUEST",
          `'seeds[${i}]' must be an integer in [0, ${Number.MAX_SAFE_INTEGER}] or nil (got ${describeValue(x)})`,
        );
      return x;
    });
  }

  /** reset's `mask`: nil, a list of n bools (or 0/1), or a uint8 array map of n. */
  private resetMask(v: unknown, n: number): Uint8Array | undefined {
    if (v === undefined || v === null) return undefined;
    const bad = (): never => {
      throw new ProtocolError("BAD_REQUEST", `'mask' must be a list of ${n} bools (or a uint8 array of ${n}) or nil`);
    };
    let flags: ArrayLike<unknown>;
    if (Array.isArray(v)) flags = v;
    else if (isPlainMap(v) && v.dtype === "uint8" && v.data instanceof Uint8Array) {
      if (!Array.isArray(v.shape) || v.shape.length !== 1 || v.shape[0] !== v.data.byteLength) bad();
      flags = v.data;
    } else return bad();
    if (flags.length !== n) bad();
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const x = flags[i];
      if (x === true || x === 1) mask[i] = 1;
      else if (x !== false && x !== 0) bad();
    }
    if (!mask.some((x) => x === 1))
      throw new ProtocolError("BAD_REQUEST", "'mask' resets no env (every entry is false)");
    return mask;
  }

  private async step(m: Msg, id: unknown, now: number): Promise<Uint8Array> {
    const s = this.session(m, now);
    return this.exclusive(s, now, () => this.stepNow(s, m, id));
  }

  private async stepNow(s: Session, m: Msg, id: unknown): Promise<Uint8Array> {
    const cached = this.replay(s, id);
    if (cached) return cached;
    if (s.env instanceof MultiAgentSession) return this.remember(s, id, this.multiAgentStep(s.env, m));
    const n = s.env.numEnvs;
    const { values, shape } = decodeFloatArray(m.actions, "actions");
    const shapeOk =
      (shape.length === 2 && shape[0] === n && shape[1] === 2) || (shape.length === 1 && shape[0] === 2 * n);
    if (!shapeOk) throw new ArrayError(`actions must have shape [${n}, 2] (got ${JSON.stringify(shape)})`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]))
        throw new ArrayError(`actions[${Math.floor(i / 2)}][${i % 2}] is ${values[i]}: actions must be finite`);
    }
    // In-process work is sliced so one large session cannot stall every other client.
    const r =
      s.env instanceof VectorEnv
        ? await s.env.stepAsync(values, this.pause, this.limits.sliceMs)
        : await s.env.step(values);
    return this.remember(s, id, {
      observations: encodeArray(r.observations, "float32", [n, r.observations.length / n]),
      rewards: encodeArray(r.rewards, "float64", [n]),
      terminated: encodeArray(r.terminated, "uint8", [n]),
      truncated: encodeArray(r.truncated, "uint8", [n]),
      infos: r.infos.map(infoToWire),
    });
  }
}
