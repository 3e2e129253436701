// Side-by-side benchmark of our pipeline and TensorFlow.js / LiteRT in the same headless Chromium,
// in one run (not a test). Feature extraction per frame on the same networks and weights: ours on
// the CPU (flex in wasm) against LiteRT (tfjs-tflite, XNNPACK, one thread) on the .tflite file our
// MobileNetV2 was imported from, and against TF.js wasm; ours on WebGPU against TF.js WebGPU and
// WebGL. MobileNetV1 0.25 is the TF.js demo's model; TF.js's MobileNetV2 and EfficientNet-Lite0
// are layers models written from our f32 records (examples/tfjs_layers.rs); ours runs the records
// the app serves (int8 MobileNetV2 and EfficientNet-Lite0: integer 1x1 products). Rounds interleave
// ours and theirs (at least 3); each row prints the median of the rounds' medians, their spread
// and the median p90, with the machine's load. Also head training, cold start with bytes
// downloaded, and memory with many samples. Writes bench/results/tfjs.json and tfjs.md, and
// prints the table.
//   node bench/tfjs.mjs [--frames N] [--rounds R] [--backends cpu,wgpu] [--dist DIR] [--only features,head,cold,memory] [--head-webgpu] [--samples 1000,20000]
//   (see bench/tfjs.sh)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus, homedir, loadavg } from "node:os";
import { join } from "node:path";
import { ASSETS, DIST, ROOT, launch, serveFolders } from "../tests/browser/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const FRAMES = Number(option("--frames", 30));
const ROUNDS = Math.max(3, Number(option("--rounds", 3)));
const ONLY = option("--only", "features,head,cold,memory").split(",");
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const DIGITS = readdirSync(DATASET).filter((d) => /^\d$/.test(d)).sort();
const photoUrls = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);
const TFLITE_VERSION = "0.0.1-alpha.10";
/** Feature-extraction groups: one measurement of ours, then each reference `[impl, backend]`. */
const ALL_GROUPS = [
  { backbone: "mobilenet_v2", batch: 1, ours: "cpu", theirs: [["tflite", "wasm"], ["tfjs", "wasm"]] },
  { backbone: "efficientnet_lite0", batch: 1, ours: "cpu", theirs: [["tfjs", "wasm"]] },
  { backbone: "mobilenet_v1_025", batch: 1, ours: "cpu", theirs: [["tfjs", "wasm"]] },
  { backbone: "mobilenet_v1_025", batch: 8, ours: "cpu", theirs: [["tfjs", "wasm"]] },
  { backbone: "mobilenet_v2", batch: 1, ours: "wgpu", theirs: [["tfjs", "webgpu"], ["tfjs", "webgl"]] },
  { backbone: "mobilenet_v1_025", batch: 1, ours: "wgpu", theirs: [["tfjs", "webgpu"]] },
];
const BACKENDS = option("--backends", "cpu,wgpu").split(",");
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

const CACHE = join(homedir(), ".cache/magpie");
/** TF.js layers models of MobileNetV2 and EfficientNet-Lite0 from our f32 records (written once). */
function tfjsLayers() {
  const folder = join(CACHE, "tfjs-layers");
  for (const backbone of ["mobilenet_v2", "efficientnet_lite0"]) {
    if (!existsSync(join(folder, backbone, "weights.bin"))) {
      execFileSync("cargo", ["run", "--quiet", "--release", "--example", "tfjs_layers", "--", backbone, join(folder, backbone)], { cwd: ROOT, stdio: "inherit" });
    }
  }
  return `${folder}/`;
}
/** The tfjs-tflite package (its peer dependencies pin TF.js 3, so it is unpacked here rather than
 * installed beside TF.js 4; it runs on TF.js 4's core). */
function tfliteRuntime() {
  const folder = join(CACHE, `tfjs-tflite-${TFLITE_VERSION}`);
  if (!existsSync(join(folder, "package/wasm/tflite_web_api_cc_simd.wasm"))) {
    mkdirSync(folder, { recursive: true });
    const tarball = execFileSync("npm", ["pack", "--silent", `@tensorflow/tfjs-tflite@${TFLITE_VERSION}`], { cwd: folder, encoding: "utf8" }).trim();
    execFileSync("tar", ["xzf", tarball], { cwd: folder });
  }
  return join(folder, "package/");
}

