//! [`IndexedDb`]: the browser's [`LocalStore`], on IndexedDB (through `web-sys`, [`idb`]).
//!
//! The layout and upgrades are in [`schema`], the split of a record into row + outbox entry in
//! [`row`], and the app's fast paths (which keep records as JS objects) in [`app`]. Every method
//! runs one transaction and awaits nothing but its requests; a failed step aborts the transaction
//! explicitly, because IndexedDB would otherwise commit the requests that did succeed.

pub mod acks;
pub mod app;
pub mod batch;
pub mod clock;
pub mod fold;
pub mod idb;
pub mod listing;
pub mod objects;
mod reconnect;
pub mod row;
pub mod schema;

use std::cell::{Ref, RefCell};
use std::fmt::Display;

use ferrysync_core::engine::{META_HLC, META_SEQ};
use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Counts, Key, LocalStore, Result, StoreError, UpdateFn};
use serde_json::Value;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbTransaction};

use listing::Listing;
use row::{entry_key, record_of, Entry};
use schema::{Schema, META, OUTBOX};

/// A ferrysync database in IndexedDB.
#[derive(Debug)]
pub struct IndexedDb {
    name: String,
    db: RefCell<Option<IdbDatabase>>,
    schema: Schema,
    /// How many optimistic updates were redone with reads (see `redone_updates`).
    redone: std::cell::Cell<u32>,
    /// The latest outbox listings with the [`clock::Stamp`] read with them, so that an acknowledgement of records listed can
    /// tell that none was written since without reading them again.
    listings: clock::Listings,
    /// A first pull's run of pages, which knows every record key (see [`batch::Fresh`]).
    fresh: batch::Fresh,
    /// This device's id, kept in meta [`DEVICE_ID`] (rows leave it out of their own stamps).
    device: String,
}

/// Meta key of this device's id (the same key as core's engine: `engine::META_DEVICE_ID`).
pub const DEVICE_ID: &str = "deviceId";

impl IndexedDb {
    /// Opens (creating or upgrading as needed) database `name` with at least the collections and
    /// indexes of `schema`; stores and indexes on disk that `schema` lacks are kept.
    pub async fn open(name: &str, schema: &Schema) -> crate::Result<Self> {
        schema::check(schema)?;
        let (db, schema) = schema::open(name, schema).await?;
        let mut store = Self {
            name: name.to_owned(),
            db: RefCell::new(Some(db)),
            schema,
            redone: std::cell::Cell::new(0),
            listings: clock::Listings::default(),
            fresh: batch::Fresh::default(),
            device: String::new(),
        };
        let layout = Value::from(schema::LAYOUT);
        let (on_disk, _) = store
            .meta_init(schema::LAYOUT_KEY, layout.clone(), &[])
            .await?;
        match on_disk.as_u64() {
            Some(newer) if newer > schema::LAYOUT => {
                store.close();
                return Err(crate::Error::Newer(name.to_owned(), newer, schema::LAYOUT));
            }
            // From now on this build may write what earlier builds cannot read: they must not
            // open the database any more.
            Some(older) if older < schema::LAYOUT => {
                let meta = [(schema::LAYOUT_KEY, layout)];
                store.update(&[], &meta, &mut |_, r| r).await?;
            }
            _ => {}
        }
        // Created on first open, kept for good: every record's pending change is stamped by it.
        let fresh = Value::String(uuid::Uuid::new_v4().to_string());
        let (device, _) = store.meta_init(DEVICE_ID, fresh, &[]).await?;
        store.device = device.as_str().unwrap_or_default().to_owned();
        Ok(store)
    }

    /// Deletes database `name` (closed connections only; tests and "sign out").
    pub async fn delete(name: &str) -> crate::Result<()> {
        Ok(idb::delete(name).await?)
    }

    /// This device's id.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Collections and indexes on disk.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Closes the connection; transactions already started still finish.
    pub fn close(&self) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
    }

    /// True once [`IndexedDb::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.db.borrow().is_none()
    }

    fn connection(&self) -> Result<Ref<'_, IdbDatabase>> {
        Ref::filter_map(self.db.borrow(), Option::as_ref).map_err(|_| StoreError::Closed)
    }

    /// Checks that `collection` exists.
    pub fn check(&self, collection: &str) -> Result<()> {
        if self.schema.contains_key(collection) {
            Ok(())
        } else {
            Err(StoreError::UnknownCollection(collection.to_owned()))
        }
    }

    /// Starts a transaction over `stores`, read-write when `write` (the borrow of the connection
    /// ends before it returns), on a connection reopened first if another's upgrade closed it.
    pub async fn transaction(&self, stores: &[&str], write: bool) -> Result<IdbTransaction> {
        self.reconnect().await?;
        let db = self.connection()?;
        idb::transaction(&db, stores, write)
    }
}

