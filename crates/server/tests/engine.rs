//! The sync engine (`ferrysync_core::engine`) against the server's real router, in-process:
//! memory stores on the device side, SQLite on the server side, no sockets.

mod engine {
    pub(crate) mod clock_skew;
    pub(crate) mod collections;
    pub(crate) mod conflict_edits;
    pub(crate) mod conflicts_closed;
    pub(crate) mod in_process;
    pub(crate) mod large;
    pub(crate) mod model;
    pub(crate) mod own_writes;
}

use engine::in_process::{Device, TestServer};
use ferrysync_core::conflict::FieldPolicy;
use ferrysync_core::engine::{Choice, Config, Health};
use ferrysync_core::{CollectionPolicy, Strategy, SyncStatus};
use serde_json::{json, Value};

fn config() -> Config {
    Config::new(engine::in_process::COLLECTIONS)
}

fn with_strategy(strategy: Strategy) -> Config {
    config().with_policy(
        "todos",
        CollectionPolicy {
            strategy,
            ..CollectionPolicy::default()
        },
    )
}

/// `a` and `b` start from the same synced record, then edit it offline (`b` later than `a`
/// when `b_newer`); `a` syncs first, then `b`, then `a` again. Returns both devices.
async fn concurrent_edit(server: &TestServer, config: Config, b_newer: bool) -> (Device, Device) {
    let token = server
        .user(&format!("u{}", uuid::Uuid::new_v4().simple()))
        .await;
    let a = server.device(&token, config.clone()).await;
    let b = server.device(&token, config).await;
    a.engine
        .put("todos", "t1", json!({"x": 0, "y": 0}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    b.engine.sync().await.unwrap();
    a.clock.advance(if b_newer { 1_000 } else { 2_000 });
    b.clock.advance(if b_newer { 2_000 } else { 1_000 });
    a.engine
        .put("todos", "t1", json!({"x": "a", "y": 0}))
        .await
        .unwrap();
    b.engine
        .put("todos", "t1", json!({"x": 0, "y": "b"}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    a.engine.sync().await.unwrap();
    (a, b)
}

#[tokio::test]
async fn a_write_reaches_another_device_and_status_stays_true() {
    let server = TestServer::start().await;
    let token = server.user("alice").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    a.engine
        .put("todos", "t1", json!({"title": "milk"}))
        .await
        .unwrap();
    a.engine
        .put("notes", "n1", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(a.engine.status().pending, 2);
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.applied), (2, 2));
    let status = a.engine.status();
    assert_eq!(
        (status.pending, status.health, status.syncing),
        (0, Health::Good, false)
    );
    assert_eq!(b.engine.sync().await.unwrap().pulled, 2);
    assert_eq!(b.data("t1").await, Some(json!({"title": "milk"})));
    let record = b.engine.get("todos", "t1").await.unwrap().unwrap();
    assert_eq!(
        (record.sync.status, record.sync.version),
        (SyncStatus::Synced, Some(1))
    );
}

#[tokio::test]
async fn each_strategy_decides_a_concurrent_edit() {
    let server = TestServer::start().await;
    let a_wins = json!({"x": "a", "y": 0});
    let b_wins = json!({"x": 0, "y": "b"});
    let cases = [
        (Strategy::NewestWins, true, b_wins.clone()),
        (Strategy::NewestWins, false, a_wins.clone()),
        (Strategy::ServerWins, true, a_wins.clone()),
        (Strategy::ClientWins, false, b_wins.clone()),
        (Strategy::Merge, true, json!({"x": "a", "y": "b"})),
    ];
    for (strategy, b_newer, expected) in cases {
        let (a, b) = concurrent_edit(&server, with_strategy(strategy), b_newer).await;
        assert_eq!(
            a.data("t1").await,
            Some(expected.clone()),
            "{strategy:?} on a"
        );
        assert_eq!(b.data("t1").await, Some(expected), "{strategy:?} on b");
        assert_eq!(
            (a.engine.status().pending, b.engine.status().pending),
            (0, 0)
        );
    }
}

#[tokio::test]
async fn a_manual_conflict_resolved_on_one_device_reaches_the_other() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let status = b.engine.status();
    assert_eq!((status.conflicts, status.pending), (1, 0));
    let open = b.engine.conflicts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].local, json!({"x": 0, "y": "b"}));
    assert_eq!(open[0].remote, json!({"x": "a", "y": 0}));
    assert_eq!(open[0].strategy, Strategy::Manual);
    assert!(!open[0].created_at.is_empty());
    let merged = json!({"x": "a", "y": "b", "z": "merged"})
        .as_object()
        .cloned()
        .unwrap();
    let stored = b
        .engine
        .resolve_conflict(&open[0].id, Choice::Merged(merged))
        .await
        .unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Synced);
    assert_eq!(b.engine.status().conflicts, 0);
    a.engine.sync().await.unwrap();
    assert_eq!(
        a.data("t1").await,
        Some(json!({"x": "a", "y": "b", "z": "merged"}))
    );
    // Choosing a side works too, on a new conflict.
    let (c, d) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let open = d.engine.conflicts().await.unwrap();
    d.engine
        .resolve_conflict(&open[0].id, Choice::Remote)
        .await
        .unwrap();
    c.engine.sync().await.unwrap();
    assert_eq!(d.data("t1").await, c.data("t1").await);
    assert_eq!(d.data("t1").await, Some(json!({"x": "a", "y": 0})));
}

