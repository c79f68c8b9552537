//! # The sync engine
//!
//! One device's half of ferrysync: it pushes the device's local changes to the server, pulls
//! everyone else's, and keeps [`Status`] true. It is generic over its three ports, so the same
//! code runs in the browser (IndexedDB, `fetch`, `Date.now`) and in native tests (a
//! [`MemoryStore`](crate::MemoryStore), the server's router in-process, a manual clock):
//! [`LocalStore`], [`Transport`] and [`Clock`].
//!
//! ## Protocol walkthrough
//!
//! 1. **Local write** ([`Engine::put`], [`Engine::delete`]): the record and its pending change
//!    (fresh `changeId`, the `baseVersion` it was edited from, an HLC stamp) commit in one store
//!    update; the record is `UNSYNCED`. Edits before the next push coalesce into one change.
//! 2. **Push** ([`Engine::sync`], first half): the outbox (every `UNSYNCED` record, oldest
//!    first) goes out in batches of at most `batch_size` changes, with the conflict policy of
//!    each collection. Each batch's per-change results are applied in **one** store update, and
//!    only to a record whose pending `changeId` is still the one pushed: a record edited while
//!    its older version was in flight stays `UNSYNCED` with the newer data, rebased onto the
//!    version the server assigned when it took the pushed data as sent (after a lost conflict
//!    it keeps its base, so the strategy decides again). `applied`/`skipped` → `SYNCED`; `rejected` → `REJECTED`
//!    (the others continue); `conflict` → the winner is stored, or `CONFLICT` for `manual`.
//! 3. **Pull** (second half): pages after the saved cursor until `hasMore` is false; each page
//!    and the new cursor commit in one store update. The server leaves out this device's own
//!    writes (`excludeOwn`): the push answers already settled them. A pulled version never
//!    overwrites a record with a pending change: the strategy settles that on the next push.
//! 4. **Retry**: a push whose answer was lost is sent again with the same `changeId`s; the
//!    server answers `skipped: duplicate` with the earlier outcome, so nothing applies twice.
//!
//! No store transaction is ever open while a request is in flight: every step reads, releases,
//! awaits the transport, then writes the answer back in a new update.
//!
//! ```text
//!                local write                      push batch ok
//!   ┌────────┐ ───────────────► ┌──────────┐ ──────────────────► ┌────────┐
//!   │ SYNCED │                  │ UNSYNCED │                     │ SYNCED │
//!   └────────┘ ◄─── pull ────── └──────────┘ ◄── edit again ──── └────────┘
//!     (no pending change)         │      ▲
//!                      rejected   │      │ edit (retries)
//!                                 ▼      │
//!                           ┌──────────┐  ┌──────────┐ manual conflict
//!                           │ REJECTED │  │ CONFLICT │ ◄──────── push
//!                           └──────────┘  └──────────┘ ── resolve_conflict ──► SYNCED
//!
//!   cycle:  idle ──sync()──► pushing ──outbox empty──► pulling ──hasMore=false──► idle
//!                              │ error                   │ error
//!                              └──────────► idle + lastError (caller backs off) ◄┘
//! ```
//!
//! ## One cycle
//!
//! ```
//! # use std::{future::Future, pin::pin, task::{Context, Poll, Waker}};
//! # use ferrysync_core::engine::{Config, Engine};
//! # use ferrysync_core::protocol::*;
//! # use ferrysync_core::transport::{Result, Transport};
//! # use ferrysync_core::{ManualClock, MemoryStore};
//! # fn block_on<F: Future>(f: F) -> F::Output {
//! #     let mut f = pin!(f);
//! #     let mut cx = Context::from_waker(Waker::noop());
//! #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! /// A server that accepts every change as version 1 and has nothing to send back.
//! struct AcceptAll;
//! impl Transport for AcceptAll {
//!     async fn push(&self, req: &PushRequest) -> Result<PushResponse> {
//!         let results = req.changes.iter().flat_map(|(collection, changes)| {
//!             changes.iter().map(move |c| ChangeResult {
//!                 version: Some(1),
//!                 ..ChangeResult::new(collection, &c.id, &c.change_id, ResultStatus::Applied)
//!             })
//!         });
//!         Ok(PushResponse { success: true, results: results.collect(), timestamp: String::new() })
//!     }
//!     async fn pull(&self, _: &PullRequest) -> Result<PullResponse> {
//!         Ok(PullResponse { changes: vec![], cursor: "1".into(), has_more: false, timestamp: String::new() })
//!     }
//!     async fn resolve_conflict(&self, _: &ResolveRequest) -> Result<ResolvedRecord> {
//!         unreachable!("no manual conflicts here")
//!     }
//!     async fn record(&self, _: &str, _: &str) -> Result<Option<ServerRecord>> {
//!         Ok(None)
//!     }
//!     async fn open_conflicts(&self, _: &str) -> Result<Vec<String>> {
//!         Ok(vec![])
//!     }
//! }
//!
//! block_on(async {
//!     let store = MemoryStore::new(["todos"]);
//!     let mut ids = 0;
//!     let new_id = move || { ids += 1; format!("id-{ids}") };
//!     let config = Config::new(["todos"]);
//!     let engine = Engine::open(store, AcceptAll, ManualClock::new(1_000), config, new_id)
//!         .await
//!         .unwrap();
//!     engine.put("todos", "t1", serde_json::json!({"title": "milk"})).await.unwrap();
//!     assert_eq!(engine.status().pending, 1);
//!     let report = engine.sync().await.unwrap();
//!     assert_eq!((report.pushed, report.applied), (1, 1));
//!     assert_eq!(engine.status().pending, 0);
//! });
//! ```

