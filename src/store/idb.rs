//! IndexedDB requests and transactions as futures, over `web-sys` and the promise helpers in
//! `idb.js` ([MDN: IndexedDB](https://developer.mozilla.org/en-US/docs/Web/API/IndexedDB_API)).
//!
//! Writes are issued without awaiting each request: a failed request aborts its transaction
//! (IndexedDB's default), so awaiting [`commit`] (the `complete` event) is enough to know that
//! every request succeeded and is durable. Only reads, whose results are needed, are awaited.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::js_store_error;
use ferrysync_core::store::{Result, StoreError};

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    fn settle(request: &IdbRequest) -> Promise;
    fn finish(tx: &IdbTransaction) -> Promise;
    #[wasm_bindgen(js_name = scanBack)]
    fn scan_back(source: &JsValue, range: &JsValue, limit: u32) -> Promise;
    #[wasm_bindgen(js_name = open)]
    fn open_js(name: &str, version: u32, upgrade: &Function, grace_ms: f64) -> Promise;
    fn remove(name: &str) -> Promise;
    /// Whether `db` was closed for another connection's upgrade or deletion (see `idb.js`).
    #[wasm_bindgen(js_name = isReplaced)]
    pub fn is_replaced(db: &IdbDatabase) -> bool;
    #[wasm_bindgen(js_name = reopen)]
    fn reopen_js(db: &IdbDatabase, grace_ms: f64) -> Promise;
    #[wasm_bindgen(js_name = cleanRows)]
    fn clean_rows(rows: Array, acks: &JsValue, collection: &str) -> Array;
}

/// The rows of `collection` that `read` (issued in `tx`) resolves with, as the app reads them
/// (see `cleanRows` in `idb.js`): joined with the acknowledgement batches, read in `tx` too,
/// which must span the outbox.
pub async fn app_rows(
    tx: &IdbTransaction,
    collection: &str,
    read: impl std::future::Future<Output = Result<Array>>,
) -> Result<Array> {
    let acks = super::acks::read(tx, None)?;
    let rows = read.await?;
    Ok(clean_rows(rows, acks.await?.js(), collection))
}

#[wasm_bindgen]
extern "C" {
    /// An object store or an index: both answer `getAll` and `openCursor`.
    type Source;
    #[wasm_bindgen(method, catch, js_name = getAll)]
    fn get_all(this: &Source, range: &JsValue, limit: Option<u32>) -> Result<IdbRequest, JsValue>;
}

/// Awaits a JS promise, mapping a rejection to a [`StoreError`].
async fn promise(p: Promise) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| js_store_error(&e))
}

/// Maps a synchronous IndexedDB exception (e.g. `DataCloneError`, `InvalidStateError`).
pub fn thrown<T>(result: Result<T, JsValue>) -> Result<T> {
    result.map_err(|e| js_store_error(&e))
}

/// Awaits a request's result (`undefined` when a `get` finds nothing).
pub async fn request(request: Result<IdbRequest, JsValue>) -> Result<JsValue> {
    promise(settle(&thrown(request)?)).await
}

/// A `get`'s result: `None` when there is no such key. The request is issued and its handlers
/// attached before this returns, so several can be in flight and awaited one after another.
pub fn get(
    request: Result<IdbRequest, JsValue>,
) -> impl std::future::Future<Output = Result<Option<JsValue>>> {
    let reply = thrown(request).map(|r| settle(&r));
    async move {
        let value = promise(reply?).await?;
        Ok((!value.is_undefined()).then_some(value))
    }
}

/// Awaits `futures` in order (requests already in flight), stopping at the first error.
pub async fn each<T>(
    futures: impl IntoIterator<Item = impl std::future::Future<Output = Result<T>>>,
) -> Result<Vec<T>> {
    let futures: Vec<_> = futures.into_iter().collect();
    let mut out = Vec::with_capacity(futures.len());
    for f in futures {
        out.push(f.await?);
    }
    Ok(out)
}

/// A count request's result. The request's handlers are attached before this returns (see
/// [`get`]), so several can be in flight and awaited in any order.
pub fn count(
    request: Result<IdbRequest, JsValue>,
) -> impl std::future::Future<Output = Result<u32>> {
    let reply = thrown(request).map(|r| settle(&r));
    async move { Ok(promise(reply?).await?.as_f64().unwrap_or_default() as u32) }
}

