//! `GET /api/sync/conflicts` and `POST /api/sync/resolve-conflict`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ferrysync_core::protocol::{
    ConflictList, ConflictStatus, Resolution, ResolveRequest, ResolveResponse, MAX_RECORD_BYTES,
};
use serde::{Deserialize, Serialize};

use crate::auth::User;
use crate::error::{ApiError, Result};
use crate::json::Body;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sync/conflicts", get(list))
        .route("/sync/resolve-conflict", post(resolve))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    status: Option<ConflictStatus>,
    /// Only the conflicts this device's changes opened.
    device_id: Option<String>,
    /// `id`: each entry as its id alone (what a device checks its own open conflicts with).
    fields: Option<String>,
}

/// An entry of the list with `fields=id`.
#[derive(Debug, Serialize)]
struct IdOnly {
    id: String,
}

async fn list(
    State(state): State<AppState>,
    user: User,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response> {
    let Query(query) = query.map_err(|err| ApiError::InvalidRequest(err.body_text()))?;
    let ids_only = match query.fields.as_deref() {
        None => false,
        Some("id") => true,
        Some(other) => {
            return Err(ApiError::InvalidRequest(format!(
                "fields must be \"id\", not {other:?}"
            )))
        }
    };
    let device = query.device_id.as_deref().filter(|d| !d.is_empty());
    super::no_nul("deviceId", device.unwrap_or_default())?;
    let conflicts = state
        .store
        .conflicts(&user.id, query.status, device)
        .await?;
    if ids_only {
        let conflicts: Vec<IdOnly> = conflicts.into_iter().map(|c| IdOnly { id: c.id }).collect();
        return Ok(Json(ConflictList { conflicts }).into_response());
    }
    Ok(Json(ConflictList { conflicts }).into_response())
}

async fn resolve(
    State(state): State<AppState>,
    user: User,
    Body(req): Body<ResolveRequest>,
) -> Result<Json<ResolveResponse>> {
    super::no_nul("conflictId", &req.conflict_id)?;
    if req.resolution == Resolution::Merged {
        let Some(data) = req.data.as_ref().filter(|data| data.is_object()) else {
            return Err(ApiError::InvalidRequest(
                "resolution \"merged\" needs data: a JSON object".to_owned(),
            ));
        };
        if serde_json::to_vec(data).map_or(0, |bytes| bytes.len()) > MAX_RECORD_BYTES {
            return Err(ApiError::BodyTooLarge);
        }
    }
    let (conflict, record) = state
        .store
        .resolve(
            &user.id,
            &req.conflict_id,
            req.resolution,
            req.data,
            req.remote_version,
        )
        .await?;
    Ok(Json(ResolveResponse { conflict, record }))
}
