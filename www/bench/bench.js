// Times the same work through ferrysync and through raw IndexedDB (raw.js), in one page, and
// prints each time and the ratio ferrysync/raw. Each round uses fresh databases; the figure
// reported is the median of the rounds (for the reads, of every read timed in them: `READS`).
import { Raw } from "./raw.js";

// `?pkg=store-web` (`BENCH_PKG=store-web npm run bench`) times the store alone, `ferrysync/store`.
const PKG = new URLSearchParams(location.search).get("pkg") || "web";
const { default: init, FerrySync } = await import(`../../pkg/${PKG}/ferrysync.js`);

const BULK = 10_000, SINGLE = 1_000, UPDATES = 1_000, ROUNDS = Number(new URLSearchParams(location.search).get("rounds") || 3);
const CITIES = ["Oslo", "Rome", "Lima", "Pune", "Kyiv", "Baku", "Doha"];
const record = (i) => ({ name: "Customer " + String(i).padStart(5, "0"), city: CITIES[i % 7], phone: "555-" + i,
  score: i * 1.5, tags: ["a", "b"], active: i % 2 === 0, address: { street: i + " Main St", zip: "0" + i } });

const out = document.getElementById("out");
const log = (line) => { out.textContent += "\n" + line; console.log(line); };
// Each timed step starts on a collected heap (run.mjs passes --expose-gc), so neither side pays
// for the garbage the step before it left (the second of two read-alls was ~10 % slower either way).
const time = async (f) => { globalThis.gc?.(); const t = performance.now(); await f(); return performance.now() - t; };
const del = (name) => new Promise((ok) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = r.onerror = r.onblocked = ok; });

// Times raw and ferrysync doing the same step; odd rounds run ferrysync first, so neither side
// is always the one that runs second (the second of two equal index queries was ~15 % slower).
// Returns one [raw, ferrysync] sample.
const pair = async (n, rawStep, fsStep) => {
  if (n % 2 === 0) return [[await time(rawStep), await time(fsStep)]];
  const fs = await time(fsStep);
  return [[await time(rawStep), fs]];
};
// A read changes nothing, so each round times it READS times (alternating which side goes first):
// one ~100 ms read is at the mercy of the machine, and a median over rounds x READS samples is
// steadier than over the rounds alone.
const READS = 7;
const reads = async (n, rawStep, fsStep) => {
  const samples = [];
  for (let i = 0; i < READS; i++) samples.push(...await pair(n + i, rawStep, fsStep));
  return samples;
};

async function round(n) {
  const t = {};
  const fsName = `bench-fs-${n}`, rawName = `bench-raw-${n}`;
  await del(fsName); await del(rawName);
  const db = await FerrySync.open({ name: fsName, collections: { customers: { indexes: ["name", "city"] } } });
  const raw = await Raw.open(rawName);
  const bulk = Array.from({ length: BULK }, (_, i) => record(i));
  const single = Array.from({ length: SINGLE }, (_, i) => record(BULK + i));

  let fsRows, rawRows;
  t.bulk = await pair(n, async () => { rawRows = await raw.bulkPut(bulk); }, async () => { fsRows = await db.bulkPut("customers", bulk); });
  t.single = await pair(n, async () => { for (const r of single) await raw.put(r); }, async () => { for (const r of single) await db.put("customers", r); });
  let a, b;
  t.readAll = await reads(n, async () => { a = await raw.all(); }, async () => { b = await db.all("customers"); });
  if (a.length !== b.length || a.length !== BULK + SINGLE) throw new Error(`read-all lengths ${a.length} / ${b.length}`);
  t.query = await reads(n, async () => { a = await raw.query("Customer 02000", "Customer 04000"); },
                       async () => { b = await db.query("customers", { index: "name", gte: "Customer 02000", lt: "Customer 04000" }); });
  if (a.length !== 2000 || b.length !== 2000) throw new Error(`query lengths ${a.length} / ${b.length}`);
  // The same two reads as plain IndexedDB calls on ferrysync's database (its rows as stored, no
  // ferrysync code): what the stored data costs to read, apart from ferrysync's read path.
  const stored = await new Promise((ok, fail) => { const r = indexedDB.open(fsName); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  const plain = (source) => new Promise((ok, fail) => { source.onsuccess = () => ok(source.result); source.onerror = () => fail(source.error); });
  const customers = () => stored.transaction("customers").objectStore("customers");
  t.storedAll = await reads(n, async () => { a = await raw.all(); }, async () => { b = await plain(customers().getAll()); });
  t.storedQuery = await reads(n, async () => { a = await raw.query("Customer 02000", "Customer 04000"); },
                             async () => { b = await plain(customers().index("name").getAll(IDBKeyRange.bound("Customer 02000", "Customer 04000", false, true))); });
  if (b.length !== 2000) throw new Error(`stored query length ${b.length}`);
  stored.close();
  t.updates = await pair(n, async () => { for (let i = 0; i < UPDATES; i++) { const { _sync, ...r } = rawRows[i * 7]; await raw.update({ ...r, phone: "x" + i }); } },
                         async () => { for (let i = 0; i < UPDATES; i++) { const { _sync, ...r } = fsRows[i * 7]; await db.put("customers", { ...r, phone: "x" + i }); } });
  await db.close(); raw.close();
  await del(fsName); await del(rawName);
  return t;
}

const LABELS = { bulk: `bulk write (${BULK} in one bulkPut)`, single: `single writes (${SINGLE} awaited puts)`,
  readAll: `read all (${BULK + SINGLE})`, query: "indexed range query (2000 rows)",
  storedAll: "  read all, plain getAll of its rows", storedQuery: "  query, plain getAll of its rows", updates: `updates (${UPDATES} awaited)` };
const TARGETS = { bulk: 1.10, readAll: 1.10, single: 1.25 };

try {
  await init();
  const rounds = [];
  for (let n = 0; n < ROUNDS; n++) rounds.push(await round(n));
  const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  log(`ferrysync (pkg/${PKG}) vs raw IndexedDB — ${navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0]}, median of ${ROUNDS} rounds (reads: ${READS} per round)`);
  log("operation                              raw ms   ferrysync ms   ratio   target");
  const result = {};
  for (const k of Object.keys(LABELS)) {
    const raw = median(rounds.flatMap((r) => r[k].map((p) => p[0]))), fs = median(rounds.flatMap((r) => r[k].map((p) => p[1])));
    result[k] = { raw, fs, ratio: fs / raw };
    log(`${LABELS[k].padEnd(38)} ${raw.toFixed(1).padStart(7)}   ${fs.toFixed(1).padStart(12)}   ${(fs / raw).toFixed(2).padStart(5)}x  ${TARGETS[k] ? "<= " + TARGETS[k].toFixed(2) + "x" : ""}`);
  }
  window.benchResult = result;
} catch (e) {
  log("FAILED: " + (e.stack || e));
  window.benchResult = { error: String(e) };
}
