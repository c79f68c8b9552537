//! Folding acknowledgement batches into their rows ([`acks`](super::acks)): after a cycle, the
//! rows a push settled with one value per batch are rewritten in sync, off the push's path.

use std::cell::RefCell;

use ferrysync_core::store::{LocalStore, Result};

use super::schema::OUTBOX;
use super::{acks, IndexedDb};

/// Records folded per transaction.
const FOLD_BATCH: usize = 1000;

thread_local! {
    /// The databases a fold runs on in this page: one at a time per database is enough.
    static FOLDING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

impl IndexedDb {
    /// Rewrites the rows of every acknowledged record of this schema's collections in sync and
    /// removes their acknowledgements, [`FOLD_BATCH`] records per transaction; returns how many
    /// records it folded (0 when another fold of this database runs in this page). A record
    /// written meanwhile has lost its acknowledgement already and is written back as it is.
    pub async fn fold(&self) -> Result<usize> {
        let name = self.name().to_owned();
        let running = FOLDING.with(|f| {
            let mut f = f.borrow_mut();
            let running = f.contains(&name);
            if !running {
                f.push(name.clone());
            }
            running
        });
        if running {
            return Ok(0);
        }
        let folded = self.fold_all().await;
        FOLDING.with(|f| f.borrow_mut().retain(|n| *n != name));
        folded
    }

    async fn fold_all(&self) -> Result<usize> {
        let mut folded = 0;
        loop {
            let tx = self.transaction(&[OUTBOX], false).await?;
            let acks = acks::read(&tx, None)?.await?;
            let keys = acks.keys(FOLD_BATCH, self.schema.keys());
            if keys.is_empty() {
                return Ok(folded);
            }
            // Read joined with their acknowledgements, the records are written back as they
            // read: rows in sync, and the items removed (any write removes its record's).
            self.update(&keys, &[], &mut |_, record| record).await?;
            folded += keys.len();
        }
    }
}
