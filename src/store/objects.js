// Object builders for src/store/objects.rs: the write path's objects made by literals, one
// wasm-to-JS call per object instead of one per field. Field order and omitted optional fields
// match what `row::to_js` (serde_json, then `JSON.parse`) makes of the same Rust structs.

/** `SyncMeta`: `{ status, version?, updatedAt }`. */
export function syncMeta(status, version, updatedAt) {
  return version === undefined ? { status, updatedAt } : { status, version, updatedAt };
}

/** A row's `_sync` (`RowSync`): `{ status, version?, updatedAt, p?, o?, u? }`. */
export function rowSync(status, version, updatedAt, p, o, u) {
  const s = syncMeta(status, version, updatedAt);
  if (p !== undefined) s.p = p;
  if (o !== undefined) s.o = o;
  if (u !== undefined) s.u = u;
  return s;
}

/** `Pending`: `{ changeId, baseVersion?, hlc, changedFields, seq, note? }`. */
export function pending(changeId, baseVersion, hlc, changedFields, seq, note) {
  const p = { changeId };
  if (baseVersion !== undefined) p.baseVersion = baseVersion;
  p.hlc = hlc;
  p.changedFields = changedFields;
  p.seq = seq;
  if (note !== undefined) p.note = note;
  return p;
}

/** An outbox `Entry`: `{ k, c, id, sync, deleted, pending?, o?, u? }`. */
export function entry(k, c, id, sync, deleted, pending, o, u) {
  const e = { k, c, id, sync, deleted };
  if (pending !== undefined) e.pending = pending;
  if (o !== undefined) e.o = o;
  if (u !== undefined) e.u = u;
  return e;
}

const wellFormed = String.prototype.isWellFormed
  ? (s) => s.isWellFormed() : (s) => !/\p{Surrogate}/u.test(s);

/**
 * Where a record the app writes holds a string or key that is not well-formed UTF-16 (a lone
 * surrogate, as cutting a string inside an emoji leaves), which no UTF-8 store, the server's
 * included, can keep: its path (`title`, `tags.2`); `undefined` when it holds none. Binary data
 * is not entered, nor an object already seen (a cycle).
 */
export function illFormed(record) {
  const bad = walk(record, undefined);
  return bad && bad.reverse().join(".");
}

/** `illFormed`'s path, innermost key first; `seen` is made when the first nested object is. */
function walk(object, seen) {
  for (const key of Object.keys(object)) {
    if (!wellFormed(key)) return [key];
    const value = object[key];
    if (typeof value === "string") {
      if (!wellFormed(value)) return [key];
      continue;
    }
    if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) continue;
    seen ??= new Set([object]);
    if (seen.has(value)) continue;
    seen.add(value);
    const bad = walk(value, seen);
    if (bad) {
      bad.push(key);
      return bad;
    }
  }
  return undefined;
}
