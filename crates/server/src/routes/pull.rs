//! `POST /api/sync/pull`: pages of records after a cursor.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ferrysync_core::protocol::{PullRequest, PullResponse, DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT};

use crate::store::PulledRecord;

use super::{check_device_id, check_version};
use crate::auth::User;
use crate::error::{ApiError, Result};
use crate::json::Body;
use crate::state::AppState;
use crate::store::PullQuery;
use crate::time::{now_rfc3339, parse_rfc3339};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/sync/pull", post(pull))
}

async fn pull(
    State(state): State<AppState>,
    user: User,
    Body(req): Body<PullRequest>,
) -> Result<Json<PullResponse<PulledRecord>>> {
    run(&state, &user, req).await.map(Json)
}

/// Serves one page of `req` for `user`.
///
/// The cursor is the change sequence number of the last record served, as decimal text;
/// clients must treat it as opaque.
pub(super) async fn run(
    state: &AppState,
    user: &User,
    req: PullRequest,
) -> Result<PullResponse<PulledRecord>> {
    check_version(req.protocol_version)?;
    check_device_id(&req.device_id)?;
    for collection in req.collections.iter().flatten() {
        super::no_nul("a collection name", collection)?;
    }
    let after = match req.cursor.as_deref() {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| ApiError::InvalidRequest(format!("invalid cursor {cursor:?}")))?,
    };
    let limit = match req.limit {
        None => DEFAULT_PULL_LIMIT,
        Some(0) => {
            return Err(ApiError::InvalidRequest(
                "limit must be at least 1".to_owned(),
            ))
        }
        Some(limit) => limit.min(MAX_PULL_LIMIT),
    };
    let since = match (&req.cursor, &req.last_sync_timestamp) {
        (None, Some(ts)) => Some(parse_rfc3339(ts).ok_or_else(|| {
            ApiError::InvalidRequest(format!("lastSyncTimestamp {ts:?} is not RFC 3339"))
        })?),
        _ => None,
    };
    let query = PullQuery {
        after,
        since,
        limit,
        collections: req.collections,
        exclude_own: req.exclude_own,
    };
    let page = state.store.pull(&user.id, &req.device_id, query).await?;
    Ok(PullResponse {
        changes: page.records,
        cursor: page.cursor.to_string(),
        has_more: page.has_more,
        timestamp: now_rfc3339(),
    })
}
