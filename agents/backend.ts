/**
 * The tfjs backend: @tensorflow/tfjs-node (native TensorFlow) when it installed and loads,
 * otherwise @tensorflow/tfjs with its plain-JavaScript CPU backend. tfjs-node is an optional
 * dependency because its install script downloads libtensorflow, which fails offline.
 */
import type * as TF from "@tensorflow/tfjs";

export type Tf = typeof TF;

export interface TfRuntime {
  tf: Tf;
  /** Human-readable: which package and backend are active. */
  backend: string;
}

let runtime: Promise<TfRuntime> | null = null;

async function load(): Promise<TfRuntime> {
  // A variable module name keeps TypeScript from requiring the optional package's types.
  const nodeBinding = "@tensorflow/tfjs-node";
  try {
    const tf = (await import(nodeBinding)) as Tf;
    await tf.ready();
    return { tf, backend: `${tf.getBackend()} (@tensorflow/tfjs-node, native TensorFlow)` };
  } catch {
    // tfjs advertises tfjs-node on the console when its CPU backend starts in Node; the
    // backend line this returns says it better, so the advert is silenced while it loads.
    const warn = console.warn;
    console.warn = () => {};
    try {
      const tf = await import("@tensorflow/tfjs");
      await tf.setBackend("cpu");
      await tf.ready();
      tf.tidy(() => tf.scalar(0).add(1)); // the advert is printed on first use
      return { tf, backend: "cpu (@tensorflow/tfjs, pure JavaScript; @tensorflow/tfjs-node is not installed)" };
    } finally {
      console.warn = warn;
    }
  }
}

/** Loads tfjs once per process. */
export function loadTf(): Promise<TfRuntime> {
  runtime ??= load();
  return runtime;
}
