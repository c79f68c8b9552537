//! What the app is told about sync: [`Status`], kept true by the engine, and [`SyncReport`].

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::record::SyncStatus;
use crate::store::LocalStore;
use crate::transport::Transport;

/// Overall sync health, for a badge in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Online and the last cycle (if any) succeeded.
    #[default]
    Good,
    /// Online but the last cycle failed; see `lastError`.
    Degraded,
    /// The device is offline; nothing is sent.
    Offline,
}

/// The last failure, as the app sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable code ([`Error::code`]).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

/// Sync status of one device's database.
///
/// Invariants the engine keeps: `pending` is the number of `UNSYNCED` records, `conflicts` the
/// number of open manual conflicts, `rejected` the number of `REJECTED` records, and `health`
/// follows from `online` and `lastError` ([`Status::health_of`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The device believes it has a network (`navigator.onLine` and `online`/`offline` events).
    pub online: bool,
    /// A cycle is running.
    pub syncing: bool,
    /// Records waiting to be pushed.
    pub pending: usize,
    /// Open manual conflicts.
    pub conflicts: usize,
    /// Changes the server refused.
    pub rejected: usize,
    /// End of the last successful cycle, ms since the Unix epoch.
    pub last_sync_at: Option<u64>,
    /// Why the last cycle failed; cleared by a successful one.
    pub last_error: Option<ErrorInfo>,
    /// Summary of the above.
    pub health: Health,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            online: true,
            syncing: false,
            pending: 0,
            conflicts: 0,
            rejected: 0,
            last_sync_at: None,
            last_error: None,
            health: Health::Good,
        }
    }
}

impl Status {
    /// The count that holds records in `status`; `SYNCED` records are not counted.
    pub(super) fn count_of(&mut self, status: SyncStatus) -> Option<&mut usize> {
        match status {
            SyncStatus::Synced => None,
            SyncStatus::Unsynced => Some(&mut self.pending),
            SyncStatus::Conflict => Some(&mut self.conflicts),
            SyncStatus::Rejected => Some(&mut self.rejected),
        }
    }

    /// The health implied by the other fields.
    pub fn health_of(&self) -> Health {
        if !self.online {
            Health::Offline
        } else if self.last_error.is_some() {
            Health::Degraded
        } else {
            Health::Good
        }
    }
}

/// What one sync cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Changes sent to the server.
    pub pushed: usize,
    /// Records received from the server.
    pub pulled: usize,
    /// Pushed changes the server wrote.
    pub applied: usize,
    /// Pushed changes the server had already processed (or found superseded).
    pub skipped: usize,
    /// Pushed changes the server refused.
    pub rejected: usize,
    /// Pushed changes that met a conflict (resolved by strategy, or opened for a person).
    pub conflicts: usize,
    /// Wall time of the cycle.
    pub duration_ms: u64,
}

/// A status subscriber.
pub type StatusListener = Rc<dyn Fn(&Status)>;

/// Subscribers keyed by a handle; callbacks run with no borrow held, so they may call back
/// into the engine (read the status, unsubscribe, even start a cycle).
pub(super) struct Listeners<L: ?Sized> {
    next: RefCell<u64>,
    all: RefCell<Vec<(u64, Rc<L>)>>,
}

impl<L: ?Sized> Default for Listeners<L> {
    fn default() -> Self {
        Self {
            next: RefCell::new(0),
            all: RefCell::new(Vec::new()),
        }
    }
}

impl<L: ?Sized> Listeners<L> {
    pub(super) fn add(&self, listener: Rc<L>) -> u64 {
        let mut next = self.next.borrow_mut();
        *next += 1;
        self.all.borrow_mut().push((*next, listener));
        *next
    }

    pub(super) fn remove(&self, handle: u64) -> bool {
        let mut all = self.all.borrow_mut();
        let before = all.len();
        all.retain(|(h, _)| *h != handle);
        all.len() != before
    }

    pub(super) fn snapshot(&self) -> Vec<Rc<L>> {
        self.all.borrow().iter().map(|(_, l)| l.clone()).collect()
    }
}

/// Clears `syncing` when dropped without the cycle finishing.
pub(super) struct SyncingGuard<'a>(pub(super) &'a RefCell<Status>);

impl Drop for SyncingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut status) = self.0.try_borrow_mut() {
            status.syncing = false;
        }
    }
}

