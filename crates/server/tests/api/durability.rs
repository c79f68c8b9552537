//! Concurrency and shutdown: no committed write is ever skipped by a pull, and a graceful
//! shutdown finishes the requests in flight.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, numbered_changes, Backend};

pub(crate) async fn concurrent_pushes_are_never_skipped_by_pulls(backend: Backend) {
    pull_while_pushing(backend, false).await;
}

/// The same with `excludeOwn` pulls by one of the pushing devices: its cursor also moves past
/// its own writes, and must never move past another device's write that commits meanwhile.
pub(crate) async fn concurrent_pushes_are_never_skipped_by_pulls_without_own_writes(
    backend: Backend,
) {
    pull_while_pushing(backend, true).await;
}

/// Six devices push while `reader` (with `exclude_own`: `d0`, one of them) pulls; every record
/// it should get arrives exactly once.
async fn pull_while_pushing(backend: Backend, exclude_own: bool) {
    let reader = if exclude_own { "d0" } else { "reader" };
    let server = backend.start().await;
    let s = server.register("alice").await;
    let (devices, batches, size) = (6, 5, 40);
    let mut pushers = Vec::new();
    for d in 0..devices {
        let (client, base, token) = (server.client.clone(), server.base.clone(), s.token.clone());
        pushers.push(tokio::spawn(async move {
            for b in 0..batches {
                let items: Vec<Value> = (0..size)
                    .map(|i| {
                        change(
                            &format!("d{d}-{b}-{i}"),
                            &format!("c{d}-{b}-{i}"),
                            None,
                            1,
                            &format!("d{d}"),
                            json!({}),
                        )
                    })
                    .collect();
                let body = json!({"deviceId": format!("d{d}"), "changes": {"n": items}});
                let res = client
                    .post(format!("{base}/api/sync/push"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                assert_eq!(res.unwrap().status(), StatusCode::OK);
            }
        }));
    }
    // Pull continuously while the pushes commit; every record must show up exactly once.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut done = false;
    loop {
        let body =
            json!({"deviceId": reader, "cursor": cursor, "limit": 50, "excludeOwn": exclude_own});
        let (status, page) = server.post("/api/sync/pull", Some(&s.token), &body).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for record in page["changes"].as_array().unwrap() {
            assert!(
                !exclude_own || record["deviceId"] != "d0",
                "own write: {record}"
            );
            assert!(
                seen.insert(record["id"].as_str().unwrap().to_owned()),
                "served twice: {record}"
            );
        }
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if done && page["hasMore"] == false {
            break;
        }
        done = pushers.iter().all(|p| p.is_finished());
    }
    for pusher in pushers {
        pusher.await.unwrap();
    }
    let body = json!({"deviceId": reader, "cursor": cursor, "excludeOwn": exclude_own});
    let (_, rest) = server.post("/api/sync/pull", Some(&s.token), &body).await;
    assert_eq!(
        (&rest["changes"], &rest["hasMore"]),
        (&json!([]), &json!(false))
    );
    let own = if exclude_own { batches * size } else { 0 };
    assert_eq!(seen.len(), devices * batches * size - own);
    server.stop().await;
}

pub(crate) async fn graceful_shutdown_finishes_requests_in_flight(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    // Several large pushes queue behind each other, so some are mid-flight when the stop comes.
    let mut in_flight = Vec::new();
    for p in 0..4 {
        let items: Vec<Value> = (0..1000)
            .map(|i| {
                change(
                    &format!("r{p}-{i}"),
                    &format!("c{p}-{i}"),
                    None,
                    1,
                    "d",
                    json!({"i": i}),
                )
            })
            .collect();
        let body = json!({"deviceId": "d", "changes": {"n": items}});
        let request = server
            .client
            .post(format!("{}/api/sync/push", server.base))
            .bearer_auth(&s.token)
            .json(&body);
        in_flight.push(tokio::spawn(request.send()));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.stop().await;
    for push in in_flight {
        let res = push.await.unwrap().expect("a push in flight is answered");
        assert_eq!(res.status(), StatusCode::OK);
    }
    let again = backend.start().await;
    let (records, _) = again.pull_all(&s, "other", None).await;
    assert_eq!(records.len(), 4000, "everything acknowledged is kept");
    again.stop().await;
}

/// A write's log pages are copied into the database file in the background soon
/// after it commits, not left in the write-ahead log until a commit crosses SQLite's own
/// threshold (which is raised so that no request pays for a checkpoint; see `store/sqlite.rs`).
pub(crate) async fn writes_reach_the_database_file_in_the_background(backend: Backend) {
    let Backend::Sqlite(path) = &backend else {
        panic!("a SQLite test");
    };
    let server = backend.start().await;
    let s = server.register("alice").await;
    // Registering wrote too: let its checkpoint pass before measuring the file.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let size = || std::fs::metadata(path.as_path()).map_or(0, |m| m.len());
    let before = size();
    let note = "x".repeat(200);
    let items = numbered_changes(500, &json!({ "note": note }));
    server.push(&s, "d", json!({ "n": items }), json!({})).await;
    // 500 records of 200+ bytes: at least 100 KB more in the file once checkpointed.
    let mut grown = 0;
    for _ in 0..50 {
        grown = size().saturating_sub(before);
        if grown >= 100_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        grown >= 100_000,
        "the database file grew by {grown} bytes in 5 s"
    );
    server.stop().await;
}
