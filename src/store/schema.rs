//! The database layout and the add-only versioned upgrade.
//!
//! Layout:
//! - one object store per collection, key path `id`, one index per configured field (named after
//!   the field). Rows are exactly what the app reads: its fields, `id` and `_sync`;
//! - [`OUTBOX`]: one entry per record that is not plain `SYNCED` (pending change, tombstone,
//!   conflict, rejection), key `k` = collection + NUL + id, with the sparse indexes
//!   [`OUTBOX_ORDER`] (`o` = outbox position, present only while `UNSYNCED`) and [`NOT_SYNCED`]
//!   (`u`, present while the status is not `SYNCED`), so `outbox()` and `pending()` read an index;
//! - [`META`]: out-of-line keys (device id, clock, schema, the engine's cursor, …).
//!
//! Opening never deletes a store or an index: the wanted schema is compared with what is on
//! disk, and only missing stores and indexes are created, in a `versionchange` at version + 1.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use idb::{DatabaseEvent as _, Event as _, Request as _};
use rexie::{Rexie, TransactionMode};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::backend;
use crate::{Error, Result};

/// The store holding one entry per record not plainly in sync.
pub const OUTBOX: &str = "_outbox";
/// The store of meta entries.
pub const META: &str = "_meta";
/// Index of [`OUTBOX`] on the outbox position of `UNSYNCED` entries.
pub const OUTBOX_ORDER: &str = "outbox";
/// Index of [`OUTBOX`] on entries whose status is not `SYNCED`.
pub const NOT_SYNCED: &str = "unsynced";

/// How long an upgrade may wait for other connections to close before failing with
/// `DB_BLOCKED`.
const BLOCKED_GRACE_MS: f64 = 3000.0;

/// Collections and the indexed fields of each.
pub type Schema = BTreeMap<String, BTreeSet<String>>;

/// Checks a collection or index name: non-empty, and collections may not start with `_`
/// (reserved for ferrysync's own stores).
pub fn check(schema: &Schema) -> Result<()> {
    for (collection, indexes) in schema {
        if collection.is_empty() || collection.starts_with('_') {
            return Err(Error::InvalidOptions(format!(
                "collection name {collection:?} must be non-empty and not start with '_'"
            )));
        }
        if let Some(bad) = indexes
            .iter()
            .find(|i| i.is_empty() || *i == "id" || i.starts_with('_'))
        {
            return Err(Error::InvalidOptions(format!(
                "index {bad:?} of {collection:?}: name a field other than id, not starting with '_'"
            )));
        }
    }
    Ok(())
}

/// Opens `name` with at least `wanted`'s stores and indexes; returns the connection and the
/// schema on disk (a superset of `wanted` when the disk has more).
pub async fn open(name: &str, wanted: &Schema) -> Result<(Rexie, Schema)> {
    let db = backend(Rexie::builder(name).build().await)?;
    let on_disk = read_schema(&db)?;
    let missing_internal = !(db.store_names().iter().any(|s| s == OUTBOX)
        && db.store_names().iter().any(|s| s == META));
    let needs_upgrade = missing_internal
        || wanted.iter().any(|(c, idx)| match on_disk.get(c) {
            None => true,
            Some(have) => !idx.is_subset(have),
        });
    if !needs_upgrade {
        return Ok((db, on_disk));
    }
    let version = backend(db.version())? + 1;
    db.close();
    upgrade(name, version, wanted).await?;
    let db = backend(Rexie::builder(name).build().await)?;
    let on_disk = read_schema(&db)?;
    Ok((db, on_disk))
}

/// The collections and indexes on disk.
fn read_schema(db: &Rexie) -> Result<Schema> {
    let collections: Vec<String> = db
        .store_names()
        .into_iter()
        .filter(|s| !s.starts_with('_'))
        .collect();
    let mut schema = Schema::new();
    if collections.is_empty() {
        return Ok(schema);
    }
    let tx = backend(db.transaction(&collections, TransactionMode::ReadOnly))?;
    for c in collections {
        let indexes = backend(tx.store(&c))?.index_names().into_iter().collect();
        schema.insert(c, indexes);
    }
    Ok(schema)
}

