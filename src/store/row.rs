//! How a [`LocalRecord`] is kept in IndexedDB: a live record is one row in its collection's
//! store (the app's fields, `id` and `_sync`), whose `_sync` also holds, while the record is not
//! plainly in sync, its pending change and outbox position ([`RowSync`]; the app never sees
//! those); a tombstone, which has no row, is an [`Entry`] in the outbox store. One request per
//! record for a write or an acknowledgement. (Databases written before kept a live record's
//! pending change in an entry too; such an entry is read as before and folded into the row by
//! the record's next write.)

use ferrysync_core::lazy_json::Fields;
use ferrysync_core::record::{LocalRecord, Pending, SyncMeta, SyncStatus};
use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::js_store_error;
use ferrysync_core::store::{Result, StoreError};

/// The `_sync` field of a row.
pub const SYNC: &str = "_sync";

/// A row's `_sync`: what the app reads (`status`, `version`, `updatedAt`) and, while the record
/// is not plainly in sync, `p` (the pending change), `o` (outbox position while `UNSYNCED`) and
/// `u` ([`not_synced_code`]), the keys of the collection store's sparse indexes
/// [`ROW_ORDER`](super::schema::ROW_ORDER) and [`ROW_NOT_SYNCED`](super::schema::ROW_NOT_SYNCED).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowSync {
    /// As in [`SyncMeta`].
    pub status: SyncStatus,
    /// As in [`SyncMeta`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// As in [`SyncMeta`].
    pub updated_at: u64,
    /// The change waiting for the server, in its short form when it has one
    /// ([`Pending::short`]: a new record's change, as every record created offline has).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "pending_form::serialize",
        deserialize_with = "pending_form::deserialize"
    )]
    pub p: Option<Pending>,
    /// Outbox position, only while `UNSYNCED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o: Option<u64>,
    /// The status while it is not `SYNCED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<u8>,
}

impl RowSync {
    /// The `_sync` of a live record's row on device `device` (see [`stamp_out`]).
    pub fn of(sync: &SyncMeta, pending: Option<&Pending>, device: &str) -> Self {
        let (o, u) = index_keys(sync, pending);
        Self {
            status: sync.status,
            version: sync.version,
            updated_at: sync.updated_at,
            o,
            u,
            p: pending.map(|p| stamp_out(p, device)),
        }
    }

    /// The metadata the app reads, and the pending change, on device `device`.
    pub fn split(self, device: &str) -> (SyncMeta, Option<Pending>) {
        let sync = SyncMeta {
            status: self.status,
            version: self.version,
            updated_at: self.updated_at,
        };
        (sync, self.p.map(|p| stamp_in(p, device)))
    }
}

/// A pending change as a row keeps it on device `device`: in its short form
/// ([`pending_form`]), its stamp without `-<device id>` when it is this device's (as every
/// local edit's is). Read back by [`stamp_in`]. A stamp's device id is never empty otherwise
/// (it does not parse).
pub fn stamp_out(pending: &Pending, device: &str) -> Pending {
    let mut p = pending.clone();
    if !device.is_empty() && p.hlc.device == device && p.has_short() {
        p.hlc.device.clear();
    }
    p
}

/// A stored pending change with its stamp's device id back (see [`stamp_out`]).
pub fn stamp_in(mut pending: Pending, device: &str) -> Pending {
    if pending.hlc.device.is_empty() {
        device.clone_into(&mut pending.hlc.device);
    }
    pending
}

/// A stored row decoded in one pass: its `id`, the app's fields and its `_sync` (decoded
/// straight from the row's JSON text, never through a `Value`, which would need a second
/// deserializer for [`RowSync`] in the package).
#[derive(Debug, Default)]
pub struct StoredRow {
    /// The row's `id`.
    pub id: Option<String>,
    /// The app's fields, as their text: the members of the row's text but `id` and `_sync`,
    /// only scanned, so a pushed record's fields go from the row into the request as text.
    pub data: Fields,
    /// The row's `_sync`.
    pub sync: Option<RowSync>,
}

