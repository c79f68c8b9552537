//! A device edits a record it holds in `CONFLICT`: the edit is pushed as a newer change of the
//! record, and the server closes the conflict it supersedes (`superseded`), so a record never
//! keeps an open conflict that no device lists or can resolve.

use ferrysync_core::engine::Choice;
use ferrysync_core::protocol::conflict_ids;
use ferrysync_core::{Strategy, SyncStatus};
use serde_json::json;

use super::in_process::Device;
use crate::{concurrent_edit, with_strategy, TestServer};

/// The ids of the user's conflict-log entries with `status`, newest first.
async fn logged(device: &Device, status: &str) -> Vec<String> {
    let log = device
        .engine
        .transport()
        .get(&format!("/api/sync/conflicts?status={status}"))
        .await;
    conflict_ids(&log)
}

#[tokio::test]
async fn editing_a_conflicted_record_supersedes_its_open_conflict() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let first = b.engine.conflicts().await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(logged(&b, "open").await, [first[0].id.clone()]);

    // b edits the record instead of resolving: pending, no longer listed as a conflict.
    b.clock.advance(1_000);
    b.engine
        .put("todos", "t1", json!({"x": 0, "y": "b2"}))
        .await
        .unwrap();
    assert_eq!(
        (b.engine.status().pending, b.engine.status().conflicts),
        (1, 0)
    );
    // Its push meets a's version again: one new conflict, with the new edit.
    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    let second = b.engine.conflicts().await.unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    assert_eq!(second[0].local, json!({"x": 0, "y": "b2"}));
    assert_eq!(second[0].remote, json!({"x": "a", "y": 0}));
    // The device keeps the server's side of that one only.
    assert_eq!(
        b.conflict_details().await,
        std::slice::from_ref(&second[0].id)
    );
    // The server holds exactly that one open: the first was closed by the edit.
    assert_eq!(logged(&b, "open").await, [second[0].id.clone()]);
    assert_eq!(logged(&b, "superseded").await, [first[0].id.clone()]);
    let status = b
        .engine
        .transport()
        .get(&format!("/api/sync/status/{}", b.engine.device_id()))
        .await;
    assert_eq!(status["openConflicts"], 1, "{status}");

    // The superseded one cannot be resolved any more; the open one resolves as usual.
    let stale = b.engine.resolve_conflict(&first[0].id, Choice::Local).await;
    assert!(stale.is_err(), "{stale:?}");
    let stored = b
        .engine
        .resolve_conflict(&second[0].id, Choice::Local)
        .await
        .unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Synced);
    assert_eq!(logged(&b, "open").await, Vec::<String>::new());
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t1").await, Some(json!({"x": 0, "y": "b2"})));
    assert_eq!(b.data("t1").await, a.data("t1").await);
}

/// A manual conflict is resolved against the server version the person saw: a pull refreshes
/// the conflict's server side, and a `local` or merged choice made against a version the server
/// has since moved past is refused (`CONFLICT_OUTDATED`) and refreshes it, instead of writing
/// over a version nobody saw.
#[tokio::test]
async fn a_resolution_is_made_against_the_server_version_the_device_has_seen() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = b.engine.conflicts().await.unwrap()[0].id.clone();
    let edit = |x: &str| json!({"x": x, "y": 0});
    a.engine.put("todos", "t1", edit("a2")).await.unwrap();
    a.engine.sync().await.unwrap();
    // b's pull keeps its own side and shows the newer server side.
    b.engine.sync().await.unwrap();
    let open = b.engine.conflicts().await.unwrap();
    assert_eq!((open.len(), &open[0].id), (1, &id));
    assert_eq!(open[0].local, json!({"x": 0, "y": "b"}));
    assert_eq!(open[0].remote, edit("a2"));

    // a writes again before b decides: b's choice was made against a2, not a3.
    a.engine.put("todos", "t1", edit("a3")).await.unwrap();
    a.engine.sync().await.unwrap();
    let stale = b.engine.resolve_conflict(&id, Choice::Local).await;
    let err = stale.expect_err("a choice against an outdated server version");
    assert_eq!(err.code(), "CONFLICT_OUTDATED", "{err}");
    let open = b.engine.conflicts().await.unwrap();
    assert_eq!(open[0].remote, edit("a3"), "refreshed from the server");
    assert_eq!(b.engine.status().conflicts, 1);
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t1").await, Some(edit("a3")), "nothing written");

    // Chosen again, against what the server holds now: taken.
    let stored = b.engine.resolve_conflict(&id, Choice::Local).await.unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Synced);
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t1").await, Some(json!({"x": 0, "y": "b"})));
    // Keeping the server's side needs no such check: it writes nothing.
    let (c, d) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = d.engine.conflicts().await.unwrap()[0].id.clone();
    c.engine.put("todos", "t1", edit("c2")).await.unwrap();
    c.engine.sync().await.unwrap();
    d.engine
        .resolve_conflict(&id, Choice::Remote)
        .await
        .unwrap();
    assert_eq!(d.data("t1").await, Some(edit("c2")));
}

/// A resolution whose answer was lost: the server closed the conflict, the device still holds
/// it. Choosing again takes the record as the server holds it, instead of failing for good
/// with `conflict_already_resolved` and leaving the record in `CONFLICT`.
#[tokio::test]
async fn a_resolution_whose_answer_was_lost_completes_when_chosen_again() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = b.engine.conflicts().await.unwrap()[0].id.clone();
    b.engine.transport().lose_next_resolve.set(true);
    let lost = b.engine.resolve_conflict(&id, Choice::Local).await;
    assert_eq!(lost.expect_err("answer lost").code(), "NETWORK");
    assert_eq!(b.engine.conflicts().await.unwrap().len(), 1, "still held");
    assert_eq!(
        logged(&b, "open").await,
        Vec::<String>::new(),
        "closed on the server"
    );

    let stored = b.engine.resolve_conflict(&id, Choice::Local).await.unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Synced);
    assert_eq!(b.data("t1").await, Some(json!({"x": 0, "y": "b"})));
    assert_eq!(
        (b.engine.status().conflicts, b.engine.status().pending),
        (0, 0)
    );
    assert!(b.engine.conflicts().await.unwrap().is_empty());
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t1").await, b.data("t1").await);
}
