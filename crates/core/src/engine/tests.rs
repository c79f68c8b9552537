//! Engine scenarios against [`fake_server::FakeServer`], plus a seeded model test.

mod conflict_races;
mod fake_server;
mod hooked;
mod model;
mod races;
mod status;

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Value};

use super::*;
use crate::clock::ManualClock;
use crate::record::Edit;
use crate::record::{LocalRecord, SyncStatus};
use crate::store::MemoryStore;
use crate::{CollectionPolicy, Strategy};
use fake_server::FakeServer;

/// Runs a future whose every await completes at once (memory store, fake server).
pub(super) fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A memory store the test can also reach while the engine owns it.
pub(super) type Shared = Rc<MemoryStore>;

pub(super) type Device<'a> = Engine<Shared, &'a FakeServer, Rc<ManualClock>>;

pub(super) fn device<'a>(
    name: &str,
    server: &'a FakeServer,
    config: Config,
) -> (Device<'a>, Rc<ManualClock>) {
    let store = Rc::new(MemoryStore::new(["todos", "notes"]));
    store_device(name, server, config, store)
}

pub(super) fn store_device<'a>(
    name: &str,
    server: &'a FakeServer,
    config: Config,
    store: Shared,
) -> (Device<'a>, Rc<ManualClock>) {
    let clock = Rc::new(ManualClock::new(1_000));
    let mut n = 0;
    let prefix = name.to_owned();
    let new_id = move || {
        n += 1;
        if n == 1 {
            prefix.clone()
        } else {
            format!("{prefix}-c{n}")
        }
    };
    let engine = block_on(Engine::open(store, server, clock.clone(), config, new_id)).unwrap();
    (engine, clock)
}

fn config() -> Config {
    Config::new(["todos", "notes"])
}

/// [`config`] with conflicts on `todos` left to a person.
pub(super) fn manual() -> Config {
    let policy = CollectionPolicy {
        strategy: Strategy::Manual,
        ..CollectionPolicy::default()
    };
    config().with_policy("todos", policy)
}

/// `a` writes `todos/t1` and both devices sync; then each edits it (`x`: `"a"`, `"b"`) and `a`
/// pushes first, so `b`'s next push meets `a`'s version.
pub(super) fn edit_on_both<S1, T1, C1, S2, T2, C2>(a: &Engine<S1, T1, C1>, b: &Engine<S2, T2, C2>)
where
    S1: LocalStore,
    T1: Transport,
    C1: Clock,
    S2: LocalStore,
    T2: Transport,
    C2: Clock,
{
    block_on(a.put("todos", "t1", json!({"x": 0}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    block_on(a.put("todos", "t1", json!({"x": "a"}))).unwrap();
    block_on(b.put("todos", "t1", json!({"x": "b"}))).unwrap();
    block_on(a.sync()).unwrap();
}

fn data(d: &Device<'_>, id: &str) -> Option<Value> {
    block_on(d.get("todos", id))
        .unwrap()
        .map(|r| Value::Object(r.data.into_inner()))
}

#[test]
fn a_write_reaches_another_device() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config());
    let (b, _) = device("b", &server, config());
    assert_eq!(a.device_id(), "a");
    block_on(a.put("todos", "t1", json!({"title": "milk", "id": "t1"}))).unwrap();
    assert_eq!(a.status().pending, 1);
    let report = block_on(a.sync()).unwrap();
    // Its own write is not pulled back (`excludeOwn`).
    assert_eq!((report.pushed, report.applied, report.pulled), (1, 1, 0));
    assert_eq!(a.status().pending, 0);
    assert!(a.status().last_sync_at.is_some());
    let report = block_on(b.sync()).unwrap();
    assert_eq!((report.pushed, report.pulled), (0, 1));
    assert_eq!(data(&b, "t1"), Some(json!({"title": "milk"})));
    let r = block_on(b.get("todos", "t1")).unwrap().unwrap();
    assert_eq!(
        (r.sync.status, r.sync.version),
        (SyncStatus::Synced, Some(1))
    );
}

#[test]
fn batches_and_pages_respect_the_batch_size() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config().with_batch_size(3));
    let (b, _) = device("b", &server, config().with_batch_size(3));
    for i in 0..10 {
        block_on(a.put("todos", &format!("t{i}"), json!({"n": i}))).unwrap();
    }
    let report = block_on(a.sync()).unwrap();
    assert_eq!((report.pushed, server.pushes.get()), (10, 4));
    let pulls = server.pulls.get();
    assert_eq!(block_on(b.sync()).unwrap().pulled, 10);
    assert_eq!(server.pulls.get() - pulls, 4);
    assert_eq!(b.store().all("todos").len(), 10);
    // The cursor was saved: nothing new to pull.
    assert_eq!(block_on(b.sync()).unwrap().pulled, 0);
    assert_eq!(Config::new(["x"]).with_batch_size(5000).batch_size, 5000);
    let (c, _) = device("c", &server, config().with_batch_size(5000));
    assert_eq!(c.config().batch_size, MAX_BATCH_SIZE);
}

