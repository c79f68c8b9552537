//! `GET /api/sync/status/{deviceId}`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ferrysync_core::protocol::DeviceStatus;

use crate::auth::User;
use crate::error::{ApiError, Result};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/sync/status/{device_id}", get(status))
}

async fn status(
    State(state): State<AppState>,
    user: User,
    Path(device_id): Path<String>,
) -> Result<Json<DeviceStatus>> {
    super::no_nul("deviceId", &device_id)?;
    let status = state.store.device_status(&user.id, &device_id).await?;
    status.map(Json).ok_or(ApiError::NotFound("device"))
}
