/**
 * `propamm serve`: the gym over a ZeroMQ ROUTER socket. Requests are handled one at a time in
 * arrival order; each is short (one decision of each env in a session), so a slow client only
 * delays its own replies, and a vanished client's replies are dropped by the ROUTER.
 */
import { Router } from "zeromq";
import { RequestHandler, type ServerLimits } from "./handler.js";

export interface ServeOptions extends Partial<ServerLimits> {
  bind: string;
  log?: (line: string) => void;
}

export class GymServer {
  readonly handler: RequestHandler;
  private readonly socket: Router;
  private sweeper: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly opts: ServeOptions) {
    this.handler = new RequestHandler(opts);
    // ZeroMQ drops (and disconnects) messages far above the limit before they reach us;
    // those just above it are answered with TOO_LARGE.
    this.socket = new Router({ maxMessageSize: Math.max(this.handler.limits.maxMessageBytes * 4, 1 << 20), linger: 0 });
  }

  async start(): Promise<void> {
    await this.socket.bind(this.opts.bind);
    const sweepMs = Math.min(60_000, Math.max(1000, (this.handler.limits.idleTimeoutS * 1000) / 4));
    this.sweeper = setInterval(() => {
      const freed = this.handler.sessions.sweep(Date.now());
      if (freed > 0) this.opts.log?.(`freed ${freed} idle session(s)`);
    }, sweepMs);
    this.sweeper.unref();
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        const [identity, ...rest] = frames;
        // REQ peers send [empty delimiter, payload]; DEALER peers may send [payload].
        let envelope: Buffer[];
        let payload: Buffer | null;
        if (rest.length === 2 && rest[0].length === 0) {
          envelope = [identity, rest[0]];
          payload = rest[1];
        } else if (rest.length === 1) {
          envelope = [identity];
          payload = rest[0];
        } else {
          envelope = rest.length > 0 && rest[0].length === 0 ? [identity, rest[0]] : [identity];
          payload = null;
        }
        const reply =
          payload === null
            ? this.handler.errorReply(null, "BAD_MESSAGE", `expected one payload frame, got ${rest.length} frame(s)`)
            : await this.handler.handle(payload);
        try {
          await this.socket.send([...envelope, reply]);
        } catch (err) {
          if (this.closed) break;
          this.opts.log?.(`could not reply: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.socket.close();
    try {
      await this.running;
    } catch {
      // closing the socket ends the loop with an error we expect
    }
    this.handler.sessions.closeAll();
  }
}
