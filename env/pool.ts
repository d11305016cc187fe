/**
 * One AMM pool: reserves, the strategy that prices it, its storage and its accounting.
 * Quotes go through `quote`, which contains a misbehaving strategy (SPEC §2): a throw or an
 * output that is NaN, negative, infinite or >= the paying reserve counts as 0.
 */
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "./strategy.js";
import { newStorage } from "./storage.js";

export class Pool {
  reserveX: number;
  reserveY: number;
  /** Fee fractions for constant-product pools (closed forms); unused for black boxes. */
  fee0 = 0;
  fee1 = 0;
  gamma0 = 1;
  gamma1 = 1;
  /** True when the strategy declared constant product with fee: closed forms apply. */
  readonly constantProduct: boolean;
  /** Re-centred on the fair price every step (the oracle ceiling). */
  readonly oracle: boolean;
  readonly hasAfterSwap: boolean;
  readonly hasEpochHook: boolean;

  /** Writable storage, handed to hooks. */
  readonly storage: Uint8Array = newStorage();
  /** Copy handed to quotes, refreshed before each one: a quote's writes reach neither storage nor the next quote. */
  readonly quoteStorage: Uint8Array = newStorage();

  capitalWeight: number;
  /** Value at the fair price when the current epoch began (for per-capital scoring). */
  epochStartValue = 0;

  edge = 0;
  epochEdge = 0;
  arbEdge = 0;
  retailEdge = 0;
  arbTrades = 0;
  retailTrades = 0;
  epochTrades = 0;
  retailVolumeY = 0;

  quoteCalls = 0;
  quoteErrors = 0;
  invalidQuotes = 0;
  hookErrors = 0;
  feeErrors = 0;
  lastError = "";

  private readonly feeScratch = new Float64Array(2);

  constructor(
    readonly strategy: Strategy,
    reserveX: number,
    reserveY: number,
    capitalWeight: number,
    opts: { oracle?: boolean } = {},
  ) {
    this.reserveX = reserveX;
    this.reserveY = reserveY;
    this.capitalWeight = capitalWeight;
    this.oracle = opts.oracle ?? false;
    this.constantProduct = typeof strategy.constantProductFees === "function";
    this.hasAfterSwap = typeof strategy.afterSwap === "function";
    this.hasEpochHook = typeof strategy.onEpochBoundary === "function";
    this.refreshFees();
  }

  get spot(): number {
    return this.reserveY / this.reserveX;
  }

  /** Output for `input` on `side` at the current reserves, guarded. */
  quote(side: Side, input: number): number {
    if (!(input > 0)) return 0;
    if (this.constantProduct) {
      if (side === 0) {
        const gi = this.gamma0 * input;
        return (this.reserveX * gi) / (this.reserveY + gi);
      }
      const gi = this.gamma1 * input;
      return (this.reserveY * gi) / (this.reserveX + gi);
    }
    this.quoteCalls++;
    // Quotes are read-only: every quote starts from the hooks' storage, whatever the last one wrote.
    this.quoteStorage.set(this.storage);
    let out: number;
    try {
      out = this.strategy.computeSwap(side, input, this.reserveX, this.reserveY, this.quoteStorage);
    } catch (err) {
      this.quoteErrors++;
      this.lastError = describe(err);
      return 0;
    }
    const reserveOut = side === 0 ? this.reserveX : this.reserveY;
    if (typeof out !== "number" || !(out >= 0) || !(out < reserveOut)) {
      this.invalidQuotes++;
      return 0;
    }
    return out;
  }

  callAfterSwap(event: AfterSwapEvent): void {
    try {
      this.strategy.afterSwap!(event, this.storage);
    } catch (err) {
      this.hookErrors++;
      this.lastError = describe(err);
    }
    this.syncStorage();
  }

  callEpochBoundary(event: EpochEvent): void {
    try {
      this.strategy.onEpochBoundary!(event, this.storage);
    } catch (err) {
      this.hookErrors++;
      this.lastError = describe(err);
    }
    this.syncStorage();
  }

  /** After a hook wrote storage: refresh the quote snapshot and the closed-form fees. */
  syncStorage(): void {
    this.quoteStorage.set(this.storage);
    this.refreshFees();
  }

  private refreshFees(): void {
    if (!this.constantProduct) return;
    const f = this.feeScratch;
    try {
      this.strategy.constantProductFees!(this.quoteStorage, f);
    } catch (err) {
      this.feeErrors++;
      this.lastError = describe(err);
      return;
    }
    if (!(f[0] >= 0 && f[0] < 1 && f[1] >= 0 && f[1] < 1)) {
      this.feeErrors++;
      return; // keep the previous, valid fees
    }
    this.fee0 = f[0];
    this.fee1 = f[1];
    this.gamma0 = 1 - f[0];
    this.gamma1 = 1 - f[1];
  }

  /** Re-centre on the fair price keeping depth k = x*y (oracle ceiling only). */
  recentre(price: number): void {
    const k = this.reserveX * this.reserveY;
    this.reserveX = Math.sqrt(k / price);
    this.reserveY = Math.sqrt(k * price);
  }

  valueAt(price: number): number {
    return this.reserveX * price + this.reserveY;
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
