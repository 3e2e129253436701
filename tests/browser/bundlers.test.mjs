// The packed widget package where web developers build, with no configuration: fresh Vite and
// webpack 5 apps (tests/bundlers/) install the tarball scripts/package.sh makes and are built
// for production by the real bundler (and run by its dev server), then served by a plain static
// server: <magpie-classifier> names a real photo with a model trained by `magpie train`, the
// JS API (`magpie-classifier/api`) classifies another on EfficientNet-Lite0, <magpie-trainer>
// starts on MobileNetV2 — so the worker, the wasm and all three weight records went through the
// bundler — and no request fails or leaves the page's origin. The Vite app's TypeScript
// type-checks (strict) against the installed package; publint and arethetypeswrong find nothing
// in the tarball. The package folder hosted as is, with `configure({ assetsUrl })` wrong, a
// weight record missing or the wasm replaced by a page: one `error` event naming the URL that
// failed and what to do, and no unhandled rejection.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, ROOT, fakeCamera, serveFolders, useBrowser } from "./harness.mjs";

const APPS = join(ROOT, "tests/bundlers");
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const IMAGES = join(ASSETS, "images");
const MAGPIE = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, ".cache/magpie/target"), "release/magpie");
const env = useBrowser();
const made = {};

const digits = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n);
/** The labels `coffee.png` may get (tests/fixtures/expected.tsv). */
const COFFEE = readFileSync(join(ROOT, "tests/fixtures/expected.tsv"), "utf8").split("\n")
  .find((line) => line.startsWith("coffee.png\t")).split("\t")[1].split("|");

/** Runs `command` in `cwd`, failing the test with its output when it fails. */
function run(cwd, command, args) {
  const done = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(done.status, 0, `${command} ${args.join(" ")}:\n${done.stdout}\n${done.stderr}`);
  return done.stdout;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "magpie-bundlers-"));
  run(ROOT, "bash", ["scripts/package.sh", join(dir, "package")]);
  made.package = join(dir, "package");
  made.tarball = join(dir, readdirSync(dir).find((f) => /^magpie-classifier-.*\.tgz$/.test(f)));
  // A model of two sign digits, trained by the CLI on 12 photos each (MobileNetV1 0.25).
  const data = join(dir, "data");
  for (const [name, digit] of [["zero", "0"], ["five", "5"]]) {
    mkdirSync(join(data, name), { recursive: true });
    for (const file of digits(digit, 0, 12)) symlinkSync(join(DATASET, digit, file), join(data, name, file));
  }
  made.model = join(dir, "model.bpk");
  run(ROOT, MAGPIE, ["train", "--backbone", "mobilenet_v1_025", "--data", data, "--out", made.model]);
  // Each app gets the tarball as a user's `npm install` would, and the files its page shows.
  for (const app of ["vite", "webpack"]) {
    run(join(APPS, app), "npm", ["install", "--no-save", "--prefer-offline", "--no-audit", "--no-fund", made.tarball]);
    const pub = join(APPS, app, "public");
    rmSync(pub, { recursive: true, force: true });
    mkdirSync(pub);
    cpSync(made.model, join(pub, "model.bpk"));
    cpSync(join(DATASET, "5", digits("5", 40, 1)[0]), join(pub, "photo.jpg"));
    cpSync(join(IMAGES, "coffee.png"), join(pub, "imagenet.png"));
  }
});

const servers = [];
after(() => {
  for (const s of servers) s.kill?.() ?? s.close?.();
});

