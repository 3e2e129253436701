// The widgets and the JS API from the packaged folder (scripts/package.sh), served from another
// origin than the page using them: <magpie-classifier> runs a model trained in the app and names
// held-out photos right, firing `ready` and `prediction`; <magpie-trainer> goes capture → train →
// `model` and saves and reopens its project; every method of the JS API runs, and bad arguments
// reject with a message while the page keeps working. A TypeScript consumer type-checks against
// the package's `.d.ts` files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, ROOT, fakeCamera, holdTrainerRecord, serveFolders, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = { zero: "0", three: "3", five: "5" };
const env = useBrowser();
const hosts = {};

const photos = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n);

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "magpie-package-"));
  const built = spawnSync("bash", ["scripts/package.sh", join(dir, "package")], { cwd: ROOT, encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  assert.ok(readdirSync(dir).some((f) => /^magpie-classifier-.*\.tgz$/.test(f)), "npm tarball made");
  const pkg = JSON.parse(readFileSync(join(dir, "package/package.json"), "utf8"));
  assert.equal(pkg.exports["."].default, "./www/widgets.js");
  hosts.package = await serveFolders({ "/": join(dir, "package") }, { cors: true });
  hosts.packageDir = join(dir, "package");
});
after(() => { hosts.package?.server.close(); hosts.page?.server.close(); });

/** A model trained in the app (photos uploaded into three classes), as its exported bytes. */
async function modelFromApp() {
  const context = await env.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
  await page.click("#class-add");
  for (const [i, [name, digit]] of Object.entries(DIGITS).entries()) {
    const card = page.locator(".class-card").nth(i);
    await card.locator(".class-name").fill(name);
    await card.locator(".class-name").press("Enter");
    await card.locator("input[type=file]").setInputFiles(photos(digit, 0, 15)
      .map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, f)) })));
  }
  await page.waitForFunction(() => document.getElementById("train-hint").textContent === "Ready to train.", null, { timeout: 120_000 });
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped)/.test(document.getElementById("status").textContent), null, { timeout: 300_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#model-export")]);
  const bytes = readFileSync(await download.path());
  await context.close();
  return bytes;
}

/** A host page on its own origin that loads the package from the package origin. */
async function hostPage(body, model) {
  hosts.page?.server.close();
  const html = `<!doctype html><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,"><p id="ordinary">Ordinary page content.</p>${body}` +
    `<script type="module" src="${hosts.package.url}www/widgets.js"></script>`;
  hosts.page = await serveFolders({
    "/": { type: "text/html", body: html },
    "/model.bpk": { type: "application/octet-stream", body: model ?? Buffer.alloc(0) },
    "/photos/": DATASET,
    "/images/": join(ASSETS, "images"),
  });
  const context = await env.browser.newContext({ acceptDownloads: true });
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(hosts.page.url);
  return { context, page, errors };
}

test("a TypeScript consumer type-checks against the package's .d.ts (tsc --noEmit)", () => {
  const config = join(hosts.packageDir, "..", "tsconfig.json");
  writeFileSync(config, JSON.stringify({
    extends: join(ROOT, "tests/typescript/tsconfig.json"),
    compilerOptions: { paths: { "magpie-classifier": [join(hosts.packageDir, "www/widgets.d.ts")] } },
    files: [join(ROOT, "tests/typescript/consumer.ts")],
  }));
  const tsc = spawnSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", config], { cwd: ROOT, encoding: "utf8" });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  // And a misuse is caught: the check can fail.
  writeFileSync(join(hosts.packageDir, "..", "misuse.ts"),
    `import { api } from "magpie-classifier";\nexport const n: number = api.FewShotSession.create({});\n`);
  writeFileSync(config, JSON.stringify({
    extends: join(ROOT, "tests/typescript/tsconfig.json"),
    compilerOptions: { paths: { "magpie-classifier": [join(hosts.packageDir, "www/widgets.d.ts")] } },
    files: [join(hosts.packageDir, "..", "misuse.ts")],
  }));
  const misuse = spawnSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", config], { cwd: ROOT, encoding: "utf8" });
  assert.notEqual(misuse.status, 0);
  assert.match(misuse.stdout, /Promise<FewShotSession>/);
});

