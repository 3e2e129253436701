// Archives and folders from elsewhere, imported in the app through "Import project" and "Import
// folder": Teachable Machine's real training-data zip (class folders with macOS debris), a
// Teachable Machine project (`.tm`) and a picked folder of class folders open as new projects
// with their classes and counts (and train); a hostile archive is refused with a message and
// changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, contextWith, openIn, quickSettings, sampleCounts, trainAndWait, useBrowser } from "./harness.mjs";

const env = useBrowser();
const TM_DATA = join(ASSETS, "teachable-machine/image-model-data.zip");
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");

/** Runs Python (the standard library's zipfile: another reader and writer than the engine's). */
function python(code, ...args) {
  const run = spawnSync("python3", ["-c", code, ...args], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** PNGs per top folder of a zip, outside __MACOSX, as Python's zipfile lists them. */
function pngsPerFolder(zip) {
  return JSON.parse(python(`
import collections, json, sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(".png") and not n.startswith("__MACOSX/")]
print(json.dumps(sorted(collections.Counter(n.split("/")[0] for n in names).items())))`, zip));
}

/** Imports `file` (a path) through the page's "Import project" field. */
async function importFile(page, path, name) {
  await page.locator("#project-import").setInputFiles({ name, mimeType: "application/zip", buffer: readFileSync(path) });
}

test("Teachable Machine's training data and a Teachable Machine project import as projects that train", async () => {
  const context = await contextWith(env.browser);
  const { page, errors } = await openIn(context, env.url);
  const expected = pngsPerFolder(TM_DATA);
  assert.deepEqual(expected.map(([name]) => name), ["Class 1", "Class 2"]);
  await importFile(page, TM_DATA, "image-model-data.zip");
  await page.waitForFunction(() => /Opened image-model-data\.zip/.test(document.getElementById("toasts").textContent), null,
    { timeout: 120_000 });
  const toast = await page.textContent("#toasts");
  assert.match(toast, /one folder of images per class\): 2 classes, \d+ samples\. Skipped \d+ hidden or macOS file/);
  assert.equal(await page.inputValue("#project-name"), "image-model-data");
  assert.deepEqual(await page.locator(".class-name").evaluateAll((inputs) => inputs.map((i) => i.value)), expected.map(([n]) => n));
  assert.deepEqual(await sampleCounts(page), expected.map(([, n]) => n));
  await quickSettings(page);
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);

  // A Teachable Machine project: manifest.json and flat "<Class>-!-<n>.jpg" images.
  const dir = mkdtempSync(join(tmpdir(), "magpie-tm-"));
  const tm = join(dir, "Gestures.tm");
  const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n).map((f) => join(DATASET, digit, f));
  python(`
import json, sys, zipfile
out, fist, peace = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("manifest.json", json.dumps({"type": "image", "version": "2.4.4", "appdata": {"trainEpochs": 20, "trainBatchSize": 8, "trainLearningRate": 0.002}}))
    for name, files in (("Fist", fist), ("Peace", peace)):
        for i, f in enumerate(files):
            z.write(f, f"{name}-!-{i}.jpg")`, tm, photos("0", 6).join(","), photos("2", 4).join(","));
  await importFile(page, tm, "Gestures.tm");
  await page.waitForFunction(() => /Opened Gestures\.tm \(a Teachable Machine project\): 2 classes, 10 samples\./
    .test(document.getElementById("toasts").textContent), null, { timeout: 120_000 });
  assert.equal(await page.inputValue("#project-name"), "Gestures");
  assert.deepEqual(await sampleCounts(page), [6, 4]);
  await page.locator("details summary", { hasText: "Advanced settings" }).click();
  assert.deepEqual([await page.inputValue("#setting-epochs"), await page.inputValue("#setting-batchSize"), await page.inputValue("#setting-learningRate")],
    ["20", "8", "0.002"], "its training settings kept");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a picked folder of class folders imports as a project", async () => {
  const context = await contextWith(env.browser);
  const { page, errors } = await openIn(context, env.url);
  const root = join(mkdtempSync(join(tmpdir(), "magpie-folder-")), "Hands");
  for (const [digit, name] of [["6", "six"], ["9", "nine"]]) {
    mkdirSync(join(root, name), { recursive: true });
    for (const f of readdirSync(join(DATASET, digit)).sort().slice(0, 4)) copyFileSync(join(DATASET, digit, f), join(root, name, f));
  }
  writeFileSync(join(root, "notes.txt"), "sign digits");
  await page.locator("#project-import-folder").setInputFiles(root);
  await page.waitForFunction(() => /Opened Hands/.test(document.getElementById("toasts").textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent("#toasts"), /Opened Hands \(one folder of images per class\): 2 classes, 8 samples\. Skipped 1 file\(s\) that are not images\./);
  assert.deepEqual(await page.locator(".class-name").evaluateAll((inputs) => inputs.map((i) => i.value)), ["nine", "six"]);
  assert.deepEqual(await sampleCounts(page), [4, 4]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a hostile archive is refused with a message and nothing is changed", async () => {
  const context = await contextWith(env.browser);
  const { page, errors } = await openIn(context, env.url);
  const before = await page.locator("#project-select option").allTextContents();
  const dir = mkdtempSync(join(tmpdir(), "magpie-bad-"));
  const bad = join(dir, "cats.zip");
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("cats/1.jpg", open(sys.argv[2], "rb").read())
    z.writestr("cats/2.jpg", "<html>not an image</html>")`, bad, join(DATASET, "1", readdirSync(join(DATASET, "1")).sort()[0]));
  await importFile(page, bad, "cats.zip");
  await page.waitForFunction(() => /Import refused/.test(document.getElementById("status").textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent("#status"), /Import refused, nothing was changed: cannot open it as a project: cats\/2\.jpg is not a JPEG image/);
  // A zip bomb: 48 MB of zeros deflated into a few kilobytes.
  const bomb = join(dir, "bomb.zip");
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("cats/1.jpg", bytes(48 << 20))`, bomb);
  assert.ok(readFileSync(bomb).length < 200_000);
  await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  await importFile(page, bomb, "bomb.zip");
  await page.waitForFunction(() => /Import refused/.test(document.getElementById("status").textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent("#status"), /Import refused, nothing was changed: the project file is too large: cats\/1\.jpg is 50331648 bytes/);
  assert.deepEqual(await page.locator("#project-select option").allTextContents(), before);
  assert.deepEqual(errors, []);
  await context.close();
});
