//! When to sync, and which tab does it: the browser half of the sync loop around core's
//! [`Engine`].
//!
//! - [`online`/`offline`](https://developer.mozilla.org/en-US/docs/Web/API/Window/online_event)
//!   events and [`navigator.onLine`](https://developer.mozilla.org/en-US/docs/Web/API/Navigator/onLine)
//!   at open set the engine's `online`; back online, a cycle starts at once.
//! - Local writes schedule a cycle after [`DEBOUNCE_MS`]; every cycle schedules the next one
//!   after `syncIntervalMs`; failures schedule a retry with core's [`Retry`] backoff (full
//!   jitter, `Retry-After`); a 4xx waits for the next trigger instead of looping.
//! - [Web Locks](https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API): the tab that
//!   holds `ferrysync:<db>:leader` runs the automatic cycles; every cycle, automatic or
//!   `sync()`, runs under `ferrysync:<db>:cycle`, so exactly one runs at a time across tabs.
//! - A [`BroadcastChannel`](https://developer.mozilla.org/en-US/docs/Web/API/BroadcastChannel)
//!   `ferrysync:<db>` tells the other tabs about local writes (the leader then syncs), records a
//!   cycle changed (their subscribers hear of them) and cycle status (their `status()`).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use ferrysync_core::engine::{Engine, RecordEvent, Status, SyncReport};
use ferrysync_core::record::SyncStatus;
use ferrysync_core::Retry;
use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::client::Inner;
use crate::clock::JsClock;
use crate::store::IndexedDb;
use crate::transport::HttpTransport;
use crate::Result;
use channel::Message;
use locks::{lock_manager, with_lock};

pub(crate) use locks::sleep;

mod channel;
mod locks;

/// Delay between a local write and the cycle that pushes it (writes in a burst share one).
pub(crate) const DEBOUNCE_MS: u32 = 500;
/// Default `syncIntervalMs`: five minutes.
pub(crate) const DEFAULT_INTERVAL_MS: u32 = 300_000;

/// The engine as the browser runs it.
pub(crate) type BrowserEngine = Engine<Rc<IndexedDb>, HttpTransport, JsClock>;

/// A window event listener kept alive while registered.
type Listener = Closure<dyn FnMut()>;
/// The tab channel's `onmessage` handler.
type MessageListener = Closure<dyn FnMut(MessageEvent)>;

/// One database's sync loop.
pub(crate) struct SyncDriver {
    pub(crate) engine: BrowserEngine,
    inner: Weak<Inner>,
    name: String,
    auto: bool,
    interval_ms: u32,
    leader: Cell<bool>,
    stopped: Cell<bool>,
    retry: RefCell<Retry>,
    /// The next scheduled cycle: when (ms since epoch) and its timeout handle.
    timer: Cell<Option<(f64, i32)>>,
    refresh_queued: Cell<bool>,
    channel: Option<BroadcastChannel>,
    release_leader: RefCell<Option<Function>>,
    window_listeners: RefCell<Vec<(&'static str, Listener)>>,
    on_message: RefCell<Option<MessageListener>>,
}

impl SyncDriver {
    /// Starts syncing `inner`'s database with the server named in its options.
    pub(crate) async fn start(inner: &Rc<Inner>, server_url: &str) -> Result<Rc<Self>> {
        let options = &inner.options;
        let transport = HttpTransport::new(
            server_url,
            options.token.clone(),
            options.get_token.clone().dyn_into::<Function>().ok(),
        );
        let engine = Engine::open(
            inner.store.clone(),
            transport,
            JsClock,
            options.sync_config()?,
            || uuid::Uuid::new_v4().to_string(),
        )
        .await?;
        engine.set_online(navigator_online());
        let driver = Rc::new(Self {
            engine,
            inner: Rc::downgrade(inner),
            name: options.name.clone(),
            auto: options.auto_sync.unwrap_or(true),
            interval_ms: options
                .sync_interval_ms
                .unwrap_or(DEFAULT_INTERVAL_MS)
                .max(1_000),
            leader: Cell::new(false),
            stopped: Cell::new(false),
            retry: RefCell::default(),
            timer: Cell::new(None),
            refresh_queued: Cell::new(false),
            channel: BroadcastChannel::new(&format!("ferrysync:{}", options.name)).ok(),
            release_leader: RefCell::new(None),
            window_listeners: RefCell::default(),
            on_message: RefCell::new(None),
        });
        driver.listen();
        if driver.auto {
            driver.claim_leadership();
        }
        Ok(driver)
    }

