// Time to a trained model in the web app (a benchmark, not a test), on the default path
// (MobileNetV2, automatic backend, default settings), driven as a person would: a first visit
// (nothing cached, no project) → ready to record, a warm reload → ready, then hold-to-record
// CLASSES classes × SAMPLES captures from the fake camera of the tests (real photos), press
// Train, and time the last capture's release → the first live prediction (a model predicting
// live) and → training done (the final model). Two ways of recording, each in every round:
// "paced" (between classes the page embeds what was recorded, then 3 s pass) and "back to
// back" (the next class's button is held as soon as the last one is released, Train pressed
// at once). Beside it, in the same browser and on the same
// rows (each sample's pooled MobileNetV2 embedding, read from the app), TF.js trains Teachable
// Machine's head (Dense(100, relu) → Dense(C), Adam 1e-3, batch 16, 50 epochs) on its wasm
// backend. Rounds are interleaved (before, now, TF.js, before, now, TF.js, …); medians and
// spreads are printed.
//   node bench/time-to-trained.mjs [rounds=3] [classes=4] [samples=30]   (after `trunk build --release`)
//   MAGPIE_BEFORE_DIST=<dist folder of an earlier build> adds that build's rounds ("before");
//   MAGPIE_PACING=paced or back-to-back runs one way only.
import { readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, fakeCamera, holdRecord, launch, serveFolders } from "../tests/browser/harness.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const CLASSES = Number(process.argv[3] ?? 4);
const SAMPLES = Number(process.argv[4] ?? 30);
const BEFORE = process.env.MAGPIE_BEFORE_DIST;
const PACINGS = process.env.MAGPIE_PACING ? [process.env.MAGPIE_PACING] : ["back-to-back", "paced"];
/** Seconds a person takes between classes, once the page has embedded the last one's frames. */
const PAUSE_MS = 3000;
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = readdirSync(DATASET).filter((d) => /^\d$/.test(d)).sort().slice(0, CLASSES);
const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);
const status = (page, pattern) => page.waitForFunction((source) => new RegExp(source).test(document.getElementById("status").textContent),
  pattern.source, { timeout: 900_000 });

/** One round of the app at `url`: first visit, warm reload, record (`pacing`), train.
 * Milliseconds, the final status line, the head's training time and epochs, and (`withRows`)
 * each sample's pooled embedding (`{ label, features }`). */
async function app(browser, url, pacing, withRows) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  let start = Date.now();
  await page.goto(url);
  await status(page, /ready on/);
  const firstVisit = Date.now() - start;
  start = Date.now();
  await page.reload();
  await status(page, /ready on/);
  const warmVisit = Date.now() - start;
  await page.click("#camera-toggle");
  for (let i = 2; i < CLASSES; i += 1) await page.click("#class-add");
  let released = 0;
  for (const [index, digit] of DIGITS.entries()) {
    console.error(`  recording class ${index + 1} of ${DIGITS.length}`);
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit, SAMPLES));
    await holdRecord(page, index, SAMPLES);
    released = Date.now();
    // A person moves on to the next class: the page embeds what it recorded meanwhile, and
    // the person takes a few seconds to get the next sign ready.
    if (pacing === "paced" && index < DIGITS.length - 1) {
      await page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 300_000 });
      await page.waitForTimeout(PAUSE_MS);
    }
  }
  // How many of the samples' augmented views (the settings' `cachedViews` each) were embedded
  // when the last capture ended (the session's cache: one 9,120-value f16 row per MobileNetV2
  // frame or view).
  const viewsReady = await page.evaluate(() => {
    const { cachedBytes, cachedViews, counts } = window.magpie.app.project.session.info();
    const samples = counts.reduce((a, b) => a + b, 0);
    const views = Math.max(0, Math.round(cachedBytes / (2 * 9120)) - samples);
    return cachedViews === 0 ? 1 : views / (cachedViews * samples);
  });
  console.error("  training");
  await page.click("#train");
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 900_000 });
  const live = Date.now() - released;
  await status(page, /Training (done|stopped early|cancelled)|Training failed/);
  const trained = Date.now() - released;
  const message = await page.textContent("#status");
  const { headMs, epochs } = await page.evaluate(() => {
    const history = window.magpie.app.project.lastTraining?.history ?? [];
    return { headMs: Math.round(history.at(-1)?.elapsedMs ?? 0), epochs: history.length };
  });
  const rows = withRows && await page.evaluate(async () => {
    const project = window.magpie.app.project;
    const half = (bits) => {
      const sign = bits & 0x8000 ? -1 : 1;
      const exponent = (bits >> 10) & 0x1f;
      const fraction = bits & 0x3ff;
      if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
      return exponent === 31 ? Number.NaN : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
    };
    const out = [];
    for (const sample of project.samples.values()) {
      const { rows } = await project.session.sampleEmbedding(sample.id);
      const label = project.classes.find((c) => c.id === sample.classId).name;
      // Each row starts with the pooled embedding (1280 values), the spatial map after it.
      out.push({ label, features: [...rows.slice(0, 1280)].map(half) });
    }
    return out;
  });
  await context.close();
  return { firstVisit, warmVisit, live, trained, headMs, epochs, viewsReady, message, rows };
}

