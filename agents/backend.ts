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
    // tfjs prints an advert for tfjs-node when it loads in Node; the backend line says it better.
    const warn = console.warn;
    console.warn = () => {};
    let tf: Tf;
    try {
      tf = await import("@tensorflow/tfjs");
    } finally {
      console.warn = warn;
    }
    await tf.setBackend("cpu");
    await tf.ready();
    return { tf, backend: "cpu (@tensorflow/tfjs, pure JavaScript; @tensorflow/tfjs-node is not installed)" };
  }
}

/** Loads tfjs once per process. */
export function loadTf(): Promise<TfRuntime> {
  runtime ??= load();
  return runtime;
}
