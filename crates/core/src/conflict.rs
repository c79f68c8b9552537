//! Conflict rules: how a pushed change meets the record the server holds.
//!
//! A change *conflicts* when the record's current version is not the change's `baseVersion`,
//! unless every version since that base was written by the same device (its earlier push
//! succeeded but the response was lost, and the user edited again): a device never conflicts
//! with itself. The collection's [`Strategy`] then decides; the default is
//! [`Strategy::NewestWins`]: the greater hybrid-logical-clock stamp wins, ties broken by device id.
//! Per-field [`FieldPolicy`]s (e.g. "keep the higher value") are applied to every write, with or
//! without a conflict, so client and server reach the same data. [`decide`] is pure: the server
//! persists what it returns and logs every [`ConflictNote`].

mod field_policy;
mod merge;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hlc::Hlc;
use crate::protocol::names::deserialize_by_name;
use crate::protocol::Change;

pub use field_policy::{apply_field_policies, FieldPolicy};

/// How a conflict on a collection is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The server's version stays.
    ServerWins,
    /// The pushed change replaces the server's version.
    ClientWins,
    /// The write with the greater HLC stamp wins (ties: greater device id).
    #[default]
    NewestWins,
    /// Fields changed on one side only are combined; fields changed on both: newest wins per field.
    Merge,
    /// The server keeps its version and opens a conflict for the client to resolve.
    Manual,
}

deserialize_by_name!(
    Strategy,
    [
        ServerWins = "server_wins",
        ClientWins = "client_wins",
        NewestWins = "newest_wins",
        Merge = "merge",
        Manual = "manual"
    ]
);

/// Whose data a conflict ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    /// The version the server held.
    Server,
    /// The pushed change.
    Client,
    /// A combination of both.
    Merged,
}

deserialize_by_name!(
    Winner,
    [Server = "server", Client = "client", Merged = "merged"]
);

/// A collection's conflict strategy plus its per-field policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionPolicy {
    /// Strategy for whole-record conflicts.
    #[serde(default)]
    pub strategy: Strategy,
    /// Policies for single top-level fields, applied to every write.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldPolicy>,
}

/// When and by what write one top-level field last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldStamp {
    /// The record version that last changed the field.
    pub version: u64,
    /// The stamp of the write that last changed the field.
    pub hlc: Hlc,
}

/// Everything the rules need to know about the record the server holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordState {
    /// Current version (1 for the first write).
    pub version: u64,
    /// Current data (a JSON object), `null` when deleted.
    pub data: Value,
    /// True for a tombstone.
    pub deleted: bool,
    /// Stamp of the write that produced this version.
    pub hlc: Hlc,
    /// Device that produced this version.
    pub device_id: String,
    /// Base version of the first of the consecutive writes `device_id` made up to now: a change
    /// from that device based on this version or later does not conflict.
    pub run_base: u64,
    /// Last change of each top-level field, for `merge`.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldStamp>,
}

/// A conflict and how it was resolved; the server records one in its conflict log.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictNote {
    /// The strategy that decided.
    pub strategy: Strategy,
    /// Whose data won.
    pub winner: Winner,
    /// True when the conflict stays open for manual resolution.
    pub open: bool,
}

/// What to do with a pushed change.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Store `state` as the record's new version.
    Write {
        /// The new record state (its version is the previous one plus one).
        state: RecordState,
        /// Present when the change conflicted.
        conflict: Option<ConflictNote>,
    },
    /// Keep the server's version unchanged; the change conflicted and lost (or awaits a person).
    Keep {
        /// How the conflict was decided.
        conflict: ConflictNote,
    },
}

/// True when `change` was made from an older version than `current` by another writer.
pub fn conflicts(current: &RecordState, change: &Change) -> bool {
    let base = change.base_version.unwrap_or(0);
    if base == current.version {
        return false;
    }
    let own_continuation = change.device_id == current.device_id
        && base >= current.run_base
        && base <= current.version;
    !own_continuation
}

