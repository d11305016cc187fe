/**
 * Gym benchmark: transitions (decisions) and simulation steps per second through PropAmmEnv
 * and VectorEnv (n = 1, 8, 64), against the bare simulation of the same episodes with the
 * same fees (agent pool without pauses). Target: the env adds under 10%.
 */
import { cpus } from "node:os";
import { agentPool } from "../env/builtins/agent.js";
import { starter } from "../env/builtins/starter.js";
import { PropAmmEnv } from "../gym/env.js";
import { Simulation } from "../env/simulation.js";
import { SLOT, writeFeeBps } from "../env/storage.js";
import { VectorEnv } from "../gym/vector-env.js";

const quick = process.argv.includes("--quick");
const episodes = quick ? 4 : 20;
const repeats = quick ? 1 : 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Constant fee 40 bps on both sides: action 2*40/250 - 1. */
const ACTION = (2 * 40) / 250 - 1;

function bare(): number {
  const t0 = performance.now();
  let steps = 0;
  for (let ep = 0; ep < episodes; ep++) {
    const sim: Simulation = new Simulation(ep, [
      () => agentPool({ decisionInterval: 100, epochLen: 1000, decide: () => {} }),
      () => starter(),
    ]);
    writeFeeBps(sim.pools[0].storage, SLOT.fee0Wad, 40);
    writeFeeBps(sim.pools[0].storage, SLOT.fee1Wad, 40);
    sim.pools[0].syncStorage();
    sim.run();
    steps += sim.config.steps;
  }
  return steps / ((performance.now() - t0) / 1000);
}

function single(): { steps: number; transitions: number } {
  const env = new PropAmmEnv();
  const t0 = performance.now();
  let transitions = 0;
  for (let ep = 0; ep < episodes; ep++) {
    env.reset({ seed: ep });
    for (;;) {
      transitions++;
      if (env.step([ACTION, ACTION]).terminated) break;
    }
  }
  const s = (performance.now() - t0) / 1000;
  return { steps: (episodes * env.simConfig.steps) / s, transitions: transitions / s };
}

function vector(n: number): { steps: number; transitions: number } {
  const venv = new VectorEnv(n);
  const actions = new Float32Array(n * 2).fill(ACTION);
  const totalEpisodes = Math.max(n, episodes);
  venv.reset({ seed: 0 });
  let finished = 0;
  let transitions = 0;
  const t0 = performance.now();
  while (finished < totalEpisodes) {
    const r = venv.step(actions);
    transitions += n;
    for (let i = 0; i < n; i++) finished += r.terminated[i];
  }
  const s = (performance.now() - t0) / 1000;
  return { steps: (finished * venv.envs[0].simConfig.steps) / s, transitions: transitions / s };
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

bare();
single(); // warm-up
const bareRate = median(Array.from({ length: repeats }, bare));
const singles = Array.from({ length: repeats }, single);
const singleSteps = median(singles.map((s) => s.steps));
console.log(`# Gym benchmark`);
console.log(
  `machine: ${cpus()[0]?.model ?? "unknown"} x${cpus().length}, node ${process.version}; one thread, median of ${repeats}`,
);
console.log(`agent (decisionInterval 100) vs one starter, 10000 steps, epoch 1000\n`);
console.log(`| runner | sim steps/s | transitions/s | vs bare simulation |`);
console.log(`|---|---|---|---|`);
console.log(`| bare Simulation (no pauses) | ${fmt(bareRate)} | - | 1.00 |`);
console.log(
  `| PropAmmEnv | ${fmt(singleSteps)} | ${fmt(median(singles.map((s) => s.transitions)))} | ${(singleSteps / bareRate).toFixed(2)} |`,
);
for (const n of [1, 8, 64]) {
  const runs = Array.from({ length: quick ? 1 : 3 }, () => vector(n));
  const steps = median(runs.map((r) => r.steps));
  console.log(
    `| VectorEnv n=${n} | ${fmt(steps)} | ${fmt(median(runs.map((r) => r.transitions)))} | ${(steps / bareRate).toFixed(2)} |`,
  );
}
