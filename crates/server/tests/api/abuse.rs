//! Bad input and abuse: every client mistake is a 4xx with a JSON error, never a 500.
//! Also the plumbing: health, OpenAPI, CORS, gzip and static files.

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ORIGIN, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::common::{change, numbered_changes, outcomes, Backend};

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

pub(crate) async fn malformed_json_wrong_types_missing_fields(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let raw = |path: &str, body: &'static str| {
        server
            .client
            .post(format!("{}{path}", server.base))
            .bearer_auth(&s.token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    };
    for path in [
        "/api/sync/push",
        "/api/sync/pull",
        "/api/sync/full",
        "/api/sync/resolve-conflict",
        "/api/auth/login",
    ] {
        let (status, body) = server.send(raw(path, "{\"deviceId\": ")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_json"),
            "{path}"
        );
    }
    let cases = [
        ("/api/sync/push", json!({"deviceId": 5, "changes": {}})),
        ("/api/sync/push", json!({"deviceId": "d"})),
        ("/api/sync/push", json!({"deviceId": "d", "changes": []})),
        ("/api/sync/push", json!({"deviceId": "", "changes": {}})),
        (
            "/api/sync/push",
            json!({"deviceId": "d", "changes": {}, "deviceTime": -1}),
        ),
        ("/api/sync/pull", json!({"cursor": "1"})),
        ("/api/sync/pull", json!({"deviceId": "d", "limit": "ten"})),
        (
            "/api/sync/pull",
            json!({"deviceId": "d", "cursor": "not-a-cursor"}),
        ),
        ("/api/sync/pull", json!({"deviceId": "d", "limit": 0})),
        (
            "/api/sync/resolve-conflict",
            json!({"resolution": "server"}),
        ),
        ("/api/auth/register", json!({"username": "x"})),
        ("/api/auth/login", json!([1, 2])),
    ];
    for (path, body) in cases {
        let (status, answer) = server.post(path, Some(&s.token), &body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{path} {body}"
        );
    }
    let (status, body) = server
        .post(
            "/api/sync/pull",
            Some(&s.token),
            &json!({"deviceId": "d", "protocolVersion": 99}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "version_not_supported")
    );
    let (status, body) = server.get("/api/nope", Some(&s.token)).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    server.stop().await;
}

pub(crate) async fn bad_items_are_rejected_alone(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let good = change("ok", "c-ok", None, 1, "d", json!({"fine": true}));
    let long_id = "x".repeat(257);
    let huge = "y".repeat(1024 * 1024 + 1);
    let changes = json!({
        "notes": [
            good,
            change(&long_id, "c-long", None, 1, "d", json!({})),
            change("big", "c-big", None, 1, "d", json!({"blob": huge})),
            {"id": "no-hlc", "changeId": "c-nohlc", "deviceId": "d", "data": {}},
            change("bad-hlc", "c-badhlc", None, 1, "d", json!({})),
            change("scalar", "c-scalar", None, 1, "d", json!(42)),
            {"id": 7, "changeId": "c-num"},
        ],
        "weird": [change("w1", "c-w1", None, 1, "d", json!({}))],
    });
    let mut changes = changes;
    changes["notes"][4]["hlc"] = json!("yesterday");
    let body = json!({"deviceId": "d", "changes": changes, "policies": {"weird": {"strategy": "coin_flip"}}});
    let (status, body) = server.post("/api/sync/push", Some(&s.token), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    let reasons = outcomes(&body);
    assert_eq!(
        reasons,
        [
            ("applied", ""),
            ("rejected", "invalid_id"),
            ("rejected", "payload_too_large"),
            ("rejected", "invalid_change"),
            ("rejected", "invalid_change"),
            ("rejected", "invalid_change"),
            ("rejected", "invalid_change"),
            ("rejected", "unknown_strategy"),
        ]
    );
    assert_eq!(body["results"][2]["id"], "big");
    assert_eq!(body["results"][2]["changeId"], "c-big");
    let (records, _) = server.pull_all(&s, "other", None).await;
    assert_eq!(records.len(), 1);
    server.stop().await;
}

pub(crate) async fn oversized_bodies_and_batches(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let items = numbered_changes(1001, &json!({}));
    let (status, body) = server
        .post(
            "/api/sync/push",
            Some(&s.token),
            &json!({"deviceId": "d", "changes": {"n": items}}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_many_changes")
    );
    let answer = oversized_push(&server.base, &s.token, 11 * 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"payload_too_large\""), "{answer}");
    server.stop().await;
    let small = backend.start_with(|c| c.body_limit = 1024).await;
    let s = small.register("bob").await;
    let body = json!({"deviceId": "d", "changes": {"n": [change("a", "b", None, 1, "d", json!({"blob": "q".repeat(2000)}))]}});
    let (status, body) = small.post("/api/sync/push", Some(&s.token), &body).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    small.stop().await;
}

/// Sends a push body of `len` bytes over a raw socket and returns the raw answer.
///
/// The server answers 413 without reading the rest of the body and closes the connection; an
/// HTTP client still writing then fails on the write and never shows the answer, so the body
/// is written by a separate task while this one reads.
async fn oversized_push(base: &str, token: &str, len: usize) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /api/sync/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        let mut left = len;
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        while left > 0 {
            let n = left.min(chunk.len());
            if write.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            left -= n;
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Duration::from_secs(20);
    while let Ok(Ok(n)) = tokio::time::timeout(deadline, read.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}}") {
            break;
        }
    }
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

