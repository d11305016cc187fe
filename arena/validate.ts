/**
 * Strategy validation (`propamm validate`): each check names itself and the input that broke it.
 */
import { ConfigError } from "../env/config.js";
import { constantProductQuote } from "../env/builtins/normalizer.js";
import { loadStrategy } from "./loader.js";
import { describe } from "../env/pool.js";
import { Simulation, type StrategyContext, type StrategySource } from "../env/simulation.js";
import { DEFAULT_CONFIG } from "../env/config.js";
import type { Side, Strategy } from "../env/strategy.js";
import { newStorage } from "../env/storage.js";

export interface ValidationFailure {
  check: string;
  detail: string;
}

export interface ValidationReport {
  spec: string;
  name: string;
  failures: ValidationFailure[];
  checks: string[];
}

const RESERVES: ReadonlyArray<readonly [number, number]> = [
  [100, 10000],
  [1, 100],
  [1000, 50],
  [0.5, 2000],
  [37.5, 3750],
];
const SIZE_FRACTIONS = [1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REL_TOL = 1e-9;

/**
 * How far a quote may sit from the exact curve because amounts cross the native ABI as whole
 * nano (spec §3.4): the output floored (1 nano), and the input rounded by the wire and by the
 * strategy's own integer steps (up to 4 nano allowed), which moves the output by at most the
 * marginal times that, the marginal being at most output / input on a concave curve through 0.
 */
function wireSlack(out: number, input: number): number {
  return 1e-9 * (1 + (4 * out) / input);
}

function dummyContext(): StrategyContext {
  return {
    seed: 0,
    market: { sigma: 0.003, retailRate: 0.8, retailMeanSize: 20, normalizerFeeBps: 30, normalizerLiquidity: 1 },
    config: { ...DEFAULT_CONFIG, pins: {} },
    index: 0,
    nStrategies: 2,
  };
}

function storages(source: StrategySource): { label: string; storage: Uint8Array }[] {
  const list = [{ label: "zero storage", storage: newStorage() }];
  // Storage as the strategy's own hooks leave it after a short run.
  try {
    const sim = new Simulation(1, [source], { steps: 300, epochLen: 100 });
    sim.run();
    list.push({ label: "storage after a 300-step run", storage: sim.pools[0].storage.slice() });
  } catch {
    // Reported by the simulation check.
  }
  return list;
}

function checkCurves(strategy: Strategy, source: StrategySource, fail: (check: string, detail: string) => void): void {
  for (const { label, storage } of storages(source)) {
    for (const [rx, ry] of RESERVES) {
      for (const side of [0, 1] as Side[]) {
        const reserveIn = side === 0 ? ry : rx;
        const reserveOut = side === 0 ? rx : ry;
        let prevIn = 0;
        let prevOut = 0;
        let prevSlope = Infinity;
        let prevSlack = 0;
        for (const frac of SIZE_FRACTIONS) {
          const input = frac * reserveIn;
          const where = `side=${side} input=${input} reserveX=${rx} reserveY=${ry} (${label})`;
          const before = storage.slice();
          let out: number;
          try {
            out = strategy.computeSwap(side, input, rx, ry, storage);
          } catch (err) {
            fail("computeSwap does not throw", `${where}: ${describe(err)}`);
            return;
          }
          if (!before.every((b, i) => b === storage[i])) {
            fail("quotes do not write storage", `${where}: computeSwap changed storage`);
            storage.set(before);
          }
          if (typeof out !== "number" || !Number.isFinite(out)) {
            fail("finite outputs", `${where}: returned ${String(out)}`);
            return;
          }
          if (out < 0) {
            fail("non-negative outputs", `${where}: returned ${out}`);
            return;
          }
          if (out >= reserveOut) {
            fail("output below the paying reserve", `${where}: returned ${out} >= reserve ${reserveOut}`);
            return;
          }
          if (out < prevOut * (1 - REL_TOL) - wireSlack(prevOut, Math.max(prevIn, 1e-300))) {
            fail("monotone quotes", `${where}: output ${out} < ${prevOut} for the smaller input ${prevIn}`);
            return;
          }
          const slope = (out - prevOut) / (input - prevIn);
          const slack = (wireSlack(out, input) + (prevIn > 0 ? wireSlack(prevOut, prevIn) : 0)) / (input - prevIn);
          if (slope > prevSlope * (1 + 1e-6) + 1e-15 + slack + prevSlack) {
            fail(
              "concave quotes",
              `${where}: marginal output ${slope} rose above ${prevSlope} (inputs ${prevIn}..${input})`,
            );
            return;
          }
          if (strategy.constantProductFees) {
            const fees = new Float64Array(2);
            strategy.constantProductFees(storage, fees);
            const expect = constantProductQuote(side, input, rx, ry, fees[side]);
            if (Math.abs(out - expect) > 1e-9 * Math.max(expect, 1e-12) + wireSlack(expect, input)) {
              fail(
                "constantProductFees matches computeSwap",
                `${where}: computeSwap ${out}, constant product at fee ${fees[side]} gives ${expect}`,
              );
              return;
            }
          }
          prevIn = input;
          prevOut = out;
          // An output of a few nano is mostly the wire's rounding: no reference for the next slope.
          prevSlope = out < 1e-6 ? Infinity : slope;
          prevSlack = slack;
        }
      }
    }
  }
}

function checkSimulation(source: StrategySource, fail: (check: string, detail: string) => void): void {
  let sim: Simulation;
  try {
    sim = new Simulation(7, [source, () => ({ ...source(dummyContext()), name: "copy" })], {
      steps: 2000,
      epochLen: 250,
    });
    sim.run();
  } catch (err) {
    fail("a short simulation runs", describe(err));
    return;
  }
  // The copy in seat 1 only gives the strategy a competitor; report seat 0 alone.
  for (const p of sim.pools.slice(0, 1)) {
    if (p.hookErrors > 0)
      fail(
        "hooks do not throw",
        `${p.hookErrors} hook call(s) threw in a 2000-step simulation (seed 7); last: ${p.lastError}`,
      );
    if (p.quoteErrors > 0)
      fail(
        "computeSwap does not throw",
        `${p.quoteErrors} quote(s) threw in a 2000-step simulation (seed 7); last: ${p.lastError}`,
      );
    if (p.invalidQuotes > 0)
      fail(
        "finite outputs",
        `${p.invalidQuotes} quote(s) were NaN, negative, infinite or >= reserve in a 2000-step simulation (seed 7)`,
      );
    if (p.feeErrors > 0)
      fail("constantProductFees returns fees in [0, 1)", `${p.feeErrors} bad fee declaration(s); last: ${p.lastError}`);
  }
}

export const VALIDATION_CHECKS = [
  "loads",
  "name",
  "computeSwap does not throw",
  "quotes do not write storage",
  "finite outputs",
  "non-negative outputs",
  "output below the paying reserve",
  "monotone quotes",
  "concave quotes",
  "constantProductFees matches computeSwap",
  "constantProductFees returns fees in [0, 1)",
  "a short simulation runs",
  "hooks do not throw",
];

export async function validateStrategy(spec: string): Promise<ValidationReport> {
  const failures: ValidationFailure[] = [];
  const repeats = new Map<string, number>();
  // One line per check (its first failure), with a count of further failures of that check.
  const fail = (check: string, detail: string): void => {
    const seen = repeats.get(check);
    if (seen === undefined) {
      repeats.set(check, 0);
      failures.push({ check, detail });
    } else repeats.set(check, seen + 1);
  };
  let source: StrategySource;
  let strategy: Strategy;
  try {
    source = await loadStrategy(spec);
    strategy = source(dummyContext());
  } catch (err) {
    fail("loads", err instanceof ConfigError ? err.message : describe(err));
    return { spec, name: "", failures, checks: VALIDATION_CHECKS };
  }
  if (typeof strategy.name !== "string" || strategy.name.trim() === "" || strategy.name.length > 64) {
    fail("name", `name must be a non-empty string of at most 64 characters (got ${JSON.stringify(strategy.name)})`);
  }
  checkCurves(strategy, source, fail);
  checkSimulation(source, fail);
  for (const f of failures) {
    const more = repeats.get(f.check) ?? 0;
    if (more > 0) f.detail += ` (and ${more} more failure${more > 1 ? "s" : ""} of this check)`;
  }
  return { spec, name: strategy.name, failures, checks: VALIDATION_CHECKS };
}
