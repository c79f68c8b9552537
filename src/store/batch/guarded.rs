//! [`update_if`]: an update that writes only while some meta entries hold what the caller
//! expects, and that may first write as if none of its keys existed (a first pull's pages,
//! checked as [`Fresh`](super::Fresh) says).

use ferrysync_core::record::LocalRecord;
use ferrysync_core::store::{Key, Result, UpdateFn};
use js_sys::{Array, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use web_sys::IdbTransaction;

use super::super::acks::Acks;
use super::super::row;
use super::super::schema::META;
use super::super::IndexedDb;
use super::{idb, read_records, write, write_read};

#[wasm_bindgen(module = "/src/store/keys.js")]
extern "C" {
    fn absent(tx: &IdbTransaction, names: &Array, keys: &Array) -> Promise;
}

impl IndexedDb {
    /// [`LocalStore::update_if`](ferrysync_core::store::LocalStore::update_if): one transaction
    /// for [`update_if`], and a second, reading, when it assumed absent records and was wrong.
    pub(in crate::store) async fn guarded(
        &self,
        expect: &[(&str, Value)],
        assume_absent: bool,
        keys: &[Key],
        meta: &[(&str, Value)],
        f: &mut UpdateFn<'_>,
    ) -> Result<Option<Vec<Option<LocalRecord>>>> {
        let mut assume = assume_absent;
        loop {
            let tx = self.write_transaction(keys.iter().map(|(c, _)| c)).await?;
            // Writes issued before their check must never commit unchecked: a caller that
            // drops this future half-way aborts the transaction.
            let guard = idb::AbortOnDrop::new(&tx);
            let outcome = update_if(&tx, self, expect, assume, keys, meta, f).await;
            let result = match outcome {
                Ok(Guarded::Written(written)) => {
                    idb::commit_or_abort(&tx, Ok(written)).await.map(Some)
                }
                Ok(Guarded::Stale) => {
                    let _ = tx.abort();
                    Ok(None)
                }
                Ok(Guarded::Redo) => {
                    let _ = tx.abort();
                    guard.disarm();
                    self.redone.set(self.redone.get().saturating_add(1));
                    assume = false;
                    continue;
                }
                Err(e) => idb::abort(&tx, e),
            };
            guard.disarm();
            return result;
        }
    }
}

/// How [`update_if`] ended; on anything but `Written` the caller aborts the transaction.
enum Guarded {
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
/// it was; two reads in a run, see [`Fresh`](super::Fresh)), and `Redo` says one had after all.
async fn update_if(
    tx: &IdbTransaction,
    store: &IndexedDb,
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
    let (device, fresh) = (store.device.as_str(), &store.fresh);
    let nonce = js_sys::Math::random();
    // Issued before the writes, so it answers for the rows as they were.
    let check = match assume_absent {
        true => fresh.check(tx, keys, nonce, || absent_anywhere(tx, keys))?,
        false => {
            fresh.end();
            None
        }
    };
    if let Some(check) = check {
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
            nonce,
        )?;
        if !holds(current, expect).await? {
            fresh.end();
            return Ok(Guarded::Stale);
        }
        return Ok(match check.absent().await? {
            true => Guarded::Written(written),
            false => Guarded::Redo,
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