impl<'de> Deserialize<'de> for StoredRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = StoredRow;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a row")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<StoredRow, A::Error> {
                let mut row = StoredRow::default();
                // `{`, then each field's key and its value's text as they came.
                let mut fields = vec![b'{'];
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        SYNC => row.sync = Some(map.next_value()?),
                        "id" => row.id = map.next_value()?,
                        _ => {
                            let value: &RawValue = map.next_value()?;
                            if fields.len() > 1 {
                                fields.push(b',');
                            }
                            serde_json::to_writer(&mut fields, &key).map_err(A::Error::custom)?;
                            fields.push(b':');
                            fields.extend_from_slice(value.get().as_bytes());
                        }
                    }
                }
                fields.push(b'}');
                let text = String::from_utf8(fields).map_err(A::Error::custom)?;
                row.data = Fields::from_object_text(text)
                    .ok_or_else(|| A::Error::custom("a row's fields are not an object"))?;
                Ok(row)
            }
        }
        d.deserialize_map(Members)
    }
}

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
    /// The change waiting for the server (written whole; read in either form, since the
    /// listing of a span's rows hands their `p` over as it is).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pending_form::deserialize"
    )]
    pub pending: Option<Pending>,
    /// Outbox position, only while `UNSYNCED` (sparse index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o: Option<u64>,
    /// The status while it is not `SYNCED` (sparse index): [`not_synced_code`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<u8>,
}

/// A pending change as a row keeps it: [`Pending::short`]'s string when the change has that
/// form, its object otherwise; both are read. With [`stamp_out`], reading rows of records
/// created offline takes 13-17 % less time than with the object (`node www/bench/run.mjs
/// rows.html`, layout 2 against layout 3).
pub mod pending_form {
    use std::fmt;

    use ferrysync_core::record::Pending;
    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `pending` short when it can be.
    pub fn serialize<S: Serializer>(pending: &Option<Pending>, s: S) -> Result<S::Ok, S::Error> {
        match pending.as_ref().map(|p| (p.short(), p)) {
            Some((Some(short), _)) => s.serialize_str(&short),
            Some((None, p)) => p.serialize(s),
            None => s.serialize_none(),
        }
    }

    /// Reads either form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pending>, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = Option<Pending>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pending change")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Pending::from_short(text).map(Some).ok_or_else(|| {
                    E::custom(format!(
                        "not a pending change: {}",
                        ferrysync_core::error::Quoted(text)
                    ))
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Pending::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(Either)
    }
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

/// The keys of a record's sparse indexes, the same in a row's `_sync` and in an entry: its
/// outbox position while `UNSYNCED`, and its [`not_synced_code`].
fn index_keys(sync: &SyncMeta, pending: Option<&Pending>) -> (Option<u64>, Option<u8>) {
    let unsynced = sync.status == SyncStatus::Unsynced;
    let o = pending.filter(|_| unsynced).map(|p| p.seq);
    (o, not_synced_code(sync.status))
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
        let (o, u) = index_keys(sync, pending);
        Some(Self {
            k: entry_key(collection, id),
            c: collection.to_owned(),
            id: id.to_owned(),
            sync: sync.clone(),
            deleted,
            o,
            u,
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

/// Joins a row and an entry of device `device`'s database back into a record (`None` when
/// neither exists).
pub fn record_of(
    id: &str,
    row: Option<JsValue>,
    entry: Option<Entry>,
    device: &str,
) -> Result<Option<LocalRecord>> {
    let row: Option<StoredRow> = row.map(from_js).transpose()?;
    Ok(join(id, row, entry, device))
}

/// A record from its row's data and `_sync` and its entry: an entry (a tombstone, or a pending
/// change written before rows held theirs) has the record's metadata.
pub fn join(
    id: &str,
    row: Option<StoredRow>,
    entry: Option<Entry>,
    device: &str,
) -> Option<LocalRecord> {
    let (data, row_sync) = row.map_or_else(|| (Fields::default(), None), |r| (r.data, r.sync));
    let record = match (entry, row_sync) {
        (Some(e), _) => LocalRecord {
            id: e.id,
            data,
            deleted: e.deleted,
            sync: e.sync,
            pending: e.pending,
        },
        (None, Some(row_sync)) => {
            let (sync, pending) = row_sync.split(device);
            LocalRecord {
                id: id.to_owned(),
                data,
                deleted: false,
                sync,
                pending,
            }
        }
        (None, None) => return None,
    };
    Some(record)
}
