// Start-up benchmark of the web app (not a test): page open → model ready → first live
// prediction, for a project with a trained model, cold (HTTP cache, service worker and its
// cache emptied; the project stays in IndexedDB) and warm (a plain reload), plus the bytes the
// page downloads. Headless Chromium, WebGPU on SwiftShader, the fake camera of the tests.
//   node bench/app.mjs [backbone]        (after `trunk build --release`; see bench/app.sh)
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, ROOT, fakeCamera, launch, serve } from "../tests/browser/harness.mjs";

const backbone = process.argv[2] ?? "mobilenet_v2";
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);

const { server, url } = await serve();
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await context.addInitScript(fakeCamera);
const page = await context.newPage();
let bytes = 0;
const files = new Map();
page.on("response", async (response) => {
  if (response.url().includes("/__assets__/")) return;
  const body = await response.body().catch(() => null);
  if (body) { bytes += body.length; files.set(new URL(response.url()).pathname, body.length); }
});
const ready = () => page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 600_000 });

/** Milliseconds from navigation to the model being ready and to the first live prediction. */
async function open(navigate) {
  bytes = 0;
  files.clear();
  const start = Date.now();
  await navigate();
  await ready();
  const readyMs = Date.now() - start;
  await page.click("#camera-toggle");
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 600_000 });
  return { readyMs, firstPredictionMs: Date.now() - start, bytes, files: Object.fromEntries(files) };
}

// First visit: nothing cached, no project yet.
const first = await open(async () => {
  await page.goto(`${url}?backbone=${backbone}`);
  await ready();
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
});
const firstVisitBytes = first.bytes;
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
const wasm = files.get("/magpie_bg.wasm");
const result = { backbone, device: "headless Chromium, SwiftShader WebGPU (CPU)", cold, warm, firstVisitBytes };
mkdirSync(join(ROOT, "bench/out"), { recursive: true });
writeFileSync(join(ROOT, `bench/out/app-${backbone}.json`), JSON.stringify(result, null, 1));
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
console.log(`| ${backbone} | cold | ${(cold.readyMs / 1000).toFixed(1)} s | ${(cold.firstPredictionMs / 1000).toFixed(1)} s | ${mb(cold.bytes)} |`);
console.log(`| ${backbone} | warm | ${(warm.readyMs / 1000).toFixed(1)} s | ${(warm.firstPredictionMs / 1000).toFixed(1)} s | ${mb(warm.bytes)} |`);
console.log(`page download on a first visit: ${mb(firstVisitBytes)} (wasm ${mb(cold.files["/magpie_bg.wasm"] ?? wasm ?? 0)})`);
await browser.close();
server.close();
