//! [`Fresh`]: how a run of pages written as if none of their keys existed (a first pull into
//! empty stores) checks a later page with two reads instead of one per key.
//!
//! The first page of a run checks its keys one by one, as any page assuming absence does, and
//! also reads whether its collections and the outbox hold any record at all and the `w`s of the
//! clock and `\0written` entries (see `clock`). When they were empty, the only records the stores
//! can hold later are those the run wrote, as long as nothing else wrote: the clock entry's `w`
//! is still the one the first page read (no app write since) and the `\0written` entry's is the
//! one the run's previous page wrote (no other update since). Every later page reads exactly
//! that, and whether the collections it is the first of the run to write to are empty; when all
//! holds and none of its keys is one the run wrote (kept as hashes; a collision only costs a
//! read), its keys are absent. Its writes are issued at once, those reads first, and when they
//! say otherwise the page is redone reading its records.
//!
//! Each page decides before its transaction ends, and the next page's transaction starts only
//! after that (IndexedDB runs them in order: their stores overlap), so a page that finds the run
//! broken stops every page after it, even one issued before it found out. A page issued while
//! the first page has not decided yet (the next page, pipelined) checks its keys one by one, and
//! only its reads of the stamp and the collections decide whether the run goes on.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::rc::Rc;

use ferrysync_core::store::{Key, Result};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::super::schema::OUTBOX;
use crate::store::js_store_error;

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = freshCheck)]
    fn fresh_check(tx: &IdbTransaction, outbox: &str, names: Array, entries: bool) -> Promise;
}

/// A run holds at most this many keys' hashes (a few MB at most); a longer pull goes on with
/// one check per key.
const MAX_KEYS: usize = 100_000;

/// The run of absent-assuming pages of one store, if one is going on.
#[derive(Debug, Default)]
pub struct Fresh(RefCell<Option<Run>>);

/// Whether later pages of a run may trust it: `None` until its first page decided.
type Trust = Rc<Cell<Option<bool>>>;

#[derive(Debug)]
struct Run {
    /// The first page's `freshCheck`: `[clock w, written w, stores empty]`.
    first: Promise,
    trust: Trust,
    /// The `\0written` `w` of the run's last page issued.
    written: f64,
    /// Collections found empty (by the first page, or a later one that was first to write it).
    empty: Vec<String>,
    /// Hashes of the keys the run wrote.
    keys: HashSet<u64>,
}

/// How a page assuming its keys absent is checked, issued before its writes.
pub struct Check {
    /// `absent` (idb.js) of every key: a run's first page, or a page issued before it decided.
    probe: Option<Promise>,
    /// This page's `freshCheck` (the first page's own, for the first).
    mine: Promise,
    first: Promise,
    trust: Trust,
    /// The `w` the run's page before this one wrote; `None` for the first page.
    written: Option<f64>,
}

fn hash(key: &Key) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(key)
}

/// The collections of `keys` not in `known`.
fn new_names(keys: &[Key], known: &[String]) -> Vec<String> {
    let mut new: Vec<String> = Vec::new();
    for (name, _) in keys {
        if !known.contains(name) && !new.contains(name) {
            new.push(name.clone());
        }
    }
    new
}

fn fresh_check_of(tx: &IdbTransaction, names: &[String], entries: bool) -> Promise {
    let names: Array = names.iter().map(|n| JsValue::from_str(n)).collect();
    fresh_check(tx, OUTBOX, names, entries)
}

async fn answer(p: Promise) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| js_store_error(&e))
}

impl Fresh {
    /// Ends the run, if any.
    pub fn end(&self) {
        if let Some(run) = self.0.borrow_mut().take() {
            run.trust.set(Some(false));
        }
    }

    /// Issues the check of a page of `keys` that will write `nonce` into `\0written` (`probe`
    /// issues the per-key check); `None` when one of `keys` is a record the run wrote, which
    /// must then be read.
    pub fn check(
        &self,
        tx: &IdbTransaction,
        keys: &[Key],
        nonce: f64,
        probe: impl FnOnce() -> Result<Promise>,
    ) -> Result<Option<Check>> {
        let hashes: Vec<u64> = keys.iter().map(hash).collect();
        let mut run = self.0.borrow_mut();
        let Some(r) = run.as_mut().filter(|r| r.trust.get() != Some(false)) else {
            // A new run.
            let empty = new_names(keys, &[]);
            let first = fresh_check_of(tx, &empty, true);
            let trust = Trust::default();
            let check = Check {
                probe: Some(probe()?),
                mine: first.clone(),
                first: first.clone(),
                trust: trust.clone(),
                written: None,
            };
            *run = Some(Run {
                first,
                trust,
                written: nonce,
                empty,
                keys: hashes.into_iter().collect(),
            });
            return Ok(Some(check));
        };
        if hashes.iter().any(|h| r.keys.contains(h)) || r.keys.len() + hashes.len() > MAX_KEYS {
            drop(run);
            self.end();
            return Ok(None);
        }
        let new = new_names(keys, &r.empty);
        let mine = fresh_check_of(tx, &new, false);
        let probe = match r.trust.get() {
            Some(true) => None,
            _ => Some(probe()?),
        };
        r.empty.extend(new);
        r.keys.extend(hashes);
        Ok(Some(Check {
            probe,
            mine,
            first: r.first.clone(),
            trust: r.trust.clone(),
            written: Some(std::mem::replace(&mut r.written, nonce)),
        }))
    }
}

impl Check {
    /// Whether none of the page's keys had a record; decides whether the run goes on.
    pub async fn absent(self) -> Result<bool> {
        let probed = match self.probe {
            Some(probe) => Some(answer(probe).await?.as_bool() == Some(true)),
            None => None,
        };
        let mine: Array = answer(self.mine).await?.unchecked_into();
        let first: Array = answer(self.first).await?.unchecked_into();
        let empty = |a: &Array| a.get(2).as_bool() == Some(true);
        // Nothing but this run's pages wrote since its first, and no record it did not write
        // is in the collections this page writes to.
        let untouched = match self.written {
            None => empty(&first),
            Some(written) => {
                self.trust.get() == Some(true)
                    && mine.get(0).as_f64() == first.get(0).as_f64()
                    && mine.get(1).as_f64() == Some(written)
                    && empty(&mine)
            }
        };
        let absent = probed.unwrap_or(untouched);
        self.trust.set(Some(absent && untouched));
        Ok(absent)
    }
}
