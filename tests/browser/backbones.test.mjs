// Each backbone runs in the browser on WebGPU (SwiftShader) and on the CPU backend, names the
// right ImageNet class for real photos, and computes the same features as the native build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ASSETS, ROOT, openApp, useBrowser, servedRecord } from "./harness.mjs";

const BACKBONES = ["mobilenet_v2", "efficientnet_lite0", "mobilenet_v1_025"];
const PHOTOS = { "chelsea.png": ["Egyptian cat", "tabby", "tiger cat"], "coffee.png": ["espresso", "cup"] };
const TARGET = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache/magpie/target");

const env = useBrowser();

/** Native features of the photos from the same weight record the page loads. */
function nativeFeatures(backbone) {
  const out = execFileSync(join(TARGET, "release/magpie"), [
    "features", "--backbone", backbone, "--weights", servedRecord(backbone),
    ...Object.keys(PHOTOS).map((p) => join(ASSETS, "images", p)),
  ], { encoding: "utf8" });
  return out.trim().split("\n").map((l) => JSON.parse(l).features);
}

/** max |a - b| / max |a|. */
function relativeDifference(a, b) {
  let maxAbs = 0, maxDiff = 0;
  a.forEach((v, i) => { maxAbs = Math.max(maxAbs, Math.abs(v)); maxDiff = Math.max(maxDiff, Math.abs(v - b[i])); });
  return maxDiff / maxAbs;
}

for (const backbone of BACKBONES) {
  test(`${backbone} in the browser on WebGPU and CPU matches the native features`, async () => {
    const native = nativeFeatures(backbone);
    const { page, errors } = await openApp(env.browser, env.url);
    for (const backend of ["wgpu", "cpu"]) {
      const result = await page.evaluate(async ({ backbone, backend, photos }) => {
        const model = await window.magpie.ImageNetModel.create({ backbone, backend });
        const info = model.info();
        const out = [];
        for (const name of photos) {
          const blob = await (await fetch(`/__assets__/images/${name}`)).blob();
          const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
          const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
          const ctx = canvas.getContext("2d");
          ctx.drawImage(bitmap, 0, 0);
          const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
          const t0 = performance.now();
          const features = await model.features(image);
          const ms = performance.now() - t0;
          const top = await model.classify(image, 1);
          out.push({ name, features: Array.from(features), top: top[0], ms });
          out.image ??= image;
        }
        // Warm per-frame time (printed, not asserted): median of 5 after the calls above.
        const times = [];
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          await model.features(out.image);
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        model.free();
        delete out.image;
        return { info, out, warmMs: times[2] };
      }, { backbone, backend, photos: Object.keys(PHOTOS) });
      console.log(`${backbone}\t${backend}\twarm features per frame: ${result.warmMs.toFixed(1)} ms ` +
        `(weights ${(result.info.weightBytes / 1e6).toFixed(2)} MB ${result.info.precision})`);
      assert.equal(result.info.backend, backend, `asked for ${backend}, got ${JSON.stringify(result.info)}`);
      result.out.forEach(({ name, features, top, ms }, i) => {
        const diff = relativeDifference(native[i], features);
        console.log(`${backbone}\t${backend}\t${name}\t${top.label}\t${top.probability.toFixed(3)}\t` +
          `diff=${diff.toExponential(2)}\tfeatures ${ms.toFixed(0)} ms`);
        assert.ok(PHOTOS[name].includes(top.label), `${backbone}/${backend}: ${name} -> ${top.label}`);
        assert.equal(features.length, native[i].length);
        assert.ok(diff < 1e-3, `${backbone}/${backend}: ${name} features differ from native by ${diff}`);
      });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
}
