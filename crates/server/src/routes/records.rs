//! `GET /api/sync/records/{collection}/{id}`: one record as the server holds it now.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ferrysync_core::protocol::MAX_ID_LEN;

use crate::auth::User;
use crate::error::{ApiError, Result};
use crate::state::AppState;
use crate::store::PulledRecord;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/sync/records/{collection}/{id}", get(record))
}

/// The record's latest version, tombstones included (`deleted: true`); 404 when the user has
/// never had it. A device fetches one record this way when it drops its own refused change.
async fn record(
    State(state): State<AppState>,
    user: User,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Json<PulledRecord>> {
    for (what, value) in [("collection name", &collection), ("id", &id)] {
        if value.len() > MAX_ID_LEN {
            return Err(ApiError::InvalidRequest(format!(
                "{what} must be 1 to {MAX_ID_LEN} bytes"
            )));
        }
        super::no_nul(what, value)?;
    }
    let record = state.store.record(&user.id, &collection, &id).await?;
    record.map(Json).ok_or(ApiError::NotFound("record"))
}
