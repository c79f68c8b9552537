// `node www/bench/clean-rows.mjs`: what stripping the store's own `_sync` fields (`p`, `o`, `u`)
// from 11,000 rows costs, by deleting them (the earlier `cleanRow`) and by replacing `_sync` with
// a fresh `{ status, version?, updatedAt }` (src/store/idb.js now). The rows are made as a read
// makes them: `structuredClone` is V8's value deserializer, which IndexedDB's `getAll` uses.
// Alternating, 41 rounds, each on fresh rows; prints the medians.
const N = 11000;
const stamp = (i) => `${String(1700000000000 + i).padStart(15, "0")}-000000`;
const rows = Array.from({ length: N }, (_, i) => ({
  name: `name ${i}`, city: "Oslo", score: i * 1.5, active: i % 2 === 0, tags: ["a", "b"],
  address: { street: `${i} Main St`, zip: String(10000 + i) }, note: "lorem ipsum", n: i, id: crypto.randomUUID(),
  _sync: { status: "UNSYNCED", updatedAt: 1700000000000 + i, p: `${i} ${crypto.randomUUID()} ${stamp(i)}`, o: i, u: 1 },
}));
const kept = (s) => s && (s.p !== undefined || s.o !== undefined || s.u !== undefined);
const strategies = {
  "delete p, o, u": (all) => {
    for (const row of all) { const s = row._sync; if (kept(s)) { delete s.u; delete s.o; delete s.p; } }
  },
  "replace _sync": (all) => {
    for (const row of all) {
      const s = row._sync;
      if (kept(s)) row._sync = s.version === undefined ? { status: s.status, updatedAt: s.updatedAt }
        : { status: s.status, version: s.version, updatedAt: s.updatedAt };
    }
  },
};
const names = Object.keys(strategies);
const times = Object.fromEntries(names.map((k) => [k, []]));
let sink = 0;
for (let round = 0; round < 41; round++) {
  for (const k of round % 2 ? names.slice().reverse() : names) {
    const copy = structuredClone(rows);
    const t0 = performance.now();
    strategies[k](copy);
    times[k].push(performance.now() - t0);
    for (const row of copy) sink += row._sync.updatedAt;
  }
}
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(`stripping ${N} rows' _sync, median of 41 rounds (node ${process.version})`);
for (const k of names) console.log(`${k.padEnd(16)} ${median(times[k]).toFixed(2).padStart(7)} ms`);
if (sink === 0) console.log("");
