// Shared by the browser tests: a static server for the trunk build (dist/) plus the test photos,
// and headless Debian Chromium with WebGPU on SwiftShader, driven by playwright-core.
import { createServer } from "node:http";
import { readFileSync, readdirSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { homedir } from "node:os";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const DIST = join(ROOT, "dist");
export const ASSETS = process.env.MAGPIE_ASSETS ?? join(homedir(), ".cache/magpie/assets");
/** The Sign Language Digits photos: a folder per digit. */
export const DIGITS_DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");

/** `n` photos of `digit` (in file-name order, from the `skip`th on) as files for
 * `setInputFiles`. */
export function digitFiles(digit, n, skip = 0) {
  return readdirSync(join(DIGITS_DATASET, digit)).sort().slice(skip, skip + n)
    .map((f) => ({ name: f, mimeType: "image/jpeg", buffer: readFileSync(join(DIGITS_DATASET, digit, f)) }));
}

const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg",
  ".JPG": "image/jpeg", ".bmp": "image/bmp", ".ts": "text/plain", ".bpk": "application/octet-stream", ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json",
};

/** Serves `routes` (URL path prefix → folder, or path → `{ type, body }`) on a new port, as
 * a static host does: `index.html` for a folder, an ETag with `cache-control: no-cache` (so
 * browsers revalidate and get 304 for unchanged files), and CORS and timing headers when
 * `cors` (as a package host must, for modules and wasm). */
export async function serveFolders(routes, { cors = false } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const headers = cors ? { "access-control-allow-origin": "*", "timing-allow-origin": "*" } : {};
    const fixed = routes[path];
    if (fixed && typeof fixed === "object") {
      res.writeHead(200, { ...headers, "content-type": fixed.type });
      return res.end(fixed.body);
    }
    const prefix = Object.keys(routes).filter((p) => typeof routes[p] === "string" && path.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    const rel = prefix === undefined ? null : path.slice(prefix.length) + (path.endsWith("/") ? "index.html" : "");
    const file = rel === null ? null : normalize(join(routes[prefix], rel));
    try {
      const info = file && file.startsWith(routes[prefix]) ? await stat(file) : null;
      if (!info?.isFile()) throw new Error("not found");
      const etag = `"${info.size}-${Math.round(info.mtimeMs)}"`;
      const caching = { etag, "cache-control": "no-cache" };
      if (req.headers["if-none-match"] === etag) return res.writeHead(304, { ...headers, ...caching }).end();
      res.writeHead(200, { ...headers, ...caching, "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404, headers).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

/** Path of the weight record the app serves for `backbone` (from www/weights/index.json). */
export function servedRecord(backbone) {
  const index = JSON.parse(readFileSync(join(ROOT, "www/weights/index.json"), "utf8"));
  const entry = index.find((w) => w.id === backbone);
  if (!entry) throw new Error(`${backbone} is not served (run scripts/weights.sh)`);
  return join(ROOT, "www/weights", entry.file);
}

/** Serves the trunk build at `/` and the assets (photos, datasets) at `/__assets__/`. */
export function serve() {
  return serveFolders({ "/": DIST, "/__assets__/": ASSETS });
}

/** How the tests start Chromium: headless, WebGPU on SwiftShader, nothing phoning home. */
const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader",
    "--ignore-gpu-blocklist", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--enable-features=Vulkan",
  ],
};

export async function launch(extraArgs = []) {
  return chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, ...extraArgs] });
}

/** A browser context with a profile in `userDataDir` (not incognito, unlike `launch`'s
 * contexts: what installability checks need). */
export function launchPersistent(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, CHROMIUM);
}

/** Opens the app (its first project on the small MobileNetV1 0.25, unless `query` says
 * otherwise) and waits for its JS API; page errors and console errors are collected. */
export async function openApp(browser, url, query = "?backbone=mobilenet_v1_025") {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(url + query);
  await page.waitForFunction(() => window.magpie !== undefined, null, { timeout: 60_000 });
  // Let the page's own first model load finish, so tests measure and race nothing else.
  await page.waitForFunction(() => !/^Loading/.test(document.getElementById("status").textContent), null,
    { timeout: 120_000 });
  return { page, errors };
}

/** An init script (its argument optional): cameras for getUserMedia, canvas streams cycling
 * through the photos given to `window.__camera.show(urls)` over each camera's background colour.
 * `options.devices` (`[{ deviceId, label, background }]`) lists the cameras (one by default);
 * `window.__camera.fail` (initially `options.fail`), when set to an error name such as
 * "NotAllowedError" or "NotFoundError", makes getUserMedia reject with it ("NotFoundError" also
 * empties the device list); `window.__camera.unplug()` ends every track handed out, as when a
 * camera is unplugged or taken by another app; `window.__camera.asked` counts the requests. */
