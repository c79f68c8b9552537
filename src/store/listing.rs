//! The records in the sparse sync indexes, which are split between the collection stores
//! (live records: `_sync.o`, `_sync.u`) and the outbox store (tombstones, and pending changes
//! written before rows held theirs): the outbox in push order, the not-`SYNCED` records, and
//! their counts. Each reads every store's index in one transaction and merges.

use ferrysync_core::record::{LocalRecord, SyncStatus};
use ferrysync_core::store::{Counts, Result};
use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbObjectStore};

use super::row::{self, not_synced_code, Entry, StoredRow};
use super::schema::{NOT_SYNCED, OUTBOX, OUTBOX_ORDER, ROW_NOT_SYNCED, ROW_ORDER};
use super::{batch, idb, IndexedDb};

/// Which sparse indexes a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Outbox positions of `UNSYNCED` records: push order.
    Outbox,
    /// Status codes of records not `SYNCED`.
    NotSynced,
}

impl Listing {
    fn indexes(self) -> (&'static str, &'static str) {
        match self {
            Self::Outbox => (ROW_ORDER, OUTBOX_ORDER),
            Self::NotSynced => (ROW_NOT_SYNCED, NOT_SYNCED),
        }
    }
}

fn index_of(store: &IdbObjectStore, name: &str) -> Result<web_sys::IdbIndex> {
    idb::thrown(store.index(name))
}

impl IndexedDb {
    /// Up to `limit` records (all when `None`) whose key in `listing`'s indexes is in `range`,
    /// in key order (push order; status, then collection and id), of collection `only` or all.
    pub(super) async fn listed(
        &self,
        listing: Listing,
        range: &JsValue,
        limit: Option<u32>,
        only: Option<&str>,
    ) -> Result<Vec<(String, LocalRecord)>> {
        let collections: Vec<&str> = self
            .schema
            .keys()
            .map(String::as_str)
            .filter(|c| only.is_none_or(|o| o == *c))
            .collect();
        let mut stores = collections.clone();
        stores.push(OUTBOX);
        let tx = self.transaction(&stores, false)?;
        let (row_index, entry_index) = listing.indexes();
        let get_all = |index: web_sys::IdbIndex| {
            idb::all(match limit {
                Some(n) => index.get_all_with_key_and_limit(range, n),
                None => index.get_all_with_key(range),
            })
        };
        let entries = get_all(index_of(&idb::store(&tx, OUTBOX)?, entry_index)?);
        let rows = collections
            .iter()
            .map(|c| Ok(get_all(index_of(&idb::store(&tx, c)?, row_index)?)))
            .collect::<Result<Vec<_>>>()?;
        let entries: Vec<Entry> = batch::decode::<Entry>(&entries.await?)?
            .into_iter()
            .flatten()
            .filter(|e| only.is_none_or(|c| c == e.c))
            .collect();
        // A tombstone has no row; a collection the schema lacks is not in the transaction.
        let mut records = batch::records_of(&tx, &self.device, entries, |e| {
            !e.deleted && self.schema.contains_key(&e.c)
        })
        .await?;
        for (collection, values) in collections.iter().zip(rows) {
            let values = batch::decode::<StoredRow>(&values.await?)?;
            for row in values.into_iter().flatten() {
                let id = row.id.clone().unwrap_or_default();
                if let Some(record) = row::join(&id, Some(row), None, &self.device) {
                    records.push(((*collection).to_owned(), record));
                }
            }
        }
        match listing {
            Listing::Outbox => records.sort_by_key(|(_, r)| r.pending.as_ref().map(|p| p.seq)),
            Listing::NotSynced => records.sort_by(|(c1, r1), (c2, r2)| {
                let code = |r: &LocalRecord| not_synced_code(r.sync.status);
                (code(r1), c1, &r1.id).cmp(&(code(r2), c2, &r2.id))
            }),
        }
        if let Some(n) = limit {
            records.truncate(n as usize);
        }
        Ok(records)
    }

    /// How many records the sparse indexes of `listing` hold at `key` (all keys when `None`),
    /// summed over the collection stores and the outbox store. The requests are issued now.
    fn index_count(
        &self,
        tx: &web_sys::IdbTransaction,
        listing: Listing,
        key: Option<f64>,
    ) -> Result<impl std::future::Future<Output = Result<u32>>> {
        let (row_index, entry_index) = listing.indexes();
        let range: JsValue = match key {
            Some(k) => idb::thrown(IdbKeyRange::only(&k.into()))?.into(),
            None => JsValue::UNDEFINED,
        };
        let mut counts = vec![idb::count(
            index_of(&idb::store(tx, OUTBOX)?, entry_index)?.count_with_key(&range),
        )];
        for c in self.schema.keys() {
            let index = index_of(&idb::store(tx, c)?, row_index)?;
            counts.push(idb::count(index.count_with_key(&range)));
        }
        Ok(async move {
            let mut total = 0u32;
            for count in counts {
                total = total.saturating_add(count.await?);
            }
            Ok(total)
        })
    }

    /// A read transaction over every collection store and the outbox.
    fn listing_transaction(&self) -> Result<web_sys::IdbTransaction> {
        let mut stores: Vec<&str> = self.schema.keys().map(String::as_str).collect();
        stores.push(OUTBOX);
        self.transaction(&stores, false)
    }

    /// The numbers of `UNSYNCED`, `CONFLICT` and `REJECTED` records.
    pub(super) async fn status_counts(&self) -> Result<Counts> {
        let tx = self.listing_transaction()?;
        let code = |status| not_synced_code(status).map(f64::from);
        let n = |c: u32| usize::try_from(c).unwrap_or(usize::MAX);
        let pending = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Unsynced))?;
        let conflicts = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Conflict))?;
        let rejected = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Rejected))?;
        Ok(Counts {
            pending: n(pending.await?),
            conflicts: n(conflicts.await?),
            rejected: n(rejected.await?),
        })
    }

    /// Number of `UNSYNCED` records in all collections: the outbox (conflicts and rejections
    /// wait for a person and are counted by `status()`, not here).
    pub async fn pending_count(&self) -> crate::Result<u32> {
        let tx = self.listing_transaction()?;
        Ok(self.index_count(&tx, Listing::Outbox, None)?.await?)
    }
}
