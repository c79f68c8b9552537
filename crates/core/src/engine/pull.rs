//! The pull half of a cycle: pages after the saved cursor, each page and its cursor committed
//! in one store update.
//!
//! Pulls ask the server to leave out this device's own writes (`excludeOwn`): the device holds
//! each of them already, at the version and with the data the server stored, from its push
//! answers (a server-changed result comes back as the answer's `record`; resolutions are
//! written under the server's id, not this device's). The one exception is the re-pull after
//! [`Engine::discard_rejected`], which must fetch a record whose server version may be this
//! device's own ([`META_PULL_OWN`]).

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use serde_json::Value;

use super::conflict_map::conflict_of;
use super::{Engine, RecordEvent, SyncReport, META_CURSOR, META_PULLED, META_PULL_OWN};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::protocol::{PullRequest, ServerRecord, PROTOCOL_VERSION};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};
use crate::transport::Transport;

/// How many times one cycle's pull starts over after its cursor was reset under it.
const MAX_RESTARTS: usize = 3;

/// What a pull found at its start, and expects to still find before each page is written.
type Expected = [(&'static str, Value); 2];

/// How one page's store update ended.
struct Stored {
    /// False when the cursor was reset under the pull (nothing written).
    written: bool,
    /// Records in the page.
    count: usize,
    /// Whether any of its records was on the device already.
    found: bool,
}

/// A page's store update, boxed so the next page's can start before it ends.
type Storing<'a> = Pin<Box<dyn Future<Output = Result<Stored>> + 'a>>;

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pulls pages until the server says there is no more.
    ///
    /// The pages are pipelined: while one page's update commits, the next page (fetched
    /// meanwhile) already has its update issued, and the page after it is fetched. IndexedDB
    /// runs the updates in the order they were issued, and each writes only while the cursor is
    /// the one the page before it wrote (see below), so a page whose predecessor failed writes
    /// nothing.
    ///
    /// Each page is written only while the cursor and the re-pull flag are still what the pull
    /// last saw ([`LocalStore::update_if`]): a [`Engine::discard_rejected`], in this tab or
    /// another, may reset them between two pages, and the pull then starts over from the reset
    /// instead of writing its own cursor over it (which would skip the re-pull the discard
    /// asked for).
    pub(super) async fn pull_all(
        &self,
        report: &mut SyncReport,
        settled: &super::Settled,
    ) -> Result<()> {
        for _ in 0..=MAX_RESTARTS {
            if self.pull_pages(report, settled).await? {
                break;
            }
        }
        Ok(())
    }

    /// One pull from the saved cursor to the end: `false` when the cursor was reset under it,
    /// before the page that found out was written.
    async fn pull_pages(&self, report: &mut SyncReport, settled: &super::Settled) -> Result<bool> {
        let cursor = self.store.meta(META_CURSOR).await?.unwrap_or(Value::Null);
        let pull_own = self.store.meta(META_PULL_OWN).await?.unwrap_or(Value::Null);
        let mut expected: Expected = [(META_CURSOR, cursor), (META_PULL_OWN, pull_own)];
        let covered = self.store.meta(META_PULLED).await?;
        // A collection the cursor does not cover yet has records behind it: start over. (A
        // cursor kept before the covered names were is taken as covering the config.)
        let behind = covered
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|covered| {
                self.config
                    .names()
                    .any(|n| !covered.iter().any(|c| c.as_str() == Some(n)))
            });
        let cursor = match behind {
            true => None,
            false => expected[0].1.as_str().map(str::to_owned),
        };
        let pull_own = expected[1].1 == Value::Bool(true);
        // A first pull finds none of its records on the device (the store may write them
        // without waiting to see that); once a page finds some, the pull stops assuming. A
        // re-pull after `discardRejected` starts from no cursor too, over records the device has,
        // and so does one that starts over for a new collection.
        let mut assume_absent = cursor.is_none() && !pull_own && !behind;
        let mut page = self
            .transport
            .pull(&self.pull_request(cursor.clone(), !pull_own))
            .await?;
        let mut previous = cursor;
        let mut storing: Option<Storing<'_>> = None;
        loop {
            if page.has_more && page.changes.is_empty() && previous.as_ref() == Some(&page.cursor) {
                finish(storing).await;
                return Err(Error::Protocol(
                    "pull says hasMore but the cursor did not move".to_owned(),
                ));
            }
            let next = page
                .has_more
                .then(|| self.pull_request(Some(page.cursor.clone()), !pull_own));
            // The last page of a re-pull with own writes ends it.
            let end_pull_own = pull_own && next.is_none();
            let changes = std::mem::take(&mut page.changes);
            let store: Storing<'_> = Box::pin(self.apply_page(
                expected.clone(),
                changes,
                page.cursor.clone(),
                end_pull_own,
                settled,
                assume_absent,
            ));
            expected[0].1 = Value::String(page.cursor.clone());
            if end_pull_own {
                expected[1].1 = Value::Bool(false);
            }
            let fetch = async {
                match &next {
                    Some(request) => self.transport.pull(request).await.map(Some),
                    None => Ok(None),
                }
            };
            let (before, fetched, store) = overlap(storing.take(), store, fetch).await;
            if let Some(before) = before {
                match count(report, &mut assume_absent, before) {
                    Ok(true) => {}
                    stopped => {
                        finish(Some(store)).await;
                        return stopped;
                    }
                }
            }
            let fetched = match fetched {
                Ok(fetched) => fetched,
                Err(e) => {
                    finish(Some(store)).await;
                    return Err(e.into());
                }
            };
            let Some(fetched) = fetched else {
                let last = store.await;
                return count(report, &mut assume_absent, last);
            };
            storing = Some(store);
            previous = Some(std::mem::replace(&mut page, fetched).cursor);
        }
    }

    fn pull_request(&self, cursor: Option<String>, exclude_own: bool) -> PullRequest {
        PullRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.device_id.clone(),
            cursor,
            limit: Some(u32::try_from(self.config.batch_size).unwrap_or(u32::MAX)),
            collections: Some(self.config.names().map(str::to_owned).collect()),
            last_sync_timestamp: None,
            exclude_own,
        }
    }

    /// Writes one page and its cursor (and, with `end_pull_own`, the end of a re-pull with own
    /// writes) in one store update, while the meta entries hold what `expected` says (nothing is
    /// written when they do not). `assume_absent` is passed on to the store.
    async fn apply_page(
        &self,
        expected: Expected,
        changes: Vec<ServerRecord>,
        cursor: String,
        end_pull_own: bool,
        settled: &super::Settled,
        assume_absent: bool,
    ) -> Result<Stored> {
        let count = changes.len();
        let mut latest: HashMap<Key, ServerRecord> = HashMap::with_capacity(changes.len());
        let mut keys: Vec<Key> = Vec::with_capacity(changes.len());
        for record in changes {
            // A server outside the config's collections would make the whole update fail.
            if self.config.policy(&record.collection).is_none() {
                continue;
            }
            self.hlc.borrow_mut().observe(&record.hlc);
            let key = (record.collection.clone(), record.id.clone());
            // This device's own write, already stored at exactly this version by the push. The
            // server leaves those out (`excludeOwn`); this still skips them from a server that
            // ignores the flag (older versions) and on a re-pull with own writes.
            if settled.get(&key) == Some(&record.version) {
                continue;
            }
            // A record listed twice: its later version is the one to keep.
            if latest.insert(key.clone(), record).is_none() {
                keys.push(key);
            }
        }
        let mut names: Vec<&str> = self.config.names().collect();
        names.sort_unstable();
        let mut meta = vec![
            (META_CURSOR, Value::String(cursor)),
            (META_PULLED, Value::from(names)),
            self.hlc_meta(),
        ];
        if end_pull_own {
            meta.push((META_PULL_OWN, Value::Bool(false)));
        }
        let now = self.clock.now_millis();
        // Per key: whether it was on the device, and whether the update changed it. The store
        // may call the closure twice for a key (`assume_absent`), so it only decides and notes.
        let mut outcome: HashMap<Key, (bool, bool)> = HashMap::with_capacity(keys.len());
        // Open manual conflicts whose record the server changed again: (conflict id, key).
        let mut moved: Vec<(String, Key)> = Vec::new();
        let written = self
            .store
            .update_if(&expected, assume_absent, &keys, &meta, &mut |key, local| {
                let existed = local.is_some();
                let server = latest.get(key);
                let Some(server) = server.filter(|s| !LocalRecord::keeps_local(local.as_ref(), s))
                else {
                    outcome.insert(key.clone(), (existed, false));
                    if let Some(id) = local.as_ref().and_then(conflict_of) {
                        moved.retain(|(_, k)| k != key);
                        moved.push((id.to_owned(), key.clone()));
                    }
                    return local;
                };
                let next = LocalRecord::from_server(server, now);
                outcome.insert(key.clone(), (existed, existed || next.is_some()));
                next
            })
            .await?;
        let Some(written) = written else {
            return Ok(Stored {
                written: false,
                count,
                found: false,
            });
        };
        let found = outcome.values().any(|(existed, _)| *existed);
        if !moved.is_empty() {
            let moved = moved
                .into_iter()
                .filter_map(|(id, key)| Some((id, latest.remove(&key)?)))
                .collect();
            self.refresh_remotes(moved).await?;
        }
        let events: Vec<RecordEvent> = keys
            .into_iter()
            .zip(written)
            .filter(|(key, _)| outcome.get(key).is_some_and(|(_, changed)| *changed))
            .map(|((collection, id), record)| RecordEvent {
                collection,
                id,
                record,
            })
            .collect();
        self.emit_records(&events);
        Ok(Stored {
            written: true,
            count,
            found,
        })
    }
}

