// Runs www/sync-bench.html once in headless Chromium against the ferrysync-server at
// FERRYSYNC_E2E_URL (serving www/) and prints, for the pull (or, with STEP=push, the push), a
// timeline of its IndexedDB transactions (created, finished, when the first and last put were
// issued and when commit was called, in ms from the step's first transaction) and of its sync
// requests (fetch start to last byte, with the server's share). BENCH_IDS picks the ids ("seq",
// default, or "uuid"). A page wrapper records the transactions; nothing in the package changes.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const step = process.env.STEP || "pull";
const token = await register(base, "timeline");
// Before the page's own scripts: every transaction, its puts and its commit call, timed.
function record() {
  window.__tx = [];
  const find = (tx) => window.__tx.findLast((r) => r.tx === tx);
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...args) {
    const tx = transaction.apply(this, args);
    const rec = { tx, db: this.name, stores: [].concat(args[0]).join(","), t0: performance.now() };
    window.__tx.push(rec);
    tx.addEventListener("complete", () => { rec.t1 = performance.now(); });
    tx.addEventListener("abort", () => { rec.t1 = performance.now(); rec.aborted = true; });
    return tx;
  };
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const rec = find(this.transaction);
    if (rec) { rec.p0 ??= performance.now(); rec.p1 = performance.now(); rec.puts = (rec.puts || 0) + 1; }
    return put.apply(this, args);
  };
  const commit = IDBTransaction.prototype.commit;
  IDBTransaction.prototype.commit = function () { const rec = find(this); if (rec) rec.c = performance.now(); return commit.call(this); };
}
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-sync-timeline-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
try {
  await ctx.addInitScript(record);
  const page = ctx.pages()[0] ?? await ctx.newPage();
  await page.goto(`${base}/sync-bench.html?token=${token}&n=${process.env.BENCH_N || 10000}&ids=${process.env.BENCH_IDS || "seq"}`);
  const result = await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000 }).then((h) => h.jsonValue());
  if (result.error) throw new Error(result.error);
  console.log(result.text);
  const data = await page.evaluate(() => ({
    tx: window.__tx.map(({ tx, ...r }) => r),
    requests: performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/sync/"))
      .map((e) => ({ name: e.name.split("/").pop(), t0: e.startTime, t1: e.responseEnd, server: e.responseStart - e.requestStart })),
  }));
  const rows = data.tx.filter((t) => t.db.startsWith(`${step}-bench`) && t.t1 !== undefined).map((t) => ({
    t0: t.t0, t1: t.t1,
    what: `tx ${t.stores}${t.aborted ? " (aborted)" : ""}: ${t.puts || 0} puts` +
      (t.puts ? `, first +${(t.p0 - t.t0).toFixed(0)}, last +${(t.p1 - t.t0).toFixed(0)}` : "") +
      (t.c ? `, commit called +${(t.c - t.t0).toFixed(0)}` : ""),
  }));
  const start = Math.min(...rows.map((r) => r.t0));
  const end = Math.max(...rows.map((r) => r.t1));
  for (const r of data.requests) {
    if (r.name === step && r.t0 >= start - 50 && r.t0 <= end) rows.push({ t0: r.t0, t1: r.t1, what: `fetch ${r.name} (server ${r.server.toFixed(0)} ms)` });
  }
  rows.sort((a, b) => a.t0 - b.t0);
  console.log(`\n${step}: start  end   ms`);
  for (const r of rows) console.log(`${(r.t0 - start).toFixed(0).padStart(6)} ${(r.t1 - start).toFixed(0).padStart(6)} ${(r.t1 - r.t0).toFixed(0).padStart(5)}  ${r.what}`);
} finally {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
