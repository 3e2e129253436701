// Engine faults in the app: the GPU device lost in the middle of training, and a Rust panic.
// Either way the samples and the trained model survive, and the page goes on predicting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, engineWorkers, fakeCamera, holdTrainerRecord, useBrowser, workerInitScript } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = ["0", "3", "5"];
const SHOTS = 6;
const env = useBrowser();

/** Photo URLs of each digit: SHOTS to train on, then one held out. */
function photos() {
  return DIGITS.map((digit) => {
    const files = readdirSync(join(DATASET, digit)).sort();
    const url = (f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`;
    return { train: files.slice(0, SHOTS).map(url), test: url(files[SHOTS]) };
  });
}

/** The app on MobileNetV1 0.25 with `backend` chosen, recording every status line shown; the
 * engine's worker keeps the WebGPU devices it asks for in `self.__gpuDevices`. */
async function openApp(backend) {
  const context = await env.browser.newContext();
  await context.addInitScript(fakeCamera);
  await context.addInitScript((backend) => {
    localStorage.setItem("magpie.backend", backend);
    window.__statuses = [];
    new MutationObserver(() => {
      const line = document.getElementById("status")?.textContent;
      if (line && window.__statuses.at(-1) !== line) window.__statuses.push(line);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  }, backend);
  await workerInitScript(context, () => {
    self.__gpuDevices = [];
    const request = globalThis.GPUAdapter?.prototype.requestDevice;
    if (request) {
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await request.apply(this, args);
        self.__gpuDevices.push(device);
        return device;
      };
    }
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
  return { context, page, errors };
}

/** Adds the training photos to three classes, as captures, and waits until they are embedded. */
async function addPhotos(page) {
  await page.evaluate(async (sets) => {
    const project = window.magpie.app.project;
    while (project.classes.length < sets.length) project.addClass();
    const canvas = new OffscreenCanvas(320, 320);
    const context = canvas.getContext("2d");
    for (const [i, set] of sets.entries()) {
      for (const url of set.train) {
        context.drawImage(await createImageBitmap(await (await fetch(url)).blob()), 0, 0, 320, 320);
        await project.addCapture(project.classes[i].id, context.getImageData(0, 0, 320, 320));
      }
    }
  }, photos());
}

/** Trains with the Train button and waits for the end. */
async function train(page, duringTraining = async () => {}) {
  await page.click("#train");
  await page.waitForFunction(() => document.getElementById("train-progress").value > 0, null, { timeout: 120_000 });
  await duringTraining();
  try {
    await page.waitForFunction(() => /Training (done|stopped early)/.test(document.getElementById("status").textContent), null,
      { timeout: 150_000 });
  } catch (error) {
    throw new Error(`${error.message}; the page said:\n${(await page.evaluate(() => window.__statuses)).join("\n")}`);
  }
}

/** Starts a long training in the engine (it would take seconds) and resolves, once its first
 * epoch is reported, with `{ outcome }`: a promise of "resolved" or the error's message. Waiting for
 * the report, not a fixed time, keeps the fault that follows mid-training however fast it runs. */
async function trainingUnderWay(page) {
  await page.evaluate(() => {
    window.__training = { started: false };
    window.__training.outcome = window.magpie.app.project
      .train({ head: { kind: "mlp", hidden: 1000 }, epochs: 999, patience: 0, augment: { views: 0 } },
        () => { window.__training.started = true; })
      .then(() => "resolved", (error) => error.message);
  });
  await page.waitForFunction(() => window.__training.started, null, { timeout: 60_000 });
  return { outcome: page.evaluate(() => window.__training.outcome) };
}

/** What the page keeps and predicts: sample counts, whether a model is stored, the backends,
 * and the top class of each held-out photo. */
function state(page) {
  return page.evaluate(async (sets) => {
    const project = window.magpie.app.project;
    const canvas = new OffscreenCanvas(320, 320);
    const context = canvas.getContext("2d");
    const predicted = [];
    for (const set of sets) {
      context.drawImage(await createImageBitmap(await (await fetch(set.test)).blob()), 0, 0, 320, 320);
      const prediction = await project.predict(context.getImageData(0, 0, 320, 320));
      predicted.push(prediction.scores[0].class);
    }
    const info = project.session.info();
    return {
      counts: project.classes.map((c) => project.samplesOf(c.id).length),
      model: project.model?.length ?? 0,
      placement: [info.placement.backbone, info.placement.head],
      predicted,
    };
  }, photos());
}

test("the GPU device lost mid-training: training goes on on the CPU; samples and model are kept", async () => {
  const { context, page, errors } = await openApp("wgpu");
  // Short trainings: SwiftShader runs WebGPU on the CPU.
  await page.evaluate(() => window.magpie.app.project.setSettings({ epochs: 20, views: 1 }));
  await addPhotos(page);
  await train(page);
  const before = await state(page);
  assert.deepEqual(before.placement, ["wgpu", "wgpu"]);
  assert.deepEqual(before.counts, [SHOTS, SHOTS, SHOTS]);
  // The GPU goes away (driver reset, unplugged eGPU) while the next training runs.
  await train(page, () => Promise.all(page.workers().map((w) => w.evaluate(() => self.__gpuDevices?.forEach((d) => d.destroy())))));
  const statuses = await page.evaluate(() => window.__statuses);
  const lost = statuses.findIndex((s) => /GPU stopped working \(device lost\); going on with the CPU/.test(s));
  assert.ok(lost >= 0, statuses.join("\n"));
  assert.ok(statuses.slice(lost + 1).some((s) => /Training (done|stopped early)/.test(s)), `the training ends on the CPU:\n${statuses.join("\n")}`);
  const after = await state(page);
  assert.deepEqual(after.placement, ["cpu", "cpu"]);
  assert.deepEqual(after.counts, before.counts, "every sample kept");
  assert.ok(after.model > 0, "the model trained on the CPU is stored");
  assert.deepEqual(after.predicted, [0, 1, 2], "held-out photos still classified right");
  assert.equal(await page.textContent("#backend-shown"), "Backbone on CPU, head on CPU.");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a panic in the engine: reported, the engine restarts, pending calls fail instead of hanging, work is kept", async () => {
  const { context, page, errors } = await openApp("cpu");
  await addPhotos(page);
  await train(page);
  const before = await state(page);
  assert.deepEqual(before.predicted, [0, 1, 2]);
  // A long training is running in the engine when it panics.
  const { outcome } = await trainingUnderWay(page);
  const pending = {
    thrown: await page.evaluate(() => window.magpie.simulateFault().then(() => "resolved", (error) => error.message)),
    outcome: await outcome,
  };
  assert.match(pending.thrown, /the engine stopped on an internal error/, "the panic fails the call that hit it");
  assert.match(pending.outcome, /the engine stopped on an internal error: .*a fault simulated on request/);
  await page.waitForFunction(() => /ready on .*Restarted after an internal error; your samples and model are kept/
    .test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  const statuses = await page.evaluate(() => window.__statuses);
  assert.ok(statuses.some((s) => /engine stopped on an internal error \(.*a fault simulated on request.*\) and restarts/.test(s)),
    statuses.join("\n"));
  const after = await state(page);
  assert.deepEqual(after.counts, before.counts, "every sample kept");
  assert.equal(after.model, before.model, "the trained model kept");
  assert.deepEqual(after.predicted, [0, 1, 2], "the restarted engine predicts with the kept model");
  // The restarted engine trains, too.
  await train(page);
  assert.deepEqual((await state(page)).predicted, [0, 1, 2]);
  assert.deepEqual(errors.filter((e) => !/unreachable/.test(e)), []);
  await context.close();
});

/** Crashes the engine's worker (an uncaught error, as when it is killed or runs out of memory). */
function crashWorker(page) {
  const engines = engineWorkers(page);
  assert.ok(engines.length > 0, "the engine runs in a worker");
  return Promise.all(engines.map((w) => w.evaluate(() => { setTimeout(() => { throw new Error("the worker was killed"); }); })));
}

/** Waits until the page says it restarted the engine. */
async function restarted(page) {
  await page.waitForFunction(() => /ready on .*Restarted after an internal error/.test(document.getElementById("status").textContent),
    null, { timeout: 120_000 });
}

test("the engine's worker ends without an error (it closes itself) mid-training: the call rejects instead of hanging, work is kept", async () => {
  const { context, page, errors } = await openApp("cpu");
  await addPhotos(page);
  await train(page);
  const before = await state(page);
  const { outcome: training } = await trainingUnderWay(page);
  const engines = engineWorkers(page);
  // No error event follows a worker's self.close(): only the lock it held tells the client.
  await Promise.all(engines.map((w) => w.evaluate(() => { setTimeout(() => self.close()); }).catch(() => {})));
  assert.match(await training, /the engine stopped on an internal error: its worker ended/);
  await restarted(page);
  const after = await state(page);
  assert.deepEqual(after.counts, before.counts, "every sample kept");
  assert.equal(after.model, before.model, "the trained model kept");
  assert.deepEqual(after.predicted, [0, 1, 2]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the engine's worker crashes mid-training and mid-preview: respawned, samples and model kept, preview goes on", async () => {
  const { context, page, errors } = await openApp("cpu");
  await addPhotos(page);
  await train(page);
  const before = await state(page);
  assert.deepEqual(before.predicted, [0, 1, 2]);
  // Mid-training: the training's promise rejects once, with the reason; the page restarts the engine.
  const { outcome: training } = await trainingUnderWay(page);
  await crashWorker(page);
  assert.match(await training, /the engine stopped on an internal error: .*the worker was killed/);
  await restarted(page);
  const after = await state(page);
  assert.deepEqual(after.counts, before.counts, "every sample kept");
  assert.equal(after.model, before.model, "the trained model kept");
  assert.deepEqual(after.predicted, [0, 1, 2]);
  // Mid-preview: the live prediction comes back by itself.
  await page.evaluate((urls) => window.__camera.show(urls), photos()[0].train);
  await page.click("#camera-toggle");
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 60_000 });
  await page.evaluate(() => { window.__statuses = []; });
  await crashWorker(page);
  await restarted(page);
  await page.evaluate(() => { document.getElementById("prediction").textContent = ""; });
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 60_000 });
  assert.match(await page.textContent("#prediction"), /Class 1/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("<magpie-trainer> after its engine crashes: its core rebuilds its samples and model on a fresh engine, it goes on predicting", async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${env.url}www/embed.html`);
  await page.evaluate(() => {
    window.__events = [];
    for (const type of ["model", "prediction", "error"]) {
      document.getElementById("trainer").addEventListener(type, (e) => window.__events.push([type, e.detail]));
    }
  });
  await page.waitForFunction(() => /Hold a class/.test(document.getElementById("trainer").shadowRoot.querySelector(".status").textContent),
    null, { timeout: 180_000 });
  const sets = photos();
  for (const [i, set] of sets.entries()) {
    await page.evaluate((urls) => window.__camera.show(urls), set.train);
    await holdTrainerRecord(page, i, SHOTS);
  }
  await page.locator("magpie-trainer .train").click();
  await page.waitForFunction(() => window.__events.some(([t]) => t === "model"), null, { timeout: 180_000 });
  /** The trainer's model size and samples per class. */
  const kept = () => page.evaluate(async () => {
    const trainer = document.getElementById("trainer");
    const { api } = await import("/www/widgets.js");
    const project = await api.readProject(await trainer.saveProject({}));
    return { model: (await trainer.save()).length, counts: project.manifest.classes.map((c) => c.samples.length) };
  });
  const before = await kept();
  assert.ok(before.counts.every((n) => n >= SHOTS), `${before.counts}`);
  await page.evaluate((urls) => window.__camera.show(urls), [sets[1].test]);
  await crashWorker(page);
  // One error event for the fault, then predictions again, from the rebuilt session.
  await page.waitForFunction(() => window.__events.some(([t, d]) => t === "error" && /engine stopped/.test(d.message)), null, { timeout: 60_000 });
  await page.evaluate(() => { window.__events = []; });
  await page.waitForFunction(() => window.__events.filter(([t]) => t === "prediction").length >= 3, null, { timeout: 120_000 });
  const after = await kept();
  assert.deepEqual(after, before, "every sample and the trained model kept");
  const label = await page.evaluate(() => window.__events.filter(([t]) => t === "prediction").at(-1)[1].label);
  assert.equal(label, "Fist", "the rebuilt model still names the held-out photo's class");
  assert.deepEqual(errors, []);
  await context.close();
});
