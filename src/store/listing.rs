//! The records in the sparse sync indexes, which are split between the collection stores
//! (live records: `_sync.o`, `_sync.u`) and the outbox store (tombstones, and pending changes
//! written before rows held theirs): the outbox in push order, the not-`SYNCED` records, and
//! their counts. Each reads every store's index in one transaction and merges.

use ferrysync_core::record::{LocalRecord, SyncStatus};
use ferrysync_core::store::{Counts, Result};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbKeyRange, IdbObjectStore};

use super::row::{self, not_synced_code, Entry, StoredRow};
use super::schema::{NOT_SYNCED, OUTBOX, OUTBOX_ORDER, ROW_NOT_SYNCED, ROW_ORDER};
use super::{acks, batch, clock, idb, js_store_error, IndexedDb};

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = listRows)]
    fn list_rows(
        tx: &web_sys::IdbTransaction,
        name: &str,
        index: &str,
        range: &JsValue,
        limit: u32,
        acks: &JsValue,
    ) -> Promise;
}

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
    /// Up to `limit` records (all when `None`) in `listing`'s indexes, in key order (push order
    /// from after outbox position `after`; status, then collection and id), of collection `only`
    /// or all. Rows an acknowledgement settles (see [`acks`](super::acks)) are left out.
    pub(super) async fn listed(
        &self,
        listing: Listing,
        after: Option<u64>,
        limit: Option<u32>,
        only: Option<&str>,
    ) -> Result<Vec<(String, LocalRecord)>> {
        let range: JsValue = match after {
            // Positions are below 2^53, so they are exact as JS numbers.
            Some(after) => idb::thrown(IdbKeyRange::lower_bound_with_open(
                &(after as f64).into(),
                true,
            ))?
            .into(),
            None => JsValue::UNDEFINED,
        };
        let range = &range;
        let collections: Vec<&str> = self
            .schema
            .keys()
            .map(String::as_str)
            .filter(|c| only.is_none_or(|o| o == *c))
            .collect();
        let mut stores = collections.clone();
        stores.push(OUTBOX);
        let tx = self.transaction(&stores, false).await?;
        let (row_index, entry_index) = listing.indexes();
        // A push's batch: the stamp read with it (see `clock::Listings`).
        let push = listing == Listing::Outbox && limit.is_some();
        let stamp = push
            .then(|| idb::store(&tx, OUTBOX).map(|o| clock::stamp(&o)))
            .transpose()?;
        // The acknowledgements that may settle rows in the range (none while a push reads on
        // past what it acknowledged).
        let acks = acks::read(&tx, after.filter(|_| listing == Listing::Outbox))?.await?;
        let entries = idb::all(match limit {
            Some(n) => index_of(&idb::store(&tx, OUTBOX)?, entry_index)?
                .get_all_with_key_and_limit(range, n),
            None => index_of(&idb::store(&tx, OUTBOX)?, entry_index)?.get_all_with_key(range),
        });
        let rows: Vec<_> = collections
            .iter()
            .map(|c| {
                let read = list_rows(&tx, c, row_index, range, limit.unwrap_or(0), acks.js());
                async move { JsFuture::from(read).await.map_err(|e| js_store_error(&e)) }
            })
            .collect();
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
            let values = batch::decode::<StoredRow>(&values.await?.into())?;
            for row in values.into_iter().flatten() {
                let id = row.id.clone().unwrap_or_default();
                if let Some(record) = row::join(&id, Some(row), None, &self.device) {
                    let record = acks.settle(collection, record);
                    if record.sync.status != SyncStatus::Synced {
                        records.push(((*collection).to_owned(), record));
                    }
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
        if let Some(stamp) = stamp {
            let stamp = stamp.await?;
            let positions = records
                .iter()
                .filter_map(|(_, r)| r.pending.as_ref().map(|p| p.seq));
            if let (Some(lo), Some(hi)) = (positions.clone().min(), positions.max()) {
                self.listings.listed(lo, hi, stamp);
            }
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
    async fn listing_transaction(&self) -> Result<web_sys::IdbTransaction> {
        let mut stores: Vec<&str> = self.schema.keys().map(String::as_str).collect();
        stores.push(OUTBOX);
        self.transaction(&stores, false).await
    }

    /// The numbers of `UNSYNCED`, `CONFLICT` and `REJECTED` records.
    pub(super) async fn status_counts(&self) -> Result<Counts> {
        let tx = self.listing_transaction().await?;
        let code = |status| not_synced_code(status).map(f64::from);
        let n = |c: u32| usize::try_from(c).unwrap_or(usize::MAX);
        let pending = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Unsynced))?;
        let conflicts = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Conflict))?;
        let rejected = self.index_count(&tx, Listing::NotSynced, code(SyncStatus::Rejected))?;
        // Each acknowledged row is still counted `UNSYNCED` by the row index.
        let acked = acks::read(&tx, None)?;
        let acked = u32::try_from(acked.await?.len()).unwrap_or(u32::MAX);
        Ok(Counts {
            pending: n(pending.await?.saturating_sub(acked)),
            conflicts: n(conflicts.await?),
            rejected: n(rejected.await?),
        })
    }

    /// Number of `UNSYNCED` records in all collections: the outbox (conflicts and rejections
    /// wait for a person and are counted by `status()`, not here).
    pub async fn pending_count(&self) -> crate::Result<u32> {
        let tx = self.listing_transaction().await?;
        let all = self.index_count(&tx, Listing::Outbox, None)?;
        let acked = acks::read(&tx, None)?;
        let acked = u32::try_from(acked.await?.len()).unwrap_or(u32::MAX);
        Ok(all.await?.saturating_sub(acked))
    }
}
