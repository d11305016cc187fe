/**
 * One simulation (= one episode), spec §2. The loop is a generator so that it can pause inside
 * a step: a hook that calls `requestPause()` makes the generator yield right after that hook
 * returns, and the next `next()` resumes exactly there. The gym uses this to hand control to
 * an agent at its decision events; a batch run never pauses and drives the loop to the end.
 */
import { arbitrage, ArbTrade } from "./arbitrage.js";
import { isOracle } from "./builtins/oracle.js";
import { normalizer } from "./builtins/normalizer.js";
import { type CapitalParams, rebalance, riskAdjustedScore } from "./capital.js";
import { type MarketParams, type SimConfig, resolveConfig, sampleMarket } from "./config.js";
import { Pool, type TradeKind } from "./pool.js";
import { PriceProcess } from "./price.js";
import { RetailFlow } from "./retail.js";
import { simulationStreams } from "./rng.js";
import { Router } from "./router.js";
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "./strategy.js";

/** What a strategy factory may look at when it is created for one simulation. */
export interface StrategyContext {
  seed: number;
  market: Readonly<MarketParams>;
  config: Readonly<SimConfig>;
  /** This strategy's pool index. */
  index: number;
  /** Number of strategies (pools before the normalizer). */
  nStrategies: number;
}

export type StrategySource = (ctx: StrategyContext) => Strategy;

export interface EpochSummary {
  epoch: number;
  edge: number;
  score: number;
  /** Capital weight after this epoch's rebalance (unchanged for the last epoch). */
  weight: number;
  trades: number;
}

export interface PoolErrors {
  quoteErrors: number;
  invalidQuotes: number;
  hookErrors: number;
  feeErrors: number;
  lastError: string;
  /** The first contained error with its call and input; present only when there was one. */
  firstError?: string;
  /**
   * Present only when the batch runner stopped this strategy (time or memory limit, spec §2.9):
   * what was exceeded, in which call, with which input. The pool then ran as a stand-in quoting 0.
   */
  stopped?: string;
}

export interface PoolResult {
  name: string;
  index: number;
  normalizer: boolean;
  oracle: boolean;
  edge: number;
  arbEdge: number;
  retailEdge: number;
  arbTrades: number;
  retailTrades: number;
  retailVolumeY: number;
  /** Last assigned capital weight (1/N when no rebalance happened); NaN for the normalizer. */
  finalWeight: number;
  finalValue: number;
  quoteCalls: number;
  errors: PoolErrors;
  epochs: EpochSummary[];
}

export interface SimulationResult {
  seed: number;
  market: MarketParams;
  steps: number;
  finalPrice: number;
  /** Strategies in the order given, then the normalizer. */
  pools: PoolResult[];
  /** Retail orders routed, and the black-box quote calls the router spent on them. */
  ordersRouted: number;
  routerQuoteCalls: number;
  /** Arbitrage searches on black-box pools, and the quote calls they spent. */
  arbSearches: number;
  arbQuoteCalls: number;
}

/**
 * Watches one simulation from outside without changing it (env/trace.ts records a tape with
 * it). The engine calls it only when one is attached (`Simulation.observe`): without one, the
 * arbitrage and order loops are the plain ones and the rest costs a null test per step or order.
 * Callbacks must not change the simulation.
 */
export interface SimulationObserver {
  /** Once, when attached, before the first step: pools, configuration and market are set. */
  start(sim: Simulation): void;
  /** A retail order of step `t`, drawn and routed, before its allocations are applied. */
  order(t: number, side: Side, amount: number): void;
  /**
   * One trade of step `t` on pool `pool`, right after it moved the pool's reserves and books
   * and before any hook. `order` is the retail order's number (`ordersRouted - 1`), -1 for an
   * arbitrage trade; `flowShare` is the pool's share of that order's input, 0 for arbitrage.
   */
  trade(
    t: number,
    pool: number,
    kind: TradeKind,
    side: Side,
    input: number,
    output: number,
    edge: number,
    order: number,
    flowShare: number,
  ): void;
  /** The epoch that ends at step `t` closed: summaries recorded and capital moved, before the epoch hooks. */
  epoch(t: number, epoch: number, rebalanced: boolean): void;
  /** Step `t` is over: every trade, hook and epoch hook of it has run. */
  endStep(t: number): void;
}

