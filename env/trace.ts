/**
 * The tape of one simulation (docs/trace.md): per step the fair price and every pool's spot,
 * reserves, fees and cumulative edge; every retail order and every trade; every epoch boundary
 * with the pools' weights, edges and scores. `TraceRecorder` records it as a
 * `SimulationObserver` (env/simulation.ts), so a simulation without one pays nothing.
 *
 * The tape is plain JSON as it is held in memory: numbers, booleans, strings and arrays in
 * columns (one array per field, pool-major for per-pool fields), with `null` where a number is
 * undefined (a black box's fees, the normalizer's capital weight). `JSON.parse` of the written
 * file gives back an equal object.
 */
import type { MarketParams, SimConfig } from "./config.js";
import type { TradeKind } from "./pool.js";
import type { Simulation, SimulationObserver, SimulationResult } from "./simulation.js";
import type { Side } from "./strategy.js";

export const TRACE_FORMAT = "propamm-trace";
export const TRACE_VERSION = 1;

/** Trade kinds as the tape codes them (`trades.kind`). */
export const TRACE_KIND = { arb: 0, retail: 1 } as const;

export interface TracePool {
  name: string;
  index: number;
  /** The reference pool (always last). */
  normalizer: boolean;
  /** The oracle ceiling: re-centred on the fair price every step (spec §5.4). */
  oracle: boolean;
  /** Declares constant product with fee: its fees are known (else they are null in the tape). */
  constantProduct: boolean;
}

/** Per step, at the end of the step (after its trades, hooks and any epoch boundary). */
export interface TraceSteps {
  /** Number of steps recorded (every column has this length). */
  count: number;
  /** Fair price of the step. */
  price: number[];
  /** [pool][step]: reserveY / reserveX (null for a pool holding nothing). */
  spot: (number | null)[][];
  reserveX: number[][];
  reserveY: number[][];
  /** [pool][step]: side-0 (bid) and side-1 (ask) fee in bps; null for a black box. */
  bidFeeBps: (number | null)[][];
  askFeeBps: (number | null)[][];
  /** [pool][step]: cumulative edge since the start. */
  edge: number[][];
}

/** Retail orders, in the order they were drawn. */
export interface TraceOrders {
  step: number[];
  /** 0: the trader pays Y for X; 1: pays X for Y. */
  side: number[];
  /** The order's input (Y on side 0, X on side 1). */
  amount: number[];
}

/** Trades, in the order the engine applied them. */
export interface TraceTrades {
  step: number[];
  pool: number[];
  /** 0: arbitrage, 1: retail (TRACE_KIND). */
  kind: number[];
  side: number[];
  /** What the trader paid the pool (Y on side 0, X on side 1). */
  input: number[];
  /** What the pool paid the trader (X on side 0, Y on side 1). */
  output: number[];
  /** The pool's edge from the trade (spec §2.8). */
  edge: number[];
  /** Index into `orders` of the retail order, -1 for arbitrage. */
  order: number[];
  /** The pool's share of the retail order's input (its flowCaptured), 0 for arbitrage. */
  flowShare: number[];
  /** The pool's reserves right after the trade. */
  reserveX: number[];
  reserveY: number[];
}

/** Epoch boundaries: one column entry per closed epoch (the last, shorter one included). */
export interface TraceEpochs {
  /** The epoch's last step. */
  step: number[];
  epoch: number[];
  /** False for the last epoch, which closes without a rebalance. */
  rebalanced: boolean[];
  /** [pool][epoch]: capital weight after the boundary (null for the normalizer). */
  weight: (number | null)[][];
  /** [pool][epoch]: the epoch's edge, its risk-adjusted score and trade count (spec §4.4). */
  edge: number[][];
  score: number[][];
  trades: number[][];
}

export interface SimulationTrace {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  seed: number;
  config: SimConfig;
  market: MarketParams;
  /** Strategies in the order given, then the normalizer. */
  pools: TracePool[];
  /** Before the first step. */
  initial: { price: number; reserveX: number[]; reserveY: number[]; weight: (number | null)[] };
  steps: TraceSteps;
  orders: TraceOrders;
  trades: TraceTrades;
  epochs: TraceEpochs;
}

