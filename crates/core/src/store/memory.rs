//! An in-memory [`LocalStore`] for native tests and tools.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Key, LocalStore, Result, StoreError, UpdateFn};
use crate::record::{LocalRecord, SyncStatus};

/// Records and meta entries in `BTreeMap`s; every method completes without awaiting, so each
/// `update` is trivially atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    collections: BTreeSet<String>,
    rows: RefCell<BTreeMap<Key, LocalRecord>>,
    meta: RefCell<BTreeMap<String, Value>>,
}

impl MemoryStore {
    /// A store with the given collections.
    pub fn new<I, S>(collections: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            collections: collections.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    fn check(&self, collection: &str) -> Result<()> {
        if self.collections.contains(collection) {
            Ok(())
        } else {
            Err(StoreError::UnknownCollection(collection.to_owned()))
        }
    }

    /// Every live (not deleted) record of `collection`, by id.
    pub fn all(&self, collection: &str) -> Vec<LocalRecord> {
        self.rows
            .borrow()
            .iter()
            .filter(|((c, _), r)| c == collection && !r.deleted)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

impl LocalStore for MemoryStore {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        self.check(collection)?;
        Ok(self
            .rows
            .borrow()
            .get(&(collection.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        for (collection, _) in keys {
            self.check(collection)?;
        }
        let mut rows = self.rows.borrow_mut();
        let mut written = Vec::with_capacity(keys.len());
        for key in keys {
            let next = f(key, rows.get(key).cloned());
            match &next {
                Some(record) => rows.insert(key.clone(), record.clone()),
                None => rows.remove(key),
            };
            written.push(next);
        }
        let mut entries = self.meta.borrow_mut();
        for (key, value) in meta {
            entries.insert((*key).to_owned(), value.clone());
        }
        Ok(written)
    }

    /// Never assumes: reading is as cheap as guessing here.
    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        _assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Option<Vec<Option<LocalRecord>>>> {
        let holds = {
            let entries = self.meta.borrow();
            expect
                .iter()
                .all(|(key, value)| entries.get(*key).unwrap_or(&Value::Null) == value)
        };
        if !holds {
            return Ok(None);
        }
        self.update(keys, meta, f).await.map(Some)
    }

    async fn outbox(&self, after: Option<u64>, limit: usize) -> Result<Vec<(String, LocalRecord)>> {
        let position = |r: &LocalRecord| r.pending.as_ref().map_or(0, |p| p.seq);
        let mut ready: Vec<(String, LocalRecord)> = self
            .rows
            .borrow()
            .iter()
            .filter(|(_, r)| r.sync.status == SyncStatus::Unsynced)
            .filter(|(_, r)| after.is_none_or(|after| position(r) > after))
            .map(|((c, _), r)| (c.clone(), r.clone()))
            .collect();
        ready.sort_by_key(|(_, r)| position(r));
        ready.truncate(limit);
        Ok(ready)
    }

    async fn unsynced(&self, collection: Option<&str>) -> Result<Vec<(String, LocalRecord)>> {
        if let Some(c) = collection {
            self.check(c)?;
        }
        Ok(self
            .rows
            .borrow()
            .iter()
            .filter(|((c, _), r)| {
                r.sync.status != SyncStatus::Synced && collection.is_none_or(|w| w == c)
            })
            .map(|((c, _), r)| (c.clone(), r.clone()))
            .collect())
    }

    async fn meta(&self, key: &str) -> Result<Option<Value>> {
        Ok(self.meta.borrow().get(key).cloned())
    }
}