export function fakeCamera(options) {
  const devices = options?.devices ?? [{ deviceId: "fake", label: "Test camera", background: "#808080" }];
  let images = [];
  const streams = new Map();
  const live = [];
  /** The canvas stream of `device`, drawn every animation frame once asked for. */
  const streamOf = (device) => {
    if (streams.has(device.deviceId)) return streams.get(device.deviceId);
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 480;
    const context = canvas.getContext("2d");
    const draw = () => {
      context.fillStyle = device.background;
      context.fillRect(0, 0, 640, 480);
      if (images.length) context.drawImage(images[Math.floor(performance.now() / 80) % images.length], 80, 0, 480, 480);
      requestAnimationFrame(draw);
    };
    draw();
    streams.set(device.deviceId, canvas.captureStream(30));
    return streams.get(device.deviceId);
  };
  window.__camera = {
    fail: options?.fail ?? null,
    /** How many times the page asked for a camera. */
    asked: 0,
    async show(urls) {
      images = await Promise.all(urls.map(async (u) => createImageBitmap(await (await fetch(u)).blob())));
      await new Promise((r) => setTimeout(r, 300));
    },
    unplug() {
      for (const track of live.splice(0)) {
        track.stop();
        track.dispatchEvent(new Event("ended"));
      }
    },
  };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__camera.asked += 1;
    const failure = window.__camera.fail;
    if (failure) throw new DOMException(`fake camera: ${failure}`, failure);
    const wanted = constraints?.video?.deviceId?.exact;
    const device = wanted ? devices.find((d) => d.deviceId === wanted) : devices[0];
    if (!device) throw new DOMException("no such camera", wanted ? "OverconstrainedError" : "NotFoundError");
    const stream = streamOf(device).clone();
    const track = stream.getVideoTracks()[0];
    const settings = track.getSettings.bind(track);
    track.getSettings = () => ({ ...settings(), deviceId: device.deviceId });
    live.push(track);
    return stream;
  };
  navigator.mediaDevices.enumerateDevices = async () => (window.__camera.fail === "NotFoundError" ? [] : devices)
    .map((d) => ({ kind: "videoinput", deviceId: d.deviceId, label: d.label, groupId: "" }));
}

/** An init script: the CPU backend (fast to start in headless Chromium, where WebGPU is
 * SwiftShader) unless a test picked another. */
export function cpuBackend() {
  if (!localStorage.getItem("magpie.backend")) localStorage.setItem("magpie.backend", "cpu");
}

/** Runs `script(arg)` at the start of every engine worker of `context`, before the engine loads
 * (an init script for the worker: the engine lives in www/engine/worker.js, which an init script
 * of the page does not reach). The worker's script is served with the call prepended. */
export async function workerInitScript(context, script, arg) {
  await context.route(/\/www\/engine\/worker\.js(\?.*)?$/, async (route) => {
    const response = await route.fetch();
    const body = `(${script})(${JSON.stringify(arg ?? null)});\n${await response.text()}`;
    await route.fulfill({ response, body, headers: { ...response.headers(), "content-type": "text/javascript" } });
  });
}

/** Keeps each engine worker's wasm memory in `self.__wasmMemories` (an init script for the
 * engine workers of `context`), for `engineMemory`. */
export function recordEngineMemory(context) {
  return workerInitScript(context, () => {
    const keep = (made) => {
      (self.__wasmMemories ??= []).push((made.instance ?? made).exports.memory);
      return made;
    };
    for (const name of ["instantiate", "instantiateStreaming"]) {
      const original = WebAssembly[name];
      WebAssembly[name] = (...args) => original.apply(WebAssembly, args).then(keep);
    }
  });
}

/** The engine workers of `page` (the session's and the embedding pool's). */
export const engineWorkers = (page) => page.workers().filter((w) => /\/www\/engine\/worker\.js/.test(w.url()));

/** Wasm memory of `page`'s engines (see `recordEngineMemory`): how many engine workers there are
 * and their bytes together. */
export async function engineMemory(page) {
  const each = await Promise.all(engineWorkers(page)
    .map((w) => w.evaluate(() => (self.__wasmMemories ?? []).reduce((sum, m) => sum + m.buffer.byteLength, 0))));
  return { engines: each.length, seen: each.every((bytes) => bytes > 0), bytes: each.reduce((sum, bytes) => sum + bytes, 0) };
}

/** Opens the app in `context` (a new page; `query` picks the first project's backbone) and
 * waits until its model is loaded; page and console errors are collected in `errors`. */
export async function openIn(context, url, query = "?backbone=mobilenet_v1_025") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(url + query);
  await untilReady(page);
  return { page, errors };
}

/** A new browser context (downloads allowed) with the CPU backend and init scripts
 * (`[function, argument]` pairs). */
export async function contextWith(browser, scripts = []) {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addInitScript(cpuBackend);
  for (const [script, argument] of scripts) await context.addInitScript(script, argument);
  return context;
}

