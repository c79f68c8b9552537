//! The device-side storage port: what the sync engine needs from a local database.
//!
//! `IndexedDb` (browser crate, on IndexedDB) and [`MemoryStore`] (native tests) implement it. The rules
//! for what a write, an acknowledgement or a pulled version does to a record live in
//! [`crate::record`]; a store only reads and writes rows atomically.
//!
//! Contract, for every implementation:
//! - when a returned future resolves `Ok`, the change is durable (committed);
//! - [`LocalStore::update`] is atomic: all rows and the meta entries it writes commit together,
//!   or none do, and no other `update` interleaves between its read and its write;
//! - an implementation awaits nothing but its own storage inside a transaction (no network).

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
mod memory;

use serde_json::Value;

use crate::record::LocalRecord;

pub use memory::MemoryStore;

/// Why a local storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The collection is not part of the database's schema.
    #[error("unknown collection {0:?}")]
    UnknownCollection(String),
    /// The browser refused to store more data.
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The database was closed.
    #[error("database is closed")]
    Closed,
    /// Any other failure of the underlying database, with its message.
    #[error("storage failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// Stable code for programs (the JS `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCollection(_) => "UNKNOWN_COLLECTION",
            Self::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            Self::Closed => "CLOSED",
            Self::Backend(_) => "STORAGE_ERROR",
        }
    }
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One record address: collection and id.
pub type Key = (String, String);

/// Decides the new state of each row inside an [`LocalStore::update`]: gets the key and the
/// current row, returns the row to store (`None` deletes it).
pub type UpdateFn<'a> = dyn FnMut(&Key, Option<LocalRecord>) -> Option<LocalRecord> + 'a;

/// A device's local database as the sync engine sees it.
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    /// Reads one record, tombstones included.
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>>;

    /// Reads the rows at `keys`, passes each to `f`, writes what `f` returns and sets the `meta`
    /// entries, all in one transaction. Returns the rows as written, in `keys` order.
    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>>;

    /// Up to `limit` records with status `UNSYNCED`, oldest pending change first.
    async fn outbox(&self, limit: usize) -> Result<Vec<(String, LocalRecord)>>;

    /// Records in `collection` (or every collection) whose status is not `SYNCED`.
    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>>;

    /// Reads a meta entry (device id, pull cursor, last clock stamp, …).
    async fn meta(&self, key: &str) -> Result<Option<Value>>;
}

/// A shared store is a store: the engine can own an `Rc` while the app's own API keeps another.
impl<S: LocalStore + ?Sized> LocalStore for std::rc::Rc<S> {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        (**self).get(collection, id).await
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        (**self).update(keys, meta, f).await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<(String, LocalRecord)>> {
        (**self).outbox(limit).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>> {
        (**self).unsynced(collection).await
    }

    async fn meta(&self, key: &str) -> Result<Option<Value>> {
        (**self).meta(key).await
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::{contract, MemoryStore};

    /// Runs a future that never waits (every `MemoryStore` call completes at once).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("a memory store future waited"),
        }
    }

    #[test]
    fn memory_store_passes_the_contract() {
        block_on(contract::run_all(|_| async {
            MemoryStore::new(contract::COLLECTIONS)
        }));
    }
}
