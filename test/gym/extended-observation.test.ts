/**
 * The extended observation (spec §6.3) against an independent record of the simulation: an
 * observer attached to the env's simulation notes every trade of the agent pool (side, input,
 * flow share, edge) and, at the moment the pool's afterSwap runs, every pool's spot. From those
 * records alone the test recomputes each extended feature at each decision and compares it with
 * what the env observed (exactly for the counts and steps; to float32 precision of the spots the
 * event carries, and 1e-9 relative, for the rest).
 */
import { describe, expect, it } from "vitest";
import type { Simulation, SimulationObserver } from "../../env/simulation.js";
import type { TradeKind } from "../../env/pool.js";
import type { Side } from "../../env/strategy.js";
import { EXT_SLOT } from "../../runtime/slots.js";
import { PropAmmEnv, type EnvConfig, type ExtendedFeatures } from "../../index.js";

interface TradeRecord {
  t: number;
  side: Side;
  kind: TradeKind;
  input: number;
  flowShare: number;
  order: number;
  /** The agent pool's reserves after the trade. */
  reserveX: number;
  reserveY: number;
  /** Every pool's spot when the agent's afterSwap for this trade runs. */
  spots: number[];
}

/** Records the agent pool's trades and what its hook sees, from the engine's observer callbacks. */
class AgentRecorder implements SimulationObserver {
  sim!: Simulation;
  trades: TradeRecord[] = [];
  /** Edge of the agent pool per epoch, summed over its trades. */
  epochEdge: number[] = [];
  private retailOrder = -2;

  start(sim: Simulation): void {
    this.sim = sim;
  }
  order(): void {}
  trade(
    t: number,
    pool: number,
    kind: TradeKind,
    side: Side,
    input: number,
    _o: number,
    edge: number,
    order: number,
    flowShare: number,
  ): void {
    const spots = (): number[] => this.sim.pools.map((p) => p.reserveY / p.reserveX);
    // Hooks of a retail order run after every pool's allocation is applied, so the agent's view
    // is the spots after the order's last trade: refresh it on each trade of the same order.
    if (kind === "retail" && order === this.retailOrder) this.trades[this.trades.length - 1].spots = spots();
    if (pool !== 0) return;
    const epoch = Math.floor(t / this.sim.config.epochLen);
    this.epochEdge[epoch] = (this.epochEdge[epoch] ?? 0) + edge;
    const p = this.sim.pools[0];
    this.trades.push({
      t,
      side,
      kind,
      input,
      flowShare,
      order,
      reserveX: p.reserveX,
      reserveY: p.reserveY,
      spots: spots(),
    });
    // An arbitrage trade's hook runs at once: the spots now are what it sees.
    this.retailOrder = kind === "retail" ? order : -2;
  }
  epoch(): void {}
  endStep(): void {
    this.retailOrder = -2;
  }
}

/** The extended features recomputed from the records, at a decision taken at `decisionStep`. */
function expected(
  rec: AgentRecorder,
  decisionStep: number,
  prevDecisionStep: number,
  closedEpochs: number,
): ExtendedFeatures {
  const trades = rec.trades;
  const last = trades[trades.length - 1];
  const nPools = rec.sim.pools.length;
  let ema0 = 0.5;
  let ema1 = 0.5;
  for (const tr of trades) {
    if (tr.side === 0) ema0 = 0.1 * tr.flowShare + 0.9 * ema0;
    else ema1 = 0.1 * tr.flowShare + 0.9 * ema1;
  }
  const features: ExtendedFeatures = {
    lastSide: 0,
    lastRetail: 0,
    lastSize: 0,
    spotVsNormalizer: 0,
    spotVsMin: 0,
    spotVsMax: 0,
    stepsSinceTrade: 0,
    tradeGap: 0,
    stepsSinceDecision: decisionStep - prevDecisionStep,
    flowEma0: ema0,
    flowEma1: ema1,
    lastEpochEdge: closedEpochs > 0 ? (rec.epochEdge[closedEpochs - 1] ?? 0) : 0,
  };
  if (last === undefined) return features;
  const spot = last.reserveY / last.reserveX;
  // The event lists the other pools in index order, at most 8: pools 1..8 here (the agent is 0).
  const listed = last.spots.slice(1, 9);
  const normalizerListed = nPools - 1 <= 8;
  const strategies = normalizerListed ? listed.slice(0, -1) : listed;
  features.lastSide = last.side === 0 ? 1 : -1;
  features.lastRetail = last.kind === "retail" ? 1 : 0;
  features.lastSize = last.input / (last.side === 0 ? last.reserveY : last.reserveX);
  features.spotVsNormalizer = normalizerListed ? Math.log(spot / last.spots[nPools - 1]) : 0;
  features.spotVsMin = strategies.length > 0 ? Math.log(spot / Math.min(...strategies)) : 0;
  features.spotVsMax = strategies.length > 0 ? Math.log(spot / Math.max(...strategies)) : 0;
  features.stepsSinceTrade = decisionStep - last.t;
  features.tradeGap = trades.length > 1 ? last.t - trades[trades.length - 2].t : 0;
  return features;
}

