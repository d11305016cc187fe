/**
 * One AMM pool: reserves, the strategy that prices it, its storage and its accounting.
 * Quotes go through `quote`, which contains a misbehaving strategy (spec §2): a throw or an
 * output that is NaN, negative, infinite or >= the paying reserve counts as 0.
 *
 * The pool owns its state: reserves, fees, capital weight, edge, trade and error counters are
 * private and change only through the methods below (`applyTrade`, `rebalanceTo`, `recentre`,
 * `startEpoch`, the quote guard and the hook wrappers). Everything else reads them through
 * getters, which V8 inlines on the engine's hot paths.
 */
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "./strategy.js";
import { newStorage } from "./storage.js";

/** Which book a trade's edge goes to: the arbitrageur's or the retail router's (spec §2). */
export type TradeKind = "arb" | "retail";

export interface PoolOptions {
  /** Re-centre on the fair price every step (the oracle ceiling). */
  oracle?: boolean;
  /** Value at the fair price when the first epoch begins (per-capital scoring, spec §4); 0 when unset. */
  epochStartValue?: number;
}

/** Names the first bad value of a trade that applyTrade refuses. */
function refuseTrade(input: number, output: number, reserveOut: number, price: number): never {
  if (!(input > 0 && input < Infinity)) throw new RangeError(`trade input must be finite and > 0 (got ${input})`);
  if (!(output >= 0 && output < reserveOut)) {
    throw new RangeError(`trade output must be >= 0 and below the paying reserve ${reserveOut} (got ${output})`);
  }
  throw new RangeError(`fair price must be finite and > 0 (got ${price})`);
}

export class Pool {
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

  private x: number;
  private y: number;
  private f0 = 0;
  private f1 = 0;
  private g0 = 1;
  private g1 = 1;
  private weight: number;
  private startValue: number;

  private edgeTotal = 0;
  private edgeEpoch = 0;
  private edgeArb = 0;
  private edgeRetail = 0;
  private tradesArb = 0;
  private tradesRetail = 0;
  private tradesEpoch = 0;
  private volumeRetailY = 0;

  private calls = 0;
  private errorsQuote = 0;
  private errorsInvalid = 0;
  private errorsHook = 0;
  private errorsFee = 0;
  private lastErrorText = "";
  private firstErrorText = "";

  private readonly feeScratch = new Float64Array(2);

  constructor(
    readonly strategy: Strategy,
    reserveX: number,
    reserveY: number,
    capitalWeight: number,
    opts: PoolOptions = {},
  ) {
    if (!(reserveX > 0 && reserveX < Infinity))
      throw new RangeError(`reserveX must be finite and > 0 (got ${reserveX})`);
    if (!(reserveY > 0 && reserveY < Infinity))
      throw new RangeError(`reserveY must be finite and > 0 (got ${reserveY})`);
    this.x = reserveX;
    this.y = reserveY;
    this.weight = capitalWeight;
    this.startValue = opts.epochStartValue ?? 0;
    this.oracle = opts.oracle ?? false;
    this.constantProduct = typeof strategy.constantProductFees === "function";
    this.hasAfterSwap = typeof strategy.afterSwap === "function";
    this.hasEpochHook = typeof strategy.onEpochBoundary === "function";
    this.refreshFees();
  }

