/**
 * Strategy storage (spec §3): 1024 bytes, zero at the start of every simulation, persisting
 * through the whole simulation (across trades and epochs), writable in the hooks and read-only
 * during quotes. The storage helpers (env/storage.ts, and runtime/slots.ts through its re-exports)
 * are checked at the end against byte math done here by hand.
 */
import { describe, expect, it } from "vitest";
import { fixedFee } from "../../env/builtins/fixed.js";
import { starter } from "../../env/builtins/starter.js";
import { Simulation } from "../../env/simulation.js";
import {
  newStorage,
  readF64,
  readFeeBps,
  readU64,
  STORAGE_BYTES,
  STORAGE_SLOTS,
  viewWriteFeeBps,
  WAD,
  WAD_PER_BPS,
  writeF64,
  writeFeeBps,
  writeU64,
} from "../../env/storage.js";
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

// ---- The checked helpers of env/storage.ts against hand-computed bytes (spec §3, §3.6) --------
// Slot k is bytes 8k..8k+7, little-endian: byte i of a u64 is (n >> 8i) & 0xff, worked out here
// byte by byte; f64 slots hold the IEEE-754 double bit pattern in the same order.

/** The 8 little-endian bytes of the u64 n, by hand. */
const le8 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
/** The 8 little-endian bytes of the double x (its bit pattern through a BigUint64Array). */
const f64Bytes = (x: number): number[] => le8(new BigUint64Array(Float64Array.of(x).buffer)[0]);
/** Storage whose bytes 8*slot.. are `b` and every other byte is zero. */
function withSlot(slot: number, b: number[]): Uint8Array {
  const s = new Uint8Array(1024);
  s.set(b, 8 * slot);
  return s;
}
const slotMessage = (got: number) => new RangeError(`storage slot must be an integer in [0, 127] (got ${got})`);

describe("storage constants (spec §3, §1)", () => {
  it("1024 bytes in 128 slots of 8; WAD = 1e18 (100%), 1e14 per basis point", () => {
    expect(STORAGE_BYTES).toBe(1024);
    expect(STORAGE_SLOTS).toBe(128);
    expect(WAD).toBe(10 ** 18);
    expect(WAD_PER_BPS).toBe(10 ** 14);
  });

  it("newStorage is 1024 zero bytes, a fresh array each time", () => {
    const a = newStorage();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.byteLength).toBe(1024);
    expect(a.every((b) => b === 0)).toBe(true);
    a[0] = 1;
    expect(newStorage()[0]).toBe(0);
  });
});

