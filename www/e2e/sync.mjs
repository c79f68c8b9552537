// End-to-end sync tests in real Chromium (playwright-core, /usr/bin/chromium, nothing downloaded)
// against `ferrysync-server --static www` at FERRYSYNC_E2E_URL. Each browser context is one
// device (its own persistent profile, so its own IndexedDB); `context.setOffline` drives the
// `offline`/`online` events. Run by scripts/ci/test-e2e.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { register } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server serving www/");
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const dirs = [];
const contexts = [];

async function device() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-ferrysync-"));
  dirs.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: "/usr/bin/chromium", headless: true, args });
  contexts.push(ctx);
  return ctx;
}

const user = () => register(base, "e2e");

/** Opens the demo in a (new) tab of `ctx`; counts the tab's sync requests in `page.requests`. */
async function open(ctx, token, db, { fresh = false, interval = 1500 } = {}) {
  const page = !fresh && ctx.pages().length === 1 && ctx.pages()[0].url() === "about:blank"
    ? ctx.pages()[0] : await ctx.newPage();
  page.requests = { push: 0, pull: 0 };
  page.pushedAt = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/api/sync/push")) { page.requests.push++; page.pushedAt.push(Date.now()); }
    if (r.url().endsWith("/api/sync/pull")) page.requests.pull++;
  });
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(`${base}/?token=${token}&db=${db}&interval=${interval}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });
  return page;
}

const status = (page) => page.evaluate(() => window.db.status());
/** Polls `fn` (sync or async) in the page until it returns something truthy. */
async function until(page, fn, arg, timeout = 20_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const count = (page) => page.evaluate(() => window.db.count("todos"));

/**
 * Both devices hold "shared", go offline, edit it (B 20 ms after A) and come back: both must end
 * with B's edit, the newer one.
 */
async function editedOfflineOnBoth(a, b) {
  await a.evaluate(() => window.db.put("todos", { id: "shared", title: "original" }));
  await until(b, async () => (await window.db.get("todos", "shared"))?.title === "original");
  await a.context().setOffline(true);
  await b.context().setOffline(true);
  await until(a, () => !window.db.status().online);
  await until(b, () => !window.db.status().online);
  await a.evaluate(() => window.db.put("todos", { id: "shared", title: "from A" }));
  await b.waitForTimeout(20);
  await b.evaluate(() => window.db.put("todos", { id: "shared", title: "from B (newer)" }));
  await a.context().setOffline(false);
  await until(a, () => window.db.status().pending === 0);
  await b.context().setOffline(false);
  await until(b, () => window.db.status().pending === 0);
  for (const page of [a, b]) {
    await until(page, async () => (await window.db.get("todos", "shared")).title === "from B (newer)");
  }
}

let passed = 0;
let failed = 0;
async function test(name, body) {
  const start = Date.now();
  try {
    await body();
    passed++;
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}`);
    console.error(e);
  }
}

