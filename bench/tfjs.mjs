// Side-by-side benchmark of our pipeline and TensorFlow.js in the same headless Chromium, in one
// run (not a test): feature extraction per frame (MobileNetV1 0.25, the same TF.js weights, on
// WebGPU and on the CPU: ours wgpu / flex-in-wasm, TF.js webgpu / wasm; MobileNetV2 and
// EfficientNet-Lite0 ours alone, as TF.js has no same-weights path for them), head training,
// cold start with bytes downloaded, and memory with many samples. Writes bench/results/tfjs.json
// and tfjs.md, and prints the table.
//   node bench/tfjs.mjs [--frames N] [--only features,head,cold,memory] [--head-webgpu] [--samples 1000,20000]
//   (see bench/tfjs.sh)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus, homedir } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, launch, serveFolders } from "../tests/browser/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const FRAMES = Number(option("--frames", 50));
const ONLY = option("--only", "features,head,cold,memory").split(",");
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = readdirSync(DATASET).filter((d) => /^\d$/.test(d)).sort();
const photoUrls = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);
/** Multiply-adds per 224 px frame (the papers' figures), for GFLOP/s. */
const MACS = { mobilenet_v1_025: 41e6, mobilenet_v2: 300e6, efficientnet_lite0: 407e6 };

/** 10 classes × 100 MobileNetV2 embeddings of real photos, computed once by the native CLI. */
function embeddings() {
  const cache = join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/magpie/target"), "bench-embeddings-mobilenet_v2.json");
  if (!existsSync(cache)) {
    const bin = join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/magpie/target"), "release/magpie");
    const rows = [];
    for (const digit of DIGITS) {
      const files = readdirSync(join(DATASET, digit)).sort().slice(0, 100).map((f) => join(DATASET, digit, f));
      const out = execFileSync(bin, ["features", "--backbone", "mobilenet_v2", ...files], { cwd: ROOT, maxBuffer: 1 << 30, encoding: "utf8" });
      for (const line of out.trim().split("\n")) rows.push({ label: digit, features: JSON.parse(line).features });
    }
    writeFileSync(cache, JSON.stringify({ backbone: "mobilenet_v2", dim: rows[0].features.length, rows }));
  }
  return readFileSync(cache);
}

const server = await serveFolders({
  "/": DIST, "/__assets__/": ASSETS, "/bench/": join(ROOT, "bench"), "/tfjs/": join(ROOT, "node_modules/@tensorflow"),
  ...(ONLY.includes("head") ? { "/bench-data/embeddings.json": { type: "application/json", body: embeddings() } } : {}),
});
const browser = await launch(["--enable-precise-memory-info"]);

/** Runs `fn(params)` of the bench page in a fresh context (empty cache); also the bytes the
 * page downloaded (resource timing; the benchmark photos and data aside). */