/** A number, or null where JSON could not carry it (NaN, infinities). */
function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function perPool<T>(n: number): T[][] {
  return Array.from({ length: n }, () => []);
}

/**
 * Records the tape of one simulation: attach it before the first step
 * (`sim.observe(recorder)`), run, then take `trace()`. A recorder serves one simulation.
 */
export class TraceRecorder implements SimulationObserver {
  private sim: Simulation | null = null;
  private tape: SimulationTrace | null = null;

  start(sim: Simulation): void {
    if (this.sim !== null) throw new Error("a TraceRecorder records one simulation");
    this.sim = sim;
    const n = sim.pools.length;
    this.tape = {
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      seed: sim.seed,
      // As JSON carries them (a pin left undefined is absent), so the file parses to an equal object.
      config: JSON.parse(JSON.stringify(sim.config)) as SimConfig,
      market: { ...sim.market },
      pools: sim.pools.map((p, i) => ({
        name: p.strategy.name,
        index: i,
        normalizer: i === sim.nStrategies,
        oracle: p.oracle,
        constantProduct: p.constantProduct,
      })),
      initial: {
        price: sim.fairPrice,
        reserveX: sim.pools.map((p) => p.reserveX),
        reserveY: sim.pools.map((p) => p.reserveY),
        weight: sim.pools.map((p) => num(p.capitalWeight)),
      },
      steps: {
        count: 0,
        price: [],
        spot: perPool(n),
        reserveX: perPool(n),
        reserveY: perPool(n),
        bidFeeBps: perPool(n),
        askFeeBps: perPool(n),
        edge: perPool(n),
      },
      orders: { step: [], side: [], amount: [] },
      trades: {
        step: [],
        pool: [],
        kind: [],
        side: [],
        input: [],
        output: [],
        edge: [],
        order: [],
        flowShare: [],
        reserveX: [],
        reserveY: [],
      },
      epochs: {
        step: [],
        epoch: [],
        rebalanced: [],
        weight: perPool(n),
        edge: perPool(n),
        score: perPool(n),
        trades: perPool(n),
      },
    };
  }

  order(t: number, side: Side, amount: number): void {
    const o = this.recording().orders;
    o.step.push(t);
    o.side.push(side);
    o.amount.push(amount);
  }

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
  ): void {
    const tr = this.recording().trades;
    const p = this.sim!.pools[pool];
    tr.step.push(t);
    tr.pool.push(pool);
    tr.kind.push(TRACE_KIND[kind]);
    tr.side.push(side);
    tr.input.push(input);
    tr.output.push(output);
    tr.edge.push(edge);
    tr.order.push(order);
    tr.flowShare.push(flowShare);
    tr.reserveX.push(p.reserveX);
    tr.reserveY.push(p.reserveY);
  }

  epoch(t: number, epoch: number, rebalanced: boolean): void {
    const e = this.recording().epochs;
    const sim = this.sim!;
    e.step.push(t);
    e.epoch.push(epoch);
    e.rebalanced.push(rebalanced);
    for (let i = 0; i < sim.pools.length; i++) {
      const rows = sim.epochSummaries(i);
      const row = rows[rows.length - 1];
      e.weight[i].push(num(row.weight));
      e.edge[i].push(row.edge);
      e.score[i].push(row.score);
      e.trades[i].push(row.trades);
    }
  }

  endStep(_t: number): void {
    const s = this.recording().steps;
    const sim = this.sim!;
    s.count++;
    s.price.push(sim.fairPrice);
    for (let i = 0; i < sim.pools.length; i++) {
      const p = sim.pools[i];
      s.spot[i].push(num(p.reserveY / p.reserveX));
      s.reserveX[i].push(p.reserveX);
      s.reserveY[i].push(p.reserveY);
      s.bidFeeBps[i].push(p.constantProduct ? p.fee0 * 10000 : null);
      s.askFeeBps[i].push(p.constantProduct ? p.fee1 * 10000 : null);
      s.edge[i].push(p.edge);
    }
  }

  /** The simulation being recorded (null before `start`). */
  get simulation(): Simulation | null {
    return this.sim;
  }

  /** The tape so far (the live object: the recorder keeps appending to it while the simulation runs). */
  trace(): SimulationTrace {
    return this.recording();
  }

  private recording(): SimulationTrace {
    if (this.tape === null) throw new Error("the recorder is not attached: call sim.observe(recorder) first");
    return this.tape;
  }
}