    /// Runs one cycle now (under the cross-tab cycle lock) and returns its report.
    pub(crate) async fn sync_now(self: &Rc<Self>) -> Result<SyncReport> {
        loop {
            match self.clone().run_cycle().await {
                // A cycle of this tab is running: wait for it, then run a fresh one.
                Err(ferrysync_core::Error::Busy) => sleep(50).await,
                other => return Ok(other?),
            }
        }
    }

    /// Called after every local write of this tab, with the statuses the written records left
    /// (counted into the status at once; the recount after a burst checks it against the store).
    pub(crate) fn local_write(self: &Rc<Self>, left: Vec<SyncStatus>) {
        self.engine.edited(&left);
        self.refresh_soon();
        self.post(&Message::Changed);
        if self.leader.get() {
            self.schedule(DEBOUNCE_MS);
        }
    }

    /// Stops timers, listeners and leadership (the database is closing).
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        if let (Some((_, handle)), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(handle);
        }
        if let Some(window) = web_sys::window() {
            for (event, listener) in self.window_listeners.borrow_mut().drain(..) {
                let _ = window
                    .remove_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            }
        }
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.on_message.borrow_mut().take();
        if let Some(release) = self.release_leader.borrow_mut().take() {
            let _ = release.call0(&JsValue::NULL);
        }
        self.leader.set(false);
    }

    async fn run_cycle(self: Rc<Self>) -> ferrysync_core::error::Result<SyncReport> {
        if self.stopped.get() {
            return Err(ferrysync_core::Error::Offline);
        }
        let this = self.clone();
        let name = format!("ferrysync:{}:cycle", self.name);
        let outcome = with_lock(&name, async move {
            this.post(&Message::Status {
                status: Status {
                    syncing: true,
                    ..this.engine.status()
                },
            });
            this.engine.sync().await
        })
        .await
        .unwrap_or(Err(ferrysync_core::Error::Busy));
        // The cycle's acknowledgements are folded into their rows in the background (reads
        // join them until then); a fold that fails leaves them to the next one.
        fold_later(self.engine.store());
        self.catch_up_clock();
        self.post(&Message::Status {
            status: self.engine.status(),
        });
        outcome
    }

