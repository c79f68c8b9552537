//! Text the server cannot key or store.
//!
//! - NUL (U+0000) in the strings the server keys its rows by: PostgreSQL's `TEXT` cannot hold
//!   it, so on PostgreSQL each of these was a 500. Now both backends refuse it alike, and a push
//!   item carrying it is rejected alone, never failing (or, retried, blocking) the others.
//! - A lone UTF-16 surrogate escape (`"\ud800"`, as `JSON.stringify` writes a string cut in the
//!   middle of an emoji) is no Unicode text: its item is rejected alone, under its own id.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, hlc, outcomes, Backend};

pub(crate) async fn nul_in_keys_is_refused_alike_on_both_backends(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let ok = change("fine", "c-fine", None, 1000, "d", json!({"x": "\u{0}"}));
    let mut bad_hlc = change("h", "c-h", None, 1000, "d", json!({}));
    bad_hlc["hlc"] = json!(hlc(1000, "d\u{0}"));
    let items = vec![
        change("a\u{0}b", "c-id", None, 1000, "d", json!({})),
        change("c", "c\u{0}", None, 1000, "d", json!({})),
        change("e", "c-device", None, 1000, "d\u{0}", json!({})),
        bad_hlc,
        ok,
    ];
    let body = json!({"deviceId": "d", "changes": {"todos": items, "to\u{0}dos": [
        change("f", "c-collection", None, 1000, "d", json!({}))]}});
    let (status, body) = server.post("/api/sync/push", token, &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = outcomes(&body);
    // Collections in name order: "to\0dos" first.
    assert_eq!(
        results,
        [
            ("rejected", "invalid_id"),
            ("rejected", "invalid_id"),
            ("rejected", "invalid_change"),
            ("rejected", "invalid_change"),
            ("rejected", "invalid_change"),
            ("applied", ""),
        ],
        "{body}"
    );
    let pulled = server.pull(&s, "other", None, None).await;
    assert_eq!(pulled["changes"][0]["data"], json!({"x": "\u{0}"}));

    // Everywhere else: a 400 that says so, on both backends.
    let refused = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("NUL"),
            "{body}"
        );
    };
    let push = json!({"deviceId": "d\u{0}", "changes": {}});
    refused(server.post("/api/sync/push", token, &push).await);
    let pull = json!({"deviceId": "d\u{0}"});
    refused(server.post("/api/sync/pull", token, &pull).await);
    let pull = json!({"deviceId": "d", "collections": ["to\u{0}dos"]});
    refused(server.post("/api/sync/pull", token, &pull).await);
    let resolve = json!({"conflictId": "x\u{0}", "resolution": "server"});
    refused(
        server
            .post("/api/sync/resolve-conflict", token, &resolve)
            .await,
    );
    let credentials = json!({"username": "bob\u{0}", "password": "correct horse"});
    refused(server.post("/api/auth/register", None, &credentials).await);
    refused(server.post("/api/auth/login", None, &credentials).await);
    refused(server.get("/api/sync/records/todos/a%00b", token).await);
    refused(server.get("/api/sync/conflicts?deviceId=d%00", token).await);
    refused(server.get("/api/sync/status/d%00", token).await);
    server.stop().await;
}

pub(crate) async fn a_lone_surrogate_rejects_its_item_alone_by_its_id(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let item = |id: &str, text: &str| {
        let hlc = hlc(1000, "d");
        format!(
            r#"{{"id":"{id}","changeId":"c-{id}","hlc":"{hlc}","deviceId":"d","data":{{"t":"{text}"}}}}"#
        )
    };
    // Raw text: serde_json cannot hold a lone surrogate in a string to send.
    let body = format!(
        r#"{{"deviceId":"d","changes":{{"todos":[{},{},{}]}}}}"#,
        item("cut", r"\ud83d"),
        item("pair", r"\ud83d\ude00"),
        item("low", r"\ude00 after"),
    );
    let request = server
        .client
        .post(format!("{}/api/sync/push", server.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(body);
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str, &str)> = results
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("");
            (text("id"), text("changeId"), text("status"), text("reason"))
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("cut", "c-cut", "rejected", "invalid_change"),
            ("pair", "c-pair", "applied", ""),
            ("low", "c-low", "rejected", "invalid_change"),
        ]
    );
    let message = results[0]["message"].as_str().unwrap();
    assert!(message.contains("surrogate"), "{message}");
    let pulled = server.pull(&s, "other", None, None).await;
    assert_eq!(pulled["changes"][0]["data"], json!({"t": "\u{1f600}"}));
    server.stop().await;
}
