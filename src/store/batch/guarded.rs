//! [`update_if`]: an update that writes only while some meta entries hold what the caller
//! expects, and that may first write as if none of its keys existed (a first pull's pages).

use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Key, Result, UpdateFn};
use js_sys::{Array, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::super::acks::Acks;
use super::super::row;
use super::super::schema::META;
use super::{idb, read_records, write, write_read};
use crate::store::js_store_error;

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    fn absent(tx: &IdbTransaction, names: &Array, keys: &Array) -> Promise;
}

/// How [`update_if`] ended; on anything but `Written` the caller aborts the transaction.
pub enum Guarded {
    /// The writes are issued: the rows as written.
    Written(Vec<Option<LocalRecord>>),
    /// A meta entry did not hold what was expected: nothing may be written.
    Stale,
    /// Written as if no key existed, and one did: the update must be redone with reads.
    Redo,
}

/// The body of [`LocalStore::update_if`](ferrysync_core::store::LocalStore::update_if) inside
/// `tx`. The `expect` entries and the records are read first. With `assume_absent`, the
/// records are not read: the writes of what `f` returns for absent records are issued at once,
/// after a check that no key has a row or an outbox entry (issued first, so it sees the store as
/// it was), and `Redo` says one had after all.
pub async fn update_if(
    tx: &IdbTransaction,
    device: &str,
    expect: &[(&str, Value)],
    assume_absent: bool,
    keys: &[Key],
    meta: &[(&str, Value)],
    f: &mut UpdateFn<'_>,
) -> Result<Guarded> {
    let meta_store = idb::store(tx, META)?;
    let current: Vec<_> = expect
        .iter()
        .map(|(key, _)| idb::get(meta_store.get(&(*key).into())))
        .collect();
    if assume_absent {
        // Issued before the writes, so it answers for the rows as they were.
        let check = JsFuture::from(absent_anywhere(tx, keys)?);
        // Records that are absent have no acknowledgement to remove.
        let written = write(
            tx,
            device,
            keys,
            keys.iter().map(|_| (None, false, false)).collect(),
            &Acks::default(),
            meta,
            f,
            false,
            js_sys::Math::random(),
        )?;
        if !holds(current, expect).await? {
            return Ok(Guarded::Stale);
        }
        let absent = check.await.map_err(|e| js_store_error(&e))?.as_bool() == Some(true);
        return Ok(if absent {
            Guarded::Written(written)
        } else {
            Guarded::Redo
        });
    }
    let read = read_records(tx, device, keys)?;
    if !holds(current, expect).await? {
        return Ok(Guarded::Stale);
    }
    write_read(tx, device, keys, read.await?, meta, f).map(Guarded::Written)
}

/// Whether each meta entry read (`current`, in `expect`'s order) is what `expect` says.
async fn holds(
    current: Vec<impl std::future::Future<Output = Result<Option<JsValue>>>>,
    expect: &[(&str, Value)],
) -> Result<bool> {
    for (value, (_, expected)) in current.into_iter().zip(expect) {
        let value = value.await?.map(row::from_js::<Value>).transpose()?;
        if value.as_ref().unwrap_or(&Value::Null) != expected {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `absent` (idb.js) of every key's row and outbox entry: no record at any of `keys`.
fn absent_anywhere(tx: &IdbTransaction, keys: &[Key]) -> Result<Promise> {
    let [names, ids, outboxes, entry_keys] = super::key_lists(keys)?;
    Ok(absent(
        tx,
        &names.concat(&outboxes),
        &ids.concat(&entry_keys),
    ))
}
