//! `GET /api/health` and `GET /api/openapi.json`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// The OpenAPI 3 description of every endpoint, written by hand next to `docs/protocol.md`.
const OPENAPI: &str = include_str!("../openapi.json");

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let database = state.store.ping().await;
    Json(json!({
        "status": if database { "ok" } else { "degraded" },
        "database": database,
        "protocolVersion": ferrysync_core::protocol::PROTOCOL_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
