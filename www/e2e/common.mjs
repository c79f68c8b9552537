// Shared by the scripts in www/e2e.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

/** Registers a new user, `prefix` and a random suffix, at the ferrysync-server `base`; resolves
 * with its token. Throws unless the server answers 201. */
export async function register(base, prefix) {
  const username = prefix + Math.random().toString(36).slice(2);
  const res = await fetch(`${base}/api/auth/register`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse" }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm" };

/**
 * Serves files on an ephemeral loopback port: `pages[pathname]` is served as an HTML page, else
 * `fileOf(pathname)` names the file for a request path (`null`: 404); files outside `root` are
 * never served. Resolves with the server (its `url` set), to be closed by the caller.
 */
export async function serveFiles(root, fileOf, pages = {}) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (Object.hasOwn(pages, name)) {
      res.writeHead(200, { "content-type": TYPES[".html"] }).end(pages[name]);
      return;
    }
    const file = fileOf(name);
    if (!file || !file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  server.url = `http://127.0.0.1:${server.address().port}`;
  return server;
}

/**
 * Opens `url` in headless Chromium (/usr/bin/chromium) and resolves with the page's
 * `window.result` once it is set; a page error, or a module that fails to load or link (it
 * never sets the result), fails instead. The browser is closed either way.
 */
export async function pageResult(url) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage();
    const failed = new Promise((_, fail) => page.on("pageerror", (e) => fail(new Error(`page error: ${e.message}`))));
    await page.goto(url);
    return await Promise.race([failed,
      page.waitForFunction(() => window.result, null, { timeout: 60_000 }).then((h) => h.jsonValue())]);
  } finally {
    await browser.close();
  }
}