const MAX_COMPETING = 8;

export class Simulation {
  readonly config: SimConfig;
  readonly market: MarketParams;
  /** Strategies' pools, then the normalizer (always last). */
  readonly pools: Pool[];
  readonly nStrategies: number;
  readonly price: PriceProcess;
  /** Current step (the one being simulated, or `steps` once finished). */
  step = 0;
  finished = false;
  ordersRouted = 0;
  routerQuoteCalls = 0;
  arbSearches = 0;
  arbQuoteCalls = 0;

  private readonly retail: RetailFlow;
  private readonly router: Router;
  private readonly alloc: Float64Array;
  private readonly outputs: Float64Array;
  private readonly scores: Float64Array;
  private readonly weights: Float64Array;
  private readonly arb = new ArbTrade();
  private readonly swapEvent: AfterSwapEvent;
  private readonly epochEvent: EpochEvent;
  private readonly epochs: EpochSummary[][];
  private pauseRequested = false;
  private readonly hasOracle: boolean;
  private readonly capitalParams: CapitalParams;
  private readonly closedEpochEdge: Float64Array;
  /** Fair price of the current step. */
  private fair: number;
  private orderSide: Side = 0;
  private orderAmount = 0;
  private observer: SimulationObserver | null = null;
  private begun = false;
  private readonly loop: Generator<void, void, void>;

  constructor(
    readonly seed: number,
    sources: readonly StrategySource[],
    config: Partial<SimConfig> = {},
  ) {
    this.config = resolveConfig(config, sources.length);
    const cfg = this.config;
    const streams = simulationStreams(seed);
    this.market = sampleMarket(streams.market, cfg.pins);
    this.nStrategies = sources.length;
    const n = sources.length;
    const start = cfg.baseReserveX * cfg.initialPrice + cfg.baseReserveY;
    this.pools = sources.map((make, index) => {
      const strategy = make({ seed, market: this.market, config: cfg, index, nStrategies: n });
      return new Pool(strategy, cfg.baseReserveX, cfg.baseReserveY, 1 / n, {
        oracle: isOracle(strategy),
        epochStartValue: start,
      });
    });
    const liq = this.market.normalizerLiquidity;
    const norm = new Pool(
      normalizer(this.market.normalizerFeeBps),
      cfg.baseReserveX * liq,
      cfg.baseReserveY * liq,
      NaN,
    );
    this.pools.push(norm);

    this.price = new PriceProcess(cfg.initialPrice, this.market.sigma, streams.price);
    this.retail = new RetailFlow(
      this.market.retailRate,
      this.market.retailMeanSize,
      cfg.retailSizeSigma,
      streams.retail,
    );
    const total = this.pools.length;
    this.router = new Router(total);
    this.alloc = new Float64Array(total);
    this.outputs = new Float64Array(total);
    this.scores = new Float64Array(n);
    this.weights = new Float64Array(n);
    this.epochs = this.pools.map(() => []);
    this.closedEpochEdge = new Float64Array(total);
    this.fair = cfg.initialPrice;
    this.hasOracle = this.pools.some((p) => p.oracle);
    this.capitalParams = {
      riskLambda: cfg.riskLambda,
      temperature: cfg.temperature,
      minWeight: cfg.minWeight,
      scorePerCapital: cfg.scorePerCapital,
    };
    this.swapEvent = {
      side: 0,
      inputAmount: 0,
      outputAmount: 0,
      reserveX: 0,
      reserveY: 0,
      simStep: 0,
      epochStep: 0,
      epochNumber: 0,
      nStrategies: total,
      strategyIndex: 0,
      flowCaptured: 0,
      capitalWeight: 0,
      competingSpotPrices: new Float64Array(MAX_COMPETING),
    };
    this.epochEvent = {
      epochNumber: 0,
      newReserveX: 0,
      newReserveY: 0,
      epochEdge: 0,
      cumulativeEdge: 0,
      capitalWeight: 0,
    };
    this.loop = this.steps();
  }

