//! The JS API: the exported `FerrySync` class. Each method converts its input, forwards to
//! `Inner` (the open database's state) or the store, and converts the result. Methods take
//! `&self` and clone the `Rc` before awaiting, so concurrent calls from JS never alias a `&mut`.
//!
//! The sync methods live in their own `#[wasm_bindgen] impl FerrySync` block in `sync.rs`.

pub(crate) mod error;
mod fields;
#[cfg(feature = "sync")]
mod sync;
pub mod types;

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object};
use tsify::Ts;
use wasm_bindgen::prelude::*;

use crate::client::Inner;
use crate::store::app::{check_id, prepare};
use crate::store::IndexedDb;
use crate::Error;
use types::{OpenOptions, QueryOptions};

/// An open ferrysync database.
#[wasm_bindgen]
pub struct FerrySync {
    pub(crate) inner: Rc<Inner>,
}

#[wasm_bindgen]
impl FerrySync {
    /// Opens (creating or upgrading) the database.
    pub async fn open(options: Ts<OpenOptions>) -> Result<FerrySync, JsValue> {
        let options = OpenOptions::from_js(&options.into())?;
        #[cfg(not(feature = "sync"))]
        if options.server_url.is_some() {
            return Err(Error::InvalidOptions(
                "serverUrl needs the package with sync: import \"ferrysync\", not \"ferrysync/store\""
                    .to_owned(),
            )
            .into());
        }
        let inner = Rc::new(Inner::open(options).await?);
        #[cfg(feature = "sync")]
        sync::attach(&inner).await?;
        Ok(FerrySync { inner })
    }

    /// Deletes a database by name (it must not be open).
    #[wasm_bindgen(js_name = deleteDatabase)]
    pub async fn delete_database(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<(), JsValue> {
        Ok(IndexedDb::delete(&text(&name, "name")?).await?)
    }

    /// This device's stable id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.inner.device_id.clone()
    }

    /// Writes a record (a new UUID v4 id when it has none); resolves after the commit with the
    /// record as stored.
    #[wasm_bindgen(unchecked_return_type = "StoredRecord")]
    pub async fn put(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RecordInput")] record: JsValue,
    ) -> Result<JsValue, JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        let (id, row, fresh) = prepare(&record)?;
        let written = inner
            .write(&collection, vec![(id, Some(row), fresh)])
            .await?;
        Ok(written
            .into_iter()
            .next()
            .and_then(|(_, row)| row)
            .unwrap_or_default())
    }

    /// Writes many records in one transaction.
    #[wasm_bindgen(js_name = bulkPut, unchecked_return_type = "StoredRecord[]")]
    pub async fn bulk_put(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RecordInput[]")] records: Array,
    ) -> Result<Array, JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        // Typed `Array`, but wasm-bindgen does not check: anything else would write nothing.
        if !Array::is_array(&records) {
            return Err(
                Error::InvalidRecord("bulkPut takes an array of records".to_owned()).into(),
            );
        }
        let rows = records
            .iter()
            .map(|r| prepare(&r).map(|(id, row, fresh)| (id, Some(row), fresh)))
            .collect::<Result<Vec<_>, Error>>()?;
        let written = inner.write(&collection, rows).await?;
        Ok(written.into_iter().filter_map(|(_, row)| row).collect())
    }

    /// Reads a record, or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "StoredRecord | undefined")]
    pub async fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let inner = self.inner.clone();
        let (collection, id) = (text(&collection, "collection")?, text(&id, "id")?);
        inner.check_open()?;
        Ok(inner
            .store
            .get_row(&collection, &id)
            .await?
            .unwrap_or_default())
    }

    /// Deletes a record (a tombstone until the server has it); no-op when it does not exist.
    pub async fn delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<(), JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        let id = check_id(&id)?;
        inner
            .write(&collection, vec![(id, None::<Object>, false)])
            .await?;
        Ok(())
    }

    /// Records whose `index` lies in the given range, in index order.
    #[wasm_bindgen(unchecked_return_type = "StoredRecord[]")]
    pub async fn query(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        options: Ts<QueryOptions>,
    ) -> Result<Array, JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        inner.check_open()?;
        let q = QueryOptions::from_js(&options.into())?;
        let range = q
            .range_spec()
            .range()
            .map_err(|e| Error::InvalidQuery(e.to_string()))?;
        let rows = inner
            .store
            .query(&collection, q.index.as_deref(), range, q.limit, q.reverse)
            .await?;
        Ok(rows)
    }

    /// Every record of a collection, by id.
    #[wasm_bindgen(unchecked_return_type = "StoredRecord[]")]
    pub async fn all(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
    ) -> Result<Array, JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        inner.check_open()?;
        let range = ferrysync_core::query::Range::All;
        Ok(inner
            .store
            .query(&collection, None, range, None, false)
            .await?)
    }

    /// Number of records in a collection.
    pub async fn count(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
    ) -> Result<u32, JsValue> {
        let inner = self.inner.clone();
        let collection = text(&collection, "collection")?;
        inner.check_open()?;
        Ok(inner.store.count(&collection).await?)
    }

    /// Number of records, in all collections, not yet in sync with the server (status
    /// `UNSYNCED`, `CONFLICT` or `REJECTED`).
    pub async fn pending(&self) -> Result<u32, JsValue> {
        let inner = self.inner.clone();
        inner.check_open()?;
        Ok(inner.store.pending_count().await?)
    }

    /// Calls `callback` with the changes after each local write or pull touching `collection`;
    /// returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] collection: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(changes: ChangeEvent[]) => void")]
        callback: Function,
    ) -> Result<JsValue, JsValue> {
        let collection = text(&collection, "collection")?;
        let id = self.inner.subscribe(&collection, checked(callback)?)?;
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.unsubscribe(id);
            }
        });
        Ok(off.into_js_value())
    }

    /// Closes the database; later calls fail with `CLOSED`.
    pub async fn close(&self) -> Result<(), JsValue> {
        #[cfg(feature = "sync")]
        sync::detach(&self.inner);
        self.inner.subscribers.borrow_mut().clear();
        self.inner.store.close();
        Ok(())
    }
}

/// A method's string argument (a collection name, an id), or an `INVALID_ARGUMENT` error naming
/// it. The methods take these as `JsValue`s: wasm-bindgen's conversion of a `String` parameter
/// does not check the type, and a number passed there reached the allocator with a bad length (a
/// "memory access out of bounds" trap, the wasm heap possibly corrupted).
pub(crate) fn text(value: &JsValue, name: &str) -> Result<String, Error> {
    let text = value
        .as_string()
        .ok_or_else(|| Error::InvalidArgument(format!("{name} must be a string")))?;
    match crate::store::objects::exact_string(value) {
        true => Ok(text),
        false => Err(Error::InvalidArgument(format!(
            "{name} must be valid Unicode (it holds a lone UTF-16 surrogate)"
        ))),
    }
}

/// A callback argument, or an `INVALID_ARGUMENT` error: wasm-bindgen does not check that a
/// `Function` parameter is one, and anything else would fail only when it is called.
pub(crate) fn checked(callback: Function) -> Result<Function, Error> {
    match callback.is_function() {
        true => Ok(callback),
        false => Err(Error::InvalidArgument(
            "callback must be a function".to_owned(),
        )),
    }
}
