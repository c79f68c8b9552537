//! [`IndexedDb`]: the browser's [`LocalStore`], on IndexedDB through rexie.
//!
//! The layout and upgrades are in [`schema`], the split of a record into row + outbox entry in
//! [`row`], and the app's fast paths (which keep records as JS objects) in [`app`]. Every method
//! runs one transaction and awaits nothing but its requests; a failed step aborts the transaction
//! explicitly, because IndexedDB would otherwise commit the requests that did succeed.

pub mod app;
pub mod row;
pub mod schema;

use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::fmt::Display;

use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Key, LocalStore, Result, StoreError, UpdateFn};
use futures_util::future::try_join_all;
use rexie::{Rexie, Transaction, TransactionMode};
use serde_json::Value;
use wasm_bindgen::JsValue;

use row::{entry_key, record_of, Entry};
use schema::{Schema, META, NOT_SYNCED, OUTBOX, OUTBOX_ORDER};

/// A ferrysync database in IndexedDB.
#[derive(Debug)]
pub struct IndexedDb {
    name: String,
    db: RefCell<Option<Rexie>>,
    schema: Schema,
}

impl IndexedDb {
    /// Opens (creating or upgrading as needed) database `name` with at least the collections and
    /// indexes of `schema`; stores and indexes on disk that `schema` lacks are kept.
    pub async fn open(name: &str, schema: &Schema) -> crate::Result<Self> {
        schema::check(schema)?;
        let (db, schema) = schema::open(name, schema).await?;
        Ok(Self {
            name: name.to_owned(),
            db: RefCell::new(Some(db)),
            schema,
        })
    }

    /// Deletes database `name` (closed connections only; tests and "sign out").
    pub async fn delete(name: &str) -> crate::Result<()> {
        backend(Rexie::delete(name).await)
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

    fn connection(&self) -> Result<Ref<'_, Rexie>> {
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

    /// Starts a transaction over `stores` (the borrow of the connection ends before it returns).
    pub fn transaction<S: AsRef<str>>(
        &self,
        stores: &[S],
        mode: TransactionMode,
    ) -> Result<Transaction> {
        rexie_result(self.connection()?.transaction(stores, mode))
    }
}

impl Drop for IndexedDb {
    /// Dropping the store closes its connection, so a later upgrade or delete is not blocked.
    fn drop(&mut self) {
        self.close();
    }
}

/// Waits for `tx` to commit; `Ok` means durable.
pub async fn commit(tx: Transaction) -> Result<()> {
    let result = rexie_result(tx.done().await)?;
    if result.is_committed() {
        Ok(())
    } else {
        Err(StoreError::Backend("transaction aborted".to_owned()))
    }
}

/// Aborts `tx` after a failed step and passes the step's error on.
pub async fn abort<T>(tx: Transaction, error: StoreError) -> Result<T> {
    // The abort's own outcome does not matter: the transaction is dead either way.
    let _ = tx.abort().await;
    Err(error)
}

impl LocalStore for IndexedDb {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        self.check(collection)?;
        let tx = self.transaction(&[collection, OUTBOX], TransactionMode::ReadOnly)?;
        let (row, entry) = read_pair(&tx, collection, id).await?;
        record_of(id, row, entry)
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        let mut stores: Vec<&str> = vec![OUTBOX, META];
        for (collection, _) in keys {
            self.check(collection)?;
            if !stores.contains(&collection.as_str()) {
                stores.push(collection);
            }
        }
        let tx = self.transaction(&stores, TransactionMode::ReadWrite)?;
        match update_in(&tx, keys, meta, f).await {
            Ok(written) => commit(tx).await.map(|()| written),
            Err(e) => abort(tx, e).await,
        }
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<(String, LocalRecord)>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.entries(OUTBOX_ORDER, Some(limit), None).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>> {
        if let Some(c) = collection {
            self.check(c)?;
        }
        self.entries(NOT_SYNCED, None, collection).await
    }

    async fn meta(&self, key: &str) -> Result<Option<Value>> {
        let tx = self.transaction(&[META], TransactionMode::ReadOnly)?;
        let value = rexie_result(rexie_result(tx.store(META))?.get(key.into()).await)?;
        value.map(row::from_js).transpose()
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
        let tx = self.transaction(&[META], TransactionMode::ReadWrite)?;
        let store = rexie_result(tx.store(META))?;
        let current = rexie_result(store.get(key.into()).await)?;
        let value = match current {
            Some(v) => row::from_js(v)?,
            None => {
                rexie_result(store.put(&row::to_js(&default)?, Some(&key.into())).await)?;
                default
            }
        };
        let mut others = Vec::with_capacity(also.len());
        for other in also {
            let v = rexie_result(store.get((*other).into()).await)?;
            others.push(v.map(row::from_js).transpose()?);
        }
        commit(tx).await?;
        Ok((value, others))
    }

