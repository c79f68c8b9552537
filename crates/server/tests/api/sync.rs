//! Push, pull, full sync, idempotency, tombstones and paging.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, delete, Backend};

pub(crate) async fn push_then_pull_on_another_device(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let results = server
        .push(
            &s,
            "phone",
            json!({"notes": [
                change("n1", "c1", None, 1000, "phone", json!({"title": "a"})),
                change("n2", "c2", None, 1001, "phone", json!({"title": "b"})),
            ]}),
            json!({}),
        )
        .await;
    assert_eq!(results.len(), 2);
    for result in &results {
        assert_eq!(result["status"], "applied", "{result}");
        assert_eq!(result["version"], 1);
    }
    let page = server.pull(&s, "laptop", None, None).await;
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["id"], "n1");
    assert_eq!(changes[0]["data"], json!({"title": "a"}));
    assert_eq!(changes[0]["collection"], "notes");
    assert_eq!(changes[0]["deviceId"], "phone");
    assert_eq!(page["hasMore"], false);
    assert!(page["timestamp"].is_string());
    let cursor = page["cursor"].as_str().unwrap();
    let next = server.pull(&s, "laptop", Some(cursor), None).await;
    assert_eq!(next["changes"], json!([]));
    assert_eq!(next["cursor"], cursor);

    let edit = change("n1", "c3", Some(1), 2000, "laptop", json!({"title": "a2"}));
    let results = server
        .push(&s, "laptop", json!({"notes": [edit]}), json!({}))
        .await;
    assert_eq!(
        (
            results[0]["status"].as_str(),
            results[0]["version"].as_u64()
        ),
        (Some("applied"), Some(2))
    );
    let page = server.pull(&s, "phone", Some(cursor), None).await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    assert_eq!(page["changes"][0]["version"], 2);
    server.stop().await;
}

pub(crate) async fn idempotent_retry_returns_earlier_outcome(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let batch = json!({"notes": [change("n1", "c1", None, 1000, "phone", json!({"v": 1}))]});
    let first = server.push(&s, "phone", batch.clone(), json!({})).await;
    assert_eq!(first[0]["status"], "applied");
    let retry = server.push(&s, "phone", batch.clone(), json!({})).await;
    assert_eq!(retry[0]["status"], "skipped");
    assert_eq!(retry[0]["reason"], "duplicate");
    assert_eq!(retry[0]["version"], 1);
    // The same changeId twice in one batch is applied once too.
    let twice = json!({"notes": [
        change("n2", "c2", None, 1000, "phone", json!({"v": 1})),
        change("n2", "c2", None, 1000, "phone", json!({"v": 1})),
    ]});
    let results = server.push(&s, "phone", twice, json!({})).await;
    assert_eq!(results[0]["status"], "applied");
    assert_eq!(results[1]["reason"], "duplicate");
    let (records, _) = server.pull_all(&s, "laptop", None).await;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["version"] == 1));
    server.stop().await;
}

