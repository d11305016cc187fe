/**
 * The extended observation over the protocol (docs/protocol.md, spec §6.3): a `make` with
 * `observation: "extended"` declares a 17-value observation space, and every reset and step
 * carries [n x 17] observations equal to an in-process VectorEnv's with the same config, seeds
 * and actions (arrays decoded by hand from their little-endian bytes).
 */
import { describe, expect, it } from "vitest";
import { VectorEnv } from "../../gym/vector-env.js";
import { RequestHandler } from "../../server/handler.js";
import { fromWire, type Msg, packr, SIM_WIRE, SHORT, toWire } from "../helpers/wire.js";
import { Unpackr } from "msgpackr";

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

async function send(h: RequestHandler, id: number, fields: Msg): Promise<Msg> {
  const reply = unpackr.unpack(await h.handle(packr.pack({ v: 1, id, ...fields }))) as Msg;
  expect(reply.error, JSON.stringify(reply.error)).toBeUndefined();
  return reply;
}

describe("protocol: the extended observation", () => {
  it("declares 17 values and sends [n x 17] observations equal to the in-process env's", async () => {
    const h = new RequestHandler();
    const n = 3;
    const made = await send(h, 1, { cmd: "make", num_envs: n, config: { sim: SIM_WIRE, observation: "extended" } });
    const space = made.observation_space as { shape: number[]; low: number[]; high: number[] };
    expect(space.shape).toEqual([17]);
    expect(space.low.slice(5)).toEqual([-1, 0, 0, -5, -5, -5, 0, 0, 0, 0, 0, -10]);
    expect(space.high.slice(5)).toEqual([1, 1, 1, 5, 5, 5, 1, 1, 1, 1, 1, 10]);
    const ref = new VectorEnv(n, { ...SHORT, observation: "extended" });
    const envId = made.env_id as string;
    const reset = await send(h, 2, { cmd: "reset", env_id: envId, seed: 11 });
    expect(fromWire(reset.observations, "float32", [n, 17])).toEqual(Array.from(ref.reset({ seed: 11 }).observations));
    let moved = 0;
    for (let k = 0; k < 25; k++) {
      const actions = Array.from({ length: 2 * n }, (_, i) => Math.sin(k * 7 + i));
      const r = await send(h, 3 + k, { cmd: "step", env_id: envId, actions: toWire(actions, "float64", [n, 2]) });
      const want = ref.step(Float64Array.from(actions)).observations;
      const got = fromWire(r.observations, "float32", [n, 17]);
      expect(got).toEqual(Array.from(want));
      // The extended values are live, not padding: the last trade's side is set once trades happen.
      if (got[5] !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(20);
    // seed-vol: the seed's five and the per-step volatility, x1000 clipped to [0, 10].
    const sv = await send(h, 98, { cmd: "make", num_envs: 1, config: { sim: SIM_WIRE, observation: "seed-vol" } });
    const svSpace = sv.observation_space as { shape: number[]; low: number[]; high: number[] };
    expect([svSpace.shape, svSpace.low, svSpace.high]).toEqual([[6], [0, 0, 0, 0, 0, 0], [10, 1, 1, 1, 1, 10]]);
    // The seed observation is still the default.
    const plain = await send(h, 99, { cmd: "make", num_envs: 1, config: { sim: SIM_WIRE } });
    expect((plain.observation_space as { shape: number[] }).shape).toEqual([5]);
    const bad = unpackr.unpack(
      await h.handle(packr.pack({ v: 1, id: 100, cmd: "make", config: { observation: "full" } })),
    ) as Msg;
    expect(JSON.stringify(bad.error)).toMatch(/observation/);
  });
});
