//! The `merge` strategy: combine fields changed on one side; newest wins per field changed on both.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::RecordState;
use crate::protocol::Change;

/// Merges `change` (made from `change.base_version`) into `current`; both are live records.
pub(super) fn merge(current: &RecordState, change: &Change) -> Value {
    let empty = Map::new();
    let server = current.data.as_object().unwrap_or(&empty);
    let client = change.data.as_object().unwrap_or(&empty);
    let base = change.base_version.unwrap_or(0);
    let client_changed: BTreeSet<&String> = if change.changed_fields.is_empty() {
        server.keys().chain(client.keys()).collect()
    } else {
        change.changed_fields.iter().collect()
    };
    let mut out = server.clone();
    for field in client_changed {
        let server_stamp = current
            .fields
            .get(field)
            .filter(|stamp| stamp.version > base);
        let client_wins = match server_stamp {
            None => true,
            Some(stamp) => change.hlc > stamp.hlc,
        };
        if client_wins {
            match client.get(field) {
                Some(value) => out.insert(field.clone(), value.clone()),
                None => out.remove(field),
            };
        }
    }
    Value::Object(out)
}
