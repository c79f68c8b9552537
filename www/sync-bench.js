// Sync benchmark (run by www/e2e/bench-sync.mjs): in one page and run, times
//   raw   — hand-written IndexedDB: the N records put in one readwrite transaction;
//   push  — device A: N records written locally (untimed), then one `sync()` pushing them
//           (batches of 1000) and pulling (the server leaves its own changes out); the
//           background rewrite of the pushed rows that follows is timed apart;
//   pull  — a fresh device B: one `sync()` pulling the N records (with local=M, B first writes M
//           records of its own, untimed: its first sync pushes them, then pulls the N into
//           stores that are not empty).
// and prints records/s and the ratio to the raw write. Query: token, n (default 10000), ids, local.
import init, { FerrySync } from "./pkg/ferrysync.js";

const params = new URLSearchParams(location.search);
const N = Number(params.get("n")) || 10000;
const token = params.get("token");
// ids=seq (default): ids in write order ("r000000", …, like time-ordered ids); ids=uuid: random
// UUID v4 (ferrysync's default), whose batches are spread over the whole key space.
const uuids = params.get("ids") === "uuid";
const records = Array.from({ length: N }, (_, i) => ({
  id: uuids ? crypto.randomUUID() : `r${String(i).padStart(6, "0")}`, title: `record ${i}`, n: i, done: i % 3 === 0,
  tags: ["alpha", "beta"], note: "the quick brown fox jumps over the lazy dog",
}));
const tag = Math.random().toString(36).slice(2);
const local = Number(params.get("local")) || 0;
// The times in ms (raw, push, pull), for www/e2e/bench-sync.mjs's medians over several runs.
let figures;
// profile=1: each timed step runs inside console.profile (www/e2e/profile-sync.mjs reads them).
const profiled = params.get("profile") === "1";
async function step(title, work) {
  if (profiled) console.profile(title);
  try { return await work(); } finally { if (profiled) console.profileEnd(title); }
}
// Time spent waiting for the server: the sync requests' fetch-to-last-byte spans, from the
// browser's resource timing (no wrapper around fetch, so the timed steps run as an app's would).
performance.setResourceTimingBufferSize(100000);
function serverTime(since) {
  let ms = 0;
  for (const e of performance.getEntriesByType("resource")) {
    if (e.startTime >= since && e.name.includes("/api/sync/")) ms += e.responseEnd - e.startTime;
  }
  return ms;
}
const request = (r) => new Promise((ok, err) => { r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });

async function raw() {
  const name = `raw-sync-bench-${tag}`;
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("items", { keyPath: "id" });
  const db = await request(open);
  const t0 = performance.now();
  const tx = db.transaction("items", "readwrite");
  const store = tx.objectStore("items");
  for (const r of records) store.put({ ...r, _sync: { status: "SYNCED", version: 1, updatedAt: 0 } });
  await new Promise((ok, err) => { tx.oncomplete = ok; tx.onerror = () => err(tx.error); });
  const ms = performance.now() - t0;
  db.close();
  await request(indexedDB.deleteDatabase(name));
  return ms;
}

// When no acknowledgement batch is left in database `name` (polled every 10 ms).
async function folded(name) {
  const db = await request(indexedDB.open(name));
  try {
    const batches = IDBKeyRange.bound("\u0000ack ", "\u0000ack!", false, true);
    for (;;) {
      const n = await request(db.transaction("_outbox").objectStore("_outbox").count(batches));
      if (n === 0) return performance.now();
      await new Promise((ok) => setTimeout(ok, 10));
    }
  } finally { db.close(); }
}

async function device(name) {
  return FerrySync.open({ name, serverUrl: location.origin, token, autoSync: false, batchSize: 1000,
    collections: { items: {} } });
}

async function main() {
  await init();
  const a = await device(`push-bench-${tag}`);
  await a.bulkPut("items", records);
  let t0 = performance.now();
  const pushed = await step("push", () => a.sync());
  const push = performance.now() - t0;
  const pushNet = serverTime(t0);
  if (pushed.pushed !== N || a.status().pending !== 0) throw new Error(`push incomplete: ${JSON.stringify(pushed)}`);
  // The push stores each batch's results as one value; the rows are rewritten in sync after the
  // cycle, in the background (src/store/acks.rs). Timed until done, before the pull starts.
  const fold = await folded(`push-bench-${tag}`) - (t0 + push);
  const b = await device(`pull-bench-${tag}`);
  if (local > 0) await b.bulkPut("items", Array.from({ length: local }, (_, i) => ({ ...records[i], id: `local-${crypto.randomUUID()}` })));
  t0 = performance.now();
  const pulled = await step("pull", () => b.sync());
  const pull = performance.now() - t0;
  const pullNet = serverTime(t0);
  if (pulled.pulled !== N || (await b.count("items")) !== N + local) throw new Error(`pull incomplete: ${JSON.stringify(pulled)}`);
  const rawMs = await step("raw", raw);
  for (const [db, name] of [[a, `push-bench-${tag}`], [b, `pull-bench-${tag}`]]) {
    await db.close();
    await FerrySync.deleteDatabase(name);
  }
  figures = { raw: rawMs, push, pull, fold };
  const line = (what, ms) => `${what.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms  ${Math.round(N / (ms / 1000)).toString().padStart(8)} records/s`;
  return [
    `sync benchmark, ${N} records, batchSize 1000, ids ${uuids ? "random UUID v4" : "in write order"}`,
    line("raw IndexedDB bulk write", rawMs),
    line("push (sync of N local)", push) + `  ${(push / rawMs).toFixed(2)}x raw (target <= 1.5x)`,
    `  of which waiting for the server ${pushNet.toFixed(0)} ms, in the page ${(push - pushNet).toFixed(0)} ms`,
    `  then rows rewritten in sync in the background until ${fold.toFixed(0)} ms after`,
    line("pull (fresh device sync)", pull) + `  ${(pull / rawMs).toFixed(2)}x raw (target <= 1.3x)`,
    `  of which waiting for the server ${pullNet.toFixed(0)} ms, in the page ${(pull - pullNet).toFixed(0)} ms`,
  ].join("\n");
}

main().then((text) => { document.getElementById("out").textContent = text; window.benchResult = { text, ...figures }; },
  (e) => { document.getElementById("out").textContent = String(e); window.benchResult = { error: String(e) }; });
