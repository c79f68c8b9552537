// IndexedDB plumbing for src/store/idb.rs: turns requests, transactions and the versioned open
// into promises. Kept in JS because a promise per request is all the store needs, and in JS it
// costs one closure pair instead of wasm-side closures and channels per request.

/** Resolves with the request's result; rejects with its error (the transaction then aborts). */
export function settle(request) {
  return new Promise((ok, fail) => {
    request.onsuccess = () => ok(request.result);
    request.onerror = () => fail(request.error);
  });
}

/**
 * Commits `tx` once its requests are done (no more will be issued) and resolves on `complete`;
 * rejects with the transaction's error (or an AbortError) when it aborts instead.
 */
export function finish(tx) {
  const done = new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onabort = () => fail(tx.error || new DOMException("the transaction was aborted", "AbortError"));
  });
  // Committing now saves waiting for auto-commit; an inactive transaction commits (or aborts)
  // by itself, and its events still settle `done`.
  try { tx.commit?.(); } catch { /* not active any more */ }
  return done;
}

/** Up to `limit` values of an object store or index in `range`, highest keys first. */
export function scanBack(source, range, limit) {
  return new Promise((ok, fail) => {
    const values = [];
    const request = source.openCursor(range, "prev");
    request.onerror = () => fail(request.error);
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || values.length >= limit) return ok(values);
      values.push(cursor.value);
      cursor.continue();
    };
  });
}

/**
 * Opens database `name` (at `version`, or the current one when 0). A `versionchange` calls
 * `upgrade(db, tx)`; when it throws, the upgrade is aborted (nothing changes) and the open
 * rejects with what it threw. When other connections still block the upgrade after `graceMs`
 * (they may just be finishing their last transactions), rejects with a `BlockedError`; a
 * connection that opens after that is closed again.
 */
export function open(name, version, upgrade, graceMs) {
  return new Promise((ok, fail) => {
    const request = version ? indexedDB.open(name, version) : indexedDB.open(name);
    let settled = false, timer, thrown;
    const end = (f, v) => { clearTimeout(timer); if (settled) return false; settled = true; f(v); return true; };
    request.onupgradeneeded = () => {
      try { upgrade(request.result, request.transaction); } catch (e) { thrown = e; request.transaction.abort(); }
    };
    request.onblocked = () => {
      timer = setTimeout(() => end(fail, new DOMException(`database ${name} is blocked`, "BlockedError")), graceMs);
    };
    request.onsuccess = () => { if (!end(ok, request.result)) request.result.close(); };
    request.onerror = (event) => { event.preventDefault(); end(fail, thrown ?? request.error); };
  });
}

/** Deletes database `name`. */
export function remove(name) {
  return settle(indexedDB.deleteDatabase(name));
}

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

/** Strips from a row's `_sync` what only the store keeps (`p`, `o`, `u`; see `RowSync`): the
 * app reads `{ status, version?, updatedAt }`. A fresh object replaces `_sync`, which takes less
 * than half the time of deleting the three fields (`node www/bench/clean-rows.mjs`). Returns the
 * row. */
function cleanRow(row) {
  const s = row?._sync;
  if (s && (s.p !== undefined || s.o !== undefined || s.u !== undefined)) {
    row._sync = s.version === undefined
      ? { status: s.status, updatedAt: s.updatedAt }
      : { status: s.status, version: s.version, updatedAt: s.updatedAt };
  }
  return row;
}

/**
 * `cleanRow` of every row of `rows` (of collection `c`), in place; returns `rows`. A row whose
 * pending change (`_sync.p`, short `"<seq> <changeId> <stamp>"` or an object) is acknowledged
 * in `acks` (`acksRead`) reads as in sync at the acknowledged version.
 */
