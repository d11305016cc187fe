/**
 * Sandbox benchmark (`npm run bench`, third part; docs/BENCHMARKS.md, docs/sandbox.md): the same
 * batch of a black-box strategy file (no constantProductFees, so every quote is a call into it)
 * against `starter`, run in this thread unwatched (`workers: 0`), in one watched thread
 * (in-process mode), and in the sandbox child with one thread. Prints wall seconds (median of 3)
 * and the ratio to this thread, once for the whole command and once per simulation after the
 * fixed start-up cost (a 1-simulation batch's time) is taken off.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBatch, type BatchOptions } from "../arena/runner.js";
import { runBatchSandboxed } from "../arena/sandbox.js";

const dir = mkdtempSync(join(tmpdir(), "propamm-bench-sandbox-"));
const file = join(dir, "black-box.mjs");
writeFileSync(
  file,
  `export default {
    name: "black-box 30 bps",
    computeSwap(side, input, x, y) {
      const g = 0.997 * input;
      return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);
    },
  };\n`,
);

const SIMULATIONS = Number(process.argv[2] ?? 16);
const STEPS = 10_000;

type Mode = "this thread (workers 0)" | "watched thread (in-process)" | "sandbox child";

async function once(mode: Mode, simulations: number): Promise<number> {
  const opts: BatchOptions = { strategies: [file, "starter"], simulations, config: { steps: STEPS }, workers: 1 };
  const t0 = performance.now();
  if (mode === "sandbox child") await runBatchSandboxed(opts);
  else await runBatch({ ...opts, workers: mode === "this thread (workers 0)" ? 0 : 1 });
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(mode: Mode): Promise<{ total: number; perSim: number }> {
  const totals: number[] = [];
  const starts: number[] = [];
  for (let k = 0; k < 3; k++) {
    starts.push(await once(mode, 1));
    totals.push(await once(mode, SIMULATIONS));
  }
  const total = median(totals);
  return { total, perSim: (total - median(starts)) / (SIMULATIONS - 1) };
}

try {
  await once("this thread (workers 0)", 2); // warm-up
  const rows: [Mode, { total: number; perSim: number }][] = [];
  for (const mode of ["this thread (workers 0)", "watched thread (in-process)", "sandbox child"] as Mode[]) {
    rows.push([mode, await measure(mode)]);
  }
  const base = rows[0][1];
  console.log(`\n${SIMULATIONS} simulations x ${STEPS} steps, black-box file vs starter, one simulation thread:\n`);
  console.log("| mode | wall s | x this thread | s per further simulation | x this thread |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const [mode, m] of rows) {
    console.log(
      `| ${mode} | ${m.total.toFixed(2)} | ${(m.total / base.total).toFixed(2)} | ${m.perSim.toFixed(3)} | ${(m.perSim / base.perSim).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
