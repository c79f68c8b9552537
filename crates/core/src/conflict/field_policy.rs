//! Per-field policies such as "keep the higher value", applied on every write by both sides.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::protocol::names::deserialize_by_name;

/// A rule for one top-level field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldPolicy {
    /// Keep the greater number (a quiz score may only go up).
    Max,
    /// Keep the smaller number.
    Min,
}

deserialize_by_name!(FieldPolicy, [Max = "max", Min = "min"]);

/// Applies `policies` to `next`, the data about to replace `previous`.
///
/// A numeric field under `max` never decreases and under `min` never increases; non-numeric
/// values and deletes (`next` is `null`) are left as they are.
pub fn apply_field_policies(
    policies: &BTreeMap<String, FieldPolicy>,
    previous: &Value,
    next: &Value,
) -> Value {
    let (Some(prev), Value::Object(next_map)) = (previous.as_object(), next) else {
        return next.clone();
    };
    let mut out = next_map.clone();
    for (field, policy) in policies {
        let (Some(old), Some(new)) = (
            prev.get(field).and_then(Value::as_f64),
            out.get(field).and_then(Value::as_f64),
        ) else {
            continue;
        };
        let keep_old = match policy {
            FieldPolicy::Max => old > new,
            FieldPolicy::Min => old < new,
        };
        if keep_old {
            out.insert(field.clone(), prev[field].clone());
        }
    }
    Value::Object(out)
}
