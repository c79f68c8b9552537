// Runs www/sync-bench.html once with profile=1 in headless Chromium against the ferrysync-server
// at FERRYSYNC_E2E_URL (serving www/), and prints, for each timed step (raw, push, pull), where
// the page's main thread spent its time: how much of it the wasm's functions took, and the
// functions with the most self time, from the DevTools protocol's sampling profiler. "(idle)" is
// time the page waited (for IndexedDB's backend or the network); "(program)" is the browser's
// own native work. BENCH_N sets the record count, BENCH_IDS the ids ("seq" or "uuid"), TOP the
// number of functions shown.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const token = await register(base, "profile");
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-sync-profile-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  const profiles = [];
  cdp.on("Profiler.consoleProfileFinished", (e) => profiles.push([e.title, e.profile]));
  const ids = process.env.BENCH_IDS || "seq";
  await page.goto(`${base}/sync-bench.html?token=${token}&n=${process.env.BENCH_N || 10000}&ids=${ids}&profile=1`);
  const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  if (result.error) throw new Error(result.error);
  console.log(result.text);
  for (const [title, profile] of profiles) {
    const self = new Map();
    const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
    let total = 0, wasm = 0;
    profile.samples.forEach((id, i) => {
      const frame = byNode.get(id).callFrame;
      const name = frame.functionName || `(anonymous ${frame.url.split("/").pop()}:${frame.lineNumber})`;
      const us = profile.timeDeltas[i] || 0;
      self.set(name, (self.get(name) || 0) + us);
      total += us;
      if (frame.url.endsWith(".wasm")) wasm += us;
    });
    console.log(`\n${title}: ${(total / 1000).toFixed(0)} ms sampled, ${(wasm / 1000).toFixed(0)} ms of it in the wasm; most self time:`);
    for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP) || 15)) {
      console.log(`${(us / 1000).toFixed(0).padStart(8)} ms  ${name.slice(0, 100)}`);
    }
  }
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
