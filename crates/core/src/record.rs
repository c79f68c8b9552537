//! A record as the device keeps it: the app's data, its `_sync` metadata and at most one pending
//! change, plus the pure rules for local writes, push acknowledgements and pulled versions.
//!
//! Invariants the rules keep:
//! - a record is `UNSYNCED` exactly when it has a pending change that should be pushed;
//! - repeated edits before a push coalesce into one pending change (fields changed = union,
//!   base version = the version the first edit started from, a fresh `changeId` per edit);
//! - an acknowledgement for an older `changeId` never clears a newer local edit;
//! - a pulled server version never overwrites a record with a pending change.

mod short;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hlc::Hlc;
use crate::lazy_json::Fields;
use crate::protocol::names::deserialize_by_name;
use crate::protocol::{Change, ChangeResult, ResultStatus, ServerRecord};
use crate::Winner;

/// Where a record stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncStatus {
    /// The server has this exact version.
    Synced,
    /// A local change waits to be pushed.
    Unsynced,
    /// A manual conflict waits for a person (see the conflict log).
    Conflict,
    /// The server refused the last change; editing the record again retries.
    Rejected,
}

deserialize_by_name!(
    SyncStatus,
    [
        Synced = "SYNCED",
        Unsynced = "UNSYNCED",
        Conflict = "CONFLICT",
        Rejected = "REJECTED"
    ]
);

/// The `_sync` metadata every record read by the app carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMeta {
    /// Where the record stands.
    pub status: SyncStatus,
    /// Last server version this device knows of; absent before the first successful push or pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Local time of the last change to this record, in milliseconds since the Unix epoch.
    pub updated_at: u64,
}

/// The change still to be pushed for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Idempotency key of the latest coalesced edit.
    pub change_id: String,
    /// The server version the first of the coalesced edits started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<u64>,
    /// Stamp of the latest coalesced edit.
    pub hlc: Hlc,
    /// Union of the top-level fields the coalesced edits changed; empty = the whole record.
    pub changed_fields: Vec<String>,
    /// Outbox order: position of the first coalesced edit (oldest pushes first).
    pub seq: u64,
    /// Why the server refused it (status `REJECTED`), or the open conflict's id (`CONFLICT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A record as stored on the device; tombstones (`deleted`) stay until the server has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRecord {
    /// Record id.
    pub id: String,
    /// The app's fields (without `id` and `_sync`), kept as JSON text until read.
    pub data: Fields,
    /// True for a local or pulled delete not yet acknowledged.
    #[serde(default)]
    pub deleted: bool,
    /// Sync metadata.
    pub sync: SyncMeta,
    /// The change waiting for the server, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// Identity of one local edit: its idempotency key, stamp, wall time and outbox position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Fresh idempotency key.
    pub change_id: String,
    /// Fresh stamp from the device's clock.
    pub hlc: Hlc,
    /// Wall time, ms since the Unix epoch.
    pub now: u64,
    /// Next outbox position.
    pub seq: u64,
}

impl LocalRecord {
    /// The record after the app writes `data` (a delete when `data` is `None`) over `existing`.
    pub fn write(
        existing: Option<LocalRecord>,
        id: &str,
        data: Option<Map<String, Value>>,
        edit: Edit,
    ) -> Self {
        let deleted = data.is_none();
        let data = data.unwrap_or_default();
        let Some(old) = existing else {
            let (sync, pending) = Self::next_state(None, Vec::new, edit);
            return Self {
                id: id.to_owned(),
                data: data.into(),
                deleted,
                sync,
                pending: Some(pending),
            };
        };
        let (sync, pending) = Self::next_state(
            Some((&old.sync, old.pending.as_ref())),
            || changed_fields(&old.data, &data),
            edit,
        );
        Self {
            id: old.id,
            data: data.into(),
            deleted,
            sync,
            pending: Some(pending),
        }
    }

    /// The metadata half of [`LocalRecord::write`]: the `_sync` metadata and pending change after
    /// an edit of a record whose current metadata is `old` (`None`: a new record).
    ///
    /// `changed` yields the top-level fields the edit changed; it is only called when the result
    /// needs it (not for a new record, nor when the pending change already covers the whole
    /// record), so a store can skip decoding the data on those paths.
    pub fn next_state(
        old: Option<(&SyncMeta, Option<&Pending>)>,
        changed: impl FnOnce() -> Vec<String>,
        edit: Edit,
    ) -> (SyncMeta, Pending) {
        let Some((old_sync, old_pending)) = old else {
            let pending = Pending {
                change_id: edit.change_id,
                base_version: None,
                hlc: edit.hlc,
                changed_fields: Vec::new(),
                seq: edit.seq,
                note: None,
            };
            let sync = SyncMeta {
                status: SyncStatus::Unsynced,
                version: None,
                updated_at: edit.now,
            };
            return (sync, pending);
        };
        let (changed, base_version, seq) = match old_pending {
            // An empty list already means "whole record"; it absorbs everything.
            Some(p) if p.changed_fields.is_empty() => (Vec::new(), p.base_version, p.seq),
            Some(p) => (union(&p.changed_fields, changed()), p.base_version, p.seq),
            None => (changed(), old_sync.version, edit.seq),
        };
        let pending = Pending {
            change_id: edit.change_id,
            base_version,
            hlc: edit.hlc,
            changed_fields: changed,
            seq,
            note: None,
        };
        let sync = SyncMeta {
            status: SyncStatus::Unsynced,
            version: old_sync.version,
            updated_at: edit.now,
        };
        (sync, pending)
    }

