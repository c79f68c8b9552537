// Runs www/sync-bench.html once (ids in write order) in headless Chromium against the
// ferrysync-server at FERRYSYNC_E2E_URL (serving www/) and prints, per timed step, how many
// strings the page decoded from wasm memory (`TextDecoder.prototype.decode` calls, by length) and
// how many characters. Each string that crosses from wasm to JS is one such call; many small ones
// cost more than their size says. BENCH_N sets the record count.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const token = await register(base, "decodes");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-decodes-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  // Before the page's scripts: count decodes, and report each timed step's share (the page's
  // `profile=1` mode wraps each step in console.profile / profileEnd).
  await page.addInitScript(() => {
    const counts = { calls: 0, chars: 0, under64: 0, under4k: 0, larger: 0 };
    const decode = TextDecoder.prototype.decode;
    TextDecoder.prototype.decode = function (...args) {
      const text = decode.apply(this, args);
      counts.calls++; counts.chars += text.length;
      counts[text.length < 64 ? "under64" : text.length < 4096 ? "under4k" : "larger"]++;
      return text;
    };
    let start;
    console.profile = () => { start = { ...counts }; };
    console.profileEnd = (title) => {
      const d = Object.fromEntries(Object.keys(counts).map((k) => [k, counts[k] - start[k]]));
      console.log(`${title.padEnd(5)} ${String(d.calls).padStart(7)} strings decoded (${d.under64} under 64 chars, ${d.under4k} under 4,096, ${d.larger} larger), ${d.chars} chars`);
    };
  });
  page.on("console", (m) => { if (/strings decoded/.test(m.text())) console.log(m.text()); });
  await page.goto(`${base}/sync-bench.html?token=${token}&n=${process.env.BENCH_N || 10000}&ids=seq&profile=1`);
  const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  if (result.error) throw new Error(result.error);
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
