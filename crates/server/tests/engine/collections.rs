//! A collection added to a device's config (a newer version of the app) after the device has
//! pulled: the pull cursor had passed that collection's records without taking them.

use std::rc::Rc;

use ferrysync_core::engine::Config;
use ferrysync_core::MemoryStore;
use serde_json::json;

use super::in_process::COLLECTIONS;
use crate::{config, TestServer};

#[tokio::test]
async fn a_collection_added_to_the_config_brings_its_records_from_before() {
    let server = TestServer::start().await;
    let token = server.user("collections").await;
    let a = server.device(&token, config()).await;
    a.engine.put("notes", "n1", json!({"n": 1})).await.unwrap();
    a.engine.put("todos", "t1", json!({"t": 1})).await.unwrap();
    a.engine.sync().await.unwrap();

    // b syncs `todos` only, while `a` goes on writing notes.
    let store = Rc::new(MemoryStore::new(COLLECTIONS));
    let b = server
        .device_on(&token, Config::new(["todos"]), store.clone())
        .await;
    assert_eq!(b.engine.sync().await.unwrap().pulled, 1);
    a.engine.put("notes", "n2", json!({"n": 2})).await.unwrap();
    a.engine.put("todos", "t2", json!({"t": 2})).await.unwrap();
    a.engine.sync().await.unwrap();
    b.engine.put("todos", "t3", json!({"t": 3})).await.unwrap();
    assert_eq!(b.engine.sync().await.unwrap().pulled, 1);
    assert!(b.engine.get("notes", "n1").await.unwrap().is_none());

    // The app now syncs `notes` too: every note arrives, the todos stay as they are.
    let b = server.device_on(&token, config(), store).await;
    let report = b.engine.sync().await.unwrap();
    assert_eq!(b.data("t1").await, Some(json!({"t": 1})));
    for (id, n) in [("n1", 1), ("n2", 2)] {
        let note = b.engine.get("notes", id).await.unwrap();
        assert_eq!(note.map(|r| r.data["n"].clone()), Some(json!(n)), "{id}");
    }
    // The pull started over: the other device's todos came again too (its own t3 is left
    // out), once.
    assert_eq!(report.pulled, 4, "{report:?}");
    assert_eq!(b.engine.status().pending, 0);
    // And from then on, only what is new.
    a.engine.put("notes", "n3", json!({"n": 3})).await.unwrap();
    a.engine.sync().await.unwrap();
    assert_eq!(b.engine.sync().await.unwrap().pulled, 1);
}
