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

use crate::record::{LocalRecord, SyncStatus};

pub use memory::MemoryStore;

/// Why a local storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The collection is not part of the database's schema.
    #[error("unknown collection {}", crate::error::Quoted(.0))]
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

/// How many records are in each state that is not plainly in sync (what `status()` shows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `UNSYNCED` records: the outbox.
    pub pending: usize,
    /// `CONFLICT` records.
    pub conflicts: usize,
    /// `REJECTED` records.
    pub rejected: usize,
}

impl Counts {
    /// Counts `records` by status.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a LocalRecord>) -> Self {
        let mut counts = Self::default();
        for record in records {
            match record.sync.status {
                SyncStatus::Unsynced => counts.pending += 1,
                SyncStatus::Conflict => counts.conflicts += 1,
                SyncStatus::Rejected => counts.rejected += 1,
                SyncStatus::Synced => {}
            }
        }
        counts
    }
}

/// Decides the new state of each row inside an [`LocalStore::update`]: gets the key and the
/// current row, returns the row to store (`None` deletes it).
pub type UpdateFn<'a> = dyn FnMut(&Key, Option<LocalRecord>) -> Option<LocalRecord> + 'a;

/// A device's local database as the sync engine sees it.
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    /// Reads one record, tombstones included.
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>>;

    /// Reads the rows at `keys`, passes each to `f` (once per listed key, in `keys` order; a key
    /// listed again is passed what `f` returned for it before), writes what `f` returns and sets
    /// the `meta` entries, all in one transaction. Returns the rows as written, in `keys` order.
    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>>;

    /// Like [`LocalStore::update`] on the keys of `read`, records the caller read from this
    /// store earlier. A store may take a record's data from `read` instead of reading it again
    /// when its sync metadata and pending change are still exactly those in `read` (every write
    /// of a record's data changes those: a local edit makes a new pending change, a pulled or
    /// acknowledged version a new version), which spares the reads of a batch just pushed.
    /// `f` may be called again for a key (a store that went ahead as if nothing had changed and
    /// found otherwise redoes the update); only what the last call returns is written, so `f`
    /// must not count or collect anything itself: take that from the returned rows.
    async fn update_read(
        &self,
        read: &[(String, LocalRecord)],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        let keys: Vec<Key> = read
            .iter()
            .map(|(c, r)| (c.clone(), r.id.clone()))
            .collect();
        self.update(&keys, meta, f).await
    }

    /// [`LocalStore::update`], done only when every meta entry in `expect` holds the given value
    /// (an absent entry counts as `null`), checked in the same transaction; otherwise nothing
    /// is written and the result is `None`. A writer that must not overwrite what another
    /// wrote since it last looked (the pull's cursor against a `discardRejected`) uses it.
    ///
    /// With `assume_absent` (the caller expects none of `keys` to exist: a first pull), a store
    /// may go ahead as if none did, calling `f(key, None)` and issuing the writes before its
    /// reads are answered (the reads, issued first, see the rows as they were). When a key did
    /// exist after all, it undoes that and redoes the update with the rows read, so `f` may be
    /// called twice for a key, and only what the last call returns is written: `f` must not
    /// count or collect anything itself.
    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Option<Vec<Option<LocalRecord>>>>;

    /// Up to `limit` records with status `UNSYNCED`, oldest pending change first, starting
    /// after outbox position `after` ([`crate::record::Pending::seq`]) when it is given.
    async fn outbox(&self, after: Option<u64>, limit: usize) -> Result<Vec<(String, LocalRecord)>>;

    /// Records in `collection` (or every collection) whose status is not `SYNCED`.
    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>>;

    /// Reads a meta entry (device id, pull cursor, last clock stamp, …).
    async fn meta(&self, key: &str) -> Result<Option<Value>>;

    /// The records in each not-synced state: what [`LocalStore::unsynced`] returns, counted by
    /// status. A store that can count without reading the records (an index) should.
    async fn counts(&self) -> Result<Counts> {
        let records = self.unsynced(None).await?;
        Ok(Counts::of(records.iter().map(|(_, r)| r)))
    }
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

    async fn update_read(
        &self,
        read: &[(String, LocalRecord)],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        (**self).update_read(read, meta, f).await
    }

    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Option<Vec<Option<LocalRecord>>>> {
        (**self)
            .update_if(expect, assume_absent, keys, meta, f)
            .await
    }

    async fn outbox(&self, after: Option<u64>, limit: usize) -> Result<Vec<(String, LocalRecord)>> {
        (**self).outbox(after, limit).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>> {
        (**self).unsynced(collection).await
    }

    async fn meta(&self, key: &str) -> Result<Option<Value>> {
        (**self).meta(key).await
    }

    async fn counts(&self) -> Result<Counts> {
        (**self).counts().await
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