#[tokio::test]
async fn a_field_policy_result_replaces_the_local_data() {
    let server = TestServer::start().await;
    let token = server.user("quiz").await;
    let mut policy = CollectionPolicy::default();
    policy.fields.insert("score".into(), FieldPolicy::Max);
    let a = server
        .device(&token, config().with_policy("todos", policy))
        .await;
    a.engine
        .put("todos", "q", json!({"score": 10}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    a.engine
        .put("todos", "q", json!({"score": 3}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("q").await, Some(json!({"score": 10})));
}

#[tokio::test]
async fn pushes_and_pulls_go_in_batches_and_pages() {
    let server = TestServer::start().await;
    let token = server.user("pager").await;
    let a = server.device(&token, config().with_batch_size(10)).await;
    let b = server.device(&token, config().with_batch_size(10)).await;
    let items = (0..25)
        .map(|i| (format!("t{i:02}"), json!({"n": i}).as_object().cloned()))
        .collect();
    a.engine.write_many("todos", items).await.unwrap();
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.applied), (25, 25));
    assert_eq!(a.engine.transport().pushes.get(), 3);
    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.pulled, 25);
    assert!(b.engine.transport().pulls.get() >= 3);
    assert_eq!(b.engine.store().all("todos").len(), 25);
    let pulls = b.engine.transport().pulls.get();
    assert_eq!(
        b.engine.sync().await.unwrap().pulled,
        0,
        "the cursor was saved"
    );
    assert_eq!(b.engine.transport().pulls.get(), pulls + 1);
}

#[tokio::test]
async fn a_lost_answer_is_retried_idempotently_even_after_another_edit() {
    let server = TestServer::start().await;
    let token = server.user("lossy").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    a.engine.put("todos", "t1", json!({"v": 1})).await.unwrap();
    a.engine.transport().lose_next_push.set(true);
    let err = a.engine.sync().await.unwrap_err();
    assert_eq!(err.code(), "NETWORK");
    let status = a.engine.status();
    assert_eq!((status.pending, status.health), (1, Health::Degraded));
    assert_eq!(status.last_error.unwrap().code, "NETWORK");
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.skipped, report.conflicts), (1, 0));
    // Lost again, then edited before the retry: a continuation of its own write.
    a.engine.put("todos", "t1", json!({"v": 2})).await.unwrap();
    a.engine.transport().lose_next_push.set(true);
    assert!(a.engine.sync().await.is_err());
    a.engine.put("todos", "t1", json!({"v": 3})).await.unwrap();
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.applied, report.conflicts), (1, 0));
    b.engine.sync().await.unwrap();
    let record = b.engine.get("todos", "t1").await.unwrap().unwrap();
    assert_eq!(
        (Value::Object(record.data.into_inner()), record.sync.version),
        (json!({"v": 3}), Some(3))
    );
    assert_eq!(a.engine.status().health, Health::Good);
}