/** Waits until the page's model is loaded. */
export async function untilReady(page) {
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
}

/** Sample counts per class, as the class cards show them. */
export async function sampleCounts(page) {
  return (await page.locator(".class-card .count").allTextContents()).map((t) => Number.parseInt(t, 10));
}

/** Presses (and keeps pressed) class `index`'s record button until its card counts at least
 * `n` samples. */
export async function pressRecord(page, index, n) {
  const button = page.locator(".class-card").nth(index).locator("button.record");
  // hover waits until the button is stable and nothing covers it, then puts the pointer on it.
  await button.hover();
  await page.mouse.down();
  await page.waitForFunction(([i, n]) => Number.parseInt(document.querySelectorAll(".class-card .count")[i].textContent, 10) >= n,
    [index, n], { timeout: 60_000 });
}

/** Holds class `index`'s record button until its card counts at least `n` samples. */
export async function holdRecord(page, index, n) {
  await pressRecord(page, index, n);
  await page.mouse.up();
}

/** Holds row `index`'s record button of the `<magpie-trainer id="trainer">` widget until the row
 * counts at least `n` samples. */
export async function holdTrainerRecord(page, index, n) {
  const button = page.locator("magpie-trainer .classes .row").nth(index).locator("button");
  await button.hover();
  await page.mouse.down();
  await page.waitForFunction(([i, n]) => Number.parseInt(document.getElementById("trainer").shadowRoot.querySelectorAll(".count")[i].textContent, 10) >= n,
    [index, n], { timeout: 60_000 });
  await page.mouse.up();
}

/** Starts the page's camera unless it is on already (recording turns it on). */
export async function cameraOn(page) {
  if (!(await page.evaluate(() => window.magpie.app.camera.on))) await page.click("#camera-toggle");
}

/** Waits until every captured frame is encoded, saved (or refused) and embedded. */
export async function settled(page) {
  await page.waitForFunction(() => window.magpie.app.project.pending === 0, null, { timeout: 120_000 });
  await page.evaluate(() => window.magpie.app.project.queue);
}

/** Sets quick training settings (no augmentation, `epochs` epochs) through the form. */
export async function quickSettings(page, epochs = 10) {
  await page.locator("details summary", { hasText: "Advanced settings" }).click();
  await page.fill("#setting-epochs", String(epochs));
  await page.locator("#setting-epochs").dispatchEvent("change");
  await page.fill("#setting-views", "0");
  await page.locator("#setting-views").dispatchEvent("change");
}

/** Makes the page's trainings run every epoch (no early stopping), so that a test can act while
 * one runs: a few samples train in milliseconds an epoch and would stop early within a second. */
export async function noEarlyStop(page) {
  await page.evaluate(() => {
    const project = window.magpie.app.project;
    const train = project.train.bind(project);
    project.train = (options, ...callbacks) => train({ ...options, patience: 0 }, ...callbacks);
  });
}

/** Clicks Train and waits for training to end; returns the status line. */
export async function trainAndWait(page) {
  await page.waitForFunction(() => !document.getElementById("train").disabled, null, { timeout: 120_000 });
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped early|failed)/.test(document.getElementById("status").textContent), null,
    { timeout: 300_000 });
  return page.textContent("#status");
}

/** Clicks `selector` and returns the bytes it downloads. */
export async function downloadOf(page, selector) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return readFileSync(await download.path());
}

/** What a project file's bytes hold, read by the page's own `readProject`: `{ samples (per
 * class), model (whether it has one) }`. */
export function projectFileContents(page, bytes) {
  return page.evaluate(async (bytes) => {
    const { manifest } = await window.magpie.readProject(new Uint8Array(bytes));
    return { samples: manifest.classes.map((c) => c.samples.length), model: !!manifest.model };
  }, [...bytes]);
}

/** What IndexedDB holds, read directly: `{ projects: [{ id, name, model }], samples: { projectId: n } }`
 * (`model`: the trained model's byte count, or 0). */
export function stored(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open("magpie");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(["projects", "samples"], "readonly");
      const projects = tx.objectStore("projects").getAll();
      const samples = tx.objectStore("samples").getAll();
      tx.oncomplete = () => {
        const counts = {};
        for (const s of samples.result) counts[s.projectId] = (counts[s.projectId] ?? 0) + 1;
        resolve({
          projects: projects.result.map((p) => ({ id: p.id, name: p.name, model: p.model?.byteLength ?? p.model?.length ?? 0 })),
          samples: counts,
        });
        open.result.close();
      };
    };
  }));
}

/** Starts the server and the browser before a test file's tests and stops them after; the
 * returned object gets `url` and `browser` once started. */
export function useBrowser() {
  const env = {};
  before(async () => {
    Object.assign(env, await serve());
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}
