//! The app's own writes: put and delete through [`LocalRecord::write`], stamped by the device's
//! hybrid logical clock, each committed with its pending change in one store update.

use serde_json::{Map, Value};

use super::{Engine, META_HLC, META_SEQ};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::record::{Edit, LocalRecord, SyncStatus};
use crate::store::{Key, LocalStore, StoreError};
use crate::transport::Transport;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Writes `data` (a JSON object) as record `id` of `collection`; returns the stored record.
    /// The write and its pending change are durable when this resolves.
    pub async fn put(&self, collection: &str, id: &str, data: Value) -> Result<LocalRecord> {
        let data = object(data)?;
        let mut written = self
            .write_many(collection, vec![(id.to_owned(), Some(data))])
            .await?;
        written.pop().flatten().ok_or_else(|| {
            StoreError::Backend("the store returned no row for a put".to_owned()).into()
        })
    }

    /// Deletes record `id`: it becomes a tombstone until the server has the delete. Returns
    /// false (and writes nothing) when there is no live record with that id.
    pub async fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        match self.store.get(collection, id).await? {
            Some(existing) if !existing.deleted => {}
            _ => return Ok(false),
        }
        self.write_many(collection, vec![(id.to_owned(), None)])
            .await?;
        Ok(true)
    }

    /// The live record `id` (tombstones read as absent).
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        Ok(self.store.get(collection, id).await?.filter(|r| !r.deleted))
    }

    /// Writes several records of one collection in one store update (`None` = delete);
    /// returns the stored rows in order.
    pub async fn write_many(
        &self,
        collection: &str,
        items: Vec<(String, Option<Map<String, Value>>)>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now_millis();
        let keys: Vec<Key> = items
            .iter()
            .map(|(id, _)| (collection.to_owned(), id.clone()))
            .collect();
        let mut edits: Vec<QueuedEdit> = Vec::with_capacity(items.len());
        for (_, data) in items {
            let hlc = self.hlc.borrow_mut().now(now);
            let seq = self.seq.get() + 1;
            self.seq.set(seq);
            let change_id = (self.new_id.borrow_mut())();
            edits.push(Some((
                Edit {
                    change_id,
                    hlc,
                    now,
                    seq,
                },
                data,
            )));
        }
        let meta = [
            (META_HLC, Value::String(edits_last_hlc(&edits))),
            (META_SEQ, Value::from(self.seq.get())),
        ];
        // Status counts move incrementally: a full recount per write would be quadratic.
        let mut left: Vec<SyncStatus> = Vec::new();
        let mut index = 0;
        let written = self
            .store
            .update(&keys, &meta, &mut |(_, id), existing| {
                // The store contract calls this once per key, in order.
                let Some((edit, data)) = edits.get_mut(index).and_then(Option::take) else {
                    return existing;
                };
                index += 1;
                left.push(
                    existing
                        .as_ref()
                        .map_or(SyncStatus::Synced, |r| r.sync.status),
                );
                Some(LocalRecord::write(existing, id, data, edit))
            })
            .await?;
        self.edited(&left);
        Ok(written)
    }
}

/// One queued write: its identity and its data (`None` = delete).
type QueuedEdit = Option<(Edit, Option<Map<String, Value>>)>;

fn edits_last_hlc(edits: &[QueuedEdit]) -> String {
    edits
        .last()
        .and_then(|e| e.as_ref())
        .map(|(edit, _)| edit.hlc.to_string())
        .unwrap_or_default()
}

/// The object inside `data`, without the `id` and `_sync` keys the app may have read with it.
fn object(data: Value) -> Result<Map<String, Value>> {
    match data {
        Value::Object(mut map) => {
            map.remove("id");
            map.remove("_sync");
            Ok(map)
        }
        other => Err(Error::InvalidArgument(format!(
            "a record must be a JSON object, not {other}"
        ))),
    }
}
