// The engine's one client (www/engine/): the page's engine runs in a worker, and the page and
// <magpie-trainer> capture a camera frame through the same module, into the same pixels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, contextWith, engineWorkers, fakeCamera, holdRecord, holdTrainerRecord, openIn, settled, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const env = useBrowser();
const photo = `/__assets__/datasets/sign-language-digits/Dataset/7/${readdirSync(join(DATASET, "7")).sort()[0]}`;

test("the page's engine runs in a worker, and the page and <magpie-trainer> capture identical pixels from the same frame", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  assert.ok(engineWorkers(page).length > 0, "the engine's worker runs");
  // A still camera: one photo.
  await page.evaluate((url) => window.__camera.show([url]), photo);
  await page.fill("#capture-rate", "1");
  await holdRecord(page, 0, 1);
  await settled(page);
  await page.evaluate(async () => {
    await import("/www/widgets.js");
    const trainer = Object.assign(document.createElement("magpie-trainer"), { id: "trainer" });
    for (const [name, value] of Object.entries({ backbone: "mobilenet_v1_025", backend: "cpu", classes: "a,b", rate: "1" })) {
      trainer.setAttribute(name, value);
    }
    const ready = new Promise((resolve) => trainer.addEventListener("ready", resolve, { once: true }));
    document.body.append(trainer);
    await ready;
  });
  await holdTrainerRecord(page, 0, 1);
  const pixels = await page.evaluate(async () => {
    const decode = async (blob) => {
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      return canvas.getContext("2d").getImageData(0, 0, bitmap.width, bitmap.height);
    };
    const project = window.magpie.app.project;
    const first = project.samplesOf(project.classes[0].id)[0];
    const { manifest, files } = await window.magpie.readProject(await document.getElementById("trainer").saveProject({}));
    const trainer = new Blob([files.get(manifest.classes[0].samples[0].file)], { type: "image/jpeg" });
    const [a, b] = [await decode(first.jpeg), await decode(trainer)];
    let max = 0;
    for (let i = 0; i < a.data.length; i += 1) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
    return { page: [a.width, a.height], trainer: [b.width, b.height], max, bytes: [first.jpeg.size, trainer.size] };
  });
  assert.deepEqual(pixels.page, [320, 320]);
  assert.deepEqual(pixels.trainer, pixels.page, "the same square");
  assert.ok(pixels.max <= 2, `the same pixels (largest difference ${pixels.max}, JPEG bytes ${pixels.bytes})`);
  assert.deepEqual(errors, []);
  await context.close();
});
