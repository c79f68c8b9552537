//! The open conflicts' details kept true: writers that meet (a pull refreshing a conflict's
//! server side while another tab resolves it must not bring the closed conflict's details
//! back), and details no record holds, dropped after the engine opens.

use std::rc::Rc;

use serde_json::{json, Value};

use super::fake_server::FakeServer;
use super::hooked::Hooked;
use super::{block_on, edit_on_both, manual, Shared};
use crate::clock::ManualClock;
use crate::engine::{Engine, META_CONFLICTS};
use crate::store::{LocalStore, MemoryStore};
use crate::transport::Transport;

/// Device `b`, over a [`Hooked`] store around `inner`, holding a manual conflict on `t1`
/// that device `a` opened by writing it first; returns `b` and the conflict's id.
fn b_in_conflict<'a>(
    server: &'a FakeServer,
    inner: &Shared,
) -> (Engine<Hooked, &'a FakeServer, Rc<ManualClock>>, String) {
    let (a, _) = super::device("a", server, manual());
    let store = Hooked::new(inner);
    let mut n = 0;
    let ids = move || {
        n += 1;
        format!("b-{n}")
    };
    let clock = Rc::new(ManualClock::new(1_000));
    let b = block_on(Engine::open(store, server, clock, manual(), ids)).unwrap();
    edit_on_both(&a, &b);
    block_on(b.sync()).unwrap();
    let id = block_on(b.conflicts()).unwrap()[0].id.clone();
    (b, id)
}

/// The conflict details' ids as `store` holds them.
fn held(store: &Shared) -> Vec<String> {
    match block_on(store.meta(META_CONFLICTS)).unwrap() {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_refresh_does_not_bring_back_a_conflict_resolved_meanwhile() {
    let server = FakeServer::default();
    let inner: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let (b, id) = b_in_conflict(&server, &inner);
    assert_eq!(held(&inner), std::slice::from_ref(&id));

    // A newer server version reaches b's refresh, and right after the refresh reads the details,
    // another tab's resolution commits and drops them.
    let mut newer = block_on(server.record("todos", "t1")).unwrap().unwrap();
    newer.version += 1;
    let gone = id.clone();
    *b.store.after_conflicts_read.borrow_mut() = Some(Box::new(move |store: &Shared| {
        let mut map = block_on(store.meta(META_CONFLICTS)).unwrap().unwrap();
        map.as_object_mut().unwrap().remove(&gone);
        block_on(store.update(&[], &[(META_CONFLICTS, map)], &mut |_, r| r)).unwrap();
    }));
    block_on(b.refresh_remotes(vec![(id, newer)])).unwrap();
    assert!(
        b.store.after_conflicts_read.borrow().is_none(),
        "the other writer ran"
    );
    assert_eq!(held(&inner), Vec::<String>::new(), "not brought back");
}

#[test]
fn a_refresh_still_lands_when_another_conflict_was_written_meanwhile() {
    let server = FakeServer::default();
    let inner: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let (b, id) = b_in_conflict(&server, &inner);

    // Another writer adds an entry between the refresh's read and its write: the refresh is
    // made again on top of it, and both are kept.
    let mut newer = block_on(server.record("todos", "t1")).unwrap().unwrap();
    newer.version += 1;
    newer.data = json!({"x": "a2"}).into();
    *b.store.after_conflicts_read.borrow_mut() = Some(Box::new(|store: &Shared| {
        let mut map = block_on(store.meta(META_CONFLICTS)).unwrap().unwrap();
        let copy = map[map.as_object().unwrap().keys().next().unwrap()].clone();
        map.as_object_mut().unwrap().insert("other".into(), copy);
        block_on(store.update(&[], &[(META_CONFLICTS, map)], &mut |_, r| r)).unwrap();
    }));
    block_on(b.refresh_remotes(vec![(id.clone(), newer)])).unwrap();
    let mut ids = held(&inner);
    ids.sort();
    let mut want = vec![id.clone(), "other".to_owned()];
    want.sort();
    assert_eq!(ids, want);
    let open = block_on(b.conflicts()).unwrap();
    assert_eq!(open[0].remote, json!({"x": "a2"}), "refreshed");
}

#[test]
fn details_no_record_holds_are_dropped_by_the_first_cycle_after_open() {
    let server = FakeServer::default();
    let store: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    // Left behind by an earlier version of the engine: a conflict's details, no record in
    // CONFLICT.
    let stray = json!({"stray": {"collection": "todos", "recordId": "t9", "remote": null,
        "strategy": "manual", "createdAt": ""}});
    block_on(store.update(&[], &[(META_CONFLICTS, stray)], &mut |_, r| r)).unwrap();
    let (a, _) = super::store_device("a", &server, manual(), store.clone());
    assert_eq!(a.status().conflicts, 0);
    block_on(a.sync()).unwrap();
    assert_eq!(held(&store), Vec::<String>::new());
    assert!(block_on(a.conflicts()).unwrap().is_empty());
}
