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

use serde_json::Value;

use super::{Engine, RecordEvent, SyncReport, META_CURSOR, META_PULL_OWN};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::join::join;
use crate::protocol::{PullRequest, ServerRecord, PROTOCOL_VERSION};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};
use crate::transport::Transport;

/// How many times one cycle's pull starts over after its cursor was reset under it.
const MAX_RESTARTS: usize = 3;

/// What a pull found at its start, and expects to still find before each page is written.
type Expected = [(&'static str, Value); 2];

impl<S: LocalStore, T: Transport, C: Clock> Engine<S, T, C> {
    /// Pulls pages until the server says there is no more. Each page is written while the next
    /// one is fetched (its cursor is known as soon as the page arrives).
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
        let cursor = expected[0].1.as_str().map(str::to_owned);
        let pull_own = expected[1].1 == Value::Bool(true);
        let mut page = self
            .transport
            .pull(&self.pull_request(cursor.clone(), !pull_own))
            .await?;
        let mut previous = cursor;
        loop {
            if page.has_more && page.changes.is_empty() && previous.as_ref() == Some(&page.cursor) {
                return Err(Error::Protocol(
                    "pull says hasMore but the cursor did not move".to_owned(),
                ));
            }
            let next = page
                .has_more
                .then(|| self.pull_request(Some(page.cursor.clone()), !pull_own));
            // The last page of a re-pull with own writes ends it.
            let end_pull_own = pull_own && next.is_none();
            let fetch = async {
                match &next {
                    Some(request) => self.transport.pull(request).await.map(Some),
                    None => Ok(None),
                }
            };
            let changes = std::mem::take(&mut page.changes);
            let count = changes.len();
            let (stored, fetched) = join(
                self.apply_page(&expected, changes, &page.cursor, end_pull_own, settled),
                fetch,
            )
            .await;
            if !stored? {
                return Ok(false);
            }
            report.pulled += count;
            expected[0].1 = Value::String(page.cursor.clone());
            if end_pull_own {
                expected[1].1 = Value::Bool(false);
            }
            let Some(fetched) = fetched? else {
                return Ok(true);
            };
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
    /// writes) in one store update, while the meta entries hold what `expected` says; `false`
    /// when they do not (nothing is written). The page's records are taken: their data becomes
    /// the stored records' without a copy.
    async fn apply_page(
        &self,
        expected: &Expected,
        changes: Vec<ServerRecord>,
        cursor: &str,
        end_pull_own: bool,
        settled: &super::Settled,
    ) -> Result<bool> {
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
        let mut meta = vec![
            (META_CURSOR, Value::String(cursor.to_owned())),
            self.hlc_meta(),
        ];
        if end_pull_own {
            meta.push((META_PULL_OWN, Value::Bool(false)));
        }
        let now = self.clock.now_millis();
        // Whether the update changed each key (it calls `f` once per key, in order); their
        // events take the rows it returns, without copies.
        let mut changed = Vec::with_capacity(keys.len());
        let written = self
            .store
            .update_if(expected, &keys, &meta, &mut |key, local| {
                let server = latest.remove(key);
                let Some(server) = server.filter(|s| !LocalRecord::keeps_local(local.as_ref(), s))
                else {
                    changed.push(false);
                    return local;
                };
                let next = LocalRecord::apply_pulled(None, server, now);
                changed.push(local.is_some() || next.is_some());
                next
            })
            .await?;
        let Some(written) = written else {
            return Ok(false);
        };
        let events: Vec<RecordEvent> = keys
            .into_iter()
            .zip(written)
            .zip(changed)
            .filter(|(_, changed)| *changed)
            .map(|(((collection, id), record), _)| RecordEvent {
                collection,
                id,
                record,
            })
            .collect();
        self.emit_records(&events);
        Ok(true)
    }
}
