//! Conflicts closed behind the device's back: resolved through the API by another program, or
//! by a resolution whose answer was lost. The device's next cycle takes the server's version,
//! so it never lists a conflict nobody can resolve any more and its status stays true.

use ferrysync_core::engine::Choice;
use ferrysync_core::protocol::{Resolution, ResolveRequest};
use ferrysync_core::store::LocalStore;
use ferrysync_core::transport::{Transport, TransportError};
use ferrysync_core::{Strategy, SyncStatus};
use serde_json::{json, Value};

use super::in_process::Device;
use crate::{concurrent_edit, with_strategy, TestServer};

/// Closes conflict `id` through the API, as another program holding the user's token would.
async fn resolve_elsewhere(device: &Device, id: &str, resolution: Resolution, data: Option<Value>) {
    let request = ResolveRequest {
        conflict_id: id.to_owned(),
        resolution,
        data,
        remote_version: None,
    };
    device
        .engine
        .transport()
        .resolve_conflict(&request)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_conflict_resolved_by_another_program_is_closed_on_the_next_cycle() {
    let server = TestServer::start().await;
    for (resolution, data, outcome) in [
        // Keeping the server's side writes no new version: nothing to pull, only the conflict
        // log says it is closed.
        (Resolution::Server, None, json!({"x": "a", "y": 0})),
        (
            Resolution::Merged,
            Some(json!({"x": "m", "y": "m"})),
            json!({"x": "m", "y": "m"}),
        ),
    ] {
        let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
        let id = b.engine.conflicts().await.unwrap()[0].id.clone();
        assert_eq!(b.conflict_details().await, std::slice::from_ref(&id));
        resolve_elsewhere(&a, &id, resolution, data).await;

        let report = b.engine.sync().await.unwrap();
        assert_eq!(report.conflicts, 0, "{report:?}");
        assert!(
            b.engine.conflicts().await.unwrap().is_empty(),
            "{resolution:?}"
        );
        let status = b.engine.status();
        assert_eq!((status.conflicts, status.pending), (0, 0), "{resolution:?}");
        let t1 = b.engine.get("todos", "t1").await.unwrap().unwrap();
        assert_eq!(t1.sync.status, SyncStatus::Synced);
        assert_eq!(b.data("t1").await, Some(outcome.clone()), "{resolution:?}");
        assert!(
            b.conflict_details().await.is_empty(),
            "its details are dropped"
        );
        // Choosing now finds nothing to resolve; the devices agree.
        let gone = b.engine.resolve_conflict(&id, Choice::Local).await;
        assert_eq!(gone.expect_err("closed").code(), "NOT_FOUND");
        a.engine.sync().await.unwrap();
        assert_eq!(a.data("t1").await, Some(outcome));
    }
}

#[tokio::test]
async fn a_conflict_still_open_is_kept_and_an_edit_of_one_closed_elsewhere_opens_a_new_one() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = b.engine.conflicts().await.unwrap()[0].id.clone();
    // Still open on the server: a cycle keeps it, with its details.
    b.engine.sync().await.unwrap();
    assert_eq!(b.engine.conflicts().await.unwrap().len(), 1);
    assert_eq!(b.conflict_details().await, std::slice::from_ref(&id));
    assert_eq!(b.engine.status().conflicts, 1);

    // Resolved elsewhere while b edited the record: the edit is a newer change made against the
    // version the conflict opened on, so it meets the resolved version as a new conflict,
    // with the edit on b's side. Nothing is lost, and the old conflict is not listed again.
    resolve_elsewhere(&a, &id, Resolution::Client, None).await;
    b.clock.advance(5_000);
    b.engine
        .put("todos", "t1", json!({"x": "b3", "y": "b3"}))
        .await
        .unwrap();
    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    let open = b.engine.conflicts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id, id);
    assert_eq!(open[0].local, json!({"x": "b3", "y": "b3"}));
    assert_eq!(
        open[0].remote,
        json!({"x": 0, "y": "b"}),
        "the resolved version"
    );
    assert_eq!(b.conflict_details().await, [open[0].id.clone()]);
    let status = b.engine.status();
    assert_eq!((status.conflicts, status.pending), (1, 0));
}

#[tokio::test]
async fn details_no_record_holds_are_dropped_by_a_cycle() {
    let server = TestServer::start().await;
    let (_a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = b.engine.conflicts().await.unwrap()[0].id.clone();
    // A detail left behind by an older version of the engine, whose record is long settled.
    let mut held = b.engine.store().meta("conflicts").await.unwrap().unwrap();
    let orphan = held[&id].clone();
    held.as_object_mut()
        .unwrap()
        .insert("orphan".into(), orphan);
    b.engine
        .store()
        .update(&[], &[("conflicts", held)], &mut |_, r| r)
        .await
        .unwrap();
    assert_eq!(b.conflict_details().await.len(), 2);

    b.engine.sync().await.unwrap();
    assert_eq!(
        b.conflict_details().await,
        std::slice::from_ref(&id),
        "the open one stays"
    );
    assert_eq!(b.engine.conflicts().await.unwrap()[0].id, id);
}

#[tokio::test]
async fn a_cycle_whose_data_landed_is_not_failed_by_its_conflict_check() {
    let server = TestServer::start().await;
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    let id = b.engine.conflicts().await.unwrap()[0].id.clone();
    resolve_elsewhere(&a, &id, Resolution::Server, None).await;
    a.engine
        .put("todos", "t2", json!({"from": "a"}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    b.engine
        .put("todos", "t3", json!({"from": "b"}))
        .await
        .unwrap();

    // The network drops after the push and the pull: the cycle stands, and the check waits
    // for the next one.
    let cut = TransportError::Network("connection reset".into());
    b.engine.transport().fail_next_conflict_list.set(Some(cut));
    let report = b.engine.sync().await.expect("push and pull landed");
    assert_eq!((report.pushed, report.pulled), (1, 1), "{report:?}");
    let status = b.engine.status();
    assert_eq!(status.last_error, None);
    assert!(status.last_sync_at.is_some());
    assert_eq!(
        (status.pending, status.conflicts),
        (0, 1),
        "not checked yet"
    );
    assert_eq!(b.data("t2").await, Some(json!({"from": "a"})));
    assert_eq!(b.engine.conflicts().await.unwrap()[0].id, id);

    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.conflicts, 0, "{report:?}");
    assert!(b.engine.conflicts().await.unwrap().is_empty());
    assert_eq!(b.engine.status().conflicts, 0);
    assert_eq!(b.data("t1").await, Some(json!({"x": "a", "y": 0})));

    // A check the server refuses is a fault to see, not a network to wait for.
    let (a, b) = concurrent_edit(&server, with_strategy(Strategy::Manual), true).await;
    drop(a);
    let refused = TransportError::from_status(400, None, None);
    b.engine
        .transport()
        .fail_next_conflict_list
        .set(Some(refused));
    let error = b.engine.sync().await.expect_err("refused");
    assert_eq!(error.code(), "REQUEST_REFUSED");
    assert_eq!(
        b.engine.status().last_error.unwrap().code,
        "REQUEST_REFUSED"
    );
}