  /** Epoch summaries recorded so far for pool i (the last epoch's appears at the last step). */
  epochSummaries(i: number): readonly EpochSummary[] {
    return this.epochs[i];
  }

  /**
   * Attaches an observer (a trace recorder) before the first step; it sees every order, trade,
   * epoch and step end, and changes no number of the simulation.
   */
  observe(observer: SimulationObserver): void {
    if (this.begun) throw new Error("attach an observer before the simulation's first step");
    if (this.observer !== null) throw new Error("the simulation already has an observer");
    this.observer = observer;
    observer.start(this);
  }

  /** Fair price of the current step (the initial price before the first step). */
  get fairPrice(): number {
    return this.fair;
  }

  /** Called from inside a hook: the simulation yields as soon as that hook returns. */
  requestPause(): void {
    this.pauseRequested = true;
  }

  /** Runs until the next pause or the end; returns true when the simulation has finished. */
  advance(): boolean {
    if (!this.finished) this.loop.next();
    return this.finished;
  }

  /** Runs to the end (any pause requests are ignored) and returns the results. */
  run(): SimulationResult {
    while (!this.advance());
    return this.result();
  }

  result(): SimulationResult {
    if (!this.finished) throw new Error("the simulation has not finished");
    const S = this.price.price;
    return {
      seed: this.seed,
      market: { ...this.market },
      steps: this.config.steps,
      finalPrice: S,
      pools: this.pools.map((p, i) => ({
        name: p.strategy.name,
        index: i,
        normalizer: i === this.nStrategies,
        oracle: p.oracle,
        edge: p.edge,
        arbEdge: p.arbEdge,
        retailEdge: p.retailEdge,
        arbTrades: p.arbTrades,
        retailTrades: p.retailTrades,
        retailVolumeY: p.retailVolumeY,
        finalWeight: p.capitalWeight,
        finalValue: p.valueAt(S),
        quoteCalls: p.quoteCalls,
        errors: {
          quoteErrors: p.quoteErrors,
          invalidQuotes: p.invalidQuotes,
          hookErrors: p.hookErrors,
          feeErrors: p.feeErrors,
          lastError: p.lastError,
          ...(p.firstError ? { firstError: p.firstError } : {}),
        },
        epochs: this.epochs[i],
      })),
      ordersRouted: this.ordersRouted,
      routerQuoteCalls: this.routerQuoteCalls,
      arbSearches: this.arbSearches,
      arbQuoteCalls: this.arbQuoteCalls,
    };
  }

  private fillCompeting(i: number): void {
    const out = this.swapEvent.competingSpotPrices;
    const pools = this.pools;
    let k = 0;
    for (let j = 0; j < pools.length && k < MAX_COMPETING; j++) {
      if (j !== i) out[k++] = pools[j].reserveY / pools[j].reserveX;
    }
    for (; k < MAX_COMPETING; k++) out[k] = NaN;
  }

  private fillSwapEvent(i: number, side: Side, input: number, output: number, t: number, flow: number): AfterSwapEvent {
    const p = this.pools[i];
    const ev = this.swapEvent;
    const epochLen = this.config.epochLen;
    ev.side = side;
    ev.inputAmount = input;
    ev.outputAmount = output;
    ev.reserveX = p.reserveX;
    ev.reserveY = p.reserveY;
    ev.simStep = t;
    ev.epochStep = t % epochLen;
    ev.epochNumber = Math.floor(t / epochLen);
    ev.strategyIndex = i;
    ev.flowCaptured = flow;
    ev.capitalWeight = p.capitalWeight;
    this.fillCompeting(i);
    return ev;
  }

