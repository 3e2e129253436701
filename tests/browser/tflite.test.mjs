// The TF-Lite export in the browser: the app's "Export model → TF Lite" and "… int8" zips, after
// training on the default path (MobileNetV2, default settings), hold `model.tflite` and
// `labels.txt`; LiteRT's stock interpreter (PyPI `ai-edge-litert`, tests/tflite/run.py, its
// preprocessing written from the file's own metadata) runs each file on held-out photos, decoded
// by the page, against the app's own predictions on the same pixels: f32 gives the same top class
// on every photo with probabilities within 1e-3; int8 the same top class, and probabilities within
// 0.05, on all but at most one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, contextWith, digitFiles, downloadOf, launch, serveFolders, trainAndWait, untilReady } from "./harness.mjs";

const PYTHON = process.env.MAGPIE_ONNX_PYTHON ?? join(homedir(), ".cache/magpie/onnx-venv/bin/python");
const DIGITS = ["1", "4", "7"];
const env = {};
before(async () => {
  Object.assign(env, await serveFolders({ "/": DIST, "/__assets__/": ASSETS }));
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.server?.close();
});

/** Runs `python` with `args`; its stdout. */
function python(args) {
  const run = spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, `${PYTHON} ${args[0]}: ${run.stderr}`);
  return run.stdout;
}

/** The names and bytes of a zip's entries, read by Python's zipfile. */
function unzip(zip, dir) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "export.zip");
  writeFileSync(path, zip);
  const names = python(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print('\\n'.join(sorted(z.namelist())))", path, dir]);
  return names.trim().split("\n");
}

test("the app's TF Lite exports run in LiteRT with the app's predictions (MobileNetV2, default settings; f32 and int8)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "magpie-tflite-"));
  const context = await contextWith(env.browser);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(`${env.url}?backbone=mobilenet_v2`);
  await untilReady(page);
  // Nothing trained: the buttons are off and the API says why.
  assert.equal(await page.isDisabled("#model-export-tflite"), true);
  assert.equal(await page.isDisabled("#model-export-tflite-int8"), true);
  const refused = await page.evaluate(() => window.magpie.app.project.session.exportTflite({ precision: "int8" }).then(() => "exported", (e) => `${e.name}: ${e.message}`));
  assert.match(refused, /^InvalidInput: .*no trained model to export/);

  await page.click("#class-add");
  const cards = page.locator(".class-card");
  for (const [i, digit] of DIGITS.entries()) {
    await cards.nth(i).locator(".class-name").fill(`digit ${digit}`);
    await cards.nth(i).locator(".class-name").press("Enter");
    await cards.nth(i).locator("input[type=file]").setInputFiles(digitFiles(digit, 12));
  }
  // With twelve samples a class the trained head goes live (the instant model's vote, which
  // int8 refuses, is checked natively: tests/tflite_export.rs).
  const trained = await trainAndWait(page);
  assert.doesNotMatch(trained, /instant model stays/, trained);

  // Held-out photos as the page decodes them (RGB, full size), and the app's probabilities on
  // those same pixels, in the model's label order.
  const tests = DIGITS.flatMap((d) => digitFiles(d, 4, 40).map((p) => `/__assets__/datasets/sign-language-digits/Dataset/${d}/${p.name}`));
  const app = await page.evaluate(async (tests) => {
    const session = window.magpie.app.project.session;
    const labels = session.info().modelLabels;
    const images = [];
    for (const url of tests) {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      const image = canvas.getContext("2d").getImageData(0, 0, bitmap.width, bitmap.height);
      const ours = await session.predict(image);
      const byLabel = Object.fromEntries(ours.scores.map((s) => [s.label, s.probability]));
      const rgb = [];
      for (let i = 0; i < image.data.length; i += 4) rgb.push(image.data[i], image.data[i + 1], image.data[i + 2]);
      images.push({ width: image.width, height: image.height, rgb, probabilities: labels.map((l) => byLabel[l]) });
    }
    return { labels, images };
  }, tests);
  const frames = [];
  for (const { width, height, rgb } of app.images) {
    const header = Buffer.alloc(8);
    header.writeUInt32LE(width, 0);
    header.writeUInt32LE(height, 4);
    frames.push(header, Buffer.from(rgb));
  }
  writeFileSync(join(dir, "photos.rgb"), Buffer.concat(frames));

  for (const [precision, button] of [["f32", "#model-export-tflite"], ["int8", "#model-export-tflite-int8"]]) {
    const zip = await downloadOf(page, button);
    assert.match(await page.textContent("#status"), /Exported .*tflite\.zip .*model\.tflite and labels\.txt/);
    const out = join(dir, precision);
    assert.deepEqual(unzip(zip, out), ["labels.txt", "model.tflite"]);
    assert.equal(readFileSync(join(out, "labels.txt"), "utf8"), app.labels.map((l, i) => `${i} ${l}\n`).join(""));
    const run = JSON.parse(python([join(ROOT, "tests/tflite/run.py"), join(out, "model.tflite"), join(dir, "photos.rgb")]));
    assert.deepEqual(run.labels, app.labels);
    assert.equal(run.input, precision === "int8" ? "uint8" : "float32");
    assert.ok(!run.operators.some((op) => op === "CUSTOM" || op.startsWith("FLEX")), run.operators.join());
    let same = 0;
    let close = 0;
    for (const [i, theirs] of run.probabilities.entries()) {
      const ours = app.images[i].probabilities;
      const difference = Math.max(...ours.map((p, c) => Math.abs(p - theirs[c])));
      const best = (p) => p.indexOf(Math.max(...p));
      same += best(ours) === best(theirs) ? 1 : 0;
      close += difference <= 0.05 ? 1 : 0;
      t.diagnostic(`${precision} ${tests[i]}: ${app.labels[best(ours)]} ${Math.max(...ours).toFixed(3)}, LiteRT ${app.labels[best(theirs)]} ${Math.max(...theirs).toFixed(3)}, largest difference ${difference.toExponential(1)}`);
      if (precision === "f32") assert.ok(difference < 1e-3, `${tests[i]}: LiteRT ${theirs}, magpie ${ours}`);
    }
    const allowed = precision === "f32" ? 0 : 1;
    assert.ok(same >= tests.length - allowed, `${precision}: the app's top class on ${same} of ${tests.length} photos`);
    assert.ok(close >= tests.length - allowed, `${precision}: within 0.05 of the app on ${close} of ${tests.length} photos`);
  }
  assert.deepEqual(errors, []);
  await context.close();
  rmSync(dir, { recursive: true, force: true });
});
