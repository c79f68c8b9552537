//! Every conflict strategy, field policies, manual resolution and user isolation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, Backend, Server, Session};

/// Phone writes v1 `{title: a, body: x}` then v2 `{title: b}`; returns the laptop's edit of
/// `body` from v1 at `millis`, for the caller to push.
pub(crate) async fn diverge(server: &Server, s: &Session, id: &str, millis: u64) -> Value {
    let v1 = change(
        id,
        &format!("{id}-1"),
        None,
        1000,
        "phone",
        json!({"title": "a", "body": "x"}),
    );
    let mut v2 = change(
        id,
        &format!("{id}-2"),
        Some(1),
        2000,
        "phone",
        json!({"title": "b", "body": "x"}),
    );
    v2["changedFields"] = json!(["title"]);
    server
        .push(s, "phone", json!({"notes": [v1, v2]}), json!({}))
        .await;
    let mut edit = change(
        id,
        &format!("{id}-3"),
        Some(1),
        millis,
        "laptop",
        json!({"title": "a", "body": "y"}),
    );
    edit["changedFields"] = json!(["body"]);
    edit
}

pub(crate) async fn push_one(server: &Server, s: &Session, edit: Value, strategy: &str) -> Value {
    let policies = json!({"notes": {"strategy": strategy}});
    server.push_one(s, "laptop", &edit, policies).await
}

pub(crate) async fn server_wins(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let edit = diverge(&server, &s, "n1", 3000).await;
    let result = push_one(&server, &s, edit, "server_wins").await;
    assert_eq!(
        (result["status"].as_str(), result["winner"].as_str()),
        (Some("conflict"), Some("server"))
    );
    assert_eq!(result["strategy"], "server_wins");
    assert_eq!(result["version"], 2);
    assert_eq!(result["record"]["data"], json!({"title": "b", "body": "x"}));
    let (_, log) = server.get("/api/sync/conflicts", Some(&s.token)).await;
    let entry = &log["conflicts"][0];
    assert_eq!(
        (entry["status"].as_str(), entry["winner"].as_str()),
        (Some("auto"), Some("server"))
    );
    assert_eq!(entry["serverData"], json!({"title": "b", "body": "x"}));
    assert_eq!(
        entry["clientChange"]["data"],
        json!({"title": "a", "body": "y"})
    );
    assert_eq!(entry["serverVersion"], 2);
    server.stop().await;
}

pub(crate) async fn client_wins(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let edit = diverge(&server, &s, "n1", 1500).await;
    let result = push_one(&server, &s, edit, "client_wins").await;
    assert_eq!(
        (result["status"].as_str(), result["winner"].as_str()),
        (Some("conflict"), Some("client"))
    );
    assert_eq!(result["version"], 3);
    assert_eq!(result["record"]["data"], json!({"title": "a", "body": "y"}));
    let (records, _) = server.pull_all(&s, "phone", None).await;
    assert_eq!(records[0]["data"], json!({"title": "a", "body": "y"}));
    server.stop().await;
}

pub(crate) async fn newest_wins_both_ways(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let newer = diverge(&server, &s, "n1", 3000).await;
    let result = push_one(&server, &s, newer, "newest_wins").await;
    assert_eq!(
        (result["winner"].as_str(), result["version"].as_u64()),
        (Some("client"), Some(3))
    );
    let older = diverge(&server, &s, "n2", 1500).await;
    let result = server
        .push(&s, "laptop", json!({"notes": [older]}), json!({}))
        .await
        .remove(0);
    assert_eq!(
        result["strategy"], "newest_wins",
        "newest_wins is the default"
    );
    assert_eq!(
        (result["winner"].as_str(), result["version"].as_u64()),
        (Some("server"), Some(2))
    );
    server.stop().await;
}

pub(crate) async fn merge_combines_fields(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let edit = diverge(&server, &s, "n1", 1500).await;
    let result = push_one(&server, &s, edit, "merge").await;
    assert_eq!(
        (result["status"].as_str(), result["winner"].as_str()),
        (Some("conflict"), Some("merged"))
    );
    assert_eq!(result["record"]["data"], json!({"title": "b", "body": "y"}));
    assert_eq!(result["version"], 3);
    server.stop().await;
}

