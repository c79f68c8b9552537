//! `POST /api/sync/push`: validates each change alone, then applies the valid ones.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ferrysync_core::protocol::{
    Change, ChangeResult, PushRequest, PushResponse, ResultStatus, MAX_ID_LEN, MAX_PUSH_CHANGES,
    MAX_RECORD_BYTES,
};
use ferrysync_core::skew::bounded_stamp;
use ferrysync_core::CollectionPolicy;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{check_device_id, check_version, nul_in};
use crate::auth::User;
use crate::error::{ApiError, Result};
use crate::json::Body;
use crate::state::AppState;
use crate::store::PushItem;
use crate::time::{now_rfc3339, unix_millis};

/// A push as read off the wire: each item stays JSON text until it is checked on its own (and
/// then parsed once, straight into a [`Change`]).
pub(super) type RawPush = PushRequest<Box<RawValue>, Value>;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/sync/push", post(push))
}

async fn push(
    State(state): State<AppState>,
    user: User,
    Body(req): Body<RawPush>,
) -> Result<Json<PushResponse>> {
    run(&state, &user, req).await.map(Json)
}

/// Validates and applies `req` for `user`.
pub(super) async fn run(state: &AppState, user: &User, req: RawPush) -> Result<PushResponse> {
    check_version(req.protocol_version)?;
    check_device_id(&req.device_id)?;
    let count: usize = req.changes.values().map(Vec::len).sum();
    if count > MAX_PUSH_CHANGES {
        return Err(ApiError::TooManyChanges {
            count,
            max: MAX_PUSH_CHANGES,
        });
    }
    let mut slots: Vec<Option<ChangeResult>> = Vec::with_capacity(count);
    let mut items = Vec::new();
    let now = u64::try_from(unix_millis()).unwrap_or_default();
    let max_skew = u64::try_from(state.config.max_clock_skew.as_millis()).unwrap_or(u64::MAX);
    for (collection, changes) in req.changes {
        let policy = match req.policies.get(&collection) {
            None => Ok(CollectionPolicy::default()),
            Some(raw) => {
                serde_json::from_value::<CollectionPolicy>(raw.clone()).map_err(|e| e.to_string())
            }
        };
        for raw in changes {
            match check(&collection, &raw, &policy) {
                Ok(mut change) => {
                    slots.push(None);
                    let sent_hlc = bounded_stamp(&change.hlc, now, req.device_time, max_skew)
                        .map(|bounded| std::mem::replace(&mut change.hlc, bounded));
                    items.push(PushItem {
                        collection: collection.clone(),
                        change,
                        policy: policy.clone().unwrap_or_default(),
                        sent_hlc,
                    });
                }
                Err(rejection) => slots.push(Some(rejected(&collection, &raw, rejection))),
            }
        }
    }
    let mut applied = state
        .store
        .push(&user.id, &req.device_id, items)
        .await?
        .into_iter();
    let results = slots
        .into_iter()
        .map(|slot| slot.or_else(|| applied.next()))
        .collect::<Option<Vec<_>>>();
    let results =
        results.ok_or_else(|| ApiError::Internal("store returned too few results".to_owned()))?;
    Ok(PushResponse {
        success: true,
        results,
        timestamp: now_rfc3339(),
    })
}

/// Why an item was rejected: a stable reason code and a message.
type Rejection = (&'static str, String);

/// The id and changeId of a rejected item, read past whatever else is wrong with it (its other
/// members are skipped unread, so a `data` that is no valid JSON text does not hide them).
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Echo {
    id: Option<Value>,
    change_id: Option<Value>,
}

/// The rejected result for `raw`, echoing its id and changeId when it has them (the device
/// matches the result to its change by them).
fn rejected(collection: &str, raw: &RawValue, (reason, message): Rejection) -> ChangeResult {
    let echo: Echo = serde_json::from_str(raw.get()).unwrap_or_default();
    let text = |value: Option<Value>| match value {
        Some(Value::String(text)) => text,
        _ => String::new(),
    };
    ChangeResult {
        reason: Some(reason.to_owned()),
        message: Some(message),
        ..ChangeResult::new(
            collection,
            text(echo.id),
            text(echo.change_id),
            ResultStatus::Rejected,
        )
    }
}

/// One raw item as a [`Change`], or why it is rejected.
fn check(
    collection: &str,
    raw: &RawValue,
    policy: &Result<CollectionPolicy, String>,
) -> Result<Change, Rejection> {
    if let Err(err) = policy {
        return Err((
            "unknown_strategy",
            format!("invalid policy for collection {collection:?}: {err}"),
        ));
    }
    if collection.is_empty() || collection.len() > MAX_ID_LEN {
        return Err((
            "invalid_id",
            "collection name must be 1 to 256 bytes".to_owned(),
        ));
    }
    if let Some(message) = nul_in("collection name", collection) {
        return Err(("invalid_id", message));
    }
    let change = match serde_json::from_str::<Change>(raw.get()) {
        Ok(change) => change,
        Err(err) => {
            // A string id of the wrong length is told apart from the item's other faults.
            let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            check_id(value.get("id").and_then(Value::as_str))?;
            return Err(("invalid_change", err.to_string()));
        }
    };
    check_id(Some(&change.id))?;
    if change.change_id.is_empty() || change.change_id.len() > MAX_ID_LEN {
        return Err((
            "invalid_change",
            format!("changeId must be 1 to {MAX_ID_LEN} bytes"),
        ));
    }
    if change.device_id.is_empty() || change.device_id.len() > MAX_ID_LEN {
        return Err((
            "invalid_change",
            format!("deviceId must be 1 to {MAX_ID_LEN} bytes"),
        ));
    }
    for (what, text) in [
        ("changeId", change.change_id.as_str()),
        ("deviceId", change.device_id.as_str()),
        ("hlc", change.hlc.device.as_str()),
    ] {
        if let Some(message) = nul_in(what, text) {
            return Err(("invalid_change", message));
        }
    }
    // The data was only scanned so far, which lets a lone UTF-16 surrogate escape through; read
    // as a value, it fails (once, the value is kept for what follows).
    let data = change.data.checked().map_err(|err| {
        let message = format!("data does not read as JSON (a lone UTF-16 surrogate?): {err}");
        ("invalid_change", message)
    })?;
    if !change.deleted && !data.is_object() {
        return Err((
            "invalid_change",
            "data must be a JSON object unless deleted".to_owned(),
        ));
    }
    // Measured as the compact JSON the record is stored as, whatever the spacing it came in.
    let size = serde_json::to_vec(data).map_or(0, |bytes| bytes.len());
    if size > MAX_RECORD_BYTES {
        return Err((
            "payload_too_large",
            format!("record is {size} bytes, over {MAX_RECORD_BYTES}"),
        ));
    }
    Ok(change)
}

/// An id (when it is a string) of 1 to [`MAX_ID_LEN`] bytes, without NUL.
fn check_id(id: Option<&str>) -> Result<(), Rejection> {
    match id.map(str::len) {
        Some(len) if len == 0 || len > MAX_ID_LEN => {
            Err(("invalid_id", format!("id must be 1 to {MAX_ID_LEN} bytes")))
        }
        _ => match id.and_then(|id| nul_in("id", id)) {
            Some(message) => Err(("invalid_id", message)),
            None => Ok(()),
        },
    }
}
