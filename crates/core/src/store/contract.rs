//! The behaviour every [`LocalStore`] must have, as one suite each implementation runs:
//! natively on [`super::MemoryStore`] and in the browser on `IndexedDb`.
//!
//! `make(name)` opens a fresh, empty store named `name` with the collections [`COLLECTIONS`];
//! each check uses its own name so a persistent store never sees another check's rows.

mod guarded;
mod spread;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::{json, Map, Value};

use super::{Counts, Key, LocalStore, StoreError};
use crate::hlc::Hlc;
use crate::record::{Edit, LocalRecord, SyncStatus};

/// The collections a store under test must have.
pub const COLLECTIONS: [&str; 2] = ["items", "other"];

/// Runs every check, panicking on the first failure.
pub async fn run_all<S, F, Fut>(mut make: F)
where
    S: LocalStore,
    F: FnMut(&'static str) -> Fut,
    Fut: Future<Output = S>,
{
    update_writes_reads_and_deletes(&make("contract-update").await).await;
    outbox_is_unsynced_in_seq_order(&make("contract-outbox").await).await;
    unsynced_filters_by_collection_and_status(&make("contract-unsynced").await).await;
    unknown_collections_are_refused(&make("contract-unknown").await).await;
    meta_round_trips_and_commits_with_rows(&make("contract-meta").await).await;
    guarded::update_if_writes_only_while_meta_holds(&make("contract-update-if").await).await;
    tombstones_stay_readable(&make("contract-tombstone").await).await;
    concurrent_updates_do_not_interleave(&make("contract-concurrent").await).await;
    update_read_sees_what_changed_since(&make("contract-update-read").await).await;
    spread::batch_reads_find_records_whatever_their_spread(&make("contract-spread").await).await;
}

fn key(collection: &str, id: &str) -> Key {
    (collection.to_owned(), id.to_owned())
}

fn edit(seq: u64) -> Edit {
    Edit {
        change_id: format!("change-{seq}"),
        hlc: Hlc::new(1_700_000_000_000 + seq, 0, "device"),
        now: 1_700_000_000_000 + seq,
        seq,
    }
}

fn data(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Writes `value` to `collection/id` as a local edit with outbox position `seq`.
async fn put<S: LocalStore>(store: &S, collection: &str, id: &str, value: Value, seq: u64) {
    let id_owned = id.to_owned();
    store
        .update(&[key(collection, id)], &[], &mut |_, old| {
            Some(LocalRecord::write(
                old,
                &id_owned,
                data(value.clone()),
                edit(seq),
            ))
        })
        .await
        .expect("update");
}

/// Marks the records at `keys` `SYNCED` at `version`, as an acknowledgement would.
async fn settle<S: LocalStore>(store: &S, keys: &[Key], version: u64) {
    store
        .update(keys, &[], &mut |_, record| {
            record.map(|mut r| {
                r.sync.status = SyncStatus::Synced;
                r.sync.version = Some(version);
                r.pending = None;
                r
            })
        })
        .await
        .expect("settle");
}

async fn update_writes_reads_and_deletes<S: LocalStore>(store: &S) {
    let keys = [key("items", "b"), key("items", "a")];
    let written = store
        .update(&keys, &[], &mut |(_, id), old| {
            assert!(old.is_none(), "a fresh store has no rows");
            let value = json!({ "name": id, "nested": { "list": [1, -2.5, null, true, "é✓"] } });
            Some(LocalRecord::write(None, id, data(value), edit(1)))
        })
        .await
        .expect("update");
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].as_ref().map(|r| r.id.as_str()), Some("b"));
    assert_eq!(written[1].as_ref().map(|r| r.id.as_str()), Some("a"));
    let read = store.get("items", "a").await.expect("get");
    assert_eq!(
        read.as_ref(),
        written[1].as_ref(),
        "get returns what update wrote"
    );
    assert_eq!(store.get("items", "zzz").await.expect("get"), None);

    let removed = store
        .update(&[key("items", "a")], &[], &mut |_, old| {
            assert!(old.is_some(), "update passes the current row");
            None
        })
        .await
        .expect("update");
    assert_eq!(removed, vec![None]);
    assert_eq!(store.get("items", "a").await.expect("get"), None);
    assert!(store.get("items", "b").await.expect("get").is_some());
}

