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

const wellFormed = (s) => (s.isWellFormed ? s.isWellFormed() : !/\p{Surrogate}/u.test(s));

/**
 * Where a record the app writes holds a string or key that is not well-formed UTF-16 (a lone
 * surrogate, as cutting a string inside an emoji leaves), which no UTF-8 store, the server's
 * included, can keep: its path (`title`, `tags.2`); `undefined` when it holds none. Binary data
 * is not entered, nor an object already seen (a cycle).
 */
export function illFormed(record) {
  const seen = new Set();
  const walk = (value, path) => {
    if (typeof value === "string") return wellFormed(value) ? undefined : path;
    if (value === null || typeof value !== "object" || seen.has(value) || ArrayBuffer.isView(value)) return undefined;
    seen.add(value);
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      const bad = wellFormed(key) ? walk(value[key], at) : at;
      if (bad !== undefined) return bad;
    }
    return undefined;
  };
  return walk(record, "");
}