  /**
   * The loop. Only control flow lives here: the arithmetic is in plain methods, because a
   * generator boxes the doubles it keeps across a yield. Each `...From(i)` method works from
   * pool i onward and returns early, with the index to resume at, when a hook asked to pause.
   */
  private *steps(): Generator<void, void, void> {
    const cfg = this.config;
    const total = this.pools.length;
    this.begun = true;
    for (let t = 0; t < cfg.steps; t++) {
      this.beginStep(t);
      for (let i = 0; i < total;) {
        i = this.observer === null ? this.arbitrageFrom(i, t) : this.arbitrageObservedFrom(i, t, this.observer);
        if (this.pauseRequested) {
          this.pauseRequested = false;
          yield;
        }
      }
      if (cfg.retailEnabled) {
        const k = this.retail.orderCount();
        for (let o = 0; o < k; o++) {
          this.routeOrder();
          for (let i = 0; i < total;) {
            i = this.orderHooksFrom(i, t);
            if (this.pauseRequested) {
              this.pauseRequested = false;
              yield;
            }
          }
        }
      }
      if ((t + 1) % cfg.epochLen === 0 || t === cfg.steps - 1) {
        const rebalancing = this.closeEpoch(t);
        for (let i = 0; rebalancing && i < total;) {
          i = this.epochHooksFrom(i, t);
          if (this.pauseRequested) {
            this.pauseRequested = false;
            yield;
          }
        }
      }
      if (this.observer !== null) this.observer.endStep(t);
    }
    this.step = cfg.steps;
    this.finished = true;
  }

  private beginStep(t: number): void {
    this.step = t;
    const S = this.price.next();
    this.fair = S;
    if (this.hasOracle) for (const p of this.pools) if (p.oracle) p.recentre(S);
  }

  /** Arbitrage of pools i.., each followed by its own hook. */
  private arbitrageFrom(start: number, t: number): number {
    const pools = this.pools;
    const arb = this.arb;
    const S = this.fair;
    const floor = this.config.arbProfitFloor;
    for (let i = start; i < pools.length; i++) {
      const p = pools[i];
      const calls = p.quoteCalls;
      arbitrage(p, S, arb);
      if (!p.constantProduct) {
        this.arbSearches++;
        this.arbQuoteCalls += p.quoteCalls - calls;
      }
      const side = arb.side;
      if (side === -1 || !(arb.profit >= floor)) continue;
      p.applyTrade(side, arb.input, arb.output, S, "arb");
      if (p.hasAfterSwap) {
        p.callAfterSwap(this.fillSwapEvent(i, side, arb.input, arb.output, t, 0));
        if (this.pauseRequested) return i + 1;
      }
    }
    return pools.length;
  }

  /**
   * arbitrageFrom with an observer attached: the same trades, each reported as applied. A twin
   * rather than a test inside arbitrageFrom: that test (and the call it guards) made the engine
   * run about 3% more instructions with no observer (callgrind, starter x2; 1-2% left with the
   * twin); keep the two in step
   * (test/env/trace.test.ts checks a recorded run equals an unrecorded one bit for bit).
   */
  private arbitrageObservedFrom(start: number, t: number, observer: SimulationObserver): number {
    const pools = this.pools;
    const arb = this.arb;
    const S = this.fair;
    const floor = this.config.arbProfitFloor;
    for (let i = start; i < pools.length; i++) {
      const p = pools[i];
      const calls = p.quoteCalls;
      arbitrage(p, S, arb);
      if (!p.constantProduct) {
        this.arbSearches++;
        this.arbQuoteCalls += p.quoteCalls - calls;
      }
      const side = arb.side;
      if (side === -1 || !(arb.profit >= floor)) continue;
      const edge = p.applyTrade(side, arb.input, arb.output, S, "arb");
      observer.trade(t, i, "arb", side, arb.input, arb.output, edge, -1, 0);
      if (p.hasAfterSwap) {
        p.callAfterSwap(this.fillSwapEvent(i, side, arb.input, arb.output, t, 0));
        if (this.pauseRequested) return i + 1;
      }
    }
    return pools.length;
  }

