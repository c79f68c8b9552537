// Which of a batch's keys a store holds, for src/store/batch.rs: reads that look at the span of
// the wanted keys first (`getMany`), the checks that none of them exists (`absent`, and
// `freshCheck` for a first pull's run of pages, src/store/batch/fresh.rs), and the key arrays
// of a batch (`keyLists`).
import { settle } from "./idb.js";

/**
 * Reads `store(names[i]).get(keys[i])` for every i and resolves with the results in order
 * (`undefined` where a key is absent); rejects with the first failure. Keys are strings.
 * Per store, the span between the smallest and the largest wanted key is looked at first. When
 * it holds fewer than `2n + 16` keys for n wanted, mostly wanted ones (ids in write order, a
 * batch just written), all its values are read with one `getAll` instead of a `get` per key.
 * Otherwise each key is read, except, with `probe` (keys that may well be absent), those the
 * span's key list (up to `8n + 16` keys, `2n + 16` without `probe`; only a complete one rules
 * keys out) shows absent.
 */
export function getMany(tx, names, keys, probe) {
  return new Promise((ok, fail) => {
    const out = new Array(keys.length);
    const groups = new Map();
    for (let i = 0; i < keys.length; i++) {
      let group = groups.get(names[i]);
      if (!group) groups.set(names[i], group = []);
      group.push(i);
    }
    let left = groups.size;
    if (left === 0) return ok(out);
    const done = () => { if (--left === 0) ok(out); };
    for (const [name, wanted] of groups) {
      const store = tx.objectStore(name);
      let lo = keys[wanted[0]], hi = lo;
      for (const i of wanted) { const k = keys[i]; if (k < lo) lo = k; if (k > hi) hi = k; }
      const read = (indexes) => {
        let reads = indexes.length;
        if (reads === 0) return done();
        for (const i of indexes) {
          const request = store.get(keys[i]);
          request.onsuccess = () => { out[i] = request.result; if (--reads === 0) done(); };
          request.onerror = () => fail(request.error);
        }
      };
      const range = IDBKeyRange.bound(lo, hi);
      const dense = 2 * wanted.length + 16;
      // Every value in the span, whose keys are `present`, with one `getAll`: same transaction,
      // nothing written in between, so the values come in the keys' order.
      const readSpan = (present) => {
        const values = store.getAll(range, present.length);
        values.onerror = () => fail(values.error);
        values.onsuccess = () => {
          const byKey = new Map();
          for (let j = 0; j < present.length; j++) byKey.set(present[j], values.result[j]);
          for (const i of wanted) out[i] = byKey.get(keys[i]);
          done();
        };
      };
      // Keys known to exist, in a store whose spans were wide lately (random ids): read at once.
      if (!probe && skipSpan(name)) { read(wanted); continue; }
      const limit = probe ? 8 * wanted.length + 16 : dense;
      const listed = store.getAllKeys(range, limit);
      listed.onerror = () => fail(listed.error);
      listed.onsuccess = () => {
        const present = listed.result;
        if (!probe) {
          const narrow = present.length > 0 && present.length < dense;
          spanSeen(name, narrow);
          return narrow ? readSpan(present) : read(wanted);
        }
        if (present.length >= limit) return read(wanted);
        const have = new Set(present);
        const found = wanted.filter((i) => have.has(keys[i]));
        // Mostly wanted values in the span: one read for all of them.
        if (present.length < dense && 2 * found.length >= present.length && found.length > 0) {
          return readSpan(present);
        }
        read(found);
      };
    }
  });
}

// Stores whose `absent` checks look keys up one by one (see there).
const wideStores = new Set();

/**
 * Resolves `true` when none of `keys[i]` is in store `names[i]` and `false` otherwise. Every
 * request is issued before this returns, so writes issued after it in the same transaction do
 * not change the answer. Per store, every key in the span between the smallest and the largest
 * wanted key is listed with one `getAllKeys`; once such a listing held more than `32n + 16` keys
 * for n wanted (random ids: the span is the whole store, and listing it grows with the store),
 * that store's keys are looked up one by one instead, which costs more per page but not more as
 * the store grows.
 */
