//! The push half of a cycle: the outbox in batches, each batch's results in one store update.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::conflicts::{ConflictDetail, ConflictMap};
use super::{Engine, RecordEvent, SyncReport, META_CONFLICTS};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::protocol::{Change, ChangeResult, PushRequest, ResultStatus, PROTOCOL_VERSION};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};
use crate::transport::Transport;
use crate::Strategy;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pushes batches until the outbox holds nothing this cycle has not sent yet.
    ///
    /// A record edited while its batch was in flight has a new `changeId` and is pushed again
    /// in a later batch of the same cycle; one whose result the server left out stays put
    /// until the next cycle (the `sent` set stops it from looping).
    pub(super) async fn push_all(
        &self,
        report: &mut SyncReport,
        settled: &mut super::Settled,
    ) -> Result<()> {
        let mut sent: HashSet<String> = HashSet::new();
        loop {
            let batch: Vec<(String, LocalRecord)> = self
                .store
                .outbox(self.config.batch_size)
                .await?
                .into_iter()
                .filter(|(_, r)| {
                    r.pending
                        .as_ref()
                        .is_some_and(|p| !sent.contains(&p.change_id))
                })
                .collect();
            if batch.is_empty() {
                return Ok(());
            }
            let request = self.push_request(&batch);
            sent.extend(
                batch
                    .iter()
                    .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.change_id.clone())),
            );
            let response = self.transport.push(&request).await?;
            if !response.success {
                return Err(Error::Protocol(
                    "push answered success=false with a 2xx status".to_owned(),
                ));
            }
            report.pushed += batch.len();
            self.acknowledge(
                &batch,
                &response.results,
                &response.timestamp,
                report,
                settled,
            )
            .await?;
        }
    }

    fn push_request(&self, batch: &[(String, LocalRecord)]) -> PushRequest {
        let mut changes: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for (collection, record) in batch {
            if let Some(change) = record.to_change(&self.device_id) {
                changes.entry(collection.clone()).or_default().push(change);
            }
        }
        let policies = changes
            .keys()
            .filter_map(|c| Some((c.clone(), self.config.collections.get(c)?.clone())))
            .collect();
        PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.device_id.clone(),
            changes,
            policies,
        }
    }

    /// Applies one batch's results in one store update; only a record whose pending change is
    /// still the one pushed is settled (see [`LocalRecord::acknowledge`]).
    async fn acknowledge(
        &self,
        batch: &[(String, LocalRecord)],
        results: &[ChangeResult],
        timestamp: &str,
        report: &mut SyncReport,
        done: &mut super::Settled,
    ) -> Result<()> {
        let by_key: HashMap<Key, &ChangeResult> = results
            .iter()
            .map(|r| ((r.collection.clone(), r.id.clone()), r))
            .collect();
        let mut conflicts: Option<ConflictMap> = None;
        for result in results {
            let open = result.is_open_manual_conflict();
            match result.status {
                _ if open => report.conflicts += 1,
                ResultStatus::Applied => report.applied += 1,
                ResultStatus::Skipped => report.skipped += 1,
                ResultStatus::Rejected => report.rejected += 1,
                ResultStatus::Conflict => report.conflicts += 1,
            }
            if let Some(record) = &result.record {
                self.hlc.borrow_mut().observe(&record.hlc);
            }
            if let (true, Some(conflict_id)) = (open, &result.conflict_id) {
                if conflicts.is_none() {
                    conflicts = Some(self.conflict_map().await?);
                }
                let detail = ConflictDetail {
                    collection: result.collection.clone(),
                    record_id: result.id.clone(),
                    remote: result
                        .record
                        .as_ref()
                        .map_or(Value::Null, |r| r.data.clone()),
                    remote_version: result.version,
                    strategy: Strategy::Manual,
                    created_at: timestamp.to_owned(),
                };
                if let Some(map) = conflicts.as_mut() {
                    map.insert(conflict_id.clone(), detail);
                }
            }
        }
        let keys: Vec<Key> = batch
            .iter()
            .map(|(c, r)| (c.clone(), r.id.clone()))
            .collect();
        let mut meta = vec![self.hlc_meta()];
        if let Some(map) = &conflicts {
            let value = serde_json::to_value(map).map_err(|e| Error::Protocol(e.to_string()))?;
            meta.push((META_CONFLICTS, value));
        }
        let now = self.clock.now_millis();
        let mut events = Vec::new();
        self.store
            .update(&keys, &meta, &mut |key, existing| {
                let (Some(record), Some(result)) = (existing.clone(), by_key.get(key)) else {
                    return existing;
                };
                let next = record.acknowledge(result, now);
                if let Some(version) = next
                    .as_ref()
                    .filter(|r| r.pending.is_none())
                    .and_then(|r| r.sync.version)
                {
                    done.insert(key.clone(), version);
                }
                events.extend(RecordEvent::changed(key, &existing, &next));
                next
            })
            .await?;
        self.emit_records(&events);
        Ok(())
    }
}
