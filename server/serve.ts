/**
 * `propamm serve`: the gym over a ZeroMQ ROUTER socket. Each client's requests are handled in
 * arrival order; a session whose strategies run in a sandbox (docs/sandbox.md) is awaited without
 * holding up other clients, so a slow or stuck sandbox only delays its own client's replies,
 * and a vanished client's replies are dropped by the ROUTER.
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
  private readonly clients = new Map<string, Promise<void>>();
  private sending: Promise<void> = Promise.resolve();

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
        // Each client's requests in order; different clients' requests do not wait for each other,
        // so a session whose sandbox is busy (or stuck until its time limit) delays only its client.
        const key = identity.toString("hex");
        const handled = (this.clients.get(key) ?? Promise.resolve()).then(async () => {
          const reply =
            payload === null
              ? this.handler.errorReply(null, "BAD_MESSAGE", `expected one payload frame, got ${rest.length} frame(s)`)
              : await this.handler.handle(payload);
          for (const evicted of this.handler.evictions.splice(0))
            this.opts.log?.(`evicted idle session ${evicted} to make room for a new one`);
          await this.send([...envelope, reply]);
        });
        this.clients.set(key, handled);
        void handled.then(() => {
          if (this.clients.get(key) === handled) this.clients.delete(key);
        });
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** One send at a time (the socket allows no more); a failure is logged, not thrown. */
  private send(frames: (Buffer | Uint8Array)[]): Promise<void> {
    this.sending = this.sending.then(async () => {
      if (this.closed) return;
      try {
        await this.socket.send(frames);
      } catch (err) {
        if (!this.closed) this.opts.log?.(`could not reply: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return this.sending;
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
