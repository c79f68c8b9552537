//! The device clock's state in the meta store.
//!
//! The engine keeps the newest clock stamp and the last outbox position under two meta keys
//! ([`META_HLC`], [`META_SEQ`]). The app's writes keep both in ONE entry, [`CLOCK`] = `{ hlc, seq }`,
//! because every IndexedDB put costs the single-write path measurably (two meta puts were a
//! quarter of a single write's time). Readers take the newer of the two places: [`state`] when
//! the app opens, and the store's `meta` for the engine's keys, so the engine sees the same
//! values as if every write had updated its keys.

use ferrysync_core::engine::{META_HLC, META_SEQ};
use ferrysync_core::hlc::Hlc;
use js_sys::{Object, Reflect};
use serde_json::Value;
use wasm_bindgen::JsValue;

/// Meta key of `{ hlc, seq }` as of the app's last write.
pub const CLOCK: &str = "clock";

/// The [`CLOCK`] entry for stamp `hlc` and outbox position `seq`.
pub fn entry(hlc: &Hlc, seq: u64) -> JsValue {
    let entry = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&entry, &"hlc".into(), &hlc.to_string().into());
    let _ = Reflect::set(&entry, &"seq".into(), &(seq as f64).into());
    entry.into()
}

/// The newest stamp and outbox position in the engine's entries and the [`CLOCK`] entry.
pub fn state(hlc: Option<&Value>, seq: Option<&Value>, clock: Option<&Value>) -> (Hlc, u64) {
    let stamp = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| s.parse::<Hlc>().ok())
    };
    let number = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let field = |name: &str| clock.and_then(|c| c.get(name));
    let hlc = stamp(hlc)
        .max(stamp(field("hlc")))
        .unwrap_or_else(Hlc::zero);
    (hlc, number(seq).max(number(field("seq"))))
}

/// True for the engine's keys that [`answer`] completes with the [`CLOCK`] entry.
pub fn is_clock_key(key: &str) -> bool {
    key == META_HLC || key == META_SEQ
}

/// The value of meta `key` (one of [`is_clock_key`]'s) given its own entry and [`CLOCK`].
pub fn answer(key: &str, own: Option<Value>, clock: Option<&Value>) -> Option<Value> {
    if clock.is_none() {
        return own;
    }
    let (hlc, seq) = if key == META_HLC {
        state(own.as_ref(), None, clock)
    } else {
        state(None, own.as_ref(), clock)
    };
    Some(if key == META_HLC {
        Value::String(hlc.to_string())
    } else {
        Value::from(seq)
    })
}
