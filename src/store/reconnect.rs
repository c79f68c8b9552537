//! A connection that another tab's upgrade closed, opened again ([`IndexedDb::reconnect`]).

use ferrysync_core::store::{Result, StoreError};

use super::schema::{self, META};
use super::{idb, IndexedDb};

impl IndexedDb {
    /// When another connection's open upgraded the database past this one (a newer app in another
    /// tab), this one closed so as not to block it (`idb.js`): reopens it once the upgrade is done,
    /// unless the database now has a newer layout. When a deletion closed it, it stays closed.
    pub(super) async fn reconnect(&self) -> Result<()> {
        let old = self.db.borrow().clone().filter(idb::is_replaced);
        let Some(old) = old else {
            return Ok(());
        };
        let Ok(db) = idb::reopen(&old).await else {
            self.close();
            return Err(StoreError::Closed);
        };
        let tx = idb::transaction(&db, &[META], false)?;
        let layout = idb::get(idb::store(&tx, META)?.get(&schema::LAYOUT_KEY.into())).await?;
        if layout.and_then(|l| l.as_f64()) > Some(schema::LAYOUT as f64) {
            db.close();
            self.close();
            return Err(StoreError::Closed);
        }
        // Unless the app closed this store meanwhile (every caller gets the same connection).
        let mut current = self.db.borrow_mut();
        if current.is_none() {
            db.close();
            return Err(StoreError::Closed);
        }
        *current = Some(db);
        Ok(())
    }
}
