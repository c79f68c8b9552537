//! The pull half of a cycle: pages after the saved cursor, each page and its cursor committed
//! in one store update.

use std::collections::HashMap;

use serde_json::Value;

use super::{Engine, RecordEvent, SyncReport, META_CURSOR};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::join::join;
use crate::protocol::{PullRequest, ServerRecord, PROTOCOL_VERSION};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};
use crate::transport::Transport;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pulls pages until the server says there is no more. Each page is written while the next
    /// one is fetched (its cursor is known as soon as the page arrives).
    pub(super) async fn pull_all(
        &self,
        report: &mut SyncReport,
        settled: &super::Settled,
    ) -> Result<()> {
        let cursor = self
            .store
            .meta(META_CURSOR)
            .await?
            .and_then(|v| v.as_str().map(str::to_owned));
        let mut page = self
            .transport
            .pull(&self.pull_request(cursor.clone()))
            .await?;
        let mut previous = cursor;
        loop {
            if page.has_more && page.changes.is_empty() && previous.as_ref() == Some(&page.cursor) {
                return Err(Error::Protocol(
                    "pull says hasMore but the cursor did not move".to_owned(),
                ));
            }
            let next = page
                .has_more
                .then(|| self.pull_request(Some(page.cursor.clone())));
            let fetch = async {
                match &next {
                    Some(request) => self.transport.pull(request).await.map(Some),
                    None => Ok(None),
                }
            };
            let changes = std::mem::take(&mut page.changes);
            report.pulled += changes.len();
            let (stored, fetched) =
                join(self.apply_page(changes, &page.cursor, settled), fetch).await;
            stored?;
            let Some(fetched) = fetched? else {
                return Ok(());
            };
            previous = Some(std::mem::replace(&mut page, fetched).cursor);
        }
    }

    fn pull_request(&self, cursor: Option<String>) -> PullRequest {
        PullRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.device_id.clone(),
            cursor,
            limit: Some(u32::try_from(self.config.batch_size).unwrap_or(u32::MAX)),
            collections: Some(self.config.collections.keys().cloned().collect()),
            last_sync_timestamp: None,
        }
    }

    /// Writes one page and its cursor in one store update. The page's records are taken: their
    /// data becomes the stored records' without a copy.
    async fn apply_page(
        &self,
        changes: Vec<ServerRecord>,
        cursor: &str,
        settled: &super::Settled,
    ) -> Result<()> {
        let mut latest: HashMap<Key, ServerRecord> = HashMap::with_capacity(changes.len());
        let mut keys: Vec<Key> = Vec::with_capacity(changes.len());
        for record in changes {
            // A server outside the config's collections would make the whole update fail.
            if !self.config.collections.contains_key(&record.collection) {
                continue;
            }
            self.hlc.borrow_mut().observe(&record.hlc);
            let key = (record.collection.clone(), record.id.clone());
            // This device's own write, already stored at exactly this version by the push.
            if settled.get(&key) == Some(&record.version) {
                continue;
            }
            // A record listed twice: its later version is the one to keep.
            if latest.insert(key.clone(), record).is_none() {
                keys.push(key);
            }
        }
        let meta = [
            (META_CURSOR, Value::String(cursor.to_owned())),
            self.hlc_meta(),
        ];
        let now = self.clock.now_millis();
        // Whether the update changed each key (it calls `f` once per key, in order); their
        // events take the rows it returns, without copies.
        let mut changed = Vec::with_capacity(keys.len());
        let written = self
            .store
            .update(&keys, &meta, &mut |key, local| {
                let server = latest.remove(key);
                let Some(server) = server.filter(|s| !LocalRecord::keeps_local(local.as_ref(), s))
                else {
                    changed.push(false);
                    return local;
                };
                let next = LocalRecord::apply_pulled(None, server, now);
                changed.push(local.is_some() || next.is_some());
                next
            })
            .await?;
        let events: Vec<RecordEvent> = keys
            .into_iter()
            .zip(written)
            .zip(changed)
            .filter(|(_, changed)| *changed)
            .map(|(((collection, id), record), _)| RecordEvent {
                collection,
                id,
                record,
            })
            .collect();
        self.emit_records(&events);
        Ok(())
    }
}