export function cleanRows(rows, acks, c) {
  const any = acksLen(acks) > 0;
  for (const row of rows) {
    const s = row._sync;
    const version = any && s?.p !== undefined
      ? acksVersion(acks, c, row.id, typeof s.p === "string" ? s.p.split(" ")[1] : s.p.changeId)
      : NaN;
    if (Number.isNaN(version)) { cleanRow(row); continue; }
    const v = version >= 0 ? version : s.version;
    row._sync = v === undefined
      ? { status: "SYNCED", updatedAt: s.updatedAt }
      : { status: "SYNCED", version: v, updatedAt: s.updatedAt };
  }
  return rows;
}

// Acknowledgement batches (src/store/acks.rs): outbox entries `{ k, items }`, `k` =
// `"\0ack <highest position> <lowest position>"` (16 digits each), an item
// `[collection, id, changeId, version or null, position]`.
const ACK = "\u0000ack ", ACK_END = "\u0000ack!";
const padded = (n) => String(n).padStart(16, "0");

/**
 * Reads in `tx` the acknowledgement batches of store `outbox` holding a position above `after`
 * (all when -1); resolves with `{ batches, byKey }`, `byKey` mapping `collection\0id` to its
 * `[batch, item]`.
 */
export function acksRead(tx, outbox, after) {
  const lower = after < 0 ? ACK : ACK + padded(after + 1);
  return settle(tx.objectStore(outbox).getAll(IDBKeyRange.bound(lower, ACK_END, false, true)))
    .then((batches) => {
      const byKey = new Map();
      for (const b of batches) for (const item of b.items) byKey.set(`${item[0]}\u0000${item[1]}`, [b, item]);
      return { batches, byKey };
    });
}

/** How many records `acks` acknowledges (0 for `undefined`). */
export function acksLen(acks) {
  return acks ? acks.byKey.size : 0;
}

/**
 * The version `acks` gives record `c`/`id` when its pending change is `changeId` (any change
 * when `""`): -1 when the item has none, NaN when there is no such item.
 */
export function acksVersion(acks, c, id, changeId) {
  const found = acks?.byKey.get(`${c}\u0000${id}`);
  if (!found || (changeId !== "" && found[1][2] !== changeId)) return NaN;
  return found[1][3] ?? -1;
}

/** Issues in `tx` the removal of the items of records `names[i]`/`ids[i]` from their batches. */
export function acksRemove(tx, outbox, acks, names, ids) {
  const gone = new Map();
  for (let i = 0; i < ids.length; i++) {
    const key = `${names[i]}\u0000${ids[i]}`, found = acks?.byKey.get(key);
    if (!found) continue;
    acks.byKey.delete(key);
    let items = gone.get(found[0]);
    if (!items) gone.set(found[0], items = new Set());
    items.add(found[1]);
  }
  const store = tx.objectStore(outbox);
  for (const [batch, items] of gone) {
    batch.items = batch.items.filter((item) => !items.has(item));
    if (batch.items.length > 0) store.put(batch); else store.delete(batch.k);
  }
}

/** Issues in `tx` the put of a new batch of `items` (a non-empty array). */
export function acksPut(tx, outbox, items) {
  let lo = Infinity, hi = -Infinity;
  for (const item of items) { lo = Math.min(lo, item[4]); hi = Math.max(hi, item[4]); }
  tx.objectStore(outbox).put({ k: `${ACK}${padded(hi)} ${padded(lo)}`, items });
}

/**
 * Up to `limit` (all when 0) rows of store `name` in `range` (outbox positions, `undefined` or
 * a lower bound) of its index `index`, in key order; with a limit, the rows `acks`
 * acknowledges are left out first, so that they do not take the places of others. A span of
 * positions that a batch acknowledges entirely (an item for each of its positions; every item
 * is in effect) is skipped; in the rest, the index's keys are listed (with room for the
 * acknowledged ones), then the rows read.
 */
