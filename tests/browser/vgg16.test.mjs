// VGG16 in the browser, with generated weights (torchvision's 528 MB file cannot be downloaded
// here): a full-size checkpoint with torchvision's names and shapes is generated, converted by
// the CLI into the record the app serves, and served next to the app. The picker offers VGG16
// only then, with its size and a warning; on WebGPU and on the CPU backend its features equal the
// native ones; and a page that runs out of memory for it gets a message and keeps working.
// The record is converted with `magpie convert --served` (int8, as the app serves it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, openApp, serveFolders, useBrowser } from "./harness.mjs";

const TARGET = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache/magpie/target");
const MAGPIE = join(TARGET, "release/magpie");
const DIR = join(tmpdir(), "magpie-vgg16-browser");
const PHOTO = join(ASSETS, "images/chelsea.png");
const env = useBrowser();
const host = {};

/** torchvision's VGG16 names and shapes. */
function keys() {
  const convs = [[0, 3, 64], [2, 64, 64], [5, 64, 128], [7, 128, 128], [10, 128, 256], [12, 256, 256], [14, 256, 256],
    [17, 256, 512], [19, 512, 512], [21, 512, 512], [24, 512, 512], [26, 512, 512], [28, 512, 512]];
  const dense = [[0, 25088, 4096], [3, 4096, 4096], [6, 4096, 1000]];
  return [
    ...convs.flatMap(([n, i, o]) => [[`features.${n}.weight`, [o, i, 3, 3], i * 9], [`features.${n}.bias`, [o], 0]]),
    ...dense.flatMap(([n, i, o]) => [[`classifier.${n}.weight`, [o, i], i], [`classifier.${n}.bias`, [o], 0]]),
  ];
}

/** Writes an f16 safetensors checkpoint: weights of random sign with magnitudes near
 * √(2 / fan-in) (activations neither vanish nor blow up through 16 layers), small biases. */
function writeCheckpoint(path) {
  const entries = keys();
  let offset = 0;
  const header = {};
  for (const [name, shape] of entries) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: "F16", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, "w");
  writeSync(fd, length);
  writeSync(fd, json);
  let state = 0x2545f491;
  for (const [, shape, fanIn] of entries) {
    // f16 bits: sign | exponent | mantissa, the exponent putting |w| in [2^k, 2^(k+1)).
    const exponent = fanIn ? Math.floor(Math.log2(Math.sqrt(2 / fanIn))) + 15 : 15 - 9;
    const values = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i += 1) {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      values[i] = ((state >>> 31) << 15) | (exponent << 10) | ((state >>> 5) & 0x3ff);
    }
    writeSync(fd, new Uint8Array(values.buffer));
  }
  closeSync(fd);
}

before(() => {
  mkdirSync(DIR, { recursive: true });
  writeCheckpoint(join(DIR, "vgg16.safetensors"));
  const name = execFileSync(MAGPIE, ["served-name", "--backbone", "vgg16"], { encoding: "utf8" }).trim();
  host.record = join(DIR, name);
  execFileSync(MAGPIE, ["convert", "--backbone", "vgg16", "--input", join(DIR, "vgg16.safetensors"), "--served", "--out", host.record]);
  host.name = name;
});
after(() => host.served?.server.close());

/** The app served with the VGG16 record next to the others. */
async function serveWithVgg16() {
  const record = readFileSync(host.record);
  const index = JSON.parse(readFileSync(join(DIST, "www/weights/index.json"), "utf8"));
  index.push({ id: "vgg16", file: host.name, bytes: record.length });
  host.served = await serveFolders({
    "/": DIST, "/__assets__/": ASSETS,
    "/www/weights/index.json": { type: "application/json", body: JSON.stringify(index) },
    [`/www/weights/${host.name}`]: { type: "application/octet-stream", body: record },
  });
  return host.served.url;
}

test("VGG16 is offered only when served, with its size and a warning; its features match native on both backends; running out of memory is a message", async () => {
  // Not served: not offered.
  const plain = await openApp(env.browser, env.url);
  assert.equal(await plain.page.locator("#backbone option[value=vgg16]").count(), 0);
  await plain.page.close();

  const url = await serveWithVgg16();
  const { page, errors } = await openApp(env.browser, url);
  const option = page.locator("#backbone option[value=vgg16]");
  await option.waitFor({ state: "attached" });
  assert.match(await option.textContent(), /VGG16 \(textbook; large\) · 1\d\d(\.\d)? MB/);

  const native = JSON.parse(execFileSync(MAGPIE, ["features", "--backbone", "vgg16", "--weights", host.record, PHOTO], { encoding: "utf8" })).features;
  const outcome = await page.evaluate(async (photo) => {
    const image = new Image();
    image.src = photo;
    await image.decode();
    const out = { features: {} };
    for (const backend of ["wgpu", "cpu"]) {
      const model = await window.magpie.ImageNetModel.create({ backbone: "vgg16", backend });
      out.features[backend] = Array.from(await model.features(image));
      model.free();
    }
    // Hold models on the CPU backend until the page cannot load another: a message, not a crash.
    const held = [];
    try {
      for (let i = 0; i < 8; i += 1) held.push(await window.magpie.ImageNetModel.create({ backbone: "vgg16", backend: "cpu" }));
      out.refused = "never";
    } catch (error) {
      out.refused = error.message;
    }
    out.held = held.length;
    for (const model of held) model.free();
    const small = await window.magpie.ImageNetModel.create({ backbone: "mobilenet_v1_025", backend: "cpu" });
    out.after = (await small.classify(image, 1))[0].label;
    return out;
  }, "/__assets__/images/chelsea.png");
  for (const backend of ["wgpu", "cpu"]) {
    const got = outcome.features[backend];
    assert.equal(got.length, 512);
    const scale = Math.max(...native.map(Math.abs));
    const diff = Math.max(...native.map((v, i) => Math.abs(v - got[i])));
    assert.ok(scale > 0 && diff / scale < 1e-3, `${backend}: features differ by ${diff / scale}`);
  }
  assert.match(outcome.refused, /not enough memory for VGG16/);
  assert.ok(outcome.held >= 1, `${outcome.held} models held before the refusal`);
  assert.match(outcome.after, /cat|tabby/, "the page keeps working after the refusal");
  assert.deepEqual(errors, []);
  await page.close();
});
