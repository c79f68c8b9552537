//! `GET /api/sync/status/{deviceId}`: how one device stands with the server.

use serde::{Deserialize, Serialize};

/// A device's sync health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceHealth {
    /// Nothing waits for the device and the user has no open conflicts.
    Ok,
    /// Changes from other devices wait for the device's next pull.
    Behind,
    /// The user has open conflicts to resolve.
    Conflicts,
}

/// `GET /api/sync/status/{deviceId}` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// The device.
    pub device_id: String,
    /// When the server first saw the device, RFC 3339.
    pub first_seen_at: String,
    /// Latest push or pull, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<String>,
    /// Latest push, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_at: Option<String>,
    /// Latest pull, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pull_at: Option<String>,
    /// The cursor the device's last pull returned (what it has acknowledged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_cursor: Option<String>,
    /// Records written by other devices after `lastCursor`, in the collections the device's last
    /// pull asked for: what its next pull brings.
    pub pending: u64,
    /// The user's open conflicts.
    pub open_conflicts: u64,
    /// Summary of the above.
    pub health: DeviceHealth,
}
