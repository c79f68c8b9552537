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
 * Issues `store(names[i]).get(keys[i])` for every i at once and resolves with the results in
 * order (`undefined` where a key is absent): one promise for the lot, since requests of one
 * transaction complete in the order they were made. Rejects with the first failure.
 */
export function getMany(tx, names, keys) {
  return new Promise((ok, fail) => {
    const out = new Array(keys.length);
    if (keys.length === 0) return ok(out);
    const stores = new Map();
    let left = keys.length;
    for (let i = 0; i < keys.length; i++) {
      let store = stores.get(names[i]);
      if (!store) stores.set(names[i], store = tx.objectStore(names[i]));
      const request = store.get(keys[i]);
      request.onsuccess = () => { out[i] = request.result; if (--left === 0) ok(out); };
      request.onerror = () => fail(request.error);
    }
  });
}

/** JSON text of `value` (`undefined` entries of an array become `null`), or `undefined` when
 * it has no JSON form (a BigInt, a cycle): the caller then converts value by value. */
export function toJson(value) {
  try { return JSON.stringify(value); } catch { return undefined; }
}

/** Puts every value of the JSON array `json` into `store`, without awaiting each request (a
 * failed one aborts the transaction, which its commit reports). */
export function putJson(store, json) {
  for (const value of JSON.parse(json)) store.put(value);
}

/** Deletes every key of `keys` from `store`, without awaiting each request. */
export function deleteAll(store, keys) {
  for (const key of keys) store.delete(key);
}