#[test]
fn a_lost_push_answer_is_retried_without_applying_twice_or_conflicting() {
    let server = FakeServer::default();
    let (a, clock) = device("a", &server, config());
    block_on(a.put("todos", "t1", json!({"v": 1}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(a.put("todos", "t1", json!({"v": 2}))).unwrap();
    server.lose_next_push.set(true);
    let err = block_on(a.sync()).unwrap_err();
    assert_eq!(err.code(), "NETWORK");
    let status = a.status();
    assert_eq!((status.pending, status.health), (1, Health::Degraded));
    assert!(!status.syncing);
    // Retried as-is: the server recognises the changeId.
    let report = block_on(a.sync()).unwrap();
    assert_eq!((report.skipped, report.conflicts), (1, 0));
    // Lost again, then edited before the retry: a continuation, not a conflict.
    block_on(a.put("todos", "t1", json!({"v": 3}))).unwrap();
    server.lose_next_push.set(true);
    assert!(block_on(a.sync()).is_err());
    clock.advance(10);
    block_on(a.put("todos", "t1", json!({"v": 4}))).unwrap();
    let report = block_on(a.sync()).unwrap();
    assert_eq!((report.applied, report.conflicts), (1, 0));
    assert!(server.state.borrow().writes.values().all(|n| *n == 1));
    let (state, _) = server.state.borrow().records[&("todos".into(), "t1".into())].clone();
    assert_eq!((state.data, state.version), (json!({"v": 4}), 4));
    assert_eq!(a.status().health, Health::Good);
}

#[test]
fn an_edit_during_a_push_stays_pending_and_wins_next() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config());
    let store = a.store().clone();
    block_on(a.put("todos", "t1", json!({"v": 1}))).unwrap();
    *server.on_push.borrow_mut() = Some(Box::new(move || {
        let edit = Edit {
            change_id: "during".into(),
            hlc: crate::Hlc::new(5_000, 0, "a"),
            now: 5_000,
            seq: 99,
        };
        let data = json!({"v": "during"}).as_object().cloned();
        let mut data = Some(data);
        block_on(store.update(
            &[("todos".into(), "t1".into())],
            &[],
            &mut |(_, id), old| {
                Some(LocalRecord::write(
                    old,
                    id,
                    data.take().unwrap(),
                    edit.clone(),
                ))
            },
        ))
        .unwrap();
    }));
    let report = block_on(a.sync()).unwrap();
    server.on_push.borrow_mut().take();
    // Pushed twice in the same cycle: first v1, then the edit made while v1 was in flight.
    assert_eq!((report.pushed, report.applied, report.conflicts), (2, 2, 0));
    assert_eq!(data(&a, "t1"), Some(json!({"v": "during"})));
    let (state, _) = server.state.borrow().records[&("todos".into(), "t1".into())].clone();
    assert_eq!(state.data, json!({"v": "during"}));
}

#[test]
fn tombstones_reach_other_devices() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config());
    let (b, _) = device("b", &server, config());
    block_on(a.put("todos", "t1", json!({"v": 1}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    assert!(block_on(a.delete("todos", "t1")).unwrap());
    assert!(!block_on(a.delete("todos", "t1")).unwrap());
    assert_eq!(data(&a, "t1"), None);
    assert_eq!(a.status().pending, 1);
    block_on(a.sync()).unwrap();
    assert_eq!(block_on(a.store().get("todos", "t1")).unwrap(), None);
    let events = Rc::new(RefCell::new(Vec::new()));
    let seen = events.clone();
    b.on_records(Rc::new(move |e: &[RecordEvent]| {
        seen.borrow_mut().extend(e.to_vec())
    }));
    block_on(b.sync()).unwrap();
    assert_eq!(block_on(b.store().get("todos", "t1")).unwrap(), None);
    assert_eq!(events.borrow().len(), 1);
    assert_eq!(events.borrow()[0].record, None);
}

#[test]
fn a_rejected_change_does_not_block_the_others_and_can_be_discarded() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config());
    block_on(a.put("todos", "bad-1", json!({"v": 1}))).unwrap();
    block_on(a.put("todos", "ok", json!({"v": 1}))).unwrap();
    let report = block_on(a.sync()).unwrap();
    assert_eq!((report.rejected, report.applied), (1, 1));
    let status = a.status();
    assert_eq!((status.pending, status.rejected), (0, 1));
    let rejected = block_on(a.rejected()).unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].record_id.as_str(), rejected[0].reason.as_str()),
        ("bad-1", "invalid_id")
    );
    // Not pushed again until edited.
    assert_eq!(block_on(a.sync()).unwrap().pushed, 0);
    block_on(a.discard_rejected(&rejected[0].id)).unwrap();
    assert_eq!(block_on(a.store().get("todos", "bad-1")).unwrap(), None);
    assert_eq!(a.status().rejected, 0);
    let err = block_on(a.discard_rejected("nope")).unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

