/**
 * The tfjs backend, best first:
 *  1. @tensorflow/tfjs-node (native TensorFlow) when it installed and loads;
 *  2. @tensorflow/tfjs with the WebAssembly backend (@tensorflow/tfjs-backend-wasm: XNNPACK, SIMD).
 *     Its .wasm binaries ship inside the npm package (dist/), so it needs no download at install
 *     or run time; ~2.5x faster than the CPU backend for the PPO update of the 64x64 MLPs;
 *  3. @tensorflow/tfjs with its plain-JavaScript CPU backend.
 * PROPAMM_TF_BACKEND=cpu|wasm|node forces one (for comparisons; falls through if it fails).
 */
import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import type * as TF from "@tensorflow/tfjs";

export type Tf = typeof TF;

export interface TfRuntime {
  tf: Tf;
  /** Human-readable: which package and backend are active. */
  backend: string;
}

let runtime: Promise<TfRuntime> | null = null;

async function loadNode(): Promise<TfRuntime | null> {
  // A variable module name keeps TypeScript from requiring the optional package's types.
  const nodeBinding = "@tensorflow/tfjs-node";
  try {
    const tf = (await import(nodeBinding)) as Tf;
    await tf.ready();
    return { tf, backend: `${tf.getBackend()} (@tensorflow/tfjs-node, native TensorFlow)` };
  } catch {
    return null;
  }
}

async function loadWasm(tf: Tf): Promise<TfRuntime | null> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // The binaries sit next to the package's Node entry (dist/); say so explicitly, so nothing
    // is ever fetched and a bundled build still finds them.
    const dist = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"));
    wasm.setWasmPaths(dist + sep);
    if (!(await tf.setBackend("wasm"))) return null; // setBackend reports failure by returning false
    await tf.ready();
    const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) ? "SIMD" : "no SIMD";
    return { tf, backend: `wasm (@tensorflow/tfjs-backend-wasm, ${simd})` };
  } catch {
    return null;
  }
}

async function load(): Promise<TfRuntime> {
  const want = process.env.PROPAMM_TF_BACKEND;
  if (want === undefined || want === "node") {
    const native = await loadNode();
    if (native) return native;
  }
  // tfjs advertises tfjs-node on the console when its CPU backend starts in Node; the
  // backend line this returns says it better, so the advert is silenced while it loads.
  const warn = console.warn;
  console.warn = () => {};
  try {
    const tf = await import("@tensorflow/tfjs");
    if (want !== "cpu") {
      const viaWasm = await loadWasm(tf);
      if (viaWasm) return viaWasm;
    }
    await tf.setBackend("cpu");
    await tf.ready();
    tf.tidy(() => tf.scalar(0).add(1)); // the advert is printed on first use
    const why = want === "cpu" ? "PROPAMM_TF_BACKEND=cpu" : "neither tfjs-node nor the wasm backend loaded";
    return { tf, backend: `cpu (@tensorflow/tfjs, pure JavaScript; ${why})` };
  } finally {
    console.warn = warn;
  }
}

/** Loads tfjs once per process. */
export function loadTf(): Promise<TfRuntime> {
  runtime ??= load();
  return runtime;
}
