// Start-up benchmark of the web app (not a test): the first visit (nothing cached, no project)
// → ready to record; then page open → model ready → first live prediction, for a project with a
// trained model, cold (HTTP cache, service worker and its
// cache emptied; the project stays in IndexedDB) and warm (a plain reload), plus the bytes the
// page downloads. Headless Chromium, WebGPU on SwiftShader, the fake camera of the tests.
//   node bench/app.mjs [backbone]        (after `trunk build --release`; see bench/app.sh)
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, fakeCamera, launch, serve } from "../tests/browser/harness.mjs";

const backbone = process.argv[2] ?? "mobilenet_v2";
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);

const { server, url } = await serve();
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await context.addInitScript(fakeCamera);
const page = await context.newPage();
// Every file of the app the page asks for (not the test photos), by path.
const requested = new Set();
page.on("request", (request) => {
  const path = new URL(request.url()).pathname;
  if (!path.startsWith("/__assets__/")) requested.add(path === "/" ? "/index.html" : path);
});
/** Bytes of the requested files, as served and gzip-compressed. */
function downloadSize() {
  let raw = 0;
  let gzip = 0;
  for (const path of requested) {
    const file = join(DIST, path);
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  return { files: [...requested].sort(), raw, gzip };
}
const ready = () => page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 600_000 });

/** Milliseconds from navigation to the model being ready and to the first live prediction. */
async function open(navigate) {
  const start = Date.now();
  await navigate();
  await ready();
  const readyMs = Date.now() - start;
  await page.click("#camera-toggle");
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 600_000 });
  return { readyMs, firstPredictionMs: Date.now() - start };
}

// First visit: nothing cached, no project yet (and no backend placement remembered).
const firstVisitStart = Date.now();
await page.goto(`${url}?backbone=${backbone}`);
await ready();
const firstVisitMs = Date.now() - firstVisitStart;
const download = downloadSize();
{
  // A project with a trained model: 10 photos of two digits, uploaded, then trained.
  await page.evaluate(async (sets) => {
    const app = window.magpie.app;
    for (const [i, urls] of sets.entries()) {
      const files = await Promise.all(urls.map(async (u) => new File([await (await fetch(u)).blob()], u.split("/").pop())));
      await app.classes.upload(app.project.classes[i].id, files);
    }
  }, [photos("0", 10), photos("5", 10)]);
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped)/.test(document.getElementById("status").textContent), null, { timeout: 600_000 });
  await page.evaluate(() => window.magpie.app.project.queue);
}
const warm = await open(() => page.reload());
const client = await context.newCDPSession(page);
const cold = await open(async () => {
  await page.evaluate(async () => {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
    for (const key of await caches.keys()) await caches.delete(key);
  });
  await client.send("Network.clearBrowserCache");
  await page.reload();
});
const result = { backbone, device: "headless Chromium, SwiftShader WebGPU (CPU)", firstVisitMs, cold, warm, download };
mkdirSync(join(ROOT, "bench/out"), { recursive: true });
writeFileSync(join(ROOT, `bench/out/app-${backbone}.json`), JSON.stringify(result, null, 1));
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
console.log(`| ${backbone} | ${s(firstVisitMs)} | ${s(cold.readyMs)} / ${s(cold.firstPredictionMs)} | ${s(warm.readyMs)} / ${s(warm.firstPredictionMs)} | ` +
  `${mb(download.raw)} (${mb(download.gzip)} gzipped) |`);
await browser.close();
server.close();
