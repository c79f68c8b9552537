//! [`Fresh`]: how a run of pages written as if none of their keys existed (a first pull) checks
//! a later page with two reads instead of one per key.
//!
//! The first page of a run lists the keys of its collections and of the outbox's records (while
//! they are few: [`MAX_LISTED`]; with more, the page is redone reading and pages of this
//! connection check their keys one by one from then on), and reads the `w`s of the clock and
//! `\0written` entries (see `clock`). The run then knows every record on the device (kept as
//! hashes of their keys), as long as nothing else writes: the clock entry's `w` is still the one the first page read (no app write since)
//! and the `\0written` entry's is the one the run's previous page wrote (no other update since).
//! Every later page reads exactly that, and lists the keys of the collections it is the first of
//! the run to write to; when all holds and none of its keys is known, its keys are absent. Its
//! writes are issued at once, those reads first, and when they say otherwise the page is redone
//! reading its records. A hash collision only costs such a redo.
//!
//! Each page decides (and adds what it listed and wrote to the known keys) before its
//! transaction ends, and the next page's transaction starts only after that (IndexedDB runs them
//! in order: their stores overlap), so every page decides knowing what the pages before it did,
//! even when it was issued before they decided (pages are pipelined). A page that finds the run
//! broken (or finds one of its keys) ends it for every page after it, and so does
//! any other update on this connection (`IndexedDb::update`: the cycle's last write after its
//! pull, a fold, a resolution), which lets the known keys go.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::rc::Rc;

use ferrysync_core::store::{Key, Result};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::super::row::entry_key;
use super::super::schema::OUTBOX;
use crate::store::js_store_error;

#[wasm_bindgen(module = "/src/store/keys.js")]
extern "C" {
    #[wasm_bindgen(js_name = freshCheck)]
    fn fresh_check(
        tx: &IdbTransaction,
        outbox: &str,
        names: Array,
        entries: bool,
        limit: u32,
    ) -> Promise;
}

/// A run knows at most this many keys (their hashes: about a MB); a longer pull goes on with
/// one check per key.
const MAX_KEYS: usize = 100_000;

/// A run starts only when its first page's stores hold at most this many records (and a later
/// page's new collections as many): listing them costs about what checking two pages' keys does.
const MAX_LISTED: u32 = 20_000;

/// The run of absent-assuming pages of one store, if one is going on, and whether a page found
/// too many records to list (no run starts again on this connection: the stores only grow).
#[derive(Debug, Default)]
pub struct Fresh {
    run: RefCell<Option<Run>>,
    many: Rc<Cell<bool>>,
}

/// Whether later pages of a run may trust it: `None` until its first page decided.
type Trust = Rc<Cell<Option<bool>>>;

/// Hashes of the record keys (`entry_key`) a run knows to be on the device.
type Known = Rc<RefCell<HashSet<u64>>>;

#[derive(Debug)]
struct Run {
    /// The first page's `freshCheck`: `[clock w, written w, keys listed]`.
    first: Promise,
    trust: Trust,
    known: Known,
    /// The `\0written` `w` of the run's last page issued.
    written: f64,
    /// Collections whose keys a page of the run listed.
    listed: Vec<String>,
}

/// How a page assuming its keys absent is checked, issued before its writes.
pub enum Check {
    /// `absent` (keys.js) of every key, once stores were found too big to list.
    Probe(Promise),
    /// By the page's part in a run.
    Run(RunCheck),
}

/// A page's part in a run.
pub struct RunCheck {
    /// This page's `freshCheck` (the first page's own, for the first).
    mine: Promise,
    first: Promise,
    trust: Trust,
    known: Known,
    /// Hashes of this page's keys.
    page: Vec<u64>,
    /// The `w` the run's page before this one wrote; `None` for the first page.
    written: Option<f64>,
    many: Rc<Cell<bool>>,
}

fn hash(key: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(key)
}

/// The collections of `keys` not in `listed`.
fn new_names(keys: &[Key], listed: &[String]) -> Vec<String> {
    let mut new: Vec<String> = Vec::new();
    for (name, _) in keys {
        if !listed.contains(name) && !new.contains(name) {
            new.push(name.clone());
        }
    }
    new
}

