// Training in the browser: the same few-shot problem (real Sign Language Digits photos, MobileNetV1
// 0.25; MobileNetV2 with spatial features) trained in the page on WebGPU and on the CPU backend
// reaches the native accuracy and loss; fine-tune mode runs on both backends; cancel stops
// training; "auto" placement measures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, ROOT, openApp, useBrowser, servedRecord } from "./harness.mjs";

const BACKBONE = "mobilenet_v1_025";
const CLASSES = ["0", "3", "5", "7"];
const PER_CLASS = 15;
const CONFIG = { head: { kind: "mlp" }, epochs: 15, validationFraction: 0.2, seed: 0, augment: { views: 0 } };
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const TARGET = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache/magpie/target");

const env = useBrowser();

/** The first PER_CLASS photos of each class, in the order the native folder loader reads them. */
function photos() {
  return CLASSES.flatMap((label) => readdirSync(join(DATASET, label)).sort().slice(0, PER_CLASS)
    .map((file) => ({ label, url: `/__assets__/datasets/sign-language-digits/Dataset/${label}/${file}`, file })));
}

/** `magpie train` on the same photos and settings (`backbone`, then `head`, then any `flags`):
 * validation accuracy and per-epoch losses. */
function nativeTraining(backbone = BACKBONE, head = "mlp", flags = []) {
  const dir = mkdtempSync(join(tmpdir(), "magpie-train-"));
  for (const { label, file } of photos()) {
    mkdirSync(join(dir, label), { recursive: true });
    symlinkSync(join(DATASET, label, file), join(dir, label, file));
  }
  const run = spawnSync(join(TARGET, "release/magpie"), [
    "train", "--data", dir, "--out", join(dir, "model.bpk"), "--backbone", backbone,
    "--weights", servedRecord(backbone), "--head", head, "--epochs", "15",
    "--validation", "0.2", "--seed", "0", "--augment", "0", ...flags,
  ], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const accuracy = Number(/accuracy=([\d.]+)/.exec(run.stdout)[1]);
  const losses = [...run.stderr.matchAll(/^epoch +\d+ +loss ([\d.]+)/gm)].map((m) => Number(m[1]));
  return { accuracy, losses };
}

/** Creates a session in the page and adds every photo (decoded by the browser). */
async function session(page, options) {
  return page.evaluate(async ({ options, photos }) => {
    const session = await window.magpie.FewShotSession.create(options);
    for (const { label, url } of photos) {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0);
      await session.addSample(label, context.getImageData(0, 0, bitmap.width, bitmap.height));
    }
    window.session = session;
    return session.info();
  }, { options, photos: photos() });
}

/** Trains `config` in the page on WebGPU and on CPU with `backbone` (run on `backboneBackend`,
 * else on the head's backend), checking each against `native`: accuracy, loss curve, and the
 * model's save/load round trip. */
async function matchesNative(backbone, config, native, backboneBackend) {
  const { page, errors } = await openApp(env.browser, env.url);
  for (const backend of ["wgpu", "cpu"]) {
    const info = await session(page, { backbone, backend: backboneBackend ?? backend, headBackend: backend });
    assert.deepEqual(info.counts, CLASSES.map(() => PER_CLASS));
    assert.equal(info.placement.backbone, backboneBackend ?? backend);
    assert.equal(info.placement.head, backend);
    const result = await page.evaluate(async (config) => {
      const epochs = [];
      const summary = await window.session.train(config, (report) => epochs.push(report));
      const probe = summary.validation.cells;
      return { summary, epochs, probe };
    }, config);
    const { summary, epochs } = result;
    console.log(`${backend}: validation accuracy ${summary.validation.accuracy} (native ${native.accuracy}), ` +
      `${summary.history.length} epochs in ${summary.elapsedMs.toFixed(0)} ms`);
    assert.equal(epochs.length, summary.history.length, "one progress report per epoch");
    assert.ok(summary.history.every((r) => Number.isFinite(r.loss) && r.valLoss !== undefined));
    assert.equal(summary.validation.count, CLASSES.length * 3);
    // One photo of 12 may flip: the browser's JPEG decoder is not the native one.
    assert.ok(Math.abs(summary.validation.accuracy - native.accuracy) <= 1 / 12 + 1e-6,
      `${backend}: ${summary.validation.accuracy} vs native ${native.accuracy}`);
    assert.ok(summary.validation.accuracy >= 0.5, `${backend}: accuracy ${summary.validation.accuracy}`);
    // Same split, same initial weights, same batches: the loss curve follows the native one.
    assert.equal(summary.history.length, native.losses.length);
    summary.history.forEach((r, i) => assert.ok(Math.abs(r.loss - native.losses[i]) < 0.02,
      `${backend} epoch ${i + 1}: loss ${r.loss} vs native ${native.losses[i]}`));
    // The trained model predicts, exports and re-imports.
    const roundTrip = await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(64, 64).getContext("2d");
      const image = canvas.getImageData(0, 0, 64, 64);
      const before = await window.session.predict(image);
      const bytes = await window.session.save();
      const labels = await window.session.load(bytes);
      const after = await window.session.predict(image);
      return { before, after, labels, size: bytes.length };
    });
    assert.deepEqual(roundTrip.labels, CLASSES);
    assert.deepEqual(roundTrip.after.scores, roundTrip.before.scores);
    assert.ok(Math.abs(roundTrip.before.scores.reduce((s, c) => s + c.probability, 0) - 1) < 1e-4);
  }
  assert.deepEqual(errors, []);
  await page.close();
}

