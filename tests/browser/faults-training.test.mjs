// Bad input around training: a class named with markup is shown as text everywhere (never run
// as HTML), duplicate class names are refused, training started twice runs once, and one
// sample per class trains and predicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cameraOn, contextWith, fakeCamera, holdRecord, noEarlyStop, openIn, quickSettings, sampleCounts, settled, trainAndWait, untilReady,
  useBrowser,
} from "./harness.mjs";

const env = useBrowser();
const MARKUP = '<img src=x onerror="window.__xss=1">';

/** Renames class `index` by typing into its name field. */
async function rename(page, index, name) {
  const input = page.locator(".class-name").nth(index);
  await input.fill(name);
  await input.press("Enter");
}

/** Starts the camera and waits for live predictions; returns the class names the scores show. */
async function liveScores(page) {
  await cameraOn(page);
  await page.waitForFunction(() => document.querySelectorAll("#scores li").length === 2, null, { timeout: 60_000 });
  const names = await page.locator("#scores .name").allTextContents();
  await page.click("#camera-toggle");
  return names;
}

test("a class named with markup is shown as text, never run as HTML", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  await rename(page, 0, MARKUP);
  await page.fill("#project-name", MARKUP);
  await page.locator("#project-name").dispatchEvent("change");
  await quickSettings(page);
  await holdRecord(page, 0, 2);
  await holdRecord(page, 1, 2);
  await settled(page);
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);
  assert.equal(await page.locator(".class-name").first().inputValue(), MARKUP);
  assert.equal(await page.locator("#project-select option").first().textContent(), MARKUP);
  assert.deepEqual(await page.locator("#per-class .name").allTextContents(), [MARKUP, "Class 2"]);
  assert.deepEqual(await page.locator("#confusion tbody th").allTextContents(), [MARKUP, "Class 2"]);
  // Two seconds per class leave few validation samples; every sample gives each row a cell to open.
  await page.click("#results-all");
  await page.waitForFunction(() => /^Accuracy .* on all /.test(document.getElementById("results-scope").textContent));
  await page.locator("#confusion tbody tr").first().locator("td button:not([disabled])").first().click();
  assert.ok((await page.textContent("#cell h4")).startsWith(`${MARKUP} predicted as `));
  assert.deepEqual(await liveScores(page), [MARKUP, "Class 2"]);
  // Deleting the class names it in a toast, as text too.
  await page.locator(".class-card").first().getByRole("button", { name: "Delete", exact: true }).click();
  assert.match(await page.locator(".toast span").last().textContent(), /Deleted class “<img src=x onerror="window.__xss=1">”/);
  // Every image on the page is a sample thumbnail (a blob: URL); the markup never ran.
  const sources = await page.locator("img").evaluateAll((images) => images.map((i) => i.getAttribute("src")));
  assert.ok(sources.every((s) => s.startsWith("blob:")), `images: ${sources}`);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test("duplicate class names are refused with a message", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  await rename(page, 1, " Class 1 ");
  await page.waitForFunction(() => /already a class named “Class 1”/.test(document.getElementById("status").textContent));
  assert.deepEqual(await page.locator(".class-name").evaluateAll((inputs) => inputs.map((i) => i.value)), ["Class 1", "Class 2"]);
  assert.deepEqual(await page.evaluate(() => window.magpie.app.project.session.info().labels), ["Class 1", "Class 2"]);
  // The JS API: adding or renaming onto another class's name is refused.
  const api = await page.evaluate(async () => {
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu" });
    const indexes = [await session.addClass("a"), await session.addClass("b")];
    const refused = [];
    try { await session.addClass(" a "); } catch (error) { refused.push(error.message); }
    try { await session.renameClass(1, "a"); } catch (error) { refused.push(error.message); }
    const labels = session.info().labels;
    session.free();
    return { indexes, refused, labels };
  });
  assert.deepEqual(api.indexes, [0, 1]);
  assert.deepEqual(api.labels, ["a", "b"]);
  assert.equal(api.refused.length, 2);
  for (const message of api.refused) assert.match(message, /there is already a class named 'a'/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("training started twice runs once; the API refuses a second training while one runs", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  await quickSettings(page, 300);
  await holdRecord(page, 0, 3);
  await holdRecord(page, 1, 3);
  await settled(page);
  await noEarlyStop(page);
  // Count the trainings the page starts.
  await page.evaluate(() => {
    const project = window.magpie.app.project;
    const train = project.train.bind(project);
    window.__trainings = 0;
    project.train = (...args) => { window.__trainings += 1; return train(...args); };
  });
  await page.waitForFunction(() => !document.getElementById("train").disabled, null, { timeout: 60_000 });
  await page.dblclick("#train");
  await page.evaluate(() => window.magpie.app.training.train());
  await page.waitForFunction(() => window.magpie.app.training.history.length > 0, null, { timeout: 120_000 });
  const refused = await page.evaluate(() => window.magpie.app.project.session.train({ epochs: 1 }).then(() => null, (e) => e.message));
  assert.match(refused, /the session is busy training/);
  await page.waitForFunction(() => /Training (done|stopped early|failed)/.test(document.getElementById("status").textContent), null,
    { timeout: 300_000 });
  assert.match(await page.textContent("#status"), /Training (done|stopped early)/);
  assert.equal(await page.evaluate(() => window.__trainings), 1);
  const epochs = await page.evaluate(() => window.magpie.app.training.history.map((r) => r.epoch));
  assert.deepEqual(epochs, epochs.map((_, i) => i + 1), "one run of epochs, in order");
  assert.deepEqual(await liveScores(page), ["Class 1", "Class 2"]);
  await page.reload();
  await untilReady(page);
  assert.equal(await page.isDisabled("#model-export"), false, "the model was saved");
  assert.deepEqual(await liveScores(page), ["Class 1", "Class 2"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("one sample per class trains and predicts", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  // One frame a second: a short press records exactly one.
  await page.fill("#capture-rate", "1");
  await holdRecord(page, 0, 1);
  await holdRecord(page, 1, 1);
  await settled(page);
  assert.deepEqual(await sampleCounts(page), [1, 1]);
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);
  assert.equal(await page.isHidden("#results"), false, "results are shown");
  assert.deepEqual(await liveScores(page), ["Class 1", "Class 2"]);
  assert.deepEqual(errors, []);
  await context.close();
});