/** A free TCP port on 127.0.0.1. */
async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** Starts a dev server (`command args`, in `cwd`) and resolves to its URL once it answers. */
async function devServer(cwd, command, args, port) {
  const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  servers.push(child);
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  const url = `http://127.0.0.1:${port}/`;
  for (const start = Date.now(); Date.now() - start < 120_000;) {
    if (child.exitCode !== null) break;
    if (await fetch(url).then((r) => r.ok, () => false)) return url;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${command} ${args.join(" ")} did not start:\n${output}`);
}

/** Opens the app at `url` and waits until the widgets and the API are done (or one failed):
 * what they reported, and every request the page and its workers made. */
async function runApp(url) {
  const context = await env.browser.newContext();
  await context.addInitScript(fakeCamera);
  const requests = [];
  const failures = [];
  context.on("request", (r) => requests.push(r.url()));
  context.on("requestfailed", (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
  context.on("response", (r) => r.status() >= 400 && failures.push(`${r.url()}: HTTP ${r.status()}`));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  const done = (seen) => seen.some((s) => s.event === "error")
    || (seen.some((s) => s.event === "prediction") && seen.some((s) => s.event === "trainer ready"));
  await page.waitForFunction(`(${done})(window.seen ?? [])`, null, { timeout: 240_000 });
  const imagenet = await page.evaluate(() => window.imagenet("/imagenet.png")).catch((e) => `failed: ${e.message}`);
  const seen = await page.evaluate(() => window.seen);
  const workers = page.workers().length;
  await context.close();
  return { seen, imagenet, requests, failures, errors, workers };
}

/** The checks every app must pass, on what `runApp` saw at `url`. */
function assertWorks(url, { seen, imagenet, requests, failures, errors, workers }) {
  assert.deepEqual(seen.filter((s) => s.event === "error"), [], "no widget error");
  assert.deepEqual(seen.find((s) => s.event === "classifier ready").detail, ["five", "zero"].sort());
  assert.equal(seen.find((s) => s.event === "prediction").detail.label, "five", JSON.stringify(seen));
  assert.ok(COFFEE.includes(imagenet), `the API's top class of coffee.png: ${imagenet} (one of ${COFFEE})`);
  assert.deepEqual(failures, []);
  assert.deepEqual(errors, []);
  assert.ok(workers >= 1, "the engine runs in its worker, not on the page");
  const origin = new URL(url).host;
  const away = requests.filter((r) => /^(https?|wss?):/.test(r) && new URL(r).host !== origin);
  assert.deepEqual(away, [], "no request leaves the page's origin");
  // The engine's files came from the build: the wasm, and each backbone's weights once (under
  // the bundler's names: webpack's are hashes only).
  assert.ok(requests.some((r) => /\.wasm(\?|$)/.test(r)), `the wasm was requested: ${requests.join("\n")}`);
  const weights = requests.filter((r) => /\.bpk(\?|$)/.test(r) && !r.endsWith("/model.bpk"));
  assert.ok(weights.length === 3 && new Set(weights).size === 3, `three weight records, once each: ${requests.join("\n")}`);
}

/** Builds `app` for production (its bundler, `args`), checks that the build emitted the wasm
 * and the three weight records (in `assets`, under dist/), and serves dist/ statically with
 * the app's public files; resolves to its URL. */
async function buildAndServe(app, args, assets = "") {
  const folder = join(APPS, app);
  run(folder, join(folder, "node_modules/.bin", app), args);
  const emitted = readdirSync(join(folder, "dist", assets));
  assert.ok(emitted.some((f) => f.endsWith(".wasm")) && emitted.filter((f) => f.endsWith(".bpk")).length === 3, `emitted: ${emitted}`);
  const file = (name, type) => ({ type, body: readFileSync(join(folder, "public", name)) });
  const host = await serveFolders({ "/": join(folder, "dist"), "/model.bpk": file("model.bpk", "application/octet-stream"),
    "/photo.jpg": file("photo.jpg", "image/jpeg"), "/imagenet.png": file("imagenet.png", "image/png") });
  servers.push(host.server);
  return host.url;
}

/** Starts `app`'s dev server (its bundler, `args` then the port) and resolves to its URL. */
async function startDevServer(app, args) {
  const port = await freePort();
  return devServer(join(APPS, app), join(APPS, app, "node_modules/.bin", app), [...args, String(port)], port);
}

test("publint and arethetypeswrong find nothing in the packed tarball", () => {
  const lint = run(ROOT, join(ROOT, "node_modules/.bin/publint"), ["--strict", made.package]);
  assert.doesNotMatch(lint, /warning|error|suggestion/i, lint);
  // An ES-module-only package for browsers: node10 and CommonJS `require` resolution do not apply.
  // Its exit status is its verdict; a problem it does not ignore shows as ❌ or 💀.
  const types = run(ROOT, join(ROOT, "node_modules/.bin/attw"), [made.tarball, "--profile", "esm-only", "--format", "table"]);
  assert.doesNotMatch(types, /❌|💀/, types);
});

test("a Vite app: types check (strict), `vite build` served statically runs both widgets and the API", async () => {
  run(join(APPS, "vite"), join(APPS, "vite/node_modules/.bin/tsc"), ["--noEmit", "-p", "."]);
  const url = await buildAndServe("vite", ["build"], "assets");
  assertWorks(url, await runApp(url));
});

test("a Vite app on Vite's dev server runs both widgets and the API", async () => {
  const url = await startDevServer("vite", ["--host", "127.0.0.1", "--strictPort", "--port"]);
  assertWorks(url, await runApp(url));
});

test("a webpack 5 app: `webpack --mode production` served statically runs both widgets and the API", async () => {
  const url = await buildAndServe("webpack", ["--mode", "production"]);
  assertWorks(url, await runApp(url));
});

test("a webpack 5 app on webpack's dev server runs both widgets and the API", async () => {
  const url = await startDevServer("webpack", ["serve", "--mode", "development", "--port"]);
  assertWorks(url, await runApp(url));
});

/** A page on one origin with the package folder at /pkg/ (its files replaced or removed as
 * `routes` says) and a classifier of the trained model; `assetsUrl`, when given, is configured
 * first. Resolves to the widget's `error` events, whether it predicted, the page's uncaught
 * errors and the URLs it requested, once the first error or prediction came and the page had
 * time to report more. */
async function failingPage({ routes = {}, remove = [], assetsUrl }) {
  const folder = mkdtempSync(join(tmpdir(), "magpie-pkg-"));
  cpSync(made.package, folder, { recursive: true });
  for (const file of remove) rmSync(join(folder, file));
  const module = `import { configure } from "/pkg/www/widgets.js";
${assetsUrl ? `configure({ assetsUrl: ${JSON.stringify(assetsUrl)} });` : ""}
window.failures = [];
const widget = document.createElement("magpie-classifier");
widget.addEventListener("error", (e) => window.failures.push(e.detail.message));
widget.addEventListener("prediction", () => window.predicted = true);
widget.setAttribute("source", "photo");
widget.setAttribute("model", "/model.bpk");
document.body.append(widget);`;
  const host = await serveFolders({
    "/": { type: "text/html", body: `<!doctype html><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,"><img id="photo" src="/photo.jpg" alt=""><script type="module" src="/main.js"></script>` },
    "/main.js": { type: "text/javascript", body: module },
    "/model.bpk": { type: "application/octet-stream", body: readFileSync(made.model) },
    "/photo.jpg": { type: "image/jpeg", body: readFileSync(join(APPS, "vite/public/photo.jpg")) },
    "/pkg/": folder,
    ...Object.fromEntries(Object.entries(routes).map(([path, route]) => [`/pkg/${path}`, route])),
  });
  servers.push(host.server);
  const page = await env.browser.newPage();
  const errors = [];
  const requests = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(host.url);
  await page.waitForFunction(() => window.failures?.length > 0 || window.predicted, null, { timeout: 120_000 });
  // Any second error event or unhandled rejection has long arrived by the next frames' turn.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const failures = await page.evaluate(() => window.failures);
  const predicted = await page.evaluate(() => window.predicted ?? false);
  await page.close();
  return { failures, errors, predicted, requests };
}

test("configure({ assetsUrl }) at another origin (a CDN): the engine's module, wasm and weights come from there", async () => {
  const cdn = await serveFolders({ "/magpie/": made.package }, { cors: true });
  servers.push(cdn.server);
  const { failures, errors, predicted, requests } = await failingPage({ assetsUrl: `${cdn.url}magpie/` });
  assert.deepEqual(failures, []);
  assert.ok(predicted);
  assert.deepEqual(errors, []);
  for (const file of ["magpie.js", "magpie_bg.wasm", "www/weights/mobilenet_v1_025.f16.bpk"]) {
    assert.ok(requests.includes(`${cdn.url}magpie/${file}`), `${file} from the CDN: ${requests.join("\n")}`);
  }
});

test("a wrong assetsUrl: one error event naming the worker's URL, its status and configure()", async () => {
  const { failures, errors } = await failingPage({ assetsUrl: "/nowhere/" });
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.match(failures[0], /cannot start the engine's worker from http:\/\/127\.0\.0\.1:\d+\/nowhere\/www\/engine\/worker\.js \(HTTP 404\)/);
  assert.match(failures[0], /configure\(\{ assetsUrl \}\)/);
  assert.deepEqual(errors, []);
});

test("a missing weight record: one error event naming its URL, HTTP 404 and what to serve", async () => {
  const { failures, errors } = await failingPage({ remove: ["www/weights/mobilenet_v1_025.f16.bpk"] });
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.match(failures[0], /cannot load the MobileNetV1 0\.25 weights: cannot fetch http:\/\/127\.0\.0\.1:\d+\/pkg\/www\/weights\/mobilenet_v1_025\.f16\.bpk: HTTP 404/);
  assert.match(failures[0], /serve the package's www\/weights\/mobilenet_v1_025\.f16\.bpk there/);
  assert.deepEqual(errors, []);
});

test("the wasm replaced by a page: one error event naming the wasm's URL; served with a wrong type but whole, it still runs", async () => {
  const html = { type: "text/html", body: "<!doctype html><title>Not here</title>" };
  const broken = await failingPage({ routes: { "magpie_bg.wasm": html } });
  assert.equal(broken.failures.length, 1, JSON.stringify(broken.failures));
  assert.match(broken.failures[0], /cannot start the engine's wasm from http:\/\/127\.0\.0\.1:\d+\/pkg\/magpie_bg\.wasm \(.+\): serve the package's files/);
  assert.deepEqual(broken.errors, []);
  const wasm = { type: "text/plain", body: readFileSync(join(made.package, "magpie_bg.wasm")) };
  const mistyped = await failingPage({ routes: { "magpie_bg.wasm": wasm } });
  assert.deepEqual(mistyped.failures, []);
  assert.ok(mistyped.predicted);
  assert.deepEqual(mistyped.errors, []);
});
