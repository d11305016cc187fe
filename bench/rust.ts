/**
 * Rust strategies through WebAssembly against the same curve written in TypeScript (part of
 * `npm run bench`). Both are black boxes (no closed-form declaration), so every quote crosses
 * into the strategy: the figure is what the WebAssembly call and its payload cost. The curve is
 * strategies/rust/widening_fee.rs; its TypeScript version below computes in doubles (the usual
 * way to write it), not in the Rust file's integers. One thread; median of several runs.
 */
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { loadStrategy } from "../arena/loader.js";
import { findWasmRustc } from "../arena/rust.js";
import { Simulation, type StrategySource } from "../env/simulation.js";
import type { Side, Strategy } from "../env/strategy.js";

const RUST_FILE = fileURLToPath(new URL("../../strategies/rust/widening_fee.rs", import.meta.url));

/** widening_fee.rs in TypeScript: 30 bps + 1 bp per trade this epoch (max +20), +5 bps on the other side. */
function wideningFee(): Strategy {
  let view: DataView | null = null;
  const v = (s: Uint8Array): DataView => {
    if (view === null || view.buffer !== s.buffer || view.byteOffset !== s.byteOffset)
      view = new DataView(s.buffer, s.byteOffset, s.byteLength);
    return view;
  };
  const feeBps = (s: Uint8Array, side: Side): number => {
    const d = v(s);
    const trades = d.getUint32(12 * 8, true);
    const opposite = trades > 0 && d.getUint32(13 * 8, true) !== side;
    return 30 + Math.min(trades, 20) + (opposite ? 5 : 0);
  };
  return {
    name: "Widening Fee (TypeScript)",
    computeSwap(side, input, rx, ry, storage) {
      const gi = (input * (10000 - feeBps(storage, side))) / 10000;
      return side === 0 ? (rx * gi) / (ry + gi) : (ry * gi) / (rx + gi);
    },
    afterSwap(ev, storage) {
      const d = v(storage);
      d.setUint32(12 * 8, d.getUint32(12 * 8, true) + 1, true);
      d.setUint32(13 * 8, ev.side, true);
    },
    onEpochBoundary(_ev, storage) {
      v(storage).setUint32(12 * 8, 0, true);
    },
  };
}

function stepsPerSecond(src: StrategySource, n: number, repeats: number): number {
  const line = Array.from({ length: n }, () => src);
  new Simulation(999, line, { steps: 500 }).run(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const sim = new Simulation(1000 + r, line, { steps: 2000, epochLen: 500 });
    sim.run();
    rates.push(2000 / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

async function main(): Promise<void> {
  try {
    findWasmRustc();
  } catch (err) {
    console.log(`Rust bench skipped: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const rust = await loadStrategy(RUST_FILE);
  const ts: StrategySource = () => wideningFee();
  console.log(
    `\nRust (WebAssembly) vs TypeScript, same curve as black boxes; ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`,
  );
  console.log("| N | TypeScript steps/s | Rust/wasm steps/s | Rust time / TypeScript time |");
  console.log("| - | - | - | - |");
  for (const n of [1, 2, 4]) {
    const a = stepsPerSecond(ts, n, 5);
    const b = stepsPerSecond(rust, n, 5);
    console.log(`| ${n} | ${Math.round(a / 1000)}k | ${Math.round(b / 1000)}k | ${(a / b).toFixed(2)} |`);
  }
}

await main();