pub(crate) async fn lost_response_then_edit_is_not_a_conflict(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    // Even under `manual`, where any conflict would stay open, the device never meets itself.
    let manual = json!({"notes": {"strategy": "manual"}});
    let create = change("n1", "c1", None, 1000, "phone", json!({"t": "a"}));
    server
        .push(&s, "phone", json!({"notes": [create]}), manual.clone())
        .await;
    // This push succeeds but the phone never sees the response: it still thinks base is 1.
    let edit = change("n1", "c2", Some(1), 2000, "phone", json!({"t": "b"}));
    let lost = server
        .push(
            &s,
            "phone",
            json!({"notes": [edit.clone()]}),
            manual.clone(),
        )
        .await;
    assert_eq!(lost[0]["version"], 2);
    // The phone retries c2 and then pushes a new edit, still from base 1.
    let again = change("n1", "c3", Some(1), 3000, "phone", json!({"t": "c"}));
    let results = server
        .push(&s, "phone", json!({"notes": [edit, again]}), manual)
        .await;
    assert_eq!(results[0]["reason"], "duplicate");
    assert_eq!(results[1]["status"], "applied", "{}", results[1]);
    assert_eq!(results[1]["version"], 3);
    let (status, body) = server.get("/api/sync/conflicts", Some(&s.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["conflicts"], json!([]));
    // Another device editing from base 1 does conflict.
    let other = change("n1", "c4", Some(1), 4000, "laptop", json!({"t": "x"}));
    let results = server
        .push(
            &s,
            "laptop",
            json!({"notes": [other]}),
            json!({"notes": {"strategy": "manual"}}),
        )
        .await;
    assert_eq!(results[0]["status"], "conflict");
    server.stop().await;
}

pub(crate) async fn tombstones_are_pulled_and_conflict_like_edits(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let items = json!({"notes": [
        change("n1", "c1", None, 1000, "phone", json!({"t": "a"})),
        change("n2", "c2", None, 1000, "phone", json!({"t": "b"})),
    ]});
    server.push(&s, "phone", items, json!({})).await;
    let (_, cursor) = server.pull_all(&s, "laptop", None).await;
    let results = server
        .push(
            &s,
            "phone",
            json!({"notes": [delete("n1", "c3", 1, 2000, "phone")]}),
            json!({}),
        )
        .await;
    assert_eq!(
        (
            results[0]["status"].as_str(),
            results[0]["version"].as_u64()
        ),
        (Some("applied"), Some(2))
    );
    let (records, _) = server.pull_all(&s, "laptop", Some(&cursor)).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["deleted"], true);
    assert_eq!(records[0]["data"], Value::Null);
    assert_eq!(records[0]["version"], 2);
    // The laptop edits n1 from version 1, older than the delete: newest wins, the edit is newer.
    let stale_edit = change("n1", "c4", Some(1), 3000, "laptop", json!({"t": "revived"}));
    let results = server
        .push(&s, "laptop", json!({"notes": [stale_edit]}), json!({}))
        .await;
    assert_eq!(results[0]["status"], "conflict");
    assert_eq!(results[0]["winner"], "client");
    assert_eq!(results[0]["record"]["deleted"], false);
    // A delete older than the edit it meets loses.
    let old_delete = delete("n2", "c5", 0, 500, "laptop");
    let edit = change("n2", "c6", Some(1), 5000, "phone", json!({"t": "b2"}));
    server
        .push(&s, "phone", json!({"notes": [edit]}), json!({}))
        .await;
    let results = server
        .push(&s, "laptop", json!({"notes": [old_delete]}), json!({}))
        .await;
    assert_eq!(
        (results[0]["status"].as_str(), results[0]["winner"].as_str()),
        (Some("conflict"), Some("server"))
    );
    assert_eq!(results[0]["record"]["data"], json!({"t": "b2"}));
    server.stop().await;
}

pub(crate) async fn paging_through_2500_records(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    for batch in 0..3 {
        let n = if batch < 2 { 1000 } else { 500 };
        let items: Vec<Value> = (0..n)
            .map(|i| {
                let k = batch * 1000 + i;
                change(
                    &format!("r{k}"),
                    &format!("c{k}"),
                    None,
                    1000 + k,
                    "phone",
                    json!({"k": k}),
                )
            })
            .collect();
        let results = server
            .push(&s, "phone", json!({"items": items}), json!({}))
            .await;
        assert_eq!(results.len(), n as usize);
    }
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    loop {
        let page = server
            .pull(&s, "laptop", cursor.as_deref(), Some(1000))
            .await;
        for record in page["changes"].as_array().unwrap() {
            assert!(
                seen.insert(record["id"].as_str().unwrap().to_owned()),
                "each record once"
            );
        }
        pages.push((
            page["changes"].as_array().unwrap().len(),
            page["hasMore"].as_bool().unwrap(),
        ));
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(pages, vec![(1000, true), (1000, true), (500, false)]);
    assert_eq!(seen.len(), 2500);
    let default_page = server.pull(&s, "tablet", None, None).await;
    assert_eq!(
        default_page["changes"].as_array().unwrap().len(),
        500,
        "default limit"
    );
    let capped = server.pull(&s, "tablet", None, Some(5000)).await;
    assert_eq!(
        capped["changes"].as_array().unwrap().len(),
        1000,
        "limit capped at 1000"
    );
    // An edited record moves to the end and appears once, at its latest version.
    let edits = json!({"items": [
        change("r5", "e1", Some(1), 9000, "phone", json!({"k": "x"})),
        change("r5", "e2", Some(2), 9001, "phone", json!({"k": "y"})),
    ]});
    server.push(&s, "phone", edits, json!({})).await;
    let (records, _) = server.pull_all(&s, "laptop", cursor.as_deref()).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0]["version"].as_u64(), &records[0]["data"]),
        (Some(3), &json!({"k": "y"}))
    );
    server.stop().await;
}

