// Where the engine's files are: its worker, the wasm module and binary, and the weight records.
// By default each is written as `new URL("<literal path>", import.meta.url)` (the worker inside
// `new Worker(…)`), the form Vite and webpack 5 follow by themselves: a build emits the files
// and rewrites the URLs, and the package hosted as is finds them next to this folder.
// `configure({ assetsUrl })` points the engine at a folder that holds the package's files
// instead (a CDN, or a site that serves them from its own path).

import WEIGHTS from "../weights/index.js";

/** The configured folder of the package's files (a URL ending in `/`), or null. */
let assetsUrl = null;
/** Whether an engine started: the files are fixed from then on. */
let started = false;

/** Serves the engine's files from `assetsUrl` (absolute, or relative to the page), a folder
 * laid out as the package is (`magpie.js`, `magpie_bg.wasm`, `www/engine/`, `www/weights/`);
 * `null` restores the default. Call it before the first widget or API call. */
export function configure({ assetsUrl: url = null } = {}) {
  if (started) throw new Error("configure() must be called before the engine starts (before the first widget is connected or API call is made)");
  if (url === null) {
    assetsUrl = null;
    return;
  }
  const folder = new URL(String(url), globalThis.document?.baseURI ?? globalThis.location?.href);
  if (!folder.pathname.endsWith("/")) folder.pathname += "/";
  assetsUrl = folder;
}

/** Starts the engine's dedicated module worker; throws where the page may not start it (a
 * worker from another origin, or a Content-Security-Policy that forbids it). */
export function startWorker() {
  started = true;
  if (assetsUrl) return new Worker(new URL("www/engine/worker.js", assetsUrl), { type: "module" });
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
}

/** Where the worker came from, to name in a message when it does not load. */
export function workerSource() {
  return assetsUrl ? new URL("www/engine/worker.js", assetsUrl).href : "the package's www/engine/worker.js";
}

/** The wasm module and binary, for an engine run on the page (where no worker can start). */
export function pageEngine() {
  started = true;
  if (assetsUrl) return { module: new URL("magpie.js", assetsUrl).href, wasm: new URL("magpie_bg.wasm", assetsUrl).href };
  return { module: new URL("../../magpie.js", import.meta.url).href, wasm: new URL("../../magpie_bg.wasm", import.meta.url).href };
}

/** The weight options a session is made with when it names none: each served record's URL
 * (`weightsUrls`, by backbone id) and, for a record served beside them but not in the map (an
 * opt-in VGG16 added to a hosted folder), their folder (`weightsBase`); or the configured folder. */
export function weightOptions() {
  if (assetsUrl) return { weightsBase: new URL("www/weights/", assetsUrl).href };
  const [any] = Object.values(WEIGHTS);
  return { weightsUrls: { ...WEIGHTS }, ...(any ? { weightsBase: new URL(".", any).href } : {}) };
}

/** What to do when one of the engine's files did not load. */
export const ASSETS_HINT = "serve the package's files as they are packed, or call configure({ assetsUrl }) with the folder that holds them "
  + "(Vite's dev server before Vite 8 also needs optimizeDeps: { exclude: [\"magpie-classifier\"] })";