export function listRows(tx, name, index, range, limit, acks) {
  const source = tx.objectStore(name).index(index);
  const n = acksLen(acks);
  if (limit === 0) return settle(source.getAll(range));
  if (n === 0) return settle(source.getAll(range, limit));
  const covered = [];
  for (const b of acks.batches) {
    let lo = Infinity, hi = -Infinity;
    for (const item of b.items) { lo = Math.min(lo, item[4]); hi = Math.max(hi, item[4]); }
    if (b.items.length === hi - lo + 1) covered.push([lo, hi]);
  }
  covered.sort((x, y) => x[0] - y[0]);
  const gaps = [];
  let from = range ? range.lower + (range.lowerOpen ? 1 : 0) : -Infinity;
  for (const [lo, hi] of covered) {
    if (hi < from) continue;
    if (lo > from) gaps.push(IDBKeyRange.bound(from, lo, false, true));
    from = Math.max(from, hi + 1);
  }
  gaps.push(IDBKeyRange.lowerBound(from));
  const keys = [];
  const next = (i) => {
    if (i === gaps.length || keys.length >= limit) return getMany(tx, keys.map(() => name), keys, false);
    return settle(source.getAllKeys(gaps[i], limit - keys.length + n)).then((ids) => {
      for (const id of ids) {
        if (keys.length < limit && Number.isNaN(acksVersion(acks, name, id, ""))) keys.push(id);
      }
      return next(i + 1);
    });
  };
  return next(0);
}

/** Up to `limit` `[collection, id]` of the records `acks` acknowledges in collections `names`. */
export function acksKeys(acks, names, limit) {
  const keys = [];
  const wanted = new Set(names);
  for (const b of acks?.batches ?? []) {
    for (const item of b.items) {
      if (keys.length >= limit) return keys;
      if (wanted.has(item[0])) keys.push([item[0], item[1]]);
    }
  }
  return keys;
}

/** JSON text of `value` (`undefined` entries of an array become `null`; a BigInt in the i64/u64
 * range becomes its exact integer), or `undefined` when it has no JSON form (a cycle, a larger
 * BigInt): the caller then converts value by value. */
export function toJson(value) {
  try { return JSON.stringify(value); } catch {
    try { return JSON.stringify(value, bigints); } catch { return undefined; }
  }
}

function bigints(_key, value) {
  if (typeof value !== "bigint") return value;
  if (value < -(2n ** 63n) || value >= 2n ** 64n) throw new RangeError("BigInt out of range");
  return JSON.rawJSON ? JSON.rawJSON(String(value)) : Number(value);
}

/** Puts every value of the JSON array `json` into `store`, without awaiting each request (a
 * failed one aborts the transaction, which its commit reports). */
export function putJson(store, json) {
  for (const value of JSON.parse(json)) store.put(value);
}

/**
 * The sync state in outbox positions `lo..=hi`: resolves with `[rows, entries]`, the outbox
 * entries (`Entry`) that the rows of collections `names` in index `indexes[0]` imply, and the
 * outbox store's (`outbox`) entries in index `indexes[1]`.
 */
export function spanSyncs(tx, names, indexes, outbox, lo, hi) {
  const range = IDBKeyRange.bound(lo, hi);
  const reads = names.map((c) => settle(tx.objectStore(c).index(indexes[0]).getAll(range))
    .then((rows) => rows.map(({ id, _sync: s }) => {
      const { p, o, u } = s;
      const e = { k: `${c}\u0000${id}`, c, id, sync: cleanRow({ _sync: s })._sync, deleted: false };
      if (p !== undefined) e.pending = p;
      if (o !== undefined) e.o = o;
      if (u !== undefined) e.u = u;
      return e;
    })));
  const entries = settle(tx.objectStore(outbox).index(indexes[1]).getAll(range));
  return Promise.all([Promise.all(reads), entries]).then(([rows, entries]) => [rows.flat(), entries]);
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

/** Deletes every key of `keys` from `store`, without awaiting each request. */
export function deleteAll(store, keys) {
  for (const key of keys) store.delete(key);
}