pub(crate) async fn full_sync_pushes_then_pulls(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    server
        .push(
            &s,
            "phone",
            json!({"notes": [change("n1", "c1", None, 1, "phone", json!({"a": 1}))]}),
            json!({}),
        )
        .await;
    let body = json!({
        "push": {"deviceId": "laptop", "changes": {"notes": [change("n2", "c2", None, 2, "laptop", json!({"b": 2}))]}},
        "pull": {"deviceId": "laptop"},
    });
    let (status, body) = server.post("/api/sync/full", Some(&s.token), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["push"]["results"][0]["status"], "applied");
    let ids: Vec<&str> = body["pull"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["n1", "n2"]);
    let (status, _) = server
        .post("/api/sync/full", Some(&s.token), &json!({"push": {}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

pub(crate) async fn first_pull_by_timestamp_and_collection_filter(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let items = json!({
        "notes": [change("n1", "c1", None, 1, "phone", json!({}))],
        "tasks": [change("t1", "c2", None, 1, "phone", json!({}))],
    });
    server.push(&s, "phone", items, json!({})).await;
    let pull = |body: Value| {
        let server = &server;
        let token = s.token.clone();
        async move { server.post("/api/sync/pull", Some(&token), &body).await }
    };
    let (_, page) =
        pull(json!({"deviceId": "l", "lastSyncTimestamp": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 2);
    let (_, page) =
        pull(json!({"deviceId": "l", "lastSyncTimestamp": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(page["changes"], json!([]));
    let (status, _) = pull(json!({"deviceId": "l", "lastSyncTimestamp": "yesterday"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, page) = pull(json!({"deviceId": "l", "collections": ["tasks"]})).await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    assert_eq!(page["changes"][0]["collection"], "tasks");
    server.stop().await;
}

/// Pages end once their records' data reaches 4 MiB (`MAX_PAGE_BYTES`), whatever the limit:
/// 20 records of 300 KB come as 14 (the fourteenth brings the page past 4 MiB) and 6, in order,
/// each once, and the cursor of the short page goes on where it stopped.
pub(crate) async fn large_records_make_smaller_pages(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let text = "x".repeat(300_000);
    for part in 0..2 {
        let items: Vec<Value> = (part * 10..part * 10 + 10)
            .map(|k| {
                let id = format!("r{k:02}");
                change(&id, &id, None, 1000 + k, "phone", json!({"text": text}))
            })
            .collect();
        server
            .push(&s, "phone", json!({"files": items}), json!({}))
            .await;
    }
    let (mut cursor, mut ids, mut pages) = (None::<String>, Vec::new(), Vec::new());
    loop {
        let page = server
            .pull(&s, "laptop", cursor.as_deref(), Some(1000))
            .await;
        let changes = page["changes"].as_array().unwrap();
        ids.extend(changes.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        pages.push((changes.len(), page["hasMore"].as_bool().unwrap()));
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(pages, [(14, true), (6, false)]);
    let expected: Vec<String> = (0..20).map(|k| format!("r{k:02}")).collect();
    assert_eq!(ids, expected);
    server.stop().await;
}