/// Decides how `change` meets `current` (absent for a record the server has never seen).
pub fn decide(
    current: Option<&RecordState>,
    change: &Change,
    policy: &CollectionPolicy,
) -> Decision {
    let Some(current) = current else {
        let data = client_data(change);
        return Decision::Write {
            state: next_state(None, change, data, 0),
            conflict: None,
        };
    };
    if !conflicts(current, change) {
        let data = apply_field_policies(&policy.fields, &current.data, &client_data(change));
        let run_base = if change.device_id == current.device_id {
            current.run_base.min(change.base_version.unwrap_or(0))
        } else {
            change.base_version.unwrap_or(0)
        };
        return Decision::Write {
            state: next_state(Some(current), change, data, run_base),
            conflict: None,
        };
    }
    let client_is_newer = change.hlc > current.hlc;
    let (winner, data) = match policy.strategy {
        Strategy::Manual => {
            let note = ConflictNote {
                strategy: Strategy::Manual,
                winner: Winner::Server,
                open: true,
            };
            return Decision::Keep { conflict: note };
        }
        Strategy::ServerWins => (Winner::Server, current.data.clone()),
        Strategy::ClientWins => (Winner::Client, client_data(change)),
        Strategy::NewestWins if client_is_newer => (Winner::Client, client_data(change)),
        Strategy::NewestWins => (Winner::Server, current.data.clone()),
        Strategy::Merge if current.deleted || change.deleted => {
            if client_is_newer {
                (Winner::Client, client_data(change))
            } else {
                (Winner::Server, current.data.clone())
            }
        }
        Strategy::Merge => (Winner::Merged, merge::merge(current, change)),
    };
    // Field policies see both sides: a higher score survives even when the other side won.
    let data = apply_field_policies(&policy.fields, &client_data(change), &data);
    let data = apply_field_policies(&policy.fields, &current.data, &data);
    let note = ConflictNote {
        strategy: policy.strategy,
        winner,
        open: false,
    };
    // Identical data is kept as is unless the client won: then its newer stamp must be recorded
    // (two concurrent deletes, say), or a later write with an older stamp could beat it.
    if data == current.data && winner != Winner::Client {
        return Decision::Keep {
            conflict: ConflictNote {
                winner: Winner::Server,
                ..note
            },
        };
    }
    let winner = if winner == Winner::Server {
        Winner::Merged
    } else {
        winner
    };
    // The device's write now includes the server's version: later edits from it continue from here.
    let state = next_state(Some(current), change, data, current.version);
    Decision::Write {
        state,
        conflict: Some(ConflictNote { winner, ..note }),
    }
}

/// The record a change asks for: its data, or `null` for a delete.
fn client_data(change: &Change) -> Value {
    if change.deleted {
        Value::Null
    } else {
        (*change.data).clone()
    }
}

/// The state after writing `data` over `current` on behalf of `change`.
fn next_state(
    current: Option<&RecordState>,
    change: &Change,
    data: Value,
    run_base: u64,
) -> RecordState {
    let version = current.map_or(1, |c| c.version + 1);
    let mut fields = current.map(|c| c.fields.clone()).unwrap_or_default();
    let empty = serde_json::Map::new();
    let old = current.and_then(|c| c.data.as_object()).unwrap_or(&empty);
    let new = data.as_object().unwrap_or(&empty);
    for key in old.keys().chain(new.keys()) {
        if old.get(key) != new.get(key) {
            fields.insert(
                key.clone(),
                FieldStamp {
                    version,
                    hlc: change.hlc.clone(),
                },
            );
        }
    }
    let deleted = data.is_null();
    RecordState {
        version,
        data,
        deleted,
        hlc: change.hlc.clone(),
        device_id: change.device_id.clone(),
        run_base,
        fields,
    }
}
