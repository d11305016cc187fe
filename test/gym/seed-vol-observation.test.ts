/**
 * The seed-vol observation (spec §6.3) in the env: its space; its first five values are the
 * seed observation's, step for step, in the same market (observing more changes nothing in the
 * simulation); its sixth is the per-step volatility recomputed, from an observer's record of the
 * agent pool's trades alone, with Math.log on the reserves (to 1e-10, against estimates of about
 * 1e-3: the env's estimate sees the reserves as whole nanos and uses the runtime's logarithm).
 */
import { describe, expect, it } from "vitest";
import type { Simulation, SimulationObserver } from "../../env/simulation.js";
import type { TradeKind } from "../../env/pool.js";
import type { Side } from "../../env/strategy.js";
import { PropAmmEnv, observationSpace } from "../../index.js";

/** The agent pool's reserves after each of its trades, with the trade's step. */
class TradeRecorder implements SimulationObserver {
  sim!: Simulation;
  trades: { t: number; spot: number }[] = [];
  start(sim: Simulation): void {
    this.sim = sim;
  }
  order(): void {}
  trade(t: number, pool: number, _kind: TradeKind, _side: Side): void {
    if (pool !== 0) return;
    const p = this.sim.pools[0];
    this.trades.push({ t, spot: p.reserveY / p.reserveX });
  }
  epoch(): void {}
  endStep(): void {}
}

/** v from the records: 0.002 at the first trade, then v <- 0.95 v + 0.05 |ln(s / s')| / sqrt(max(1, k)). */
function recomputed(trades: { t: number; spot: number }[]): number {
  let v = 0.002;
  for (let i = 1; i < trades.length; i++) {
    const [prev, tr] = [trades[i - 1], trades[i]];
    v = 0.95 * v + (0.05 * Math.abs(Math.log(tr.spot / prev.spot))) / Math.sqrt(Math.max(1, tr.t - prev.t));
  }
  return v;
}

const SIM = { steps: 3000, epochLen: 1000 };

describe("the seed-vol observation", () => {
  it("is Box(float32, [6]): the seed's bounds and [0, 10] for the estimate", () => {
    const space = observationSpace("seed-vol");
    expect(space.shape).toEqual([6]);
    expect(Array.from(space.low)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(space.high)).toEqual([10, 1, 1, 1, 1, 10]);
    expect(new PropAmmEnv({ observation: "seed-vol", sim: SIM }).observationSpace.shape).toEqual([6]);
    expect(new PropAmmEnv({ sim: SIM }).reset({ seed: 1 }).observation).toHaveLength(5);
  });

  it("extends the seed observation without changing the market, and observes the recomputed estimate", () => {
    for (const seed of [3, 4]) {
      const withVol = new PropAmmEnv({ observation: "seed-vol", opponents: ["starter", "fixed:40"], sim: SIM });
      const plain = new PropAmmEnv({ observation: "seed", opponents: ["starter", "fixed:40"], sim: SIM });
      let a = withVol.reset({ seed });
      let b = plain.reset({ seed });
      expect(withVol.stepVol()).toBe(0.002);
      expect(plain.stepVol()).toBeNull();
      const rec = new TradeRecorder();
      withVol.simulation!.observe(rec);
      const seen = new Set<number>();
      for (let k = 0; ; k++) {
        expect(Array.from(a.observation.subarray(0, 5))).toEqual(Array.from(b.observation));
        const v = withVol.stepVol()!;
        expect(a.observation[5]).toBe(Math.fround(Math.min(10, 1000 * v)));
        if (rec.trades.length > 0) expect(Math.abs(v - recomputed(rec.trades))).toBeLessThan(1e-10);
        seen.add(Math.round(v * 1e5));
        // Fees that move, so the pool trades at varying intervals.
        const action = [Math.sin(k * 0.7), Math.cos(k * 1.3)];
        const ra = withVol.step(action);
        const rb = plain.step(action);
        expect(ra.reward).toBe(rb.reward);
        a = ra;
        b = rb;
        if (ra.terminated) {
          expect(ra.info.episode!.pools[0].edge).toBe(rb.info.episode!.pools[0].edge);
          break;
        }
      }
      // The estimate is live: it took many values over the episode.
      expect(seen.size).toBeGreaterThan(10);
      expect(rec.trades.length).toBeGreaterThan(100);
    }
  });
});
