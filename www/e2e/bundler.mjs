// The package's bundler entry (`ferrysync/bundler`, wasm-bindgen's `--target bundler`) in an app
// built by Vite (with vite-plugin-wasm, which bundlers need for wasm ES module imports): builds
// tests/bundler/ from pkg/bundler, serves the build from its own loopback origin and runs it in
// headless Chromium (/usr/bin/chromium) against the ferrysync-server at FERRYSYNC_E2E_URL, across
// origins as an app's would (the server allows loopback origins by default). Run by
// scripts/ci/test-e2e, after scripts/build-pkg.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "vite";
import wasm from "vite-plugin-wasm";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server");
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "ferrysync-bundler-"));
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = http.createServer((req, res) => {
  const name = new URL(req.url, "http://x").pathname;
  const file = path.join(out, name === "/" ? "index.html" : decodeURIComponent(name));
  if (!file.startsWith(out) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404).end(); return; }
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
let browser;
try {
  // The app imports the package by its name: Vite resolves it as any dependency, through
  // package.json's `exports` (the repo is the package, so it resolves its own name).
  await build({ root: path.join(repo, "tests/bundler"), logLevel: "warn", plugins: [wasm()],
    build: { outDir: out, emptyOutDir: true, target: "esnext" } });
  const assets = fs.readdirSync(path.join(out, "assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `no wasm in the build: ${assets}`);
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const token = await register(base, "bundler");
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const page = await browser.newPage();
  // A module that fails to load or link never sets `window.result`: its error ends the test.
  const failed = new Promise((_, fail) => page.on("pageerror", (e) => fail(new Error(`page error: ${e.message}`))));
  await page.goto(`http://127.0.0.1:${server.address().port}/?server=${encodeURIComponent(base)}&token=${token}`);
  const r = await Promise.race([failed,
    page.waitForFunction(() => window.result, null, { timeout: 60_000 }).then((h) => h.jsonValue())]);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.pendingBefore, 1);
  assert.deepEqual(r.unknown, { isError: true, code: "UNKNOWN_COLLECTION" });
  assert.equal(r.pushed, 1);
  assert.equal(r.pendingAfter, 0);
  assert.equal(r.pulled, 1);
  assert.equal(r.onB.title, "written on a");
  assert.deepEqual(r.onB.tags, ["x", "ü"]);
  assert.equal(r.onB._sync.status, "SYNCED");
  assert.deepEqual(r.byIndex, [r.id]);
  console.log(`ok: the bundler entry built by Vite (${assets.join(", ")}) writes, syncs across origins and pulls on a second device`);
} finally {
  await browser?.close();
  server.close();
  fs.rmSync(out, { recursive: true, force: true });
}
