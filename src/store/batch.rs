//! The engine's batch reads and writes ([`LocalStore::update`](ferrysync_core::store::LocalStore)
//! and the outbox), hundreds of rows at a time. Per batch, all reads are issued at once and
//! awaited as one promise, and rows cross the wasm boundary as one JSON text each way
//! (`JSON.stringify` / `JSON.parse` in the page, serde_json in Rust; a pulled record's fields
//! are written as the text they came in, never parsed: `rows_json`), several times cheaper than
//! converting every field of every row (`toJson` in `idb.js` writes a BigInt the app stored as
//! its exact integer; a batch with a value that has no JSON form, e.g. a cycle, is decoded value
//! by value, and that value is an error). Writes are issued without awaiting each: a failed one aborts the
//! transaction and its commit says so. Reads of keys that may be absent first list the keys the
//! store has (`getMany` in `keys.js`). Updates of records the engine read earlier (a pushed
//! batch) are in `batch/known.rs` ([`update_read`], [`update_assumed`]).

use std::collections::HashMap;

use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Key, Result, UpdateFn};
use js_sys::{Array, Promise};
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbObjectStore, IdbTransaction};

use super::acks::{self, Acks};
use super::row::{self, entry_key, Entry, RowSync, StoredRow, SYNC};
use super::schema::{META, OUTBOX};
use super::{clock, idb, js_store_error};

mod fresh;
mod guarded;
mod known;
pub use fresh::Fresh;
pub use known::{update_assumed, update_read};

#[wasm_bindgen(module = "/src/store/keys.js")]
extern "C" {
    #[wasm_bindgen(js_name = getMany)]
    fn get_many(tx: &IdbTransaction, names: &Array, keys: &Array, probe: bool) -> Promise;
    #[wasm_bindgen(js_name = keyLists)]
    fn key_lists_of(json: &str, outbox: &str) -> Array;
}

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson)]
    fn to_json(value: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = putJson, catch)]
    fn put_json(store: &IdbObjectStore, json: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = deleteAll, catch)]
    fn delete_all(store: &IdbObjectStore, keys: &Array) -> Result<(), JsValue>;
}

/// The JS arrays of `keys`' rows and outbox entries: `(names, ids)` of the rows and
/// `(outboxes, entry_keys)` of the entries, index for index. They cross as one JSON text
/// (`keyLists` in `keys.js`): a string per key would cost a text decode each.
pub fn key_lists(keys: &[Key]) -> Result<[Array; 4]> {
    let lists = key_lists_of(&json(keys)?, OUTBOX);
    Ok(std::array::from_fn(|i| {
        lists.get(i as u32).unchecked_into()
    }))
}

/// Issues one `get` per `(store, key)` now; the future yields the decoded values in order.
/// With `probe`, the keys a store lacks are found first and not read (`getMany` in `keys.js`):
/// for keys that may well be absent; keys known to exist are read directly.
fn read<T: DeserializeOwned>(
    tx: &IdbTransaction,
    gets: impl Iterator<Item = (JsValue, JsValue)>,
    probe: bool,
) -> impl std::future::Future<Output = Result<Vec<Option<T>>>> {
    let (names, keys): (Array, Array) = {
        let (names, keys) = (Array::new(), Array::new());
        for (name, key) in gets {
            names.push(&name);
            keys.push(&key);
        }
        (names, keys)
    };
    read_arrays(tx, &names, &keys, probe)
}

/// [`read`] of `names[i]`/`keys[i]` pairs already in arrays.
fn read_arrays<T: DeserializeOwned>(
    tx: &IdbTransaction,
    names: &Array,
    keys: &Array,
    probe: bool,
) -> impl std::future::Future<Output = Result<Vec<Option<T>>>> {
    let promise = get_many(tx, names, keys, probe);
    async move {
        let values: Array = JsFuture::from(promise)
            .await
            .map_err(|e| js_store_error(&e))?
            .unchecked_into();
        decode(&values)
    }
}

/// The values of `store(names[i]).get(keys[i])`, keys known to exist, read inside `tx`.
pub async fn get_all_of(tx: &IdbTransaction, names: &Array, keys: &Array) -> Result<Array> {
    let values = JsFuture::from(get_many(tx, names, keys, false))
        .await
        .map_err(|e| js_store_error(&e))?;
    Ok(values.unchecked_into())
}

/// Decodes an array of stored values (`undefined` = absent), as JSON when it has that form.
pub fn decode<T: DeserializeOwned>(values: &Array) -> Result<Vec<Option<T>>> {
    if let Some(text) = to_json(values) {
        return serde_json::from_str(&text)
            .map_err(|e| ferrysync_core::store::StoreError::Backend(e.to_string()));
    }
    values
        .iter()
        .map(|v| (!v.is_undefined()).then(|| row::from_js(v)).transpose())
        .collect()
}