async function run(fn, params) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const downloaded = () => page.evaluate(() => performance.getEntriesByType("resource")
    .filter((e) => !/__assets__\/datasets|bench-data/.test(e.name))
    .reduce((sum, e) => sum + e.encodedBodySize, 0));
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}bench/tfjs.html`);
  await page.waitForFunction(() => window.benchReady === true);
  try {
    const result = await page.evaluate(async ([fn, params]) => {
      if (params.embeddingsUrl) params.embeddings = await (await fetch(params.embeddingsUrl)).json();
      return window.bench[fn](params);
    }, [fn, params]);
    return Array.isArray(result) ? result : { ...result, bytes: await downloaded() };
  } catch (error) {
    return { error: String(error.message ?? error).split("\n")[0], errors };
  } finally {
    await context.close();
  }
}

// Sections not measured in this run keep their last results (`--only` reruns a part).
const previous = existsSync(join(ROOT, "bench/results/tfjs.json")) ? JSON.parse(readFileSync(join(ROOT, "bench/results/tfjs.json"), "utf8")) : {};
const results = { ...previous, machine: `${cpus().length} × ${cpus()[0].model}, headless Chromium ${browser.version()}, WebGPU on SwiftShader`, date: new Date().toISOString(), frames: FRAMES };
const photos = photoUrls("0", 4).concat(photoUrls("5", 4));
const log = (...parts) => console.error(new Date().toISOString().slice(11, 19), ...parts);

if (ONLY.includes("features")) {
  results.agreement = await run("agreement", { photos, oursBackend: "cpu", tfjsBackend: "wasm" });
  log("agreement", JSON.stringify(results.agreement));
  results.features = [];
  const cases = [];
  for (const batch of [1, 8]) {
    for (const [ours, theirs] of [["wgpu", "webgpu"], ["cpu", "wasm"]]) {
      cases.push({ backbone: "mobilenet_v1_025", batch, ours, theirs });
    }
  }
  for (const backbone of ["mobilenet_v2", "efficientnet_lite0"]) {
    for (const batch of [1, 8]) for (const ours of ["wgpu", "cpu"]) cases.push({ backbone, batch, ours, theirs: null });
  }
  for (const c of cases) {
    const frames = c.ours === "wgpu" && c.backbone !== "mobilenet_v1_025" ? Math.min(FRAMES, 16) : FRAMES;
    const ours = await run("features", { impl: "ours", backbone: c.backbone, backend: c.ours, batch: c.batch, frames, photos });
    const theirs = c.theirs && await run("features", { impl: "tfjs", backbone: c.backbone, backend: c.theirs, batch: c.batch, frames, photos });
    delete ours.first;
    if (theirs) delete theirs.first;
    results.features.push({ backbone: c.backbone, batch: c.batch, oursBackend: c.ours, theirs: c.theirs, frames, ours, tfjs: theirs });
    log("features", JSON.stringify(results.features.at(-1)));
  }
}

if (ONLY.includes("head")) {
  results.head = [];
  // The CPU pair: our automatic placement puts a head this small on the CPU (measured per
  // page), and on emulated WebGPU (SwiftShader) either library's 3,150 small steps take many
  // minutes. `--head-webgpu` adds the WebGPU pair.
  const pairs = args.includes("--head-webgpu") ? [["cpu", "wasm"], ["wgpu", "webgpu"]] : [["cpu", "wasm"]];
  for (const [ours, theirs] of pairs) {
    const params = { epochs: 50, embeddingsUrl: "/bench-data/embeddings.json" };
    const row = { ours: ours, theirs, oursResult: await run("head", { ...params, impl: "ours", backend: ours }),
      tfjsResult: await run("head", { ...params, impl: "tfjs", backend: theirs }) };
    results.head.push(row);
    log("head", JSON.stringify(row));
  }
}

if (ONLY.includes("cold")) {
  const wasm = readFileSync(join(DIST, "magpie_bg.wasm"));
  results.wasm = { raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length };
  results.cold = [];
  for (const [ours, theirs] of [["cpu", "wasm"], ["wgpu", "webgpu"]]) {
    const row = { ours, theirs, oursResult: await run("coldStart", { impl: "ours", backend: ours, photos }),
      tfjsResult: await run("coldStart", { impl: "tfjs", backend: theirs, photos }) };
    results.cold.push(row);
    log("cold", JSON.stringify(row));
  }
}

if (ONLY.includes("memory")) {
  results.memory = await run("memory", { counts: option("--samples", "1000,20000").split(",").map(Number), side: 320, photo: photos[0] });
  log("memory", JSON.stringify(results.memory));
}

await browser.close();
server.server.close();
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/tfjs.json"), `${JSON.stringify(results, null, 2)}\n`);
const table = markdown(results);
writeFileSync(join(ROOT, "bench/results/tfjs.md"), table);
console.log(table);

/** The results as Markdown tables. */
function markdown(r) {
  const ms = (x) => (x == null ? "–" : `${x.toFixed(1)} ms`);
  const ratio = (a, b) => (a == null || b == null ? "–" : `**${(a / b).toFixed(2)}×**`);
  const mb = (x) => `${(x / 2 ** 20).toFixed(1)} MB`;
  const lines = [`Machine: ${r.machine}; ${r.date.slice(0, 10)}.`, ""];
  if (r.features) {
    lines.push(`Feature extraction per frame (median / p90 over ≥ ${r.frames} frames after warm-up; fewer on emulated WebGPU for the big backbones). Ours and TF.js give the same features: max relative difference ${r.agreement?.relativeDifference?.toExponential(1) ?? "–"}.`, "",
      "| backbone | backend (ours / TF.js) | batch | ours median / p90 | TF.js median / p90 | ours / TF.js | ours G multiply-adds/s |", "|---|---|---|---|---|---|---|");
    for (const f of r.features) {
      const gflops = f.ours.median ? (MACS[f.backbone] / (f.ours.median / 1000) / 1e9).toFixed(2) : "–";
      lines.push(`| ${f.backbone} | ${f.oursBackend} / ${f.theirs ?? "–"} | ${f.batch} | ${f.ours.error ?? `${ms(f.ours.median)} / ${ms(f.ours.p90)}`} | ${f.tfjs ? (f.tfjs.error ?? `${ms(f.tfjs.median)} / ${ms(f.tfjs.p90)}`) : "–"} | ${f.tfjs ? ratio(f.ours.median, f.tfjs.median) : "–"} | ${gflops} |`);
    }
    lines.push("");
  }
  if (r.head) {
    lines.push("Head training: 10 classes × 100 MobileNetV2 embeddings of real photos, Dense(100, relu) → Dense(10), Adam 1e-3, batch 16, 50 epochs, no validation split.", "",
      "| backend (ours / TF.js) | ours | TF.js | ours / TF.js | final training accuracy (ours / TF.js) |", "|---|---|---|---|---|");
    for (const h of r.head) {
      const [o, t] = [h.oursResult, h.tfjsResult];
      lines.push(`| ${h.ours} / ${h.theirs} | ${o.error ?? ms(o.ms)} | ${t.error ?? ms(t.ms)} | ${ratio(o.ms, t.ms)} | ${o.accuracy?.toFixed(3) ?? "–"} / ${t.accuracy?.toFixed(3) ?? "–"} |`);
    }
    lines.push("");
  }
  if (r.cold) {
    lines.push(`Cold start, MobileNetV1 0.25 (empty cache): page open → model ready → first prediction, and bytes downloaded. Our wasm: ${mb(r.wasm.raw)} (${mb(r.wasm.gzip)} gzipped).`, "",
      "| backend (ours / TF.js) | ours ready / first prediction | TF.js ready / first prediction | ours / TF.js (first prediction) | downloaded (ours / TF.js) |", "|---|---|---|---|---|");
    for (const c of r.cold) {
      const [o, t] = [c.oursResult, c.tfjsResult];
      lines.push(`| ${c.ours} / ${c.theirs} | ${o.error ?? `${ms(o.readyMs)} / ${ms(o.firstPredictionMs)}`} | ${t.error ?? `${ms(t.readyMs)} / ${ms(t.firstPredictionMs)}`} | ${ratio(o.firstPredictionMs, t.firstPredictionMs)} | ${mb(o.bytes)} / ${mb(t.bytes)} |`);
    }
    lines.push("");
  }
  if (r.memory) {
    lines.push("Memory with captured samples (320 px frames, MobileNetV2 with the default spatial rows, 4 augmented views asked for; a session keeps fewer once its rows pass its budget):", "",
      "| samples | augmented views kept | cached rows | JS heap | wasm memory | note |", "|---|---|---|---|---|---|");
    for (const m of Array.isArray(r.memory) ? r.memory : [r.memory]) {
      const cell = (v, f) => (v === undefined || v === null ? "–" : f(v));
      lines.push(`| ${m.samples ?? "–"} | ${cell(m.views, String)} | ${cell(m.cachedBytes, mb)} | ${cell(m.jsHeap, mb)} | ${cell(m.wasm, mb)} | ${m.failed ?? m.error ?? ""} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
