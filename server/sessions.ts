/**
 * Open env sessions, keyed by id, freed when closed, idle for too long, or (when the table is
 * full and a new session is asked for) evicted as the longest-idle one past the eviction floor.
 */
import { randomBytes } from "node:crypto";
import type { VectorEnv } from "../gym/vector-env.js";
import type { SandboxedVectorEnv } from "../arena/sandbox-env.js";
import type { MultiAgentSession } from "./multi-agent.js";

export interface Session {
  id: string;
  /** In this process (built-in opponents only), in a sandbox child (a client named a file), or a multi-agent env. */
  env: VectorEnv | SandboxedVectorEnv | MultiAgentSession;
  lastUsed: number;
  /** The last reset/step request id and its encoded reply, for retried requests. */
  lastRequestId: unknown;
  lastReply: Uint8Array | null;
  /** Requests of this session run one at a time (two clients may share an env_id). */
  queue: Promise<unknown>;
  /** Requests queued or running: a session with work in flight is never idle. */
  inFlight: number;
}

export class Sessions {
  private readonly map = new Map<string, Session>();
  private counter = 0;

  constructor(
    readonly maxSessions: number,
    readonly idleTimeoutMs: number,
    /** A full table evicts its longest-idle session once that one is idle this long. */
    readonly evictIdleMs: number = idleTimeoutMs,
  ) {}

  get size(): number {
    return this.map.size;
  }

  full(): boolean {
    return this.map.size >= this.maxSessions;
  }

  add(env: Session["env"], now: number): Session {
    const id = `e${++this.counter}-${randomBytes(3).toString("hex")}`;
    const s: Session = {
      id,
      env,
      lastUsed: now,
      lastRequestId: undefined,
      lastReply: null,
      queue: Promise.resolve(),
      inFlight: 0,
    };
    this.map.set(id, s);
    return s;
  }

  /** The session, unless it was idle past the timeout (then it is freed now, sweep or not). */
  get(id: string, now: number): Session | undefined {
    const s = this.map.get(id);
    if (!s) return undefined;
    if (s.inFlight === 0 && now - s.lastUsed > this.idleTimeoutMs) {
      this.close(id);
      return undefined;
    }
    s.lastUsed = now;
    return s;
  }

  close(id: string): boolean {
    const s = this.map.get(id);
    if (!s) return false;
    s.env.close();
    this.map.delete(id);
    return true;
  }

  /** Frees sessions idle for longer than the timeout; returns how many. */
  sweep(now: number): number {
    let freed = 0;
    for (const [id, s] of this.map) {
      if (s.inFlight === 0 && now - s.lastUsed > this.idleTimeoutMs) {
        this.close(id);
        freed++;
      }
    }
    return freed;
  }

  /**
   * Frees the longest-idle session if it has been idle at least the eviction floor and has no
   * request in flight (a client that died or forgot close() holds such a session); returns its
   * id, or null when every session is in use.
   */
  evictLongestIdle(now: number): string | null {
    let oldest: Session | null = null;
    for (const s of this.map.values()) {
      if (s.inFlight > 0 || now - s.lastUsed < this.evictIdleMs) continue;
      if (oldest === null || s.lastUsed < oldest.lastUsed) oldest = s;
    }
    if (oldest === null) return null;
    this.close(oldest.id);
    return oldest.id;
  }

  closeAll(): void {
    for (const id of [...this.map.keys()]) this.close(id);
  }
}