impl Drop for IndexedDb {
    /// Dropping the store closes its connection, so a later upgrade or delete is not blocked.
    fn drop(&mut self) {
        self.close();
    }
}

impl LocalStore for IndexedDb {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        self.check(collection)?;
        let tx = self.transaction(&[collection, OUTBOX], false).await?;
        let pair = read_pair(&tx, collection, id);
        let acks = acks::read(&tx, None)?;
        let ((row, entry), acks) = (pair.await?, acks.await?);
        // An entry overrides the row; only a row alone may be acknowledged.
        let row_only = entry.is_none();
        let record = record_of(id, row, entry, &self.device)?;
        Ok(record.map(|r| match row_only {
            true => acks.settle(collection, r),
            false => r,
        }))
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        // Ends a first pull's run of pages (the cycle's last write, a fold, a resolution): its
        // next page would find this update's stamp anyway, and its known keys are let go.
        self.fresh.end();
        let tx = self.write_transaction(keys.iter().map(|(c, _)| c)).await?;
        let written = batch::update(&tx, &self.device, keys, meta, f).await;
        idb::commit_or_abort(&tx, written).await
    }

    async fn update_read(
        &self,
        read: &[(String, LocalRecord)],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        // Records of a recent outbox listing, first as if every one were unchanged: the writes
        // are issued at once, while the check that nothing was written since the listing runs
        // first in the same transaction. When something was, that transaction is aborted and
        // the update redone, reading what changed (as for records from elsewhere).
        if let Some(stamp) = self.listings.of(read) {
            let tx = self.write_transaction(read.iter().map(|(c, _)| c)).await?;
            // Writes issued before their check must never commit unchecked.
            let guard = idb::AbortOnDrop::new(&tx);
            let assumed = batch::update_assumed(&tx, &self.device, read, meta, f, stamp).await;
            match assumed {
                Ok((Some(written), nonce)) => {
                    let written = idb::commit_or_abort(&tx, Ok(written)).await;
                    guard.disarm();
                    if written.is_ok() {
                        self.listings.relisted(stamp, nonce);
                    }
                    return written;
                }
                Ok((None, _)) => {
                    let _ = tx.abort();
                    guard.disarm();
                    self.redone.set(self.redone.get().saturating_add(1));
                }
                Err(e) => {
                    guard.disarm();
                    return idb::abort(&tx, e);
                }
            }
        }
        let tx = self.write_transaction(read.iter().map(|(c, _)| c)).await?;
        let written = batch::update_read(&tx, &self.device, read, meta, f).await;
        let (written, seen, nonce) = idb::commit_or_abort(&tx, written).await?;
        self.listings.relisted(seen, nonce);
        Ok(written)
    }

    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Option<Vec<Option<LocalRecord>>>> {
        self.guarded(expect, assume_absent, keys, meta, f).await
    }

    async fn outbox(&self, after: Option<u64>, limit: usize) -> Result<Vec<(String, LocalRecord)>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.listed(Listing::Outbox, after, Some(limit), None).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>> {
        if let Some(c) = collection {
            self.check(c)?;
        }
        self.listed(Listing::NotSynced, None, None, collection)
            .await
    }

    async fn counts(&self) -> Result<Counts> {
        self.status_counts().await
    }

    async fn meta(&self, key: &str) -> Result<Option<Value>> {
        if clock::is_clock_key(key) {
            let [hlc, seq, current] = self.clock_entries().await?;
            let own = if key == META_HLC { hlc } else { seq };
            return Ok(clock::answer(key, own, current.as_ref()));
        }
        let tx = self.transaction(&[META], false).await?;
        let value = idb::get(idb::store(&tx, META)?.get(&key.into())).await?;
        value.map(row::from_js).transpose()
    }
}

