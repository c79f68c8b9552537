// The store alone (`ferrysync/store`: pkg/store-web, the crate without its `sync` feature) in
// headless Chromium (/usr/bin/chromium): every store call works as in the full package, the sync
// methods are absent, a `serverUrl` is refused with a clear error, and the full package
// (pkg/web) opening the same database later pushes everything the store build wrote, to the
// ferrysync-server at FERRYSYNC_E2E_URL. Run by scripts/ci/test-e2e, after scripts/build-pkg.
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pageResult, register, serveFiles } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server");
const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../pkg");

// The page: the store build first, then the full build over the same database.
const page = `<!doctype html><script type="module">
const params = new URLSearchParams(location.search);
const caught = async (f) => { try { await f(); return null; } catch (e) { return { isError: e instanceof Error, code: e.code, message: e.message }; } };
try {
  const store = await import("/pkg/store-web/ferrysync.js");
  await store.default();
  const collections = { notes: { indexes: ["title"] } };
  const db = await store.FerrySync.open({ name: "store-only", collections });
  const events = [];
  db.subscribe("notes", (changes) => events.push(...changes.map((c) => c.id)));
  const one = await db.put("notes", { title: "alpha", tags: ["ü", 1.5, null] });
  await db.bulkPut("notes", [{ id: "b", title: "beta" }, { id: "c", title: "gamma" }]);
  await db.put("notes", { id: "b", title: "beta, edited" });
  await db.delete("notes", "c");
  const r = {
    got: await db.get("notes", one.id),
    byIndex: (await db.query("notes", { index: "title", gte: "b", lt: "c" })).map((x) => x.id),
    count: await db.count("notes"),
    pending: await db.pending(),
    syncMethods: ["sync", "status", "onStatus", "conflicts", "resolveConflict", "rejected", "discardRejected"]
      .filter((m) => typeof db[m] !== "undefined"),
    withServer: await caught(() => store.FerrySync.open({ name: "store-only-2", collections, serverUrl: params.get("server") })),
  };
  await new Promise((ok) => setTimeout(ok, 50));
  r.events = events;
  await db.close();
  // The full package over the same database: what the store build wrote is pushed.
  const full = await import("/pkg/web/ferrysync.js");
  await full.default();
  const synced = await full.FerrySync.open({ name: "store-only", collections, serverUrl: params.get("server"),
    token: params.get("token"), autoSync: false });
  r.report = await synced.sync();
  r.pendingAfter = await synced.pending();
  r.id = one.id;
  await synced.close();
  window.result = r;
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;

let server;
try {
  server = await serveFiles(pkg, (name) => name.startsWith("/pkg/") && path.join(pkg, name.slice("/pkg/".length)),
    { "/": page });
  const token = await register(base, "store");
  const r = await pageResult(`${server.url}/?server=${encodeURIComponent(base)}&token=${token}`);
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(r.got.tags, ["ü", 1.5, null]);
  assert.equal(r.got._sync.status, "UNSYNCED");
  assert.deepEqual(r.byIndex, ["b"]);
  assert.equal(r.count, 2);
  assert.equal(r.pending, 3, "the two records and the tombstone wait for a server");
  assert.deepEqual(r.syncMethods, [], "the store build has no sync methods");
  assert.equal(r.withServer?.isError, true);
  assert.equal(r.withServer.code, "INVALID_OPTIONS");
  assert.match(r.withServer.message, /serverUrl needs the package with sync/);
  assert.deepEqual([...new Set(r.events)].sort(), [r.id, "b", "c"].sort());
  assert.equal(r.report.pushed, 3, JSON.stringify(r.report));
  assert.equal(r.pendingAfter, 0);
  const stored = await fetch(`${base}/api/sync/records/notes/b`, { headers: { authorization: `Bearer ${token}` } })
    .then((res) => res.json());
  assert.equal(stored.data.title, "beta, edited");
  console.log("ok: the store build (ferrysync/store) stores and tracks without sync code; the full package then pushes what it wrote");
} finally {
  server?.close();
}
