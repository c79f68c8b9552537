//! The device clock's state: the newest stamp and the last outbox position.
//!
//! The engine keeps them under two meta keys ([`META_HLC`], [`META_SEQ`]). The app's writes keep
//! both in ONE entry, `{ k: CLOCK, hlc, seq }`, in the outbox store (whose entry keys start with
//! a non-empty collection name, so [`CLOCK`] cannot collide, and which has none of the indexed
//! fields, so no index lists it): a single write then touches two stores with three puts, where
//! the meta store and two more puts cost a quarter of a single write's time. Readers take the
//! newer of both places: the app on open and the store's `meta` for the engine's keys, so the
//! engine sees the same values as if every write had updated its keys.

use ferrysync_core::engine::{META_HLC, META_SEQ};
use ferrysync_core::hlc::Hlc;
use ferrysync_core::record::LocalRecord;
use js_sys::{Object, Reflect};
use serde_json::Value;
use wasm_bindgen::JsValue;

/// Outbox key of `{ k, hlc, seq }` as of the app's last write.
pub const CLOCK: &str = "\u{0}clock";

/// The [`CLOCK`] entry for stamp `hlc` and outbox position `seq`.
pub fn entry(hlc: &Hlc, seq: u64) -> JsValue {
    let entry = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&entry, &"k".into(), &CLOCK.into());
    let _ = Reflect::set(&entry, &"hlc".into(), &hlc.to_string().into());
    let _ = Reflect::set(&entry, &"seq".into(), &(seq as f64).into());
    // A new `w` with every local write (see [`WRITTEN`]).
    let _ = Reflect::set(&entry, &"w".into(), &js_sys::Math::random().into());
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

/// Outbox key of `{ k, w }`. Every transaction that writes records stores a new random `w`
/// in this entry (the store's updates, [`written`]) or in the [`CLOCK`] entry (the app's
/// writes, [`entry`]), so when both `w`s are unchanged ([`Stamp`]), no record was written in
/// between (a push's acknowledgement relies on it, see `batch::update_assumed`).
pub const WRITTEN: &str = "\u{0}written";

/// The `w`s of the [`CLOCK`] and [`WRITTEN`] entries as read (-1 for an entry without one).
pub type Stamp = (f64, f64);

/// Issues the put of the [`WRITTEN`] entry with `w` (a fresh random number) into `outbox`.
pub fn written(outbox: &web_sys::IdbObjectStore, w: f64) -> ferrysync_core::store::Result<()> {
    let entry = Object::new();
    let _ = Reflect::set(&entry, &"k".into(), &WRITTEN.into());
    let _ = Reflect::set(&entry, &"w".into(), &w.into());
    super::idb::thrown(outbox.put(&entry)).map(drop)
}

/// Issues the reads of the [`CLOCK`] and [`WRITTEN`] entries in `outbox`; the future yields
/// their [`Stamp`].
pub fn stamp(
    outbox: &web_sys::IdbObjectStore,
) -> impl std::future::Future<Output = ferrysync_core::store::Result<Stamp>> {
    let clock = super::idb::get(outbox.get(&CLOCK.into()));
    let written = super::idb::get(outbox.get(&WRITTEN.into()));
    let w = |entry: Option<JsValue>| {
        entry
            .and_then(|e| Reflect::get(&e, &"w".into()).ok())
            .and_then(|w| w.as_f64())
            .unwrap_or(-1.0)
    };
    async move { Ok((w(clock.await?), w(written.await?))) }
}

/// The latest outbox listings of a store (the last four): their span of outbox positions and the
/// [`Stamp`] read with them, so that an acknowledgement of listed records can tell that none was
/// written since without reading them again.
#[derive(Debug, Default)]
pub struct Listings(std::cell::RefCell<Vec<(u64, u64, Stamp)>>);

impl Listings {
    /// Remembers a listing of positions `lo..=hi` read with `stamp`.
    pub fn listed(&self, lo: u64, hi: u64, stamp: Stamp) {
        let mut listings = self.0.borrow_mut();
        if listings.len() >= 4 {
            listings.remove(0);
        }
        listings.push((lo, hi, stamp));
    }

    /// The stamp read with a listing that held every record of `records`, all pending.
    pub fn of(&self, records: &[(String, LocalRecord)]) -> Option<Stamp> {
        let positions = records
            .iter()
            .map(|(_, r)| r.pending.as_ref().map(|p| p.seq));
        let positions: Vec<u64> = positions.collect::<Option<_>>()?;
        let (lo, hi) = (*positions.iter().min()?, *positions.iter().max()?);
        let listings = self.0.borrow();
        let found = listings.iter().rev().find(|(l, h, _)| *l <= lo && hi <= *h);
        found.map(|(_, _, stamp)| *stamp)
    }

    /// After an update of the records of one listing (an acknowledgement) that saw `seen` before
    /// it and wrote `nonce` into [`WRITTEN`]: listings that had seen `seen` still hold (their
    /// records are others) under the stamp it left.
    pub fn relisted(&self, seen: Stamp, nonce: f64) {
        for listing in self.0.borrow_mut().iter_mut() {
            if listing.2 == seen {
                listing.2 = (seen.0, nonce);
            }
        }
    }
}
