//! The app's reads and writes, which keep records as JS objects end to end: a row goes to
//! IndexedDB as the app's (copied) object plus `id` and `_sync`, and comes back as IndexedDB
//! returns it, so the hot paths never convert records to Rust values. Only the metadata (a few
//! fields) crosses into Rust, and the data only when coalescing needs the changed fields.

use std::collections::HashMap;

use ferrysync_core::protocol::MAX_ID_LEN;
use ferrysync_core::query::Range;
use ferrysync_core::record::{changed_fields, Edit, LocalRecord, SyncMeta};
use ferrysync_core::store::StoreError;
use futures_util::future::{join, try_join_all};
use js_sys::{Array, Object, Reflect};
use rexie::{Direction, KeyRange, Transaction, TransactionMode};
use serde_json::Map;
use wasm_bindgen::{JsCast, JsValue};

use super::row::{self, Entry, SYNC};
use super::schema::{META, NOT_SYNCED, OUTBOX};
use super::{abort, commit, read_pair, rexie_result, IndexedDb};
use crate::{Error, Result};

/// One record the app writes: a copy of its object (`None` deletes), and its edit.
#[derive(Debug)]
pub struct Write {
    /// Record id.
    pub id: String,
    /// The new row (the app's fields and `id`), or `None` for a delete.
    pub row: Option<Object>,
    /// True when the id was just generated, so there is nothing to read first.
    pub fresh: bool,
    /// The edit's identity.
    pub edit: Edit,
}

/// What a write did to one record: its new row, or `None` for a tombstone.
pub type Written = (String, Option<JsValue>);

/// Checks a record from the app and copies it (the app's object is never modified): a plain
/// object whose `id`, if present, is a non-empty string of at most [`MAX_ID_LEN`] bytes. Returns
/// the id (a new UUID v4 when absent), the copy and whether the id is new. `_sync` is dropped.
pub fn prepare(record: &JsValue) -> Result<(String, Object, bool)> {
    if !record.is_object() || Array::is_array(record) {
        return Err(Error::InvalidRecord(
            "a record must be a plain object".into(),
        ));
    }
    let copy = Object::assign(&Object::new(), record.unchecked_ref());
    let id = Reflect::get(&copy, &"id".into()).unwrap_or_default();
    let (id, fresh) = if id.is_undefined() {
        let id = uuid::Uuid::new_v4().to_string();
        let _ = Reflect::set(&copy, &"id".into(), &id.as_str().into());
        (id, true)
    } else {
        (check_id(&id)?, false)
    };
    let _ = Reflect::delete_property(&copy, &SYNC.into());
    Ok((id, copy, fresh))
}

/// Checks a record id from the app.
pub fn check_id(id: &JsValue) -> Result<String> {
    match id.as_string() {
        Some(id) if !id.is_empty() && id.len() <= MAX_ID_LEN => Ok(id),
        _ => Err(Error::InvalidRecord(format!(
            "id must be a non-empty string of at most {MAX_ID_LEN} bytes"
        ))),
    }
}