/// Both devices edit `t1` (based on the same version), `a` pushes first, then `b`.
fn concurrent_edit(strategy: Strategy, b_newer: bool) -> (FakeServer, Value) {
    let server = FakeServer::default();
    let policy = CollectionPolicy {
        strategy,
        ..CollectionPolicy::default()
    };
    let cfg = config().with_policy("todos", policy);
    let result = {
        let (a, ca) = device("a", &server, cfg.clone());
        let (b, cb) = device("b", &server, cfg);
        block_on(a.put("todos", "t1", json!({"x": 0, "y": 0}))).unwrap();
        block_on(a.sync()).unwrap();
        block_on(b.sync()).unwrap();
        ca.set(if b_newer { 2_000 } else { 3_000 });
        cb.set(if b_newer { 3_000 } else { 2_000 });
        block_on(a.put("todos", "t1", json!({"x": "a", "y": 0}))).unwrap();
        block_on(b.put("todos", "t1", json!({"x": 0, "y": "b"}))).unwrap();
        block_on(a.sync()).unwrap();
        let report = block_on(b.sync()).unwrap();
        assert_eq!(report.conflicts, 1);
        block_on(a.sync()).unwrap();
        let (da, db) = (data(&a, "t1"), data(&b, "t1"));
        if strategy != Strategy::Manual {
            assert_eq!(da, db, "{strategy:?} converges");
        }
        db.unwrap()
    };
    (server, result)
}

#[test]
fn each_strategy_decides_a_concurrent_edit() {
    let a = json!({"x": "a", "y": 0});
    let b = json!({"x": 0, "y": "b"});
    assert_eq!(concurrent_edit(Strategy::NewestWins, true).1, b);
    assert_eq!(concurrent_edit(Strategy::NewestWins, false).1, a);
    assert_eq!(concurrent_edit(Strategy::ServerWins, true).1, a);
    assert_eq!(concurrent_edit(Strategy::ClientWins, false).1, b);
    assert_eq!(
        concurrent_edit(Strategy::Merge, true).1,
        json!({"x": "a", "y": "b"})
    );
    // Manual: b keeps its own edit, in CONFLICT, until a person decides.
    assert_eq!(concurrent_edit(Strategy::Manual, true).1, b);
}

#[test]
fn a_manual_conflict_resolved_on_one_device_reaches_the_other() {
    let server = FakeServer::default();
    let cfg = manual();
    let (a, _) = device("a", &server, cfg.clone());
    let (b, _) = device("b", &server, cfg);
    edit_on_both(&a, &b);
    block_on(b.sync()).unwrap();
    let status = b.status();
    assert_eq!((status.conflicts, status.pending), (1, 0));
    let open = block_on(b.conflicts()).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (&open[0].local, &open[0].remote),
        (&json!({"x": "b"}), &json!({"x": "a"}))
    );
    // Conflicted records are not pushed again by later cycles.
    assert_eq!(block_on(b.sync()).unwrap().pushed, 0);
    let merged = json!({"x": "ab"}).as_object().cloned().unwrap();
    let stored = block_on(b.resolve_conflict(&open[0].id, Choice::Merged(merged))).unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Synced);
    assert_eq!(b.status().conflicts, 0);
    assert!(block_on(b.conflicts()).unwrap().is_empty());
    block_on(a.sync()).unwrap();
    assert_eq!(data(&a, "t1"), Some(json!({"x": "ab"})));
    let err = block_on(b.resolve_conflict(&open[0].id, Choice::Local)).unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

#[test]
fn a_manual_conflict_whose_answer_was_lost_still_opens() {
    let server = FakeServer::default();
    let cfg = manual();
    let (a, _) = device("a", &server, cfg.clone());
    let (b, _) = device("b", &server, cfg);
    edit_on_both(&a, &b);
    server.lose_next_push.set(true);
    assert!(block_on(b.sync()).is_err());
    block_on(b.sync()).unwrap();
    assert_eq!(b.status().conflicts, 1);
    let open = block_on(b.conflicts()).unwrap();
    assert_eq!(open[0].remote, json!({"x": "a"}));
    block_on(b.resolve_conflict(&open[0].id, Choice::Local)).unwrap();
    block_on(a.sync()).unwrap();
    assert_eq!(data(&a, "t1"), Some(json!({"x": "b"})));
}

#[test]
fn the_device_id_and_clock_survive_a_reopen() {
    let server = FakeServer::default();
    let store = Rc::new(MemoryStore::new(["todos", "notes"]));
    let (a, clock) = store_device("a", &server, config(), store.clone());
    clock.set(50_000);
    let first = block_on(a.put("todos", "t1", json!({}))).unwrap();
    drop(a);
    let (again, clock) = store_device("other", &server, config(), store);
    assert_eq!(again.device_id(), "a");
    clock.set(10);
    let second = block_on(again.put("todos", "t2", json!({}))).unwrap();
    let stamp = |r: &LocalRecord| r.pending.clone().unwrap().hlc;
    assert!(stamp(&second) > stamp(&first));
    assert_eq!(again.status().pending, 2);
}