/// A live record's row as stored: its fields, `id` and `_sync` (a [`RowSync`]).
struct RowOut<'a>(&'a LocalRecord, &'a str);

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let record = self.0;
        let mut map = s.serialize_map(Some(record.data.len() + 2))?;
        for (k, v) in record.data.iter().filter(|(k, _)| *k != "id" && *k != SYNC) {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("id", &record.id)?;
        map.serialize_entry(
            SYNC,
            &RowSync::of(&record.sync, record.pending.as_ref(), self.1),
        )?;
        map.end()
    }
}

/// The JSON array of `rows`. A row whose fields are still the JSON text they arrived in (a pulled
/// record's, see [`LazyJson`](ferrysync_core::lazy_json::LazyJson)) is that text with `id` and
/// `_sync` added at its end: `JSON.parse` keeps a key's last value, so an `id` or `_sync` among
/// the fields reads as the row's own, as when [`RowOut`] leaves them out.
fn rows_json(rows: &[RowOut<'_>]) -> Result<String> {
    let mut out = String::from("[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let RowOut(record, device) = row;
        let Some(fields) = record.data.raw() else {
            out.push_str(&json(row)?);
            continue;
        };
        // An object's text: `{`, its members, `}`.
        let members = fields[1..fields.len() - 1].trim();
        out.push('{');
        if !members.is_empty() {
            out.push_str(members);
            out.push(',');
        }
        out.push_str("\"id\":");
        out.push_str(&json(&record.id)?);
        out.push_str(",\"_sync\":");
        out.push_str(&json(&RowSync::of(
            &record.sync,
            record.pending.as_ref(),
            device,
        ))?);
        out.push('}');
    }
    out.push(']');
    Ok(out)
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| ferrysync_core::store::StoreError::Backend(e.to_string()))
}

/// A record as read inside a transaction (row and outbox entry joined), with whether it had a
/// row and whether it had an entry.
pub type Read = (Option<LocalRecord>, bool, bool);

/// The records (row, outbox entry and acknowledgement joined) at `keys`, read inside `tx`, with
/// whether each had a row and an entry, and the acknowledgements read. The reads are issued
/// now; the future joins their answers.
fn read_records<'a>(
    tx: &IdbTransaction,
    device: &'a str,
    keys: &'a [Key],
) -> Result<impl std::future::Future<Output = Result<(Vec<Read>, Acks)>> + 'a> {
    let [names, ids, outboxes, entry_keys] = key_lists(keys)?;
    let rows = read_arrays::<StoredRow>(tx, &names, &ids, true);
    let entries = read_arrays::<Entry>(tx, &outboxes, &entry_keys, true);
    let acks = acks::read(tx, None)?;
    Ok(async move {
        let (rows, entries, acks) = (rows.await?, entries.await?, acks.await?);
        let read = keys
            .iter()
            .zip(rows.into_iter().zip(entries))
            .map(|((collection, id), (row, entry))| {
                let (had_row, had_entry) = (row.is_some(), entry.is_some());
                let record = row::join(id, row, entry, device);
                // An entry overrides the row; only a row alone may be acknowledged.
                let record = match had_entry {
                    true => record,
                    false => record.map(|r| acks.settle(collection, r)),
                };
                (record, had_row, had_entry)
            })
            .collect();
        Ok((read, acks))
    })
}

/// The body of [`LocalStore::update`](ferrysync_core::store::LocalStore::update) inside `tx`,
/// on the database of device `device` (rows leave its id out of their stamps: `row::stamp_out`).
pub async fn update(
    tx: &IdbTransaction,
    device: &str,
    keys: &[Key],
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
) -> Result<Vec<Option<LocalRecord>>> {
    let read = read_records(tx, device, keys)?.await?;
    write_read(tx, device, keys, read, meta, f)
}

/// [`write`] of records `read` by [`read_records`], as any update but an acknowledgement.
fn write_read(
    tx: &IdbTransaction,
    device: &str,
    keys: &[Key],
    (read, acks): (Vec<Read>, Acks),
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
) -> Result<Vec<Option<LocalRecord>>> {
    let nonce = js_sys::Math::random();
    write(tx, device, keys, read, &acks, meta, f, false, nonce)
}