/// Runs one `versionchange` to `version` that adds whatever of `wanted` is missing.
async fn upgrade(name: &str, version: u32, wanted: &Schema) -> Result<()> {
    let factory = idb::Factory::new().map_err(|e| Error::Store(super::store_error(&e)))?;
    let mut request = factory
        .open(name, Some(version))
        .map_err(|e| Error::Store(super::store_error(&e)))?;
    let wanted = wanted.clone();
    let failed: Rc<Cell<Option<String>>> = Rc::default();
    let failed_in_upgrade = failed.clone();
    request.on_upgrade_needed(move |event| {
        if let Err(e) = add_missing(&event, &wanted) {
            failed_in_upgrade.set(Some(e.to_string()));
            // Aborting the versionchange leaves the database exactly as it was.
            if let Some(tx) = event.target().ok().and_then(|r| r.transaction()) {
                let _ = tx.abort();
            }
        }
    });
    let blocked: Rc<Blocked> = Rc::default();
    let blocked_flag = blocked.clone();
    // `blocked` also fires while other connections are merely finishing their last transactions
    // before closing (ferrysync's own close on `versionchange`), so give them a grace period.
    request.on_blocked(move |_| {
        let flag = blocked_flag.clone();
        let give_up = Closure::once_into_js(move || {
            flag.0.set(true);
            if let Some(waker) = flag.1.take() {
                waker.wake();
            }
        });
        let global = js_sys::global();
        if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into()) {
            let set_timeout: js_sys::Function = set_timeout.unchecked_into();
            let _ = set_timeout.call2(&global, &give_up, &BLOCKED_GRACE_MS.into());
        }
    });
    let db = UnlessBlocked {
        open: Box::pin(request.into_future()),
        blocked,
    }
    .await
    .map_err(|()| Error::Blocked(name.to_owned()))?
    .map_err(|e| match failed.take() {
        Some(why) => Error::Store(ferrysync_core::StoreError::Backend(why)),
        None => Error::Store(super::store_error(&e)),
    })?;
    db.close();
    Ok(())
}

fn add_missing(event: &idb::event::VersionChangeEvent, wanted: &Schema) -> Result<(), idb::Error> {
    let db = event.database()?;
    let tx = event
        .target()?
        .transaction()
        .ok_or(idb::Error::TransactionNotFound)?;
    let existing = db.store_names();
    let has = |name: &str| existing.iter().any(|s| s == name);
    let key = |path: &str| Some(idb::KeyPath::new_single(path));
    if !has(OUTBOX) {
        let mut params = idb::ObjectStoreParams::new();
        params.key_path(key("k"));
        let outbox = db.create_object_store(OUTBOX, params)?;
        outbox.create_index(OUTBOX_ORDER, idb::KeyPath::new_single("o"), None)?;
        outbox.create_index(NOT_SYNCED, idb::KeyPath::new_single("u"), None)?;
    }
    if !has(META) {
        db.create_object_store(META, idb::ObjectStoreParams::new())?;
    }
    for (collection, indexes) in wanted {
        let store = if has(collection) {
            tx.object_store(collection)?
        } else {
            let mut params = idb::ObjectStoreParams::new();
            params.key_path(key("id"));
            db.create_object_store(collection, params)?
        };
        let present = store.index_names();
        for field in indexes.iter().filter(|f| !present.contains(f)) {
            store.create_index(field, idb::KeyPath::new_single(field), None)?;
        }
    }
    Ok(())
}

/// Set by the request's `blocked` event, which also wakes the waiting open.
#[derive(Default)]
struct Blocked(Cell<bool>, Cell<Option<Waker>>);

/// The open request, or `Err(())` as soon as the browser reports it blocked.
struct UnlessBlocked<F> {
    open: Pin<Box<F>>,
    blocked: Rc<Blocked>,
}

impl<F: Future> Future for UnlessBlocked<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = self.open.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if self.blocked.0.get() {
            return Poll::Ready(Err(()));
        }
        self.blocked.1.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}