    /// Lets the app's write clock absorb every stamp the engine saw (pulled, acknowledged,
    /// fetched, resolved), so the next local edit sorts after them. Called after each cycle and
    /// after every other call that brings server versions in.
    pub(crate) fn catch_up_clock(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner
                .clock
                .borrow_mut()
                .observe(&self.engine.latest_stamp());
        }
    }

    /// An automatic cycle, then the next one scheduled by its outcome.
    async fn tick(self: Rc<Self>) {
        self.timer.set(None);
        if self.stopped.get() || !self.leader.get() || !self.engine.status().online {
            return;
        }
        let outcome = self.clone().run_cycle().await;
        let next = match &outcome {
            Ok(_) => {
                self.retry.borrow_mut().on_success();
                Some(self.interval_ms)
            }
            Err(ferrysync_core::Error::Offline) => None,
            Err(e) => {
                let backoff = e.transport().and_then(|t| {
                    self.retry
                        .borrow_mut()
                        .on_failure(t, js_sys::Math::random())
                });
                let delay =
                    backoff.map_or(self.interval_ms, |ms| u32::try_from(ms).unwrap_or(u32::MAX));
                Some(delay)
            }
        };
        if let Some(delay) = next {
            self.schedule(delay);
        }
    }

    /// Runs [`SyncDriver::tick`] in `delay_ms`, unless one is already due sooner.
    fn schedule(self: &Rc<Self>, delay_ms: u32) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if self.stopped.get() || !self.auto {
            return;
        }
        let due = js_sys::Date::now() + f64::from(delay_ms);
        if let Some((at, handle)) = self.timer.get() {
            if at <= due {
                return;
            }
            window.clear_timeout_with_handle(handle);
        }
        let weak = Rc::downgrade(self);
        let callback = Closure::once_into_js(move || {
            if let Some(driver) = weak.upgrade() {
                spawn_local(driver.tick());
            }
        });
        let delay = i32::try_from(delay_ms).unwrap_or(i32::MAX);
        if let Ok(handle) = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay)
        {
            self.timer.set(Some((due, handle)));
        }
    }

    /// Recounts the status from the store shortly (writes in a burst share one recount).
    fn refresh_soon(self: &Rc<Self>) {
        if self.refresh_queued.replace(true) {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            sleep(30).await;
            this.refresh_queued.set(false);
            if !this.stopped.get() {
                let _ = this.engine.refresh_status().await;
            }
        });
    }

    /// Window events, the tab channel and the engine's record events.
    fn listen(self: &Rc<Self>) {
        if let Some(window) = web_sys::window() {
            for (event, online) in [("online", true), ("offline", false)] {
                let weak = Rc::downgrade(self);
                let listener = Closure::<dyn FnMut()>::new(move || {
                    if let Some(driver) = weak.upgrade() {
                        driver.set_online(online);
                    }
                });
                let _ = window
                    .add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
                self.window_listeners.borrow_mut().push((event, listener));
            }
        }
        if let Some(channel) = &self.channel {
            let weak = Rc::downgrade(self);
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(driver) = weak.upgrade() {
                    driver.receive(event.data());
                }
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            *self.on_message.borrow_mut() = Some(on_message);
        }
        let weak = Rc::downgrade(self);
        self.engine
            .on_records(Rc::new(move |events: &[RecordEvent]| {
                if let Some(driver) = weak.upgrade() {
                    driver.records_changed(events);
                }
            }));
    }

    fn set_online(self: &Rc<Self>, online: bool) {
        self.engine.set_online(online);
        if online {
            self.retry.borrow_mut().on_success();
            if self.leader.get() {
                self.schedule(0);
            }
        }
    }

    /// Waits for `ferrysync:<db>:leader`; while this tab holds it, it runs automatic cycles.
    fn claim_leadership(self: &Rc<Self>) {
        let Some(locks) = lock_manager() else {
            self.leader.set(true);
            self.schedule(0);
            return;
        };
        let weak = Rc::downgrade(self);
        let granted = Closure::once_into_js(move |_lock: JsValue| -> Promise {
            Promise::new(&mut |resolve, _reject| match weak.upgrade() {
                Some(driver) if !driver.stopped.get() => {
                    driver.leader.set(true);
                    *driver.release_leader.borrow_mut() = Some(resolve);
                    driver.schedule(0);
                }
                _ => {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            })
        });
        let name = JsValue::from(format!("ferrysync:{}:leader", self.name));
        if let Ok(request) = Reflect::get(&locks, &"request".into()) {
            if let Ok(request) = request.dyn_into::<Function>() {
                let _ = request.call2(&locks, &name, &granted);
            }
        }
    }
}

fn navigator_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// A value as JS, the way every ferrysync value crosses (plain objects, no `Map`s).
pub(crate) fn to_js<T: Serialize + ?Sized>(
    value: &T,
) -> Result<JsValue, ferrysync_core::StoreError> {
    crate::store::row::to_js(value)
}

/// Folds `store`'s acknowledgements into their rows in the background ([`IndexedDb::fold`]).
pub(crate) fn fold_later(store: &Rc<IndexedDb>) {
    let store = store.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = store.fold().await;
    });
}
