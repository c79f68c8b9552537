//! The open conflicts' details kept true: writers that meet (a pull refreshing a conflict's
//! server side while another tab resolves it must not bring the closed conflict's details
//! back), and details no record holds, dropped after the engine opens.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};

use super::fake_server::FakeServer;
use super::{block_on, Shared};
use crate::clock::ManualClock;
use crate::engine::{Config, Engine, META_CONFLICTS};
use crate::record::LocalRecord;
use crate::store::{Counts, Key, LocalStore, MemoryStore, Result as StoreResult, UpdateFn};
use crate::transport::Transport;
use crate::{CollectionPolicy, Strategy};

/// A write of another writer, run on the shared store.
type Interference = Box<dyn FnOnce(&Shared)>;

/// A store that, once armed, lets another writer commit right after the engine reads the
/// conflict details: between that read and the engine's own write.
struct Interfering {
    inner: Shared,
    next: RefCell<Option<Interference>>,
}

impl LocalStore for Interfering {
    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<LocalRecord>> {
        self.inner.get(collection, id).await
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Vec<Option<LocalRecord>>> {
        self.inner.update(keys, meta, f).await
    }

    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Option<Vec<Option<LocalRecord>>>> {
        self.inner
            .update_if(expect, assume_absent, keys, meta, f)
            .await
    }

    async fn outbox(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.inner.outbox(after, limit).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.inner.unsynced(collection).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Value>> {
        let value = self.inner.meta(key).await?;
        if key == META_CONFLICTS {
            if let Some(write) = self.next.borrow_mut().take() {
                write(&self.inner);
            }
        }
        Ok(value)
    }

    async fn counts(&self) -> StoreResult<Counts> {
        self.inner.counts().await
    }
}

fn manual() -> Config {
    let policy = CollectionPolicy {
        strategy: Strategy::Manual,
        ..CollectionPolicy::default()
    };
    Config::new(["todos", "notes"]).with_policy("todos", policy)
}

fn open(
    server: &FakeServer,
    store: Interfering,
) -> Engine<Interfering, &FakeServer, Rc<ManualClock>> {
    let clock = Rc::new(ManualClock::new(1_000));
    let mut n = 0;
    let ids = move || {
        n += 1;
        format!("b-{n}")
    };
    block_on(Engine::open(store, server, clock, manual(), ids)).unwrap()
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
    let (a, _) = super::device("a", &server, manual());
    let inner: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let b = open(
        &server,
        Interfering {
            inner: inner.clone(),
            next: RefCell::new(None),
        },
    );
    block_on(a.put("todos", "t1", json!({"x": 0}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    block_on(a.put("todos", "t1", json!({"x": "a"}))).unwrap();
    block_on(b.put("todos", "t1", json!({"x": "b"}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    let id = block_on(b.conflicts()).unwrap()[0].id.clone();
    assert_eq!(held(&inner), std::slice::from_ref(&id));

    // A newer server version reaches b's refresh, and right after the refresh reads the details,
    // another tab's resolution commits and drops them.
    let mut newer = block_on(server.record("todos", "t1")).unwrap().unwrap();
    newer.version += 1;
    let gone = id.clone();
    *b.store.next.borrow_mut() = Some(Box::new(move |store: &Shared| {
        let mut map = block_on(store.meta(META_CONFLICTS)).unwrap().unwrap();
        map.as_object_mut().unwrap().remove(&gone);
        block_on(store.update(&[], &[(META_CONFLICTS, map)], &mut |_, r| r)).unwrap();
    }));
    block_on(b.refresh_remotes(vec![(id, newer)])).unwrap();
    assert!(b.store.next.borrow().is_none(), "the other writer ran");
    assert_eq!(held(&inner), Vec::<String>::new(), "not brought back");
}

#[test]
fn a_refresh_still_lands_when_another_conflict_was_written_meanwhile() {
    let server = FakeServer::default();
    let (a, _) = super::device("a", &server, manual());
    let inner: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let b = open(
        &server,
        Interfering {
            inner: inner.clone(),
            next: RefCell::new(None),
        },
    );
    block_on(a.put("todos", "t1", json!({"x": 0}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    block_on(a.put("todos", "t1", json!({"x": "a"}))).unwrap();
    block_on(b.put("todos", "t1", json!({"x": "b"}))).unwrap();
    block_on(a.sync()).unwrap();
    block_on(b.sync()).unwrap();
    let id = block_on(b.conflicts()).unwrap()[0].id.clone();

    // Another writer adds an entry between the refresh's read and its write: the refresh is
    // made again on top of it, and both are kept.
    let mut newer = block_on(server.record("todos", "t1")).unwrap().unwrap();
    newer.version += 1;
    newer.data = json!({"x": "a2"}).into();
    *b.store.next.borrow_mut() = Some(Box::new(|store: &Shared| {
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
