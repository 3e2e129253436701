// Embedding throughput of the engine's pool (a benchmark, not a test): new examples' frames are
// embedded by the pool's workers (www/engine/client.js: one per core but one, at most 4), their
// augmented views across the pool's workers and the session's own ("alone": by the session's
// worker only, as before the pool took views). For each variant, in interleaved rounds:
// SAMPLES photos added one after another through the client's `addSample` (each frame in the
// pool, as the page adds them), then
// `embedViews` until none is left (4 views each, the default settings), on the default path
// (MobileNetV2, automatic backend). The pool size is set by the `navigator.hardwareConcurrency`
// the page sees, so a machine can run a pool larger than its cores allow by default; the cores
// it really has are printed.
//   node bench/pool.mjs [rounds=3] [variants=alone,1,2]   (after `trunk build --release`; a number
//   is a pool size)
import { readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, launch, serveFolders } from "../tests/browser/harness.mjs";

const ROUNDS = Number(process.argv[2] ?? 3);
const VARIANTS = (process.argv[3] ?? "alone,1,2").split(",");
const SAMPLES = 16;
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const photos = ["0", "3", "5", "8"].flatMap((digit) => readdirSync(join(DATASET, digit)).sort().slice(0, SAMPLES / 4 + 1)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`));

/** One round of `variant`: seconds for the frames and for the views. */
async function round(browser, url, variant) {
  const size = variant === "alone" ? 1 : Number(variant);
  const context = await browser.newContext();
  await context.addInitScript((cores) => {
    Object.defineProperty(Navigator.prototype, "hardwareConcurrency", { get: () => cores });
  }, size + 1);
  const page = await context.newPage();
  await page.goto(`${url}pool.html`);
  const result = await page.evaluate(async ({ photos, samples, alone }) => {
    const { api, client } = await import("/www/engine/client.js");
    const blobs = await Promise.all(photos.map(async (p) => (await fetch(p)).blob()));
    const session = await api.FewShotSession.create({ weightsBase: "/www/weights/" });
    const label = (i) => `digit ${Math.floor(i / (samples / 4 + 1))}`;
    // Warm up: every pool worker started, with its weights, and the session's views path.
    const warm = blobs.filter((_, i) => i % (samples / 4 + 1) === samples / 4);
    for (const [i, b] of warm.entries()) await session.addSample(`warm ${i % 2}`, b);
    const views = () => (alone ? session.call("embedViews", [4]) : session.embedViews(4));
    while (await views() > 0);
    const timed = blobs.filter((_, i) => i % (samples / 4 + 1) !== samples / 4);
    const t0 = performance.now();
    for (const [i, b] of timed.entries()) await session.addSample(label(i), b);
    const t1 = performance.now();
    while (await views() > 0);
    const t2 = performance.now();
    return { pool: client.pool?.members.length ?? 0, frames: (t1 - t0) / 1000, views: (t2 - t1) / 1000, backend: session.info().placement.backbone };
  }, { photos, samples: SAMPLES, alone: variant === "alone" });
  await context.close();
  return result;
}

const host = await serveFolders({ "/": DIST, "/__assets__/": ASSETS, "/pool.html": { type: "text/html", body: "<!doctype html><meta charset=utf-8><title>pool</title><link rel=icon href=data:,>" } });
const browser = await launch();
const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
const load = [];
for (let r = 0; r < ROUNDS; r += 1) {
  for (const variant of VARIANTS) {
    load.push(loadavg()[0]);
    runs[variant].push(await round(browser, host.url, variant));
    console.error(`round ${r + 1}, ${variant}: ${JSON.stringify(runs[variant].at(-1))}`);
  }
}
await browser.close();
host.server.close();

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const range = (values, f) => `${f(Math.min(...values))}–${f(Math.max(...values))}`;
console.log(`MobileNetV2, automatic backend (${runs[VARIANTS[0]][0].backend}), ${SAMPLES} samples, 4 views each; ${ROUNDS} interleaved rounds; ` +
  `${cpus().length} cores; load average ${load.map((l) => l.toFixed(1)).join(", ")}`);
console.log("| views embedded by | pool workers | frames/s | views/s | samples with 4 views/s | spread | vs the session alone |");
console.log("|---|---|---|---|---|---|---|");
const whole = (r) => SAMPLES / (r.frames + r.views);
const base = median(runs[VARIANTS[0]].map(whole));
for (const variant of VARIANTS) {
  const rs = runs[variant];
  const m = median(rs.map(whole));
  const who = variant === "alone" ? "the session's worker" : "the pool and the session's worker";
  console.log(`| ${who} | ${median(rs.map((r) => r.pool))} | ${median(rs.map((r) => SAMPLES / r.frames)).toFixed(1)} | ` +
    `${median(rs.map((r) => (SAMPLES * 4) / r.views)).toFixed(1)} | ${m.toFixed(2)} | ${range(rs.map(whole), (v) => v.toFixed(2))} | ${(m / base).toFixed(2)}× |`);
}
