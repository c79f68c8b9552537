//! The server's side of each open manual conflict, kept in one meta entry, and how it is kept
//! true: every writer edits it in a store update that commits only if no other writer (another
//! tab's resolution, a pull's refresh) changed it since it was read, and each cycle closes the
//! conflicts the server no longer holds open.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Engine, RecordEvent, META_CONFLICTS};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::protocol::ServerRecord;
use crate::record::{LocalRecord, SyncStatus};
use crate::store::{Key, LocalStore, UpdateFn};
use crate::transport::Transport;
use crate::Strategy;

/// How often an edit of the conflict details is tried again after another writer changed them
/// between its read and its write. Each retry follows a commit of that other writer, so only a
/// writer that keeps losing to a steady stream of others runs out.
const EDIT_TRIES: usize = 8;

/// What the engine remembers of an open conflict beyond the local record: the server's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConflictDetail {
    pub(super) collection: String,
    pub(super) record_id: String,
    pub(super) remote: Value,
    #[serde(default)]
    pub(super) remote_version: Option<u64>,
    pub(super) strategy: Strategy,
    pub(super) created_at: String,
}

/// Open conflicts' details by id, kept in one meta entry: a JSON object whose values are
/// [`ConflictDetail`]s, each decoded when it is read ([`detail`]), so a damaged one loses only
/// itself.
pub(super) type ConflictMap = Map<String, Value>;

/// The detail of conflict `id` in `map`.
pub(super) fn detail(map: &ConflictMap, id: &str) -> Option<ConflictDetail> {
    map.get(id).and_then(detail_of)
}

/// A detail as the map keeps it, decoded; `None` when damaged.
pub(super) fn detail_of(value: &Value) -> Option<ConflictDetail> {
    serde_json::from_value(value.clone()).ok()
}

