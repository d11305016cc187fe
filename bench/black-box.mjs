// Black-box steps per second and quote calls, for any build (bench/engine.ts's black-box column
// alone, so that two builds can be compared back to back on a shared machine). Plain JS taking
// the build folder as an argument, like bench/fixed-work.mjs.
//   node bench/black-box.mjs <dist> [sizes, default 1,2,4,8]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = process.argv[2];
const mod = (path) => import(pathToFileURL(resolve(dist, path)).href);
const { Simulation } = await mod("env/simulation.js");
const { fixedFee } = await mod("env/builtins/fixed.js");
const sizes = (process.argv[3] ?? "1,2,4,8").split(",").map(Number);
const steps = 1000;
for (const n of sizes) {
  // Constant-product curves without their closed-form declaration: reached only through computeSwap.
  const sources = Array.from({ length: n }, (_, i) => {
    const { name, computeSwap } = fixedFee(20 + 10 * (i % 8));
    return () => ({ name: `black-box ${name}`, computeSwap });
  });
  new Simulation(1_000_000, sources, { steps }).run(); // warm-up
  const rates = [];
  let orders = 0;
  let routerCalls = 0;
  let allCalls = 0;
  let seed = 0;
  for (let r = 0; r < 5; r++) {
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 400) {
      const res = new Simulation(seed++, sources, { steps }).run();
      orders += res.ordersRouted;
      routerCalls += res.routerQuoteCalls;
      allCalls += res.pools.reduce((s, p) => s + p.quoteCalls, 0);
      done += steps;
    }
    rates.push(done / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  const perOrder = (routerCalls / orders / n).toFixed(1);
  const perStep = (allCalls / (seed * steps) / n).toFixed(1);
  console.log(
    `N=${n} ${(rates[2] / 1e3).toFixed(0)}k steps/s, router quote calls/order/pool ${perOrder}, quote calls/step/pool ${perStep}`,
  );
}
