// Images that fail to decode or are enormous. In the app (upload button, drop on a class,
// "Classify an image file"): a file that is not an image or is cut short is skipped with a
// message naming it while the other files land; an image above 50 megapixels (or one whose
// header claims billions of pixels) is refused before any pixel is decoded; a large one below
// the limit is decoded straight to the centred square (as shown: EXIF orientation first).
// Through the JS API, a huge canvas or ImageBitmap is read at 640 px, never copied whole into
// wasm memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { ASSETS, engineMemory, recordEngineMemory, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const env = useBrowser();

/** CRC-32 of PNG chunks. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 of `bytes`. */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG chunk. */
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit greyscale PNG of `width` × `height` whose every row is `row` (one byte a pixel);
 * `rows` overrides how many rows the image data really holds (fewer: a lying header). */
function greyPng(width, height, row, rows = height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (grey), deflate, no filter, no interlace follow
  const line = Buffer.concat([Buffer.from([0]), row]);
  const raw = Buffer.alloc(line.length * rows);
  for (let y = 0; y < rows; y++) line.copy(raw, y * line.length);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** Bytes that are no image format (a fixed pseudo-random sequence). */
function noise(length) {
  let x = 12345;
  return Buffer.from(Array.from({ length }, () => (x = (x * 1103515245 + 12345) % 2 ** 31) & 255));
}

/** A white centred square between black bands: any crop or aspect error shows black. */
function widePng(width, height) {
  const row = Buffer.alloc(width, 255);
  const band = (width - height) / 2;
  row.fill(0, 0, band);
  row.fill(0, width - band);
  return greyPng(width, height, row);
}

/** A Sign Language Digits photo as a file for `setInputFiles`. */
function photo(digit, n, name) {
  const file = readdirSync(join(DATASET, digit)).sort()[n];
  return { name: name ?? file, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, file)) };
}

const png = (name, buffer) => ({ name, mimeType: "image/png", buffer });
const chelsea = readFileSync(join(ASSETS, "images/chelsea.png"));
const FILES = {
  random: { name: "holiday.jpg", mimeType: "image/jpeg", buffer: noise(20_000) },
  truncated: png("cut-short.png", chelsea.subarray(0, Math.floor(chelsea.length / 2))),
  huge: png("huge.png", greyPng(12000, 12000, Buffer.alloc(12000, 128))),
  lying: png("lying.png", greyPng(100000, 100000, Buffer.alloc(100000, 128), 2)),
  wide: png("wide.png", widePng(8000, 6000)),
};

/** The app on the CPU backend (WebGPU is not the point here), with errors and crashes collected;
 * `recordMemory` keeps the engines' wasm memory for `engineMemory`. */
async function openApp({ recordMemory = false } = {}) {
  const context = await env.browser.newContext();
  await context.addInitScript(() => localStorage.setItem("magpie.backend", "cpu"));
  if (recordMemory) await recordEngineMemory(context);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  page.on("crash", () => errors.push("the page crashed"));
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
  return { context, page, errors };
}

/** Sample counts per class, as the page shows them. */
const counts = async (page) => (await page.locator(".class-card .count").allTextContents()).map((t) => Number.parseInt(t, 10));

/** Waits until every file handed to the page has been taken or skipped. */
const settled = (page) => page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 120_000 });

/** Drops `files` on the class card `index`, as a drag from the desktop does. */
function drop(page, index, files) {
  return page.evaluate(({ index, files }) => {
    const transfer = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], f.name, { type: f.mimeType }));
    }
    const card = document.querySelectorAll(".class-card")[index];
    card.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, { index, files: files.map((f) => ({ name: f.name, mimeType: f.mimeType, base64: f.buffer.toString("base64") })) });
}

/** Sample `n` of class `index`: its size, darkest and brightest red, and the colours at the
 * middle of its top and bottom edges. */
function sample(page, index, n) {
  return page.evaluate(async ({ index, n }) => {
    const project = window.magpie.app.project;
    const bitmap = await createImageBitmap(project.samplesOf(project.classes[index].id)[n].jpeg);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    const { data } = canvas.getContext("2d").getImageData(0, 0, bitmap.width, bitmap.height);
    let [min, max] = [255, 0];
    for (let i = 0; i < data.length; i += 4) { min = Math.min(min, data[i]); max = Math.max(max, data[i]); }
    const at = (x, y) => [...data.subarray((y * bitmap.width + x) * 4, (y * bitmap.width + x) * 4 + 3)];
    return { width: bitmap.width, height: bitmap.height, min, max,
      top: at(bitmap.width / 2, 8), bottom: at(bitmap.width / 2, bitmap.height - 8) };
  }, { index, n });
}

