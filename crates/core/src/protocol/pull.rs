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
    /// Leave out records whose latest write names `device_id` as its device (the records'
    /// `deviceId`): the device already holds them from its push answers. The cursor still
    /// moves past them. Default false, which serves every record as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_own: bool,
}

/// One page of changes, oldest first. `R` is how a record is held: a server may serve its
/// records in another type with the same JSON form (stored data passed through unparsed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse<R = ServerRecord> {
    /// The latest version of each record changed after the request's cursor, in change order.
    pub changes: Vec<R>,
    /// Cursor to send with the next pull.
    pub cursor: String,
    /// True when more changes follow this page.
    pub has_more: bool,
    /// Server time of the response, RFC 3339.
    pub timestamp: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn exclude_own_defaults_to_false_and_is_sent_only_when_true() {
        let old: PullRequest = serde_json::from_value(json!({"deviceId": "a"})).unwrap();
        assert!(!old.exclude_own);
        assert_eq!(
            serde_json::to_value(&old).unwrap(),
            json!({"protocolVersion": 1, "deviceId": "a"})
        );
        let new = PullRequest {
            exclude_own: true,
            ..old
        };
        let wire = serde_json::to_value(&new).unwrap();
        assert_eq!(wire["excludeOwn"], true);
        assert_eq!(serde_json::from_value::<PullRequest>(wire).unwrap(), new);
    }
}
