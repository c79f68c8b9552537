//! What the engine tells the app while it writes and syncs: the status, kept true at every
//! step, and its publication.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use serde_json::{json, Value};

use super::fake_server::FakeServer;
use super::{block_on, config, device, Shared};
use crate::clock::ManualClock;
use crate::engine::{Config, Engine, Health, Status};
use crate::join::join;
use crate::record::LocalRecord;
use crate::store::{Counts, Key, LocalStore, MemoryStore, Result as StoreResult, UpdateFn};

#[test]
fn the_counts_move_batch_by_batch_during_a_push() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config().with_batch_size(2));
    for i in 0..5 {
        let data = if i == 1 {
            json!({"reject": true})
        } else {
            json!({"i": i})
        };
        block_on(a.put("todos", &format!("t{i}"), data)).unwrap();
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    a.on_status(Rc::new(move |s: &Status| {
        sink.borrow_mut().push((s.syncing, s.pending, s.rejected));
    }));
    block_on(a.sync()).unwrap();
    // Each acknowledged batch moves the counts before the cycle ends (and recounts): t1 was
    // refused in the first.
    let seen = seen.borrow();
    let mut during: Vec<(usize, usize)> = seen
        .iter()
        .filter(|(syncing, _, _)| *syncing)
        .map(|(_, pending, rejected)| (*pending, *rejected))
        .collect();
    during.dedup();
    assert_eq!(during, [(5, 0), (3, 1), (1, 1), (0, 1)]);
    assert_eq!(seen.last(), Some(&(false, 0, 1)));
}

#[test]
fn offline_sends_nothing_and_status_is_published() {
    let server = FakeServer::default();
    let (a, _) = device("a", &server, config());
    let seen = Rc::new(RefCell::new(Vec::<Status>::new()));
    let sink = seen.clone();
    let handle = a.on_status(Rc::new(move |s: &Status| sink.borrow_mut().push(s.clone())));
    a.set_online(false);
    block_on(a.put("todos", "t1", json!({}))).unwrap();
    assert_eq!(block_on(a.sync()).unwrap_err().code(), "OFFLINE");
    assert_eq!(server.pushes.get() + server.pulls.get(), 0);
    assert_eq!(a.status().health, Health::Offline);
    a.set_online(true);
    server.down.set(true);
    assert_eq!(block_on(a.sync()).unwrap_err().code(), "NETWORK");
    server.down.set(false);
    block_on(a.sync()).unwrap();
    let seen = seen.borrow();
    assert!(seen.iter().any(|s| s.syncing));
    assert!(seen.iter().any(|s| s.health == Health::Degraded));
    assert_eq!(seen.last().unwrap().health, Health::Good);
    assert!(a.off_status(handle));
    assert_eq!(
        block_on(a.put("todos", "t", json!(3))).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
}

/// A store that counts, then hands the counts over one poll later: a write can commit between.
struct LateCounts(Shared);

impl LocalStore for LateCounts {
    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<LocalRecord>> {
        self.0.get(collection, id).await
    }

    async fn update(
        &self,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Vec<Option<LocalRecord>>> {
        self.0.update(keys, meta, f).await
    }

    async fn update_if(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> StoreResult<Option<Vec<Option<LocalRecord>>>> {
        self.0.update_if(expect, assume_absent, keys, meta, f).await
    }

    async fn outbox(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.0.outbox(after, limit).await
    }

    async fn unsynced(&self, collection: Option<&str>) -> StoreResult<Vec<(String, LocalRecord)>> {
        self.0.unsynced(collection).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Value>> {
        self.0.meta(key).await
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let counts = self.0.counts().await?;
        let mut yielded = false;
        poll_fn(|cx| {
            if std::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        Ok(counts)
    }
}

#[test]
fn a_write_during_a_recount_is_counted_once() {
    let server = FakeServer::default();
    let store: Shared = Rc::new(MemoryStore::new(["todos", "notes"]));
    let mut n = 0;
    let ids = move || {
        n += 1;
        format!("late-{n}")
    };
    let clock = Rc::new(ManualClock::new(1_000));
    let config = Config::new(["todos", "notes"]);
    let a = block_on(Engine::open(
        LateCounts(store.clone()),
        &server,
        clock,
        config,
        ids,
    ))
    .unwrap();
    block_on(a.put("todos", "t0", json!({}))).unwrap();
    assert_eq!(a.status().pending, 1);
    // The recount reads one pending record; the write commits and counts itself before the
    // recount hands over: the recount must not put the status back to what it read.
    let (counted, written) = block_on(join(
        a.refresh_status(),
        a.put("todos", "t1", json!({"v": 1})),
    ));
    counted.unwrap();
    written.unwrap();
    assert_eq!(block_on(store.counts()).unwrap().pending, 2);
    assert_eq!(a.status().pending, 2);
}
