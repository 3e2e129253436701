// The service worker: after the first visit the app (page, wasm, scripts, weights) works with
// no network. Network first so updates arrive; the cache answers when the network cannot. It
// only ever touches this origin's requests.
const CACHE = "magpie-v5";
const SHELL = [
  "./", "index.html", "magpie.js", "magpie_bg.wasm", "www/app.js", "www/style.css", "www/icon.svg",
  "www/manifest.webmanifest",
  ...["chart", "classes-view", "dom", "files-view", "preview-view", "results-view", "store", "tab-lock", "training-view"]
    .map((name) => `www/app/${name}.js`),
  ...["camera", "preview", "project", "project-file", "recorder", "settings", "training"].map((name) => `www/core/${name}.js`),
  ...["bars", "download", "hold"].map((name) => `www/ui/${name}.js`),
  ...["assets", "client", "frames", "host", "methods", "remote", "worker"].map((name) => `www/engine/${name}.js`),
  "www/weights/index.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The page names what it loaded before this worker controlled it (the weights): keep those too.
self.addEventListener("message", (event) => {
  const urls = (event.data?.keep ?? []).filter((url) => new URL(url, self.location).origin === self.location.origin);
  event.waitUntil(caches.open(CACHE).then(async (cache) => {
    for (const url of urls) if (!(await cache.match(url))) await cache.add(url).catch(() => {});
  }));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.ok && response.status === 200) await cache.put(request, response.clone());
      return response;
    } catch (error) {
      // The page's query names a backbone; the engine's (magpie.js?instance=N) a fresh instance.
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      throw error;
    }
  })());
});
