/**
 * A WebAssembly module with the native strategy ABI (spec §3.5), run as a strategy. Each
 * simulation gets its own instance, given no imports: the module can touch nothing but its own
 * memory. Payloads (spec §3.4) are written straight into that memory, in a 64 KiB page the host
 * adds at instantiation (the module's allocator only uses pages it grew itself, so the page stays
 * ours); amounts go in as nano without BigInts.
 *
 * A trap (a Rust panic, an allocation past the memory cap, a bad access) is thrown to the pool,
 * which counts it (spec §2.9), and the instance is replaced before the next call: a trap leaves
 * the module's stack pointer wherever it was.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  AFTER_SWAP_BYTES,
  AFTER_SWAP_HEADER,
  COMPUTE_SWAP_BYTES,
  COMPUTE_SWAP_HEADER,
  EPOCH_BYTES,
  EPOCH_HEADER,
  TAG_AFTER_SWAP,
  TAG_EPOCH_BOUNDARY,
  setNano,
} from "../env/abi.js";
import { PropAmmError } from "../env/errors.js";
import type { StrategyContext, StrategySource } from "../env/simulation.js";
import { STORAGE_BYTES } from "../env/storage.js";
import type { AfterSwapEvent, EpochEvent, Side, Strategy } from "../env/strategy.js";

/** A module that is not a usable strategy (missing exports, imports, no memory). */
export class WasmStrategyError extends PropAmmError {
  constructor(message: string) {
    super("STRATEGY_FILE", message);
    this.name = "WasmStrategyError";
  }
}

const PAGE = 65536;
/** Where the hook's output storage goes inside the host page (after the largest payload). */
const STORAGE_OUT = 1152;
/** The fee declaration's storage in and two f64 out (8-aligned). */
const FEES_IN = STORAGE_OUT + STORAGE_BYTES;
const FEES_OUT = FEES_IN + STORAGE_BYTES;
const NAME_MAX = 256;
const TWO_32 = 4294967296;

type QuoteU64 = (ptr: number, len: number) => bigint;
type QuoteF64 = (ptr: number, len: number) => number;
type Hook = (ptr: number, len: number, storage: number) => void;
type GetName = (ptr: number, max: number) => number;
type Init = (nStrategies: number, strategyIndex: number) => void;
type Fees = (storage: number, out: number) => void;

interface Exports {
  memory: WebAssembly.Memory;
  quoteU64: QuoteU64;
  quoteF64: QuoteF64 | null;
  hook: Hook | null;
  getName: GetName | null;
  init: Init | null;
  fees: Fees | null;
}

function fn<T>(value: unknown): T | null {
  return typeof value === "function" ? (value as T) : null;
}

