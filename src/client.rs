//! The state behind one open `FerrySync`: the store, this device's clock and the subscribers.
//! `bindings` only converts; the sync code (`bindings/sync.rs`) reaches the same fields.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ferrysync_core::hlc::HlcClock;
use ferrysync_core::record::{Edit, LocalRecord};
use js_sys::{Array, Function, Object, Reflect};
use serde_json::Value;
use wasm_bindgen::JsValue;

use crate::bindings::types::OpenOptions;
use crate::store::app::{Write, Written};
use crate::store::schema::Schema;
use crate::store::{clock, row, IndexedDb};
use crate::{Error, Result};

/// Meta key of the schema on disk.
pub(crate) const SCHEMA: &str = "schema";

/// One `subscribe` callback.
pub(crate) struct Subscriber {
    pub(crate) id: u32,
    pub(crate) collection: String,
    pub(crate) callback: Function,
}

/// Everything one open database needs.
pub(crate) struct Inner {
    /// The options the app opened with (unknown keys ignored).
    pub(crate) options: OpenOptions,
    /// The local database.
    pub(crate) store: Rc<IndexedDb>,
    /// This device's stable id (kept in the meta store).
    pub(crate) device_id: String,
    /// Stamps local edits; the sync code also `observe`s pulled stamps with it.
    pub(crate) clock: RefCell<HlcClock>,
    /// Last outbox position handed out.
    pub(crate) seq: Cell<u64>,
    /// `subscribe` callbacks.
    pub(crate) subscribers: RefCell<Vec<Subscriber>>,
    /// Id of the next subscriber.
    pub(crate) next_subscriber: Cell<u32>,
    /// The sync loop, when opened with a `serverUrl` (see `network.rs`).
    #[cfg(feature = "sync")]
    pub(crate) sync: RefCell<Option<Rc<crate::network::SyncDriver>>>,
}

impl Inner {
    /// Opens the database described by `options` and loads the device id and clock.
    pub(crate) async fn open(options: OpenOptions) -> Result<Self> {
        let schema: Schema = options
            .collections
            .iter()
            .map(|(name, c)| (name.clone(), c.indexes.clone()))
            .collect();
        let store = IndexedDb::open(&options.name, &schema).await?;
        let device_id = store.device().to_owned();
        let (last, seq) = store.clock().await?;
        let schema_meta = serde_json::to_value(store.schema()).unwrap_or(Value::Null);
        let _ = store.meta_init(SCHEMA, schema_meta, &[]).await;
        let store = Rc::new(store);
        // Acknowledgements a page left unfolded (it closed before its fold ended).
        #[cfg(feature = "sync")]
        crate::network::fold_later(&store);
        Ok(Self {
            options,
            clock: RefCell::new(HlcClock::resume(device_id.clone(), &last)),
            device_id,
            store,
            seq: Cell::new(seq),
            subscribers: RefCell::default(),
            next_subscriber: Cell::new(1),
            #[cfg(feature = "sync")]
            sync: RefCell::new(None),
        })
    }