    /// Records whose outbox entries are in `index` (in index order), with their rows.
    async fn entries(
        &self,
        index: &str,
        limit: Option<u32>,
        only: Option<&str>,
    ) -> Result<Vec<(String, LocalRecord)>> {
        let mut stores: Vec<&str> = self.schema.keys().map(String::as_str).collect();
        stores.push(OUTBOX);
        let tx = self.transaction(&stores, TransactionMode::ReadOnly)?;
        let outbox = rexie_result(tx.store(OUTBOX))?;
        let values = rexie_result(
            rexie_result(outbox.index(index))?
                .get_all(None, limit)
                .await,
        )?;
        let entries: Vec<Entry> = values
            .into_iter()
            .map(row::from_js)
            .collect::<Result<Vec<Entry>>>()?
            .into_iter()
            .filter(|e| only.is_none_or(|c| c == e.c))
            .collect();
        let rows = try_join_all(entries.iter().map(|e| async {
            if e.deleted || !self.schema.contains_key(&e.c) {
                return Ok(None);
            }
            let store = rexie_result(tx.store(&e.c))?;
            rexie_result(store.get(e.id.as_str().into()).await)
        }))
        .await?;
        let mut records = Vec::with_capacity(entries.len());
        for (entry, row) in entries.into_iter().zip(rows) {
            let (collection, id) = (entry.c.clone(), entry.id.clone());
            if let Some(record) = record_of(&id, row, Some(entry))? {
                records.push((collection, record));
            }
        }
        Ok(records)
    }
}

/// Reads the row and outbox entry of `collection/id` inside `tx`.
pub async fn read_pair(
    tx: &Transaction,
    collection: &str,
    id: &str,
) -> Result<(Option<JsValue>, Option<Entry>)> {
    let rows = rexie_result(tx.store(collection))?;
    let outbox = rexie_result(tx.store(OUTBOX))?;
    let (row, entry) = futures_util::future::join(
        rows.get(id.into()),
        outbox.get(entry_key(collection, id).into()),
    )
    .await;
    let entry = rexie_result(entry)?
        .map(row::from_js::<Entry>)
        .transpose()?;
    Ok((rexie_result(row)?, entry))
}

async fn update_in(
    tx: &Transaction,
    keys: &[Key],
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
) -> Result<Vec<Option<LocalRecord>>> {
    let pairs = try_join_all(keys.iter().map(|(c, id)| read_pair(tx, c, id))).await?;
    // A key listed twice sees its own earlier result, as in one sequential pass.
    let mut current: HashMap<&Key, Option<LocalRecord>> = HashMap::new();
    let mut written = Vec::with_capacity(keys.len());
    for (key, (row, entry)) in keys.iter().zip(pairs) {
        let old = match current.remove(key) {
            Some(seen) => seen,
            None => record_of(&key.1, row, entry)?,
        };
        let next = f(key, old);
        current.insert(key, next.clone());
        written.push(next);
    }
    let outbox = |tx: &Transaction| rexie_result(tx.store(OUTBOX));
    let mut requests = Vec::new();
    for (key, next) in current {
        let (collection, id) = key;
        let rows = rexie_result(tx.store(collection))?;
        let entry = next
            .as_ref()
            .and_then(|r| Entry::of(collection, id, &r.sync, r.pending.as_ref(), r.deleted));
        match next.as_ref().filter(|r| !r.deleted) {
            Some(record) => requests.push(put(rows, row::row_of(record)?, None)),
            None => requests.push(delete(rows, id.into())),
        }
        match entry {
            Some(entry) => requests.push(put(outbox(tx)?, row::to_js(&entry)?, None)),
            None => requests.push(delete(outbox(tx)?, entry_key(collection, id).into())),
        }
    }
    for (key, value) in meta {
        let meta_store = rexie_result(tx.store(META))?;
        requests.push(put(meta_store, row::to_js(value)?, Some((*key).into())));
    }
    try_join_all(requests).await?;
    Ok(written)
}

/// A put request as a boxed future, so puts and deletes can be awaited together.
pub fn put(
    store: rexie::Store,
    value: JsValue,
    key: Option<JsValue>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>>>> {
    Box::pin(async move { rexie_result(store.put(&value, key.as_ref()).await).map(drop) })
}

/// A delete request as a boxed future.
pub fn delete(
    store: rexie::Store,
    key: JsValue,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>>>> {
    Box::pin(async move { rexie_result(store.delete(key).await) })
}

/// Maps an IndexedDB failure to a [`StoreError`] by its `DOMException` name.
pub fn store_error(error: &impl Display) -> StoreError {
    let message = error.to_string();
    if message.contains("QuotaExceededError") {
        StoreError::QuotaExceeded(message)
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

/// Maps a rexie result, keeping the underlying idb error's message (rexie's own says "idb error").
pub fn rexie_result<T>(result: rexie::Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        rexie::Error::IdbError(inner) => store_error(&inner),
        other => StoreError::Backend(other.to_string()),
    })
}

/// [`rexie_result`] into the crate's error.
pub fn backend<T>(result: rexie::Result<T>) -> crate::Result<T> {
    rexie_result(result).map_err(Into::into)
}
