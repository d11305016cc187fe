// Fixed work for instruction counting (bench/instructions.sh): the same simulations or gym
// episodes on any build, so two commits' counts compare. Plain JS taking the build folder as an
// argument, so it runs unchanged against an older commit's dist/.
//   node bench/fixed-work.mjs <dist> engine <fixed|starter|bb> <n strategies> <simulations>
//   node bench/fixed-work.mjs <dist> gym <episodes>
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [dist, what, ...rest] = process.argv.slice(2);
const mod = (path) => import(pathToFileURL(resolve(dist, path)).href);
let total = 0;
if (what === "engine") {
  const [kind, n, sims] = [rest[0], Number(rest[1]), Number(rest[2])];
  const { Simulation } = await mod("env/simulation.js");
  const { fixedFee } = await mod("env/builtins/fixed.js");
  const { starter } = await mod("env/builtins/starter.js");
  const sources = Array.from({ length: n }, (_, i) => {
    const bps = 20 + 10 * (i % 8);
    if (kind === "fixed") return () => fixedFee(bps);
    if (kind === "starter") return () => starter();
    // A constant-product curve without its closed-form declaration: reached only through computeSwap.
    const { name, computeSwap } = fixedFee(bps);
    return () => ({ name: `black-box ${name}`, computeSwap });
  });
  const steps = kind === "bb" ? 1000 : 10000;
  for (let s = 0; s < sims; s++) total += new Simulation(s, sources, { steps }).run().pools[0].edge;
} else if (what === "gym") {
  const { PropAmmEnv } = await mod("index.js");
  const env = new PropAmmEnv({ opponents: ["starter"] });
  for (let e = 0; e < Number(rest[0]); e++) {
    env.reset({ seed: e });
    for (let done = false; !done;) {
      const r = env.step([-0.6, -0.5]);
      total += r.reward;
      done = r.terminated;
    }
  }
} else {
  throw new Error("usage: fixed-work.mjs <dist> engine <kind> <n> <sims> | gym <episodes>");
}
// Printed so that both builds can be seen to compute the same thing.
console.log(total);