    /// Fails with `CLOSED` once the database was closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.store.is_closed() {
            Err(ferrysync_core::StoreError::Closed.into())
        } else {
            Ok(())
        }
    }

    /// `n` fresh edits and the clock entry to store with them.
    pub(crate) fn edits(&self, n: usize) -> (Vec<Edit>, JsValue) {
        let now = js_sys::Date::now() as u64;
        let mut clock = self.clock.borrow_mut();
        let edits: Vec<Edit> = (0..n)
            .map(|_| {
                let seq = self.seq.get() + 1;
                self.seq.set(seq);
                Edit {
                    change_id: uuid::Uuid::new_v4().to_string(),
                    hlc: clock.now(now),
                    now,
                    seq,
                }
            })
            .collect();
        let last = edits
            .last()
            .map_or_else(|| clock.now(now), |e| e.hlc.clone());
        // One put per write for both (see `store::clock`).
        (edits, clock::entry(&last, self.seq.get()))
    }

    /// Writes rows (`None` = delete) to `collection` in one transaction, then notifies.
    pub(crate) async fn write(
        &self,
        collection: &str,
        rows: Vec<(String, Option<Object>, bool)>,
    ) -> Result<Vec<Written>> {
        self.check_open()?;
        if rows.is_empty() {
            // Nothing to write: no transaction, no status recount, no cycle.
            self.store.check(collection)?;
            return Ok(Vec::new());
        }
        let (edits, clock) = self.edits(rows.len());
        let writes = rows
            .into_iter()
            .zip(edits)
            .map(|((id, row, fresh), edit)| Write {
                id,
                row,
                fresh,
                edit,
            })
            .collect();
        let (written, left) = self.store.write(collection, writes, clock).await?;
        // The status first: a subscriber that reads it hears of the write with it counted.
        #[cfg(feature = "sync")]
        {
            // Cloned first: the borrow must end before the driver runs.
            let sync = self.sync.borrow().clone();
            if let Some(sync) = sync {
                sync.local_write(left);
            }
        }
        #[cfg(not(feature = "sync"))]
        let _ = left;
        self.notify(collection, &written);
        Ok(written)
    }

    /// Tells `collection`'s subscribers about changed records (`None`: deleted). The sync code
    /// calls this after a pull, with [`Inner::notify_records`] for core records.
    pub(crate) fn notify(&self, collection: &str, changes: &[Written]) {
        // Clone the callbacks first: a callback may subscribe or unsubscribe.
        let callbacks: Vec<Function> = self
            .subscribers
            .borrow()
            .iter()
            .filter(|s| s.collection == collection)
            .map(|s| s.callback.clone())
            .collect();
        if callbacks.is_empty() || changes.is_empty() {
            return;
        }
        let events: Array = changes
            .iter()
            .map(|(id, row)| event(collection, id, row.as_ref()))
            .collect();
        for callback in callbacks {
            if let Err(e) = callback.call1(&JsValue::NULL, &events) {
                web_sys::console::error_2(&"ferrysync: a subscriber threw".into(), &e);
            }
        }
    }

    /// [`Inner::notify`] for records as core holds them (tombstones count as deleted).
    pub(crate) fn notify_records(
        &self,
        collection: &str,
        records: &[(String, Option<LocalRecord>)],
    ) -> Result<()> {
        let changes = records
            .iter()
            .map(|(id, r)| {
                let row = r
                    .as_ref()
                    .filter(|r| !r.deleted)
                    .map(row::row_of)
                    .transpose()?;
                Ok((id.clone(), row))
            })
            .collect::<Result<Vec<Written>, ferrysync_core::StoreError>>()?;
        self.notify(collection, &changes);
        Ok(())
    }

    /// Registers a subscriber; returns its id for [`Inner::unsubscribe`].
    pub(crate) fn subscribe(&self, collection: &str, callback: Function) -> Result<u32> {
        self.store.check(collection).map_err(Error::from)?;
        let id = self.next_subscriber.get();
        self.next_subscriber.set(id + 1);
        self.subscribers.borrow_mut().push(Subscriber {
            id,
            collection: collection.to_owned(),
            callback,
        });
        Ok(id)
    }

    /// Removes a subscriber (idempotent).
    pub(crate) fn unsubscribe(&self, id: u32) {
        self.subscribers.borrow_mut().retain(|s| s.id != id);
    }
}

/// `{ op: "put", collection, id, record }` or `{ op: "delete", collection, id }`.
fn event(collection: &str, id: &str, row: Option<&JsValue>) -> JsValue {
    let event = Object::new();
    let op = if row.is_some() { "put" } else { "delete" };
    let _ = Reflect::set(&event, &"op".into(), &op.into());
    let _ = Reflect::set(&event, &"collection".into(), &collection.into());
    let _ = Reflect::set(&event, &"id".into(), &id.into());
    if let Some(row) = row {
        let _ = Reflect::set(&event, &"record".into(), row);
    }
    event.into()
}