mod config;
mod conflict_map;
mod conflicts;
mod event;
mod local;
mod pull;
mod push;
mod push_limit;
mod status;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};

use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::hlc::{Hlc, HlcClock};
use crate::store::LocalStore;
use crate::transport::Transport;

pub use config::{
    Config, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, META_CONFLICTS, META_CURSOR, META_DEVICE_ID,
    META_HLC, META_LAST_SYNC_AT, META_PULLED, META_PULL_OWN, META_SEQ,
};
pub use conflicts::{Choice, OpenConflict, RejectedChange};
pub use event::{RecordEvent, RecordFn, RecordListener};
pub use status::{ErrorInfo, Health, Status, StatusListener, SyncReport};

/// The callback inside a [`StatusListener`].
pub type StatusFn = dyn Fn(&Status);

/// The sync engine of one device's database. All methods take `&self` and never hold a
/// `RefCell` borrow across an `.await`, so concurrent calls from a single-threaded runtime are
/// safe; a second [`Engine::sync`] while one runs fails fast with [`Error::Busy`].
pub struct Engine<S, T, C> {
    store: S,
    transport: T,
    clock: C,
    config: Config,
    device_id: String,
    hlc: RefCell<HlcClock>,
    seq: Cell<u64>,
    new_id: RefCell<Box<dyn FnMut() -> String>>,
    status: RefCell<Status>,
    /// Local writes counted into the status so far ([`Engine::edited`]); a recount that saw
    /// this change while it ran counts again.
    edits: Cell<u64>,
    /// Whether conflict details no record holds may be stored (true from open until a cycle
    /// has dropped them; see [`Engine::reconcile_conflicts`]).
    stray_details: Cell<bool>,
    /// The smallest pushes the server refused as too large (see [`push_limit`]).
    push_limit: Cell<push_limit::PushLimit>,
    status_listeners: status::Listeners<StatusFn>,
    record_listeners: status::Listeners<RecordFn>,
}

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Opens the engine over `store`: reads (or, on first open, creates with `new_id` and
    /// persists) the device id, resumes the clock and counts pending records. `new_id` also
    /// makes every `changeId`, so it must return globally unique ids (a UUID v4 in the browser).
    pub async fn open(
        store: S,
        transport: T,
        clock: C,
        mut config: Config,
        new_id: impl FnMut() -> String + 'static,
    ) -> Result<Self> {
        let mut new_id: Box<dyn FnMut() -> String> = Box::new(new_id);
        config.batch_size = config.batch_size.clamp(1, MAX_BATCH_SIZE);
        let device_id = match store.meta(META_DEVICE_ID).await? {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => {
                let id = new_id();
                store
                    .update(
                        &[],
                        &[(META_DEVICE_ID, Value::String(id.clone()))],
                        &mut |_, r| r,
                    )
                    .await?;
                id
            }
        };
        let last = store.meta(META_HLC).await?;
        let last = last
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Hlc>().ok());
        let hlc = match last {
            Some(last) => HlcClock::resume(device_id.clone(), &last),
            None => HlcClock::new(device_id.clone()),
        };
        let seq = store
            .meta(META_SEQ)
            .await?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let last_sync_at = store
            .meta(META_LAST_SYNC_AT)
            .await?
            .and_then(|v| v.as_u64());
        let engine = Self {
            store,
            transport,
            clock,
            config,
            device_id,
            hlc: RefCell::new(hlc),
            seq: Cell::new(seq),
            new_id: RefCell::new(new_id),
            status: RefCell::new(Status {
                last_sync_at,
                ..Status::default()
            }),
            edits: Cell::new(0),
            stray_details: Cell::new(true),
            push_limit: Cell::default(),
            status_listeners: status::Listeners::default(),
            record_listeners: status::Listeners::default(),
        };
        engine.refresh_status().await?;
        Ok(engine)
    }

    /// This device's id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The configuration in use (batch size already clamped).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The local store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Calls `listener` with the records each sync step changed; returns a handle for
    /// [`Engine::off_records`].
    pub fn on_records(&self, listener: RecordListener) -> u64 {
        self.record_listeners.add(listener)
    }

    /// Removes a record listener; false when the handle was unknown.
    pub fn off_records(&self, handle: u64) -> bool {
        self.record_listeners.remove(handle)
    }

    /// A stamp after every stamp this engine issued or saw (pulled, acknowledged), so a clock
    /// kept elsewhere for the same device can [`HlcClock::observe`] it.
    pub fn latest_stamp(&self) -> Hlc {
        self.hlc.borrow_mut().now(0)
    }

    /// Runs one cycle: push every `UNSYNCED` change, then pull every page.
    ///
    /// On failure the status carries `lastError` and the error is returned; what was committed
    /// before the failure stays committed, and the next cycle continues from there. Once the push
    /// and the pull have landed, a network error or a busy server in the closing check of open
    /// conflicts (`reconcile_conflicts`) leaves that check to the next cycle and does
    /// not fail this one.
    pub async fn sync(&self) -> Result<SyncReport> {
        if !self.status.borrow().online {
            return Err(Error::Offline);
        }
        if self.status.borrow().syncing {
            return Err(Error::Busy);
        }
        self.update_status(|s| s.syncing = true);
        // Resets `syncing` even if the caller drops the cycle half-way.
        let guard = status::SyncingGuard(&self.status);
        let start = self.clock.now_millis();
        let mut report = SyncReport::default();
        // Versions this cycle's pushes settled: their echo in the pull needs no write.
        let mut settled = Settled::new();
        let mut outcome = self.push_all(&mut report, &mut settled).await;
        if outcome.is_ok() {
            outcome = self.pull_all(&mut report, &settled).await;
        }
        if outcome.is_ok() {
            // The push and the pull have landed: a check the network cut off (or a busy
            // server turned away) waits for the next cycle instead of failing this one.
            outcome = match self.reconcile_conflicts().await {
                Err(Error::Transport(e)) if e.is_retryable() => Ok(()),
                other => other,
            };
        }
        let end = self.clock.now_millis();
        report.duration_ms = end.saturating_sub(start);
        if outcome.is_ok() {
            outcome = self
                .store
                .update(&[], &[(META_LAST_SYNC_AT, Value::from(end))], &mut |_, r| r)
                .await
                .map(drop)
                .map_err(Error::from);
        }
        let counted = self.refresh_status().await;
        drop(guard);
        self.update_status(|s| {
            s.syncing = false;
            match &outcome {
                Ok(()) => {
                    s.last_sync_at = Some(end);
                    s.last_error = None;
                }
                Err(e) => s.last_error = Some(ErrorInfo::from(e)),
            }
        });
        outcome?;
        counted?;
        Ok(report)
    }

    fn emit_records(&self, events: &[RecordEvent]) {
        if events.is_empty() {
            return;
        }
        for listener in self.record_listeners.snapshot() {
            listener(events);
        }
    }

    /// The clock's newest stamp, as stored in meta.
    fn hlc_meta(&self) -> (&'static str, Value) {
        let last = self.hlc.borrow_mut().now(0);
        (META_HLC, Value::String(last.to_string()))
    }
}

/// Record versions a cycle's pushes settled locally (`SYNCED` at that version).
type Settled = std::collections::HashMap<crate::store::Key, u64>;