pub(crate) async fn rate_limit_answers_429_with_retry_after(backend: Backend) {
    let server = backend
        .start_with(|c| (c.rate_limit, c.rate_burst) = (1.0, 3.0))
        .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let pull = json!({"deviceId": "d"});
    for _ in 0..3 {
        let (status, _) = server
            .post("/api/sync/pull", Some(&alice.token), &pull)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = server
        .client
        .post(format!("{}/api/sync/pull", server.base))
        .bearer_auth(&alice.token)
        .json(&pull)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry));
    assert_eq!(code(&res.json::<Value>().await.unwrap()), "rate_limited");
    let (status, _) = server.post("/api/sync/pull", Some(&bob.token), &pull).await;
    assert_eq!(status, StatusCode::OK, "the limit is per user");
    server.stop().await;
}

pub(crate) async fn health_openapi_cors_gzip_static(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("ferrysync-www-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>ferrysync demo</h1>").unwrap();
    let static_dir = dir.clone();
    let server = backend
        .start_with(move |c| c.static_dir = Some(static_dir))
        .await;
    let (status, health) = server.get("/api/health", None).await;
    assert_eq!(
        (status, &health["status"], &health["database"]),
        (StatusCode::OK, &json!("ok"), &json!(true))
    );

    let (status, doc) = server.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/sync/push",
        "/api/sync/pull",
        "/api/sync/full",
        "/api/sync/conflicts",
        "/api/sync/resolve-conflict",
        "/api/sync/status/{deviceId}",
        "/api/sync/records/{collection}/{id}",
        "/api/health",
        "/api/openapi.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "openapi.json lacks {path}"
        );
    }

    let preflight = |origin: &str| {
        server
            .client
            .request(Method::OPTIONS, format!("{}/api/sync/pull", server.base))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let local = preflight("http://localhost:5173").await.unwrap();
    assert_eq!(
        local.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let s = server.register("alice").await;
    let items = numbered_changes(50, &json!({"text": "hello"}));
    server.push(&s, "d", json!({"n": items}), json!({})).await;
    let res = server
        .client
        .post(format!("{}/api/sync/pull", server.base))
        .bearer_auth(&s.token)
        .header(ACCEPT_ENCODING, "gzip")
        .json(&json!({"deviceId": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );

    let page = server
        .client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("ferrysync demo"));
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
