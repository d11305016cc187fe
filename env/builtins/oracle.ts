import type { Strategy } from "../strategy.js";
import { fixedFee } from "./fixed.js";

/** Marks the oracle so the engine re-centres its pool on the fair price every step. */
export const ORACLE = Symbol("propamm.oracle");

export interface OracleStrategy extends Strategy {
  readonly [ORACLE]: true;
}

/**
 * `oracle:<bps>`: a research ceiling, never a deployable strategy. A constant-product curve
 * with fee <bps> whose spot is re-centred on the fair price each step (same k), so arbitrage
 * finds nothing; it shows what knowing the price is worth.
 */
export function oracle(bps: number): OracleStrategy {
  const base = fixedFee(bps);
  return { ...base, name: `Oracle ${bps}bps (ceiling)`, [ORACLE]: true };
}

export function isOracle(s: Strategy): s is OracleStrategy {
  return (s as Partial<OracleStrategy>)[ORACLE] === true;
}
