//! `PgStore`: PostgreSQL, for several server processes behind one database.
//!
//! Sequence numbers come from a PostgreSQL sequence, which hands them out in call order but
//! not commit order: two concurrent pushes could commit seq 6 before seq 5, and a pull between
//! the commits would move its cursor past 5 for good. Every write transaction therefore first
//! takes `pg_advisory_xact_lock(hashtext(user_id))`. Pulls are per user, so serializing one
//! user's writers is enough to make that user's sequence numbers commit in order; different
//! users still write in parallel (a hash collision only serializes two users needlessly).

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::Result;

/// A `ChangeStore` in a PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Writers are serialized per user inside the database instead.
    /// The bind parameter mark of generated multi-row statements: `$NNN`.
    const PARAM: char = '$';

    async fn write_guard(&self) -> Option<()> {
        None
    }

    async fn lock_user(tx: &mut Transaction<'static, Postgres>, user: &str) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(user)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn next_seq(tx: &mut Transaction<'static, Postgres>) -> Result<i64> {
        let (seq,): (i64,) = sqlx::query_as("SELECT nextval('change_seq')")
            .fetch_one(&mut **tx)
            .await?;
        Ok(seq)
    }

    /// `n` sequence numbers, ascending, with one statement (not necessarily consecutive).
    async fn next_seqs(tx: &mut Transaction<'static, Postgres>, n: usize) -> Result<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT nextval('change_seq') FROM generate_series(1, $1::BIGINT)")
                .bind(i64::try_from(n).unwrap_or(i64::MAX))
                .fetch_all(&mut **tx)
                .await?;
        let mut seqs: Vec<i64> = rows.into_iter().map(|(seq,)| seq).collect();
        seqs.sort_unstable();
        Ok(seqs)
    }
}

super::sql::impl_change_store!(
    PgStore,
    sqlx::Postgres,
    sqlx::migrate!("./migrations/postgres")
);
