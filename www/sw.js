// The demo's service worker: it keeps the app shell (this page, its script, the ferrysync package)
// so the demo opens with no network, as an offline-first app must. The data lives in IndexedDB
// (ferrysync), not here; `/api/` requests and every other page are never touched.
//
// Network first, cache as the fallback: online, every load takes the files the server has now
// (a new build never runs half old, half new) and refreshes the cache; offline, the last ones.
const CACHE = "ferrysync-demo-shell";
const SHELL = ["./", "./app.js", "./manifest.webmanifest", "./icon.svg", "./pkg/ferrysync.js", "./pkg/ferrysync_bg.wasm"];

// The package's glue imports its JS snippets from paths with a build hash in them: read them off
// the glue, so that the first visit already caches every module the demo needs.
async function shell() {
  const glue = await (await fetch("./pkg/ferrysync.js", { cache: "no-cache" })).text();
  const snippets = [...glue.matchAll(/from\s*["'](\.\/snippets\/[^"']+)["']/g)].map((m) => `./pkg/${m[1].slice(2)}`);
  return [...new Set([...SHELL, ...snippets])];
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(await shell());
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Only the shell is kept: other pages the server serves (the benchmarks, say) go to the network
// as if there were no worker, and are never cached.
const scope = new URL("./", location.href).pathname;
const isPage = (path) => path === scope || path === `${scope}index.html`;
const isShell = (path) => isPage(path) || path.startsWith(`${scope}pkg/`) ||
  SHELL.some((file) => new URL(file, location.href).pathname === path);

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !isShell(url.pathname)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      // The page is kept under its path alone: the demo's query (token, db name) varies.
      if (response.ok) event.waitUntil(cache.put(isPage(url.pathname) ? "./" : event.request, response.clone()));
      return response;
    } catch (offline) {
      const kept = await cache.match(isPage(url.pathname) ? "./" : event.request, { ignoreSearch: true, ignoreVary: true });
      if (kept) return kept;
      throw offline;
    }
  })());
});