/** Runs a simulation that has not started to its end with a recorder attached: its result and its tape. */
export function recordSimulation(sim: Simulation): { result: SimulationResult; trace: SimulationTrace } {
  const recorder = new TraceRecorder();
  sim.observe(recorder);
  const result = sim.run();
  return { result, trace: recorder.trace() };
}

function fixed(v: number | null, digits: number, width: number): string {
  return (v === null ? "-" : v.toFixed(digits)).padStart(width);
}

/**
 * A text picture of a simulation as the recorder sees it now (the gym's "ansi" render): the
 * step, the fair price, each pool's spot, fees, reserves, edge and weight, and the last trades.
 */
export function renderTraceText(recorder: TraceRecorder, lastTrades = 5): string {
  const sim = recorder.simulation;
  if (sim === null) throw new Error("the recorder is not attached to a simulation");
  const tape = recorder.trace();
  const cfg = sim.config;
  const lines: string[] = [];
  const step = sim.finished ? `${cfg.steps}/${cfg.steps} (finished)` : `${sim.step}/${cfg.steps}`;
  const epoch = Math.floor(Math.min(sim.step, cfg.steps - 1) / cfg.epochLen);
  lines.push(`seed ${sim.seed}  step ${step}  epoch ${epoch}  fair price ${sim.fairPrice.toFixed(4)}`);
  const width = Math.min(28, Math.max(4, ...tape.pools.map((p) => p.name.length)));
  lines.push(
    `${"#".padStart(2)} ${"pool".padEnd(width)} ${"spot".padStart(10)} ${"bid bps".padStart(8)} ${"ask bps".padStart(8)} ` +
      `${"reserve X".padStart(12)} ${"reserve Y".padStart(12)} ${"edge".padStart(10)} ${"weight".padStart(7)}`,
  );
  sim.pools.forEach((p, i) => {
    const name = tape.pools[i].name;
    const label = (name.length > width ? name.slice(0, width - 1) + "…" : name).padEnd(width);
    lines.push(
      `${String(i).padStart(2)} ${label} ${fixed(num(p.spot), 4, 10)} ` +
        `${fixed(p.constantProduct ? p.fee0 * 10000 : null, 1, 8)} ${fixed(p.constantProduct ? p.fee1 * 10000 : null, 1, 8)} ` +
        `${fixed(p.reserveX, 4, 12)} ${fixed(p.reserveY, 2, 12)} ${fixed(p.edge, 3, 10)} ${fixed(num(p.capitalWeight), 3, 7)}`,
    );
  });
  const tr = tape.trades;
  const total = tr.step.length;
  const from = Math.max(0, total - lastTrades);
  lines.push(total === 0 ? "no trades yet" : `last ${total - from} of ${total} trades:`);
  for (let k = from; k < total; k++) {
    const side = tr.side[k];
    const [inTok, outTok] = side === 0 ? ["Y", "X"] : ["X", "Y"];
    const kind = tr.kind[k] === TRACE_KIND.arb ? "arb   " : "retail";
    const share = tr.kind[k] === TRACE_KIND.retail ? `  share ${(tr.flowShare[k] * 100).toFixed(1)}%` : "";
    lines.push(
      `  step ${tr.step[k]} ${kind} pool ${tr.pool[k]} side ${side}: in ${tr.input[k].toPrecision(6)} ${inTok}, ` +
        `out ${tr.output[k].toPrecision(6)} ${outTok}, edge ${tr.edge[k].toFixed(4)}${share}`,
    );
  }
  return lines.join("\n");
}
