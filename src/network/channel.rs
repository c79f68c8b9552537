//! Messages between tabs of one database over the `BroadcastChannel` `ferrysync:<db>`.

use std::rc::Rc;

use ferrysync_core::engine::{ErrorInfo, Health, RecordEvent, Status};
use ferrysync_core::LocalStore;
use js_sys::{Array, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;

use super::{to_js, SyncDriver, DEBOUNCE_MS};

/// What one tab tells the others: `{ kind: "changed" | "records" | "status", … }`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(super) enum Message {
    /// A local write: the leader should schedule a cycle.
    Changed,
    /// A cycle changed these records.
    Records { keys: Vec<(String, String)> },
    /// The status after (or at the start of) a cycle.
    Status { status: Status },
}

impl Message {
    /// Reads a message another tab posted. By hand rather than derived: an internally tagged
    /// enum deserializes through serde's buffering `Content`, about 10 KB of wasm (and so are
    /// its fields, below).
    fn from_js(data: &JsValue) -> Option<Self> {
        let field = |name: &str| Reflect::get(data, &JsValue::from_str(name)).ok();
        match field("kind")?.as_string()?.as_str() {
            "changed" => Some(Self::Changed),
            "records" => keys_of(&field("keys")?).map(|keys| Self::Records { keys }),
            "status" => status_of(&field("status")?).map(|status| Self::Status { status }),
            _ => None,
        }
    }
}

impl SyncDriver {
    /// Tells the other tabs; a tab without a channel (or a message that can't be sent) is skipped.
    pub(super) fn post(&self, message: &Message) {
        let (Some(channel), Ok(value)) = (&self.channel, to_js(message)) else {
            return;
        };
        let _ = channel.post_message(&value);
    }

    pub(super) fn receive(self: &Rc<Self>, data: JsValue) {
        let Some(message) = Message::from_js(&data) else {
            return;
        };
        match message {
            Message::Changed => {
                self.refresh_soon();
                if self.leader.get() {
                    self.schedule(DEBOUNCE_MS);
                }
            }
            Message::Status { status } => {
                self.engine.adopt_cycle_status(&status);
                self.refresh_soon();
            }
            Message::Records { keys } => {
                let this = self.clone();
                spawn_local(async move { this.reread(keys).await });
            }
        }
    }

    /// A cycle of this tab changed records: tell this tab's subscribers and the other tabs.
    pub(super) fn records_changed(&self, events: &[RecordEvent]) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        // Building the JS rows (and even cloning the records) costs more than the sync itself
        // when nobody listens, so only listened collections are collected.
        let listened = |collection: &str| {
            inner
                .subscribers
                .borrow()
                .iter()
                .any(|s| s.collection == collection)
        };
        let mut by_collection: Vec<(&str, Vec<_>)> = Vec::new();
        for e in events {
            let record = (e.id.clone(), e.record.clone());
            match by_collection.binary_search_by(|(c, _)| (*c).cmp(&e.collection)) {
                Ok(i) => by_collection[i].1.push(record),
                Err(i) if listened(&e.collection) => {
                    by_collection.insert(i, (&e.collection, vec![record]));
                }
                Err(_) => {}
            }
        }
        for (collection, records) in by_collection {
            let _ = inner.notify_records(collection, &records);
        }
        let keys = events
            .iter()
            .map(|e| (e.collection.clone(), e.id.clone()))
            .collect();
        self.post(&Message::Records { keys });
    }

    /// Another tab's cycle changed `keys`: read them and tell this tab's subscribers.
    async fn reread(self: &Rc<Self>, keys: Vec<(String, String)>) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        // Grouped by collection, in name order (a sorted `Vec`: no map type for so few keys).
        let mut by_collection: Vec<(String, Vec<_>)> = Vec::new();
        for (collection, id) in keys {
            let record = inner.store.get(&collection, &id).await.ok().flatten();
            let record = (id, record);
            match by_collection.binary_search_by(|(c, _)| c.cmp(&collection)) {
                Ok(i) => by_collection[i].1.push(record),
                Err(i) => by_collection.insert(i, (collection, vec![record])),
            }
        }
        for (collection, records) in by_collection {
            let _ = inner.notify_records(&collection, &records);
        }
        self.refresh_soon();
    }
}

/// A `Status` as [`to_js`] writes it (camelCase fields), read by hand too: `Status` has no other
/// reader in the package, and its derived `Deserialize` would cost ~6 KB of wasm. Every field
/// is listed, so a new one fails to compile here; `health` follows from the others.
fn status_of(v: &JsValue) -> Option<Status> {
    let get = |o: &JsValue, name: &str| Reflect::get(o, &JsValue::from_str(name)).ok();
    let count = |name: &str| get(v, name)?.as_f64().map(|n| n as usize);
    let last_error = match get(v, "lastError")? {
        e if e.is_null() || e.is_undefined() => None,
        e => Some(ErrorInfo {
            code: get(&e, "code")?.as_string()?,
            message: get(&e, "message")?.as_string()?,
        }),
    };
    let mut status = Status {
        online: get(v, "online")?.as_bool()?,
        syncing: get(v, "syncing")?.as_bool()?,
        pending: count("pending")?,
        conflicts: count("conflicts")?,
        rejected: count("rejected")?,
        last_sync_at: get(v, "lastSyncAt")?.as_f64().map(|t| t as u64),
        last_error,
        health: Health::default(),
    };
    status.health = status.health_of();
    Some(status)
}

/// The `[collection, id]` pairs of a `records` message.
fn keys_of(v: &JsValue) -> Option<Vec<(String, String)>> {
    let pairs: &Array = v.dyn_ref()?;
    pairs
        .iter()
        .map(|pair| {
            let pair: &Array = pair.dyn_ref()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}