async fn outbox_is_unsynced_in_seq_order<S: LocalStore>(store: &S) {
    put(store, "items", "third", json!({ "n": 3 }), 30).await;
    put(store, "other", "first", json!({ "n": 1 }), 10).await;
    put(store, "items", "second", json!({ "n": 2 }), 20).await;
    // A coalesced edit keeps the position of the first edit.
    put(store, "other", "first", json!({ "n": 11 }), 40).await;
    // A rejected record is not ready to push.
    store
        .update(&[key("items", "rejected")], &[], &mut |(_, id), _| {
            let mut r = LocalRecord::write(None, id, data(json!({})), edit(5));
            r.sync.status = SyncStatus::Rejected;
            Some(r)
        })
        .await
        .expect("update");

    let outbox = store.outbox(None, 10).await.expect("outbox");
    let order: Vec<(&str, &str)> = outbox
        .iter()
        .map(|(c, r)| (c.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        order,
        [("other", "first"), ("items", "second"), ("items", "third")]
    );
    assert_eq!(outbox[0].1.data.get("n"), Some(&json!(11)));
    assert_eq!(
        store.outbox(None, 2).await.expect("outbox").len(),
        2,
        "limit"
    );
}

async fn unsynced_filters_by_collection_and_status<S: LocalStore>(store: &S) {
    put(store, "items", "a", json!({}), 1).await;
    put(store, "other", "b", json!({}), 2).await;
    store
        .update(&[key("items", "synced")], &[], &mut |(_, id), _| {
            let mut r = LocalRecord::write(None, id, data(json!({})), edit(3));
            r.sync.status = SyncStatus::Synced;
            r.sync.version = Some(1);
            r.pending = None;
            Some(r)
        })
        .await
        .expect("update");
    store
        .update(&[key("items", "conflict")], &[], &mut |(_, id), _| {
            let mut r = LocalRecord::write(None, id, data(json!({})), edit(4));
            r.sync.status = SyncStatus::Conflict;
            Some(r)
        })
        .await
        .expect("update");

    let mut items: Vec<String> = store
        .unsynced(Some("items"))
        .await
        .expect("unsynced")
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    items.sort();
    assert_eq!(items, ["a", "conflict"]);
    assert_eq!(store.unsynced(None).await.expect("unsynced").len(), 3);

    store
        .update(&[key("other", "rejected")], &[], &mut |(_, id), _| {
            let mut r = LocalRecord::write(None, id, data(json!({})), edit(5));
            r.sync.status = SyncStatus::Rejected;
            Some(r)
        })
        .await
        .expect("update");
    let counts = store.counts().await.expect("counts");
    let expected = Counts {
        pending: 2,
        conflicts: 1,
        rejected: 1,
    };
    assert_eq!(counts, expected, "counts");
    // A record that settles leaves the counts.
    store
        .update(&[key("items", "conflict")], &[], &mut |_, r| {
            r.map(|mut r| {
                r.sync.status = SyncStatus::Synced;
                r.pending = None;
                r
            })
        })
        .await
        .expect("update");
    let counts = store.counts().await.expect("counts");
    assert_eq!(counts.conflicts, 0, "a settled conflict is not counted");
}

async fn unknown_collections_are_refused<S: LocalStore>(store: &S) {
    let unknown = |e: StoreError| matches!(e, StoreError::UnknownCollection(c) if c == "nope");
    assert!(store.get("nope", "a").await.is_err_and(unknown));
    let result = store
        .update(&[key("nope", "a")], &[], &mut |_, _| None)
        .await;
    assert!(result.is_err_and(unknown));
    assert!(store.unsynced(Some("nope")).await.is_err_and(unknown));
}

async fn meta_round_trips_and_commits_with_rows<S: LocalStore>(store: &S) {
    assert_eq!(store.meta("cursor").await.expect("meta"), None);
    let cursor = json!({ "items": "000001", "nested": [1, 2.5] });
    store
        .update(
            &[key("items", "a")],
            &[("cursor", cursor.clone())],
            &mut |(_, id), old| {
                Some(LocalRecord::write(
                    old,
                    id,
                    data(json!({ "x": 1 })),
                    edit(1),
                ))
            },
        )
        .await
        .expect("update");
    assert_eq!(store.meta("cursor").await.expect("meta"), Some(cursor));
    store
        .update(&[], &[("cursor", json!("later"))], &mut |_, old| old)
        .await
        .expect("meta-only update");
    assert_eq!(
        store.meta("cursor").await.expect("meta"),
        Some(json!("later"))
    );
}

async fn tombstones_stay_readable<S: LocalStore>(store: &S) {
    put(store, "items", "gone", json!({ "x": 1 }), 1).await;
    store
        .update(&[key("items", "gone")], &[], &mut |(_, id), old| {
            Some(LocalRecord::write(old, id, None, edit(2)))
        })
        .await
        .expect("update");
    let tomb = store
        .get("items", "gone")
        .await
        .expect("get")
        .expect("kept");
    assert!(tomb.deleted);
    assert_eq!(tomb.sync.status, SyncStatus::Unsynced);
    let outbox = store.outbox(None, 10).await.expect("outbox");
    assert!(outbox.iter().any(|(_, r)| r.id == "gone" && r.deleted));
}

async fn concurrent_updates_do_not_interleave<S: LocalStore>(store: &S) {
    put(store, "items", "counter", json!({ "n": 0 }), 1).await;
    let bump = |seq| async move {
        store
            .update(&[key("items", "counter")], &[], &mut |(_, id), old| {
                let n = old
                    .as_ref()
                    .and_then(|r| r.data.get("n")?.as_u64())
                    .unwrap_or(0);
                Some(LocalRecord::write(
                    old,
                    id,
                    data(json!({ "n": n + 1 })),
                    edit(seq),
                ))
            })
            .await
            .expect("update");
    };
    Join(Box::pin(bump(2)), Box::pin(bump(3)), None, None).await;
    let row = store
        .get("items", "counter")
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.data.get("n"), Some(&json!(2)), "both increments kept");
}