impl IndexedDb {
    /// Writes `writes` (in order) and the `meta` entries in one transaction; resolves after
    /// the commit with each record's new row. Deletes of records that do not exist are skipped.
    pub async fn write(
        &self,
        collection: &str,
        writes: Vec<Write>,
        meta: Vec<(&'static str, JsValue)>,
    ) -> Result<Vec<Written>> {
        self.check(collection)?;
        let tx = self.transaction(&[collection, OUTBOX, META], TransactionMode::ReadWrite)?;
        match write_in(&tx, collection, writes, meta).await {
            Ok(written) => {
                commit(tx).await.map_err(record_error)?;
                Ok(written)
            }
            Err(e) => Err(record_error(
                abort::<()>(tx, e).await.err().unwrap_or(StoreError::Closed),
            )),
        }
    }

    /// The live row `collection/id`, if any.
    pub async fn get_row(&self, collection: &str, id: &str) -> Result<Option<JsValue>> {
        self.check(collection)?;
        let tx = self.transaction(&[collection], TransactionMode::ReadOnly)?;
        let store = rexie_result(tx.store(collection))?;
        Ok(rexie_result(store.get(id.into()).await)?)
    }

    /// The live rows of `collection` whose `index` (`None`: the id) is in `range`, in key order.
    pub async fn query(
        &self,
        collection: &str,
        index: Option<&str>,
        range: Range<JsValue>,
        limit: Option<u32>,
        reverse: bool,
    ) -> Result<Array> {
        self.check(collection)?;
        let index = index.filter(|i| *i != "id");
        if let Some(name) = index {
            if !self.schema()[collection].contains(name) {
                return Err(Error::InvalidQuery(format!(
                    "{collection:?} has no index {name:?}"
                )));
            }
        }
        let range = key_range(range)?;
        let tx = self.transaction(&[collection], TransactionMode::ReadOnly)?;
        let store = rexie_result(tx.store(collection))?;
        let rows = match (index, reverse && limit.is_some()) {
            (None, false) => store.get_all(range, limit).await,
            (None, true) => {
                scan_values(store.scan(range, limit, None, Some(Direction::Prev)).await)
            }
            (Some(name), false) => rexie_result(store.index(name))?.get_all(range, limit).await,
            (Some(name), true) => {
                let index = rexie_result(store.index(name))?;
                scan_values(index.scan(range, limit, None, Some(Direction::Prev)).await)
            }
        };
        let rows = rexie_result(rows).map_err(query_error)?;
        let array: Array = rows.into_iter().collect();
        if reverse && limit.is_none() {
            array.reverse();
        }
        Ok(array)
    }

    /// Number of live records in `collection`.
    pub async fn count(&self, collection: &str) -> Result<u32> {
        self.check(collection)?;
        let tx = self.transaction(&[collection], TransactionMode::ReadOnly)?;
        Ok(rexie_result(
            rexie_result(tx.store(collection))?.count(None).await,
        )?)
    }

    /// Number of records, in all collections, whose status is not `SYNCED`.
    pub async fn pending_count(&self) -> Result<u32> {
        let tx = self.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
        let index = rexie_result(rexie_result(tx.store(OUTBOX))?.index(NOT_SYNCED))?;
        Ok(rexie_result(index.count(None).await)?)
    }
}

fn scan_values(scanned: rexie::Result<Vec<(JsValue, JsValue)>>) -> rexie::Result<Vec<JsValue>> {
    scanned.map(|pairs| pairs.into_iter().map(|(_, v)| v).collect())
}

fn key_range(range: Range<JsValue>) -> Result<Option<KeyRange>> {
    let range = match range {
        Range::All => return Ok(None),
        Range::Only(key) => KeyRange::only(&key),
        Range::Between {
            lower: Some(l),
            upper: Some(u),
        } => KeyRange::bound(&l.key, &u.key, Some(l.open), Some(u.open)),
        Range::Between {
            lower: Some(l),
            upper: None,
        } => KeyRange::lower_bound(&l.key, Some(l.open)),
        Range::Between {
            lower: None,
            upper: Some(u),
        } => KeyRange::upper_bound(&u.key, Some(u.open)),
        Range::Between {
            lower: None,
            upper: None,
        } => return Ok(None),
    };
    range
        .map(Some)
        .map_err(|e| Error::InvalidQuery(format!("not a valid key range: {e}")))
}

fn query_error(e: StoreError) -> Error {
    match e {
        StoreError::Backend(m) if m.contains("DataError") => Error::InvalidQuery(m),
        other => other.into(),
    }
}

/// A value IndexedDB cannot store (a function, a symbol, …) is the record's fault.
fn record_error(e: StoreError) -> Error {
    match e {
        StoreError::Backend(m) if m.contains("DataCloneError") || m.contains("DataError") => {
            Error::InvalidRecord(m)
        }
        other => other.into(),
    }
}

/// A record's state while a write runs: its row and outbox entry.
type State = (Option<JsValue>, Option<Entry>);

async fn write_in(
    tx: &Transaction,
    collection: &str,
    writes: Vec<Write>,
    meta: Vec<(&'static str, JsValue)>,
) -> Result<Vec<Written>, StoreError> {
    let reads = try_join_all(
        writes
            .iter()
            .filter(|w| !w.fresh)
            .map(|w| read_pair(tx, collection, &w.id)),
    )
    .await?;
    let mut reads = reads.into_iter();
    let mut state: HashMap<String, State> = HashMap::new();
    let (mut rows, mut deletes, mut entries) = (Vec::new(), Vec::new(), Vec::new());
    let mut written = Vec::with_capacity(writes.len());
    for w in writes {
        let read = if w.fresh { None } else { reads.next() };
        let (old_row, old_entry) = match state.remove(&w.id) {
            Some(seen) => seen,
            None => read.unwrap_or_default(),
        };
        let old_meta: Option<(SyncMeta, _)> = match (&old_entry, &old_row) {
            (Some(e), _) => Some((e.sync.clone(), e.pending.clone())),
            (None, Some(row)) => Some((sync_of(row)?, None)),
            (None, None) => None,
        };
        let tombstone = old_entry.as_ref().is_some_and(|e| e.deleted);
        if w.row.is_none() && (old_meta.is_none() || tombstone) {
            state.insert(w.id, (old_row, old_entry));
            continue;
        }
        let (sync, pending) = LocalRecord::next_state(
            old_meta.as_ref().map(|(s, p)| (s, p.as_ref())),
            || changed(old_row.as_ref(), w.row.as_ref()),
            w.edit,
        );
        let entry = Entry::of(collection, &w.id, &sync, Some(&pending), w.row.is_none());
        entries.push((row::to_js(&entry)?, None));
        let row = match w.row {
            Some(row) => {
                let _ = Reflect::set(&row, &SYNC.into(), &row::to_js(&sync)?);
                rows.push((row.clone().into(), None));
                Some(JsValue::from(row))
            }
            None => {
                deletes.push(w.id.clone());
                None
            }
        };
        written.push((w.id.clone(), row.clone()));
        state.insert(w.id, (row, entry));
    }
    let rows_store = rexie_result(tx.store(collection))?;
    let outbox = rexie_result(tx.store(OUTBOX))?;
    let meta_store = rexie_result(tx.store(META))?;
    // Every request is issued before any is awaited; a failed one aborts the transaction.
    let puts = join(
        rows_store.put_all(rows.into_iter()),
        outbox.put_all(entries.into_iter()),
    );
    let removes = try_join_all(
        deletes
            .iter()
            .map(|id| rows_store.delete(id.as_str().into())),
    );
    let meta = meta_store.put_all(meta.into_iter().map(|(k, v)| (v, Some(JsValue::from(k)))));
    let ((rows, entries), removes, meta) = futures_util::future::join3(puts, removes, meta).await;
    rexie_result(rows)?;
    rexie_result(entries)?;
    rexie_result(removes)?;
    rexie_result(meta)?;
    Ok(written)
}

fn sync_of(row: &JsValue) -> Result<SyncMeta, StoreError> {
    row::from_js(Reflect::get(row, &SYNC.into()).unwrap_or_default())
}

/// The fields an edit changed; when a value cannot be compared (not JSON), every field of
/// either side, a safe superset.
fn changed(old: Option<&JsValue>, new: Option<&Object>) -> Vec<String> {
    let data = |v: Option<&JsValue>| v.map_or_else(|| Ok(Map::new()), row::data_of);
    if let (Ok(old), Ok(new)) = (data(old), data(new.map(|o| o.as_ref()))) {
        return changed_fields(&old, &new);
    }
    let keys = |v: Option<&JsValue>| -> Vec<String> {
        v.and_then(|v| v.dyn_ref::<Object>())
            .map(|o| {
                Object::keys(o)
                    .iter()
                    .filter_map(|k| k.as_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = keys(old);
    all.extend(keys(new.map(|o| o.as_ref())));
    all.retain(|k| k != "id" && k != SYNC);
    all.sort();
    all.dedup();
    all
}
