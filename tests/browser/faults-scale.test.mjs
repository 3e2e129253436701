// 20,000 samples in one session, with the default pipeline (MobileNetV2, spatial rows, 4
// augmented views asked for): they fit in memory (the session keeps each frame as its image
// file, outside the wasm memory, and fewer augmented views once they would pass its budget),
// train, and predict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, engineMemory, openIn, recordEngineMemory, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const SAMPLES = 20_000;
const env = useBrowser();

/** Photo URLs of digit `digit`: `n` to add, then one held out. */
function photos(digit, n) {
  const files = readdirSync(join(DATASET, digit)).sort();
  const url = (f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`;
  return { train: files.slice(0, n).map(url), test: url(files[n]) };
}

test("20,000 samples: held in under 1 GB (fewer augmented views), trained, and predicting", async (t) => {
  const context = await env.browser.newContext();
  await recordEngineMemory(context);
  const { page, errors } = await openIn(context, env.url);
  const sets = [photos("0", 4), photos("5", 4)];
  const few = await page.evaluate(async ({ sets, total }) => {
    const session = await window.magpie.FewShotSession.create({ backend: "cpu", headBackend: "cpu" });
    /** A photo as the app keeps a capture: the 320 px centred square, as a JPEG file. */
    const frame = async (url) => {
      const canvas = new OffscreenCanvas(320, 320);
      canvas.getContext("2d").drawImage(await createImageBitmap(await (await fetch(url)).blob()), 0, 0, 320, 320);
      return canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 });
    };
    window.scale = { session, frame };
    // Real photos, embedded once each; then the same files again with their stored embeddings,
    // as the app restores a project, until there are `total` samples.
    const stored = [];
    for (const [i, set] of sets.entries()) {
      const label = ["zero", "five"][i];
      for (const url of set.train) {
        const file = await frame(url);
        const id = await session.addSample(label, file);
        stored.push({ label, file, embedding: await session.sampleEmbedding(id) });
      }
    }
    const few = session.info().cachedViews;
    for (let n = stored.length; n < total; n += 1) {
      const sample = stored[n % stored.length];
      await session.addSample(sample.label, sample.file, { embedding: sample.embedding });
    }
    return few;
  }, { sets, total: SAMPLES });
  // The engines' wasm memory, and the page's JS heap (the client keeps what a rebuilt engine
  // needs); a worker's JS heap cannot be read, but its image files are Blobs, outside it.
  const held = { wasm: (await engineMemory(page)).bytes, jsHeap: await page.evaluate(() => performance.memory.usedJSHeapSize) };
  const summary = await page.evaluate(() => window.scale.session.train({ epochs: 2 }));
  const trainedWasm = (await engineMemory(page)).bytes;
  const outcome = await page.evaluate(async (sets) => {
    const { session, frame } = window.scale;
    const predicted = [];
    for (const set of sets) {
      const bitmap = await createImageBitmap(await frame(set.test));
      predicted.push((await session.predict(bitmap)).scores[0].label);
    }
    const info = session.info();
    session.free();
    return { many: info.cachedViews, backbone: info.backbone, counts: info.counts, predicted };
  }, sets);
  assert.deepEqual(outcome.counts, [SAMPLES / 2, SAMPLES / 2]);
  assert.equal(outcome.backbone, "mobilenet_v2");
  assert.equal(few, 1, "a few samples keep every augmented view asked for (the default one)");
  // 20,000 samples are far past the views budget (none past 600 samples).
  assert.equal(outcome.many, 0, "20,000 samples keep no augmented views");
  assert.equal(summary.views, 0);
  const total = held.wasm + held.jsHeap;
  const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  t.diagnostic(`held: wasm ${mb(held.wasm)}, JS heap ${mb(held.jsHeap)}; wasm after training ${mb(trainedWasm)}`);
  assert.ok(total < 2 ** 30, `20,000 samples take ${(total / 2 ** 20).toFixed(0)} MB (wasm ${held.wasm >> 20} MB)`);
  assert.equal(summary.history.length, 2);
  assert.equal(summary.validation.accuracy, 1, "the repeated photos are told apart");
  assert.deepEqual(outcome.predicted, ["zero", "five"]);
  assert.deepEqual(errors, []);
  await context.close();
});