/** Compiles and checks a module: the exports the ABI needs and no imports. */
export function checkWasmModule(bytes: Uint8Array<ArrayBuffer>, where: string): WebAssembly.Module {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (err) {
    throw new WasmStrategyError(
      `${where}: not a WebAssembly module (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > 0) {
    const list = imports.map((i) => `${i.module}.${i.name}`).join(", ");
    throw new WasmStrategyError(`${where}: imports ${list}; a strategy module may import nothing`);
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") throw new WasmStrategyError(`${where}: exports no memory`);
  if (exports.get("__prop_amm_compute_swap") !== "function")
    throw new WasmStrategyError(`${where}: exports no __prop_amm_compute_swap function (spec §3.5)`);
  return module;
}

function instantiate(module: WebAssembly.Module, where: string): { exports: Exports; base: number } {
  const raw = new WebAssembly.Instance(module, {}).exports;
  const exports: Exports = {
    memory: raw.memory as WebAssembly.Memory,
    quoteU64: raw.__prop_amm_compute_swap as unknown as QuoteU64,
    quoteF64: fn<QuoteF64>(raw.__propamm_quote_f64),
    hook: fn<Hook>(raw.__prop_amm_after_swap),
    getName: fn<GetName>(raw.__prop_amm_get_name),
    init: fn<Init>(raw.__prop_amm_init),
    fees: fn<Fees>(raw.__prop_amm_constant_product_fees),
  };
  let pages: number;
  try {
    pages = exports.memory.grow(1);
  } catch {
    throw new WasmStrategyError(`${where}: its memory cannot grow by the 64 KiB page the host needs for payloads`);
  }
  return { exports, base: pages * PAGE };
}

/** Reads the module's display name; the file name when it has none. */
function moduleName(module: WebAssembly.Module, fallback: string, where: string): string {
  const { exports, base } = instantiate(module, where);
  if (exports.getName === null) return fallback;
  const n = exports.getName(base, NAME_MAX);
  const bytes = new Uint8Array(exports.memory.buffer, base, Math.max(0, Math.min(n, NAME_MAX)));
  const name = new TextDecoder().decode(bytes).trim();
  return name === "" ? fallback : name;
}

/** The strategy of one simulation: one instance, one payload page. */
class WasmStrategy implements Strategy {
  readonly afterSwap?: (event: AfterSwapEvent, storage: Uint8Array) => void;
  readonly onEpochBoundary?: (event: EpochEvent, storage: Uint8Array) => void;
  readonly constantProductFees?: (storage: Uint8Array, out: Float64Array) => void;

  private ex!: Exports;
  private base = 0;
  private u8!: Uint8Array;
  private view!: DataView;
  private storageOut!: Uint8Array;
  private broken = false;

  constructor(
    readonly name: string,
    private readonly module: WebAssembly.Module,
    private readonly where: string,
    private readonly ctx: StrategyContext,
  ) {
    this.start();
    if (this.ex.hook !== null) {
      this.afterSwap = (ev, storage) => this.runAfterSwap(ev, storage);
      this.onEpochBoundary = (ev, storage) => this.runEpoch(ev, storage);
    }
    // The optional declaration (spec §3.5): the engine then uses closed forms, as for TS strategies.
    if (this.ex.fees !== null) this.constantProductFees = (storage, out) => this.readFees(storage, out);
  }

  /** A fresh instance (at the start, and after a trap). */
  private start(): void {
    const { exports, base } = instantiate(this.module, this.where);
    this.ex = exports;
    this.base = base;
    this.broken = false;
    this.views();
    exports.init?.(this.ctx.nStrategies, this.ctx.index);
  }

  /** Views over the memory; growing the memory replaces its buffer. */
  private views(): void {
    const buf = this.ex.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.view = new DataView(buf);
    this.storageOut = new Uint8Array(buf, this.base + STORAGE_OUT, STORAGE_BYTES);
  }

  private ready(): void {
    if (this.broken) this.start();
    else if (this.u8.byteLength === 0) this.views();
  }

  /** Runs a call into the module; a trap marks the instance for replacement and goes on up. */
  private trapped(err: unknown): never {
    this.broken = true;
    throw err;
  }

  computeSwap(side: Side, input: number, reserveX: number, reserveY: number, storage: Uint8Array): number {
    this.ready();
    const v = this.view;
    const b = this.base;
    v.setUint8(b, side);
    setNano(v, b + 1, input);
    setNano(v, b + 9, reserveX);
    setNano(v, b + 17, reserveY);
    this.u8.set(storage, b + COMPUTE_SWAP_HEADER);
    try {
      const q = this.ex.quoteF64;
      if (q !== null) return q(b, COMPUTE_SWAP_BYTES) / 1e9;
      return Number(BigInt.asUintN(64, this.ex.quoteU64(b, COMPUTE_SWAP_BYTES))) / 1e9;
    } catch (err) {
      return this.trapped(err);
    }
  }

  private runAfterSwap(ev: AfterSwapEvent, storage: Uint8Array): void {
    this.ready();
    const v = this.view;
    const b = this.base;
    v.setUint8(b, TAG_AFTER_SWAP);
    v.setUint8(b + 1, ev.side);
    setNano(v, b + 2, ev.inputAmount);
    setNano(v, b + 10, ev.outputAmount);
    setNano(v, b + 18, ev.reserveX);
    setNano(v, b + 26, ev.reserveY);
    v.setUint32(b + 34, ev.simStep % TWO_32, true);
    v.setUint32(b + 38, Math.floor(ev.simStep / TWO_32), true);
    v.setUint32(b + 42, ev.epochStep, true);
    v.setUint32(b + 46, ev.epochNumber, true);
    v.setUint8(b + 50, ev.nStrategies);
    v.setUint8(b + 51, ev.strategyIndex);
    v.setFloat32(b + 52, ev.flowCaptured, true);
    v.setFloat32(b + 56, ev.capitalWeight, true);
    const prices = ev.competingSpotPrices;
    for (let k = 0; k < 8; k++) v.setFloat32(b + 60 + 4 * k, k < prices.length ? prices[k] : NaN, true);
    this.u8.set(storage, b + AFTER_SWAP_HEADER);
    this.callHook(AFTER_SWAP_BYTES, storage);
  }

  private runEpoch(ev: EpochEvent, storage: Uint8Array): void {
    this.ready();
    const v = this.view;
    const b = this.base;
    v.setUint8(b, TAG_EPOCH_BOUNDARY);
    v.setUint32(b + 1, ev.epochNumber, true);
    setNano(v, b + 5, ev.newReserveX);
    setNano(v, b + 13, ev.newReserveY);
    v.setFloat64(b + 21, ev.epochEdge, true);
    v.setFloat64(b + 29, ev.cumulativeEdge, true);
    v.setFloat32(b + 37, ev.capitalWeight, true);
    this.u8.set(storage, b + EPOCH_HEADER);
    this.callHook(EPOCH_BYTES, storage);
  }

  private readFees(storage: Uint8Array, out: Float64Array): void {
    this.ready();
    const b = this.base;
    this.u8.set(storage, b + FEES_IN);
    try {
      this.ex.fees!(b + FEES_IN, b + FEES_OUT);
    } catch (err) {
      this.trapped(err);
    }
    if (this.u8.byteLength === 0) this.views();
    out[0] = this.view.getFloat64(b + FEES_OUT, true);
    out[1] = this.view.getFloat64(b + FEES_OUT + 8, true);
  }

  /** The hook writes through its storage pointer; it starts as the current storage. */
  private callHook(len: number, storage: Uint8Array): void {
    this.storageOut.set(storage);
    try {
      this.ex.hook!(this.base, len, this.base + STORAGE_OUT);
    } catch (err) {
      this.trapped(err);
    }
    // The hook may have grown the memory: read through fresh views.
    if (this.storageOut.byteLength === 0) this.views();
    storage.set(this.storageOut);
  }
}

export interface WasmStrategyModule {
  module: WebAssembly.Module;
  name: string;
  source: StrategySource;
}

/** A module as a strategy source: one instance per simulation. `label` names it in errors. */
export function wasmStrategy(module: WebAssembly.Module, label: string, fallbackName: string): WasmStrategyModule {
  const name = moduleName(module, fallbackName, label);
  return { module, name, source: (ctx) => new WasmStrategy(name, module, label, ctx) };
}

/** A `.wasm` file with the native ABI as a strategy source. */
export function loadWasmFile(path: string, label = path): WasmStrategyModule {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new WasmStrategyError(`cannot read ${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return wasmStrategy(checkWasmModule(bytes, label), label, basename(label).replace(/\.(wasm|rs)$/, ""));
}
