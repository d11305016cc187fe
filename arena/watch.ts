/**
 * The call record a watchdog reads (spec §2.9, docs/sandbox.md). A simulation thread wraps every
 * strategy so that each call writes, before it starts, which pool, which call and its arguments
 * into a SharedArrayBuffer, and bumps a sequence number before and after: an odd number means a
 * call is running. The thread that watches reads the record without stopping the simulation; no
 * clock is read on the hot path.
 */
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "../env/strategy.js";

/** What a batch worker thread (arena/worker.ts) is given when it starts. */
export interface WorkerSetup {
  record: SharedArrayBuffer;
  /** Present in a sandbox: the resolve hook's URL and the file URL of the prepared strategies' folder. */
  lockdown?: { hookUrl: string; strategyDirUrl: string };
}

/** What a strategy was doing. `load` covers importing its module and calling its factory. */
export const CALL_KINDS = ["computeSwap", "afterSwap", "onEpochBoundary", "constantProductFees", "load"] as const;
export type CallKind = (typeof CALL_KINDS)[number];
export const KIND_LOAD = 4;

/** Int32 slots: sequence (odd while in a call), pool index, call kind; then four float64 arguments. */
const INTS = 4;
const ARGS = 4;
export const CALL_RECORD_BYTES = INTS * 4 + ARGS * 8;

export interface CallRecord {
  readonly state: Int32Array;
  readonly args: Float64Array;
}

export function callRecord(buffer: SharedArrayBuffer): CallRecord {
  return { state: new Int32Array(buffer, 0, INTS), args: new Float64Array(buffer, INTS * 4, ARGS) };
}

export function newCallRecordBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CALL_RECORD_BYTES);
}

/** A snapshot of the record: the call in progress, or null between calls. */
export interface CallInProgress {
  seq: number;
  pool: number;
  kind: CallKind;
  /** The call with its arguments, e.g. `computeSwap(side=0, inputAmount=1.5, reserveX=100, reserveY=10000)`. */
  text: string;
}

export function readCall(rec: CallRecord): CallInProgress | null {
  const seq = rec.state[0];
  if ((seq & 1) === 0) return null;
  const pool = rec.state[1];
  const kind = CALL_KINDS[rec.state[2]] ?? "load";
  const a = rec.args;
  let text: string;
  switch (kind) {
    case "computeSwap":
      text = `computeSwap(side=${a[0]}, inputAmount=${a[1]}, reserveX=${a[2]}, reserveY=${a[3]})`;
      break;
    case "afterSwap":
      text = `afterSwap(simStep=${a[0]}, side=${a[1]}, inputAmount=${a[2]}, outputAmount=${a[3]})`;
      break;
    case "onEpochBoundary":
      text = `onEpochBoundary(epochNumber=${a[0]})`;
      break;
    case "constantProductFees":
      text = "constantProductFees()";
      break;
    default:
      text = "loading the module or calling its factory";
  }
  return { seq, pool, kind, text };
}

/** Marks the start of a non-strategy-call phase that still runs strategy code (loading). */
export function enterLoad(rec: CallRecord, pool: number): void {
  rec.state[1] = pool;
  rec.state[2] = KIND_LOAD;
  rec.state[0]++;
}

export function leave(rec: CallRecord): void {
  rec.state[0]++;
}

/**
 * The strategy with every call recorded. Members and their presence are the strategy's own, so
 * the engine treats the wrapper exactly as it would the strategy: no simulation number changes.
 */
export function watchStrategy(inner: Strategy, pool: number, rec: CallRecord): Strategy {
  const st = rec.state;
  const a = rec.args;
  const watched: Strategy = {
    name: inner.name,
    computeSwap(side: Side, inputAmount: number, reserveX: number, reserveY: number, storage: Uint8Array): number {
      st[1] = pool;
      st[2] = 0;
      a[0] = side;
      a[1] = inputAmount;
      a[2] = reserveX;
      a[3] = reserveY;
      st[0]++;
      try {
        return inner.computeSwap(side, inputAmount, reserveX, reserveY, storage);
      } finally {
        st[0]++;
      }
    },
  };
  if (typeof inner.afterSwap === "function") {
    watched.afterSwap = (event: AfterSwapEvent, storage: Uint8Array): void => {
      st[1] = pool;
      st[2] = 1;
      a[0] = event.simStep;
      a[1] = event.side;
      a[2] = event.inputAmount;
      a[3] = event.outputAmount;
      st[0]++;
      try {
        inner.afterSwap!(event, storage);
      } finally {
        st[0]++;
      }
    };
  }
  if (typeof inner.onEpochBoundary === "function") {
    watched.onEpochBoundary = (event: EpochEvent, storage: Uint8Array): void => {
      st[1] = pool;
      st[2] = 2;
      a[0] = event.epochNumber;
      st[0]++;
      try {
        inner.onEpochBoundary!(event, storage);
      } finally {
        st[0]++;
      }
    };
  }
  if (typeof inner.constantProductFees === "function") {
    watched.constantProductFees = (storage: Uint8Array, out: Float64Array): void => {
      st[1] = pool;
      st[2] = 3;
      st[0]++;
      try {
        inner.constantProductFees!(storage, out);
      } finally {
        st[0]++;
      }
    };
  }
  return watched;
}
