//! The app's reads and writes, which keep records as JS objects end to end: a row goes to
//! IndexedDB as the app's (copied) object plus `id` and `_sync`, and comes back as IndexedDB
//! returns it, so the hot paths never convert records to Rust values. Only the metadata (a few
//! fields) crosses into Rust, and the data only when coalescing needs the changed fields.

use std::collections::HashMap;

use ferrysync_core::error::Quoted;
use ferrysync_core::protocol::MAX_ID_LEN;
use ferrysync_core::query::Range;
use ferrysync_core::record::{changed_fields, Edit, LocalRecord, Pending, SyncMeta, SyncStatus};
use ferrysync_core::store::StoreError;
use js_sys::{Array, Object, Reflect};
use serde_json::Map;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbKeyRange, IdbTransaction};

use super::acks::{self, Acks};
use super::row::{self, entry_key, Entry, RowSync, SYNC};
use super::schema::OUTBOX;
use super::{idb, objects, read_pair, IndexedDb};
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

/// What a write did: each written record's new row, and the status each had before (`SYNCED`
/// for a new record), which moves the sync status's counts ([`Engine::edited`]).
///
/// [`Engine::edited`]: ferrysync_core::engine::Engine::edited
pub type WriteOutcome = (Vec<Written>, Vec<SyncStatus>);

/// Checks a record from the app and copies it (the app's object is never modified): a plain
/// object whose `id`, if present, is a non-empty string of at most [`MAX_ID_LEN`] bytes and no
/// NUL (U+0000), which the server refuses, and whose strings are all valid Unicode. Returns
/// the id (a new UUID v4 when absent), the copy and whether the id is new. `_sync` is dropped.
pub fn prepare(record: &JsValue) -> Result<(String, Object, bool)> {
    if !record.is_object() || Array::is_array(record) {
        return Err(Error::InvalidRecord(
            "a record must be a plain object".into(),
        ));
    }
    let copy = Object::assign(&Object::new(), record.unchecked_ref());
    if let Some(path) = objects::ill_formed(&copy) {
        return Err(Error::InvalidRecord(format!(
            "{} holds a string that is not valid Unicode (a lone UTF-16 surrogate, as cutting a \
             string inside an emoji leaves), which the server cannot store",
            Quoted(&path)
        )));
    }
    objects::with(|keys| {
        let id = Reflect::get(&copy, &keys.id).unwrap_or_default();
        let (id, fresh) = if id.is_undefined() {
            let id = uuid::Uuid::new_v4().to_string();
            let _ = Reflect::set(&copy, &keys.id, &id.as_str().into());
            (id, true)
        } else {
            (check_id(&id)?, false)
        };
        let _ = Reflect::delete_property(&copy, &keys.sync);
        Ok((id, copy, fresh))
    })
}

/// Checks a record id from the app.
pub fn check_id(id: &JsValue) -> Result<String> {
    let unicode = objects::exact_string(id);
    match id.as_string() {
        Some(id) if unicode && !id.is_empty() && id.len() <= MAX_ID_LEN && !id.contains('\0') => {
            Ok(id)
        }
        _ => Err(Error::InvalidRecord(format!(
            "id must be a non-empty string of at most {MAX_ID_LEN} bytes, valid Unicode without \
             NUL (U+0000)"
        ))),
    }
}

impl IndexedDb {
    /// Writes `writes` (in order) and the `clock` entry in one transaction; resolves after
    /// the commit with each record's new row and former status. Deletes of records that do not
    /// exist are skipped.
    pub async fn write(
        &self,
        collection: &str,
        writes: Vec<Write>,
        clock: JsValue,
    ) -> Result<WriteOutcome> {
        self.check(collection)?;
        let tx = self.transaction(&[collection, OUTBOX], true).await?;
        match write_in(&tx, &self.device, collection, writes, clock).await {
            Ok(written) => {
                idb::commit(&tx).await.map_err(record_error)?;
                Ok(written)
            }
            Err(e) => Err(record_error(idb::abort::<()>(&tx, e).unwrap_err())),
        }
    }

