//! [`Hooked`]: a memory store that lets the test put other work between two steps of the
//! engine's, as another call or tab would.

use std::cell::RefCell;
use std::future::poll_fn;
use std::task::Poll;

use serde_json::Value;

use super::Shared;
use crate::engine::META_CONFLICTS;
use crate::record::LocalRecord;
use crate::store::{Counts, Key, LocalStore, Result as StoreResult, UpdateFn};

/// A write of another writer, run on the shared store.
pub(super) type Interference = Box<dyn FnOnce(&Shared)>;

/// The memory store `inner`, with what the test arms: counts handed over one poll after they
/// were taken (a write can commit between), and another writer's write run right after the
/// engine reads the conflict details (between that read and the engine's own write).
pub(super) struct Hooked {
    pub(super) inner: Shared,
    pub(super) late_counts: bool,
    pub(super) after_conflicts_read: RefCell<Option<Interference>>,
}

impl Hooked {
    pub(super) fn new(inner: &Shared) -> Self {
        Self {
            inner: inner.clone(),
            late_counts: false,
            after_conflicts_read: RefCell::new(None),
        }
    }
}

impl LocalStore for Hooked {
    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<LocalRecord>> {
        self.inner.get(collection, id).await
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Vec<Option<LocalRecord>>> {
        self.inner.update(keys, meta, f).await
    }

    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Option<Vec<Option<LocalRecord>>>> {
        self.inner
            .update_if(expect, assume_absent, keys, meta, f)
            .await
    }

    async fn outbox(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.inner.outbox(after, limit).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.inner.unsynced(collection).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Value>> {
        let value = self.inner.meta(key).await?;
        if key == META_CONFLICTS {
            if let Some(write) = self.after_conflicts_read.borrow_mut().take() {
                write(&self.inner);
            }
        }
        Ok(value)
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let counts = self.inner.counts().await?;
        let mut yielded = !self.late_counts;
        poll_fn(|cx| {
            if std::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        Ok(counts)
    }
}