/// `detail` as the JSON value the map keeps.
pub(super) fn detail_value(detail: ConflictDetail) -> Result<Value> {
    serde_json::to_value(detail).map_err(|e| Error::Protocol(e.to_string()))
}

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    pub(super) async fn conflict_map(&self) -> Result<ConflictMap> {
        Ok(match self.store.meta(META_CONFLICTS).await? {
            Some(Value::Object(map)) => map,
            _ => ConflictMap::new(),
        })
    }

    /// One store update of `keys` (by `f`) with `meta` and the conflict details as `edit` leaves
    /// them, committed only while the details still hold what `edit` was given; when another
    /// writer changed them in between, they are read again and `edit` and `f` run again.
    /// `edit` says whether it changed anything: when it did not, the details are not written.
    pub(super) async fn update_with_conflicts(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        edit: &mut dyn FnMut(&mut ConflictMap) -> Result<bool>,
        f: &mut UpdateFn<'_>,
    ) -> Result<Vec<Option<LocalRecord>>> {
        for _ in 0..EDIT_TRIES {
            let held = self
                .store
                .meta(META_CONFLICTS)
                .await?
                .unwrap_or(Value::Null);
            let mut map = match &held {
                Value::Object(map) => map.clone(),
                _ => ConflictMap::new(),
            };
            let mut meta = meta.to_vec();
            if edit(&mut map)? {
                meta.push((META_CONFLICTS, Value::Object(map)));
            } else if keys.is_empty() && meta.is_empty() {
                return Ok(Vec::new());
            }
            let expect = [(META_CONFLICTS, held)];
            if let Some(written) = self.store.update_if(&expect, false, keys, &meta, f).await? {
                return Ok(written);
            }
        }
        Err(Error::Protocol(format!(
            "the open conflicts' details changed under each of {EDIT_TRIES} tries to update them"
        )))
    }

    /// Records `server` as the server's side of each open conflict `id` listed, where it is
    /// newer than the side the conflict holds (a pull brought it, or a resolution was refused
    /// as outdated), so that [`Engine::conflicts`] shows what a choice would be made against.
    /// A conflict closed meanwhile is not brought back.
    pub(super) async fn refresh_remotes(&self, found: Vec<(String, ServerRecord)>) -> Result<()> {
        let mut edit = |details: &mut ConflictMap| {
            let mut changed = false;
            for (id, server) in &found {
                let Some(mut held) = detail(details, id) else {
                    continue;
                };
                if held.remote_version.is_some_and(|v| v >= server.version) {
                    continue;
                }
                held.remote = if server.deleted {
                    Value::Null
                } else {
                    (*server.data).clone()
                };
                held.remote_version = Some(server.version);
                details.insert(id.clone(), detail_value(held)?);
                changed = true;
            }
            Ok(changed)
        };
        self.update_with_conflicts(&[], &[], &mut edit, &mut |_, r| r)
            .await
            .map(drop)
    }

    /// Stores `server` as the outcome of conflict `id` on record `key`, which the server has
    /// closed, and forgets the conflict's details. The record becomes `SYNCED` with it while it
    /// still holds that conflict; an edit made since stays pending, based on `server`'s version.
    pub(super) async fn settle_conflict(
        &self,
        id: &str,
        key: Key,
        server: ServerRecord,
    ) -> Result<Option<LocalRecord>> {
        self.hlc.borrow_mut().observe(&server.hlc);
        let meta = [self.hlc_meta()];
        let now = self.clock.now_millis();
        let mut forget = |details: &mut ConflictMap| Ok(details.remove(id).is_some());
        let written = self
            .update_with_conflicts(
                std::slice::from_ref(&key),
                &meta,
                &mut forget,
                &mut |_, current| {
                    let Some(mut current) = current else {
                        return LocalRecord::from_server(&server, now);
                    };
                    if conflict_of(&current) == Some(id) {
                        return LocalRecord::from_server(&server, now);
                    }
                    // Edited again meanwhile: the edit continues from the resolved version.
                    if let Some(p) = current.pending.as_mut() {
                        p.base_version = Some(server.version);
                    }
                    current.sync.version = Some(server.version);
                    Some(current)
                },
            )
            .await?;
        let stored = written.into_iter().next().flatten();
        self.emit_records(&[RecordEvent {
            collection: key.0,
            id: key.1,
            record: stored.clone(),
        }]);
        Ok(stored)
    }

    /// The record of a conflict the server has closed, as the server holds it now.
    pub(super) async fn closed_record(&self, collection: &str, id: &str) -> Result<ServerRecord> {
        self.transport
            .record(collection, id)
            .await?
            .ok_or_else(|| Error::Protocol("a closed conflict's record is missing".into()))
    }

    /// The end of a cycle: every record this device holds in `CONFLICT` whose conflict the
    /// server no longer lists as open (another program resolved it through the API) takes the
    /// server's version, and details of conflicts no record holds any more are dropped. Runs
    /// only while a record is in `CONFLICT`, and once after the engine opens (details left by
    /// an earlier version of the engine), so a cycle without conflicts reads nothing more.
    pub(super) async fn reconcile_conflicts(&self) -> Result<()> {
        let conflicts = self.status.borrow().conflicts;
        if conflicts == 0 && !self.stray_details.get() {
            return Ok(());
        }
        let held: Vec<(Key, String)> = match conflicts {
            0 => Vec::new(),
            _ => self
                .store
                .unsynced(None)
                .await?
                .into_iter()
                .filter_map(|(collection, record)| {
                    let id = conflict_of(&record)?.to_owned();
                    Some(((collection, record.id), id))
                })
                .collect(),
        };
        if !held.is_empty() {
            let open: HashSet<String> = self
                .transport
                .open_conflicts(&self.device_id)
                .await?
                .into_iter()
                .collect();
            for (key, id) in held.iter().filter(|(_, id)| !open.contains(id)) {
                let server = self.closed_record(&key.0, &key.1).await?;
                self.settle_conflict(id, key.clone(), server).await?;
            }
        }
        let kept: HashSet<&str> = held.iter().map(|(_, id)| id.as_str()).collect();
        let mut prune = |details: &mut ConflictMap| {
            let before = details.len();
            details.retain(|id, _| kept.contains(id.as_str()));
            Ok(details.len() != before)
        };
        self.update_with_conflicts(&[], &[], &mut prune, &mut |_, r| r)
            .await?;
        self.stray_details.set(false);
        // (The cycle counts the status again after this.)
        Ok(())
    }
}

/// The open conflict `record` is held in, if it is in `CONFLICT`.
pub(super) fn conflict_of(record: &LocalRecord) -> Option<&str> {
    if record.sync.status != SyncStatus::Conflict {
        return None;
    }
    record.pending.as_ref()?.note.as_deref()
}
