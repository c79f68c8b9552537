// Runs www/sync-bench.html in headless Chromium against the ferrysync-server at
// FERRYSYNC_E2E_URL (serving www/) and prints its table, once with ids in write order and once
// with random UUIDs. BENCH_N sets the record count, BENCH_IDS the runs (default "seq,uuid"),
// BENCH_LOCAL the records the pulling device writes itself before its first sync (default 0).
// BENCH_RUNS=n runs each n times (a fresh user and page each) and then prints, per kind of ids,
// the median and range of the push and pull ratios: one run moves by +-25 % with the machine.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-sync-bench-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
let code = 0;
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on("pageerror", (e) => console.error(e));
  // Ids in write order, then random UUIDs (see www/sync-bench.js); each BENCH_RUNS times.
  const kinds = (process.env.BENCH_IDS || "seq,uuid").split(",");
  const runs = Math.max(1, Number(process.env.BENCH_RUNS) || 1);
  const ratios = new Map(kinds.map((ids) => [ids, { push: [], pull: [] }]));
  for (let run = 0; run < runs; run++) {
    for (const ids of kinds) {
      // A fresh user per run, so each fresh device pulls exactly that run's records.
      const token = await register(base, "bench");
      await page.goto(`${base}/sync-bench.html?token=${token}&n=${process.env.BENCH_N || 10000}&ids=${ids}&local=${process.env.BENCH_LOCAL || 0}`);
      const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
      console.log(result.text ?? result.error);
      if (result.error) { code = 1; continue; }
      ratios.get(ids).push.push(result.push / result.raw);
      ratios.get(ids).pull.push(result.pull / result.raw);
    }
  }
  if (runs > 1) {
    const median = (a) => { const s = [...a].sort((x, y) => x - y), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
    const show = (a) => `median ${median(a).toFixed(2)}x (${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)}x)`;
    for (const [ids, r] of ratios) {
      if (r.push.length === 0) continue;
      console.log(`${r.push.length} runs, ids ${ids}: push ${show(r.push)} (target <= 1.5x), pull ${show(r.pull)} (target <= 1.3x)`);
    }
  }
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
