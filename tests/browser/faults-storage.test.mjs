// Storage faults: browser storage full (IndexedDB writes fail with QuotaExceededError), no
// IndexedDB at all (private mode), a reload while training, and a reload in the middle of an
// import. The user is told when work is not saved, keeps working in memory (capture, train,
// predict, export), and a reload never loses or half-writes a project.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cameraOn, contextWith, downloadOf, fakeCamera, holdRecord, openIn, projectFileContents, quickSettings, sampleCounts, settled, stored,
  noEarlyStop, trainAndWait, untilReady, useBrowser,
} from "./harness.mjs";

const env = useBrowser();
const saving = (page) => page.locator('.notice[data-key="saving"]');

/** An init script: IndexedDB `put` throws QuotaExceededError, as on a full disk, while
 * `window.__storageFull` is set. */
function fullDisk() {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    if (window.__storageFull) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    return put.apply(this, args);
  };
}

/** An init script: no IndexedDB, as in some private modes. */
function noIndexedDb() {
  Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true });
}

/** An init script: once `window.__reloadInImport` is set, the page reloads while a write of a
 * whole project (record and samples, one transaction) is under way, and the transaction is
 * kept open until the page is gone. Leaves a mark in sessionStorage when it fired. */
function reloadMidImport() {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const request = put.apply(this, args);
    const tx = this.transaction;
    if (window.__reloadInImport && this.name === "samples" && tx.objectStoreNames.contains("projects")) {
      window.__reloadInImport = false;
      const again = () => { tx.objectStore("samples").count().onsuccess = again; };
      again();
      sessionStorage.setItem("magpie-test.reloaded-in-import", "yes");
      location.reload();
    }
    return request;
  };
}

/** Records `n` samples into each of the two classes, waiting until they are embedded. */
async function recordBoth(page, n) {
  const before = await sampleCounts(page);
  await holdRecord(page, 0, before[0] + n);
  await holdRecord(page, 1, before[1] + n);
  await settled(page);
  return sampleCounts(page);
}

/** Starts the camera, waits for a live prediction naming one of the classes (or, since both
 * classes hold frames of the same blank camera, "not sure" and the closest class), stops the
 * camera. */
async function predictsLive(page) {
  await cameraOn(page);
  await page.waitForFunction(() => document.querySelectorAll("#scores li").length === 2, null, { timeout: 60_000 });
  const names = await page.locator(".class-name").evaluateAll((inputs) => inputs.map((i) => i.value));
  const prediction = await page.textContent("#prediction");
  assert.ok(names.some((n) => prediction.startsWith(`${n} (`) || prediction.startsWith(`Not sure (closest: ${n},`)),
    `prediction “${prediction}” names a class`);
  await page.click("#camera-toggle");
}

/** SHA-256 of the current project's trained model, or null. */
const modelDigest = (page) => page.evaluate(async () => {
  const model = window.magpie.app.project.model;
  if (!model) return null;
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", model))].map((b) => b.toString(16).padStart(2, "0")).join("");
});

test("storage full: the user is told, work goes on in memory, export has it all, and it is saved once there is room", async () => {
  const context = await contextWith(env.browser, [[fakeCamera], [fullDisk]]);
  const { page, errors } = await openIn(context, env.url);
  await quickSettings(page);
  await recordBoth(page, 2);
  const id = await page.evaluate(() => window.magpie.app.project.id);
  const savedBefore = (await stored(page)).samples[id];
  assert.equal(await saving(page).count(), 0, "no notice while saving works");
  await page.evaluate(() => { window.__storageFull = true; });
  const counts = await recordBoth(page, 2);
  assert.match(await saving(page).textContent(), /Not saved in this browser: browser storage is full\. .*use “Export project” to keep a copy/);
  assert.equal((await stored(page)).samples[id], savedBefore, "the new samples were indeed not written");
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);
  await predictsLive(page);
  const file = await projectFileContents(page, await downloadOf(page, "#project-export"));
  assert.deepEqual(file, { samples: counts, model: true });
  // Room again: the next change writes everything that was kept in memory.
  await page.evaluate(() => { window.__storageFull = false; });
  const more = await recordBoth(page, 1);
  await page.waitForFunction(() => !document.querySelector('.notice[data-key="saving"]'));
  await page.reload();
  await untilReady(page);
  assert.deepEqual(await sampleCounts(page), more);
  assert.equal((await stored(page)).samples[id], more[0] + more[1]);
  assert.equal(await page.isDisabled("#model-export"), false, "the model trained while storage was full is saved");
  assert.deepEqual(errors, []);
  await context.close();
});

