//! `SqliteStore`: the embedded default backend.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;
use tokio::sync::{Mutex, MutexGuard};

use crate::error::Result;

/// A `ChangeStore` in one SQLite file (WAL mode).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time; queueing writers here (FIFO) is fairer and cheaper than
    /// letting them spin on `SQLITE_BUSY`, and it orders sequence numbers by commit.
    writer: Mutex<()>,
    /// Wakes the background checkpointer after a write (see [`checkpoints`]).
    written: mpsc::Sender<()>,
}

/// The write-ahead log's size, in pages, at which a commit checkpoints it itself: only reached
/// when the background checkpoints fall behind.
const WAL_PAGES_MAX: u32 = 20_000;

/// How long the checkpointer waits after a write, so that a burst of writes is checkpointed once.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(50);

/// Copies the write-ahead log into the database file after writes, off the requests' path.
///
/// SQLite's own automatic checkpoint runs inside the commit that grows the log past 1,000
/// pages, and so inside the request that made it: with `synchronous=NORMAL` that is the one
/// commit that waits for the disk (a sync of the log and of the database file). 1,000-record
/// pushes crossed it about every third request, and those took about twice as long
/// (BENCHMARKS.md, "Server load", 2026-12-07). A `PASSIVE` checkpoint here does the same work
/// beside the requests: it neither waits for nor blocks readers and the writer. Ends when the
/// store is dropped.
async fn checkpoints(pool: SqlitePool, mut written: mpsc::Receiver<()>) {
    while written.recv().await.is_some() {
        tokio::time::sleep(CHECKPOINT_DELAY).await;
        // A write during the wait is covered by this checkpoint.
        while written.try_recv().is_ok() {}
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "background WAL checkpoint failed");
        }
    }
}

/// Holds the writer lock; on drop, after the write, wakes the checkpointer.
pub(super) struct WriteGuard<'a> {
    _lock: MutexGuard<'a, ()>,
    written: &'a mpsc::Sender<()>,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        // Full: a wake-up is pending already, which covers this write.
        let _ = self.written.try_send(());
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database a `sqlite:` URL names.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            // Checkpoints run in the background (`checkpoints`), not in the commit that crosses
            // SQLite's default 1,000 pages; this only bounds the log if they fall behind.
            .pragma("wal_autocheckpoint", WAL_PAGES_MAX.to_string())
            // A log that grew in a burst is cut back to this when it starts over.
            .pragma("journal_size_limit", (64u32 << 20).to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let (written, wake) = mpsc::channel(1);
        tokio::spawn(checkpoints(pool.clone(), wake));
        Ok(Self {
            pool,
            writer: Mutex::new(()),
            written,
        })
    }

    /// The bind parameter mark of generated multi-row statements: positional `?` (see `sql_push::placeholders`).
    const PARAM: char = '?';

    async fn write_guard(&self) -> Option<WriteGuard<'_>> {
        Some(WriteGuard {
            _lock: self.writer.lock().await,
            written: &self.written,
        })
    }

    /// Writers are already serialized by `write_guard`.
    async fn lock_user(_tx: &mut Transaction<'static, Sqlite>, _user: &str) -> Result<()> {
        Ok(())
    }

    async fn next_seq(tx: &mut Transaction<'static, Sqlite>) -> Result<i64> {
        let (seq,): (i64,) =
            sqlx::query_as("UPDATE seq_counter SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(&mut **tx)
                .await?;
        Ok(seq)
    }

    /// `n` consecutive sequence numbers, ascending, with one statement.
    async fn next_seqs(tx: &mut Transaction<'static, Sqlite>, n: usize) -> Result<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let count = i64::try_from(n).unwrap_or(i64::MAX);
        let (last,): (i64,) = sqlx::query_as(
            "UPDATE seq_counter SET value = value + $1 WHERE id = 1 RETURNING value",
        )
        .bind(count)
        .fetch_one(&mut **tx)
        .await?;
        Ok((last - count + 1..=last).collect())
    }
}

super::sql::impl_change_store!(
    SqliteStore,
    sqlx::Sqlite,
    sqlx::migrate!("./migrations/sqlite")
);