  get reserveX(): number {
    return this.x;
  }
  get reserveY(): number {
    return this.y;
  }
  get spot(): number {
    return this.y / this.x;
  }
  /** Fee fractions for constant-product pools (closed forms); unused for black boxes. */
  get fee0(): number {
    return this.f0;
  }
  get fee1(): number {
    return this.f1;
  }
  /** 1 - fee0 and 1 - fee1: the share of the input that moves the curve. */
  get gamma0(): number {
    return this.g0;
  }
  get gamma1(): number {
    return this.g1;
  }
  /** Last assigned capital weight (1/N before the first rebalance; NaN for the normalizer). */
  get capitalWeight(): number {
    return this.weight;
  }
  /** Value at the fair price when the current epoch began (for per-capital scoring). */
  get epochStartValue(): number {
    return this.startValue;
  }
  /** Cumulative edge of every trade (spec §2): value received minus value paid, at the fair price. */
  get edge(): number {
    return this.edgeTotal;
  }
  /** Edge since the current epoch began. */
  get epochEdge(): number {
    return this.edgeEpoch;
  }
  get arbEdge(): number {
    return this.edgeArb;
  }
  get retailEdge(): number {
    return this.edgeRetail;
  }
  get arbTrades(): number {
    return this.tradesArb;
  }
  get retailTrades(): number {
    return this.tradesRetail;
  }
  /** Trades (both kinds) since the current epoch began. */
  get epochTrades(): number {
    return this.tradesEpoch;
  }
  /** Retail volume in Y: the input of orders that buy X, the output of orders that sell X. */
  get retailVolumeY(): number {
    return this.volumeRetailY;
  }
  /** Calls to a black box's computeSwap (closed-form quotes are not counted). */
  get quoteCalls(): number {
    return this.calls;
  }
  /** Quotes that threw. */
  get quoteErrors(): number {
    return this.errorsQuote;
  }
  /** Quotes that returned NaN, a negative number, infinity or at least the paying reserve. */
  get invalidQuotes(): number {
    return this.errorsInvalid;
  }
  get hookErrors(): number {
    return this.errorsHook;
  }
  /** constantProductFees declarations that threw or gave a fee outside [0, 1). */
  get feeErrors(): number {
    return this.errorsFee;
  }
  get lastError(): string {
    return this.lastErrorText;
  }
  /** The first contained error with the call and input that caused it ("" while there is none). */
  get firstError(): string {
    return this.firstErrorText;
  }

  /** Cold path: remembers the first contained error and the input that caused it. */
  private noteFirst(call: string, what: string): void {
    if (this.firstErrorText === "") this.firstErrorText = `${call}: ${what}`;
  }

  /** Output for `input` on `side` at the current reserves, guarded. */
  quote(side: Side, input: number): number {
    if (!(input > 0)) return 0;
    if (this.constantProduct) {
      if (side === 0) {
        const gi = this.g0 * input;
        return (this.x * gi) / (this.y + gi);
      }
      const gi = this.g1 * input;
      return (this.y * gi) / (this.x + gi);
    }
    this.calls++;
    // Quotes are read-only: every quote starts from the hooks' storage, whatever the last one wrote.
    this.quoteStorage.set(this.storage);
    let out: number;
    try {
      out = this.strategy.computeSwap(side, input, this.x, this.y, this.quoteStorage);
    } catch (err) {
      this.errorsQuote++;
      this.lastErrorText = describe(err);
      this.noteFirst(quoteCall(side, input, this.x, this.y), `threw ${this.lastErrorText}`);
      return 0;
    }
    const reserveOut = side === 0 ? this.x : this.y;
    if (typeof out !== "number" || !(out >= 0) || !(out < reserveOut)) {
      this.errorsInvalid++;
      this.noteFirst(quoteCall(side, input, this.x, this.y), `returned ${String(out)} (counted as 0)`);
      return 0;
    }
    return out;
  }

  /**
   * Executes one trade at the pool: the trader pays `input` and receives `output` on `side`
   * (spec §2). The pool's edge from it is what it receives minus what it pays, valued at the
   * fair price `price`: `input - output * price` on side 0 (receives Y, pays X) and
   * `input * price - output` on side 1 (receives X, pays Y). The edge goes to the total, the
   * epoch's and the `kind`'s book, and the trade to the kind's and the epoch's counts; retail
   * trades also add their Y leg to the retail volume. Returns the trade's edge.
   *
   * This is the only place reserves move by trading: arbitrage and retail routing both come
   * here. `output` is the pool's own quote (or closed form) for `input`, so it is below the
   * paying reserve; anything else is refused rather than letting a reserve reach zero.
   */
  applyTrade(side: Side, input: number, output: number, price: number, kind: TradeKind): number {
    const reserveOut = side === 0 ? this.x : this.y;
    // One test on the hot path; the message naming the bad value is built only when it fails.
    if (!(input > 0 && input < Infinity && output >= 0 && output < reserveOut && price > 0 && price < Infinity)) {
      refuseTrade(input, output, reserveOut, price);
    }
    let edge: number;
    if (side === 0) {
      this.y += input;
      this.x -= output;
      edge = input - output * price;
    } else {
      this.x += input;
      this.y -= output;
      edge = input * price - output;
    }
    this.edgeTotal += edge;
    this.edgeEpoch += edge;
    if (kind === "arb") {
      this.edgeArb += edge;
      this.tradesArb++;
    } else {
      this.edgeRetail += edge;
      this.tradesRetail++;
      this.volumeRetailY += side === 0 ? input : output;
    }
    this.tradesEpoch++;
    return edge;
  }

