//! Pushes larger than the server takes in one request: the server's body limit (413
//! `payload_too_large`) must never leave a device's changes stuck in its outbox.

use ferrysync_core::SyncStatus;
use serde_json::json;

use crate::{config, TestServer};

/// A record of about `kb` KB.
fn record(i: usize, kb: usize) -> serde_json::Value {
    json!({"i": i, "text": "x".repeat(kb * 1000)})
}

#[tokio::test]
async fn a_batch_over_the_body_limit_is_sent_in_parts_and_a_record_over_it_alone_is_rejected() {
    // 64 KiB per request: a batch of 20 records of 10 KB needs four requests or more.
    let server = TestServer::with_body_limit(64 * 1024).await;
    let token = server.user("large").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    for i in 0..20 {
        let id = format!("t{i:02}");
        a.engine.put("todos", &id, record(i, 10)).await.unwrap();
    }
    // Larger than any request the server takes, yet under the record size limit (1 MiB).
    a.engine
        .put("todos", "huge", record(99, 100))
        .await
        .unwrap();
    a.engine
        .put("notes", "n1", json!({"after": "huge"}))
        .await
        .unwrap();

    let report = a
        .engine
        .sync()
        .await
        .expect("the push goes through in parts");
    assert_eq!(
        (report.pushed, report.applied, report.rejected),
        (22, 21, 1),
        "{report:?}"
    );
    let status = a.engine.status();
    assert_eq!((status.pending, status.rejected), (0, 1));
    assert_eq!(status.last_error, None);
    let huge = a.engine.get("todos", "huge").await.unwrap().unwrap();
    assert_eq!(huge.sync.status, SyncStatus::Rejected);
    let rejected = a.engine.rejected().await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reason, "payload_too_large", "{rejected:?}");
    // Every request stayed under the limit: four or more pushes, each answered.
    assert!(a.engine.transport().pushes.get() >= 4);

    // The next cycle's batch as large is cut before it is sent: no body is uploaded to be
    // refused again (the huge record alone was refused once more at most, when edited).
    let refused = a.engine.transport().too_large.get();
    assert!(refused >= 2, "{refused}");
    for i in 20..40 {
        let id = format!("t{i:02}");
        a.engine.put("todos", &id, record(i, 10)).await.unwrap();
    }
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.applied), (20, 20), "{report:?}");
    assert_eq!(a.engine.transport().too_large.get(), refused);

    b.engine.sync().await.unwrap();
    assert_eq!(
        b.engine.get("todos", "t39").await.unwrap().unwrap().data["i"],
        39
    );
    assert_eq!(
        b.engine.get("notes", "n1").await.unwrap().unwrap().data["after"],
        "huge"
    );
    assert!(b.engine.get("todos", "huge").await.unwrap().is_none());

    // Edited small again, it goes through.
    a.engine.put("todos", "huge", record(99, 1)).await.unwrap();
    a.engine.sync().await.unwrap();
    assert_eq!(a.engine.status().rejected, 0);
    b.engine.sync().await.unwrap();
    assert_eq!(
        b.engine.get("todos", "huge").await.unwrap().unwrap().data["i"],
        99
    );
}