/// A `getAll`'s result. The request's handlers are attached before this returns (see [`get`]).
pub fn all(
    request: Result<IdbRequest, JsValue>,
) -> impl std::future::Future<Output = Result<Array>> {
    let reply = thrown(request).map(|r| settle(&r));
    async move { Ok(promise(reply?).await?.unchecked_into()) }
}

/// Up to `limit` values (all when `None`) of an object store or index in `range`, in key order,
/// or highest keys first when `reverse`.
pub async fn values(
    source: &JsValue,
    range: &JsValue,
    limit: Option<u32>,
    reverse: bool,
) -> Result<Array> {
    let values = match (limit, reverse) {
        (Some(n), true) => promise(scan_back(source, range, n)).await?,
        (limit, _) => request(source.unchecked_ref::<Source>().get_all(range, limit)).await?,
    };
    let values: Array = values.unchecked_into();
    if reverse && limit.is_none() {
        values.reverse();
    }
    Ok(values)
}

/// Starts a transaction over `stores`.
pub fn transaction(db: &IdbDatabase, stores: &[&str], write: bool) -> Result<IdbTransaction> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let mode = if write {
        IdbTransactionMode::Readwrite
    } else {
        IdbTransactionMode::Readonly
    };
    thrown(db.transaction_with_str_sequence_and_mode(&names, mode))
}

/// Object store `name` of `tx`.
pub fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    thrown(tx.object_store(name))
}

/// Commits `tx` (no request may follow) and waits for `complete`; `Ok` means durable.
pub async fn commit(tx: &IdbTransaction) -> Result<()> {
    promise(finish(tx)).await.map(drop)
}

/// Commits `tx` when its body succeeded (see [`commit`]), aborts it otherwise (see [`abort`]).
pub async fn commit_or_abort<T>(tx: &IdbTransaction, body: Result<T>) -> Result<T> {
    match body {
        Ok(value) => commit(tx).await.map(|()| value),
        Err(e) => abort(tx, e),
    }
}

/// Aborts a transaction when dropped before [`AbortOnDrop::disarm`]: for a transaction whose
/// writes are issued before the check that they may be made.
pub struct AbortOnDrop<'a>(Option<&'a IdbTransaction>);

impl<'a> AbortOnDrop<'a> {
    /// Guards `tx`.
    pub fn new(tx: &'a IdbTransaction) -> Self {
        Self(Some(tx))
    }

    /// The transaction was committed or aborted on purpose: nothing to do on drop.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(tx) = self.0 {
            // Throws when the transaction already finished; then there is nothing to undo.
            let _ = tx.abort();
        }
    }
}

/// Aborts `tx` after a failed step and passes the step's error on.
pub fn abort<T>(tx: &IdbTransaction, error: StoreError) -> Result<T> {
    // The abort's own outcome does not matter: the transaction is dead either way (a failed
    // request already aborted it, and then `abort` throws).
    let _ = tx.abort();
    Err(error)
}

/// Opens `name` at `version` (0: the current one), running `upgrade` in a `versionchange`;
/// `Err(None)` when other connections still block the upgrade after `grace_ms`.
pub async fn open(
    name: &str,
    version: u32,
    upgrade: &Function,
    grace_ms: f64,
) -> Result<IdbDatabase, Option<StoreError>> {
    match JsFuture::from(open_js(name, version, upgrade, grace_ms)).await {
        Ok(db) => Ok(db.unchecked_into()),
        Err(e)
            if e.dyn_ref::<web_sys::DomException>().map(|d| d.name())
                == Some("BlockedError".into()) =>
        {
            Err(None)
        }
        Err(e) => Err(Some(js_store_error(&e))),
    }
}

/// A connection to the database of `db`, which another connection's upgrade closed, once that
/// upgrade is done; the same connection for every caller. Fails when a deletion closed it.
pub async fn reopen(db: &IdbDatabase) -> Result<IdbDatabase> {
    let grace_ms = super::schema::BLOCKED_GRACE_MS;
    match JsFuture::from(reopen_js(db, grace_ms)).await {
        Ok(db) => Ok(db.unchecked_into()),
        Err(e) => Err(js_store_error(&e)),
    }
}

/// Deletes database `name`.
pub async fn delete(name: &str) -> Result<()> {
    promise(remove(name)).await.map(drop)
}
