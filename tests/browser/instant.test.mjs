// Instant, then better: pressing Train puts a KNN model on the samples' frames live at once, and
// the trained head replaces it when it is done (the default path, MobileNetV2, real photos).
// In the app, cancel, more samples or a class edit during the background training lose
// nothing, and the training ends in a model of the current classes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, openApp, sampleCounts, untilReady, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = ["0", "3", "5", "7"];
const env = useBrowser();

/** Files of `digit` from `from` on, `n` of them, in name order. */
const files = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n);
const url = (digit, file) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${file}`;

test("the instant model names held-out photos right before the head finishes; the head then replaces it", async () => {
  const { page, errors } = await openApp(env.browser, env.url);
  const sets = DIGITS.map((digit) => ({
    label: digit,
    train: files(digit, 0, 10).map((f) => url(digit, f)),
    test: files(digit, 100, 3).map((f) => url(digit, f)),
  }));
  const outcome = await page.evaluate(async (sets) => {
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v2" });
    const image = async (u) => createImageBitmap(await (await fetch(u)).blob());
    for (const set of sets) for (const u of set.train) await session.addSample(set.label, await image(u));
    // The test photos are fetched first, and all asked at once: the predictions are queued
    // in the engine at once, served at its first turn while it embeds views and trains.
    const tests = [];
    for (const set of sets) for (const u of set.test) tests.push([set.label, await (await fetch(u)).blob()]);
    const guess = () => Promise.all(tests.map(async ([label, blob]) =>
      [label, (await session.predict(await createImageBitmap(blob))).scores[0].label]));
    const models = [];
    let trained = false;
    let instant = null;
    const summary = await session.train({}, () => {}, (model) => {
      models.push(model);
      // Predicted while the head trains: the summary is not there yet.
      instant = guess().then((guesses) => ({ guesses, beforeTheHead: !trained }));
    });
    trained = true;
    return { models, instant: await instant, summary, final: await guess(), info: session.info() };
  }, sets);
  assert.equal(outcome.models.length, 1, "one model went live before the head");
  const [model] = outcome.models;
  assert.equal(model.head, "knn");
  assert.equal(model.instant, true);
  assert.deepEqual(model.labels, DIGITS);
  assert.ok(outcome.instant.beforeTheHead, "the instant model predicted before the head was done");
  const right = (guesses) => guesses.filter(([truth, guess]) => truth === guess).length;
  assert.ok(right(outcome.instant.guesses) >= 10, `instant model: ${JSON.stringify(outcome.instant.guesses)}`);
  // The head trained on the views computed meanwhile, and is live unless it did worse.
  const { summary } = outcome;
  assert.equal(summary.views, 1, "the default settings' one view");
  assert.ok(summary.history.length > 0);
  assert.equal(summary.instant.validation.count, summary.validation.count);
  assert.equal(summary.live, summary.validation.accuracy >= summary.instant.validation.accuracy ? "head" : "instant");
  assert.ok(right(outcome.final) >= 10, `final model: ${JSON.stringify(outcome.final)}`);
  assert.equal(outcome.info.cachedViews, 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test("in the app: a class edit and new samples during background training end in a model of the current classes; cancel keeps everything", async () => {
  const { page, errors } = await openApp(env.browser, env.url, "?backbone=mobilenet_v2");
  await untilReady(page);
  const upload = (card, digit, from, n) => page.locator(".class-card").nth(card).locator("input[type=file]")
    .setInputFiles(files(digit, from, n).map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, f)) })));
  const settled = () => page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 120_000 });
  await page.click("#class-add");
  for (const [card, digit] of ["0", "3", "5"].entries()) await upload(card, digit, 0, 8);
  await settled();
  await page.click("#train");
  await page.waitForFunction(() => /Instant model live/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  // The instant model answers in the page while the head trains (Cancel is still offered); how
  // right it is, the test above checks.
  const file = files("5", 100, 1)[0];
  const shown = page.waitForFunction((f) => document.getElementById("stats").dataset.source === f, file);
  await page.setInputFiles("#preview-file", { name: file, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, "5", file)) });
  await shown;
  assert.ok(await page.isVisible("#train-cancel"), "the head is still training");
  assert.match(await page.textContent("#prediction"), /^Class [123] \(\d+ %\)$/);
  // Edits meanwhile: a rename and two more samples.
  const name = page.locator(".class-card").nth(2).locator(".class-name");
  await name.fill("five");
  await name.press("Enter");
  await upload(0, "0", 8, 2);
  assert.ok(await page.isVisible("#train-cancel"), "the edits came while the head trained");
  await page.waitForFunction(() => document.getElementById("train-cancel").hidden, null, { timeout: 300_000 });
  const said = await page.textContent("#status");
  assert.match(said, /Training (done|stopped early)/);
  // The status says which model is live: the trained head, or the instant model it did worse than.
  const live = await page.evaluate(() => window.magpie.app.project.lastTraining.live);
  assert.match(said, live === "head" ? /The trained model is live\./ : /The instant model stays live: the trained head did worse/, said);
  const state = () => page.evaluate(() => {
    const project = window.magpie.app.project;
    return { modelLabels: project.record.modelLabels, live: project.session.info().modelLabels, stale: project.modelStale };
  });
  assert.deepEqual(await sampleCounts(page), [10, 8, 8]);
  assert.deepEqual(await state(), { modelLabels: ["Class 1", "Class 2", "five"], live: ["Class 1", "Class 2", "five"], stale: false });
  const trainedOn = await page.evaluate(() => window.magpie.app.project.session.info().counts);
  assert.deepEqual(trainedOn, [10, 8, 8]);
  // Cancel during the background training: the instant model stays live, nothing is lost. The
  // page presses Cancel the moment the instant model is live, before the head (a fraction of a
  // second here) can finish, whatever the machine's speed.
  await page.evaluate(() => window.magpie.app.trainer.addEventListener("live",
    () => document.getElementById("train-cancel").click(), { once: true }));
  await page.click("#train");
  await page.waitForFunction(() => document.getElementById("train-cancel").hidden, null, { timeout: 120_000 });
  assert.match(await page.textContent("#status"), /Training cancelled/);
  assert.deepEqual(await sampleCounts(page), [10, 8, 8]);
  assert.deepEqual(await state(), { modelLabels: ["Class 1", "Class 2", "five"], live: ["Class 1", "Class 2", "five"], stale: false });
  assert.deepEqual(errors, []);
  await page.close();
});
