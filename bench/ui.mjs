// Main-thread responsiveness of the web app (a benchmark, not a test): how late the page's
// event loop runs (`setTimeout(0)` delay, sampled every 50 ms: median, p90, max) and its long
// tasks (PerformanceObserver "longtask": count and longest) while (b) recording with embedding
// running, (c) training and (a) live preview, on the default path (MobileNetV2, automatic
// backend, default settings), the fake camera of the tests showing real photos. Two builds in
// interleaved rounds: "before" (the page of commit BEFORE, the engine on the page's thread) and
// "now" (the engine in a worker); both use this build's wasm. Also prints embedding throughput
// (samples, each with its views, per second) during recording.
//   node bench/ui.mjs [rounds=3]   (after `trunk build --release`; MAGPIE_BEFORE=<commit>)
import { execSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, fakeCamera, launch, serveFolders } from "../tests/browser/harness.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const BEFORE = process.env.MAGPIE_BEFORE ?? "f3a438a";
const SAMPLES = 20;
const PREVIEW_MS = 8000;
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);

/** The "before" build: this build's wasm with the page (index.html, www/) of commit BEFORE. */
function beforeBuild() {
  const dir = mkdtempSync(join(tmpdir(), "magpie-ui-before-"));
  cpSync(DIST, dir, { recursive: true });
  rmSync(join(dir, "www"), { recursive: true });
  execSync(`git archive ${BEFORE} www index.html | tar -x -C ${dir}`, { cwd: ROOT });
  cpSync(join(dir, "www/sw.js"), join(dir, "sw.js"));
  // Weights are not in git: the served ones.
  cpSync(join(DIST, "www/weights"), join(dir, "www/weights"), { recursive: true });
  return dir;
}

/** Starts the lag probe in the page: every 50 ms a setTimeout(0) whose delay is kept, and every
 * long task, while `window.__probe.on`. */
function probe() {
  const state = { on: false, delays: [], long: [] };
  window.__probe = state;
  setInterval(() => {
    const asked = performance.now();
    setTimeout(() => { if (state.on) state.delays.push(performance.now() - asked); }, 0);
  }, 50);
  new PerformanceObserver((list) => {
    if (state.on) for (const entry of list.getEntries()) state.long.push(entry.duration);
  }).observe({ type: "longtask" });
}

/** Measures the page while `work()` runs: `{ median, p90, max, longTasks, longest, ms }`. */
async function measured(page, work) {
  await page.evaluate(() => { Object.assign(window.__probe, { on: true, delays: [], long: [] }); });
  const started = Date.now();
  await work();
  const ms = Date.now() - started;
  const { delays, long } = await page.evaluate(() => { window.__probe.on = false; return window.__probe; });
  const sorted = [...delays].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p90: at(0.9), max: sorted.at(-1) ?? 0, longTasks: long.length, longest: Math.max(0, ...long), ms };
}

/** One round on `url`: record two classes (embedding runs), train, preview. */
async function round(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(fakeCamera);
  await context.addInitScript(probe);
  const page = await context.newPage();
  await page.goto(`${url}?backbone=mobilenet_v2`);
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 600_000 });
  await page.click("#camera-toggle");
  const result = {};
  const record = async (index, digit) => {
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit, 10));
    const button = page.locator(".class-card").nth(index).locator("button.record");
    const box = await button.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForFunction(([i, n]) => Number.parseInt(document.querySelectorAll(".class-card .count")[i].textContent, 10) >= n,
      [index, SAMPLES], { timeout: 120_000 });
    await page.mouse.up();
  };
  const settled = () => page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 600_000 });
  result.recording = await measured(page, async () => {
    await record(0, "0");
    await record(1, "5");
    await settled();
  });
  result.recording.samplesPerSecond = (2 * SAMPLES) / (result.recording.ms / 1000);
  result.training = await measured(page, async () => {
    await page.click("#train");
    await page.waitForFunction(() => /Training (done|stopped early|failed)/.test(document.getElementById("status").textContent), null,
      { timeout: 600_000 });
  });
  await page.evaluate((urls) => window.__camera.show(urls), photos("0", 10));
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 120_000 });
  result.preview = await measured(page, () => new Promise((r) => setTimeout(r, PREVIEW_MS)));
  await context.close();
  return result;
}

const dir = beforeBuild();
const hosts = {
  before: await serveFolders({ "/": dir, "/__assets__/": ASSETS }),
  now: await serveFolders({ "/": DIST, "/__assets__/": ASSETS }),
};
const browser = await launch();
const rounds = { before: [], now: [] };
const load = [];
for (let r = 0; r < ROUNDS; r += 1) {
  for (const variant of ["before", "now"]) {
    load.push(loadavg()[0]);
    rounds[variant].push(await round(browser, hosts[variant].url));
    console.error(`round ${r + 1} ${variant}: ${JSON.stringify(rounds[variant].at(-1))}`);
  }
}
await browser.close();
for (const host of Object.values(hosts)) host.server.close();
rmSync(dir, { recursive: true });

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
console.log(`MobileNetV2, automatic backend, default settings; ${ROUNDS} interleaved rounds; ${cpus().length} cores ` +
  `(embedding pool: ${Math.max(1, Math.min(4, cpus().length - 1))} worker(s)); load average ${load.map((l) => l.toFixed(1)).join(", ")}`);
console.log("| phase | build | event-loop delay median / p90 / max (ms) | long tasks (longest, ms) | spread of max |");
console.log("|---|---|---|---|---|");
for (const phase of ["preview", "recording", "training"]) {
  for (const variant of ["before", "now"]) {
    const runs = rounds[variant].map((r) => r[phase]);
    const m = (key) => median(runs.map((x) => x[key]));
    console.log(`| ${phase} | ${variant} | ${m("median").toFixed(0)} / ${m("p90").toFixed(0)} / ${m("max").toFixed(0)} | ` +
      `${m("longTasks")} (${m("longest").toFixed(0)}) | ${spread(runs.map((x) => x.max))} |`);
  }
}
for (const variant of ["before", "now"]) {
  const values = rounds[variant].map((r) => r.recording.samplesPerSecond);
  console.log(`embedding during recording, ${variant}: ${median(values).toFixed(2)} samples/s (${values.map((v) => v.toFixed(2)).join(", ")})`);
}
