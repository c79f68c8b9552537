// The demo as an offline PWA, in real Chromium (playwright-core, /usr/bin/chromium): opened once
// online, it must open again with the server gone, show what IndexedDB holds, take writes, and
// sync them once the server is back. Starts its own ferrysync-server (FERRYSYNC_SERVER_BIN, or
// the `server` profile's build) on a free port, because the test stops it: `setOffline` alone
// does not prove that a service worker's own requests fail. Run by scripts/ci/test-e2e.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const bin = process.env.FERRYSYNC_SERVER_BIN
  || path.join(process.env.CARGO_TARGET_DIR || "target", "server", "ferrysync-server");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ferrysync-pwa-"));
const port = await new Promise((ok) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => { const { port } = probe.address(); probe.close(() => ok(port)); });
});
const base = `http://127.0.0.1:${port}`;

/** Starts the server on `port` over the test's SQLite file; resolves once it answers. */
async function start() {
  const server = spawn(bin, ["--bind", `127.0.0.1:${port}`, "--database", `sqlite://${work}/pwa.db`,
    "--rate-limit", "0", "--static", "www"], { env: { ...process.env, FERRYSYNC_SECRET: "pwa-e2e" }, stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/api/health`).then((r) => r.ok, () => false)) return server;
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill();
  throw new Error(`${bin} did not start on ${base}`);
}

async function stop(server) {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((ok) => server.once("exit", ok));
  server.kill();
  await exited;
}

async function until(page, fn, timeout = 20_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn).catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let server = await start();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-ferrysync-pwa-"));
const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] });
let failed = false;
try {
  const token = await register(base, "pwa");
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(`${base}/?token=${token}&db=pwa&interval=1500`);
  await until(page, () => window.ready === true);
  // The first visit installs the worker, which caches the shell and takes the page over.
  await until(page, () => navigator.serviceWorker.controller !== null);
  await page.evaluate(() => window.db.put("todos", { id: "online", title: "written online" }));
  await until(page, async () => (await window.db.get("todos", "online"))._sync.status === "SYNCED");
  // Pages outside the shell pass the worker by and are not kept.
  await page.evaluate(() => fetch("./sync-bench.html").then((r) => r.text()));
  const kept = await page.evaluate(async () =>
    (await (await caches.open("ferrysync-demo-shell")).keys()).map((r) => new URL(r.url).pathname));
  assert.ok(kept.includes("/app.js") && !kept.includes("/sync-bench.html"), `cached: ${kept}`);

  // No server at all, and the browser told it is offline.
  await stop(server);
  await ctx.setOffline(true);
  await page.reload();
  await until(page, () => window.ready === true);
  assert.equal(await page.evaluate(() => window.db.status().online), false);
  assert.deepEqual(await page.locator("#todos li span").allTextContents(), ["written online"]);
  await page.evaluate(() => window.db.put("todos", { id: "offline", title: "written offline" }));
  await until(page, () => document.querySelectorAll("#todos li").length === 2);
  await until(page, () => window.db.status().pending === 1);

  // The server back: the write made in the page that opened offline reaches it.
  server = await start();
  await ctx.setOffline(false);
  await until(page, () => window.db.status().pending === 0);
  const pulled = await fetch(`${base}/api/sync/pull`, { method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ protocolVersion: 1, deviceId: "check", cursor: null }) }).then((r) => r.json());
  assert.deepEqual(pulled.changes.map((c) => c.id).sort(), ["offline", "online"]);
  console.log("ok   the demo opens with no server, keeps its data, and syncs what was written offline");
} catch (e) {
  failed = true;
  console.log("FAIL the demo as an offline PWA");
  console.error(e);
} finally {
  await ctx.close();
  await stop(server).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
