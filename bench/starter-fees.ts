/**
 * What a starter charges: the mean of its two side fees in force, weighted by the steps it is in
 * force, over simulations with seeds 100000... (default configuration), with its deciles and
 * the mean edges.
 *
 *   node dist/bench/starter-fees.js [starter|starter:seed] [simulations=1000] [other strategies...]
 *
 * With no other strategy the starter competes with the normalizer alone; `fixed:50` beside it
 * is the line-up of `propamm eval <candidate> --against starter`.
 */
import { builtinSource } from "../env/builtins/index.js";
import { Simulation, type StrategySource } from "../env/simulation.js";
import type { Strategy } from "../env/strategy.js";

const [name = "starter", simsArg = "1000", ...others] = process.argv.slice(2);
const sims = Number(simsArg);
const source = builtinSource(name);
if (!source || !name.startsWith("starter")) throw new Error(`not a starter: ${name}`);
const extra = others.map((o) => {
  const s = builtinSource(o);
  if (!s) throw new Error(`not a built-in: ${o}`);
  return s;
});

/** Steps spent at each fee, by 0.1 bps. */
const steps = new Map<number, number>();
let edge = 0;
let normalizerEdge = 0;
for (let seed = 100000; seed < 100000 + sims; seed++) {
  let lastStep = 0;
  let lastFee = 5;
  const feeOf = (st: Uint8Array): number => {
    const v = new DataView(st.buffer, st.byteOffset, st.byteLength);
    const side = (i: number): number => Math.max(5, Number(v.getBigUint64(8 * i, true)) / 1e14);
    return (side(0) + side(1)) / 2;
  };
  const spend = (step: number): void => {
    const k = Math.round(lastFee * 10);
    steps.set(k, (steps.get(k) ?? 0) + step - lastStep);
    lastStep = step;
  };
  const watched: StrategySource = (ctx) => {
    const s = source(ctx);
    const w: Strategy = {
      ...s,
      afterSwap(ev, st) {
        spend(ev.simStep);
        s.afterSwap!(ev, st);
        lastFee = feeOf(st);
      },
      onEpochBoundary(ev, st) {
        s.onEpochBoundary!(ev, st);
        lastFee = feeOf(st);
      },
    };
    return w;
  };
  const sim = new Simulation(seed, [watched, ...extra]);
  const r = sim.run();
  spend(sim.config.steps);
  edge += r.pools[0].edge;
  normalizerEdge += r.pools[r.pools.length - 1].edge;
}
const keys = [...steps.keys()].sort((a, b) => a - b);
const total = [...steps.values()].reduce((a, b) => a + b, 0);
const quantile = (p: number): number => {
  let c = 0;
  for (const k of keys) {
    c += steps.get(k)!;
    if (c >= p * total) return k / 10;
  }
  return NaN;
};
console.log(
  JSON.stringify({
    strategy: name,
    against: others,
    simulations: sims,
    feeBps: { p10: quantile(0.1), median: quantile(0.5), p90: quantile(0.9) },
    meanEdge: +(edge / sims).toFixed(1),
    meanNormalizerEdge: +(normalizerEdge / sims).toFixed(1),
  }),
);