    /// The change to push for this record, if it has one ready (status `UNSYNCED`).
    pub fn to_change(&self, device_id: &str) -> Option<Change> {
        let pending = self
            .pending
            .as_ref()
            .filter(|_| self.sync.status == SyncStatus::Unsynced)?;
        Some(Change {
            id: self.id.clone(),
            change_id: pending.change_id.clone(),
            base_version: pending.base_version,
            hlc: pending.hlc.clone(),
            device_id: device_id.to_owned(),
            deleted: self.deleted,
            changed_fields: pending.changed_fields.clone(),
            data: if self.deleted {
                Value::Null.into()
            } else {
                self.data.to_value()
            },
        })
    }

    /// Applies the server's result for a pushed change; `None` means "remove the record"
    /// (an acknowledged tombstone).
    ///
    /// When the record was edited again while the push was in flight (its pending `changeId`
    /// differs from the result's), the newer edit stays pending, now based on the version the
    /// server assigned, so it is pushed next as a continuation rather than a conflict.
    pub fn acknowledge(mut self, result: &ChangeResult, now: u64) -> Option<Self> {
        let Some(pending) = self.pending.as_mut() else {
            return Some(self);
        };
        let server_version = result.version.or(result.record.as_ref().map(|r| r.version));
        // A duplicate repeats the change's first outcome; a still-open manual conflict announced
        // by a lost answer is that conflict, not an acknowledgement.
        let open_manual = result.is_open_manual_conflict();
        let status = match result.status {
            ResultStatus::Skipped if open_manual => ResultStatus::Conflict,
            status => status,
        };
        if pending.change_id != result.change_id {
            // Edited again while this change was in flight. Only when the server took the
            // pushed data as sent may the newer edit continue from the version it produced;
            // after a lost or merged conflict it never saw the server's data, so it keeps its
            // base and meets that version through the strategy on the next push.
            let taken_as_sent = match status {
                ResultStatus::Applied => true,
                ResultStatus::Skipped | ResultStatus::Conflict => {
                    result.winner.is_none_or(|w| w == Winner::Client) && !open_manual
                }
                ResultStatus::Rejected => false,
            };
            if let (true, Some(v)) = (taken_as_sent, server_version) {
                pending.base_version = Some(v);
                self.sync.version = Some(v);
            }
            return Some(self);
        }
        match status {
            ResultStatus::Rejected => {
                pending.note = Some(
                    result
                        .reason
                        .clone()
                        .unwrap_or_else(|| "rejected".to_owned()),
                );
                self.sync.status = SyncStatus::Rejected;
                Some(self)
            }
            ResultStatus::Conflict if open_manual => {
                pending.note = result.conflict_id.clone();
                self.sync.status = SyncStatus::Conflict;
                Some(self)
            }
            // The server's copy is the truth when it sends one: a field policy or a conflict may
            // have changed the data.
            _ => match &result.record {
                Some(record) => Self::from_server(record, now),
                None => {
                    self.pending = None;
                    self.sync.status = SyncStatus::Synced;
                    self.sync.version = server_version.or(self.sync.version);
                    (!self.deleted).then_some(self)
                }
            },
        }
    }

    /// The record after pulling `server` over `local`; `None` means "remove the record".
    /// A record with a pending change (any status but `SYNCED`) is left exactly as it is.
    /// `server` is taken, so its data becomes the record's without a copy.
    pub fn apply_pulled(local: Option<Self>, server: ServerRecord, now: u64) -> Option<Self> {
        if Self::keeps_local(local.as_ref(), &server) {
            return local;
        }
        (!server.deleted)
            .then(|| Self::synced(server.id, server.data.into_fields(), server.version, now))
    }

    /// Whether pulling `server` leaves `local` exactly as it is (see
    /// [`LocalRecord::apply_pulled`]).
    pub fn keeps_local(local: Option<&Self>, server: &ServerRecord) -> bool {
        let Some(local) = local else {
            return false;
        };
        local.pending.is_some()
            || local.sync.version.is_some_and(|v| v > server.version)
            // The same version with other data happens when a push's answer was lost and the
            // retry came back `skipped: duplicate` without the record (the change may have lost
            // a conflict, or a field policy changed it): the server's copy is the truth.
            || (local.sync.version == Some(server.version)
                && !local.deleted
                && !server.deleted
                && server.data.as_object() == Some(&local.data))
    }

    /// A synced record holding `server`'s version; `None` for a tombstone.
    pub fn from_server(server: &ServerRecord, now: u64) -> Option<Self> {
        (!server.deleted).then(|| {
            let data = server.data.clone().into_fields();
            Self::synced(server.id.clone(), data, server.version, now)
        })
    }

    /// A synced record with `data` at `version`.
    fn synced(id: String, data: Fields, version: u64, now: u64) -> Self {
        let sync = SyncMeta {
            status: SyncStatus::Synced,
            version: Some(version),
            updated_at: now,
        };
        Self {
            id,
            data,
            deleted: false,
            sync,
            pending: None,
        }
    }
}

/// Top-level fields whose values differ between `old` and `new` (set, changed or removed).
pub fn changed_fields(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let mut fields: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

fn union(a: &[String], b: Vec<String>) -> Vec<String> {
    let mut all: Vec<String> = a.iter().cloned().chain(b).collect();
    all.sort_unstable();
    all.dedup();
    all
}
