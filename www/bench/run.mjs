// `npm run bench`: serves the repo on loopback, opens www/bench/ in headless Chromium
// (/usr/bin/chromium through playwright-core; nothing is downloaded) and prints the page's table.
// `node www/bench/run.mjs rows.html` opens another page of www/bench/ the same way; BENCH_PKG=store-web
// has the benchmark page time the store alone (`ferrysync/store`) instead of the full package.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const server = http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404).end(); return; }
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const args = ["--js-flags=--expose-gc", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-bench-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
let code = 0;
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on("console", (m) => console.log(m.text()));
  page.on("pageerror", (e) => console.error(e));
  const rounds = process.env.BENCH_ROUNDS || 3;
  const file = process.argv[2] || "index.html";
  const pkg = process.env.BENCH_PKG || "web";
  await page.goto(`http://127.0.0.1:${server.address().port}/www/bench/${file}?rounds=${rounds}&pkg=${pkg}`);
  const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  if (result.error) code = 1;
} finally {
  await ctx.close();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