pub(crate) async fn field_policy_keeps_the_higher_score(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let policies = json!({"quiz": {"fields": {"score": "max"}}});
    let create = change("q1", "c1", None, 1000, "phone", json!({"score": 10}));
    server
        .push(&s, "phone", json!({"quiz": [create]}), policies.clone())
        .await;
    let lower = change(
        "q1",
        "c2",
        Some(1),
        2000,
        "phone",
        json!({"score": 5, "note": "retry"}),
    );
    let result = server
        .push(&s, "phone", json!({"quiz": [lower]}), policies.clone())
        .await
        .remove(0);
    assert_eq!(result["status"], "applied");
    assert_eq!(
        result["record"]["data"],
        json!({"score": 10, "note": "retry"}),
        "{result}"
    );
    // Even when the lower score wins a conflict on time, the score does not go down.
    let stale = change("q1", "c3", Some(1), 9000, "laptop", json!({"score": 7}));
    let result = server
        .push(&s, "laptop", json!({"quiz": [stale]}), policies)
        .await
        .remove(0);
    assert_eq!(result["record"]["data"]["score"], 10, "{result}");
    server.stop().await;
}

pub(crate) async fn manual_conflict_resolved_by_client_merged_and_server(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let mut ids = Vec::new();
    for id in ["n1", "n2", "n3"] {
        let edit = diverge(&server, &s, id, 3000).await;
        let result = push_one(&server, &s, edit, "manual").await;
        assert_eq!(
            (result["status"].as_str(), result["winner"].as_str()),
            (Some("conflict"), Some("server"))
        );
        assert_eq!(result["version"], 2, "manual keeps the server's version");
        ids.push(result["conflictId"].as_str().unwrap().to_owned());
    }
    let (_, open) = server.get("/api/sync/conflicts?status=open", token).await;
    assert_eq!(open["conflicts"].as_array().unwrap().len(), 3);
    let (_, status) = server.get("/api/sync/status/laptop", token).await;
    assert_eq!(
        (status["openConflicts"].as_u64(), status["health"].as_str()),
        (Some(3), Some("conflicts"))
    );
    let (_, cursor) = server.pull_all(&s, "phone", None).await;

    let resolve = |id: &str, resolution: &str, data: Option<Value>| json!({"conflictId": id, "resolution": resolution, "data": data});
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&ids[0], "client", None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["conflict"]["status"], "resolved");
    assert_eq!(body["conflict"]["resolution"], "client");
    assert_eq!(
        (body["record"]["version"].as_u64(), &body["record"]["data"]),
        (Some(3), &json!({"title": "a", "body": "y"}))
    );

    let (status, _) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&ids[1], "merged", None),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "merged needs data");
    let merged = json!({"title": "b", "body": "y", "merged": true});
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&ids[1], "merged", Some(merged.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["record"]["version"].as_u64(), &body["record"]["data"]),
        (Some(3), &merged)
    );

    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&ids[2], "server", None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["record"]["version"], 2);

    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&ids[0], "client", None),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict_already_resolved"))
    );
    let (status, _) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve("no-such-id", "server", None),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &json!({"conflictId": ids[0], "resolution": "mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The resolutions reach the other device on its next pull.
    let (records, _) = server.pull_all(&s, "phone", Some(&cursor)).await;
    let mut got: Vec<(&str, u64)> = records
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["version"].as_u64().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, [("n1", 3), ("n2", 3)]);
    let (_, open) = server.get("/api/sync/conflicts?status=open", token).await;
    assert_eq!(open["conflicts"], json!([]));
    let (_, resolved) = server
        .get("/api/sync/conflicts?status=resolved", token)
        .await;
    assert_eq!(resolved["conflicts"].as_array().unwrap().len(), 3);
    let (status, _) = server.get("/api/sync/conflicts?status=bogus", token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

pub(crate) async fn users_are_isolated(backend: Backend) {
    let server = backend.start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let edit = diverge(&server, &alice, "n1", 3000).await;
    let conflict = push_one(&server, &alice, edit, "manual").await;
    let conflict_id = conflict["conflictId"].as_str().unwrap();

    let (records, _) = server.pull_all(&bob, "bob-phone", None).await;
    assert_eq!(records, Vec::<Value>::new());
    let (_, log) = server.get("/api/sync/conflicts", Some(&bob.token)).await;
    assert_eq!(log["conflicts"], json!([]));
    let (status, _) = server.get("/api/sync/status/phone", Some(&bob.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = json!({"conflictId": conflict_id, "resolution": "client"});
    let (status, _) = server
        .post("/api/sync/resolve-conflict", Some(&bob.token), &body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bob writing the same id and changeId creates his own record, not a duplicate of Alice's.
    let mine = change("n1", "n1-1", None, 1, "bob-phone", json!({"bob": true}));
    let result = server
        .push(&bob, "bob-phone", json!({"notes": [mine]}), json!({}))
        .await
        .remove(0);
    assert_eq!(
        (result["status"].as_str(), result["version"].as_u64()),
        (Some("applied"), Some(1))
    );
    let (records, _) = server.pull_all(&alice, "phone", None).await;
    assert!(records.iter().all(|r| r["data"].get("bob").is_none()));
    server.stop().await;
}