/// Counts a finished page into `report` (and stops assuming absence once a page found records
/// on the device): `Ok(false)` when it was not written because the cursor was reset.
fn count(
    report: &mut SyncReport,
    assume_absent: &mut bool,
    stored: Result<Stored>,
) -> Result<bool> {
    let stored = stored?;
    if stored.written {
        report.pulled += stored.count;
        *assume_absent &= !stored.found;
    }
    Ok(stored.written)
}

/// Runs a page's update that is still going to its end (its outcome no longer matters: it
/// follows a failure), so its transaction is settled before the pull returns.
async fn finish(storing: Option<Storing<'_>>) {
    if let Some(storing) = storing {
        let _ = storing.await;
    }
}

/// Runs `before` (the previous page's update, if any) and `fetch` to their ends while `current`
/// (this page's update) runs as far as it gets: `current` is polled after `before` each time, so
/// its store requests come after `before`'s, and after `fetch`, so the next page's request is
/// on the wire while `current` does its work. Returns `current` as it is, done or not.
async fn overlap<'a, F: Future>(
    before: Option<Storing<'a>>,
    mut current: Storing<'a>,
    fetch: F,
) -> (Option<Result<Stored>>, F::Output, Storing<'a>) {
    let mut before = before;
    let mut before_out: Option<Result<Stored>> = None;
    let mut current_out: Option<Result<Stored>> = None;
    let mut fetch = std::pin::pin!(fetch);
    let mut fetched = None;
    let fetched = poll_fn(|cx| {
        if let Some(b) = before.as_mut() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                before_out = Some(out);
                before = None;
            }
        }
        if fetched.is_none() {
            if let Poll::Ready(out) = fetch.as_mut().poll(cx) {
                fetched = Some(out);
            }
        }
        if current_out.is_none() {
            if let Poll::Ready(out) = current.as_mut().poll(cx) {
                current_out = Some(out);
            }
        }
        match fetched.take() {
            Some(out) if before.is_none() => Poll::Ready(out),
            out => {
                fetched = out;
                Poll::Pending
            }
        }
    })
    .await;
    let current = match current_out {
        Some(out) => Box::pin(std::future::ready(out)) as Storing<'a>,
        None => current,
    };
    (before_out, fetched, current)
}
