/**
 * The policy network as a tfjs layers model, and its files: model.json + weights.bin in the
 * format tf.loadLayersModel reads. Written and read through in-memory handlers, so the plain
 * tfjs build (no file:// handler without tfjs-node) can still save and load from disk.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as TF from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import { type Activation, type DenseLayer, mlpShapes } from "../agents/mlp.js";

export function buildMlp(tf: Tf, sizes: number[], activation: Activation, name: string): TF.Sequential {
  const model = tf.sequential({ name });
  mlpShapes(sizes).forEach((s, i, all) => {
    const last = i === all.length - 1;
    model.add(
      tf.layers.dense({
        units: s.outputs,
        inputShape: i === 0 ? [s.inputs] : undefined,
        activation: last ? "linear" : activation,
        name: `${name}_dense${i}`,
      }),
    );
  });
  return model;
}

/** Sets the model's weights from a flat vector (kernel then bias per layer). */
export function setFlatWeights(tf: Tf, model: TF.LayersModel, flat: ArrayLike<number>): void {
  const tensors: TF.Tensor[] = [];
  let o = 0;
  for (const w of model.getWeights()) {
    const size = w.size;
    tensors.push(
      tf.tensor(
        Array.from({ length: size }, (_, k) => flat[o + k]),
        w.shape,
        "float32",
      ),
    );
    o += size;
  }
  if (o !== flat.length) throw new RangeError(`model has ${o} weights, got ${flat.length}`);
  model.setWeights(tensors);
  for (const t of tensors) t.dispose();
}

export function getFlatWeights(model: TF.LayersModel): Float32Array {
  const parts = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Dense layers of a Sequential MLP, for the plain evaluator. */
export function denseLayers(model: TF.LayersModel, hidden: Activation): DenseLayer[] {
  const weights = model.getWeights();
  const layers: DenseLayer[] = [];
  for (let i = 0; i < weights.length; i += 2) {
    const [inputs, outputs] = weights[i].shape as [number, number];
    layers.push({
      kernel: Array.from(weights[i].dataSync()),
      bias: Array.from(weights[i + 1].dataSync()),
      inputs,
      outputs,
      activation: i + 2 === weights.length ? "linear" : hidden,
    });
  }
  return layers;
}

export interface ModelFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** The two files of a layers model: model.json (topology + manifest) and weights.bin. */
export async function modelFiles(tf: Tf, model: TF.LayersModel, weightsFile = "weights.bin"): Promise<ModelFiles> {
  let files: ModelFiles | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(await new Blob((data as ArrayBuffer[]).map((b) => new Uint8Array(b))).arrayBuffer());
      files = {
        modelJson: JSON.stringify({
          format: "layers-model",
          generatedBy: artifacts.generatedBy ?? "prop-amm-gym",
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs }],
        }),
        weights: bytes,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (files === null) throw new Error("tfjs did not hand over the model artifacts");
  return files;
}

/** Loads model.json + its weight files from a directory. */
export async function loadModelDir(tf: Tf, dir: string, file = "model.json"): Promise<TF.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: TF.io.WeightsManifestEntry[] }[];
  };
  if (!json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new Error(`${join(dir, file)} is not a tfjs layers model`);
  const specs: TF.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) chunks.push(readFileSync(join(dir, p)));
  }
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.byteLength;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer }),
  );
}
