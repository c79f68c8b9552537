//! Acknowledgements kept apart from their rows (layout 4). A pushed batch's results that only
//! settle records (the server took the change as sent: status `SYNCED`, a new version, the data
//! unchanged) are stored as ONE value in the outbox store, an acknowledgement batch, instead of
//! rewriting every row: rewriting 1,000 rows per batch was most of a push's time
//! (BENCHMARKS.md, "The acknowledgement's cost"). The rows keep their pushed change until
//! [`fold`](super::IndexedDb::fold) rewrites them in sync, after the cycle.
//!
//! Until then every read joins: a row whose pending change is the one an item acknowledges
//! reads as that item says ([`Acks::settle`]). Invariant: every stored item is in effect (its
//! row holds the acknowledged change and no outbox entry overrides the row), because every write
//! of a record removes its item in the same transaction ([`Acks::remove`]). So an item's row is
//! still counted `UNSYNCED` by the row indexes, and the counts subtract [`Acks::len`].
//!
//! The batches are read, looked up and rewritten in `idb.js` (`acks*`): in JS that is a few
//! hundred bytes, where decoding them in Rust took ~10 KB of the package.

use std::future::Future;

use ferrysync_core::record::{LocalRecord, Pending, SyncMeta, SyncStatus};
use ferrysync_core::store::Result;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::schema::OUTBOX;
use super::{idb, js_store_error};

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = acksRead)]
    fn acks_read(tx: &IdbTransaction, outbox: &str, after: f64) -> Promise;
    #[wasm_bindgen(js_name = acksLen)]
    fn acks_len(acks: &JsValue) -> u32;
    #[wasm_bindgen(js_name = acksVersion)]
    fn acks_version(acks: &JsValue, collection: &str, id: &str, change_id: &str) -> f64;
    #[wasm_bindgen(js_name = acksRemove, catch)]
    fn acks_remove(
        tx: &IdbTransaction,
        outbox: &str,
        acks: &JsValue,
        names: &Array,
        ids: &Array,
    ) -> std::result::Result<(), JsValue>;
    #[wasm_bindgen(js_name = acksPut, catch)]
    fn acks_put(
        tx: &IdbTransaction,
        outbox: &str,
        items: &Array,
    ) -> std::result::Result<(), JsValue>;
    #[wasm_bindgen(js_name = acksKeys)]
    fn acks_keys(acks: &JsValue, names: &Array, limit: u32) -> Array;
}

/// One acknowledged record: collection, id, the acknowledged `changeId`, the version the server
/// gave, and the record's outbox position. Stored as the JSON array of the five.
#[derive(Debug, Clone, PartialEq)]
pub struct Item(pub String, pub String, pub String, pub Option<u64>, pub u64);

impl Item {
    /// The item settling `record` of `collection`, when `f` made `next` of it by only settling
    /// it: `record`'s row held its pending `UNSYNCED` change (`row_only`: no outbox entry),
    /// and `next` is that record in sync, its data and `updatedAt` unchanged.
    pub fn of(
        collection: &str,
        record: &LocalRecord,
        row_only: bool,
        next: &LocalRecord,
    ) -> Option<Self> {
        let pending = record.pending.as_ref()?;
        let settled = row_only
            && !record.deleted
            && !next.deleted
            && record.sync.status == SyncStatus::Unsynced
            && next.sync.status == SyncStatus::Synced
            && next.pending.is_none()
            && next.sync.updated_at == record.sync.updated_at
            && next.data == record.data;
        settled.then(|| {
            Self(
                collection.to_owned(),
                record.id.clone(),
                pending.change_id.clone(),
                next.sync.version,
                pending.seq,
            )
        })
    }
}

/// The acknowledgement batches read in a transaction (a JS object of `idb.js`; none when
/// `undefined`).
#[derive(Debug, Default)]
pub struct Acks(JsValue);

/// Issues in `tx` the read of the acknowledgement batches holding a position above `after`
/// (all of them when `None`); the future yields them.
pub fn read(tx: &IdbTransaction, after: Option<u64>) -> Result<impl Future<Output = Result<Acks>>> {
    let request = JsFuture::from(acks_read(tx, OUTBOX, after.map_or(-1.0, |p| p as f64)));
    Ok(async move {
        let acks = request.await.map_err(|e| js_store_error(&e))?;
        Ok(Acks(acks))
    })
}

/// Issues in `tx` the write of a new batch of `items` (none when empty).
pub fn put(tx: &IdbTransaction, items: Vec<Item>) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let items: Array = items
        .iter()
        .map(|Item(c, id, change, version, position)| {
            let version = version.map_or(JsValue::NULL, |v| JsValue::from(v as f64));
            let position = JsValue::from(*position as f64);
            JsValue::from(Array::of5(
                &c.into(),
                &id.into(),
                &change.into(),
                &version,
                &position,
            ))
        })
        .collect();
    idb::thrown(acks_put(tx, OUTBOX, &items))
}

impl Acks {
    /// The JS object, for `cleanRows` in `idb.js`.
    pub fn js(&self) -> &JsValue {
        &self.0
    }

    /// How many records the batches acknowledge (each row still counted `UNSYNCED`).
    pub fn len(&self) -> usize {
        acks_len(&self.0) as usize
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `collection/id` has an item.
    pub fn has(&self, collection: &str, id: &str) -> bool {
        !self.is_empty() && !acks_version(&self.0, collection, id, "").is_nan()
    }

    /// `record` of `collection`, read from its row alone, as it reads with its item: in sync at
    /// the acknowledged version when its pending change is the acknowledged one.
    pub fn settle(&self, collection: &str, mut record: LocalRecord) -> LocalRecord {
        if !record.deleted {
            let meta = (record.sync, record.pending);
            (record.sync, record.pending) = self.settle_meta(collection, &record.id, meta);
        }
        record
    }

    /// [`Acks::settle`] of a live record's metadata (read from its row alone).
    pub fn settle_meta(
        &self,
        collection: &str,
        id: &str,
        (mut sync, pending): (SyncMeta, Option<Pending>),
    ) -> (SyncMeta, Option<Pending>) {
        let Some(change) = pending.as_ref().filter(|_| !self.is_empty()) else {
            return (sync, pending);
        };
        // NaN: no item for this change; -1: an item without a version.
        let version = acks_version(&self.0, collection, id, &change.change_id);
        if version.is_nan() {
            return (sync, pending);
        }
        sync.status = SyncStatus::Synced;
        if version >= 0.0 {
            sync.version = Some(version as u64);
        }
        (sync, None)
    }

    /// Issues in `tx` the removal of the items of `keys` (records written in `tx`) from their
    /// batches: a batch left empty is deleted, another one rewritten.
    pub fn remove<'a>(
        &self,
        tx: &IdbTransaction,
        keys: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let (names, ids) = (Array::new(), Array::new());
        for (c, id) in keys {
            names.push(&c.into());
            ids.push(&id.into());
        }
        idb::thrown(acks_remove(tx, OUTBOX, &self.0, &names, &ids))
    }

    /// The keys of up to `limit` acknowledged records of `collections`.
    pub fn keys<'a>(
        &self,
        limit: usize,
        collections: impl Iterator<Item = &'a String>,
    ) -> Vec<(String, String)> {
        let names: Array = collections.map(|c| JsValue::from_str(c)).collect();
        let pairs = acks_keys(&self.0, &names, u32::try_from(limit).unwrap_or(u32::MAX));
        pairs
            .iter()
            .filter_map(|pair| {
                let pair: Array = pair.into();
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect()
    }
}