fn fresh_check_of(tx: &IdbTransaction, names: &[String], entries: bool) -> Promise {
    let names: Array = names.iter().map(|n| JsValue::from_str(n)).collect();
    fresh_check(tx, OUTBOX, names, entries, MAX_LISTED)
}

async fn answer(p: Promise) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| js_store_error(&e))
}

impl Fresh {
    /// Ends the run, if any.
    pub fn end(&self) {
        if let Some(run) = self.run.borrow_mut().take() {
            run.trust.set(Some(false));
        }
    }

    /// Issues the check of a page of `keys` that will write `nonce` into `\0written` (`probe`
    /// issues the per-key check, for stores too big to list); `None` when the run cannot take
    /// the page (it would know too many keys), which must then be read. A page the check finds
    /// no answer for (the first page finding stores too big to list) is redone reading.
    pub fn check(
        &self,
        tx: &IdbTransaction,
        keys: &[Key],
        nonce: f64,
        probe: impl FnOnce() -> Result<Promise>,
    ) -> Result<Option<Check>> {
        if self.many.get() {
            return Ok(Some(Check::Probe(probe()?)));
        }
        let page: Vec<u64> = keys.iter().map(|(c, id)| hash(&entry_key(c, id))).collect();
        let mut run = self.run.borrow_mut();
        let Some(r) = run.as_mut().filter(|r| r.trust.get() != Some(false)) else {
            // A new run.
            let listed = new_names(keys, &[]);
            let first = fresh_check_of(tx, &listed, true);
            let (trust, known) = (Trust::default(), Known::default());
            let check = RunCheck {
                mine: first.clone(),
                first: first.clone(),
                trust: trust.clone(),
                known: known.clone(),
                page,
                written: None,
                many: self.many.clone(),
            };
            *run = Some(Run {
                first,
                trust,
                known,
                written: nonce,
                listed,
            });
            return Ok(Some(Check::Run(check)));
        };
        if r.known.borrow().len() + page.len() > MAX_KEYS {
            drop(run);
            self.end();
            return Ok(None);
        }
        let new = new_names(keys, &r.listed);
        let mine = fresh_check_of(tx, &new, false);
        r.listed.extend(new);
        let run = RunCheck {
            mine,
            first: r.first.clone(),
            trust: r.trust.clone(),
            known: r.known.clone(),
            page,
            written: Some(std::mem::replace(&mut r.written, nonce)),
            many: self.many.clone(),
        };
        Ok(Some(Check::Run(run)))
    }
}

/// The hashes of the keys a `freshCheck` listed; `None` when there were too many to list.
fn listed_keys(check: &Array) -> Result<Option<Vec<u64>>> {
    let Some(text) = check.get(2).as_string() else {
        return Ok(None);
    };
    let keys: Vec<String> = serde_json::from_str(&text)
        .map_err(|e| ferrysync_core::store::StoreError::Backend(e.to_string()))?;
    Ok(Some(keys.iter().map(|k| hash(k)).collect()))
}

impl Check {
    /// Whether none of the page's keys had a record; decides whether the run goes on.
    pub async fn absent(self) -> Result<bool> {
        let run = match self {
            Check::Probe(probe) => return Ok(answer(probe).await?.as_bool() == Some(true)),
            Check::Run(run) => run,
        };
        let mine: Array = answer(run.mine).await?.unchecked_into();
        let first: Array = answer(run.first).await?.unchecked_into();
        let listed = listed_keys(&mine)?;
        if listed.is_none() {
            run.many.set(true);
        }
        let mut known = run.known.borrow_mut();
        // Nothing but this run's pages wrote since its first (or this is the first), and every
        // record in this page's collections is known. A page issued before the one ahead of it
        // decided reads what that one decided: it decides before its transaction ends, and this
        // page's reads run after that.
        let untouched = listed.is_some()
            && match run.written {
                None => true,
                Some(written) => {
                    run.trust.get() == Some(true)
                        && mine.get(0).as_f64() == first.get(0).as_f64()
                        && mine.get(1).as_f64() == Some(written)
                }
            };
        known.extend(listed.into_iter().flatten());
        let absent = untouched && !run.page.iter().any(|h| known.contains(h));
        if absent {
            known.extend(&run.page);
        }
        run.trust.set(Some(absent));
        Ok(absent)
    }
}