test("no IndexedDB (private mode): the user is told, and capture, training, prediction and export work", async () => {
  const context = await contextWith(env.browser, [[fakeCamera], [noIndexedDb]]);
  const { page, errors } = await openIn(context, env.url);
  assert.match(await saving(page).textContent(),
    /Not saved in this browser: this browser keeps no data for this page \(private mode\?\)\. .*“Export project”/);
  await quickSettings(page);
  const counts = await recordBoth(page, 3);
  assert.match(await trainAndWait(page), /Training (done|stopped early)/);
  await predictsLive(page);
  const file = await projectFileContents(page, await downloadOf(page, "#project-export"));
  assert.deepEqual(file, { samples: counts, model: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a reload during training keeps the project and its previously trained model", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  await quickSettings(page, 5);
  const counts = await recordBoth(page, 3);
  await trainAndWait(page);
  const trained = await modelDigest(page);
  assert.ok(trained);
  // A long training, interrupted by a reload after its first epoch.
  await noEarlyStop(page);
  await page.fill("#setting-epochs", "1000");
  await page.locator("#setting-epochs").dispatchEvent("change");
  await page.click("#train");
  await page.waitForFunction(() => window.magpie.app.training.history.length > 0, null, { timeout: 120_000 });
  await page.reload();
  await untilReady(page);
  assert.deepEqual(await sampleCounts(page), counts);
  assert.equal(await modelDigest(page), trained, "the model from before the interrupted training");
  assert.equal(await page.isDisabled("#model-export"), false);
  const id = await page.evaluate(() => window.magpie.app.project.id);
  assert.equal((await stored(page)).samples[id], counts[0] + counts[1]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a reload during an import leaves the other projects intact and no half-imported project", async () => {
  const context = await contextWith(env.browser, [[fakeCamera], [reloadMidImport]]);
  const { page, errors } = await openIn(context, env.url);
  const counts = await recordBoth(page, 3);
  const exported = await downloadOf(page, "#project-export");
  const before = await stored(page);
  assert.equal(before.projects.length, 1);
  await page.evaluate(() => { window.__reloadInImport = true; });
  const reloaded = page.waitForEvent("framenavigated");
  await page.setInputFiles("#project-import", { name: "copy.magpie.zip", mimeType: "application/zip", buffer: exported });
  await reloaded;
  await untilReady(page);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("magpie-test.reloaded-in-import")), "yes",
    "the page reloaded while the import was being written");
  assert.deepEqual(await stored(page), before, "nothing of the interrupted import was stored");
  assert.deepEqual(await sampleCounts(page), counts);
  assert.equal(await page.locator("#project-select option").count(), 1);
  // The same file imports whole when nothing interrupts it.
  await page.setInputFiles("#project-import", { name: "copy.magpie.zip", mimeType: "application/zip", buffer: exported });
  await page.waitForFunction(() => document.querySelectorAll("#project-select option").length === 2, null, { timeout: 60_000 });
  const after = await stored(page);
  assert.equal(after.projects.length, 2);
  assert.deepEqual(Object.values(after.samples), [counts[0] + counts[1], counts[0] + counts[1]]);
  assert.deepEqual(errors, []);
  await context.close();
});
