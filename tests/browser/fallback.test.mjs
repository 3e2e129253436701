// Without WebGPU the page falls back to the CPU backend with a notice, and bad calls to the JS
// API reject with a message instead of killing the wasm instance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openApp, useBrowser, workerInitScript } from "./harness.mjs";

const env = useBrowser();

test("without WebGPU, automatic backend choice falls back to the CPU with a notice", async () => {
  const context = await env.browser.newContext();
  // A browser without WebGPU: no navigator.gpu.
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined }));
  await workerInitScript(context, () => Object.defineProperty(WorkerNavigator.prototype, "gpu", { get: () => undefined }));
  const page = await context.newPage();
  await page.goto(env.url);
  await page.waitForFunction(() => /ready on CPU/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  const status = await page.textContent("#status");
  assert.match(status, /WebGPU unavailable/);
  const info = await page.evaluate(async () => {
    const model = await window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "auto" });
    const info = model.info();
    model.free();
    return info;
  });
  assert.equal(info.backend, "cpu");
  assert.ok(info.fallbackReason, "the reason for the fallback is reported");
  await context.close();
});

test("bad arguments reject with a message and the page keeps working", async () => {
  const { page, errors } = await openApp(env.browser, env.url);
  const outcome = await page.evaluate(async () => {
    const messages = {};
    const attempt = async (name, fn) => {
      try { await fn(); messages[name] = "resolved"; } catch (e) { messages[name] = e.message ?? String(e); }
    };
    await attempt("backbone", () => window.magpie.ImageNetModel.create({ backbone: "resnet9000", backend: "cpu" }));
    await attempt("backend", () => window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "tpu" }));
    await attempt("weights", () => window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "cpu", weightsUrl: "www/missing.bpk" }));
    await attempt("corrupt", () => window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "cpu", weightsUrl: "www/app.js" }));
    const model = await window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "cpu" });
    await attempt("pixels", () => model.classify({ width: 10, height: 10 }, 5));
    await attempt("empty", () => model.features(new Image()));
    const stillWorks = await model.classify(new ImageData(new Uint8ClampedArray(16).fill(128), 2, 2), 1);
    model.free();
    return { messages, stillWorks: stillWorks.length };
  });
  assert.match(outcome.messages.backbone, /unknown backbone 'resnet9000'/);
  assert.match(outcome.messages.backend, /unknown backend 'tpu'/);
  assert.match(outcome.messages.weights, /HTTP 404/);
  assert.match(outcome.messages.corrupt, /invalid weight record/);
  assert.match(outcome.messages.pixels, /expected ImageData, an <img>, <video> or <canvas> element/);
  assert.match(outcome.messages.empty, /has no pixels yet/);
  assert.equal(outcome.stillWorks, 1);
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
  await page.close();
});

test("models created at the same time share one WebGPU device", async () => {
  const { page, errors } = await openApp(env.browser, env.url);
  const backends = await page.evaluate(async () => {
    const options = { backbone: "mobilenet_v1_025", backend: "wgpu" };
    const models = await Promise.all([1, 2, 3].map(() => window.magpie.ImageNetModel.create(options)));
    const backends = models.map((m) => m.info().backend);
    models.forEach((m) => m.free());
    return backends;
  });
  assert.deepEqual(backends, ["wgpu", "wgpu", "wgpu"]);
  assert.deepEqual(errors, []);
  await page.close();
});
