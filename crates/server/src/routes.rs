//! The `/api` router, one module per route group.

mod auth;
mod conflicts;
mod full;
mod health;
mod pull;
mod push;
mod records;
mod status;

use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// Every `/api` route; unknown paths answer a JSON 404.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(push::router())
        .merge(pull::router())
        .merge(full::router())
        .merge(conflicts::router())
        .merge(status::router())
        .merge(records::router())
        .merge(health::router())
        .fallback(|| async { ApiError::NotFound("route") })
}

/// Checks a device id: 1 to 256 bytes, no NUL.
fn check_device_id(device_id: &str) -> Result<(), ApiError> {
    if device_id.is_empty() || device_id.len() > ferrysync_core::protocol::MAX_ID_LEN {
        return Err(ApiError::InvalidRequest(
            "deviceId must be 1 to 256 bytes".to_owned(),
        ));
    }
    no_nul("deviceId", device_id)
}

/// Why `text`, a string the server keys rows by (`what` names it), is refused: it holds a NUL
/// (U+0000), which the database may not store (PostgreSQL's `TEXT` cannot), so both backends
/// refuse it alike.
fn nul_in(what: &str, text: &str) -> Option<String> {
    text.contains('\0')
        .then(|| format!("{what} must not contain NUL (U+0000)"))
}

/// [`nul_in`] as a request's error.
fn no_nul(what: &str, text: &str) -> Result<(), ApiError> {
    nul_in(what, text).map_or(Ok(()), |message| Err(ApiError::InvalidRequest(message)))
}

/// Checks `protocolVersion`.
fn check_version(version: u32) -> Result<(), ApiError> {
    if version != ferrysync_core::protocol::PROTOCOL_VERSION {
        return Err(ApiError::VersionNotSupported(version));
    }
    Ok(())
}