    /// The live row `collection/id`, if any.
    pub async fn get_row(&self, collection: &str, id: &str) -> Result<Option<JsValue>> {
        self.check(collection)?;
        let tx = self.transaction(&[collection, OUTBOX], false).await?;
        let row = idb::get(idb::store(&tx, collection)?.get(&id.into()));
        let rows = idb::app_rows(&tx, collection, async {
            Ok(row.await?.into_iter().collect::<Array>())
        })
        .await?;
        Ok((rows.length() > 0).then(|| rows.get(0)))
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
            if !self
                .schema()
                .get(collection)
                .is_some_and(|i| i.iter().any(|i| i == name))
            {
                return Err(Error::InvalidQuery(format!(
                    "{} has no index {}",
                    Quoted(collection),
                    Quoted(name)
                )));
            }
        }
        let range = key_range(range)?.map_or(JsValue::UNDEFINED, JsValue::from);
        let tx = self.transaction(&[collection, OUTBOX], false).await?;
        let store = idb::store(&tx, collection)?;
        let source: JsValue = match index {
            None => store.into(),
            Some(name) => idb::thrown(store.index(name))?.into(),
        };
        let rows = idb::values(&source, &range, limit, reverse);
        idb::app_rows(&tx, collection, rows)
            .await
            .map_err(query_error)
    }

    /// Number of live records in `collection`.
    pub async fn count(&self, collection: &str) -> Result<u32> {
        self.check(collection)?;
        let tx = self.transaction(&[collection], false).await?;
        Ok(idb::count(idb::store(&tx, collection)?.count()).await?)
    }
}

