// Teachable Machine, the other way: a model trained in the app on real photos and exported with
// "Export model → Teachable Machine" runs in Teachable Machine's own library
// (@teachablemachine/image 0.8.5 on TF.js 4.22, loaded as TM's snippet loads them, unmodified)
// with the same top class and probabilities as magpie's engine running the same exported head;
// Teachable Machine's own shipped export passes the same checks in the same harness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, ROOT, contextWith, downloadOf, openIn, quickSettings, trainAndWait, useBrowser } from "./harness.mjs";

const env = useBrowser();
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const LIBRARY = join(ROOT, "tests/teachable-machine/node_modules");
const DIGITS = ["1", "4", "7"];

const photos = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n);

/** The files of a zip (Python's zipfile: another reader than the engine's), in a new folder. */
function unzip(bytes) {
  const dir = mkdtempSync(join(tmpdir(), "magpie-tm-model-"));
  writeFileSync(join(dir, "model.zip"), bytes);
  const run = spawnSync("python3", ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print('\\n'.join(sorted(z.namelist())))",
    join(dir, "model.zip"), join(dir, "files")], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return { dir: join(dir, "files"), names: run.stdout.trim().split("\n") };
}

/** Serves, on the app's origin under /__tm__/, Teachable Machine's library as its snippet loads
 * it, a plain page, and the files of each model (`models`: name → folder). */
async function serveTeachableMachine(context, models) {
  const files = {
    "tf.min.js": join(LIBRARY, "@tensorflow/tfjs/dist/tf.min.js"),
    "teachablemachine-image.min.js": join(LIBRARY, "@teachablemachine/image/dist/teachablemachine-image.min.js"),
  };
  await context.route(/\/__tm__\//, (route) => {
    const path = new URL(route.request().url()).pathname.replace(/^\/__tm__\//, "");
    if (path === "page.html") {
      return route.fulfill({ contentType: "text/html", body: `<!doctype html><meta charset="utf-8"><title>TM</title>
        <script src="tf.min.js"></script><script src="teachablemachine-image.min.js"></script>` });
    }
    const [model, name] = path.split("/");
    const file = files[path] ?? (models[model] && join(models[model], name));
    if (!file) return route.fulfill({ status: 404, body: "not found" });
    const type = file.endsWith(".js") ? "text/javascript" : file.endsWith(".json") ? "application/json" : "application/octet-stream";
    return route.fulfill({ contentType: type, body: readFileSync(file) });
  });
}

test("a model exported for Teachable Machine runs in TM's own library as in magpie's engine; TM's own export passes the same checks", async (t) => {
  const context = await contextWith(env.browser);
  const { page, errors } = await openIn(context, env.url, "?backbone=mobilenet_v2");
  await page.click("#class-add");
  const cards = page.locator(".class-card");
  for (const [i, digit] of DIGITS.entries()) {
    await cards.nth(i).locator(".class-name").fill(`digit ${digit}`);
    await cards.nth(i).locator(".class-name").press("Enter");
    await cards.nth(i).locator("input[type=file]").setInputFiles(photos(digit, 0, 12)
      .map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, f)) })));
  }
  await quickSettings(page, 30);
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);
  // The button: a zip named after the project, and the export head's accuracy said.
  const zip = await downloadOf(page, "#model-export-tm");
  assert.match(await page.textContent("#status"), /Exported .*\.tm-model\.zip .*load it with Teachable Machine's library or ml5/);
  const ours = unzip(zip);
  assert.deepEqual(ours.names, ["metadata.json", "model.json", "weights.bin"], "the files Teachable Machine writes");
  // The same head as a magpie model record, for the engine's side of the comparison.
  const model = await page.evaluate(async () => [...(await window.magpie.app.project.session.exportTeachableMachine({ name: "digits" })).model]);
  const theirs = unzip(readFileSync(join(ASSETS, "teachable-machine/image-model.zip")));
  const held = DIGITS.flatMap((digit) => photos(digit, 30, 7).map((f) => ({ digit, url: `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}` }))).slice(0, 20);
  assert.equal(held.length, 20);

  await serveTeachableMachine(context, { ours: ours.dir, theirs: theirs.dir });
  const tm = await context.newPage();
  tm.on("pageerror", (e) => errors.push(`TM page: ${e.message}`));
  await tm.goto(`${env.url}__tm__/page.html`);
  const result = await tm.evaluate(async ({ held, model }) => {
    /** A photo drawn on a 224 px canvas: the same pixels for both (TM's crop of it is itself). */
    const square = async (url) => {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = Object.assign(document.createElement("canvas"), { width: 224, height: 224 });
      canvas.getContext("2d").drawImage(bitmap, 0, 0, 224, 224);
      return canvas;
    };
    const out = {};
    for (const name of ["ours", "theirs"]) {
      const loaded = await tmImage.load(`${name}/model.json`, `${name}/metadata.json`);
      const metadata = await (await fetch(`${name}/metadata.json`)).json();
      out[name] = {
        labels: loaded.getClassLabels(), keys: Object.keys(metadata).sort(),
        inputShape: loaded.model.inputs[0].shape, outputShape: loaded.model.outputs[0].shape,
        predictions: [],
      };
      for (const { url } of held) {
        const scores = await loaded.predict(await square(url));
        out[name].predictions.push(scores.map((s) => s.probability));
      }
    }
    const { api } = await import("/www/widgets.js");
    const session = await api.FewShotSession.create({ model: new Uint8Array(model) });
    out.magpie = { labels: session.info().modelLabels, predictions: [] };
    for (const { url } of held) {
      const { scores } = await session.predict(await square(url));
      const byLabel = Object.fromEntries(scores.map((s) => [s.label, s.probability]));
      out.magpie.predictions.push(out.magpie.labels.map((l) => byLabel[l]));
    }
    return out;
  }, { held, model });

  // Both files pass the same checks: what TM's library reads, the input it feeds.
  for (const name of ["ours", "theirs"]) {
    const { keys, inputShape, outputShape, labels } = result[name];
    for (const key of ["labels", "modelName", "timeStamp", "tfjsVersion", "tmVersion"]) assert.ok(keys.includes(key), `${name}: ${key}`);
    assert.deepEqual(inputShape, [null, 224, 224, 3], name);
    assert.deepEqual(outputShape, [null, labels.length], name);
    for (const p of result[name].predictions) assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-3, `${name}: probabilities`);
  }
  assert.deepEqual(result.theirs.labels, ["Class 1", "Class 2"]);
  assert.deepEqual(result.ours.labels, DIGITS.map((d) => `digit ${d}`));
  assert.deepEqual(result.magpie.labels, result.ours.labels);
  // Teachable Machine's library and magpie's engine on the same exported head.
  const top = (p) => p.indexOf(Math.max(...p));
  let same = 0;
  let largest = 0;
  let right = 0;
  for (const [i, { digit }] of held.entries()) {
    const [tmP, ourP] = [result.ours.predictions[i], result.magpie.predictions[i]];
    if (top(tmP) === top(ourP)) same += 1;
    if (result.ours.labels[top(tmP)] === `digit ${digit}`) right += 1;
    largest = Math.max(largest, ...tmP.map((p, c) => Math.abs(p - ourP[c])));
  }
  t.diagnostic(`same top class on ${same}/20; largest probability difference ${largest.toExponential(1)}; TM's library right on ${right}/20`);
  assert.ok(same >= 19, `same top class on ${same}/20`);
  assert.ok(largest < 0.02, `largest probability difference ${largest}`);
  assert.ok(right >= 16, `the exported model names ${right}/20 held-out photos right`);
  assert.deepEqual(errors, []);
  await context.close();
});
