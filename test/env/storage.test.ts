/**
 * Strategy storage (spec §3): 1024 bytes, zero at the start of every simulation, persisting
 * through the whole simulation (across trades and epochs), writable in the hooks and read-only
 * during quotes.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { starter } from "../../env/builtins/starter.js";
import { Simulation } from "../../env/simulation.js";
import type { Strategy } from "../../env/strategy.js";

const dv = (s: Uint8Array) => new DataView(s.buffer, s.byteOffset, s.byteLength);
const SWAP_SLOT = 8 * 8; // byte offsets of the test's own counters (free slots 8..)
const EPOCH_SLOT = 9 * 8;
const HOOK_SLOT = 10 * 8;

interface Counts {
  swaps: number;
  epochs: number;
  quotes: number;
  /** Mismatches found inside hooks/quotes (a throw there would be contained, so collect them). */
  problems: string[];
}

/**
 * Constant product (fee 30 bps) priced only through computeSwap. Every hook increments
 * counters in storage and checks them against counts kept outside storage.
 */
function counter(counts: Counts, opts: { quoteWrites?: boolean; curveFromStorage?: boolean } = {}): Strategy {
  return {
    name: "storage counter",
    computeSwap(side, input, rx, ry, storage) {
      counts.quotes++;
      const v = dv(storage);
      const hooks = Number(v.getBigUint64(HOOK_SLOT, true));
      if (hooks !== counts.swaps + counts.epochs) {
        counts.problems.push(
          `quote ${counts.quotes} saw hook count ${hooks}, expected ${counts.swaps + counts.epochs}`,
        );
      }
      if (opts.quoteWrites) {
        // A misbehaving quote scribbles over the whole storage.
        storage.fill(0xab);
      }
      const g = 1 - 0.003;
      return side === 0 ? (rx * g * input) / (ry + g * input) : (ry * g * input) / (rx + g * input);
    },
    afterSwap(_ev, storage) {
      const v = dv(storage);
      const seen = Number(v.getBigUint64(SWAP_SLOT, true));
      if (seen !== counts.swaps) counts.problems.push(`afterSwap ${counts.swaps} saw ${seen}`);
      counts.swaps++;
      v.setBigUint64(SWAP_SLOT, BigInt(counts.swaps), true);
      v.setBigUint64(HOOK_SLOT, v.getBigUint64(HOOK_SLOT, true) + 1n, true);
    },
    onEpochBoundary(ev, storage) {
      const v = dv(storage);
      const seen = Number(v.getBigUint64(EPOCH_SLOT, true));
      if (seen !== counts.epochs) counts.problems.push(`epoch ${ev.epochNumber} saw ${seen}`);
      if (Number(v.getBigUint64(SWAP_SLOT, true)) !== counts.swaps)
        counts.problems.push(`epoch ${ev.epochNumber}: swap slot lost`);
      counts.epochs++;
      v.setBigUint64(EPOCH_SLOT, BigInt(counts.epochs), true);
      v.setBigUint64(HOOK_SLOT, v.getBigUint64(HOOK_SLOT, true) + 1n, true);
    },
  };
}

const newCounts = (): Counts => ({ swaps: 0, epochs: 0, quotes: 0, problems: [] });

describe("storage persistence", () => {
  it("persists across trades and epochs: counters equal the number of hook calls", () => {
    const counts = newCounts();
    const steps = 1300;
    const epochLen = 250;
    const sim = new Simulation(4, [() => counter(counts), () => fixedFee(30)], { steps, epochLen });
    const result = sim.run();
    const pool = result.pools[0];
    expect(counts.problems).toEqual([]);
    expect(counts.swaps).toBe(pool.arbTrades + pool.retailTrades);
    expect(counts.swaps).toBeGreaterThan(100);
    // Boundaries after steps 249, 499, 749, 999, 1249 (none after the last step 1299).
    expect(counts.epochs).toBe(5);
    const v = dv(sim.pools[0].storage);
    expect(Number(v.getBigUint64(SWAP_SLOT, true))).toBe(counts.swaps);
    expect(Number(v.getBigUint64(EPOCH_SLOT, true))).toBe(5);
    expect(Number(v.getBigUint64(HOOK_SLOT, true))).toBe(counts.swaps + 5);
    expect(sim.pools[0].storage.length).toBe(1024);
    expect(pool.errors.hookErrors).toBe(0);
  });

  it("hands quotes the storage the hooks last wrote", () => {
    // Checked inside computeSwap: the hook counter a quote sees is the number of hook calls so far.
    const counts = newCounts();
    new Simulation(8, [() => counter(counts)], { steps: 600, epochLen: 100 }).run();
    expect(counts.quotes).toBeGreaterThan(1000);
    expect(counts.problems).toEqual([]);
  });
});

