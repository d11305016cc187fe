/** Open env sessions, keyed by id, freed when closed or idle for too long. */
import { randomBytes } from "node:crypto";
import type { VectorEnv } from "../gym/vector-env.js";
import type { SandboxedVectorEnv } from "../arena/sandbox-env.js";

export interface Session {
  id: string;
  /** In this process (built-in opponents only) or in a sandbox child (a client named a file). */
  env: VectorEnv | SandboxedVectorEnv;
  lastUsed: number;
  /** The last reset/step request id and its encoded reply, for retried requests. */
  lastRequestId: unknown;
  lastReply: Uint8Array | null;
}

export class Sessions {
  private readonly map = new Map<string, Session>();
  private counter = 0;

  constructor(
    readonly maxSessions: number,
    readonly idleTimeoutMs: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  full(): boolean {
    return this.map.size >= this.maxSessions;
  }

  add(env: Session["env"], now: number): Session {
    const id = `e${++this.counter}-${randomBytes(3).toString("hex")}`;
    const s: Session = { id, env, lastUsed: now, lastRequestId: undefined, lastReply: null };
    this.map.set(id, s);
    return s;
  }

  /** The session, unless it was idle past the timeout (then it is freed now, sweep or not). */
  get(id: string, now: number): Session | undefined {
    const s = this.map.get(id);
    if (!s) return undefined;
    if (now - s.lastUsed > this.idleTimeoutMs) {
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
      if (now - s.lastUsed > this.idleTimeoutMs) {
        this.close(id);
        freed++;
      }
    }
    return freed;
  }

  closeAll(): void {
    for (const id of [...this.map.keys()]) this.close(id);
  }
}