/// The engine's side of the status: it is read, subscribed to, and kept true here.
impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Calls `listener` with the new status after every change to it; returns a handle for
    /// [`Engine::off_status`].
    pub fn on_status(&self, listener: StatusListener) -> u64 {
        self.status_listeners.add(listener)
    }

    /// Removes a status listener; false when the handle was unknown.
    pub fn off_status(&self, handle: u64) -> bool {
        self.status_listeners.remove(handle)
    }

    /// Tells the engine whether the device is online; offline, [`Engine::sync`] sends nothing.
    pub fn set_online(&self, online: bool) {
        self.update_status(|s| s.online = online);
    }

    /// Takes the cycle fields (`syncing`, `lastSyncAt`, `lastError`) of a status another tab
    /// published for the same database; the counts are this engine's own (see
    /// [`Engine::refresh_status`]).
    pub fn adopt_cycle_status(&self, other: &Status) {
        self.update_status(|s| {
            s.syncing = other.syncing;
            s.last_sync_at = other.last_sync_at.max(s.last_sync_at);
            s.last_error = other.last_error.clone();
        });
    }

    /// Recounts pending, conflicting and rejected records from the store (e.g. after another
    /// tab changed it) and notifies status listeners.
    pub async fn refresh_status(&self) -> Result<()> {
        // A local write committed while the store counted may or may not be in the counts,
        // and its own shift is already in the status: count again. Writes that keep coming
        // cannot hold this up for long; the last count is taken after three tries.
        let mut tries = 0;
        let counts = loop {
            let seen = self.edits.get();
            let counts = self.store.counts().await?;
            tries += 1;
            if seen == self.edits.get() || tries == 3 {
                break counts;
            }
        };
        self.update_status(|s| {
            s.pending = counts.pending;
            s.conflicts = counts.conflicts;
            s.rejected = counts.rejected;
        });
        Ok(())
    }

    /// Counts local writes into the status at once: `left` holds, for each record written,
    /// the status it had (`SYNCED` for a new one); each is `UNSYNCED` now. A store that writes
    /// outside the engine (the browser's app path) calls this after its commit, so `status()`
    /// is true when the write returns.
    pub fn edited(&self, left: &[SyncStatus]) {
        let moves: Vec<_> = left.iter().map(|s| (*s, SyncStatus::Unsynced)).collect();
        self.moved(&moves);
    }

    /// Moves the status's counts for records whose status went from the first of each pair to
    /// the second (`SYNCED` also stands for a record that is gone), and tells a recount running
    /// meanwhile to count again.
    pub(super) fn moved(&self, moves: &[(SyncStatus, SyncStatus)]) {
        self.edits.set(self.edits.get() + 1);
        if moves.iter().all(|(from, to)| from == to) {
            return;
        }
        self.update_status(|s| {
            for &(from, to) in moves {
                if let Some(n) = s.count_of(from) {
                    *n = n.saturating_sub(1);
                }
                if let Some(n) = s.count_of(to) {
                    *n += 1;
                }
            }
        });
    }

    /// Applies `change` to the status, recomputes health and notifies listeners.
    pub(super) fn update_status(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.status.borrow_mut());
        self.publish_status();
    }

    /// Recomputes health and notifies listeners (one copy, whatever the change).
    fn publish_status(&self) {
        let snapshot = {
            let mut status = self.status.borrow_mut();
            status.health = status.health_of();
            status.clone()
        };
        for listener in self.status_listeners.snapshot() {
            listener(&snapshot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_online_and_errors() {
        let mut s = Status::default();
        assert_eq!(s.health_of(), Health::Good);
        s.last_error = Some(ErrorInfo::from(&Error::Busy));
        assert_eq!(s.health_of(), Health::Degraded);
        s.online = false;
        assert_eq!(s.health_of(), Health::Offline);
    }

    #[test]
    fn status_serializes_camel_case() {
        let json = serde_json::to_value(Status::default()).unwrap();
        assert_eq!(json["lastSyncAt"], serde_json::Value::Null);
        assert_eq!(json["health"], "good");
    }

    #[test]
    fn listeners_can_be_removed_while_notified() {
        let listeners: Listeners<dyn Fn()> = Listeners::default();
        let a = listeners.add(Rc::new(|| {}));
        let b = listeners.add(Rc::new(|| {}));
        for l in listeners.snapshot() {
            l();
            listeners.remove(a);
        }
        assert!(!listeners.remove(a));
        assert!(listeners.remove(b));
    }
}