const server = await serveFolders({
  "/": option("--dist", DIST), "/tflite/": tfliteRuntime(), "/bench-data/tfjs-layers/": tfjsLayers(), "/__assets__/": ASSETS, "/bench/": join(ROOT, "bench"), "/tfjs/": join(ROOT, "node_modules/@tensorflow"),
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
  results.agreement = [];
  for (const backbone of ["mobilenet_v1_025", "mobilenet_v2", "efficientnet_lite0"]) {
    results.agreement.push({ backbone, ...await run("agreement", { backbone, photos, oursBackend: "cpu", tfjsBackend: "wasm" }) });
    log("agreement", JSON.stringify(results.agreement.at(-1)));
  }
  // Each group: one measurement of ours, then each reference, in every round (ours, theirs,
  // ours, theirs…), so that a slow spell of the machine hits both sides.
  const groups = ALL_GROUPS.filter((g) => BACKENDS.includes(g.ours));
  const rounds = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const measured = { load: loadavg()[0], results: [] };
    for (const g of groups) {
      // Emulated WebGPU runs the big backbones at seconds per frame: fewer frames there.
      const frames = g.ours === "wgpu" && g.backbone !== "mobilenet_v1_025" ? Math.min(FRAMES, 6) : FRAMES;
      const params = { backbone: g.backbone, batch: g.batch, frames, photos };
      const ours = await run("features", { ...params, impl: "ours", backend: g.ours });
      const theirs = [];
      for (const [impl, backend] of g.theirs) theirs.push(await run("features", { ...params, impl, backend }));
      // The frame times in order, for finding a tail; the results keep the statistics.
      log("frames (ms)", [ours, ...theirs].map((r) => (r.times ?? []).map((t) => t.toFixed(1)).join(" ")).join(" | "));
      for (const r of [ours, ...theirs]) { delete r.times; delete r.first; }
      measured.results.push({ ours, theirs });
      log(`round ${round + 1}`, g.backbone, g.batch, g.ours, JSON.stringify({ ours: ours.median ?? ours.error, theirs: theirs.map((t) => t.median ?? t.error) }));
    }
    measured.loadAfter = loadavg()[0];
    rounds.push(measured);
  }
  results.rounds = rounds.map((r) => [r.load, r.loadAfter]);
  results.features = groups.flatMap((g, i) => g.theirs.map(([impl, backend], j) => {
    const ours = rounds.map((r) => r.results[i].ours);
    const theirs = rounds.map((r) => r.results[i].theirs[j]);
    return {
      backbone: g.backbone, batch: g.batch, oursBackend: g.ours, theirs: `${impl === "tflite" ? "LiteRT" : "TF.js"} ${backend}`,
      ours: summary(ours), tfjs: summary(theirs),
      ratios: ours.map((o, k) => (o.median && theirs[k].median ? o.median / theirs[k].median : null)).filter((x) => x !== null),
    };
  }));
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

/** Median of `values`. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null;
}

/** One side of a row over the rounds: median of the rounds' medians, their range, median p90. */
function summary(runs) {
  const ok = runs.filter((r) => r.median);
  if (!ok.length) return { error: runs.find((r) => r.error)?.error ?? "no result" };
  const medians = ok.map((r) => r.median);
  return { median: median(medians), min: Math.min(...medians), max: Math.max(...medians), p90: median(ok.map((r) => r.p90)), rounds: ok.length };
}

/** The results as Markdown tables. */
function markdown(r) {
  const ms = (x) => (x == null ? "–" : `${x.toFixed(1)} ms`);
  const ratio = (a, b) => (a == null || b == null ? "–" : `**${(a / b).toFixed(2)}×**`);
  const mb = (x) => `${(x / 2 ** 20).toFixed(1)} MB`;
  const lines = [`Machine: ${r.machine}; ${r.date.slice(0, 10)}.`, ""];
  if (r.features) {
    const agreement = (r.agreement ?? []).map((a) => `${a.backbone} ${a.relativeDifference?.toExponential(1) ?? a.error}`).join(", ");
    const loads = (r.rounds ?? []).map(([a, b]) => `${a.toFixed(1)}→${b.toFixed(1)}`).join(", ");
    lines.push(`Feature extraction per frame: ${r.rounds?.length ?? "–"} interleaved rounds (ours, then each reference) of ${r.frames} frames (6 on emulated WebGPU for the big backbones) after a warm-up of at least 3 frames and 1 s (V8's tier-up of the wasm, ours and theirs); each cell is the median of the rounds' medians [their range] and the median p90. Machine load (1-minute average) per round: ${loads}. Ours and TF.js's features, same photo: max relative difference ${agreement}. LiteRT runs the int8 .tflite file our MobileNetV2 record was imported from (its 1001 logits; ours: the pooled features). Ours runs the records the app serves: on the CPU, MobileNetV2's and EfficientNet-Lite0's int8 weights make its 1x1 products integer ones (int8 weights × 16-bit activation codes, exact 32-bit sums), where TF.js runs the f32 weights (EfficientNet-Lite0's: the f32 record the int8 one was rounded from); MobileNetV1 0.25 runs in f32 on both sides (ours from its f16 record). WebGPU and WebGL are SwiftShader (CPU emulation) here.`, "",
      "| backbone | batch | ours | median [range] / p90 | reference | median [range] / p90 | ours / reference [range] | ours G multiply-adds/s |", "|---|---|---|---|---|---|---|---|");
    const cell = (x) => x.error ?? `${ms(x.median)} [${x.min.toFixed(1)}–${x.max.toFixed(1)}] / ${ms(x.p90)}`;
    for (const f of r.features) {
      const gflops = f.ours.median ? (MACS[f.backbone] / (f.ours.median / 1000) / 1e9).toFixed(2) : "–";
      const spread = f.ratios.length ? ` [${Math.min(...f.ratios).toFixed(2)}–${Math.max(...f.ratios).toFixed(2)}]` : "";
      lines.push(`| ${f.backbone} | ${f.batch} | ${f.oursBackend} | ${cell(f.ours)} | ${f.theirs} | ${cell(f.tfjs)} | ${ratio(f.ours.median, f.tfjs.median)}${spread} | ${gflops} |`);
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