fn key_range(range: Range<JsValue>) -> Result<Option<IdbKeyRange>> {
    let range = match range {
        Range::All => return Ok(None),
        Range::Only(key) => IdbKeyRange::only(&key),
        Range::Between {
            lower: Some(l),
            upper: Some(u),
        } => IdbKeyRange::bound_with_lower_open_and_upper_open(&l.key, &u.key, l.open, u.open),
        Range::Between {
            lower: Some(l),
            upper: None,
        } => IdbKeyRange::lower_bound_with_open(&l.key, l.open),
        Range::Between {
            lower: None,
            upper: Some(u),
        } => IdbKeyRange::upper_bound_with_open(&u.key, u.open),
        Range::Between {
            lower: None,
            upper: None,
        } => return Ok(None),
    };
    range.map(Some).map_err(|e| {
        let why = js_sys::Object::from(e).to_string();
        Error::InvalidQuery(format!("not a valid key range: {why}"))
    })
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

/// A record's state while a write runs: its row, its sync metadata and pending change, and
/// whether it has an outbox entry (a tombstone, or a pending change written before rows held
/// theirs).
type State = (Option<JsValue>, Option<(SyncMeta, Option<Pending>)>, bool);

/// The state of a record read from the store.
fn state_of(
    (row, entry): (Option<JsValue>, Option<Entry>),
    device: &str,
    (acks, collection, id): (&Acks, &str, &str),
) -> Result<State, StoreError> {
    let meta = match (&entry, &row) {
        (Some(e), _) => Some((e.sync.clone(), e.pending.clone())),
        (None, Some(row)) => {
            Some(acks.settle_meta(collection, id, row_sync_of(row)?.split(device)))
        }
        (None, None) => None,
    };
    let tombstone = entry.as_ref().is_some_and(|e| e.deleted);
    Ok((row.filter(|_| !tombstone), meta, entry.is_some()))
}

async fn write_in(
    tx: &IdbTransaction,
    device: &str,
    collection: &str,
    writes: Vec<Write>,
    clock: JsValue,
) -> Result<WriteOutcome, StoreError> {
    // Records with new ids have no acknowledgement: writes of such records only issue puts.
    let acks = match writes.iter().all(|w| w.fresh) {
        true => None,
        false => Some(acks::read(tx, None)?),
    };
    let reads = idb::each(
        writes
            .iter()
            .filter(|w| !w.fresh)
            .map(|w| read_pair(tx, collection, &w.id)),
    )
    .await?;
    let acks = match acks {
        Some(acks) => acks.await?,
        None => Acks::default(),
    };
    let rows_store = idb::store(tx, collection)?;
    let outbox = idb::store(tx, OUTBOX)?;
    let collection_js = JsValue::from_str(collection);
    let mut reads = reads.into_iter();
    let mut state: HashMap<String, State> = HashMap::new();
    let mut written = Vec::with_capacity(writes.len());
    let mut left = Vec::with_capacity(writes.len());
    // Requests are issued as the writes are decided and never awaited one by one: a failed
    // request aborts the transaction, which the commit then reports.
    for w in writes {
        let read = if w.fresh { None } else { reads.next() };
        let (old_row, old_meta, had_entry) = match state.remove(&w.id) {
            Some(seen) => seen,
            None => state_of(read.unwrap_or_default(), device, (&acks, collection, &w.id))?,
        };
        // A tombstone has no row: deleting it again changes nothing.
        if w.row.is_none() && old_row.is_none() {
            state.insert(w.id, (old_row, old_meta, had_entry));
            continue;
        }
        left.push(
            old_meta
                .as_ref()
                .map_or(SyncStatus::Synced, |(s, _)| s.status),
        );
        let (sync, pending) = LocalRecord::next_state(
            old_meta.as_ref().map(|(s, p)| (s, p.as_ref())),
            || changed(old_row.as_ref(), w.row.as_ref()),
            w.edit,
        );
        let (row, id) = objects::with(|keys| match w.row {
            Some(row) => {
                let full = objects::row_sync_js(keys, &RowSync::of(&sync, Some(&pending), device));
                let _ = Reflect::set(&row, &keys.sync, &full);
                let id = Reflect::get(&row, &keys.id).unwrap_or_default();
                (Some(row), id)
            }
            None => (None, JsValue::from_str(&w.id)),
        });
        match &row {
            Some(row) => {
                idb::thrown(rows_store.put(row))?;
                if had_entry {
                    idb::thrown(outbox.delete(&entry_key(collection, &w.id).into()))?;
                }
            }
            None => {
                idb::thrown(rows_store.delete(&id))?;
                let entry = Entry::of(collection, &w.id, &sync, Some(&pending), true);
                if let Some(entry) = &entry {
                    let entry =
                        objects::with(|keys| objects::entry_js(keys, entry, &collection_js, &id));
                    idb::thrown(outbox.put(&entry))?;
                }
            }
        }
        // `put` has cloned the row: the app's object now gets the `_sync` the app reads.
        if let Some(row) = &row {
            let _ =
                objects::with(|keys| Reflect::set(row, &keys.sync, &objects::sync_js(keys, &sync)));
        }
        let row = row.map(JsValue::from);
        written.push((w.id.clone(), row.clone()));
        // A generated id cannot come up again in this batch. A live row's entry is gone now; a
        // tombstone has one.
        if !w.fresh {
            let tombstone = row.is_none();
            state.insert(w.id, (row, Some((sync, Some(pending))), tombstone));
        }
    }
    // Each written record's acknowledgement was taken into its new state above.
    acks.remove(tx, written.iter().map(|(id, _)| (collection, id.as_str())))?;
    idb::thrown(outbox.put(&clock))?;
    Ok((written, left))
}

fn row_sync_of(row: &JsValue) -> Result<RowSync, StoreError> {
    let sync = objects::with(|keys| Reflect::get(row, &keys.sync));
    row::from_js(sync.unwrap_or_default())
}

/// The fields an edit changed; when a value cannot be compared (not JSON), every field of
/// either side, a safe superset. A new record changed every field it has: its keys are enough,
/// none of its values is read.
fn changed(old: Option<&JsValue>, new: Option<&Object>) -> Vec<String> {
    let data = |v: Option<&JsValue>| v.map_or_else(|| Ok(Map::new()), row::data_of);
    if old.is_some() {
        if let (Ok(old), Ok(new)) = (data(old), data(new.map(|o| o.as_ref()))) {
            return changed_fields(&old, &new);
        }
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
    all.sort_unstable();
    all.dedup();
    all
}
