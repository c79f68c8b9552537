//! A small in-memory server built on [`crate::conflict::decide`], for engine unit tests. The
//! real server (`ferrysync-server`) is exercised by `crates/server/tests/engine.rs`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use crate::conflict::{decide, CollectionPolicy, Decision, RecordState};
use crate::protocol::*;
use crate::transport::{Result, Transport, TransportError};

#[derive(Default)]
pub(crate) struct State {
    /// Current state and change sequence of each record.
    pub(crate) records: BTreeMap<(String, String), (RecordState, u64)>,
    seq: u64,
    processed: HashMap<String, ChangeResult>,
    /// How many times each changeId was written (must stay ≤ 1).
    pub(crate) writes: HashMap<String, usize>,
    conflicts: HashMap<String, ((String, String), Change, RecordState)>,
}

/// The fake server; `&FakeServer` is the transport of every engine in a test.
#[derive(Default)]
pub(crate) struct FakeServer {
    pub(crate) state: RefCell<State>,
    /// The next push is applied but its answer is lost.
    pub(crate) lose_next_push: Cell<bool>,
    /// Fails every request with a network error, applying nothing.
    pub(crate) down: Cell<bool>,
    /// Runs after a push was applied, before its answer reaches the engine.
    pub(crate) on_push: RefCell<Option<Box<dyn FnMut()>>>,
    /// Runs once, after the next pull page is made, before it reaches the engine.
    pub(crate) on_pull: RefCell<Option<Box<dyn FnMut()>>>,
    pub(crate) pushes: Cell<usize>,
    pub(crate) pulls: Cell<usize>,
    /// Single-record fetches (`record`).
    pub(crate) fetches: Cell<usize>,
    /// Runs once, after the next single-record fetch is answered, before it reaches the engine.
    pub(crate) on_fetch: RefCell<Option<Box<dyn FnMut()>>>,
}

fn server_record(collection: &str, id: &str, s: &RecordState) -> ServerRecord {
    ServerRecord {
        collection: collection.to_owned(),
        id: id.to_owned(),
        version: s.version,
        data: s.data.clone().into(),
        deleted: s.deleted,
        hlc: s.hlc.clone(),
        device_id: s.device_id.clone(),
        updated_at: "2026-01-01T00:00:00Z".to_owned(),
    }
}

impl State {
    fn write(&mut self, key: (String, String), state: RecordState) {
        self.seq += 1;
        self.records.insert(key, (state, self.seq));
    }

    fn apply(
        &mut self,
        collection: &str,
        change: &Change,
        policy: &CollectionPolicy,
    ) -> ChangeResult {
        let mut result = ChangeResult::new(
            collection,
            change.id.clone(),
            change.change_id.clone(),
            ResultStatus::Applied,
        );
        if let Some(earlier) = self.processed.get(&change.change_id) {
            let mut dup = earlier.clone();
            dup.status = ResultStatus::Skipped;
            dup.reason = Some("duplicate".to_owned());
            return dup;
        }
        let refused = change.data.get("reject") == Some(&serde_json::Value::Bool(true));
        if change.id.starts_with("bad") || refused {
            result.status = ResultStatus::Rejected;
            result.reason = Some("invalid_id".to_owned());
            return result;
        }
        let key = (collection.to_owned(), change.id.clone());
        let current = self.records.get(&key).map(|(s, _)| s.clone());
        match decide(current.as_ref(), change, policy) {
            Decision::Write { state, conflict } => {
                *self.writes.entry(change.change_id.clone()).or_default() += 1;
                result.version = Some(state.version);
                result.record = Some(server_record(collection, &change.id, &state));
                if let Some(note) = conflict {
                    result.status = ResultStatus::Conflict;
                    result.strategy = Some(note.strategy);
                    result.winner = Some(note.winner);
                }
                self.write(key, state);
            }
            Decision::Keep { conflict } => {
                let current = current.expect("keep implies a current record");
                result.status = ResultStatus::Conflict;
                result.version = Some(current.version);
                result.strategy = Some(conflict.strategy);
                result.winner = Some(conflict.winner);
                result.record = Some(server_record(collection, &change.id, &current));
                if conflict.open {
                    let id = format!("conflict-{}", self.conflicts.len() + 1);
                    self.conflicts
                        .insert(id.clone(), (key, change.clone(), current));
                    result.conflict_id = Some(id);
                }
            }
        }
        self.processed
            .insert(change.change_id.clone(), result.clone());
        result
    }
}

