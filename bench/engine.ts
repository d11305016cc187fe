/**
 * Engine benchmark (`npm run bench`): simulation steps per second on one core for N = 1, 2, 4,
 * 8, 16 strategies of three kinds, black-box quote calls per routed order and per arbitrage
 * search. Prints a
 * markdown table for docs/BENCHMARKS.md. Each figure is the median of several timed runs.
 */
import { cpus, totalmem } from "node:os";
import { fixedFee } from "../env/builtins/fixed.js";
import { starter } from "../env/builtins/starter.js";
import { Simulation, type StrategySource } from "../env/simulation.js";
import type { Strategy } from "../env/strategy.js";

type Kind = "fixed" | "starter" | "black-box";

/** A constant-product curve the engine cannot see into: no constantProductFees declaration. */
function blackBox(bps: number): Strategy {
  const { name, computeSwap } = fixedFee(bps);
  return { name: `Black-box ${name}`, computeSwap };
}

function sources(kind: Kind, n: number): StrategySource[] {
  return Array.from({ length: n }, (_, i): StrategySource => {
    const bps = 20 + 10 * (i % 8);
    if (kind === "fixed") return () => fixedFee(bps);
    if (kind === "starter") return () => starter();
    return () => blackBox(bps);
  });
}

interface Measure {
  stepsPerSecond: number;
  quoteCallsPerOrder: number;
  quoteCallsPerArb: number;
}

function measure(kind: Kind, n: number, budgetMs: number, repeats: number): Measure {
  const src = sources(kind, n);
  const steps = kind === "black-box" ? 1000 : 10000;
  new Simulation(1_000_000, src, { steps: Math.min(steps, 2000) }).run(); // warm-up
  const rates: number[] = [];
  let orders = 0;
  let calls = 0;
  let searches = 0;
  let arbCalls = 0;
  let seed = 0;
  for (let r = 0; r < repeats; r++) {
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < budgetMs) {
      const result = new Simulation(seed++, src, { steps }).run();
      orders += result.ordersRouted;
      calls += result.routerQuoteCalls;
      searches += result.arbSearches;
      arbCalls += result.arbQuoteCalls;
      done += steps;
    }
    rates.push(done / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return {
    stepsPerSecond: rates[Math.floor(rates.length / 2)],
    quoteCallsPerOrder: orders > 0 ? calls / orders : 0,
    quoteCallsPerArb: searches > 0 ? arbCalls / searches : 0,
  };
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0);
}

const quick = process.argv.includes("--quick");
const budget = quick ? 150 : 700;
const repeats = quick ? 1 : 5;
const sizes = [1, 2, 4, 8, 16];
const kinds: Kind[] = ["fixed", "starter", "black-box"];

console.log(`# Engine benchmark`);
console.log(
  `machine: ${cpus()[0]?.model ?? "unknown"} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
);
console.log(`one thread; median of ${repeats} runs of ~${budget} ms; N strategies plus the normalizer\n`);
console.log(
  `| N | fixed-fee steps/s | starter steps/s | black-box steps/s | black-box quote calls / routed order | quote calls / black-box arbitrage |`,
);
console.log(`|---|---|---|---|---|---|`);
const table: Record<string, Record<number, Measure>> = {};
for (const n of sizes) {
  const row = kinds.map((k) => {
    const m = measure(k, n, budget, repeats);
    (table[k] ??= {})[n] = m;
    return m;
  });
  const bb = row[2];
  console.log(
    `| ${n} | ${fmt(row[0].stepsPerSecond)} | ${fmt(row[1].stepsPerSecond)} | ${fmt(bb.stepsPerSecond)} | ${bb.quoteCallsPerOrder.toFixed(1)} (${(bb.quoteCallsPerOrder / n).toFixed(1)} per pool) | ${bb.quoteCallsPerArb.toFixed(1)} |`,
  );
}
const f2 = table.fixed[2].stepsPerSecond;
const s2 = table.starter[2].stepsPerSecond;
console.log(`\ntargets: two fixed-fee strategies >= 1,000,000 steps/s: ${fmt(f2)} (${(f2 / 1e6).toFixed(2)}x)`);
console.log(`         two starters >= 300,000 steps/s: ${fmt(s2)} (${(s2 / 3e5).toFixed(2)}x)`);
