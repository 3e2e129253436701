// Where things are: the camera and the live prediction are in sight together, on a desktop
// (1280×800) and on a phone (390×844, side by side), and stay in sight, beside the record
// buttons, while the classes and training scroll; an empty project says the three steps where
// they happen; and the app is installable (its web app manifest passes Chromium's checks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, fakeCamera, launchPersistent, untilReady, useBrowser } from "./harness.mjs";

const env = useBrowser();

/** A page of the app at `viewport` with the fake camera on and six classes. */
async function openWith(viewport) {
  const context = await env.browser.newContext({ viewport });
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await untilReady(page);
  for (let i = 0; i < 4; i += 1) await page.click("#class-add");
  await page.click("#camera-toggle");
  await page.waitForFunction(() => document.getElementById("video").readyState >= 2);
  // As the page opens (adding classes scrolled it).
  await page.evaluate(() => window.scrollTo(0, 0));
  return { context, page, errors };
}

/** Whether each of `selectors` lies wholly inside the viewport (its box, in CSS pixels). */
function inSight(page, selectors) {
  return page.evaluate((selectors) => Object.fromEntries(selectors.map((s) => {
    const box = document.querySelector(s).getBoundingClientRect();
    return [s, box.height > 0 && box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth];
  })), selectors);
}

const STAGE = [".viewfinder", "#prediction"];

test("desktop 1280×800: the camera, the prediction and a record button in sight at once, and the camera and prediction stay while the page scrolls", async () => {
  const { context, page, errors } = await openWith({ width: 1280, height: 800 });
  const first = ".class-card button.record";
  assert.deepEqual(await inSight(page, [...STAGE, first]), Object.fromEntries([...STAGE, first].map((s) => [s, true])));
  // Scrolled to the training panel at the bottom: the stage is still in sight.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  assert.ok(await page.evaluate(() => window.scrollY > 0), "the page scrolls");
  assert.deepEqual(await inSight(page, STAGE), Object.fromEntries(STAGE.map((s) => [s, true])));
  // Every record button, scrolled to, is usable with the camera in sight.
  const last = page.locator(".class-card button.record").last();
  await last.scrollIntoViewIfNeeded();
  assert.ok(await page.evaluate(() => {
    const box = [...document.querySelectorAll(".class-card button.record")].at(-1).getBoundingClientRect();
    return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)?.closest("button.record") !== null;
  }), "nothing covers the last record button");
  assert.deepEqual(await inSight(page, [".viewfinder", "#prediction"]), { ".viewfinder": true, "#prediction": true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("phone 390×844: the camera and the prediction side by side stay in sight while the classes scroll, every record button usable", async () => {
  const { context, page, errors } = await openWith({ width: 390, height: 844 });
  assert.deepEqual(await inSight(page, STAGE), Object.fromEntries(STAGE.map((s) => [s, true])));
  const boxes = await page.evaluate(() => ["#video", "#prediction"].map((s) => document.querySelector(s).getBoundingClientRect().toJSON()));
  assert.ok(boxes[1].left >= boxes[0].right - 1, "the prediction is beside the camera");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), "no horizontal scrolling");
  /** Whether the centre of the `index`-th record button (-1: the last) is the button itself. */
  const uncovered = (index) => page.evaluate((index) => {
    const box = [...document.querySelectorAll(".class-card button.record")].at(index).getBoundingClientRect();
    return box.top >= 0 && box.bottom <= innerHeight &&
      document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)?.closest("button.record") !== null;
  }, index);
  // Scrolled down the classes to the last one's record button: the camera and the prediction
  // stayed (sticky), and nothing covers the button.
  await page.locator(".class-card button.record").last().scrollIntoViewIfNeeded();
  assert.ok(await page.evaluate(() => window.scrollY > 300), "the page scrolled");
  assert.deepEqual(await inSight(page, STAGE), Object.fromEntries(STAGE.map((s) => [s, true])));
  assert.ok(await uncovered(-1), "the last record button is usable with the camera in sight");
  // From the keyboard: a record button above, focused, is scrolled clear of the camera.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.focus(".class-card:nth-child(2) button.record");
  assert.ok(await uncovered(1), "the focused record button is not under the camera");
  assert.deepEqual(await inSight(page, STAGE), Object.fromEntries(STAGE.map((s) => [s, true])));
  assert.deepEqual(errors, []);
  await context.close();
});

test("first run: an empty project shows the three steps in the panels where they happen, and they go once there are samples", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await untilReady(page);
  const steps = { "#first-run-camera": [".camera", /^Step 1: start the camera/], "#first-run-classes": [".classes", /^Step 2: name each class, then hold its “Hold to record” button/],
    "#first-run-train": [".train", /^Step 3: once every class has samples, press Train/] };
  for (const [step, [panel, text]] of Object.entries(steps)) {
    assert.ok(await page.isVisible(step), step);
    assert.match(await page.textContent(step), text);
    assert.ok(await page.evaluate(([step, panel]) => document.querySelector(step).closest(panel) !== null, [step, panel]), `${step} is in ${panel}`);
  }
  await page.locator(".class-card").first().locator("input[type=file]").setInputFiles(join(ASSETS, "images/cat.bmp"));
  await page.waitForFunction(() => document.querySelector(".class-card .count").textContent === "1 sample");
  for (const step of Object.keys(steps)) assert.equal(await page.isVisible(step), false, `${step} is gone`);
  await context.close();
});

test("the app is installable: its manifest is served and valid, and Chromium reports no installability error", async () => {
  // Installability is not checked in incognito contexts: a profile of its own.
  const profile = mkdtempSync(join(tmpdir(), "magpie-profile-"));
  const context = await launchPersistent(profile);
  const page = await context.newPage();
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await untilReady(page);
  const manifest = await (await page.request.get(`${env.url}www/manifest.webmanifest`)).json();
  assert.equal(manifest.short_name, "magpie");
  assert.equal(manifest.display, "standalone");
  assert.ok(manifest.icons.length > 0);
  // The service worker controls the page once it is active (a reload puts it in charge).
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await untilReady(page);
  const cdp = await context.newCDPSession(page);
  const parsed = await cdp.send("Page.getAppManifest");
  assert.deepEqual(parsed.errors, [], JSON.stringify(parsed.errors));
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  assert.deepEqual(installabilityErrors, []);
  // The service worker keeps the manifest for offline use.
  const cached = await page.evaluate(async () => !!(await caches.match("www/manifest.webmanifest")));
  assert.ok(cached, "the manifest is in the offline cache");
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});