impl Transport for FakeServer {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        if self.down.get() {
            return Err(TransportError::Network("server down".into()));
        }
        self.pushes.set(self.pushes.get() + 1);
        let results = {
            let mut state = self.state.borrow_mut();
            let mut results = Vec::new();
            for (collection, changes) in &request.changes {
                let policy = request
                    .policies
                    .get(collection)
                    .cloned()
                    .unwrap_or_default();
                for change in changes {
                    results.push(state.apply(collection, change, &policy));
                }
            }
            results
        };
        if let Some(hook) = self.on_push.borrow_mut().as_mut() {
            hook();
        }
        if self.lose_next_push.replace(false) {
            return Err(TransportError::Network("response lost".into()));
        }
        Ok(PushResponse {
            success: true,
            results,
            timestamp: "2026-01-01T00:00:00Z".into(),
        })
    }

    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        if self.down.get() {
            return Err(TransportError::Network("server down".into()));
        }
        self.pulls.set(self.pulls.get() + 1);
        let state = self.state.borrow();
        let after: u64 = request.cursor.as_deref().map_or(0, |c| c.parse().unwrap());
        let limit = request.limit.unwrap_or(DEFAULT_PULL_LIMIT) as usize;
        let mut newer: Vec<_> = state
            .records
            .iter()
            .filter(|(_, (_, seq))| *seq > after)
            .collect();
        newer.sort_by_key(|(_, (_, seq))| *seq);
        // Like the real server: the device's own writes are left out on request, and a page
        // that ends the scan moves the cursor past them too.
        let top = newer.last().map_or(after, |(_, (_, seq))| *seq);
        newer.retain(|(_, (s, _))| !(request.exclude_own && s.device_id == request.device_id));
        let has_more = newer.len() > limit;
        newer.truncate(limit);
        let cursor = match newer.last() {
            Some((_, (_, seq))) if has_more => *seq,
            _ => top,
        };
        let page = PullResponse {
            changes: newer
                .iter()
                .map(|((c, id), (s, _))| server_record(c, id, s))
                .collect(),
            cursor: cursor.to_string(),
            has_more,
            timestamp: "2026-01-01T00:00:00Z".into(),
        };
        drop(state);
        let hook = self.on_pull.borrow_mut().take();
        if let Some(mut hook) = hook {
            hook();
        }
        Ok(page)
    }

    async fn record(&self, collection: &str, id: &str) -> Result<Option<ServerRecord>> {
        if self.down.get() {
            return Err(TransportError::Network("server down".into()));
        }
        self.fetches.set(self.fetches.get() + 1);
        let key = (collection.to_owned(), id.to_owned());
        let record = self
            .state
            .borrow()
            .records
            .get(&key)
            .map(|(s, _)| server_record(collection, id, s));
        let hook = self.on_fetch.borrow_mut().take();
        if let Some(mut hook) = hook {
            hook();
        }
        Ok(record)
    }

    async fn open_conflicts(&self, device_id: &str) -> Result<Vec<String>> {
        if self.down.get() {
            return Err(TransportError::Network("server down".into()));
        }
        let state = self.state.borrow();
        let of_device = state
            .conflicts
            .iter()
            .filter(|(_, (_, change, _))| change.device_id == device_id);
        Ok(of_device.map(|(id, _)| id.clone()).collect())
    }

    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolvedRecord> {
        let mut state = self.state.borrow_mut();
        let Some((key, change, _)) = state.conflicts.remove(&request.conflict_id) else {
            return Err(TransportError::from_status(404, None, None));
        };
        let (current, _) = state.records.get(&key).cloned().expect("conflicted record");
        let data = match request.resolution {
            Resolution::Server => None,
            Resolution::Client if change.deleted => Some(serde_json::Value::Null),
            Resolution::Client => Some((*change.data).clone()),
            Resolution::Merged => request.data.clone(),
        };
        let record = match data {
            None => current,
            Some(data) => {
                let next = RecordState {
                    version: current.version + 1,
                    deleted: data.is_null(),
                    data,
                    hlc: change.hlc.clone(),
                    // Like the real server: no device's own write, so every device pulls it.
                    device_id: "server".to_owned(),
                    run_base: current.version,
                    fields: current.fields.clone(),
                };
                state.write(key.clone(), next.clone());
                next
            }
        };
        let record = server_record(&key.0, &key.1, &record);
        Ok(ResolvedRecord {
            conflict: serde::de::IgnoredAny,
            record,
        })
    }
}
