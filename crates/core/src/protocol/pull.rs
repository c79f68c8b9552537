//! `POST /api/sync/pull`: changes after a cursor, in pages.

use serde::{Deserialize, Serialize};

use super::change::ServerRecord;

/// Page size when a pull names none.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
/// Largest page a pull may ask for.
pub const MAX_PULL_LIMIT: u32 = 1000;

/// Asks for the records changed after `cursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    /// Protocol version the client speaks.
    #[serde(default = "super::default_protocol_version")]
    pub protocol_version: u32,
    /// The pulling device.
    pub device_id: String,
    /// Opaque position returned by the previous pull; absent for a first pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, default [`DEFAULT_PULL_LIMIT`], at most [`MAX_PULL_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only these collections; absent for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<String>>,
    /// For a first pull without a cursor: only records changed at or after this RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_timestamp: Option<String>,
}

/// One page of changes, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse {
    /// The latest version of each record changed after the request's cursor, in change order.
    pub changes: Vec<ServerRecord>,
    /// Cursor to send with the next pull.
    pub cursor: String,
    /// True when more changes follow this page.
    pub has_more: bool,
    /// Server time of the response, RFC 3339.
    pub timestamp: String,
}
