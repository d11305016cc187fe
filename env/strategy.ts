/**
 * The strategy interface (spec §3). A strategy is a pricing curve plus two hooks; all state it
 * keeps between calls belongs in its 1024-byte storage.
 */

/** 0: trader pays Y and receives X ("buy X"); 1: trader pays X and receives Y ("sell X"). */
export type Side = 0 | 1;

export interface AfterSwapEvent {
  side: Side;
  inputAmount: number;
  outputAmount: number;
  /** Post-trade reserves. */
  reserveX: number;
  reserveY: number;
  simStep: number;
  epochStep: number;
  epochNumber: number;
  /** All pools, the normalizer included. */
  nStrategies: number;
  strategyIndex: number;
  /** This pool's fraction of the retail order's input; 0 for an arbitrage trade. */
  flowCaptured: number;
  capitalWeight: number;
  /** Spot prices of the other strategies in index order, then the normalizer; NaN-padded to 8. */
  competingSpotPrices: Float64Array;
}

export interface EpochEvent {
  /** The epoch just completed. */
  epochNumber: number;
  newReserveX: number;
  newReserveY: number;
  epochEdge: number;
  cumulativeEdge: number;
  /** The new capital weight. */
  capitalWeight: number;
}

export interface Strategy {
  readonly name: string;
  /**
   * Output amount for `inputAmount` of input on `side`. Must not write `storage` (the engine
   * hands quotes a read-only snapshot; writes are discarded). NaN, negative, infinite or
   * >= the paying reserve counts as 0, as does a throw.
   */
  computeSwap(side: Side, inputAmount: number, reserveX: number, reserveY: number, storage: Uint8Array): number;
  /** After every real trade on this pool (arbitrage or retail), never during quoting. */
  afterSwap?(event: AfterSwapEvent, storage: Uint8Array): void;
  /** At each epoch boundary, after rebalancing. */
  onEpochBoundary?(event: EpochEvent, storage: Uint8Array): void;
  /**
   * Optional declaration that computeSwap is exactly constant product with a fee on input:
   * writes the side-0 and side-1 fees (fractions, e.g. 0.003) read from storage into `out`.
   * The engine then prices this pool with closed forms instead of quote calls.
   * `propamm validate` checks the declaration against computeSwap.
   */
  constantProductFees?(storage: Uint8Array, out: Float64Array): void;
}

/** What a strategy module exports: a strategy, or a factory called once per simulation. */
export type StrategyFactory = () => Strategy;
