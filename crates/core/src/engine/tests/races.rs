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

#[test]
fn a_discard_fetches_the_one_record_instead_of_pulling_everything() {
    let server = FakeServer::default();
    let (a, store) = a_rejected_edit_of_a_pulled_record(&server);
    block_on(a.sync()).unwrap();
    let cursor = block_on(store.meta(META_CURSOR)).unwrap();
    let rejected = block_on(a.rejected()).unwrap();
    let pulls = server.pulls.get();
    block_on(a.discard_rejected(&rejected[0].id)).unwrap();
    assert_eq!(server.fetches.get(), 1);
    assert_eq!(server.pulls.get(), pulls, "no pull");
    let r1 = block_on(a.get("todos", "r1")).unwrap().unwrap();
    assert_eq!(
        (r1.sync.status, r1.sync.version, r1.pending),
        (SyncStatus::Synced, Some(1), None)
    );
    assert_eq!(data(&a, "r1"), Some(json!({"v": 1})));
    // The cursor stays where it was: nothing is pulled again.
    assert_eq!(block_on(store.meta(META_CURSOR)).unwrap(), cursor);
    assert_eq!(block_on(a.sync()).unwrap().pulled, 0);
    assert_eq!((a.status().rejected, a.status().pending), (0, 0));
}

#[test]
fn a_discard_pulls_everything_again_when_it_cannot_fetch_the_record_alone() {
    // Offline: no fetch is tried.
    let server = FakeServer::default();
    let (a, store) = a_rejected_edit_of_a_pulled_record(&server);
    let rejected = block_on(a.rejected()).unwrap();
    a.set_online(false);
    block_on(a.discard_rejected(&rejected[0].id)).unwrap();
    assert_eq!(server.fetches.get(), 0);
    assert_eq!(data(&a, "r1"), None);
    assert_eq!(
        block_on(store.meta(META_CURSOR)).unwrap(),
        Some(Value::Null)
    );
    a.set_online(true);
    block_on(a.sync()).unwrap();
    assert_eq!(data(&a, "r1"), Some(json!({"v": 1})));

    // A pull (of another tab, say) moves the cursor while the record is on its way: a newer
    // version may have gone by, kept out by the refused change, so the record is pulled again.
    let server = FakeServer::default();
    let (a, store) = a_rejected_edit_of_a_pulled_record(&server);
    let rejected = block_on(a.rejected()).unwrap();
    let moving = store.clone();
    *server.on_fetch.borrow_mut() = Some(Box::new(move || {
        let cursor = [(META_CURSOR, json!("99"))];
        block_on(moving.update(&[], &cursor, &mut |_, r| r)).unwrap();
    }));
    block_on(a.discard_rejected(&rejected[0].id)).unwrap();
    assert_eq!(server.fetches.get(), 1);
    assert_eq!(data(&a, "r1"), None);
    assert_eq!(
        block_on(store.meta(META_CURSOR)).unwrap(),
        Some(Value::Null)
    );
    assert_eq!(
        block_on(store.meta(META_PULL_OWN)).unwrap(),
        Some(json!(true))
    );
    block_on(a.sync()).unwrap();
    assert_eq!(data(&a, "r1"), Some(json!({"v": 1})));
}

#[test]
fn a_record_edited_while_its_discard_fetches_keeps_the_edit() {
    let server = FakeServer::default();
    let (a, store) = a_rejected_edit_of_a_pulled_record(&server);
    let rejected = block_on(a.rejected()).unwrap();
    // Another tab edits r1 while the fetch is on its way.
    let editing = store.clone();
    *server.on_fetch.borrow_mut() = Some(Box::new(move || {
        let key = ("todos".to_owned(), "r1".to_owned());
        block_on(editing.update(&[key], &[], &mut |_, r| {
            let mut r = r.unwrap();
            r.sync.status = SyncStatus::Unsynced;
            if let Some(p) = r.pending.as_mut() {
                p.change_id = "edited".to_owned();
                p.note = None;
            }
            r.data = json!({"v": 3}).as_object().unwrap().clone().into();
            Some(r)
        }))
        .unwrap();
    }));
    block_on(a.discard_rejected(&rejected[0].id)).unwrap();
    assert_eq!(data(&a, "r1"), Some(json!({"v": 3})));
    let r1 = block_on(a.get("todos", "r1")).unwrap().unwrap();
    assert_eq!(r1.sync.status, SyncStatus::Unsynced);
    assert_eq!(a.status().pending, 1);
    // The edit goes out with the next cycle.
    assert_eq!(block_on(a.sync()).unwrap().pushed, 1);
}
