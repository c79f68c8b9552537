//! Writes that meet a cycle half-way: what another call (in this tab or another tab on the same
//! database) changes between two steps of a pull.

use std::rc::Rc;

use serde_json::{json, Value};

use super::fake_server::FakeServer;
use super::{block_on, data, device, store_device, Shared};
use crate::engine::{Config, META_CURSOR, META_PULL_OWN};
use crate::record::SyncStatus;
use crate::store::{LocalStore, MemoryStore};

/// `a` holds `r1` at version 1 with a refused edit (status `REJECTED`), and the server has
/// five more records, so `a`'s next pull takes three pages of two.
fn a_rejected_edit_of_a_pulled_record(server: &FakeServer) -> (super::Device<'_>, Shared) {
    let config = || Config::new(["todos", "notes"]).with_batch_size(2);
    let (b, _) = device("b", server, config());
    block_on(b.put("todos", "r1", json!({"v": 1}))).unwrap();
    block_on(b.sync()).unwrap();
    let store: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let (a, _) = store_device("a", server, config(), store.clone());
    block_on(a.sync()).unwrap();
    block_on(a.put("todos", "r1", json!({"v": 2, "reject": true}))).unwrap();
    let report = block_on(a.sync()).unwrap();
    assert_eq!(report.rejected, 1);
    let record = block_on(a.get("todos", "r1")).unwrap().unwrap();
    assert_eq!(
        (record.sync.status, record.sync.version),
        (SyncStatus::Rejected, Some(1))
    );
    for i in 0..5 {
        block_on(b.put("todos", &format!("x{i}"), json!({"i": i}))).unwrap();
    }
    block_on(b.sync()).unwrap();
    (a, store)
}

#[test]
fn a_discard_during_a_pull_still_brings_back_the_server_version() {
    let server = FakeServer::default();
    let (a, store) = a_rejected_edit_of_a_pulled_record(&server);
    // Between the first page's arrival and its write, the rejected edit is discarded, as
    // `discardRejected` does it (from another tab, say): the record goes, and the cursor is reset
    // for a re-pull that includes this device's own writes.
    let discarding = store.clone();
    *server.on_pull.borrow_mut() = Some(Box::new(move || {
        let key = ("todos".to_owned(), "r1".to_owned());
        let reset = [
            (META_CURSOR, Value::Null),
            (META_PULL_OWN, Value::Bool(true)),
        ];
        block_on(discarding.update(&[key], &reset, &mut |_, _| None)).unwrap();
    }));
    let pulls_before = server.pulls.get();
    let report = block_on(a.sync()).unwrap();
    // The pull started over from the reset: the server's r1 is back, and all five new records.
    assert_eq!(data(&a, "r1"), Some(json!({"v": 1})));
    let r1 = block_on(a.get("todos", "r1")).unwrap().unwrap();
    assert_eq!(
        (r1.sync.status, r1.sync.version),
        (SyncStatus::Synced, Some(1))
    );
    for i in 0..5 {
        assert_eq!(data(&a, &format!("x{i}")), Some(json!({"i": i})));
    }
    // The re-pull ended; the page written is counted, the one dropped is not.
    assert_eq!(
        block_on(store.meta(META_PULL_OWN)).unwrap(),
        Some(json!(false))
    );
    assert_eq!(report.pulled, 6);
    assert!(
        server.pulls.get() - pulls_before >= 4,
        "a fresh pull after the reset"
    );
    assert_eq!(a.status().rejected, 0);
}
