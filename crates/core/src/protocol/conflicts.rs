//! `GET /api/sync/conflicts` and `POST /api/sync/resolve-conflict`: the conflict log.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::change::{Change, ServerRecord};
use super::names::deserialize_by_name;
use crate::conflict::{Strategy, Winner};
use crate::Hlc;

/// Where a conflict-log entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    /// A `manual` conflict waiting for `resolve-conflict`.
    Open,
    /// A `manual` conflict closed by `resolve-conflict`.
    Resolved,
    /// Decided by the collection's strategy when it happened; kept for the record.
    Auto,
    /// A `manual` conflict closed because the device whose change opened it pushed a newer
    /// change of the record (it was edited instead of resolved); that change was decided anew.
    Superseded,
}

deserialize_by_name!(
    ConflictStatus,
    [
        Open = "open",
        Resolved = "resolved",
        Auto = "auto",
        Superseded = "superseded"
    ]
);

/// One entry of the conflict log: both versions, the strategy and the winner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictEntry {
    /// Conflict id, for `resolve-conflict`.
    pub id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// The strategy that decided (or `manual`).
    pub strategy: Strategy,
    /// Whose data won (for an open conflict: the server's, until resolved).
    pub winner: Winner,
    /// Open, resolved or auto.
    pub status: ConflictStatus,
    /// The version the server held when the change arrived.
    pub server_version: u64,
    /// The data the server held when the change arrived (`null` for a tombstone).
    pub server_data: Value,
    /// The pushed change that conflicted.
    pub client_change: Change,
    /// The stamp the device sent, when the server moved it because the device's clock was off
    /// (see [`crate::skew`]); `client_change.hlc` is the stamp the conflict was decided with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_hlc: Option<Hlc>,
    /// How a resolved conflict was closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// When the conflict happened, RFC 3339.
    pub created_at: String,
    /// When it was resolved, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

/// `GET /api/sync/conflicts` response (with `fields=id`, each entry is `{"id": …}` alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictList<E = ConflictEntry> {
    /// Newest first.
    pub conflicts: Vec<E>,
}

/// The ids of the entries of a [`ConflictList`] read as a JSON value: what a device needs of
/// `GET /api/sync/conflicts?status=open&fields=id`, taken without a decoder of the entry (a
/// server that ignores `fields` answers whole entries, which read the same).
pub fn conflict_ids(list: &Value) -> Vec<String> {
    list["conflicts"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// How a person closed a `manual` conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Keep the server's version.
    Server,
    /// Take the conflicting change's data.
    Client,
    /// Take the `data` sent with the resolution.
    Merged,
}

deserialize_by_name!(
    Resolution,
    [Server = "server", Client = "client", Merged = "merged"]
);

/// `POST /api/sync/resolve-conflict` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveRequest {
    /// The open conflict to close.
    pub conflict_id: String,
    /// Which data wins.
    pub resolution: Resolution,
    /// The merged record (a JSON object); required for `merged`, ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// The record's server version the choice was made against. With `client` or `merged`,
    /// when the record has moved past it the server refuses (`409 conflict_outdated`) and writes
    /// nothing, so a resolution never replaces a version the person did not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_version: Option<u64>,
}

/// `POST /api/sync/resolve-conflict` response. `E` is how the closed conflict is held: a device
/// needs only the record and skips it ([`ResolvedRecord`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveResponse<E = ConflictEntry> {
    /// The closed conflict.
    pub conflict: E,
    /// The record as the server now holds it; for `client` and `merged` a new version that
    /// every device receives on its next pull.
    pub record: ServerRecord,
}

/// A resolve-conflict answer as a device reads it: the record, with the conflict entry skipped
/// (the package need not decode conflict entries, nor the change inside one).
pub type ResolvedRecord = ResolveResponse<serde::de::IgnoredAny>;
