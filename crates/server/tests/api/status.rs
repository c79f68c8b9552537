//! A device's status: when it last pushed and pulled, and what its next pull brings.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, Backend};

pub(crate) async fn device_status_tracks_pushes_and_pulls(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let (status, body) = server.get("/api/sync/status/laptop", Some(&s.token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    server.pull(&s, "laptop", None, None).await;
    let items = json!({"notes": [
        change("n1", "c1", None, 1, "phone", json!({})),
        change("n2", "c2", None, 2, "phone", json!({})),
    ]});
    server.push(&s, "phone", items, json!({})).await;
    let (status, body) = server.get("/api/sync/status/laptop", Some(&s.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pending"], 2);
    assert_eq!(body["openConflicts"], 0);
    assert_eq!(body["health"], "behind");
    assert!(body["lastPullAt"].is_string() && body["lastSyncAt"].is_string());
    assert!(body.get("lastPushAt").is_none());
    server
        .pull_all(&s, "laptop", body["lastCursor"].as_str())
        .await;
    let (_, body) = server.get("/api/sync/status/laptop", Some(&s.token)).await;
    assert_eq!(
        (body["pending"].as_u64(), body["health"].as_str()),
        (Some(0), Some("ok"))
    );
    let (_, phone) = server.get("/api/sync/status/phone", Some(&s.token)).await;
    assert!(phone["lastPushAt"].is_string());
    assert_eq!(
        phone["pending"], 0,
        "a device's own writes are not pending for it"
    );
    server.stop().await;
}

pub(crate) async fn device_status_counts_only_the_collections_the_device_pulls(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let pull = |collections: Value| json!({"deviceId": "watch", "collections": collections, "excludeOwn": true});
    let (status, body) = server
        .post("/api/sync/pull", Some(&s.token), &pull(json!(["notes"])))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = json!({
        "notes": [change("n1", "c1", None, 1, "phone", json!({}))],
        "photos": [
            change("p1", "c2", None, 2, "phone", json!({})),
            change("p2", "c3", None, 3, "phone", json!({})),
        ],
    });
    server.push(&s, "phone", items, json!({})).await;
    let status_of = |device: &'static str| {
        let server = &server;
        let token = s.token.clone();
        async move {
            let path = format!("/api/sync/status/{device}");
            server.get(&path, Some(&token)).await.1
        }
    };
    let body = status_of("watch").await;
    assert_eq!(
        (body["pending"].as_u64(), body["health"].as_str()),
        (Some(1), Some("behind")),
        "the device pulls notes only: {body}"
    );
    // A push keeps the filter; a pull of every collection drops it.
    server.push(&s, "watch", json!({}), json!({})).await;
    assert_eq!(status_of("watch").await["pending"], 1);
    let (_, first) = server
        .post("/api/sync/pull", Some(&s.token), &pull(Value::Null))
        .await;
    assert_eq!(first["changes"].as_array().map(Vec::len), Some(3));
    server
        .push(
            &s,
            "phone",
            json!({"photos": [change("p3", "c4", None, 4, "phone", json!({}))]}),
            json!({}),
        )
        .await;
    assert_eq!(
        status_of("watch").await["pending"],
        1,
        "every collection again"
    );
    // An empty filter pulls nothing, so nothing is pending.
    server
        .post("/api/sync/pull", Some(&s.token), &pull(json!([])))
        .await;
    assert_eq!(status_of("watch").await["pending"], 0);
    server.stop().await;
}
