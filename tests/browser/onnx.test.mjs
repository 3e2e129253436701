// The ONNX export in the browser: the app's "Export model → ONNX" file, loaded by onnxruntime-web
// (npm) on the app's own page, gives the probabilities the app's live model gives, on the
// default backbone and settings; before training there is nothing to export, and the app says so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, contextWith, digitFiles, downloadOf, launch, serveFolders, trainAndWait, untilReady } from "./harness.mjs";

const env = {};
before(async () => {
  Object.assign(env, await serveFolders({
    "/": DIST, "/__assets__/": ASSETS, "/__ort__/": join(ROOT, "node_modules/onnxruntime-web/dist"),
  }));
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.server?.close();
});

test("the app's ONNX export runs in onnxruntime-web on the same page with the app's probabilities (MobileNetV2, default settings)", async (t) => {
  const context = await contextWith(env.browser);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(`${env.url}?backbone=mobilenet_v2`);
  await untilReady(page);
  // Nothing trained: the button is off and the API says why.
  assert.equal(await page.isDisabled("#model-export-onnx"), true);
  const refused = await page.evaluate(() => window.magpie.app.project.session.exportOnnx().then(() => "exported", (e) => e.message));
  assert.match(refused, /no trained model to export/);

  await page.click("#class-add");
  const cards = page.locator(".class-card");
  for (const [i, digit] of ["1", "4", "7"].entries()) {
    await cards.nth(i).locator(".class-name").fill(`digit ${digit}`);
    await cards.nth(i).locator(".class-name").press("Enter");
    await cards.nth(i).locator("input[type=file]").setInputFiles(digitFiles(digit, 5));
  }
  await trainAndWait(page);
  const bytes = await downloadOf(page, "#model-export-onnx");
  assert.match(await page.textContent("#status"), /Exported .*\.onnx/);

  const tests = [
    "/__assets__/images/chelsea.png",
    "/__assets__/images/coffee.png",
    ...["1", "4", "7"].map((d) => `/__assets__/datasets/sign-language-digits/Dataset/${d}/${digitFiles(d, 1, 40)[0].name}`),
  ];
  const compared = await page.evaluate(async ({ model, tests }) => {
    const ort = await import("/__ort__/ort.wasm.min.mjs");
    ort.env.wasm.wasmPaths = "/__ort__/";
    ort.env.wasm.numThreads = 1;
    const onnx = await ort.InferenceSession.create(new Uint8Array(model));
    const session = window.magpie.app.project.session;
    const labels = session.info().modelLabels;
    const rows = [];
    for (const url of tests) {
      // The same 224 px square for both: the app's centre crop of it is the image itself.
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(224, 224);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, 224, 224);
      const image = canvas.getContext("2d").getImageData(0, 0, 224, 224);
      const ours = await session.predict(image);
      const planes = new Float32Array(3 * 224 * 224);
      for (let i = 0; i < 224 * 224; i += 1) {
        for (let c = 0; c < 3; c += 1) planes[c * 224 * 224 + i] = image.data[i * 4 + c];
      }
      const output = await onnx.run({ image: new ort.Tensor("float32", planes, [1, 3, 224, 224]) });
      const theirs = Array.from(output.probabilities.data);
      const byLabel = Object.fromEntries(ours.scores.map((s) => [s.label, s.probability]));
      rows.push({
        url,
        ours: labels.map((l) => byLabel[l]),
        theirs,
        best: [ours.scores[0].label, labels[theirs.indexOf(Math.max(...theirs))]],
      });
    }
    return { rows, outputs: onnx.outputNames, inputs: onnx.inputNames };
  }, { model: [...bytes], tests });
  assert.deepEqual(compared.inputs, ["image"]);
  assert.deepEqual(compared.outputs, ["probabilities"]);
  for (const { url, ours, theirs, best } of compared.rows) {
    const difference = Math.max(...ours.map((p, i) => Math.abs(p - theirs[i])));
    t.diagnostic(`${url}: ${best[0]} ${Math.max(...ours).toFixed(4)}, largest difference ${difference.toExponential(1)}`);
    assert.ok(difference < 1e-4, `${url}: onnxruntime-web ${theirs}, magpie ${ours}`);
    assert.equal(best[1], best[0], url);
  }
  // f16 weights: half the file.
  const half = await page.evaluate(async () => (await window.magpie.app.project.session.exportOnnx({ precision: "f16" })).length);
  assert.ok(half / bytes.length > 0.45 && half / bytes.length < 0.55, `f16 ${half} bytes, f32 ${bytes.length}`);
  assert.deepEqual(errors, []);
  await context.close();
});
