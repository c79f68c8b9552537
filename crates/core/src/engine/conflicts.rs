//! Changes that need a person: open manual conflicts (resolved through the server) and changes
//! the server rejected (fixed by editing again, or discarded).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::conflict_map::{conflict_of, detail};
use super::{Engine, RecordEvent, META_CURSOR, META_PULL_OWN};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::lazy_json::Fields;
use crate::protocol::{Resolution, ResolveRequest};
use crate::record::{LocalRecord, SyncStatus};
use crate::store::{Key, LocalStore};
use crate::transport::{Transport, TransportError};
use crate::Strategy;

/// An open manual conflict: the local change and the server's version it met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenConflict {
    /// Conflict id, for [`Engine::resolve_conflict`].
    pub id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// The local data (`null` for a local delete).
    pub local: Value,
    /// The server's data when the conflict opened (`null` for a tombstone or when unknown).
    pub remote: Value,
    /// The strategy that opened it (`manual`).
    pub strategy: Strategy,
    /// When the server recorded it, RFC 3339.
    pub created_at: String,
}

/// A change the server refused; edit the record again to retry, or discard it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedChange {
    /// The refused change's id, for [`Engine::discard_rejected`].
    pub id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// The server's reason code (`invalid_id`, `payload_too_large`, …).
    pub reason: String,
    /// The refused data (`null` for a delete).
    pub data: Value,
}

