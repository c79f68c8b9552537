//! Wire types shared by the browser client and `ferrysync-server`.
//!
//! Every request and response body of the sync API is defined here once, `serde` with camelCase
//! keys; `docs/protocol.md` describes them with examples. Requests carry `protocolVersion`; a
//! server answers a version it does not speak with the error code `version_not_supported`.

mod auth;
mod change;
mod conflicts;
mod error_body;
mod full;
pub(crate) mod names;
mod pull;
mod push;
mod status;

pub use auth::{AuthResponse, Credentials, MIN_PASSWORD_LEN};
pub use change::{Change, ServerRecord, MAX_ID_LEN, MAX_RECORD_BYTES};
pub use conflicts::{
    conflict_ids, ConflictEntry, ConflictList, ConflictStatus, Resolution, ResolveRequest,
    ResolveResponse, ResolvedRecord,
};
pub use error_body::{ErrorBody, ErrorDetail};
pub use full::{FullRequest, FullResponse};
pub use pull::{PullRequest, PullResponse, DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT};
pub use push::{ChangeResult, PushRequest, PushResponse, ResultStatus, MAX_PUSH_CHANGES};
pub use status::{DeviceHealth, DeviceStatus};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// `protocolVersion` when a request leaves it out.
pub(crate) fn default_protocol_version() -> u32 {
    PROTOCOL_VERSION
}