/** TF.js's Teachable Machine head on `rows`, in the bench page of the same browser. */
async function tfjsHead(browser, url, rows) {
  const page = await browser.newPage();
  await page.goto(`${url}bench/tfjs.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const result = await page.evaluate((embeddings) => window.bench.head({ impl: "tfjs", backend: "wasm", epochs: 50, embeddings }),
    { dim: 1280, rows });
  await page.close();
  return result.ms;
}

const folders = (dist) => ({ "/": dist, "/__assets__/": ASSETS, "/bench/": join(ROOT, "bench"), "/tfjs/": join(ROOT, "node_modules/@tensorflow") });
const hosts = { now: await serveFolders(folders(DIST)) };
if (BEFORE) hosts.before = await serveFolders(folders(BEFORE));
const browser = await launch();
const variants = BEFORE ? ["before", "now"] : ["now"];
/** Results by pacing, then variant. */
const rounds = Object.fromEntries(PACINGS.map((p) => [p, { before: [], now: [] }]));
const tfjsRounds = [];
const load = [];
for (let r = 0; r < ROUNDS; r += 1) {
  for (const pacing of PACINGS) {
    for (const variant of variants) {
      load.push(loadavg()[0]);
      const withRows = variant === "now" && pacing === PACINGS[0];
      const { rows, ...result } = await app(browser, `${hosts[variant].url}?backbone=mobilenet_v2`, pacing, withRows);
      rounds[pacing][variant].push(result);
      console.error(`round ${r + 1} ${pacing} ${variant}: ${JSON.stringify(result)}`);
      if (withRows) {
        tfjsRounds.push(await tfjsHead(browser, hosts.now.url, rows));
        console.error(`round ${r + 1} TF.js head: ${tfjsRounds.at(-1).toFixed(0)} ms`);
      }
    }
  }
}
await browser.close();
for (const host of Object.values(hosts)) host.server.close();

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (values) => `${(median(values) / 1000).toFixed(1)} s (${(Math.min(...values) / 1000).toFixed(1)}–${(Math.max(...values) / 1000).toFixed(1)})`;
console.log(`MobileNetV2, automatic backend, default settings; ${CLASSES} classes × ${SAMPLES} hold-to-record captures; ` +
  `${ROUNDS} interleaved rounds; ${cpus().length} cores; load average ${load.map((l) => l.toFixed(1)).join(", ")}`);
const columns = PACINGS.flatMap((p) => variants.map((v) => [p, v]));
console.log("| | " + columns.map(([p, v]) => `${p}, ${v}`).join(" | ") + " |");
console.log("|---|" + columns.map(() => "---|").join(""));
for (const [name, key] of [["first visit → ready to record", "firstVisit"], ["warm visit → ready to record", "warmVisit"],
  ["last capture → live prediction", "live"], ["last capture → training done", "trained"], ["the head's training (its epochs)", "headMs"]]) {
  console.log(`| ${name} | ${columns.map(([p, v]) => seconds(rounds[p][v].map((x) => x[key]))).join(" | ")} |`);
}
console.log(`| epochs | ${columns.map(([p, v]) => rounds[p][v].map((x) => x.epochs).join(", ")).join(" | ")} |`);
console.log(`| views embedded at the last capture | ${columns.map(([p, v]) => rounds[p][v].map((x) => `${(x.viewsReady * 100).toFixed(0)} %`).join(", ")).join(" | ")} |`);
const tfjs = median(tfjsRounds);
console.log(`TF.js's Teachable Machine head (wasm backend, 50 epochs) on the same ${CLASSES * SAMPLES} rows: ${seconds(tfjsRounds)}`);
for (const pacing of PACINGS) {
  const now = rounds[pacing].now;
  console.log(`${pacing}: last capture → live prediction ÷ TF.js head: ${(median(now.map((x) => x.live)) / tfjs).toFixed(2)}×; ` +
    `last capture → training done ÷ TF.js head: ${(median(now.map((x) => x.trained)) / tfjs).toFixed(2)}×`);
}
