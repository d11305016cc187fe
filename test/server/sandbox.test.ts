/**
 * Strategy files named by clients (docs/sandbox.md): only inside the server's --strategy-dir,
 * never imported by the server, run in a sandbox; a looping one does not hold up other clients,
 * and its own client gets an error naming what happened. Needs dist/ (`npm run build`).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Request } from "zeromq";
import { GymServer } from "../../server/serve.js";
import { requireBuiltCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { type Msg, packr, SIM_WIRE, toWire } from "../helpers/wire.js";

const tmp = tempDir("propamm-serve-sandbox-");
const allowed = join(tmp, "allowed");
const marker = join(tmp, "top-level-ran.txt");
let server: GymServer;
let endpoint = "";
const sockets: Request[] = [];

const CP = `const g = 0.997 * input; return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);`;

beforeAll(async () => {
  requireBuiltCli();
  mkdirSync(allowed);
  writeFileSync(join(allowed, "loop.mjs"), `export default { name: "looper", computeSwap() { for (;;) {} } };`);
  writeFileSync(
    join(allowed, "fine.mjs"),
    `export default { name: "fine", computeSwap(side, input, x, y) { ${CP} } };`,
  );
  // Outside the allowed folder, with top-level code that leaves a trace if it ever runs here.
  writeFileSync(
    join(tmp, "outside.mjs"),
    `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "ran");
     export default { name: "outside", computeSwap() { return 0; } };`,
  );
  endpoint = `ipc://${join(tmp, "gym.sock")}`;
  server = new GymServer({
    bind: endpoint,
    strategyDir: allowed,
    sandboxLimits: { simulationMs: 3000, memoryMb: 128 },
  });
  await server.start();
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function client(): (fields: Msg) => Promise<Msg> {
  const sock = new Request({ linger: 0, receiveTimeout: 60_000, sendTimeout: 10_000 });
  sockets.push(sock);
  sock.connect(endpoint);
  let id = 0;
  return async (fields) => {
    await sock.send(packr.pack({ v: 1, id: ++id, ...fields }));
    const [frame] = await sock.receive();
    return packr.unpack(frame) as Msg;
  };
}

describe("serve: client-named strategy files", () => {
  it("a file outside --strategy-dir is refused and its code never runs", async () => {
    const call = client();
    const r = await call({ cmd: "make", config: { opponents: [join(tmp, "outside.mjs")], sim: SIM_WIRE } });
    expect(r.ok).toBe(false);
    expect((r.error as Msg).code).toBe("CONFIG");
    expect((r.error as Msg).message).toMatch(/only files inside the server's strategy folder/);
    expect(existsSync(marker)).toBe(false);
  });

  it("a file inside runs sandboxed and steps", async () => {
    const call = client();
    const made = await call({ cmd: "make", config: { opponents: ["fine.mjs", "starter"], sim: SIM_WIRE } });
    expect(made.ok).toBe(true);
    const reset = await call({ cmd: "reset", env_id: made.env_id, seed: 3 });
    expect(reset.ok).toBe(true);
    const step = await call({
      cmd: "step",
      env_id: made.env_id,
      actions: toWire([0.1, -0.1], "float32", [1, 2]),
    });
    expect(step.ok, JSON.stringify(step.error)).toBe(true);
  });

  it("a looping file does not freeze other clients; its own client gets an error naming the limit", async () => {
    const stuck = client();
    const other = client();
    const order: string[] = [];
    const looping = (async () => {
      const made = await stuck({ cmd: "make", config: { opponents: ["loop.mjs"], sim: SIM_WIRE } });
      // The quotes come with the first decisions: make, reset and a few steps reach them.
      let r = made.ok ? await stuck({ cmd: "reset", env_id: made.env_id, seed: 1 }) : made;
      for (let k = 0; k < 5 && r.ok; k++)
        r = await stuck({ cmd: "step", env_id: made.env_id, actions: toWire([0, 0], "float32", [1, 2]) });
      order.push("stuck");
      return r;
    })();
    const healthy = (async () => {
      const made = await other({ cmd: "make", config: { opponents: ["fixed:30"], sim: SIM_WIRE } });
      const r = await other({ cmd: "reset", env_id: made.env_id, seed: 1 });
      order.push("other");
      return r;
    })();
    const [a, b] = await Promise.all([looping, healthy]);
    expect(b.ok).toBe(true);
    expect(a.ok).toBe(false);
    expect((a.error as Msg).code).toBe("ENV");
    expect((a.error as Msg).message).toMatch(/session stopped: .*time limit/);
    expect(order).toEqual(["other", "stuck"]);
    // The server still answers everyone.
    expect((await stuck({ cmd: "ping" })).ok).toBe(true);
  });
});
