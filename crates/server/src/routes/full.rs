//! `POST /api/sync/full`: push, then pull, in one round trip.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ferrysync_core::protocol::{FullRequest, FullResponse};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{pull, push};
use crate::auth::User;
use crate::error::Result;
use crate::json::Body;
use crate::state::AppState;
use crate::store::PulledRecord;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/sync/full", post(full))
}

async fn full(
    State(state): State<AppState>,
    user: User,
    Body(req): Body<FullRequest<Box<RawValue>, Value>>,
) -> Result<Json<FullResponse<PulledRecord>>> {
    let push = push::run(&state, &user, req.push).await?;
    let pull = pull::run(&state, &user, req.pull).await?;
    Ok(Json(FullResponse { push, pull }))
}
