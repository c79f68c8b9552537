//! What the engine tells the app while it writes and syncs: the status, kept true at every
//! step, and its publication.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;

use super::fake_server::FakeServer;
use super::hooked::Hooked;
use super::{block_on, config, device, Shared};
use crate::clock::ManualClock;
use crate::engine::{Config, Engine, Health, Status};
use crate::join::join;
use crate::store::{LocalStore, MemoryStore};

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
        Hooked {
            late_counts: true,
            ..Hooked::new(&store)
        },
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
