/**
 * Rust strategies through WebAssembly against the same curve written in TypeScript (part of
 * `npm run bench`). All are black boxes (no closed-form declaration), so every quote crosses
 * into the strategy. The curve is strategies/rust/widening_fee.rs, in nano integers as the
 * native ABI has it; "TypeScript, same curve" computes exactly its bits (BigInt nano
 * arithmetic, the test twin's rule), so the engine asks both the same quotes and the figure is
 * what the call costs. "TypeScript in doubles" is the usual way to write the rule: a smooth
 * curve, on which the engine's searches need fewer quotes than on one that rounds to whole nano
 * (docs/BENCHMARKS.md). One thread; median of several runs.
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

/** widening_fee.rs's exact bits in TypeScript: nano integers as BigInt. */
function wideningFeeNano(): Strategy {
  const nano = (v: number): bigint => (v > 0 ? BigInt(Math.floor(v * 1e9)) : 0n);
  const slot = (s: Uint8Array, k: number): bigint => new DataView(s.buffer, s.byteOffset).getBigUint64(8 * k, true);
  const set = (s: Uint8Array, k: number, v: bigint): void =>
    new DataView(s.buffer, s.byteOffset).setBigUint64(8 * k, BigInt.asUintN(64, v), true);
  return {
    name: "Widening Fee (TypeScript, nano)",
    computeSwap(side, input, rx, ry, storage) {
      const trades = slot(storage, 12);
      const opposite = trades > 0n && slot(storage, 13) !== BigInt(side);
      const fee = 30n + (trades < 20n ? trades : 20n) + (opposite ? 5n : 0n);
      const [rin, rout] = side === 0 ? [nano(ry), nano(rx)] : [nano(rx), nano(ry)];
      const gi = (nano(input) * (10000n - fee)) / 10000n;
      return rin + gi === 0n ? 0 : Number(BigInt.asUintN(64, (rout * gi) / (rin + gi))) / 1e9;
    },
    afterSwap(ev, storage) {
      set(storage, 12, slot(storage, 12) + 1n);
      set(storage, 13, BigInt(ev.side));
    },
    onEpochBoundary(_ev, storage) {
      set(storage, 12, 0n);
      set(storage, 14, slot(storage, 14) + 1n);
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
  const tsNano: StrategySource = () => wideningFeeNano();
  console.log(
    `\nRust (WebAssembly) vs TypeScript, widening_fee as black boxes; ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`,
  );
  console.log(
    "| N | Rust/wasm steps/s | TypeScript, same curve (nano) | Rust time / TS time | TypeScript in doubles |",
  );
  console.log("| - | - | - | - | - |");
  for (const n of [1, 2, 4]) {
    const rustRate = stepsPerSecond(rust, n, 5);
    const nanoRate = stepsPerSecond(tsNano, n, 5);
    const doubleRate = stepsPerSecond(ts, n, 5);
    const k = (r: number): string => `${Math.round(r / 1000)}k`;
    console.log(`| ${n} | ${k(rustRate)} | ${k(nanoRate)} | ${(nanoRate / rustRate).toFixed(2)} | ${k(doubleRate)} |`);
  }
}

await main();
