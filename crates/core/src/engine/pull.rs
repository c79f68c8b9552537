//! The pull half of a cycle: pages after the saved cursor, each page and its cursor committed
//! in one store update.

use std::collections::HashMap;

use serde_json::Value;

use super::{Engine, RecordEvent, SyncReport, META_CURSOR};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::protocol::{PullRequest, ServerRecord, PROTOCOL_VERSION};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};
use crate::transport::Transport;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pulls pages until the server says there is no more.
    pub(super) async fn pull_all(
        &self,
        report: &mut SyncReport,
        settled: &super::Settled,
    ) -> Result<()> {
        let mut cursor = self
            .store
            .meta(META_CURSOR)
            .await?
            .and_then(|v| v.as_str().map(str::to_owned));
        let limit = u32::try_from(self.config.batch_size).unwrap_or(u32::MAX);
        loop {
            let request = PullRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: self.device_id.clone(),
                cursor: cursor.clone(),
                limit: Some(limit),
                collections: Some(self.config.collections.keys().cloned().collect()),
                last_sync_timestamp: None,
            };
            let page = self.transport.pull(&request).await?;
            if page.has_more && page.changes.is_empty() && cursor.as_ref() == Some(&page.cursor) {
                return Err(Error::Protocol(
                    "pull says hasMore but the cursor did not move".to_owned(),
                ));
            }
            self.apply_page(&page.changes, &page.cursor, settled)
                .await?;
            report.pulled += page.changes.len();
            cursor = Some(page.cursor);
            if !page.has_more {
                return Ok(());
            }
        }
    }

    /// Writes one page and its cursor in one store update.
    async fn apply_page(
        &self,
        changes: &[ServerRecord],
        cursor: &str,
        settled: &super::Settled,
    ) -> Result<()> {
        let mut latest: HashMap<Key, &ServerRecord> = HashMap::with_capacity(changes.len());
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
            if latest.insert(key.clone(), record).is_none() {
                keys.push(key);
            }
        }
        let meta = [
            (META_CURSOR, Value::String(cursor.to_owned())),
            self.hlc_meta(),
        ];
        let now = self.clock.now_millis();
        let mut events = Vec::new();
        self.store
            .update(&keys, &meta, &mut |key, local| {
                let Some(server) = latest.get(key) else {
                    return local;
                };
                let next = LocalRecord::apply_pulled(local.clone(), server, now);
                events.extend(RecordEvent::changed(key, &local, &next));
                next
            })
            .await?;
        self.emit_records(&events);
        Ok(())
    }
}
