// Runs a Teachable Machine image model export with TF.js's own layers loader (the code TM's
// library and ml5 call), on the CPU backend: node run.mjs <folder with model.json, weights.bin,
// metadata.json> <pixels file: planar RGB f32 0..255, size x size per image> <size>. Feeds each
// image as TM's library does (NHWC, x / 127 - 1) and prints { labels, inputShape, probabilities }.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

const [folder, pixelsPath, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const model = JSON.parse(readFileSync(join(folder, "model.json"), "utf8"));
const metadata = JSON.parse(readFileSync(join(folder, "metadata.json"), "utf8"));
const weights = readFileSync(join(folder, "weights.bin"));
await tf.setBackend("cpu");
const loaded = await tf.loadLayersModel(tf.io.fromMemory({
  modelTopology: model.modelTopology,
  weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
  weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
}));
const raw = readFileSync(pixelsPath);
const planar = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const plane = size * size;
const probabilities = [];
for (let start = 0; start < planar.length; start += 3 * plane) {
  const nhwc = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < 3; c += 1) nhwc[i * 3 + c] = planar[start + c * plane + i] / 127 - 1;
  }
  const output = loaded.predict(tf.tensor4d(nhwc, [1, size, size, 3]));
  probabilities.push(Array.from(await output.data()));
}
console.log(JSON.stringify({ labels: metadata.labels, inputShape: loaded.inputs[0].shape, probabilities }));
