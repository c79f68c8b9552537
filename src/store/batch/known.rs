//! Updates of records the engine read earlier (a pushed batch): instead of reading them again,
//! records of a recent outbox listing are taken as read when nothing was written since
//! ([`update_assumed`]); otherwise only the sync state in the span of their outbox positions is
//! read, and a record whose state is unchanged is taken as read ([`update_read`]).

use std::collections::HashMap;

use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Key, Result, UpdateFn};
use js_sys::{Array, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::super::acks::{self, Acks};
use super::super::clock;
use super::super::row::{self, entry_key, Entry};
use super::super::schema::{OUTBOX, OUTBOX_ORDER, ROW_ORDER};
use super::{decode, read_records, write, Read};
use crate::store::js_store_error;

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = spanSyncs)]
    fn span_syncs(
        tx: &IdbTransaction,
        names: &Array,
        indexes: &Array,
        outbox: &JsValue,
        lo: f64,
        hi: f64,
    ) -> Promise;
}

/// The body of [`LocalStore::update_read`](ferrysync_core::store::LocalStore::update_read)
/// inside `tx`; with the [`clock::Stamp`] before it and the `w` of [`clock::WRITTEN`] it wrote.
pub async fn update_read(
    tx: &IdbTransaction,
    device: &str,
    known: &[(String, LocalRecord)],
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
) -> Result<(Vec<Option<LocalRecord>>, clock::Stamp, f64)> {
    let seen = clock::stamp(&crate::store::idb::store(tx, OUTBOX)?);
    let (read, acks) = read_known(tx, device, known).await?;
    let keys: Vec<Key> = known
        .iter()
        .map(|(c, r)| (c.clone(), r.id.clone()))
        .collect();
    let nonce = js_sys::Math::random();
    let written = write(tx, device, &keys, read, &acks, meta, f, true, nonce)?;
    Ok((written, seen.await?, nonce))
}

/// The acknowledgements that may hold records of `known` (read in a push's outbox order: none
/// of those acknowledged before it, which sit at lower positions), read in `tx`.
fn acks_of(
    tx: &IdbTransaction,
    known: &[(String, LocalRecord)],
) -> Result<impl std::future::Future<Output = Result<Acks>>> {
    let lowest = known
        .iter()
        .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.seq))
        .min();
    acks::read(tx, lowest.map(|p| p.saturating_sub(1)))
}

/// [`update_read`] as if every record in `known` were unchanged since the outbox listing that
/// held them all, which read `stamp` ([`clock::Stamp`]; or as this store's own
/// acknowledgements left it since): the writes are issued before the check, which reads the
/// two entries of the stamp alone (issued first, it sees them as they were before the writes):
/// every transaction that writes records stores a new `w` in one of them. `None` when one
/// changed: the caller aborts `tx` then (and redoes the update with reads), and `f` has been
/// called. Returns the `w` it wrote too.
pub async fn update_assumed(
    tx: &IdbTransaction,
    device: &str,
    known: &[(String, LocalRecord)],
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
    stamp: clock::Stamp,
) -> Result<(Option<Vec<Option<LocalRecord>>>, f64)> {
    let now = clock::stamp(&crate::store::idb::store(tx, OUTBOX)?);
    let nonce = js_sys::Math::random();
    // A listing leaves acknowledged records out, and since it nothing was written but this
    // store's acknowledgements of other records: none of `known` has an acknowledgement.
    let acks = Acks::default();
    let keys: Vec<Key> = known
        .iter()
        .map(|(c, r)| (c.clone(), r.id.clone()))
        .collect();
    let written = write(
        tx,
        device,
        &keys,
        known.iter().map(|(_, r)| assumed(r)).collect(),
        &acks,
        meta,
        f,
        true,
        nonce,
    )?;
    Ok(((now.await? == stamp).then_some(written), nonce))
}