/** Runs an episode with varying fees, comparing the observed features with the recomputed ones at every decision. */
function checkEpisode(
  config: Partial<EnvConfig>,
  seed: number,
): { decisions: number; kinds: Set<string>; sides: Set<number> } {
  const env = new PropAmmEnv({ ...config, observation: "extended" });
  const epochLen = env.simConfig.epochLen;
  const steps = env.simConfig.steps;
  let { observation } = env.reset({ seed });
  const rec = new AgentRecorder();
  env.simulation!.observe(rec);
  let prevStep = 0;
  let step = 0;
  let closedEpochs = 0;
  let decisions = 0;
  const kinds = new Set<string>();
  const sides = new Set<number>();
  const check = (kind: string): void => {
    const want = expected(rec, step, prevStep, closedEpochs);
    const got = env.extendedFeatures()!;
    const where = `seed ${seed}, decision ${decisions} (${kind} at step ${step})`;
    for (const key of ["lastSide", "lastRetail", "stepsSinceTrade", "tradeGap", "stepsSinceDecision"] as const)
      expect(got[key], `${where}: ${key}`).toBe(want[key]);
    for (const key of ["spotVsNormalizer", "spotVsMin", "spotVsMax"] as const)
      // The event carries the other pools' spots as float32: a relative error of at most 2^-24.
      expect(Math.abs(got[key] - want[key]), `${where}: ${key}`).toBeLessThan(1e-7);
    for (const key of ["lastSize", "flowEma0", "flowEma1", "lastEpochEdge"] as const)
      // Amounts in nano and flow as float32 on the wire; edges summed in another order.
      expect(Math.abs(got[key] - want[key]), `${where}: ${key}`).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(want[key])),
      );
    expect(env.observationSpace.contains(observation), where).toBe(true);
    expect(observation[5]).toBe(want.lastSide);
    expect(Math.abs(observation[8] - Math.max(-5, Math.min(5, 100 * want.spotVsNormalizer)))).toBeLessThan(1e-4);
    expect(Math.abs(observation[13] - Math.min(1, want.stepsSinceDecision / epochLen))).toBeLessThan(1e-6);
    decisions++;
    kinds.add(kind);
    sides.add(got.lastSide);
  };
  check("reset");
  for (let k = 0; ; k++) {
    // Fees that move around (5 to 200 bps, asymmetric) so both sides and both kinds of trade happen.
    const r = env.stepFees(5 + ((k * 37) % 195), 5 + ((k * 61) % 195));
    observation = r.observation;
    if (r.terminated) break;
    prevStep = step;
    if (r.info.decision === "epoch") {
      closedEpochs++;
      step = closedEpochs * epochLen - 1;
    } else {
      step = rec.trades[rec.trades.length - 1].t;
      expect(r.info.simStep).toBe(step);
      expect(r.info.tradeSide).toBe(rec.trades[rec.trades.length - 1].side);
    }
    expect(step).toBeLessThan(steps);
    check(r.info.decision);
  }
  return { decisions, kinds, sides };
}

describe("the extended observation (spec §6.3)", () => {
  it("has 17 bounded values, the seed's five first", () => {
    const env = new PropAmmEnv({ observation: "extended" });
    expect(env.observationSpace.shape).toEqual([17]);
    const seedEnv = new PropAmmEnv({ sim: { steps: 300, epochLen: 100 } });
    const extEnv = new PropAmmEnv({ observation: "extended", sim: { steps: 300, epochLen: 100 } });
    let a = seedEnv.reset({ seed: 9 }).observation;
    let b = extEnv.reset({ seed: 9 }).observation;
    for (;;) {
      expect(Array.from(b.subarray(0, 5))).toEqual(Array.from(a));
      const ra = seedEnv.stepFees(30, 60);
      const rb = extEnv.stepFees(30, 60);
      // The extra slots change no number of the simulation.
      expect(rb.reward).toBe(ra.reward);
      a = ra.observation;
      b = rb.observation;
      if (ra.terminated) {
        expect(rb.terminated).toBe(true);
        expect(rb.info.episode!.pools[0].edge).toBe(ra.info.episode!.pools[0].edge);
        break;
      }
    }
  });

  it("matches an independent record of the trades, at every decision (two opponents)", () => {
    for (const [seed, decisionInterval] of [
      [3, 100],
      [4, 0],
      [5, 17],
    ]) {
      const r = checkEpisode(
        { opponents: ["starter", "fixed:40"], decisionInterval, sim: { steps: 1500, epochLen: 500 } },
        seed,
      );
      // The reset decision, 2 epoch decisions (none after the last step) and some swap decisions.
      expect(r.decisions).toBeGreaterThanOrEqual(1 + 2 + 5);
      expect([...r.kinds].sort()).toEqual(["epoch", "reset", "swap"]);
      expect([...r.sides].sort()).toEqual([-1, 0, 1]);
    }
  });

  it("leaves the normalizer out when the event's list of 8 cuts it off, and has no competitor alone", () => {
    const nine = [
      "fixed:10",
      "fixed:20",
      "fixed:30",
      "fixed:40",
      "fixed:50",
      "fixed:60",
      "fixed:70",
      "fixed:80",
      "fixed:90",
    ];
    checkEpisode({ opponents: nine, sim: { steps: 600, epochLen: 300 } }, 6);
    checkEpisode({ opponents: [], sim: { steps: 600, epochLen: 300 } }, 7);
    const env = new PropAmmEnv({ observation: "extended", opponents: nine, sim: { steps: 600, epochLen: 300 } });
    env.reset({ seed: 6 });
    env.stepFees(30, 30);
    expect(env.extendedFeatures()!.spotVsNormalizer).toBe(0);
  });

  it("is kept in storage only by an agent that observes it", () => {
    const env = new PropAmmEnv({ sim: { steps: 400, epochLen: 200 } });
    env.reset({ seed: 1 });
    for (let r = env.stepFees(30, 30); !r.terminated; r = env.stepFees(30, 30));
    const storage = env.simulation!.pools[0].storage;
    expect(storage.subarray(8 * EXT_SLOT.lastSide).every((b) => b === 0)).toBe(true);
    expect(env.extendedFeatures()).toBeNull();
  });
});
