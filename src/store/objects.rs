//! The JS objects the write path builds, made cheaply: property names and constant values are
//! JS strings created once per thread ([`Keys`]; turning a Rust `&str` into a JS string decodes
//! it every time), and [`sync_js`] / [`entry_js`] build each object with one call into
//! `objects.js` instead of one `Reflect.set` per field. They build exactly what `row::to_js`
//! (serde, JSON-compatible) builds for [`SyncMeta`], [`RowSync`] (its `p` short when it can be)
//! and [`Entry`]; reading back stays serde.

use ferrysync_core::record::{Pending, SyncMeta, SyncStatus};
use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::row::{Entry, RowSync};

/// The cached strings.
pub struct Keys {
    /// `"id"`.
    pub id: JsValue,
    /// `"_sync"`.
    pub sync: JsValue,
    statuses: [JsValue; 4],
}

thread_local! {
    static KEYS: Keys = Keys::new();
}

impl Keys {
    fn new() -> Self {
        let s = JsValue::from_str;
        Self {
            id: s("id"),
            sync: s(super::row::SYNC),
            statuses: [s("SYNCED"), s("UNSYNCED"), s("CONFLICT"), s("REJECTED")],
        }
    }

    fn status(&self, status: SyncStatus) -> &JsValue {
        let i = match status {
            SyncStatus::Synced => 0,
            SyncStatus::Unsynced => 1,
            SyncStatus::Conflict => 2,
            SyncStatus::Rejected => 3,
        };
        &self.statuses[i]
    }
}

/// Runs `f` with the cached strings.
pub fn with<R>(f: impl FnOnce(&Keys) -> R) -> R {
    KEYS.with(f)
}

/// Whether `value` is a string that converts to Rust exactly: well-formed UTF-16 (a lone
/// surrogate comes out of `as_string` as U+FFFD, another string), the one-string form of
/// [`ill_formed`].
pub fn exact_string(value: &JsValue) -> bool {
    value
        .dyn_ref::<js_sys::JsString>()
        .is_some_and(js_sys::JsString::is_valid_utf16)
}

#[wasm_bindgen(module = "/src/store/objects.js")]
extern "C" {
    /// The path of the first string or key in `record` that is not well-formed UTF-16.
    #[wasm_bindgen(js_name = illFormed)]
    pub fn ill_formed(record: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = syncMeta)]
    fn sync_meta(status: &JsValue, version: Option<f64>, updated_at: f64) -> JsValue;
    #[wasm_bindgen(js_name = rowSync)]
    fn row_sync(
        status: &JsValue,
        version: Option<f64>,
        updated_at: f64,
        pending: &JsValue,
        o: Option<f64>,
        u: Option<f64>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = pending)]
    fn pending_object(
        change_id: &str,
        base_version: Option<f64>,
        hlc: &str,
        changed_fields: &Array,
        seq: f64,
        note: Option<String>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = entry)]
    fn entry_object(
        k: &str,
        c: &JsValue,
        id: &JsValue,
        sync: &JsValue,
        deleted: bool,
        pending: &JsValue,
        o: Option<f64>,
        u: Option<f64>,
    ) -> JsValue;
}

fn number(n: u64) -> f64 {
    n as f64
}

/// `SyncMeta` as a JS object: `{ status, version?, updatedAt }`.
pub fn sync_js(keys: &Keys, sync: &SyncMeta) -> JsValue {
    sync_meta(
        keys.status(sync.status),
        sync.version.map(number),
        number(sync.updated_at),
    )
}

/// A row's [`RowSync`] as a JS object.
pub fn row_sync_js(keys: &Keys, s: &RowSync) -> JsValue {
    let pending = s.p.as_ref().map_or(JsValue::UNDEFINED, row_pending_js);
    row_sync(
        keys.status(s.status),
        s.version.map(number),
        number(s.updated_at),
        &pending,
        s.o.map(number),
        s.u.map(f64::from),
    )
}

/// A row's `p`: short when it can be (see [`row::pending_form`](super::row::pending_form)).
fn row_pending_js(p: &Pending) -> JsValue {
    p.short()
        .map_or_else(|| pending_js(p), |short| JsValue::from_str(&short))
}

fn pending_js(p: &Pending) -> JsValue {
    let fields: Array = p
        .changed_fields
        .iter()
        .map(|f| JsValue::from_str(f))
        .collect();
    pending_object(
        &p.change_id,
        p.base_version.map(number),
        &p.hlc.to_string(),
        &fields,
        number(p.seq),
        p.note.clone(),
    )
}

/// An [`Entry`] as a JS object; `collection` and `id` are the entry's `c` and `id`, already JS.
pub fn entry_js(keys: &Keys, e: &Entry, collection: &JsValue, id: &JsValue) -> JsValue {
    let pending = e.pending.as_ref().map_or(JsValue::UNDEFINED, pending_js);
    entry_object(
        &e.k,
        collection,
        id,
        &sync_js(keys, &e.sync),
        e.deleted,
        &pending,
        e.o.map(number),
        e.u.map(f64::from),
    )
}