  /** Draws one retail order, routes it across every pool and applies every allocation. */
  private routeOrder(): void {
    const pools = this.pools;
    const alloc = this.alloc;
    const outputs = this.outputs;
    const S = this.fair;
    this.retail.nextOrder();
    const side = this.retail.side;
    const amount = side === 0 ? this.retail.sizeY : this.retail.sizeY / S;
    this.orderSide = side;
    this.orderAmount = amount;
    this.router.route(pools, side, amount, alloc);
    this.ordersRouted++;
    this.routerQuoteCalls += this.router.lastQuoteCalls;
    for (let i = 0; i < pools.length; i++) {
      // An allocation the router already quoted is not quoted again (same input, reserves and storage).
      let out = 0;
      if (alloc[i] > 0) {
        out = this.router.quotedOutput(i, alloc[i]);
        if (out !== out) out = pools[i].quote(side, alloc[i]); // NaN: not quoted there
      }
      outputs[i] = out;
      if (!(out > 0)) alloc[i] = 0;
    }
    if (this.observer !== null) {
      this.applyObserved(this.observer, side, amount);
      return;
    }
    for (let i = 0; i < pools.length; i++) {
      if (alloc[i] !== 0) pools[i].applyTrade(side, alloc[i], outputs[i], S, "retail");
    }
  }

  /** routeOrder's last loop with an observer attached: the same trades, each reported as applied. */
  private applyObserved(observer: SimulationObserver, side: Side, amount: number): void {
    const pools = this.pools;
    const alloc = this.alloc;
    const outputs = this.outputs;
    const t = this.step;
    const order = this.ordersRouted - 1;
    observer.order(t, side, amount);
    for (let i = 0; i < pools.length; i++) {
      if (alloc[i] === 0) continue;
      const edge = pools[i].applyTrade(side, alloc[i], outputs[i], this.fair, "retail");
      // The share the pool's afterSwap receives as flowCaptured (orderHooksFrom), the same expression.
      observer.trade(t, i, "retail", side, alloc[i], outputs[i], edge, order, alloc[i] / amount);
    }
  }

  /** After-swap hooks of the pools i.. that took part in the current order, in index order. */
  private orderHooksFrom(start: number, t: number): number {
    const pools = this.pools;
    const alloc = this.alloc;
    for (let i = start; i < pools.length; i++) {
      const p = pools[i];
      if (alloc[i] === 0 || !p.hasAfterSwap) continue;
      p.callAfterSwap(this.fillSwapEvent(i, this.orderSide, alloc[i], this.outputs[i], t, alloc[i] / this.orderAmount));
      if (this.pauseRequested) return i + 1;
    }
    return pools.length;
  }

  /** Epoch summaries and, unless this is the last step, the rebalance. Returns whether it rebalanced. */
  private closeEpoch(t: number): boolean {
    const cfg = this.config;
    const pools = this.pools;
    const n = this.nStrategies;
    const epoch = Math.floor(t / cfg.epochLen);
    const rebalancing = t !== cfg.steps - 1;
    if (rebalancing) rebalance(pools, n, this.fair, this.capitalParams, this.scores, this.weights);
    for (let i = 0; i < pools.length; i++) {
      const p = pools[i];
      const score = i < n && rebalancing ? this.scores[i] : riskAdjustedScore(p.epochEdge, cfg.riskLambda);
      this.epochs[i].push({ epoch, edge: p.epochEdge, score, weight: p.capitalWeight, trades: p.epochTrades });
      this.closedEpochEdge[i] = p.epochEdge;
      if (rebalancing) p.startEpoch();
    }
    if (this.observer !== null) this.observer.epoch(t, epoch, rebalancing);
    return rebalancing;
  }

  /** Epoch-boundary hooks of pools i.. (after the rebalance). */
  private epochHooksFrom(start: number, t: number): number {
    const pools = this.pools;
    const epoch = Math.floor(t / this.config.epochLen);
    for (let i = start; i < pools.length; i++) {
      const p = pools[i];
      if (!p.hasEpochHook) continue;
      const ev = this.epochEvent;
      ev.epochNumber = epoch;
      ev.newReserveX = p.reserveX;
      ev.newReserveY = p.reserveY;
      ev.epochEdge = this.closedEpochEdge[i];
      ev.cumulativeEdge = p.edge;
      ev.capitalWeight = p.capitalWeight;
      p.callEpochBoundary(ev);
      if (this.pauseRequested) return i + 1;
    }
    return pools.length;
  }
}
