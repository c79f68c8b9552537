//! Processed `changeId`s: the newest of each device and record is kept, a superseded one is
//! forgotten once older than the retention.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrysync_server::store;
use serde_json::json;

use super::common::{change, Backend};

pub(crate) async fn superseded_change_ids_are_forgotten_after_the_retention(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let c1 = change("n1", "c1", None, 1000, "phone", json!({"v": 1}));
    let c2 = change("n1", "c2", Some(1), 2000, "phone", json!({"v": 2}));
    let c3 = change("n2", "c3", None, 3000, "phone", json!({"v": 1}));
    let c4 = change("n1", "c4", Some(2), 4000, "laptop", json!({"v": 3}));
    // Apart in time: a change supersedes another only if it was processed later.
    for (device, c) in [
        ("phone", &c1),
        ("phone", &c2),
        ("phone", &c3),
        ("laptop", &c4),
    ] {
        assert_eq!(
            server.push_one(&s, device, c, json!({})).await["status"],
            "applied"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let store = store::open(&backend.url()).await.unwrap();
    assert_eq!(
        store.forget_processed(0).await.unwrap(),
        0,
        "none is that old"
    );
    // Every change old enough: only c1 goes. c2 superseded it on the phone; c2 is the phone's
    // newest of n1 (the laptop's c4 does not count), c3 and c4 are their devices' only ones.
    let later = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        + 60_000;
    assert_eq!(store.forget_processed(later).await.unwrap(), 1);
    for (device, c) in [("phone", &c2), ("phone", &c3), ("laptop", &c4)] {
        let retry = server.push_one(&s, device, c, json!({})).await;
        assert_eq!(retry["reason"], "duplicate", "{device} {c}: {retry}");
    }
    store.close().await;
    server.stop().await;
}

pub(crate) async fn the_server_forgets_superseded_change_ids_by_itself(backend: Backend) {
    // No retention: each sweep (every second) forgets every superseded change.
    let server = backend
        .start_with(|config| config.processed_retention = Duration::ZERO)
        .await;
    let s = server.register("alice").await;
    let c1 = change("n1", "c1", None, 1000, "phone", json!({"v": 1}));
    let c2 = change("n1", "c2", Some(1), 2000, "phone", json!({"v": 2}));
    server.push_one(&s, "phone", &c1, json!({})).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.push_one(&s, "phone", &c2, json!({})).await;
    // What forgetting means: c1, sent again, is no longer known (a device never does that; here
    // it shows the sweep ran).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = server.push_one(&s, "phone", &c1, json!({})).await;
        if again["reason"] != "duplicate" {
            break;
        }
        assert!(Instant::now() < deadline, "c1 still remembered: {again}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}