try {
  await test("offline: create 10 and edit 5, reconnect, pending 0 on both devices", async () => {
    const token = await user();
    const a = await open(await device(), token, "offline10");
    const b = await open(await device(), token, "offline10");
    await a.context().setOffline(true);
    await until(a, () => window.db.status().online === false);
    assert.equal((await status(a)).health, "offline");
    const before = { ...a.requests };
    await a.evaluate(async () => {
      for (let i = 0; i < 10; i++) await window.db.put("todos", { id: `t${i}`, title: `task ${i}`, done: false });
      for (let i = 0; i < 5; i++) await window.db.put("todos", { id: `t${i}`, title: `task ${i} (edited)`, done: true });
    });
    await until(a, () => window.db.status().pending === 10);
    await a.waitForTimeout(700);
    assert.deepEqual(a.requests, before, "no requests while offline");
    const back = Date.now();
    await a.context().setOffline(false);
    await until(a, (n) => window.db.status().pending === 0, null);
    await until(a, (n) => window.db.status().lastSyncAt !== null);
    assert.ok(a.requests.push > before.push, "pushed after reconnect");
    const pushedWithin = a.pushedAt.find((t) => t >= back) - back;
    assert.ok(pushedWithin < 1_000, `a cycle started ${pushedWithin} ms after reconnect`);
    console.log(`     first push ${pushedWithin} ms after reconnect`);
    await until(b, async () => (await window.db.count("todos")) === 10);
    assert.equal((await status(b)).pending, 0);
    const edited = await b.evaluate(() => window.db.get("todos", "t3"));
    assert.equal(edited.title, "task 3 (edited)");
    assert.equal(edited._sync.status, "SYNCED");
  });

  await test("the same record edited offline on both devices: newest_wins", async () => {
    const token = await user();
    const a = await open(await device(), token, "newest");
    const b = await open(await device(), token, "newest");
    await editedOfflineOnBoth(a, b);
    assert.equal((await status(a)).conflicts, 0);
  });

  await test("a device whose clock is a year fast does not win the edits made after it", async () => {
    const token = await user();
    const fastCtx = await device();
    // Every Date.now() in A's pages, the package's included, reads a year ahead.
    await fastCtx.addInitScript(() => {
      const now = Date.now;
      Date.now = () => now() + 365 * 24 * 3600 * 1000;
    });
    const a = await open(fastCtx, token, "skew");
    const b = await open(await device(), token, "skew");
    assert.ok(await a.evaluate(() => Date.now() - performance.timeOrigin > 300 * 24 * 3600 * 1000));
    await editedOfflineOnBoth(a, b);
  });

  await test("two tabs of one device: only one syncs, both see the changes, the other takes over when it closes", async () => {
    const token = await user();
    const ctx = await device();
    const tab1 = await open(ctx, token, "tabs");
    const tab2 = await open(ctx, token, "tabs", { fresh: true });
    await tab1.waitForTimeout(500);
    const seen = tab1.evaluate(() => new Promise((resolve) => {
      const off = window.db.subscribe("todos", (changes) => { off(); resolve(changes.map((c) => c.id)); });
    }));
    const p1 = tab1.requests.push, p2 = tab2.requests.push;
    const synced = (await status(tab2)).lastSyncAt;
    await tab2.evaluate(() => window.db.put("todos", { id: "from-tab-2", title: "hello" }));
    await until(tab2, async () => (await window.db.get("todos", "from-tab-2"))?._sync.status === "SYNCED");
    await until(tab2, () => window.db.status().pending === 0);
    assert.ok(tab1.requests.push > p1, "the leader tab pushed");
    assert.equal(tab2.requests.push, p2, "the other tab sent nothing");
    assert.deepEqual(await seen, ["from-tab-2"], "tab 1's subscriber saw tab 2's write");
    // Tab 2 runs no cycle: its lastSyncAt moves with the leader's, by the channel's status message.
    await until(tab2, (t) => window.db.status().lastSyncAt > t && !window.db.status().syncing, synced);
    assert.equal((await status(tab2)).health, "good");
    // The leader syncs what another device wrote; both tabs' subscribers hear of it.
    const other = await open(await device(), token, "tabs");
    const heard = tab2.evaluate(() => new Promise((resolve) => {
      window.db.subscribe("todos", (changes) => changes.some((c) => c.id === "from-other") && resolve(true));
    }));
    await other.evaluate(() => window.db.put("todos", { id: "from-other", title: "hi" }));
    assert.equal(await heard, true);
    assert.equal(await count(tab2), 2);
    // The leader tab closes: the other takes the lock over and syncs its own writes from then on.
    await tab1.close();
    const before = tab2.requests.push;
    await tab2.evaluate(() => window.db.put("todos", { id: "after-leader", title: "still syncs" }));
    await until(tab2, () => window.db.status().pending === 0);
    assert.ok(tab2.requests.push > before, "the remaining tab pushed");
    await until(other, async () => (await window.db.get("todos", "after-leader")) !== undefined);
  });

  // The driver's retries (src/network.rs) against a server that fails in each way, faked by
  // intercepting the push; the interval is 10 minutes, so every request seen here is a retry.
  await test("retries: Retry-After is waited for, network errors back off, a refused request is not looped", async () => {
    const page = await open(await device(), await user(), "retries", { interval: 600_000 });
    await until(page, () => window.db.status().lastSyncAt !== null);
    let pushes = [];
    let answer = null;
    await page.route("**/api/sync/push", (route) => {
      pushes.push(Date.now());
      const fail = answer?.();
      return fail === undefined ? route.continue() : fail(route);
    });
    const failing = (n, fail) => () => (n-- > 0 ? fail : undefined);
    const json = (status, code, headers = {}) => (route) => route.fulfill({ status, headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ error: { code, message: `faked ${status}` } }) });
    const gaps = () => pushes.slice(1).map((t, i) => t - pushes[i]);
    const write = (id) => page.evaluate((id) => window.db.put("todos", { id, title: id }), id);

    // 503 with Retry-After: 2 twice. Without it the first retry would come within 1 s (full
    // jitter over 1 s); with it, 2 s or more.
    answer = failing(2, json(503, "unavailable", { "retry-after": "2" }));
    await write("r1");
    await until(page, () => window.db.status().lastError?.code === "SERVER_UNAVAILABLE");
    assert.equal((await status(page)).health, "degraded");
    await until(page, () => window.db.status().pending === 0, null, 20_000);
    assert.equal(pushes.length, 3, `pushes ${gaps()}`);
    const waited = gaps();
    assert.ok(waited.every((ms) => ms >= 1_900), `Retry-After: 2 not waited for: gaps ${waited} ms`);
    await until(page, () => window.db.status().lastError === null && window.db.status().health === "good");

    // Network errors, three in a row: retried after at most 1, 2, 4 s (full jitter; the success
    // above reset the count), never sooner than 100 ms.
    pushes = [];
    answer = failing(3, (route) => route.abort("connectionreset"));
    await write("r2");
    await until(page, () => window.db.status().pending === 0, null, 20_000);
    assert.equal(pushes.length, 4, `pushes ${gaps()}`);
    const backedOff = gaps();
    backedOff.forEach((ms, i) => assert.ok(ms >= 90 && ms <= 1_000 * 2 ** i + 1_000, `retry ${i + 1} after ${ms} ms (gaps ${backedOff})`));

    // A refused request (400 on the request as a whole): no retry until the next trigger.
    pushes = [];
    answer = () => json(400, "bad_request");
    await write("r3");
    await until(page, () => window.db.status().lastError?.code === "REQUEST_REFUSED");
    await page.waitForTimeout(3_000);
    assert.equal(pushes.length, 1, `a refused push was sent ${pushes.length} times in 3 s`);
    assert.equal((await status(page)).pending, 1);
    // The next write is the next trigger; the server takes both.
    answer = null;
    await write("r4");
    await until(page, () => window.db.status().pending === 0 && window.db.status().lastError === null);
    assert.equal(pushes.length, 2);
    console.log(`     retries after a 503 with Retry-After: 2 came ${waited} ms apart; after network errors ${backedOff} ms`);
  });

  // The demo keeps its token in localStorage: one the server refuses later (expired, or the
  // server's data reset) must bring the login form back, not leave the demo failing every sync.
  await test("the demo asks to log in again when the server refuses its stored token", async () => {
    const page = (await device()).pages()[0];
    page.on("pageerror", (e) => console.error("page error:", e));
    const username = `e2e-login-${Date.now()}`;
    const logIn = async (button) => {
      await page.locator("#login").waitFor({ state: "visible", timeout: 20_000 });
      await page.fill("#login [name=username]", username);
      await page.fill("#login [name=password]", "correct horse");
      await page.click(`#login [name=${button}]`);
      await page.locator("#login").waitFor({ state: "hidden" });
    };
    await page.goto(`${base}/?db=relogin&interval=1500`);
    await logIn("register");
    await until(page, () => window.ready === true);
    await page.evaluate(() => window.db.put("todos", { id: "before", title: "written logged in" }));
    await until(page, () => window.db.status().pending === 0);

    // A token this server never signed, as after its database was reset.
    await page.evaluate(() => localStorage.setItem("ferrysync-token", "not-a-token"));
    await page.reload();
    await until(page, () => window.ready === true);
    assert.deepEqual(await page.locator("#todos li span").allTextContents(), ["written logged in"]);
    await page.evaluate(() => window.db.put("todos", { id: "after", title: "written logged out" }));
    await logIn("login");
    await until(page, () => window.db.status().pending === 0 && window.db.status().lastError === null);
    const token = await page.evaluate(() => localStorage.getItem("ferrysync-token"));
    const pulled = await fetch(`${base}/api/sync/pull`, { method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ protocolVersion: 1, deviceId: "check", cursor: null }) }).then((r) => r.json());
    assert.deepEqual(pulled.changes.map((c) => c.id).sort(), ["after", "before"]);
  });

  // The package is built without `Debug` formatting (scripts/build-pkg): its messages must still
  // quote what was wrong.
  await test("errors from the built package have a code and quote what was wrong", async () => {
    const page = await open(await device(), await user(), "errors");
    const errors = await page.evaluate(async () => {
      const caught = async (call) => { try { await call(); return null; } catch (e) { return [e instanceof Error, e.code, e.message]; } };
      return [
        await caught(() => window.db.put("nope", { title: "x" })),
        await caught(() => window.db.query("todos", { index: "priority", gte: "a" })),
        await caught(() => window.db.resolveConflict("no-such-conflict", "local")),
        await caught(() => window.db.discardRejected("no-such-change")),
        // Not a string: the built package's glue must not pass it on as one.
        await caught(() => window.db.get("todos", 5)),
      ];
    });
    assert.deepEqual(errors.map(([isError, code]) => [isError, code]), [
      [true, "UNKNOWN_COLLECTION"], [true, "INVALID_QUERY"], [true, "NOT_FOUND"], [true, "NOT_FOUND"],
      [true, "INVALID_ARGUMENT"]]);
    assert.match(errors[0][2], /unknown collection "nope"/);
    assert.match(errors[1][2], /"todos" has no index "priority"/);
    assert.match(errors[2][2], /no such conflict: "no-such-conflict"/);
    assert.match(errors[3][2], /no such rejected change: "no-such-change"/);
    assert.equal(errors[4][2], "invalid argument: id must be a string");
  });
} finally {
  for (const ctx of contexts) await ctx.close().catch(() => {});
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