#[tokio::test]
async fn an_edit_made_while_a_push_is_in_flight_is_not_lost() {
    let server = TestServer::start().await;
    let token = server.user("busy").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    a.engine
        .put("todos", "t1", json!({"v": "before"}))
        .await
        .unwrap();
    let transport = a.engine.transport();
    transport.pause_next_push.set(true);
    let edit = async {
        transport.paused.notified().await;
        a.engine
            .put("todos", "t1", json!({"v": "during"}))
            .await
            .unwrap();
        a.engine
            .put("todos", "t2", json!({"v": "new"}))
            .await
            .unwrap();
        assert_eq!(a.engine.sync().await.unwrap_err().code(), "SYNC_BUSY");
        transport.resume.notify_one();
    };
    let (report, ()) = tokio::join!(a.engine.sync(), edit);
    let report = report.unwrap();
    // The in-flight version was acknowledged without clearing the newer edit, which the same
    // cycle then pushed as a continuation.
    assert_eq!((report.pushed, report.applied, report.conflicts), (3, 3, 0));
    assert_eq!(a.data("t1").await, Some(json!({"v": "during"})));
    assert_eq!(a.engine.status().pending, 0);
    b.engine.sync().await.unwrap();
    assert_eq!(b.data("t1").await, Some(json!({"v": "during"})));
    assert_eq!(b.data("t2").await, Some(json!({"v": "new"})));
}

#[tokio::test]
async fn tombstones_reach_other_devices_and_a_delete_meets_an_edit() {
    let server = TestServer::start().await;
    let token = server.user("deleter").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    a.engine.put("todos", "t1", json!({"v": 1})).await.unwrap();
    a.engine.put("todos", "t2", json!({"v": 1})).await.unwrap();
    a.engine.sync().await.unwrap();
    b.engine.sync().await.unwrap();
    assert!(a.engine.delete("todos", "t1").await.unwrap());
    assert_eq!(a.data("t1").await, None);
    a.engine.sync().await.unwrap();
    assert_eq!(
        a.engine.store().all("todos").len(),
        1,
        "acknowledged tombstone removed"
    );
    b.engine.sync().await.unwrap();
    assert_eq!(b.data("t1").await, None);
    // Concurrent delete (older) and edit (newer) of t2: newest wins, the edit survives.
    a.clock.advance(1_000);
    b.clock.advance(2_000);
    a.engine.delete("todos", "t2").await.unwrap();
    b.engine.put("todos", "t2", json!({"v": 2})).await.unwrap();
    a.engine.sync().await.unwrap();
    b.engine.sync().await.unwrap();
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t2").await, Some(json!({"v": 2})));
    assert_eq!(b.data("t2").await, Some(json!({"v": 2})));
}

#[tokio::test]
async fn a_rejected_change_does_not_block_the_others() {
    let server = TestServer::start().await;
    let token = server.user("rejecter").await;
    let a = server.device(&token, config()).await;
    let long_id = "x".repeat(300);
    a.engine
        .put("todos", "ok-1", json!({"v": 1}))
        .await
        .unwrap();
    a.engine
        .put("todos", &long_id, json!({"v": 1}))
        .await
        .unwrap();
    a.engine
        .put("todos", "ok-2", json!({"v": 1}))
        .await
        .unwrap();
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.applied, report.rejected), (2, 1));
    let status = a.engine.status();
    assert_eq!((status.pending, status.rejected), (0, 1));
    let rejected = a.engine.rejected().await.unwrap();
    assert_eq!(rejected[0].record_id, long_id);
    assert!(!rejected[0].reason.is_empty());
    assert_eq!(
        a.engine.sync().await.unwrap().pushed,
        0,
        "not retried until edited"
    );
    a.engine.discard_rejected(&rejected[0].id).await.unwrap();
    assert_eq!(a.engine.status().rejected, 0);
    assert!(a.engine.rejected().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_token_is_reported_not_retried_hot() {
    let server = TestServer::start().await;
    let a = server.device("not-a-token", config()).await;
    a.engine.put("todos", "t1", json!({})).await.unwrap();
    let err = a.engine.sync().await.unwrap_err();
    assert_eq!(err.code(), "UNAUTHORIZED");
    let mut retry = ferrysync_core::Retry::default();
    assert_eq!(retry.on_failure(err.transport().unwrap(), 0.5), None);
    assert_eq!(a.engine.status().last_error.unwrap().code, "UNAUTHORIZED");
    assert_eq!(a.engine.status().pending, 1);
}

#[tokio::test]
async fn offline_devices_send_nothing() {
    let server = TestServer::start().await;
    let token = server.user("offline").await;
    let a = server.device(&token, config()).await;
    a.engine.set_online(false);
    a.engine.put("todos", "t1", json!({})).await.unwrap();
    assert_eq!(a.engine.sync().await.unwrap_err().code(), "OFFLINE");
    assert_eq!(
        a.engine.transport().pushes.get() + a.engine.transport().pulls.get(),
        0
    );
    assert_eq!(a.engine.status().health, Health::Offline);
    a.engine.set_online(true);
    a.engine.sync().await.unwrap();
    assert_eq!(a.engine.status().pending, 0);
}
