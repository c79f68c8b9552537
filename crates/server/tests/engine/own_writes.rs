//! The engine's pulls leave out the device's own writes (`excludeOwn`): a cycle does not pull
//! back what it pushed, other devices' writes still arrive, and the re-pull after a discarded
//! change still brings the device's own server version back.

use ferrysync_core::engine::{Config, META_PULL_OWN};
use ferrysync_core::record::SyncStatus;
use ferrysync_core::LocalStore;
use serde_json::{json, Value};

use super::in_process::{TestServer, COLLECTIONS};

fn config() -> Config {
    Config::new(COLLECTIONS).with_batch_size(10)
}

#[tokio::test]
async fn a_cycle_does_not_pull_its_own_pushes_back() {
    let server = TestServer::start().await;
    let token = server.user("echo").await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    let items = |prefix: &str, n: usize| {
        (0..n)
            .map(|i| {
                (
                    format!("{prefix}{i:02}"),
                    json!({"n": i}).as_object().cloned(),
                )
            })
            .collect()
    };
    b.engine.write_many("todos", items("b", 3)).await.unwrap();
    assert_eq!(b.engine.sync().await.unwrap().pulled, 0);
    a.engine.write_many("todos", items("a", 25)).await.unwrap();
    let pulls = a.engine.transport().pulls.get();
    let report = a.engine.sync().await.unwrap();
    // Only b's three records, in one page: a's own 25 were neither sent nor paged through.
    assert_eq!((report.pushed, report.applied, report.pulled), (25, 25, 3));
    assert_eq!(a.engine.transport().pulls.get(), pulls + 1);
    assert_eq!(a.engine.store().all("todos").len(), 28);
    assert_eq!(
        a.engine.sync().await.unwrap().pulled,
        0,
        "the cursor is past a's own writes"
    );
    // An edit on each side: each pulls only the other's.
    a.engine
        .put("todos", "b00", json!({"by": "a"}))
        .await
        .unwrap();
    b.engine
        .put("todos", "b01", json!({"by": "b"}))
        .await
        .unwrap();
    let report = b.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.pulled), (1, 25));
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.pulled), (1, 1));
    assert_eq!(b.engine.sync().await.unwrap().pulled, 1);
    for id in ["b00", "b01"] {
        assert_eq!(a.data(id).await, b.data(id).await, "{id}");
    }
    assert_eq!(b.engine.store().all("todos").len(), 28);
}

#[tokio::test]
async fn a_discarded_change_brings_back_the_devices_own_server_version() {
    let server = TestServer::start().await;
    let token = server.user("discarder").await;
    let a = server.device(&token, config()).await;
    a.engine.put("todos", "t1", json!({"v": 1})).await.unwrap();
    a.engine.sync().await.unwrap();
    // Over the 1 MiB record limit: refused.
    let big = "x".repeat(1_100_000);
    a.engine
        .put("todos", "t1", json!({"v": big}))
        .await
        .unwrap();
    assert_eq!(a.engine.sync().await.unwrap().rejected, 1);
    let rejected = a.engine.rejected().await.unwrap();
    // Offline, the record goes, and a re-pull from the start will bring it back.
    a.engine.set_online(false);
    a.engine.discard_rejected(&rejected[0].id).await.unwrap();
    a.engine.set_online(true);
    assert_eq!(a.data("t1").await, None);
    assert_eq!(a.engine.transport().fetches.get(), 0);
    // The server's version is a's own write, yet the re-pull from the start brings it back.
    let report = a.engine.sync().await.unwrap();
    assert_eq!(report.pulled, 1);
    assert_eq!(a.data("t1").await, Some(json!({"v": 1})));
    let record = a.engine.get("todos", "t1").await.unwrap().unwrap();
    assert_eq!(record.sync.version, Some(1));
    let store = a.engine.store();
    assert_eq!(
        store.meta(META_PULL_OWN).await.unwrap(),
        Some(Value::Bool(false))
    );
    assert_eq!(a.engine.sync().await.unwrap().pulled, 0);

    // Online, the server's version is fetched alone (a percent-encoded id), and nothing is
    // pulled again.
    let odd = "t/2 é?";
    a.engine.put("todos", odd, json!({"v": 1})).await.unwrap();
    a.engine.sync().await.unwrap();
    a.engine.put("todos", odd, json!({"v": big})).await.unwrap();
    assert_eq!(a.engine.sync().await.unwrap().rejected, 1);
    let rejected = a.engine.rejected().await.unwrap();
    a.engine.discard_rejected(&rejected[0].id).await.unwrap();
    assert_eq!(a.engine.transport().fetches.get(), 1);
    assert_eq!(a.data(odd).await, Some(json!({"v": 1})));
    let record = a.engine.get("todos", odd).await.unwrap().unwrap();
    assert_eq!(
        (record.sync.status, record.sync.version),
        (SyncStatus::Synced, Some(1))
    );
    let report = a.engine.sync().await.unwrap();
    assert_eq!((report.pushed, report.pulled), (0, 0));
    assert_eq!(a.engine.status().rejected, 0);
}
