// Shared by the browser tests: a static server for the trunk build (dist/) plus the test photos,
// and headless Debian Chromium with WebGPU on SwiftShader, driven by playwright-core.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { homedir } from "node:os";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const DIST = join(ROOT, "dist");
export const ASSETS = process.env.MAGPIE_ASSETS ?? join(homedir(), ".cache/magpie/assets");

const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg",
  ".JPG": "image/jpeg", ".bmp": "image/bmp", ".ts": "text/plain", ".bpk": "application/octet-stream", ".svg": "image/svg+xml",
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

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader",
      "--ignore-gpu-blocklist", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic", "--enable-features=Vulkan", ...extraArgs,
    ],
  });
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

/** An init script: a camera for getUserMedia, a canvas stream cycling through the photos given to
 * `window.__camera.show(urls)`. */
export function fakeCamera() {
  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 480;
  const context = canvas.getContext("2d");
  let images = [];
  let stream = null;
  const draw = () => {
    context.fillStyle = "#808080";
    context.fillRect(0, 0, 640, 480);
    if (images.length) context.drawImage(images[Math.floor(performance.now() / 80) % images.length], 80, 0, 480, 480);
    requestAnimationFrame(draw);
  };
  window.__camera = {
    async show(urls) {
      images = await Promise.all(urls.map(async (u) => createImageBitmap(await (await fetch(u)).blob())));
      await new Promise((r) => setTimeout(r, 300));
    },
  };
  navigator.mediaDevices.getUserMedia = async () => {
    if (!stream) { draw(); stream = canvas.captureStream(30); }
    return stream.clone();
  };
  navigator.mediaDevices.enumerateDevices = async () => [{ kind: "videoinput", deviceId: "fake", label: "Test camera", groupId: "" }];
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
