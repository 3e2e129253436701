// TF-Lite export time in the web app (a benchmark, not a test), on the default path (MobileNetV2,
// automatic backend, default settings): CLASSES classes × SAMPLES sign-digit photos added as
// files, Train, then rounds of "Export model → TF Lite" in f32 and int8 (calibrated on up to 48
// samples), interleaved (f32, int8, f32, int8, …), each timed from the call to the bytes; prints
// the median of rounds and the spread, the file sizes, and how often progress was reported.
// No in-browser reference exists (Teachable Machine converts to TF Lite on Google's server).
//   node bench/tflite-export.mjs [rounds=3] [classes=4] [samples=30]   (after `trunk build --release`)
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, launch, serveFolders, trainAndWait, untilReady } from "../tests/browser/harness.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const CLASSES = Number(process.argv[3] ?? 4);
const SAMPLES = Number(process.argv[4] ?? 30);
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = readdirSync(DATASET).filter((d) => /^\d$/.test(d)).sort().slice(0, CLASSES);
const photos = (digit) => readdirSync(join(DATASET, digit)).sort().slice(0, SAMPLES)
  .map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DATASET, digit, f)) }));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const cell = (v) => `${(median(v) / 1000).toFixed(2)} s (${(Math.min(...v) / 1000).toFixed(2)}–${(Math.max(...v) / 1000).toFixed(2)})`;

const { url, server } = await serveFolders({ "/": DIST, "/__assets__/": ASSETS });
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${url}?backbone=mobilenet_v2`);
  await untilReady(page);
  for (let i = 2; i < CLASSES; i += 1) await page.click("#class-add");
  for (const [i, digit] of DIGITS.entries()) {
    await page.locator(".class-card").nth(i).locator("input[type=file]").setInputFiles(photos(digit));
  }
  console.error(`training on ${CLASSES} × ${SAMPLES}: ${await trainAndWait(page)}`);
  const placement = await page.evaluate(() => window.magpie.app.project.session.info().placement);
  const times = { f32: [], int8: [] };
  const sizes = {};
  const reports = {};
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const precision of ["f32", "int8"]) {
      const { ms, bytes, progress } = await page.evaluate(async (precision) => {
        const session = window.magpie.app.project.session;
        let progress = 0;
        const start = performance.now();
        const { tflite } = await session.exportTflite({ precision }, () => { progress += 1; });
        return { ms: performance.now() - start, bytes: tflite.length, progress };
      }, precision);
      times[precision].push(ms);
      sizes[precision] = bytes;
      reports[precision] = progress;
      console.error(`  round ${round + 1}: ${precision} ${(ms / 1000).toFixed(2)} s`);
    }
  }
  console.log(`TF-Lite export in the app, MobileNetV2 (default head), ${CLASSES} × ${SAMPLES} samples, backbone on ${placement.backbone}; ${ROUNDS} rounds, ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`);
  console.log("| precision | export time: median (range) | file | progress reports |");
  console.log("|---|---|---|---|");
  for (const precision of ["f32", "int8"]) {
    console.log(`| ${precision} | ${cell(times[precision])} | ${(sizes[precision] / 1e6).toFixed(1)} MB | ${reports[precision]} |`);
  }
} finally {
  await browser.close();
  server.close();
}