export function absent(tx, names, keys) {
  return new Promise((ok, fail) => {
    const groups = new Map();
    for (let i = 0; i < keys.length; i++) {
      let group = groups.get(names[i]);
      if (!group) groups.set(names[i], group = []);
      group.push(keys[i]);
    }
    let left = 0, none = true;
    const answer = (isAbsent) => { none &&= isAbsent; if (--left === 0) ok(none); };
    const ask = (request, isAbsent) => {
      left++;
      request.onsuccess = () => answer(isAbsent(request.result));
      request.onerror = () => fail(request.error);
    };
    for (const [name, wanted] of groups) {
      const store = tx.objectStore(name);
      if (wideStores.has(name)) {
        for (const key of wanted) ask(store.getKey(key), (found) => found === undefined);
        continue;
      }
      let lo = wanted[0], hi = lo;
      for (const k of wanted) { if (k < lo) lo = k; if (k > hi) hi = k; }
      ask(store.getAllKeys(IDBKeyRange.bound(lo, hi)), (present) => {
        if (present.length > 32 * wanted.length + 16) wideStores.add(name);
        const want = new Set(wanted);
        return !present.some((key) => want.has(key));
      });
    }
    if (left === 0) ok(true);
  });
}

/**
 * For a run of pages assuming absence (`batch/fresh.rs`): the `w`s of outbox store `outbox`'s
 * clock and `\0written` entries (-1 without one), and the keys (`collection\0id`) of the
 * records in stores `names` and, with `entries`, of the outbox's record entries (their keys start
 * with a collection name, never "\0"), as one JSON text; `null` when a store has more than
 * `limit`. Resolves with `[clockW, writtenW, keys]`.
 */
export function freshCheck(tx, outbox, names, entries, limit) {
  const out = tx.objectStore(outbox);
  const w = (key) => settle(out.get(key)).then((e) => e?.w ?? -1);
  const list = (store, range, prefix) => settle(store.getAllKeys(range, limit + 1))
    .then((keys) => keys.length > limit ? null : keys.map((k) => prefix + k));
  const lists = names.map((n) => list(tx.objectStore(n), null, `${n}\u0000`));
  if (entries) lists.push(list(out, IDBKeyRange.lowerBound("\u0001"), ""));
  const keys = Promise.all(lists).then((l) => l.includes(null) ? null : JSON.stringify(l.flat()));
  return Promise.all([w("\u0000clock"), w("\u0000written"), keys]);
}

// Per store name, how many more reads of existing keys skip the span check, and the skip the
// next wide span sets: it doubles with each wide span in a row (up to 64), a narrow one resets
// it. A store whose batches are spread over its keys pays for the check only now and then.
const spans = new Map();

function skipSpan(name) {
  const state = spans.get(name);
  if (!state || state.left === 0) return false;
  state.left--;
  return true;
}

function spanSeen(name, narrow) {
  const state = spans.get(name) || { left: 0, next: 1 };
  if (narrow) { state.left = 0; state.next = 1; } else { state.left = state.next; state.next = Math.min(64, 2 * state.next); }
  spans.set(name, state);
}

/**
 * The key arrays of the records in JSON text `json` (`[[collection, id], …]`), parsed in one go
 * instead of one string crossing from wasm per key: `[names, ids, outboxes, entryKeys]`, each
 * record's row (`names[i]`/`ids[i]`) and its outbox entry (`collection\u0000id` in store
 * `outbox`).
 */
export function keyLists(json, outbox) {
  const keys = JSON.parse(json);
  const names = new Array(keys.length), ids = new Array(keys.length);
  const outboxes = new Array(keys.length), entryKeys = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const [c, id] = keys[i];
    names[i] = c; ids[i] = id; outboxes[i] = outbox; entryKeys[i] = `${c}\u0000${id}`;
  }
  return [names, ids, outboxes, entryKeys];
}