test("<magpie-classifier> from another origin runs a model trained in the app on held-out photos", async () => {
  const model = await modelFromApp();
  const first = `/photos/0/${photos("0", 20, 1)[0]}`;
  const { context, page, errors } = await hostPage(
    `<img id="photo" src="${first}" alt=""><magpie-classifier id="widget" model="/model.bpk" source="photo" backend="cpu"></magpie-classifier>` +
    `<script>window.events = []; document.addEventListener("ready", (e) => window.events.push(["ready", e.detail]));
     document.addEventListener("prediction", (e) => window.events.push(["prediction", e.detail]));</script>`, model);
  await page.waitForFunction(() => window.events?.some(([t]) => t === "prediction"), null, { timeout: 120_000 });
  const ready = await page.evaluate(() => window.events.find(([t]) => t === "ready")[1]);
  assert.deepEqual(ready.labels, Object.keys(DIGITS));
  const results = [];
  for (const [name, digit] of Object.entries(DIGITS)) {
    for (const file of photos(digit, 20, 3)) {
      const label = await page.evaluate(async (src) => {
        const img = document.getElementById("photo");
        img.src = src;
        await img.decode();
        const seen = window.events.length;
        const { label } = await document.getElementById("widget").predict(img);
        // The widget keeps predicting from the element on its own, firing events.
        await new Promise((r) => { const poll = () => (window.events.length > seen + 2 ? r() : setTimeout(poll, 20)); poll(); });
        return label;
      }, `/photos/${digit}/${file}`);
      results.push([name, label]);
    }
  }
  const right = results.filter(([want, got]) => want === got).length;
  assert.ok(right >= 8, `held-out photos named right: ${right}/9 ${JSON.stringify(results)}`);
  // Photos of none of the classes: "not sure" exactly when the top class stays under the
  // threshold saved in the model (calibrated in the app when it trained).
  assert.ok(ready.threshold > 0.5 && ready.threshold <= 0.9, `threshold ${ready.threshold}`);
  const others = await page.evaluate(async (names) => {
    const img = document.getElementById("photo");
    const widget = document.getElementById("widget");
    const out = [];
    for (const name of names) {
      img.src = `/images/${name}`;
      await img.decode();
      const { label, probability, unsure, scores } = await widget.predict(img);
      out.push({ name, label, probability, unsure, top: scores[0].label });
    }
    return out;
  }, readdirSync(join(ASSETS, "images")).filter((f) => /\.(png|jpg|bmp)$/.test(f)));
  for (const o of others) {
    assert.equal(o.unsure, o.probability < ready.threshold, JSON.stringify(o));
    assert.equal(o.label, o.unsure ? "unknown" : o.top, JSON.stringify(o));
  }
  const unsure = others.find((o) => o.unsure);
  assert.ok(unsure, `some photo of none of the classes is "not sure": ${JSON.stringify(others)}`);
  // The widget says so (its own loop goes on predicting the element).
  await page.evaluate(async (name) => {
    const img = document.getElementById("photo");
    img.src = `/images/${name}`;
    await img.decode();
  }, unsure.name);
  await page.waitForFunction(() => /^Not sure \(closest: (zero|three|five), \d+ %\)$/.test(
    document.getElementById("widget").shadowRoot.querySelector("[part=verdict]").textContent), null, { timeout: 30_000 });
  assert.equal(await page.textContent("#ordinary"), "Ordinary page content.");
  // A second visit revalidates the weights (HTTP 304 from the host) instead of downloading them.
  await page.reload();
  await page.waitForFunction(() => window.events?.some(([t]) => t === "prediction"), null, { timeout: 120_000 });
  const weights = await page.evaluate(() => performance.getEntriesByType("resource")
    .filter((e) => /\/www\/weights\/.*\.bpk$/.test(e.name)).map((e) => ({ transfer: e.transferSize, body: e.encodedBodySize })));
  assert.equal(weights.length, 1, JSON.stringify(weights));
  assert.ok(weights[0].transfer < 2000 && weights[0].body > 100_000, `weights came from the cache: ${JSON.stringify(weights)}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("<magpie-trainer> goes capture → train → model event", async () => {
  const { context, page, errors } = await hostPage(
    `<magpie-trainer id="trainer" backbone="mobilenet_v1_025" backend="cpu" classes="zero,five" rate="10"></magpie-trainer>` +
    `<script>document.addEventListener("model", (e) => { window.model = e.detail; });</script>`);
  await page.waitForFunction(() => /Hold a class/.test(document.getElementById("trainer").shadowRoot.querySelector(".status").textContent),
    null, { timeout: 120_000 });
  for (const [i, digit] of ["0", "5"].entries()) {
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit, 0, 8).map((f) => `/photos/${digit}/${f}`));
    await holdTrainerRecord(page, i, 6);
  }
  await page.locator("magpie-trainer button.train").click();
  await page.waitForFunction(() => window.model !== undefined, null, { timeout: 300_000 });
  const model = await page.evaluate(() => ({ labels: window.model.labels, size: window.model.bytes.length }));
  assert.deepEqual(model.labels, ["zero", "five"]);
  assert.ok(model.size > 1000);
  // "Export model → ONNX" downloads the model with its backbone, the bytes `exportOnnx()` gives
  // (onnxruntime runs such files: onnx.test.mjs and tests/onnx_export.rs).
  const exportButton = page.getByRole("button", { name: "Export model → ONNX" });
  assert.equal(await exportButton.isDisabled(), false);
  const [download] = await Promise.all([page.waitForEvent("download"), exportButton.click()]);
  assert.equal(download.suggestedFilename(), "magpie-mobilenet_v1_025.onnx");
  const onnx = readFileSync(await download.path());
  const exported = await page.evaluate(async () => [...(await document.getElementById("trainer").exportOnnx())]);
  assert.ok(onnx.length > 500_000 && Buffer.compare(onnx, Buffer.from(exported)) === 0, `${onnx.length} bytes`);
  // `exportTflite()` gives a TF Lite file (LiteRT runs them: tflite.test.mjs, tests/tflite_export.rs),
  // full-integer int8 about a quarter the size of f32.
  const tflite = await page.evaluate(async () => {
    const trainer = document.getElementById("trainer");
    const [f32, int8] = [await trainer.exportTflite(), await trainer.exportTflite({ precision: "int8" })];
    const tag = (bytes) => String.fromCharCode(...bytes.slice(4, 8));
    return { tags: [tag(f32), tag(int8)], ratio: int8.length / f32.length };
  });
  assert.deepEqual(tflite.tags, ["TFL3", "TFL3"]);
  assert.ok(tflite.ratio > 0.2 && tflite.ratio < 0.45, `int8 / f32 ${tflite.ratio}`);
  // Correcting from the preview: "Add this frame" puts the frame shown into the class picked (an
  // event says so) and the model trains again.
  const counts = () => page.evaluate(() => [...document.getElementById("trainer").shadowRoot.querySelectorAll(".count")]
    .map((c) => Number.parseInt(c.textContent, 10)));
  const before = await counts();
  await page.evaluate(() => {
    window.corrected = [];
    window.predictions = [];
    document.addEventListener("correct", (e) => window.corrected.push(e.detail.label));
    document.addEventListener("prediction", (e) => window.predictions.push(e.detail));
    window.model = undefined;
  });
  await page.waitForFunction(() => window.predictions.length > 0, null, { timeout: 60_000 });
  assert.equal(typeof (await page.evaluate(() => window.predictions[0].unsure)), "boolean");
  await page.locator("magpie-trainer .correct select").selectOption("zero");
  await page.locator("magpie-trainer button.add-frame").click();
  await page.waitForFunction(() => window.model !== undefined, null, { timeout: 300_000 });
  assert.deepEqual(await page.evaluate(() => window.corrected), ["zero"]);
  assert.deepEqual(await counts(), [before[0] + 1, before[1]]);
  // The whole project saves, and opens again with its classes, examples and model.
  const reopened = await page.evaluate(async () => {
    const trainer = document.getElementById("trainer");
    const file = await trainer.saveProject({ name: "hands" });
    const counts = [...trainer.shadowRoot.querySelectorAll(".count")].map((c) => c.textContent);
    trainer.addClass("spare");
    const loaded = await trainer.loadProject(file);
    return { loaded, counts, after: [...trainer.shadowRoot.querySelectorAll(".count")].map((c) => c.textContent) };
  });
  assert.equal(reopened.loaded.name, "hands");
  assert.deepEqual(reopened.loaded.labels, ["zero", "five"]);
  assert.equal(reopened.loaded.trained, true);
  assert.deepEqual(reopened.after, reopened.counts, "the rows show the reopened project");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the JS API from the package: every method, and bad arguments reject with a message", async () => {
  const { context, page, errors } = await hostPage(`<img id="photo" src="/photos/0/${photos("0", 0, 1)[0]}" alt="">`);
  const outcome = await page.evaluate(async ({ base, zero, five }) => {
    const { api: magpie } = await import(`${base}www/widgets.js`);
    const load = async (src) => { const img = new Image(); img.src = src; await img.decode(); return img; };
    const rejects = async (fn) => { try { await fn(); return "resolved"; } catch (e) { return e.message ?? String(e); } };
    const out = { bad: {} };
    out.bad.backbone = await rejects(() => magpie.FewShotSession.create({ backbone: "resnet9000" }));
    const session = await magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu", headBackend: "cpu",
      weightsBase: `${base}www/weights/` });
    out.bad.predictUntrained = await rejects(() => session.predict(document.getElementById("photo")));
    out.bad.source = await rejects(() => session.addSample("zero", 42));
    out.bad.emptyImage = await rejects(() => session.addSample("zero", new Image()));
    out.bad.noClasses = await rejects(() => session.train({}));
    // Every kind of source.
    const images = await Promise.all(zero.map(load));
    for (const [i, img] of images.entries()) {
      const canvas = Object.assign(document.createElement("canvas"), { width: img.naturalWidth, height: img.naturalHeight });
      canvas.getContext("2d").drawImage(img, 0, 0);
      const source = [img, canvas, await createImageBitmap(img), canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height)][i % 4];
      await session.addSample("zero", source);
    }
    for (const src of five) await session.addSample("five", await load(src));
    await session.addClass("spare");
    await session.renameClass(2, "extra");
    const id = await session.addSample("extra", images[0], { id: "x1" });
    out.embedding = (await session.sampleEmbedding(id)).rows.length > 0;
    await session.relabelSample(id, "zero");
    await session.moveClass(2, 0);
    await session.clearClass(0);
    await session.removeClass(0);
    out.removed = await session.removeSample(id);
    out.bad.rename = await rejects(() => session.renameClass(0, "five"));
    out.info = session.info();
    let epochs = 0;
    // No early stopping (patience 0): only the cancel ends it.
    const cancelled = await session.train({ epochs: 500, patience: 0 }, () => { if (++epochs === 2) session.cancel(); });
    out.cancelled = cancelled.stop;
    const summary = await session.train({ epochs: 20, augment: { views: 1 } }, () => {});
    out.trained = summary.history.length;
    out.prediction = (await session.predict(images[1])).scores[0].label;
    out.evaluation = (await session.evaluate()).count;
    const bytes = await session.save();
    out.loaded = await session.load(bytes);
    out.bad.model = await rejects(() => session.load(new Uint8Array([1, 2, 3])));
    out.bad.modelUrl = await rejects(() => session.load("/missing.bpk"));
    out.stillPredicts = (await session.predict(images[1])).scores.length;
    // The whole project: saved losslessly, reopened in a new session, it predicts and evaluates
    // exactly as the original.
    const file = await session.saveProject({ name: "digits", settings: { epochs: 20 }, imageType: "image/png" });
    out.projectClasses = (await magpie.readProject(file)).manifest.classes.map((c) => c.samples.length);
    const reopened = await magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu", headBackend: "cpu",
      weightsBase: `${base}www/weights/` });
    out.reopened = await reopened.loadProject(file);
    const [before, after] = [await session.predict(images[1]), await reopened.predict(images[1])];
    out.samePrediction = Math.abs(before.scores[0].probability - after.scores[0].probability) < 1e-4 && before.scores[0].label === after.scores[0].label;
    out.sameEvaluation = JSON.stringify((await session.evaluate()).confusion) === JSON.stringify((await reopened.evaluate()).confusion);
    out.bad.projectFile = await rejects(() => reopened.loadProject(new Uint8Array([80, 75, 3, 4, 0])));
    out.bad.projectType = await rejects(() => session.saveProject({ imageType: "image/gif" }));
    out.afterBad = reopened.info().counts;
    const jpeg = await session.saveProject({});
    out.jpegSmaller = jpeg.length < file.length;
    reopened.dispose();
    const project = await magpie.writeProject({ format: "magpie-project", version: 1, name: "p", backbone: "mobilenet_v1_025",
      classes: [{ name: "zero", samples: [] }], settings: {}, model: null }, new Map());
    out.project = (await magpie.readProject(project)).manifest.name;
    out.bad.project = await rejects(() => magpie.readProject(new Uint8Array([80, 75, 3, 4])));
    session.dispose();
    return out;
  }, { base: hosts.package.url, zero: photos("0", 0, 8).map((f) => `/photos/0/${f}`), five: photos("5", 0, 8).map((f) => `/photos/5/${f}`) });
  assert.match(outcome.bad.backbone, /unknown backbone/);
  assert.match(outcome.bad.predictUntrained, /train or load a model first/);
  assert.match(outcome.bad.source, /expected ImageData/);
  assert.match(outcome.bad.emptyImage, /no pixels yet/);
  assert.match(outcome.bad.noClasses, /no classes/);
  assert.match(outcome.bad.rename, /already a class named/);
  assert.match(outcome.bad.model, /not a magpie model file/);
  assert.match(outcome.bad.modelUrl, /404/);
  assert.match(outcome.bad.project, /not a readable project file/);
  assert.equal(outcome.embedding, true);
  assert.equal(outcome.removed, true, "the relabelled example stayed when its old class went");
  assert.deepEqual(outcome.info.labels, ["zero", "five"]);
  assert.deepEqual(outcome.info.counts, [8, 8]);
  assert.equal(outcome.cancelled, "cancelled");
  assert.ok(outcome.trained > 0);
  assert.equal(outcome.prediction, "zero");
  assert.equal(outcome.evaluation, 16);
  assert.deepEqual(outcome.loaded, ["zero", "five"]);
  assert.equal(outcome.stillPredicts, 2);
  assert.equal(outcome.project, "p");
  assert.deepEqual(outcome.projectClasses, [8, 8]);
  assert.deepEqual(outcome.reopened, { name: "digits", labels: ["zero", "five"], counts: [8, 8], trained: true, settings: { epochs: 20 } });
  assert.equal(outcome.samePrediction, true);
  assert.equal(outcome.sameEvaluation, true);
  assert.match(outcome.bad.projectFile, /not a readable project file/);
  assert.match(outcome.bad.projectType, /imageType must be/);
  assert.deepEqual(outcome.afterBad, [8, 8], "a bad file changes nothing");
  assert.equal(outcome.jpegSmaller, true);
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
  await context.close();
});