impl IndexedDb {
    /// A read-write transaction over the outbox, meta and `collections` (each checked).
    async fn write_transaction<'a>(
        &self,
        collections: impl Iterator<Item = &'a String>,
    ) -> Result<IdbTransaction> {
        let mut stores: Vec<&str> = vec![OUTBOX, META];
        for collection in collections {
            self.check(collection)?;
            if !stores.contains(&collection.as_str()) {
                stores.push(collection);
            }
        }
        self.transaction(&stores, true).await
    }

    /// How many optimistic updates so far (on this connection) were aborted and redone with
    /// reads: an `update_read` that found a record written since its listing, or an `update_if`
    /// assuming absent records that found one. A diagnostic, which tests use to check that
    /// unchanged batches take one transaction.
    pub fn redone_updates(&self) -> u32 {
        self.redone.get()
    }

    /// The newest clock stamp and outbox position (see [`clock`]).
    pub async fn clock(&self) -> Result<(ferrysync_core::Hlc, u64)> {
        let [hlc, seq, current] = self.clock_entries().await?;
        Ok(clock::state(hlc.as_ref(), seq.as_ref(), current.as_ref()))
    }

    /// The engine's `hlc` and `seq` meta entries and the app's clock entry.
    async fn clock_entries(&self) -> Result<[Option<Value>; 3]> {
        let tx = self.transaction(&[META, OUTBOX], false).await?;
        let meta = idb::store(&tx, META)?;
        let hlc = idb::get(meta.get(&META_HLC.into()));
        let seq = idb::get(meta.get(&META_SEQ.into()));
        let current = idb::get(idb::store(&tx, OUTBOX)?.get(&clock::CLOCK.into()));
        let value = |v: Option<JsValue>| v.map(row::from_js::<Value>).transpose();
        Ok([
            value(hlc.await?)?,
            value(seq.await?)?,
            value(current.await?)?,
        ])
    }
}

impl IndexedDb {
    /// Reads meta `key`, first storing `default` there when it is absent, in one transaction
    /// (two tabs opening at once agree on one value); also reads the entries in `also`.
    pub async fn meta_init(
        &self,
        key: &str,
        default: Value,
        also: &[&str],
    ) -> Result<(Value, Vec<Option<Value>>)> {
        let tx = self.transaction(&[META], true).await?;
        let store = idb::store(&tx, META)?;
        let current = idb::get(store.get(&key.into())).await?;
        let value = match current {
            Some(v) => row::from_js(v)?,
            None => {
                idb::thrown(store.put_with_key(&row::to_js(&default)?, &key.into()))?;
                default
            }
        };
        let others = idb::each(also.iter().map(|k| idb::get(store.get(&(*k).into())))).await?;
        let others = others
            .into_iter()
            .map(|v| v.map(row::from_js).transpose())
            .collect::<Result<_>>()?;
        idb::commit(&tx).await?;
        Ok((value, others))
    }
}

/// Reads the row and outbox entry of `collection/id` inside `tx` (both requests are issued
/// before this returns).
pub fn read_pair(
    tx: &IdbTransaction,
    collection: &str,
    id: &str,
) -> impl std::future::Future<Output = Result<(Option<JsValue>, Option<Entry>)>> {
    let requests = idb::store(tx, collection).and_then(|rows| {
        let outbox = idb::store(tx, OUTBOX)?;
        Ok((
            idb::get(rows.get(&id.into())),
            idb::get(outbox.get(&entry_key(collection, id).into())),
        ))
    });
    async move {
        let (row, entry) = requests?;
        let row = row.await?;
        let entry = entry.await?.map(row::from_js::<Entry>).transpose()?;
        Ok((row, entry))
    }
}

/// Maps an IndexedDB failure to a [`StoreError`] by its `DOMException` name.
pub fn store_error(error: &impl Display) -> StoreError {
    const QUOTA: &str = "QuotaExceededError";
    let message = error.to_string();
    if let Some(at) = message.find(QUOTA) {
        // Chromium's exception has no message of its own: say what happened instead of its name.
        let detail = message[at + QUOTA.len()..].trim_start_matches(':').trim();
        let detail = match detail.is_empty() {
            true => "the browser has no more room for this site's data",
            false => detail,
        };
        StoreError::QuotaExceeded(format!("{detail}; nothing of the failed write was stored"))
    } else if message.contains("InvalidStateError") && message.contains("clos") {
        StoreError::Closed
    } else {
        StoreError::Backend(message)
    }
}

/// [`store_error`] for a thrown JS value.
pub fn js_store_error(error: &JsValue) -> StoreError {
    let text = error
        .as_string()
        .unwrap_or_else(|| String::from(js_sys::Object::from(error.clone()).to_string()));
    store_error(&text)
}
