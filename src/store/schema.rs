//! The database layout and the add-only versioned upgrade.
//!
//! Layout:
//! - one object store per collection, key path `id`, one index per configured field (named after
//!   the field), and the sparse indexes [`ROW_ORDER`] (`_sync.o`, the outbox position while
//!   `UNSYNCED`) and [`ROW_NOT_SYNCED`] (`_sync.u`, while the status is not `SYNCED`). Rows are
//!   what the app reads: its fields, `id` and `_sync` (see [`RowSync`](super::row::RowSync) for
//!   what `_sync` holds besides, which reads strip);
//! - [`OUTBOX`]: one entry per tombstone (and per not-`SYNCED` live record of a database written
//!   before rows held their pending change), key `k` = collection + NUL + id, with the same
//!   sparse indexes [`OUTBOX_ORDER`] (`o`) and [`NOT_SYNCED`] (`u`), so `outbox()` and
//!   `pending()` read indexes only; and the acknowledgement batches not yet folded into their
//!   rows (keys `"\0ack …"`, see [`acks`](super::acks));
//! - [`META`]: out-of-line keys (device id, clock, schema, the engine's cursor, …).
//!
//! Opening never deletes a store or an index: the wanted schema is compared with what is on
//! disk, and only missing stores and indexes are created, in a `versionchange` at version + 1.

use ferrysync_core::error::Quoted;
use ferrysync_core::protocol::MAX_ID_LEN;
use serde::ser::{Serialize, Serializer};
use wasm_bindgen::prelude::*;
use web_sys::{DomStringList, IdbDatabase, IdbObjectStoreParameters, IdbTransaction};

use super::idb;
use crate::{Error, Result};

/// The store holding one entry per record not plainly in sync.
pub const OUTBOX: &str = "_outbox";
/// The store of meta entries.
pub const META: &str = "_meta";
/// Index of [`OUTBOX`] on the outbox position of `UNSYNCED` entries.
pub const OUTBOX_ORDER: &str = "outbox";
/// Index of [`OUTBOX`] on entries whose status is not `SYNCED`.
pub const NOT_SYNCED: &str = "unsynced";
/// Index of every collection store on the outbox position of `UNSYNCED` rows.
pub const ROW_ORDER: &str = "_o";
/// Index of every collection store on rows whose status is not `SYNCED`.
pub const ROW_NOT_SYNCED: &str = "_u";
/// The key paths of [`ROW_ORDER`] and [`ROW_NOT_SYNCED`].
const ROW_INDEXES: [(&str, &str); 2] = [(ROW_ORDER, "_sync.o"), (ROW_NOT_SYNCED, "_sync.u")];

/// The storage layout this build writes, kept in meta [`LAYOUT_KEY`]: 1 kept a live record's
/// pending change in an outbox entry (still read, see [`row`](super::row)), 2 keeps it in the
/// row, 3 keeps it there in its short form when it has one
/// ([`pending_form`](super::row::pending_form); 2's objects are still read), 4 may keep a push's
/// results in acknowledgement batches until the rows are rewritten ([`acks`](super::acks)).
/// Opening a database
/// of an earlier layout records this one. A database whose layout is newer is not opened
/// (`DB_NEWER`): this build could miss or misread pending changes. (Builds before the key
/// existed do not check.)
pub const LAYOUT: u64 = 4;
/// The meta key of [`LAYOUT`].
pub const LAYOUT_KEY: &str = "layout";

/// How long an upgrade may wait for other connections to close before failing with
/// `DB_BLOCKED`.
pub(super) const BLOCKED_GRACE_MS: f64 = 3000.0;

/// Collections and the indexed fields of each, both sorted by name. A sorted `Vec` rather
/// than a `BTreeMap` of `BTreeSet`s: a schema has a handful of entries, and every map type
/// costs the wasm package kilobytes of code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema(Vec<(String, Vec<String>)>);

impl Schema {
    /// No collections.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when `collection` is in the schema.
    pub fn contains_key(&self, collection: &str) -> bool {
        self.find(collection).is_ok()
    }

    /// The indexed fields of `collection`, if it is in the schema.
    pub fn get(&self, collection: &str) -> Option<&[String]> {
        self.find(collection).ok().map(|i| self.0[i].1.as_slice())
    }

    /// The collection names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(c, _)| c)
    }

    /// The collections and their indexed fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &[String])> {
        self.0.iter().map(|(c, i)| (c, i.as_slice()))
    }

    /// Adds `collection` with `indexes`, or adds `indexes` to it.
    pub fn insert(&mut self, collection: String, indexes: impl IntoIterator<Item = String>) {
        let at = match self.find(&collection) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (collection, Vec::new()));
                at
            }
        };
        let fields = &mut self.0[at].1;
        for index in indexes {
            if let Err(i) = fields.binary_search(&index) {
                fields.insert(i, index);
            }
        }
    }

    fn find(&self, collection: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(c, _)| c.as_str().cmp(collection))
    }
}

impl FromIterator<(String, Vec<String>)> for Schema {
    fn from_iter<T: IntoIterator<Item = (String, Vec<String>)>>(iter: T) -> Self {
        let mut schema = Self::new();
        for (collection, indexes) in iter {
            schema.insert(collection, indexes);
        }
        schema
    }
}

