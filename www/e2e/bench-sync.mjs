// Runs www/sync-bench.html in headless Chromium against the ferrysync-server at
// FERRYSYNC_E2E_URL (serving www/) and prints its table. BENCH_N sets the record count.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const res = await fetch(`${base}/api/auth/register`, {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "bench" + Math.random().toString(36).slice(2), password: "correct horse" }),
});
const { token } = await res.json();
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-sync-bench-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
let code = 0;
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on("pageerror", (e) => console.error(e));
  await page.goto(`${base}/sync-bench.html?token=${token}&n=${process.env.BENCH_N || 10000}`);
  const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  console.log(result.text ?? result.error);
  if (result.error) code = 1;
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
