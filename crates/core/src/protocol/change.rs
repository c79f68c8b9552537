//! One change to one record, as pushed by a device, and one record version, as served back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hlc::Hlc;
use crate::lazy_json::LazyJson;

/// Longest record id accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Largest record accepted, as serialized JSON bytes (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A local write on its way to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Record id, chosen by the client (at most [`MAX_ID_LEN`] bytes).
    pub id: String,
    /// Idempotency key: a change with a `changeId` the server has seen is not applied again.
    pub change_id: String,
    /// The server version this edit started from; absent for a record the device created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<u64>,
    /// When the write happened, as a hybrid-logical-clock stamp of the writing device.
    pub hlc: Hlc,
    /// The device that wrote the change.
    pub device_id: String,
    /// True for a delete (a tombstone).
    #[serde(default)]
    pub deleted: bool,
    /// Top-level fields this change set or removed; empty means "the whole record".
    #[serde(default)]
    pub changed_fields: Vec<String>,
    /// The full record after the change (a JSON object); `null` for a delete. Kept as its JSON
    /// text until read: a device sends a record's stored fields on as they were read.
    #[serde(default)]
    pub data: LazyJson<Value>,
}

/// One version of one record, as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRecord {
    /// The collection the record belongs to.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Per-record version, 1 for the first accepted write, +1 for each later one.
    pub version: u64,
    /// The record (a JSON object); `null` once deleted. Kept as its JSON text until read.
    pub data: LazyJson<Value>,
    /// True for a tombstone.
    #[serde(default)]
    pub deleted: bool,
    /// Stamp of the write that produced this version.
    pub hlc: Hlc,
    /// Device that produced this version.
    pub device_id: String,
    /// Server time of this version, RFC 3339.
    pub updated_at: String,
}
