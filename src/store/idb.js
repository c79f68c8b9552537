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
