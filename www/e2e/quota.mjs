// A real QuotaExceededError from IndexedDB, not a constructed one: headless Chromium (playwright-
// core, /usr/bin/chromium) keeps its profile on a 32 MiB tmpfs, and the page writes incompressible
// records until the disk is full. Checks that the write that does not fit fails with
// `QUOTA_EXCEEDED` and leaves nothing of itself behind (single `put` and `bulkPut`), that every
// earlier write is intact with its pending change, that the database keeps working once space is
// freed, and that it reopens with all of it. The package is loaded from the ferrysync-server at
// FERRYSYNC_E2E_URL (serving www/, with www/pkg built); the server is not otherwise used. Mounting
// the tmpfs needs root. Run by scripts/ci/test-e2e.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const disk = fs.mkdtempSync(path.join(os.tmpdir(), "ferrysync-quota-"));
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", disk], { stdio: "pipe" });
} catch (e) {
  fs.rmSync(disk, { recursive: true, force: true });
  throw new Error(`the quota test mounts a 32 MiB tmpfs, which needs root: ${e.stderr || e.message}`);
}
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];
let ctx;
try {
  const launch = () => chromium.launchPersistentContext(path.join(disk, "profile"), { executablePath: "/usr/bin/chromium", headless: true, args });
  // A page of the server's origin that only loads the package.
  const blank = async () => {
    const page = ctx.pages()[0] ?? await ctx.newPage();
    page.on("pageerror", (e) => console.error("page error:", e));
    await page.route(`${base}/quota-test`, (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>quota</title>" }));
    await page.goto(`${base}/quota-test`);
    await page.evaluate(async () => {
      const { default: init, FerrySync } = await import("/pkg/ferrysync.js");
      await init();
      window.db = await FerrySync.open({ name: "quota", collections: { blobs: { indexes: ["n"] } } });
    });
    return page;
  };
  ctx = await launch();
  let page = await blank();
  const filled = await page.evaluate(async () => {
    // ~80 KB of base64 per record: IndexedDB's compression cannot shrink random bytes.
    const blob = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(60_000))));
    const failure = (e) => ({ isError: e instanceof Error, name: e.name, code: e.code, message: e.message });
    let written = 0;
    for (let call = 0; call < 1000; call++) {
      const batch = Array.from({ length: 8 }, (_, i) => ({ id: `b${call}-${i}`, n: written + i, blob: blob() }));
      try {
        await db.bulkPut("blobs", batch);
        written += batch.length;
      } catch (e) {
        // The disk is full: one more record alone does not fit either.
        let single;
        try { await db.put("blobs", { id: "single", n: -1, blob: blob() + blob() + blob() }); } catch (e2) { single = failure(e2); }
        return { written, bulk: failure(e), single, failedIds: batch.map((r) => r.id) };
      }
    }
    return { written, bulk: null };
  });
  assert.ok(filled.bulk, `32 MiB never filled up (${filled.written} records written)`);
  assert.ok(filled.written > 0, "not even the first batch fitted");
  for (const [what, failure] of [["bulkPut", filled.bulk], ["put", filled.single]]) {
    assert.ok(failure, `${what} on a full disk did not fail`);
    assert.equal(failure.isError, true, what);
    assert.equal(failure.name, "FerrysyncError", what);
    assert.equal(failure.code, "QUOTA_EXCEEDED", `${what}: ${failure.message}`);
    assert.match(failure.message, /^storage quota exceeded: \S.*; nothing of the failed write was stored$/, what);
  }
  // Nothing of the failed writes, everything of the earlier ones, each with its pending change.
  const state = (ids) => page.evaluate(async (ids) => ({
    count: await db.count("blobs"), pending: await db.pending(),
    found: (await Promise.all(ids.map((id) => db.get("blobs", id)))).filter(Boolean).map((r) => r.id),
    indexed: (await db.query("blobs", { index: "n", gte: 0 })).length,
    statuses: [...new Set((await db.all("blobs")).map((r) => r._sync.status))],
  }), ids);
  const after = await state([...filled.failedIds, "single", "b0-0"]);
  assert.deepEqual(after, { count: filled.written, pending: filled.written, found: ["b0-0"], indexed: filled.written, statuses: ["UNSYNCED"] });
  // Space freed by deleting records (tombstones are small), a new write fits again.
  const freed = await page.evaluate(async () => {
    for (let i = 0; i < 8; i++) await db.delete("blobs", `b${i}-0`);
    await db.put("blobs", { id: "after", n: 1e6, blob: "fits" });
    return { count: await db.count("blobs"), pending: await db.pending(), after: (await db.get("blobs", "after"))?.blob };
  });
  assert.deepEqual(freed, { count: filled.written - 8 + 1, pending: filled.written + 1, after: "fits" });
  // And it all survives a restart of the browser.
  await ctx.close();
  ctx = await launch();
  page = await blank();
  const reopened = await page.evaluate(async () => ({ count: await db.count("blobs"), pending: await db.pending(),
    gone: await db.get("blobs", "b0-0"), after: (await db.get("blobs", "after"))?.blob }));
  assert.deepEqual(reopened, { count: filled.written - 7, pending: filled.written + 1, gone: undefined, after: "fits" });
  console.log(`ok: a full disk fails bulkPut and put with QUOTA_EXCEEDED after ${filled.written} records, leaving nothing half-written; the database works on and reopens intact`);
} finally {
  await ctx?.close();
  try { execFileSync("umount", [disk]); } catch (e) { console.error(`umount ${disk}: ${e.message}`); }
  fs.rmSync(disk, { recursive: true, force: true });
}
