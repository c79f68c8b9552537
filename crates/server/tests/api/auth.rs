//! Registration, login and tokens.

use reqwest::StatusCode;
use serde_json::json;

use super::common::Backend;

pub(crate) async fn register_and_login(backend: Backend) {
    let server = backend.start().await;
    let alice = server.register("alice").await;
    assert!(!alice.user_id.is_empty());

    let creds = json!({"username": "alice", "password": "correct horse"});
    let (status, body) = server.post("/api/auth/register", None, &creds).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("username_taken"))
    );

    let (status, body) = server
        .post(
            "/api/auth/register",
            None,
            &json!({"username": "bob", "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    let (status, body) = server.post("/api/auth/login", None, &creds).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["userId"], alice.user_id.as_str());
    assert!(body["expiresAt"].is_string());

    let wrong = server
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "alice", "password": "wrong password"}),
        )
        .await;
    let nobody = server
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "nobody", "password": "wrong password"}),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, nobody, "same answer whether the user exists or not");
    server.stop().await;
}

pub(crate) async fn missing_expired_and_forged_tokens(backend: Backend) {
    let server = backend.start().await;
    let alice = server.register("alice").await;
    let pull = json!({"deviceId": "d1"});
    let (status, body) = server.post("/api/sync/pull", None, &pull).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );

    let mut forged = alice.token.clone();
    forged.replace_range(..4, "AAAA");
    for token in [forged.as_str(), "garbage", "a.b"] {
        let (status, _) = server.post("/api/sync/pull", Some(token), &pull).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
    }
    let (status, _) = server.get("/api/sync/conflicts", Some("nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .post("/api/sync/pull", Some(&alice.token), &pull)
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;

    let expiring = backend
        .start_with(|c| c.token_ttl = std::time::Duration::ZERO)
        .await;
    let bob = expiring.register("bob").await;
    let (status, body) = expiring
        .post("/api/sync/pull", Some(&bob.token), &pull)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    expiring.stop().await;
}

pub(crate) async fn secret_persists_across_restarts(backend: Backend) {
    let server = backend.start().await;
    let alice = server.register("alice").await;
    server.stop().await;
    let again = backend.start().await;
    let (status, _) = again
        .post(
            "/api/sync/pull",
            Some(&alice.token),
            &json!({"deviceId": "d"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token survives a restart: the generated secret was kept"
    );
    again.stop().await;
    let other = backend
        .start_with(|c| c.secret = Some("configured".to_owned()))
        .await;
    let (status, _) = other
        .post(
            "/api/sync/pull",
            Some(&alice.token),
            &json!({"deviceId": "d"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a configured secret replaces the generated one"
    );
    other.stop().await;
}
