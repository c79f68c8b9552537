//! How a [`LocalRecord`] is split across IndexedDB: the row the app reads (its fields, `id`,
//! `_sync`) in the collection's store, and an [`Entry`] in the outbox store while the record is
//! not plainly in sync.

use ferrysync_core::record::{LocalRecord, Pending, SyncMeta, SyncStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::js_store_error;
use ferrysync_core::store::{Result, StoreError};

/// The `_sync` field of a row.
pub const SYNC: &str = "_sync";

/// A record's outbox entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Primary key: [`entry_key`].
    pub k: String,
    /// Collection.
    pub c: String,
    /// Record id.
    pub id: String,
    /// Sync metadata (the only copy for a tombstone, which has no row).
    pub sync: SyncMeta,
    /// True for a tombstone.
    #[serde(default)]
    pub deleted: bool,
    /// The change waiting for the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Outbox position, only while `UNSYNCED` (sparse index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o: Option<u64>,
    /// The status while it is not `SYNCED` (sparse index): [`not_synced_code`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<u8>,
}

/// The key of a not-`SYNCED` status in the outbox's `u` index (1 `UNSYNCED`, 2 `CONFLICT`,
/// 3 `REJECTED`), so each status is counted with one index request.
pub fn not_synced_code(status: SyncStatus) -> Option<u8> {
    match status {
        SyncStatus::Synced => None,
        SyncStatus::Unsynced => Some(1),
        SyncStatus::Conflict => Some(2),
        SyncStatus::Rejected => Some(3),
    }
}

/// The outbox key of `collection/id`; NUL cannot appear in a collection name a user types.
pub fn entry_key(collection: &str, id: &str) -> String {
    format!("{collection}\u{0}{id}")
}

impl Entry {
    /// The entry `record` needs, or `None` when it is a live record plainly in sync.
    pub fn of(
        collection: &str,
        id: &str,
        sync: &SyncMeta,
        pending: Option<&Pending>,
        deleted: bool,
    ) -> Option<Self> {
        if sync.status == SyncStatus::Synced && pending.is_none() && !deleted {
            return None;
        }
        let unsynced = sync.status == SyncStatus::Unsynced;
        Some(Self {
            k: entry_key(collection, id),
            c: collection.to_owned(),
            id: id.to_owned(),
            sync: sync.clone(),
            deleted,
            o: pending.filter(|_| unsynced).map(|p| p.seq),
            u: not_synced_code(sync.status),
            pending: pending.cloned(),
        })
    }
}

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson)]
    fn to_json(value: &JsValue) -> Option<String>;
}

fn json_error(e: &impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Converts any serializable value for IndexedDB and the app (plain objects, never `Map`s): JSON
/// text by serde_json, `JSON.parse`d in the page, the one conversion path of the package.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|e| json_error(&e))?;
    js_sys::JSON::parse(&text).map_err(|e| js_store_error(&e))
}

/// Reads a value written by [`to_js`] or by the app, through its JSON text (`undefined` reads
/// as `null`; a BigInt as its exact integer). A value with no JSON form (a cycle) is an error.
pub fn from_js<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T> {
    let text = match to_json(&value) {
        Some(text) => text,
        None if value.is_undefined() => "null".to_owned(),
        None => return Err(StoreError::Backend("a value with no JSON form".to_owned())),
    };
    serde_json::from_str(&text).map_err(|e| json_error(&e))
}

/// The app's fields of a row (without `id` and `_sync`).
pub fn data_of(row: &JsValue) -> Result<Map<String, Value>> {
    let mut data: Map<String, Value> = from_js(row.clone())?;
    data.remove("id");
    data.remove(SYNC);
    Ok(data)
}

/// The row the app reads for a live record.
pub fn row_of(record: &LocalRecord) -> Result<JsValue> {
    let mut fields = record.data.clone();
    fields.insert("id".to_owned(), Value::String(record.id.clone()));
    fields.insert(
        SYNC.to_owned(),
        serde_json::to_value(&record.sync).unwrap_or(Value::Null),
    );
    to_js(&fields)
}

/// Joins a row and an entry back into a record (`None` when neither exists).
pub fn record_of(
    id: &str,
    row: Option<JsValue>,
    entry: Option<Entry>,
) -> Result<Option<LocalRecord>> {
    let (data, row_sync) = match &row {
        Some(row) => {
            let sync: SyncMeta =
                from_js(js_sys::Reflect::get(row, &SYNC.into()).unwrap_or_default())?;
            (data_of(row)?, Some(sync))
        }
        None => (Map::new(), None),
    };
    let record = match (entry, row_sync) {
        (Some(e), _) => LocalRecord {
            id: e.id,
            data,
            deleted: e.deleted,
            sync: e.sync,
            pending: e.pending,
        },
        (None, Some(sync)) => LocalRecord {
            id: id.to_owned(),
            data,
            deleted: false,
            sync,
            pending: None,
        },
        (None, None) => return Ok(None),
    };
    Ok(Some(record))
}