describe("quotes see a read-only snapshot", () => {
  it("a computeSwap that writes storage does not change what the hooks see", () => {
    const counts = newCounts();
    const sim = new Simulation(8, [() => counter(counts, { quoteWrites: true }), () => fixedFee(30)], {
      steps: 600,
      epochLen: 100,
    });
    const result = sim.run();
    const hookProblems = counts.problems.filter((p) => !p.startsWith("quote"));
    expect(hookProblems).toEqual([]);
    expect(counts.swaps).toBe(result.pools[0].arbTrades + result.pools[0].retailTrades);
    const v = dv(sim.pools[0].storage);
    expect(Number(v.getBigUint64(SWAP_SLOT, true))).toBe(counts.swaps);
    expect(sim.pools[0].storage[1023]).toBe(0); // never written by a hook
  });

  it("a computeSwap that writes storage does not change what later quotes see", () => {
    // spec §3: storage is read-only during quotes; "quotes never change storage". A quote's
    // writes must not leak into the next quote (that would make quotes depend on quote history).
    const counts = newCounts();
    new Simulation(8, [() => counter(counts, { quoteWrites: true })], { steps: 300, epochLen: 100 }).run();
    expect(counts.problems.slice(0, 3)).toEqual([]);
  });

  it("a storage-writing quote prices exactly like a well-behaved one", () => {
    // A curve whose fee is read from storage (slot 11, set once by the first hook): a quote that
    // also overwrites that slot must not change any trade.
    const feeCurve = (write: boolean): Strategy => ({
      name: write ? "writer" : "clean",
      computeSwap(side, input, rx, ry, storage) {
        const v = dv(storage);
        const bps = v.getFloat64(88, true) || 30;
        if (write) v.setFloat64(88, 9000, true);
        const g = 1 - bps / 10000;
        return side === 0 ? (rx * g * input) / (ry + g * input) : (ry * g * input) / (rx + g * input);
      },
      afterSwap(_ev, storage) {
        const v = dv(storage);
        if (v.getFloat64(88, true) !== 20) v.setFloat64(88, 20, true);
      },
    });
    const cfg = { steps: 400, epochLen: 100 };
    const clean = new Simulation(2, [() => feeCurve(false), () => fixedFee(30)], cfg).run();
    const writer = new Simulation(2, [() => feeCurve(true), () => fixedFee(30)], cfg).run();
    const strip = (r: typeof clean) => r.pools.map((p) => ({ ...p, name: "", quoteCalls: 0 }));
    expect(strip(writer)).toStrictEqual(strip(clean));
  });
});

describe("storage is zero at the start of every simulation", () => {
  it("even when the same strategy object is reused across simulations", () => {
    const firstSeen: string[] = [];
    let fresh = true;
    let quoteChecked = false;
    // One object shared by every simulation; it writes a non-zero pattern into all 1024 bytes.
    const shared: Strategy = {
      name: "shared",
      computeSwap(side, input, rx, ry, storage) {
        if (fresh && !quoteChecked) {
          quoteChecked = true;
          if (storage.some((b) => b !== 0)) firstSeen.push("quote storage not zero");
        }
        const g = 0.997;
        return side === 0 ? (rx * g * input) / (ry + g * input) : (ry * g * input) / (rx + g * input);
      },
      afterSwap(_ev, storage) {
        if (fresh) {
          fresh = false;
          firstSeen.push(storage.every((b) => b === 0) ? "zero" : "dirty");
        }
        storage.fill(0x5a);
      },
    };
    for (const seed of [1, 2, 3]) {
      fresh = true;
      quoteChecked = false;
      new Simulation(seed, [() => shared, () => fixedFee(30)], { steps: 200, epochLen: 100 }).run();
    }
    expect(firstSeen).toEqual(["zero", "zero", "zero"]);
  });

  it("a reused starter object gives the same results as a fresh one", () => {
    const cfg = { steps: 1500, epochLen: 500 };
    const shared = starter();
    const reused = [5, 6, 5].map((seed) => new Simulation(seed, [() => shared, () => fixedFee(30)], cfg).run());
    const fresh = [5, 6, 5].map((seed) => new Simulation(seed, [() => starter(), () => fixedFee(30)], cfg).run());
    expect(reused).toStrictEqual(fresh);
    expect(reused[2]).toStrictEqual(reused[0]);
  });
});