async fn update_read_sees_what_changed_since<S: LocalStore>(store: &S) {
    put(store, "items", "same", json!({ "v": 1 }), 1).await;
    put(store, "items", "edited", json!({ "v": 1 }), 2).await;
    put(store, "other", "settled", json!({ "v": 1 }), 3).await;
    let read = store.outbox(None, 10).await.expect("outbox");
    assert_eq!(read.len(), 3);
    // After the read: one record edited again (coalesced: same outbox position), one settled.
    put(store, "items", "edited", json!({ "v": 2 }), 4).await;
    settle(store, &[key("other", "settled")], 7).await;

    let mut seen: Vec<LocalRecord> = Vec::new();
    store
        .update_read(&read, &[], &mut |_, current| {
            seen.extend(current.clone());
            current.map(|mut r| {
                r.data.insert("seen".to_owned(), json!(true));
                r
            })
        })
        .await
        .expect("update_read");
    // `f` may be called again for a key (a store that went ahead as if nothing changed redoes
    // the update): the last call is the one that counts.
    let current = |id: &str| {
        seen.iter()
            .rev()
            .find(|r| r.id == id)
            .expect("passed to f")
            .clone()
    };
    assert_eq!(current("same").data.get("v"), Some(&json!(1)));
    assert_eq!(
        current("edited").data.get("v"),
        Some(&json!(2)),
        "the later edit"
    );
    assert_eq!(current("settled").sync.version, Some(7), "the later settle");
    assert_eq!(current("settled").sync.status, SyncStatus::Synced);
    for (collection, id) in [("items", "same"), ("items", "edited"), ("other", "settled")] {
        let stored = store.get(collection, id).await.expect("get").expect("row");
        assert_eq!(
            stored.data.get("seen"),
            Some(&json!(true)),
            "{id}: f's result written"
        );
    }
}

type Boxed<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Polls two futures together (the suite depends on no executor or futures crate).
struct Join<'a>(Boxed<'a>, Boxed<'a>, Option<()>, Option<()>);

impl Future for Join<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.2.is_none() {
            if let Poll::Ready(()) = this.0.as_mut().poll(cx) {
                this.2 = Some(());
            }
        }
        if this.3.is_none() {
            if let Poll::Ready(()) = this.1.as_mut().poll(cx) {
                this.3 = Some(());
            }
        }
        if this.2.is_some() && this.3.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
