//! `POST /api/sync/push`: a batch of local changes and one result per change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::change::{Change, ServerRecord};
use super::names::deserialize_by_name;
use crate::conflict::{CollectionPolicy, Strategy, Winner};

/// Most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 1000;

/// A batch of changes grouped by collection.
///
/// `C` and `P` are the item types: clients send [`Change`] and [`CollectionPolicy`]; a server may
/// read them as `serde_json::Value` first so one malformed item is rejected alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest<C = Change, P = CollectionPolicy> {
    /// Protocol version the client speaks.
    #[serde(default = "super::default_protocol_version")]
    pub protocol_version: u32,
    /// The pushing device.
    pub device_id: String,
    /// The device's wall clock when it sent the push, in milliseconds since the Unix epoch: the
    /// server moves the stamps of a device whose clock is off (see [`crate::skew`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_time: Option<u64>,
    /// Changes per collection name, oldest first within each.
    pub changes: BTreeMap<String, Vec<C>>,
    /// Conflict policy per collection; a collection not named here uses `newest_wins`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, P>,
}

/// What happened to each change of a push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// False only when the request as a whole was refused.
    pub success: bool,
    /// One result per pushed change, in request order (collections in name order).
    pub results: Vec<ChangeResult>,
    /// Server time of the response, RFC 3339.
    pub timestamp: String,
}

/// The outcome of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// Written as a new version.
    Applied,
    /// Not written: see `reason` (`duplicate`: already processed; `stale`: already superseded).
    Skipped,
    /// Refused: see `reason` (`invalid_id`, `payload_too_large`, `unknown_strategy`, …).
    Rejected,
    /// The record had moved on since `baseVersion`; see `winner` and `record`.
    Conflict,
}

deserialize_by_name!(
    ResultStatus,
    [
        Applied = "applied",
        Skipped = "skipped",
        Rejected = "rejected",
        Conflict = "conflict"
    ]
);

/// The result of one pushed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeResult {
    /// Collection of the change.
    pub collection: String,
    /// Record id of the change (empty when the item had none).
    pub id: String,
    /// The change's idempotency key (empty when the item had none).
    pub change_id: String,
    /// What happened.
    pub status: ResultStatus,
    /// The record's version after this change (applied, conflict, duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Why it was skipped or rejected, as a stable snake_case code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The strategy that decided a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Whose version won a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<Winner>,
    /// Id of the conflict-log entry recording the conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_id: Option<String>,
    /// The record as the server now holds it (for conflicts: the winning record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<ServerRecord>,
}

impl ChangeResult {
    /// A result with only its identity and `status` set.
    pub fn new(
        collection: impl Into<String>,
        id: impl Into<String>,
        change_id: impl Into<String>,
        status: ResultStatus,
    ) -> Self {
        Self {
            collection: collection.into(),
            id: id.into(),
            change_id: change_id.into(),
            status,
            version: None,
            reason: None,
            message: None,
            strategy: None,
            winner: None,
            conflict_id: None,
            record: None,
        }
    }

    /// True when this result announces a manual conflict still waiting for a person: a
    /// `conflict`, or a `skipped` duplicate repeating one (its first answer was lost).
    pub fn is_open_manual_conflict(&self) -> bool {
        matches!(self.status, ResultStatus::Conflict | ResultStatus::Skipped)
            && self.conflict_id.is_some()
            && self.strategy == Some(Strategy::Manual)
            && self.winner == Some(Winner::Server)
    }
}