  /**
   * Capital rebalancing (spec §4): moves the pool to `value` at fair price `price` keeping its
   * own spot, and records the new weight and the value the next epoch starts from. `value` is
   * the caller's `weight * total` so that the recorded start value is exactly the one assigned.
   */
  rebalanceTo(weight: number, value: number, price: number): void {
    // Bounds only: a floored softmax can round a hair above 1, and minWeight 0 can give 0.
    if (!(weight >= 0 && weight < Infinity))
      throw new RangeError(`capital weight must be finite and >= 0 (got ${weight})`);
    if (!(value >= 0 && value < Infinity)) throw new RangeError(`pool value must be finite and >= 0 (got ${value})`);
    if (!(price > 0 && price < Infinity)) throw new RangeError(`fair price must be finite and > 0 (got ${price})`);
    // A pool rebalanced to weight 0 (minWeight 0 and an underflowing softmax) holds nothing and
    // has no spot of its own: it comes back in at the fair price, half its value in each token.
    // Reserves are both positive or both 0: the constructor refuses others, a trade never pays a
    // whole reserve, and only a rebalance to value 0 empties a pool.
    const spot = this.x > 0 ? this.y / this.x : price;
    const y = value / (1 + price / spot);
    this.y = y;
    this.x = y / spot;
    this.weight = weight;
    this.startValue = value;
  }

  /** Closes the epoch's books: the epoch edge and trade count start again from zero. */
  startEpoch(): void {
    this.edgeEpoch = 0;
    this.tradesEpoch = 0;
  }

  /** Re-centre on the fair price keeping depth k = x*y (oracle ceiling only). */
  recentre(price: number): void {
    const k = this.x * this.y;
    this.x = Math.sqrt(k / price);
    this.y = Math.sqrt(k * price);
  }

  valueAt(price: number): number {
    return this.x * price + this.y;
  }

  callAfterSwap(event: AfterSwapEvent): void {
    try {
      this.strategy.afterSwap!(event, this.storage);
    } catch (err) {
      this.errorsHook++;
      this.lastErrorText = describe(err);
      this.noteFirst(`afterSwap(simStep=${event.simStep}, side=${event.side})`, `threw ${this.lastErrorText}`);
    }
    this.syncStorage();
  }

  callEpochBoundary(event: EpochEvent): void {
    try {
      this.strategy.onEpochBoundary!(event, this.storage);
    } catch (err) {
      this.errorsHook++;
      this.lastErrorText = describe(err);
      this.noteFirst(`onEpochBoundary(epochNumber=${event.epochNumber})`, `threw ${this.lastErrorText}`);
    }
    this.syncStorage();
  }

  /** After a hook wrote storage: refresh the quote snapshot and the closed-form fees. */
  syncStorage(): void {
    this.quoteStorage.set(this.storage);
    this.refreshFees();
  }

  /**
   * Reads the declared fees. A declaration that throws, or gives either fee outside [0, 1)
   * (NaN included), is counted and ignored as a whole: the previous valid fees stay in force.
   */
  private refreshFees(): void {
    if (!this.constantProduct) return;
    const f = this.feeScratch;
    try {
      this.strategy.constantProductFees!(this.quoteStorage, f);
    } catch (err) {
      this.errorsFee++;
      this.lastErrorText = describe(err);
      this.noteFirst("constantProductFees", `threw ${this.lastErrorText}`);
      return;
    }
    const bad = !(f[0] >= 0 && f[0] < 1) ? 0 : !(f[1] >= 0 && f[1] < 1) ? 1 : -1;
    if (bad >= 0) {
      this.errorsFee++;
      this.lastErrorText = `constantProductFees gave fee${bad} = ${f[bad]}, outside [0, 1)`;
      this.noteFirst("constantProductFees", `gave fee${bad} = ${f[bad]}, outside [0, 1)`);
      return;
    }
    this.f0 = f[0];
    this.f1 = f[1];
    this.g0 = 1 - f[0];
    this.g1 = 1 - f[1];
  }
}

/** How a quote call is named in error reports. */
export function quoteCall(side: Side, input: number, reserveX: number, reserveY: number): string {
  return `computeSwap(side=${side}, inputAmount=${input}, reserveX=${reserveX}, reserveY=${reserveY})`;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
