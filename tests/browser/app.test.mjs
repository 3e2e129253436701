// The web app end to end, as a person uses it: a fake camera shows real Sign Language Digits
// photos; the test makes three classes, records each from the camera, trains, checks live
// predictions on held-out photos, deletes a sample, reloads, exports, deletes, imports, and
// works offline; once on a desktop and once in a phone-sized viewport. No request may leave
// the page's origin. Screenshots of each state go to docs/screenshots/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, ROOT, fakeCamera, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const CLASSES = ["zero", "three", "five"];
const DIGITS = ["0", "3", "5"];
const SHOTS = 12;
const HELD_OUT = 4;
const SHOTS_DIR = join(ROOT, "docs/screenshots");
const env = useBrowser();

/** Photo URLs of a digit: the first SHOTS for capture, the next HELD_OUT held out. */
function photos(digit) {
  const files = readdirSync(join(DATASET, digit)).sort();
  const url = (f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`;
  return { train: files.slice(0, SHOTS).map(url), test: files.slice(SHOTS, SHOTS + HELD_OUT).map(url) };
}

/** A page on the app with the fake camera, recording every request it makes. */
async function openPage(viewport) {
  const context = await env.browser.newContext({ viewport, acceptDownloads: true });
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  context.on("request", (r) => requests.push(r.url()));
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await ready(page);
  return { context, page, errors, requests };
}

/** Waits until the model is loaded. */
async function ready(page) {
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
}

const cards = (page) => page.locator(".class-card");

/** Sample counts per class, as the page shows them. */
async function counts(page) {
  return (await page.locator(".class-card .count").allTextContents()).map((t) => Number.parseInt(t, 10));
}

/** Records photos of each class from the camera by holding its record button. */
async function recordAll(page, expected) {
  for (const [i, digit] of DIGITS.entries()) {
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit).train);
    await cards(page).nth(i).locator("button.record").hover();
    await page.mouse.down();
    await page.waitForFunction(([i, n]) => Number.parseInt(document.querySelectorAll(".class-card .count")[i].textContent, 10) >= n,
      [i, expected], { timeout: 60_000 });
    await page.mouse.up();
  }
}

/** Names the classes by typing into their name fields. */
async function nameClasses(page) {
  await page.click("#class-add");
  for (const [i, name] of CLASSES.entries()) {
    const input = cards(page).nth(i).locator(".class-name");
    await input.fill(name);
    await input.press("Enter");
  }
}

/** Trains with the default settings and waits for the end. */
async function train(page) {
  await page.waitForFunction(() => !document.getElementById("train").disabled, null, { timeout: 120_000 });
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped early)/.test(document.getElementById("status").textContent), null,
    { timeout: 300_000 });
}

/** The live prediction's top class for each held-out photo, per class. */
async function livePredictions(page) {
  const results = {};
  for (const [i, digit] of DIGITS.entries()) {
    results[CLASSES[i]] = [];
    for (const url of photos(digit).test) {
      await page.evaluate((u) => window.__camera.show([u]), url);
      // Two fresh predictions after the switch.
      for (let n = 0; n < 2; n += 1) {
        const before = await page.textContent("#stats");
        await page.waitForFunction((b) => document.getElementById("stats").textContent !== b, before, { timeout: 30_000 });
      }
      // "five (87 %)", or "Not sure (closest: five, 45 %)" below the calibrated threshold:
      // the class the model ranks first, and whether it was sure.
      const text = await page.textContent("#prediction");
      const unsure = text.match(/^Not sure \(closest: (.*), [^,]*\)$/);
      results[CLASSES[i]].push(unsure ? { label: unsure[1], sure: false } : { label: text.replace(/ \(.*/, ""), sure: true });
    }
  }
  return results;
}

/** Clicks a button that downloads, and returns the downloaded bytes. */
async function downloadFrom(page, selector) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return readFileSync(await download.path());
}

/** Asserts every request stayed on the page's origin. */
function assertSameOrigin(requests) {
  const origin = new URL(env.url).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(foreign, [], "no request leaves the page's origin");
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });

test("desktop: capture from the camera, train, predict live, reload, export and import, offline", async () => {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const { context, page, errors, requests } = await openPage({ width: 1280, height: 900 });
  await shot(page, "1-start");
  await nameClasses(page);
  await page.click("#camera-toggle");
  await recordAll(page, SHOTS);
  await shot(page, "2-captured");
  await train(page);
  const status = await page.textContent("#status");
  console.log(status);
  if (!(await page.evaluate(() => window.magpie.app.camera.on))) await page.click("#camera-toggle");
  const predictions = await livePredictions(page);
  console.log(JSON.stringify(predictions));
  await shot(page, "3-trained-preview");
  // The model must rank the right class first on all but two of the 12 held-out photos (at
  // least half of each class's), and never be sure of a wrong one. With 12 shots a class on the
  // smallest backbone, which photos land near the five/three boundary varies from run to run
  // (with the views computed before training, and before issue 19 as after); whether it is
  // sure of a right one depends on the "not sure" threshold calibrated on two or three
  // validation samples a class, which has its own tests.
  let ranked = 0;
  for (const name of CLASSES) {
    const seen = predictions[name].map((p) => (p.sure ? p.label : `Not sure (closest: ${p.label})`)).join(", ");
    const right = predictions[name].filter((p) => p.label === name).length;
    ranked += right;
    assert.ok(right >= HELD_OUT / 2, `${name}: ${right} of ${HELD_OUT} held-out photos ranked right (${seen})`);
    assert.ok(predictions[name].every((p) => p.label === name || !p.sure), `${name}: a held-out photo named wrong (${seen})`);
  }
  assert.ok(ranked >= CLASSES.length * HELD_OUT - 2, `${ranked} of ${CLASSES.length * HELD_OUT} held-out photos ranked right`);
  // Confusion matrix cells list their samples.
  await page.click("#results-all");
  await page.locator("#confusion td.hit button").first().click();
  assert.ok(await page.locator("#cell .cell-samples li").count() > 0);
  // A sample listed there can be moved to another class.
  const listed = await counts(page);
  await page.locator("#cell .cell-samples li select").first().selectOption({ label: CLASSES[1] });
  await page.waitForFunction((n) => Number.parseInt(document.querySelectorAll(".class-card .count")[1].textContent, 10) === n, listed[1] + 1);
  assert.deepEqual(await counts(page), [listed[0] - 1, listed[1] + 1, listed[2]]);
  // Deleting a sample updates the count.
  const before = await counts(page);
  await cards(page).first().locator(".thumbs li button.remove").first().click();
  await page.waitForFunction((n) => Number.parseInt(document.querySelector(".class-card .count").textContent, 10) === n, before[0] - 1);
  const after = await counts(page);
  assert.deepEqual(after, [before[0] - 1, ...before.slice(1)]);
  // Reload: the project is intact, model included.
  await page.evaluate(() => window.magpie.app.project.queue);
  await page.reload();
  await ready(page);
  assert.deepEqual(await page.locator(".class-name").evaluateAll((els) => els.map((e) => e.value)), CLASSES);
  assert.deepEqual(await counts(page), after);
  assert.equal(await page.isDisabled("#model-export"), false, "the trained model was restored");
  // Export, delete, import: the same project, byte for byte.
  const exported = await downloadFrom(page, "#project-export");
  const model = await downloadFrom(page, "#model-export");
  assert.ok(model.length > 1000);
  await page.click("#project-delete");
  await page.waitForFunction(() => document.querySelectorAll(".class-card").length === 2);
  await ready(page);
  assert.deepEqual(await counts(page), [0, 0]);
  await page.setInputFiles("#project-import", { name: "project.magpie.zip", mimeType: "application/zip", buffer: exported });
  await page.waitForFunction(() => document.querySelectorAll(".class-card").length === 3, null, { timeout: 60_000 });
  await ready(page);
  assert.deepEqual(await counts(page), after);
  const again = await downloadFrom(page, "#project-export");
  assert.ok(Buffer.compare(again, exported) === 0, "re-exported project is identical");
  // A damaged file is refused and changes nothing.
  await page.setInputFiles("#project-import", { name: "bad.zip", mimeType: "application/zip", buffer: exported.subarray(0, exported.length / 2) });
  await page.waitForFunction(() => /Import refused/.test(document.getElementById("status").textContent));
  assert.deepEqual(await counts(page), after);
  // Offline: the service worker serves the app and its weights.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForTimeout(1000);
  await context.setOffline(true);
  await page.reload();
  await ready(page);
  assert.deepEqual(await counts(page), after);
  await context.setOffline(false);
  assertSameOrigin(requests);
  assert.deepEqual(errors, []);
  await context.close();
});

test("phone-sized viewport: the whole flow works at 390×844", async () => {
  const { context, page, errors, requests } = await openPage({ width: 390, height: 844 });
  await nameClasses(page);
  await recordAll(page, 8);
  await train(page);
  if (!(await page.evaluate(() => window.magpie.app.camera.on))) await page.click("#camera-toggle");
  await page.evaluate((u) => window.__camera.show([u]), photos("5").test[0]);
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 60_000 });
  // What a person sees scrolled to the classes: the camera panel stuck to the top.
  await page.locator(".class-card").nth(1).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS_DIR, "4-phone.png") });
  const overflow = await page.evaluate(() => ({
    by: document.documentElement.scrollWidth - window.innerWidth,
    elements: [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => `${e.tagName}#${e.id}.${e.className}`).slice(0, 5),
  }));
  assert.ok(overflow.by <= 0, `no horizontal scrolling (${overflow.by} px too wide: ${overflow.elements})`);
  assertSameOrigin(requests);
  assert.deepEqual(errors, []);
  await context.close();
});