/** Drops on class `index` a 400 × 200 JPEG, red on the left and blue on the right, whose EXIF
 * orientation (6) turns it a quarter clockwise: shown 200 × 400, red above blue. */
function dropTurnedPhoto(page, index) {
  return page.evaluate(async (index) => {
    const canvas = new OffscreenCanvas(400, 200);
    const context = canvas.getContext("2d");
    context.fillStyle = "rgb(255, 0, 0)";
    context.fillRect(0, 0, 200, 200);
    context.fillStyle = "rgb(0, 0, 255)";
    context.fillRect(200, 0, 200, 200);
    const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.95 })).arrayBuffer());
    // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112) = 6.
    const exif = [0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, exif.length + 2, ...exif, ...jpeg.subarray(2)]);
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "turned.jpg", { type: "image/jpeg" }));
    document.querySelectorAll(".class-card")[index]
      .dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, index);
}

test("app: undecodable and enormous files are refused by name, the rest of the upload lands, the preview refuses them too", async () => {
  const { context, page, errors } = await openApp();
  const cards = page.locator(".class-card");
  assert.deepEqual(await counts(page), [0, 0]);

  // Upload button: random bytes named .jpg and a PNG cut in half, between two good photos.
  await cards.nth(0).locator("input[type=file]").setInputFiles([photo("0", 0), FILES.random, FILES.truncated, photo("0", 1)]);
  await settled(page);
  assert.deepEqual(await counts(page), [2, 0]);
  const uploaded = await page.textContent("#status");
  assert.match(uploaded, /^Skipped 2 file\(s\): /);
  assert.match(uploaded, /holiday\.jpg is not an image this browser can decode/);
  assert.match(uploaded, /cut-short\.png cannot be decoded \(a damaged, incomplete or unsupported image\)/);

  // Drop: 144 megapixels, a header claiming 10 gigapixels, and 48 megapixels that fit.
  const started = Date.now();
  await drop(page, 1, [FILES.huge, FILES.lying, FILES.wide, photo("5", 0)]);
  await settled(page);
  const dropMs = Date.now() - started;
  assert.deepEqual(await counts(page), [2, 2]);
  const dropped = await page.textContent("#status");
  assert.match(dropped, /^Skipped 2 file\(s\): /);
  assert.match(dropped, /huge\.png is 12000 × 12000 pixels \(144 megapixels\); images up to 50 megapixels are accepted: scale it down and add it again/);
  assert.match(dropped, /lying\.png is not an image this browser can decode/);
  // The 8000 × 6000 image became its centred square: all white, none of the black bands.
  const wide = await sample(page, 1, 0);
  assert.deepEqual([wide.width, wide.height], [320, 320]);
  assert.ok(wide.min > 200, `the centred square only (darkest grey ${wide.min})`);
  console.log(`drop of 4 files (two refused, one of 48 megapixels decoded) took ${dropMs} ms`);

  // A photo turned by its EXIF orientation is cropped as it is shown: red above blue.
  await dropTurnedPhoto(page, 0);
  await settled(page);
  assert.deepEqual(await counts(page), [3, 2]);
  const turned = await sample(page, 0, 2);
  assert.ok(turned.top[0] > 200 && turned.top[2] < 60, `red at the top: ${turned.top}`);
  assert.ok(turned.bottom[2] > 200 && turned.bottom[0] < 60, `blue at the bottom: ${turned.bottom}`);

  // The preview: bad files change nothing, the large one is classified.
  await page.click("details summary");
  await page.selectOption("#setting-head", "knn");
  await page.click("#train");
  await page.waitForFunction(() => /Training done/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
  for (const [file, message] of [[FILES.random, /^Could not classify holiday\.jpg: holiday\.jpg is not an image/],
    [FILES.truncated, /^Could not classify cut-short\.png: cut-short\.png cannot be decoded/],
    [FILES.huge, /^Could not classify huge\.png: huge\.png is 12000 × 12000 pixels/]]) {
    await page.setInputFiles("#preview-file", file);
    await page.waitForFunction(() => /^Could not classify/.test(document.getElementById("status").textContent));
    assert.match(await page.textContent("#status"), message);
    assert.equal(await page.textContent("#prediction"), "", "no prediction shown");
    assert.equal(await page.isHidden("#preview-still"), true, "no test image shown");
    await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  }
  await page.setInputFiles("#preview-file", FILES.wide);
  await page.waitForFunction(() => document.getElementById("stats").dataset.source === "wide.png", null, { timeout: 60_000 });
  assert.notEqual(await page.textContent("#prediction"), "");
  assert.deepEqual(await counts(page), [3, 2], "classifying files adds no samples");
  assert.deepEqual(errors, []);
  await context.close();
});

/** Growth of the engines' wasm memory while `work()` runs, in bytes; the engines (the
 * session's and the embedding pool's) must be started before. */
async function memoryGrowth(page, work) {
  const before = await engineMemory(page);
  assert.ok(before.engines > 0 && before.seen, `the engines' memory is seen: ${JSON.stringify(before)}`);
  await work();
  const after = await engineMemory(page);
  assert.equal(after.engines, before.engines, "no engine started meanwhile");
  return after.bytes - before.bytes;
}

test("JS API: a 12000-pixel canvas or ImageBitmap is read at 640 px, never copied whole into wasm memory", async () => {
  const { context, page, errors } = await openApp({ recordMemory: true });
  const size = await page.evaluate(async () => {
    const photo = await createImageBitmap(await (await fetch("/__assets__/images/hot_dog.jpg")).blob());
    const canvas = Object.assign(document.createElement("canvas"),
      { width: 12000, height: Math.round((12000 * photo.height) / photo.width) });
    canvas.getContext("2d").drawImage(photo, 0, 0, canvas.width, canvas.height);
    const model = await window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "cpu" });
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu", headBackend: "cpu" });
    window.huge = { canvas, bitmap: await createImageBitmap(canvas), model, session, labels: {} };
    // The photo itself first: every engine that takes part below is started and has its session.
    window.huge.labels.small = (await model.classify(photo, 1))[0].label;
    await session.addSample("photo", photo);
    return [canvas.width, canvas.height];
  });
  const grown = await memoryGrowth(page, () => page.evaluate(async () => {
    const { canvas, bitmap, model, session, labels } = window.huge;
    labels.huge = [(await model.classify(canvas, 1))[0].label, (await model.classify(bitmap, 1))[0].label];
    for (let i = 0; i < 2; i++) {
      await session.addSample("big canvas", canvas);
      await session.addSample("big bitmap", bitmap);
    }
  }));
  console.log(`12000-pixel sources: the engines' wasm memory grew ${grown} bytes`);
  const outcome = await page.evaluate(() => ({ ...window.huge.labels, counts: window.huge.session.info().counts }));
  assert.equal(outcome.small, "hotdog");
  assert.deepEqual(outcome.huge, ["hotdog", "hotdog"], "the huge copies read as the photo");
  assert.deepEqual(outcome.counts, [1, 2, 2]);
  const whole = size[0] * size[1] * 4;
  assert.ok(grown < 64 * 2 ** 20, `the engines' wasm memory grew ${grown >> 20} MB (one whole copy is ${whole >> 20} MB)`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("JS API: a huge ImageData is scaled down too", async () => {
  const { context, page, errors } = await openApp({ recordMemory: true });
  await page.evaluate(async () => {
    const session = await window.magpie.FewShotSession.create({ backbone: "mobilenet_v1_025", backend: "cpu", headBackend: "cpu" });
    await session.addSample("small", new ImageData(224, 224));
    window.huge = { session, data: new ImageData(6000, 6000) };
  });
  const grown = await memoryGrowth(page, () => page.evaluate(() => window.huge.session.addSample("big", window.huge.data)));
  console.log(`a 6000 × 6000 ImageData: the engines' wasm memory grew ${grown} bytes`);
  assert.deepEqual(await page.evaluate(() => window.huge.session.info().counts), [1, 1]);
  assert.ok(grown < 64 * 2 ** 20, `the engines' wasm memory grew ${grown >> 20} MB for a 6000 × 6000 ImageData (${(6000 * 6000 * 4) >> 20} MB whole)`);
  assert.deepEqual(errors, []);
  await context.close();
});