/// The records at the keys of `known` (records read earlier), read inside `tx`: only the
/// sync state in the outbox positions' span is read, and a record whose state is still the one
/// `known` implies is taken from `known` (see
/// [`LocalStore::update_read`](ferrysync_core::store::LocalStore)); the others are read in full.
async fn read_known(
    tx: &IdbTransaction,
    device: &str,
    known: &[(String, LocalRecord)],
) -> Result<(Vec<Read>, Acks)> {
    let current = span_state(tx, device, known)?;
    let acks = acks_of(tx, known)?;
    let (current, acks) = (current.await?, acks.await?);
    let unchanged = unchanged(known, &current);
    let changed: Vec<Key> = known
        .iter()
        .zip(&unchanged)
        .filter(|(_, same)| !**same)
        .map(|((c, r), _)| (c.clone(), r.id.clone()))
        .collect();
    let mut reread = read_records(tx, device, &changed)?.await?.0.into_iter();
    let mut records = Vec::with_capacity(known.len());
    for ((_, record), same) in known.iter().zip(unchanged) {
        let read = match same {
            true => Some(assumed(record)),
            false => reread.next(),
        };
        records.push(read.ok_or_else(|| {
            ferrysync_core::store::StoreError::Backend("a re-read record is missing".to_owned())
        })?);
    }
    Ok((records, acks))
}

/// An unchanged record as read: a live one has a row and no entry, a tombstone only an entry.
fn assumed(record: &LocalRecord) -> Read {
    (Some(record.clone()), !record.deleted, record.deleted)
}

/// The sync state of the `UNSYNCED` records in a span of outbox positions, by entry key: the
/// entries their rows imply, and the outbox store's entries.
#[derive(Default)]
struct SpanState {
    rows: HashMap<String, Entry>,
    entries: HashMap<String, Entry>,
}

/// Which records of `known` are unchanged: a live record's row still has the `_sync` it implies
/// (and no entry: one written before rows held pending changes counts as changed), a
/// tombstone's entry is still the one it implies.
fn unchanged(known: &[(String, LocalRecord)], current: &SpanState) -> Vec<bool> {
    known
        .iter()
        .map(|(c, r)| {
            let k = entry_key(c, &r.id);
            let entry = current.entries.get(&k);
            if r.deleted {
                let expected = Entry::of(c, &r.id, &r.sync, r.pending.as_ref(), true);
                return expected.is_some_and(|e| e.o.is_some() && entry == Some(&e));
            }
            let expected = Entry::of(c, &r.id, &r.sync, r.pending.as_ref(), false);
            entry.is_none()
                && expected.is_some_and(|e| e.o.is_some() && current.rows.get(&k) == Some(&e))
        })
        .collect()
}

/// The [`SpanState`] of the span of outbox positions of the `UNSYNCED` records in `known`: one
/// `getAll` per position index instead of a read per record (a batch just pushed is one span).
/// The requests are issued now; the future decodes their answers.
fn span_state(
    tx: &IdbTransaction,
    device: &str,
    known: &[(String, LocalRecord)],
) -> Result<impl std::future::Future<Output = Result<SpanState>>> {
    let positions = known
        .iter()
        .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.seq as f64));
    let (lo, hi) = positions.fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p), hi.max(p)));
    let request = if lo > hi {
        None
    } else {
        let mut collections: Vec<&str> = known.iter().map(|(c, _)| c.as_str()).collect();
        collections.sort_unstable();
        collections.dedup();
        let names: Array = collections.iter().map(|c| JsValue::from_str(c)).collect();
        let indexes = Array::of2(&ROW_ORDER.into(), &OUTBOX_ORDER.into());
        Some(JsFuture::from(span_syncs(
            tx,
            &names,
            &indexes,
            &OUTBOX.into(),
            lo,
            hi,
        )))
    };
    let device = device.to_owned();
    Ok(async move {
        let Some(request) = request else {
            return Ok(SpanState::default());
        };
        let pair: Array = request.await.map_err(|e| js_store_error(&e))?.into();
        // A row's stamp may leave its device id out (`row::stamp_out`).
        let by_key = |values: JsValue| -> Result<HashMap<String, Entry>> {
            let entries = decode::<Entry>(&values.into())?.into_iter().flatten();
            Ok(entries
                .map(|mut e| {
                    e.pending = e.pending.map(|p| row::stamp_in(p, &device));
                    (e.k.clone(), e)
                })
                .collect())
        };
        Ok(SpanState {
            rows: by_key(pair.get(0))?,
            entries: by_key(pair.get(1))?,
        })
    })
}