/// Passes each read record to `f` and issues the writes of what it returns and of `meta`. A
/// written record's acknowledgement item (in `acks`, read in `tx`) is removed. With `settling`
/// (a push's results), records `f` only settles go into one new acknowledgement batch instead
/// of having their rows rewritten (see [`acks`]).
#[allow(clippy::too_many_arguments)]
fn write(
    tx: &IdbTransaction,
    device: &str,
    keys: &[Key],
    read: Vec<Read>,
    acks: &Acks,
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
    settling: bool,
    nonce: f64,
) -> Result<Vec<Option<LocalRecord>>> {
    // A key listed twice sees its own earlier result, as in one sequential pass; `stored` says
    // whether a row and an entry exist on disk, so only those are deleted. `current` points at
    // each key's latest result in `written`, which is written from there (no copies).
    let mut current: HashMap<&Key, (usize, bool, bool)> = HashMap::with_capacity(keys.len());
    let mut order: Vec<&Key> = Vec::with_capacity(keys.len());
    let mut written: Vec<Option<LocalRecord>> = Vec::with_capacity(keys.len());
    // By index in `written`, for a key's only result when its row alone held a pending change:
    // the record as read, to tell whether `f` only settled it.
    let mut before: Vec<Option<LocalRecord>> = Vec::new();
    for (key, (record, had_row, had_entry)) in keys.iter().zip(read) {
        let (old, had_row, had_entry) = match current.get(key) {
            Some(&(at, had_row, had_entry)) => (written[at].clone(), had_row, had_entry),
            None => {
                order.push(key);
                (record, had_row, had_entry)
            }
        };
        if settling {
            let row_only = had_row && !had_entry && !current.contains_key(key);
            before.push(old.clone().filter(|r| row_only && r.pending.is_some()));
        }
        current.insert(key, (written.len(), had_row, had_entry));
        written.push(f(key, old));
    }
    let mut items = Vec::new();
    let mut rewritten = Vec::with_capacity(order.len());
    let mut puts: HashMap<&str, Vec<RowOut<'_>>> = HashMap::new();
    let mut deletes: HashMap<&str, Array> = HashMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    let entry_deletes = Array::new();
    for &key in &order {
        let (collection, id) = key;
        let Some(&(at, had_row, had_entry)) = current.get(key) else {
            continue;
        };
        let next = &written[at];
        if let (Some(Some(old)), Some(next)) = (before.get(at), next) {
            if let Some(item) = acks::Item::of(collection, old, true, next) {
                items.push(item);
                continue;
            }
        }
        rewritten.push((collection.as_str(), id.as_str()));
        match next.as_ref().filter(|r| !r.deleted) {
            Some(record) => puts
                .entry(collection)
                .or_default()
                .push(RowOut(record, device)),
            None if had_row => {
                deletes
                    .entry(collection)
                    .or_insert_with(Array::new)
                    .push(&id.into());
            }
            None => {}
        }
        // A live record's sync state is in its row; only a tombstone has an entry.
        let entry = next
            .as_ref()
            .filter(|r| r.deleted)
            .and_then(|r| Entry::of(collection, id, &r.sync, r.pending.as_ref(), true));
        match entry {
            Some(entry) => entries.push(entry),
            None if had_entry => {
                entry_deletes.push(&entry_key(collection, id).into());
            }
            None => {}
        }
    }
    for (collection, rows) in &puts {
        idb::thrown(put_json(&idb::store(tx, collection)?, &rows_json(rows)?))?;
    }
    for (collection, ids) in &deletes {
        idb::thrown(delete_all(&idb::store(tx, collection)?, ids))?;
    }
    let outbox = idb::store(tx, OUTBOX)?;
    if !entries.is_empty() {
        idb::thrown(put_json(&outbox, &json(&entries)?))?;
    }
    if entry_deletes.length() > 0 {
        idb::thrown(delete_all(&outbox, &entry_deletes))?;
    }
    // Every record written here (not merely settled) loses its acknowledgement item.
    acks.remove(tx, rewritten)?;
    acks::put(tx, items)?;
    clock::written(&outbox, nonce)?;
    let meta_store = idb::store(tx, META)?;
    for (key, value) in meta {
        idb::thrown(meta_store.put_with_key(&row::to_js(value)?, &(*key).into()))?;
    }
    Ok(written)
}

/// The rows of `entries` (none for a tombstone or a collection `live` rejects), read inside `tx`
/// and joined with their entries into records.
pub async fn records_of(
    tx: &IdbTransaction,
    device: &str,
    entries: Vec<Entry>,
    live: impl Fn(&Entry) -> bool,
) -> Result<Vec<(String, LocalRecord)>> {
    let wanted: Vec<bool> = entries.iter().map(&live).collect();
    // A live entry's row exists.
    let rows = read::<StoredRow>(
        tx,
        entries
            .iter()
            .zip(&wanted)
            .filter(|(_, w)| **w)
            .map(|(e, _)| (JsValue::from_str(&e.c), JsValue::from_str(&e.id))),
        false,
    )
    .await?;
    let mut rows = rows.into_iter();
    let mut records = Vec::with_capacity(entries.len());
    for (entry, wanted) in entries.into_iter().zip(wanted) {
        let row = if wanted { rows.next().flatten() } else { None };
        let (collection, id) = (entry.c.clone(), entry.id.clone());
        if let Some(record) = row::join(&id, row, Some(entry), device) {
            records.push((collection, record));
        }
    }
    Ok(records)
}
