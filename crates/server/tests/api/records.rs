//! `GET /api/sync/records/{collection}/{id}`: one record as the server holds it now.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, delete, hlc, Backend};

pub(crate) async fn one_record_is_served_as_it_is_now(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let bob = server.register("bob").await;
    let odd = "a/b é?#";
    for c in [
        change("n1", "c1", None, 1000, "phone", json!({"v": 1})),
        change("n1", "c2", Some(1), 2000, "phone", json!({"v": 2})),
        change("n2", "c3", None, 3000, "phone", json!({"v": 1})),
        delete("n2", "c4", 1, 4000, "phone"),
        change(odd, "c5", None, 5000, "laptop", json!({"odd": true})),
    ] {
        assert_ne!(
            server.push_one(&s, "phone", &c, json!({})).await["status"],
            "rejected"
        );
    }
    let token = Some(s.token.as_str());
    let (status, n1) = server.get("/api/sync/records/notes/n1", token).await;
    assert_eq!(status, StatusCode::OK, "{n1}");
    assert_eq!(
        (
            &n1["collection"],
            &n1["id"],
            &n1["version"],
            &n1["data"],
            &n1["deleted"]
        ),
        (
            &json!("notes"),
            &json!("n1"),
            &json!(2),
            &json!({"v": 2}),
            &json!(false)
        )
    );
    assert_eq!(n1["hlc"], hlc(2000, "phone"));
    assert!(n1["updatedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    // A tombstone is served too: the device must learn that the record is gone.
    let (_, n2) = server.get("/api/sync/records/notes/n2", token).await;
    assert_eq!(
        (&n2["deleted"], &n2["data"], &n2["version"]),
        (&json!(true), &Value::Null, &json!(2))
    );
    // Any id, percent-encoded in the path.
    let (status, found) = server
        .get("/api/sync/records/notes/a%2Fb%20%C3%A9%3F%23", token)
        .await;
    assert_eq!((status, &found["id"]), (StatusCode::OK, &json!(odd)));
    for (path, token, expected, code) in [
        (
            "/api/sync/records/notes/nope".to_owned(),
            token,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/sync/records/todos/n1".to_owned(),
            token,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/sync/records/notes/n1".to_owned(),
            Some(bob.token.as_str()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/sync/records/notes/n1".to_owned(),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            format!("/api/sync/records/notes/{}", "x".repeat(300)),
            token,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        let (status, body) = server.get(&path, token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (expected, Some(code)),
            "{path}: {body}"
        );
    }
    server.stop().await;
}