/// How a person resolves a manual conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Keep this device's change.
    Local,
    /// Keep the server's version.
    Remote,
    /// Store this data instead of either.
    Merged(Map<String, Value>),
}

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Every open manual conflict on this device.
    pub async fn conflicts(&self) -> Result<Vec<OpenConflict>> {
        let details = self.conflict_map().await?;
        let rows = self.store.unsynced(None).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(collection, record)| {
                let id = conflict_of(&record)?.to_owned();
                let detail = detail(&details, &id);
                Some(OpenConflict {
                    local: data_of(&record),
                    strategy: detail.as_ref().map_or(Strategy::Manual, |d| d.strategy),
                    created_at: detail
                        .as_ref()
                        .map(|d| d.created_at.clone())
                        .unwrap_or_default(),
                    remote: detail.map_or(Value::Null, |d| d.remote),
                    collection,
                    record_id: record.id,
                    id,
                })
            })
            .collect())
    }

    /// Closes conflict `id` on the server with `choice`, then stores the resolved record as
    /// `SYNCED`. Every other device receives it on its next pull. A conflict the server has
    /// already closed (an earlier attempt's answer was lost) ends with the record as the server
    /// holds it.
    pub async fn resolve_conflict(&self, id: &str, choice: Choice) -> Result<LocalRecord> {
        let (collection, record) = self
            .find(SyncStatus::Conflict, |r| conflict_of(r) == Some(id))
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "conflict",
                id: id.to_owned(),
            })?;
        let (resolution, data) = match choice {
            Choice::Local => (Resolution::Client, None),
            Choice::Remote => (Resolution::Server, None),
            Choice::Merged(data) => (Resolution::Merged, Some(Value::Object(data))),
        };
        let request = ResolveRequest {
            conflict_id: id.to_owned(),
            resolution,
            data,
            remote_version: detail(&self.conflict_map().await?, id).and_then(|d| d.remote_version),
        };
        let server = match self.transport.resolve_conflict(&request).await {
            Ok(response) => response.record,
            Err(TransportError::Refused {
                status: 409, code, ..
            }) if code == "conflict_outdated" => {
                // Show the person what the server holds now (a failed fetch leaves it to the
                // next pull), and let them choose again.
                if let Ok(Some(current)) = self.transport.record(&collection, &record.id).await {
                    self.refresh_remotes(vec![(id.to_owned(), current)]).await?;
                }
                return Err(Error::ConflictOutdated { id: id.to_owned() });
            }
            // Closed already: by an earlier attempt whose answer was lost, or by another
            // program. Its outcome is the record as the server holds it now.
            Err(TransportError::Refused {
                status: 409, code, ..
            }) if code == "conflict_already_resolved" => {
                self.closed_record(&collection, &record.id).await?
            }
            Err(e) => return Err(e.into()),
        };
        let tombstone = tombstone(&server.id);
        let stored = self
            .settle_conflict(id, (collection, record.id), server)
            .await?;
        self.refresh_status().await?;
        Ok(stored.unwrap_or(tombstone))
    }

    /// Every change the server refused, with its reason.
    pub async fn rejected(&self) -> Result<Vec<RejectedChange>> {
        let rows = self.store.unsynced(None).await?;
        Ok(rows
            .into_iter()
            .filter(|(_, r)| r.sync.status == SyncStatus::Rejected)
            .filter_map(|(collection, record)| {
                let pending = record.pending.as_ref()?;
                Some(RejectedChange {
                    id: pending.change_id.clone(),
                    collection,
                    record_id: record.id.clone(),
                    reason: pending.note.clone().unwrap_or_default(),
                    data: data_of(&record),
                })
            })
            .collect())
    }

    /// Drops the refused change `id`. A record the server never had disappears; one it has
    /// gets the server's version back: fetched alone when the device is online (the device does
    /// not keep the server's data of a record it changed), else (or when that fails, or a pull
    /// moved on meanwhile) removed locally and fetched again by re-pulling from the start.
    pub async fn discard_rejected(&self, id: &str) -> Result<()> {
        let (collection, record) = self
            .find(SyncStatus::Rejected, |r| {
                r.pending.as_ref().is_some_and(|p| p.change_id == id)
            })
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "rejected change",
                id: id.to_owned(),
            })?;
        let key = (collection.clone(), record.id.clone());
        if record.sync.version.is_some() && self.status.borrow().online {
            if let Some(stored) = self.refetch(&key, id).await? {
                self.emit_records(&[RecordEvent {
                    collection,
                    id: key.1,
                    record: stored,
                }]);
                return self.refresh_status().await;
            }
        }
        // The server's version may be this device's own write: the re-pull must not leave
        // those out.
        let meta: Vec<(&str, Value)> = if record.sync.version.is_some() {
            vec![
                (META_CURSOR, Value::Null),
                (META_PULL_OWN, Value::Bool(true)),
            ]
        } else {
            Vec::new()
        };
        self.store
            .update(std::slice::from_ref(&key), &meta, &mut |_, current| {
                let same = current.as_ref().is_some_and(|c| {
                    c.sync.status == SyncStatus::Rejected
                        && c.pending.as_ref().is_some_and(|p| p.change_id == id)
                });
                if same {
                    None
                } else {
                    current
                }
            })
            .await?;
        self.emit_records(&[RecordEvent {
            collection,
            id: key.1,
            record: None,
        }]);
        self.refresh_status().await
    }

    /// Replaces the record at `key`, while it still holds the refused change `id`, with the
    /// server's version, fetched alone. `Some(what is stored now)` when done; `None` when the
    /// device should re-pull instead: the fetch failed (or found nothing, which only a server
    /// that lost data says), or a pull moved the cursor meanwhile, so a newer version of the
    /// record may have gone by while the refused change still kept it out.
    async fn refetch(&self, key: &Key, id: &str) -> Result<Option<Option<LocalRecord>>> {
        let cursor = self.store.meta(META_CURSOR).await?.unwrap_or(Value::Null);
        let pull_own = self.store.meta(META_PULL_OWN).await?.unwrap_or(Value::Null);
        let Ok(Some(server)) = self.transport.record(&key.0, &key.1).await else {
            return Ok(None);
        };
        self.hlc.borrow_mut().observe(&server.hlc);
        let expected = [(META_CURSOR, cursor), (META_PULL_OWN, pull_own)];
        let now = self.clock.now_millis();
        let written = self
            .store
            .update_if(
                &expected,
                false,
                std::slice::from_ref(key),
                &[self.hlc_meta()],
                &mut |_, current| {
                    // Edited again meanwhile: the edit stays, nothing is left to discard.
                    let same = current.as_ref().is_some_and(|c| {
                        c.sync.status == SyncStatus::Rejected
                            && c.pending.as_ref().is_some_and(|p| p.change_id == id)
                    });
                    if same {
                        LocalRecord::from_server(&server, now)
                    } else {
                        current
                    }
                },
            )
            .await?;
        Ok(written.map(|w| w.into_iter().next().flatten()))
    }

    async fn find(
        &self,
        status: SyncStatus,
        matches: impl Fn(&LocalRecord) -> bool,
    ) -> Result<Option<(String, LocalRecord)>> {
        let rows = self.store.unsynced(None).await?;
        Ok(rows
            .into_iter()
            .find(|(_, r)| r.sync.status == status && matches(r)))
    }
}

fn data_of(record: &LocalRecord) -> Value {
    if record.deleted {
        Value::Null
    } else {
        Value::Object((*record.data).clone())
    }
}

/// What [`Engine::resolve_conflict`] returns when the resolution is a delete.
fn tombstone(id: &str) -> LocalRecord {
    LocalRecord {
        id: id.to_owned(),
        data: Fields::default(),
        deleted: true,
        sync: crate::record::SyncMeta {
            status: SyncStatus::Synced,
            version: None,
            updated_at: 0,
        },
        pending: None,
    }
}