describe("u64 slots: writeU64 / readU64", () => {
  const n = 0x0102030405060708n;

  it("writes slot k's 8 bytes, little-endian, and nothing else", () => {
    for (const slot of [0, 1, 5, 127]) {
      const s = newStorage();
      writeU64(s, slot, n + BigInt(slot));
      expect(Array.from(s), `slot ${slot}`).toEqual(Array.from(withSlot(slot, le8(n + BigInt(slot)))));
    }
  });

  it("reads slot k from bytes 8k..8k+7, little-endian", () => {
    const s = new Uint8Array(1024);
    s.set([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01], 8 * 3);
    s.set([0xff, 0, 0, 0, 0, 0, 0, 0x80], 8 * 127);
    expect(readU64(s, 3)).toBe(n);
    expect(readU64(s, 127)).toBe(2n ** 63n + 255n);
    expect(readU64(s, 2)).toBe(0n);
  });

  it("wraps to 64 bits: -1 is eight 0xff bytes, 2^64 + 5 is 5", () => {
    const s = newStorage();
    writeU64(s, 4, -1n);
    expect(Array.from(s.subarray(32, 40))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(readU64(s, 4)).toBe(2n ** 64n - 1n);
    writeU64(s, 4, 2n ** 64n + 5n);
    expect(Array.from(s.subarray(32, 40))).toEqual(le8(5n));
  });

  it("works on a storage view into a larger buffer (its own byte offset)", () => {
    const backing = new Uint8Array(1040);
    const s = backing.subarray(16, 16 + 1024);
    writeU64(s, 2, n);
    expect(Array.from(backing.subarray(16 + 16, 16 + 24))).toEqual(le8(n));
    expect(backing.subarray(0, 32).every((b) => b === 0)).toBe(true);
    expect(readU64(s, 2)).toBe(n);
    writeF64(s, 0, 1.5);
    expect(Array.from(backing.subarray(16, 24))).toEqual(f64Bytes(1.5));
  });
});

describe("f64 slots: writeF64 / readF64", () => {
  it("store the IEEE double bits little-endian in slot k", () => {
    for (const [slot, x] of [
      [0, 1.5],
      [2, -0.1],
      [127, 123456.789],
    ] as [number, number][]) {
      const s = newStorage();
      writeF64(s, slot, x);
      expect(Array.from(s), String(x)).toEqual(Array.from(withSlot(slot, f64Bytes(x))));
      expect(readF64(withSlot(slot, f64Bytes(x)), slot)).toBe(x);
    }
    // 1.0 is 0x3ff0000000000000: the exponent bytes come last.
    expect(readF64(withSlot(6, [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]), 6)).toBe(1);
  });
});

describe("fee slots: writeFeeBps / readFeeBps (u64 WAD, spec §3.6)", () => {
  it("store floor(bps * 1e14) in slot k", () => {
    for (const [slot, bps, wad] of [
      [0, 30, 3_000_000_000_000_000n],
      [1, 0.5, 50_000_000_000_000n],
      [1, 0.07, 7_000_000_000_000n], // 0.07 * 1e14 = 7000000000000.001 in doubles: floored
      [9, 10_000, 10n ** 18n], // 100%
      [3, -1, 0n],
      [3, NaN, 0n],
      [3, Infinity, 0n],
      [3, 1e6, 10n ** 20n % 2n ** 64n], // 1e20 WAD does not fit in 64 bits: wraps
    ] as [number, number, bigint][]) {
      const s = newStorage();
      writeFeeBps(s, slot, bps);
      expect(Array.from(s), `${bps} bps`).toEqual(Array.from(withSlot(slot, le8(wad))));
    }
  });

  it("read the slot's u64 WAD back in basis points", () => {
    expect(readFeeBps(withSlot(1, le8(3_000_000_000_000_000n)), 1)).toBe(30);
    expect(readFeeBps(withSlot(7, le8(250_000_000_000_000n)), 7)).toBe(2.5);
    expect(readFeeBps(withSlot(0, le8(1n)), 0)).toBe(1e-14);
  });

  it("viewWriteFeeBps (hot path) stores the same floor(bps * 1e14) through a DataView", () => {
    const s = newStorage();
    viewWriteFeeBps(new DataView(s.buffer), 1, 30);
    expect(Array.from(s)).toEqual(Array.from(withSlot(1, le8(3_000_000_000_000_000n))));
    viewWriteFeeBps(new DataView(s.buffer), 1, 0.5);
    expect(Array.from(s)).toEqual(Array.from(withSlot(1, le8(50_000_000_000_000n))));
  });
});

describe("slot numbers are checked", () => {
  it("every helper rejects slots outside [0, 127] and non-integers, naming the slot", () => {
    const s = newStorage();
    for (const bad of [-1, 128, 1.5, NaN, Infinity]) {
      expect(() => readU64(s, bad)).toThrow(slotMessage(bad));
      expect(() => writeU64(s, bad, 1n)).toThrow(slotMessage(bad));
      expect(() => readF64(s, bad)).toThrow(slotMessage(bad));
      expect(() => writeF64(s, bad, 1)).toThrow(slotMessage(bad));
      expect(() => readFeeBps(s, bad)).toThrow(slotMessage(bad));
      expect(() => writeFeeBps(s, bad, 1)).toThrow(slotMessage(bad));
    }
    expect(s.every((b) => b === 0)).toBe(true);
  });
});