/// As a JSON object: `{ collection: [index, …] }`.
impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Checks a collection or index name: non-empty, and collections may not start with `_`
/// (reserved for ferrysync's own stores) nor be what the server refuses (over
/// [`MAX_ID_LEN`] bytes, or holding a NUL).
pub fn check(schema: &Schema) -> Result<()> {
    for (collection, indexes) in schema.iter() {
        if collection.is_empty() || collection.starts_with('_') {
            return Err(Error::InvalidOptions(format!(
                "collection name {} must be non-empty and not start with '_'",
                Quoted(collection)
            )));
        }
        if collection.len() > MAX_ID_LEN || collection.contains('\0') {
            return Err(Error::InvalidOptions(format!(
                "collection name {} must be at most {MAX_ID_LEN} bytes, without NUL (U+0000)",
                Quoted(collection)
            )));
        }
        if let Some(bad) = indexes
            .iter()
            .find(|i| i.is_empty() || *i == "id" || i.starts_with('_'))
        {
            return Err(Error::InvalidOptions(format!(
                "index {} of {}: name a field other than id, not starting with '_'",
                Quoted(bad),
                Quoted(collection)
            )));
        }
    }
    Ok(())
}

/// Opens `name` with at least `wanted`'s stores and indexes; returns the connection and the
/// schema on disk (a superset of `wanted` when the disk has more).
pub async fn open(name: &str, wanted: &Schema) -> Result<(IdbDatabase, Schema)> {
    // A new database gets everything in its first `versionchange` (version 1).
    let db = connect(name, 0, wanted).await?;
    let on_disk = read_schema(&db)?;
    let names = db.object_store_names();
    let needs_upgrade =
        !(names.contains(OUTBOX) && names.contains(META) && row_indexes_present(&db, &on_disk)?)
            || wanted.iter().any(|(c, idx)| match on_disk.get(c) {
                None => true,
                Some(have) => idx.iter().any(|i| !have.contains(i)),
            });
    if !needs_upgrade {
        return Ok((db, on_disk));
    }
    let version = db.version() as u32 + 1;
    db.close();
    let db = connect(name, version, wanted).await?;
    let on_disk = read_schema(&db)?;
    Ok((db, on_disk))
}

/// Opens `name` at `version` (0: the current one); a `versionchange` adds whatever of `wanted`
/// is missing. Aborting the `versionchange` on a failure leaves the database as it was.
async fn connect(name: &str, version: u32, wanted: &Schema) -> Result<IdbDatabase> {
    let wanted = wanted.clone();
    let upgrade = Closure::<dyn FnMut(IdbDatabase, IdbTransaction) -> Result<(), JsValue>>::new(
        move |db: IdbDatabase, tx: IdbTransaction| add_missing(&db, &tx, &wanted),
    );
    // `blocked` also fires while other connections are merely finishing their last transactions
    // before closing (ferrysync's own close on drop, or on another open's `versionchange`, see
    // `idb.js`), so they get a grace period.
    let opened = idb::open(
        name,
        version,
        upgrade.as_ref().unchecked_ref(),
        BLOCKED_GRACE_MS,
    )
    .await;
    opened.map_err(|e| match e {
        None => Error::Blocked(name.to_owned()),
        Some(e) => Error::Store(e),
    })
}

fn strings(list: &DomStringList) -> impl Iterator<Item = String> + '_ {
    (0..list.length()).filter_map(|i| list.item(i))
}

/// True when every collection store on disk has [`ROW_INDEXES`].
fn row_indexes_present(db: &IdbDatabase, on_disk: &Schema) -> Result<bool> {
    let names: Vec<&str> = on_disk.keys().map(String::as_str).collect();
    if names.is_empty() {
        return Ok(true);
    }
    let tx = idb::transaction(db, &names, false)?;
    for c in names {
        let present = idb::store(&tx, c)?.index_names();
        if ROW_INDEXES.iter().any(|(name, _)| !present.contains(name)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The collections and the app's indexes on disk.
fn read_schema(db: &IdbDatabase) -> Result<Schema> {
    let collections: Vec<String> = strings(&db.object_store_names())
        .filter(|s| !s.starts_with('_'))
        .collect();
    let mut schema = Schema::new();
    if collections.is_empty() {
        return Ok(schema);
    }
    let names: Vec<&str> = collections.iter().map(String::as_str).collect();
    let tx = idb::transaction(db, &names, false)?;
    for c in collections {
        let indexes = strings(&idb::store(&tx, &c)?.index_names())
            .filter(|i| !i.starts_with('_'))
            .collect::<Vec<_>>();
        schema.insert(c, indexes);
    }
    Ok(schema)
}

fn add_missing(db: &IdbDatabase, tx: &IdbTransaction, wanted: &Schema) -> Result<(), JsValue> {
    let existing = db.object_store_names();
    let create = |name: &str, key: Option<&str>| {
        let params = IdbObjectStoreParameters::new();
        if let Some(key) = key {
            params.set_key_path(&key.into());
        }
        db.create_object_store_with_optional_parameters(name, &params)
    };
    if !existing.contains(OUTBOX) {
        let outbox = create(OUTBOX, Some("k"))?;
        outbox.create_index_with_str(OUTBOX_ORDER, "o")?;
        outbox.create_index_with_str(NOT_SYNCED, "u")?;
    }
    if !existing.contains(META) {
        create(META, None)?;
    }
    for (collection, indexes) in wanted.iter() {
        let store = if existing.contains(collection) {
            tx.object_store(collection)?
        } else {
            create(collection, Some("id"))?
        };
        let present = store.index_names();
        for field in indexes.iter().filter(|f| !present.contains(f)) {
            store.create_index_with_str(field, field)?;
        }
    }
    // Every collection store, wanted now or not, gets the row indexes.
    for collection in strings(&db.object_store_names()).filter(|s| !s.starts_with('_')) {
        let store = tx.object_store(&collection)?;
        let present = store.index_names();
        for (name, path) in ROW_INDEXES.iter().filter(|(n, _)| !present.contains(n)) {
            store.create_index_with_str(name, path)?;
        }
    }
    Ok(())
}