test("a head trained in the browser on WebGPU and on CPU matches native training", async () => {
  await matchesNative(BACKBONE, CONFIG, nativeTraining());
});

test("spatial features (MobileNetV2, linear head) train in the browser on WebGPU and on CPU as natively", async () => {
  const config = { ...CONFIG, head: { kind: "linear" }, features: "spatial" };
  // MobileNetV2 on SwiftShader takes seconds a frame: the rows come from the CPU backbone, the
  // head trains on each backend (tests/browser/backbones.test.mjs checks its WebGPU features).
  await matchesNative("mobilenet_v2", config, nativeTraining("mobilenet_v2", "linear", ["--features", "spatial"]), "cpu");
});

test("fine-tune mode trains the last backbone blocks in the browser on WebGPU and on CPU", async () => {
  const { page, errors } = await openApp(env.browser, env.url);
  for (const backend of ["wgpu", "cpu"]) {
    await session(page, { backbone: BACKBONE, backend, headBackend: backend });
    const summary = await page.evaluate(async (config) => window.session.train(config),
      { ...CONFIG, epochs: 3, finetuneBlocks: 2 });
    console.log(`${backend} fine-tune: ${JSON.stringify(summary.history.map((r) => r.loss.toFixed(3)))}, ` +
      `validation accuracy ${summary.validation.accuracy}, ${summary.elapsedMs.toFixed(0)} ms`);
    assert.equal(summary.history.length, 3);
    assert.ok(summary.history.every((r) => Number.isFinite(r.loss)));
    assert.ok(summary.history[2].loss < summary.history[0].loss, "the loss falls");
  }
  assert.deepEqual(errors, []);
});

test("cancel stops browser training; auto placement: the CPU on a software adapter, else measured", async () => {
  const { page, errors } = await openApp(env.browser, env.url);
  // Both stages automatic on SwiftShader: the CPU, decided from the adapter, nothing measured.
  const decided = await page.evaluate(async () => {
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v1_025" });
    const { placement } = session.info();
    session.free();
    return placement;
  });
  assert.deepEqual([decided.backbone, decided.head, decided.measured], ["cpu", "cpu", []]);
  assert.match(decided.fallbackReason, /software adapter, swiftshader/);
  // The backbone's stage automatic, the head's named: the backbone is loaded on both and measured.
  const info = await session(page, { backbone: BACKBONE, headBackend: "cpu" });
  assert.equal(info.placement.measured.length, 2, JSON.stringify(info.placement));
  const pick = (stage) => info.placement.measured.reduce((a, b) => (a[1][stage] <= b[1][stage] ? a : b))[0];
  assert.equal(info.placement.backbone, pick("backboneMs"));
  assert.equal(info.placement.head, "cpu");
  const summary = await page.evaluate(async (config) => {
    let seen = 0;
    return window.session.train(config, () => { if (++seen === 2) window.session.cancel(); });
  // No early stopping: only the cancel ends it. A wide head (15 ms an epoch here) keeps the
  // epochs that end between the cancel and the trainer's next read of it few on any machine.
  }, { ...CONFIG, head: { kind: "mlp", hidden: 1000 }, epochs: 500, patience: 0 });
  assert.equal(summary.stop, "cancelled");
  // The cancel crosses to the engine's worker as a message, which the trainer reads at its next
  // yield (every 30 ms): a few more epochs may end meanwhile, not hundreds.
  console.log(`cancelled after ${summary.history.length} of 500 epochs, ${(summary.elapsedMs / summary.history.length).toFixed(1)} ms each`);
  assert.ok(summary.history.length >= 2 && summary.history.length < 50, `${summary.history.length} of 500 epochs`);
  const bad = await page.evaluate(async () => {
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu" });
    const messages = [];
    for (const attempt of [
      () => session.train({}),
      () => session.addSample("x", { width: 2, height: 2 }),
      () => session.predict(new ImageData(2, 2)),
      () => session.load(new Uint8Array([1, 2, 3])),
    ]) {
      try { await attempt(); messages.push("no error"); } catch (e) { messages.push(String(e.message ?? e)); }
    }
    return messages;
  });
  assert.match(bad[0], /no classes/);
  assert.match(bad[1], /expected ImageData, an <img>/);
  assert.match(bad[2], /train or load a model first/);
  assert.match(bad[3], /not a magpie model file/);
  assert.deepEqual(errors, []);
});
