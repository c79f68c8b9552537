//! `SqliteStore`: the embedded default backend.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::Result;

/// A `ChangeStore` in one SQLite file (WAL mode).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time; queueing writers here (FIFO) is fairer and cheaper than
    /// letting them spin on `SQLITE_BUSY`, and it orders sequence numbers by commit.
    writer: Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database a `sqlite:` URL names.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            writer: Mutex::new(()),
        })
    }

    /// The bind parameter mark of generated multi-row statements: positional `?` (see `sql_push::placeholders`).
    const PARAM: char = '?';

    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        Some(self.writer.lock().await)
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