test("class editing: keyboard recording, upload, drop, rename, reorder, delete and clear with undo", async () => {
  const { context, page, errors, requests } = await openPage({ width: 1280, height: 900 });
  const files = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n)
    .map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, f)) }));
  const names = () => page.locator(".class-name").evaluateAll((els) => els.map((e) => e.value));
  // Keyboard: hold Space on the first class's record button.
  await page.evaluate((urls) => window.__camera.show(urls), photos("0").train);
  await cards(page).nth(0).locator("button.record").focus();
  await page.keyboard.down(" ");
  await page.waitForFunction(() => Number.parseInt(document.querySelector(".class-card .count").textContent, 10) >= 6, null,
    { timeout: 60_000 });
  await page.keyboard.up(" ");
  // Upload into the second class; drop files on a third.
  await cards(page).nth(1).locator("input[type=file]").setInputFiles(files("3", 0, 6));
  await page.click("#class-add");
  const drop = await page.evaluateHandle(async (urls) => {
    const data = new DataTransfer();
    for (const u of urls) data.items.add(new File([await (await fetch(u)).blob()], u.split("/").pop(), { type: "image/jpeg" }));
    return data;
  }, photos("5").train.slice(0, 6));
  await cards(page).nth(2).dispatchEvent("drop", { dataTransfer: drop });
  await page.waitForFunction(() => [...document.querySelectorAll(".class-card .count")].every((c) => Number.parseInt(c.textContent, 10) >= 6),
    null, { timeout: 60_000 });
  // A name already taken is refused; the field goes back.
  const second = cards(page).nth(1).locator(".class-name");
  await second.fill("Class 1");
  await second.press("Enter");
  assert.match(await page.textContent("#status"), /already a class named/);
  assert.deepEqual(await names(), ["Class 1", "Class 2", "Class 3"]);
  for (const [i, name] of ["zero", "three", "five"].entries()) {
    await cards(page).nth(i).locator(".class-name").fill(name);
    await cards(page).nth(i).locator(".class-name").press("Enter");
  }
  // Reorder: "five" up one place.
  await cards(page).nth(2).getByRole("button", { name: "Move class up" }).click();
  assert.deepEqual(await names(), ["zero", "five", "three"]);
  const before = await counts(page);
  // Delete "zero", then undo: it comes back in place with its samples.
  await cards(page).nth(0).getByRole("button", { name: "Delete", exact: true }).click();
  assert.deepEqual(await names(), ["five", "three"]);
  await page.locator(".toast button", { hasText: "Undo" }).click();
  assert.deepEqual(await names(), ["zero", "five", "three"]);
  assert.deepEqual(await counts(page), before);
  // Clear "three", then undo.
  await cards(page).nth(2).getByRole("button", { name: "Clear" }).click();
  assert.equal((await counts(page))[2], 0);
  await page.locator(".toast button", { hasText: "Undo" }).last().click();
  assert.deepEqual(await counts(page), before);
  // The session followed every edit: training sees the classes in the page's order, and the
  // image-file test mode names the right class.
  await train(page);
  await page.click("#camera-toggle");
  const labels = await page.evaluate(() => window.magpie.app.project.session.info().modelLabels);
  assert.deepEqual(labels, ["zero", "five", "three"]);
  const right = [];
  for (const [digit, name] of [["0", "zero"], ["3", "three"], ["5", "five"]]) {
    for (const file of files(digit, 20, 2)) {
      const shown = page.waitForFunction((f) => document.getElementById("stats").dataset.source === f, file.name);
      await page.setInputFiles("#preview-file", file);
      await shown;
      // The class ranked first (named, or the closest when the model is not sure): the order
      // of the classes is what this checks.
      const said = await page.textContent("#prediction");
      right.push(said.startsWith(`${name} (`) || said.startsWith(`Not sure (closest: ${name},`));
    }
  }
  assert.ok(right.filter(Boolean).length >= 5, `image-file predictions right: ${right}`);
  // Timed recording: a countdown, then a second of recording.
  await page.fill("#capture-delay", "1");
  await page.fill("#capture-duration", "1");
  if (!(await page.evaluate(() => window.magpie.app.camera.on))) await page.click("#camera-toggle");
  const beforeTimed = (await counts(page))[0];
  await cards(page).nth(0).getByRole("button", { name: "Timed" }).click();
  await page.waitForFunction(() => /Starts in/.test(document.querySelector(".class-card .capture").textContent));
  await page.waitForFunction(() => document.querySelector(".class-card .capture button:nth-child(2)").textContent === "Timed", null,
    { timeout: 30_000 });
  // The last frames may still be encoding and embedding when the button comes back.
  await page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 60_000 });
  assert.ok((await counts(page))[0] > beforeTimed, "timed recording added samples");
  await shot(page, "5-classes-edited");
  // Several projects: a new one is empty; switching back finds this one intact.
  const kept = await counts(page);
  await page.click("#project-new");
  await page.waitForFunction(() => document.querySelectorAll(".class-card").length === 2);
  assert.deepEqual(await counts(page), [0, 0]);
  const options = await page.locator("#project-select option").allTextContents();
  assert.equal(options.length, 2);
  await page.selectOption("#project-select", { label: "Project 1" });
  await page.waitForFunction(() => document.querySelectorAll(".class-card").length === 3);
  assert.deepEqual(await counts(page), kept);
  assert.deepEqual(await names(), ["zero", "five", "three"]);
  assertSameOrigin(requests);
  assert.deepEqual(errors, []);
  await context.close();
});
