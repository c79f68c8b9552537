//! The push half of a cycle: the outbox in batches, each batch's results in one store update.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::conflict_map::{detail_of, detail_value, ConflictDetail, ConflictMap};
use super::{Engine, RecordEvent, SyncReport};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::join::join;
use crate::protocol::{
    Change, ChangeResult, PushRequest, PushResponse, ResultStatus, PROTOCOL_VERSION,
};
use crate::record::{LocalRecord, SyncStatus};
use crate::store::{Key, LocalStore};
use crate::transport::{Transport, TransportError};
use crate::Strategy;

/// Where a cycle's push is in the outbox.
#[derive(Default)]
struct Outbox {
    /// Outbox position of the last record read; the next batch starts after it.
    after: Option<u64>,
    /// Changes this cycle has sent: a change the server left without a result stays in the
    /// outbox, and this keeps it from being sent again in the same cycle.
    sent: HashSet<String>,
}

/// A batch read from the outbox: each record with its collection.
type Batch = Vec<(String, LocalRecord)>;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pushes batches until the outbox holds nothing this cycle has not sent yet.
    ///
    /// The batches are pipelined: while one batch's results are being stored, the next batch
    /// (read in the previous round) is on the wire and the one after it is read, so the server
    /// and the store work at once, one request at a time. A record edited while its batch was
    /// in flight keeps its outbox position
    /// (the edit is coalesced) but has a new `changeId`: once the positions run out and every
    /// result is stored, the outbox is read again from the start for such changes, and they are
    /// pushed in the same cycle.
    pub(super) async fn push_all(
        &self,
        report: &mut SyncReport,
        settled: &mut super::Settled,
    ) -> Result<()> {
        let mut outbox = Outbox::default();
        let mut answered: Option<(Batch, PushResponse)> = None;
        let mut in_flight = self.read_batch(&mut outbox).await?;
        loop {
            if answered.is_none() && in_flight.is_none() {
                // Every result is stored now: what is still in the outbox from the start and
                // not sent this cycle was edited in flight.
                if outbox.after.take().is_none() {
                    return Ok(());
                }
                in_flight = self.read_batch(&mut outbox).await?;
                if in_flight.is_none() {
                    return Ok(());
                }
            }
            let send = async {
                match in_flight.take() {
                    Some(batch) => self.send(batch).await.map(Some),
                    None => Ok(None),
                }
            };
            // The next batch's read is issued before the answered batch's write (`join` polls
            // it first), so the read does not wait for the write's transaction.
            let read = join(self.read_batch(&mut outbox), send);
            let store = async {
                match &answered {
                    Some((batch, response)) => {
                        report.pushed += batch.len();
                        self.acknowledge(batch, response, report, settled).await
                    }
                    None => Ok(()),
                }
            };
            let ((read, sent), stored) = join(read, store).await;
            stored?;
            answered = sent?;
            in_flight = read?;
        }
    }

    /// Reads the next batch after `outbox.after` (and marks its changes sent); `None` when there
    /// is none.
    async fn read_batch(&self, outbox: &mut Outbox) -> Result<Option<Batch>> {
        let batch: Batch = self
            .store
            .outbox(outbox.after, self.config.batch_size)
            .await?
            .into_iter()
            .filter(|(_, r)| {
                r.pending
                    .as_ref()
                    .is_some_and(|p| !outbox.sent.contains(&p.change_id))
            })
            .collect();
        let Some(last) = batch
            .iter()
            .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.seq))
            .max()
        else {
            return Ok(None);
        };
        outbox.after = Some(last);
        outbox.sent.extend(
            batch
                .iter()
                .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.change_id.clone())),
        );
        Ok(Some(batch))
    }

    /// Pushes `batch`; returns it with the server's answer, one result per change.
    ///
    /// A request the server finds too large (413: over its body limit, or too many changes) is
    /// sent again as two halves, one after the other, and so on down to single changes. A change
    /// too large on its own is rejected with the server's reason, so it never holds back the
    /// changes after it (the app sees it in `rejected()`; an edit sends it again). Later parts as
    /// large as one refused are halved before they are sent (`push_limit`).
    async fn send(&self, batch: Batch) -> Result<(Batch, PushResponse)> {
        let mut results = Vec::with_capacity(batch.len());
        let mut timestamp = String::new();
        // Parts of `batch` still to send, the next one last.
        let mut parts = vec![(0, batch.len())];
        let halve = |parts: &mut Vec<(usize, usize)>, start: usize, end: usize| {
            let middle = start + (end - start) / 2;
            parts.push((middle, end));
            parts.push((start, middle));
        };
        while let Some((start, end)) = parts.pop() {
            let part = &batch[start..end];
            if !self.push_limit.get().allows(part) {
                halve(&mut parts, start, end);
                continue;
            }
            let request = self.push_request(part);
            match self.transport.push(&request).await {
                Ok(response) if !response.success => {
                    return Err(Error::Protocol(
                        "push answered success=false with a 2xx status".to_owned(),
                    ))
                }
                Ok(response) => {
                    results.extend(response.results);
                    timestamp = response.timestamp;
                }
                Err(TransportError::Refused {
                    status: 413,
                    code,
                    message,
                }) => {
                    self.push_limit
                        .set(self.push_limit.get().refused(part, &code));
                    match part.len() {
                        0 | 1 => results.extend(
                            part.iter()
                                .filter_map(|(c, r)| too_large(c, r, &code, &message)),
                        ),
                        _ => halve(&mut parts, start, end),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let response = PushResponse {
            success: true,
            results,
            timestamp,
        };
        Ok((batch, response))
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
            .filter_map(|c| Some((c.clone(), self.config.policy(c)?.clone())))
            .collect();
        PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.device_id.clone(),
            device_time: Some(self.clock.now_millis()),
            changes,
            policies,
        }
    }

    /// Applies one batch's results in one store update; only a record whose pending change is
    /// still the one pushed is settled (see [`LocalRecord::acknowledge`]).
    async fn acknowledge(
        &self,
        batch: &[(String, LocalRecord)],
        response: &PushResponse,
        report: &mut SyncReport,
        done: &mut super::Settled,
    ) -> Result<()> {
        let (results, timestamp) = (&response.results, &response.timestamp);
        let by_key: HashMap<Key, &ChangeResult> = results
            .iter()
            .map(|r| ((r.collection.clone(), r.id.clone()), r))
            .collect();
        // Manual conflicts this batch opened, with the server's side of each.
        let mut opened: Vec<(String, ConflictDetail)> = Vec::new();
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
                opened.push((
                    conflict_id.clone(),
                    ConflictDetail {
                        collection: result.collection.clone(),
                        record_id: result.id.clone(),
                        remote: result
                            .record
                            .as_ref()
                            .map_or(Value::Null, |r| (*r.data).clone()),
                        remote_version: result.version,
                        strategy: Strategy::Manual,
                        created_at: timestamp.to_owned(),
                    },
                ));
            }
        }
        let meta = [self.hlc_meta()];
        let now = self.clock.now_millis();
        // The batch was read from the store: its records need not be read again unless they
        // changed meanwhile. The store may call the closure twice for a record (see
        // `update_read`), so it only decides; what changed is taken from the rows written.
        // Per key: whether a result settled it, and whether its row changed.
        let mut outcome: HashMap<Key, (bool, bool)> = HashMap::with_capacity(batch.len());
        let mut settle = |key: &Key, existing: Option<LocalRecord>| {
            let (Some(record), Some(result)) = (existing.clone(), by_key.get(key)) else {
                outcome.insert(key.clone(), (false, false));
                return existing;
            };
            let next = record.acknowledge(result, now);
            outcome.insert(key.clone(), (true, next != existing));
            next
        };
        let written = if opened.is_empty() {
            self.store.update_read(batch, &meta, &mut settle).await?
        } else {
            let keys: Vec<Key> = batch
                .iter()
                .map(|(c, r)| (c.clone(), r.id.clone()))
                .collect();
            let mut record_opened = |map: &mut ConflictMap| {
                for (id, opened) in &opened {
                    // An earlier conflict of this record was superseded by this change (the
                    // record was edited instead of resolved; the server closed it).
                    map.retain(|_, held| {
                        detail_of(held).is_none_or(|d| {
                            (d.collection.as_str(), d.record_id.as_str())
                                != (opened.collection.as_str(), opened.record_id.as_str())
                        })
                    });
                    map.insert(id.clone(), detail_value(opened.clone())?);
                }
                Ok(true)
            };
            self.update_with_conflicts(&keys, &meta, &mut record_opened, &mut settle)
                .await?
        };
        let mut events = Vec::new();
        // Status moves: the batch was read from the outbox (`UNSYNCED`), and an edit since keeps
        // a record `UNSYNCED`.
        let mut moves = Vec::with_capacity(batch.len());
        for ((collection, record), next) in batch.iter().zip(written) {
            let key = (collection.clone(), record.id.clone());
            let (acknowledged, changed) = outcome.get(&key).copied().unwrap_or_default();
            if acknowledged {
                let now = next.as_ref().map_or(SyncStatus::Synced, |r| r.sync.status);
                moves.push((SyncStatus::Unsynced, now));
            }
            if let Some(version) = next
                .as_ref()
                .filter(|_| acknowledged)
                .as_ref()
                .filter(|r| r.pending.is_none())
                .and_then(|r| r.sync.version)
            {
                done.insert(key.clone(), version);
            }
            if changed {
                events.push(RecordEvent {
                    collection: key.0,
                    id: key.1,
                    record: next,
                });
            }
        }
        // `pending` goes down batch by batch, so a long push shows its progress.
        self.moved(&moves);
        self.emit_records(&events);
        Ok(())
    }
}

/// The result of a change the server refused to take even alone (`code`, `message`: its 413).
fn too_large(
    collection: &str,
    record: &LocalRecord,
    code: &str,
    message: &str,
) -> Option<ChangeResult> {
    let pending = record.pending.as_ref()?;
    let mut result = ChangeResult::new(
        collection,
        record.id.as_str(),
        pending.change_id.as_str(),
        ResultStatus::Rejected,
    );
    result.reason = Some(code.to_owned());
    result.message = Some(format!(
        "the server refused this change even alone: {message}"
    ));
    Some(result)
}
