// Camera faults, as a person meets them: permission denied (or revoked later), no camera, the
// camera unplugged or taken by another app while recording, and switching cameras while
// recording. A fake camera (harness.mjs) stands in for getUserMedia. Every fault shows a
// message, and the samples captured before it stay, in the page and in IndexedDB after a reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contextWith, fakeCamera, holdRecord, openIn, pressRecord, sampleCounts, settled, stored, untilReady, useBrowser } from "./harness.mjs";

const env = useBrowser();
const status = (page) => page.textContent("#status");
const recordButton = (page, i) => page.locator(".class-card").nth(i).locator("button.record");

/** Presses class `index`'s record button while the camera cannot start: waits until the page
 * asked for the camera and stopped recording, then releases the button. */
async function refusedRecording(page, index) {
  const asked = await page.evaluate(() => window.__camera.asked);
  await recordButton(page, index).hover();
  await page.mouse.down();
  await page.waitForFunction(([i, asked]) => window.__camera.asked > asked &&
    document.querySelectorAll(".class-card button.record")[i].textContent === "Hold to record", [index, asked]);
  await page.mouse.up();
}

/** Reloads the page and returns the counts it shows and the samples IndexedDB holds for the project. */
async function afterReload(page) {
  await page.reload();
  await untilReady(page);
  const id = await page.evaluate(() => window.magpie.app.project.id);
  return { counts: await sampleCounts(page), kept: (await stored(page)).samples[id] ?? 0 };
}

test("camera permission denied, revoked, or no camera: a message, nothing recorded, samples kept", async () => {
  const context = await contextWith(env.browser, [[fakeCamera, { fail: "NotAllowedError" }]]);
  const { page, errors } = await openIn(context, env.url);
  await page.click("#camera-toggle");
  await page.waitForFunction(() => /permission was denied/.test(document.getElementById("status").textContent));
  assert.match(await status(page), /Allow the camera .*or upload images instead/);
  assert.equal(await page.textContent("#camera-toggle"), "Start camera");
  // Holding a record button asks for the camera too: the same message, and no recording.
  await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  await refusedRecording(page, 0);
  assert.match(await status(page), /permission was denied/);
  assert.deepEqual(await sampleCounts(page), [0, 0]);
  // Granted: record a few samples.
  await page.evaluate(() => { window.__camera.fail = null; });
  await holdRecord(page, 0, 3);
  await settled(page);
  await page.click("#camera-toggle");
  const recorded = await sampleCounts(page);
  // Revoked: recording into the other class is refused with the message; nothing is lost.
  await page.evaluate(() => { window.__camera.fail = "NotAllowedError"; });
  await refusedRecording(page, 1);
  assert.match(await status(page), /permission was denied/);
  assert.deepEqual(await sampleCounts(page), recorded);
  // No camera at all.
  await page.evaluate(() => { window.__camera.fail = "NotFoundError"; });
  await page.click("#camera-toggle");
  await page.waitForFunction(() => /No camera was found/.test(document.getElementById("status").textContent));
  assert.match(await status(page), /Connect one, or upload images instead/);
  assert.deepEqual(await sampleCounts(page), recorded);
  const { counts, kept } = await afterReload(page);
  assert.deepEqual(counts, recorded);
  assert.equal(kept, recorded[0]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("camera unplugged while recording: a message, recording stops, samples captured so far kept", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await openIn(context, env.url);
  // Unplugged while the record button is held.
  await pressRecord(page, 0, 4);
  await page.evaluate(() => window.__camera.unplug());
  await page.waitForFunction(() => /Capture stopped: .*unplugged or taken by another app/.test(document.getElementById("status").textContent));
  assert.match(await status(page), /Your samples are kept/);
  assert.equal(await recordButton(page, 0).textContent(), "Hold to record");
  assert.equal(await page.textContent("#camera-toggle"), "Start camera");
  assert.equal(await page.evaluate(() => window.magpie.app.recorder.recording), false);
  await settled(page);
  const kept = await sampleCounts(page);
  assert.ok(kept[0] >= 4, `samples captured before the camera was lost: ${kept}`);
  // Nothing more is captured, though the button is still held.
  await page.waitForTimeout(1000);
  assert.deepEqual(await sampleCounts(page), kept);
  await page.mouse.up();
  const after = await afterReload(page);
  assert.deepEqual(after.counts, kept);
  assert.equal(after.kept, kept[0]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("switching cameras while recording: recording goes on from the new camera", async () => {
  const devices = [
    { deviceId: "front", label: "Front camera", background: "#d02020" },
    { deviceId: "back", label: "Back camera", background: "#2040d0" },
  ];
  const context = await contextWith(env.browser, [[fakeCamera, { devices }]]);
  const { page, errors } = await openIn(context, env.url);
  await page.fill("#capture-delay", "0");
  await page.fill("#capture-duration", "8");
  await page.fill("#capture-rate", "5");
  await page.locator(".class-card").nth(0).getByRole("button", { name: "Timed" }).click();
  await page.waitForFunction(() => Number.parseInt(document.querySelector(".class-card .count").textContent, 10) >= 3, null,
    { timeout: 30_000 });
  assert.deepEqual(await page.locator("#camera-select option").allTextContents(), ["Front camera", "Back camera"]);
  const before = (await sampleCounts(page))[0];
  await page.selectOption("#camera-select", "back");
  await page.waitForFunction((n) => Number.parseInt(document.querySelector(".class-card .count").textContent, 10) >= n + 5,
    before, { timeout: 30_000 });
  assert.equal(await recordButton(page, 0).textContent(), "Recording…", "still recording after the switch");
  assert.equal(await page.evaluate(() => window.magpie.app.camera.stream.getVideoTracks()[0].getSettings().deviceId), "back");
  // The timed recording ends on its own.
  await page.waitForFunction(() => document.querySelector(".class-card button.record").textContent === "Hold to record", null,
    { timeout: 30_000 });
  await settled(page);
  // Each sample's colour says which camera it came from: front, then back, never front again.
  const colours = await page.evaluate(async () => {
    const project = window.magpie.app.project;
    return Promise.all(project.samplesOf(project.classes[0].id).map(async (sample) => {
      const canvas = new OffscreenCanvas(1, 1);
      const context = canvas.getContext("2d");
      context.drawImage(await createImageBitmap(sample.jpeg), 0, 0, 1, 1);
      const [red, , blue] = context.getImageData(0, 0, 1, 1).data;
      return red > blue ? "front" : "back";
    }));
  });
  const switched = colours.indexOf("back");
  assert.ok(switched >= 3, `samples from the front camera first: ${colours}`);
  assert.ok(colours.length - switched >= 5, `samples from the back camera after: ${colours}`);
  assert.ok(colours.slice(switched).every((c) => c === "back"), `only the back camera after the switch: ${colours}`);
  const after = await afterReload(page);
  assert.equal(after.kept, colours.length);
  assert.deepEqual(errors, []);
  await context.close();
});
