// IndexedDB plumbing for src/store/idb.rs: turns requests, transactions and the versioned open
// into promises. Kept in JS because a promise per request is all the store needs, and in JS it
// costs one closure pair instead of wasm-side closures and channels per request. Reads of a
// batch's keys are in keys.js (which uses `settle`; both only call each other's functions).
import { getMany } from "./keys.js";

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
    request.onsuccess = () => {
      const db = request.result;
      if (!end(ok, db)) return db.close();
      // Another open upgrading the database (a newer app in another tab), or a deletion, must
      // not be blocked by this connection: it closes, and is reopened on its next use (which
      // fails after a deletion: `reopen`).
      db.onversionchange = () => {
        db.close();
        replaced.add(db);
      };
    };
    request.onerror = (event) => { event.preventDefault(); end(fail, thrown ?? request.error); };
  });
}

/** Connections closed for another connection's upgrade or deletion. */
const replaced = new WeakSet();
/** Each such connection's reopening, shared by every caller that finds it closed. */
const reopenings = new WeakMap();

/** Whether `db` was closed for another connection's upgrade or deletion. */
export function isReplaced(db) {
  return replaced.has(db);
}

/**
 * A connection to `db`'s database once the upgrade that closed `db` is done (the same promise
 * for every caller). Rejects when the database was deleted: it is never created again here.
 */
export function reopen(db, graceMs) {
  let reopening = reopenings.get(db);
  if (!reopening) {
    const gone = () => { throw new DOMException(`database ${db.name} was deleted`, "NotFoundError"); };
    reopening = open(db.name, 0, gone, graceMs);
    reopenings.set(db, reopening);
  }
  return reopening;
}

/** Deletes database `name`. */
export function remove(name) {
  return settle(indexedDB.deleteDatabase(name));
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

/** Deletes every key of `keys` from `store`, without awaiting each request. */
export function deleteAll(store, keys) {
  for (const key of keys) store.delete(key);
}
