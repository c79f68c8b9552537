//! Messages between tabs of one database over the `BroadcastChannel` `ferrysync:<db>`.

use std::rc::Rc;

use ferrysync_core::engine::Status;
use ferrysync_core::LocalStore;
use js_sys::Reflect;
use serde::Serialize;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use super::{to_js, SyncDriver, DEBOUNCE_MS};
use crate::store::row;

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
    /// enum deserializes through serde's buffering `Content`, about 10 KB of wasm.
    fn from_js(data: &JsValue) -> Option<Self> {
        let field = |name: &str| Reflect::get(data, &JsValue::from_str(name)).ok();
        match field("kind")?.as_string()?.as_str() {
            "changed" => Some(Self::Changed),
            "records" => row::from_js(field("keys")?)
                .ok()
                .map(|keys| Self::Records { keys }),
            "status" => row::from_js(field("status")?)
                .ok()
                .map(|status| Self::Status { status }),
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
