//! `trait ChangeStore`: everything the routes need from a database, one implementation per backend.
//!
//! The store persists what `ferrysync_core::conflict::decide` returns and never decides itself.
//! Both backends share one SQL implementation (`store/sql.rs`); they differ only in how a write
//! transaction is serialized and how sequence numbers are drawn.

#[cfg(feature = "postgres")]
mod postgres;
mod sql;
mod sql_impl;
mod sql_push;
mod sql_supersede;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use ferrysync_core::protocol::{
    Change, ChangeResult, ConflictEntry, ConflictStatus, DeviceStatus, Resolution, ServerRecord,
};
use ferrysync_core::{CollectionPolicy, Hlc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{ApiError, Result};

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// One validated change of a push, with the policy of its collection.
#[derive(Debug, Clone)]
pub struct PushItem {
    /// Collection name.
    pub collection: String,
    /// The change.
    pub change: Change,
    /// The collection's policy.
    pub policy: CollectionPolicy,
    /// The stamp the device sent, when the server moved it (the device's clock was off, see
    /// [`ferrysync_core::skew`]): the result then carries the record as stored, stamp included,
    /// and a conflict's log entry keeps this stamp beside the moved one (`sentHlc`).
    pub sent_hlc: Option<Hlc>,
}

/// What a pull asks for.
#[derive(Debug, Clone, Default)]
pub struct PullQuery {
    /// Only records written after this sequence number.
    pub after: i64,
    /// Only records written at or after this time (Unix ms), for first pulls.
    pub since: Option<i64>,
    /// Page size.
    pub limit: u32,
    /// Only these collections.
    pub collections: Option<Vec<String>>,
    /// Leave out records whose latest write is the pulling device's (`excludeOwn`); the cursor
    /// still moves past them.
    pub exclude_own: bool,
}

/// One record version as a pull serves it: [`ServerRecord`]'s JSON form, with the data passed
/// through as stored, never parsed and serialized again on its way out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PulledRecord {
    /// The collection the record belongs to.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Per-record version.
    pub version: u64,
    /// The record as stored (a JSON object; `null` once deleted).
    pub data: Box<RawValue>,
    /// True for a tombstone.
    pub deleted: bool,
    /// Stamp of the write that produced this version, as stored.
    pub hlc: String,
    /// Device that produced this version.
    pub device_id: String,
    /// Server time of this version, RFC 3339.
    pub updated_at: String,
}

/// A pull page ends after the record that brings its records' data to this many bytes or more,
/// even when its `limit` would allow more records (records are at most 1 MiB each).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// One page of a pull.
#[derive(Debug, Clone)]
pub struct PullPage {
    /// Latest version of each record, in sequence order.
    pub records: Vec<PulledRecord>,
    /// Sequence number to continue after.
    pub cursor: i64,
    /// True when more records follow.
    pub has_more: bool,
}

/// The database behind the API. Every method is scoped to one user; rows of other users are
/// invisible. A write is durable when the future resolves.
#[async_trait]
pub trait ChangeStore: Send + Sync + 'static {
    /// Runs the migrations.
    async fn migrate(&self) -> Result<()>;
    /// The stored token secret; stores `candidate` first if there is none.
    async fn secret(&self, candidate: &str) -> Result<String>;
    /// Creates a user; false when the username is taken.
    async fn create_user(&self, id: &str, username: &str, password_hash: &str) -> Result<bool>;
    /// The id and password hash of `username`.
    async fn find_user(&self, username: &str) -> Result<Option<(String, String)>>;
    /// Applies a push in one transaction; one result per item, in order.
    async fn push(
        &self,
        user: &str,
        device: &str,
        items: Vec<PushItem>,
    ) -> Result<Vec<ChangeResult>>;
    /// A page of records after `query.after`, and records the device's cursor.
    async fn pull(&self, user: &str, device: &str, query: PullQuery) -> Result<PullPage>;
    /// The user's conflict log, newest first; of one `status` and of the changes of one `device`
    /// when given.
    async fn conflicts(
        &self,
        user: &str,
        status: Option<ConflictStatus>,
        device: Option<&str>,
    ) -> Result<Vec<ConflictEntry>>;
    /// Closes an open conflict, writing a new version for `client` and `merged`; those two
    /// fail with [`ApiError::ConflictOutdated`](crate::ApiError) when `remote_version` is given
    /// and the record is no longer at it.
    async fn resolve(
        &self,
        user: &str,
        conflict_id: &str,
        resolution: Resolution,
        data: Option<Value>,
        remote_version: Option<u64>,
    ) -> Result<(ConflictEntry, ServerRecord)>;
    /// The device's sync status; `None` for a device the user never synced.
    async fn device_status(&self, user: &str, device: &str) -> Result<Option<DeviceStatus>>;
    /// The latest version of one record (a tombstone too), as a pull serves it.
    async fn record(&self, user: &str, collection: &str, id: &str) -> Result<Option<PulledRecord>>;
    /// Forgets the processed changes processed before `before` (Unix ms) that their device has
    /// superseded: it pushed a newer change of the same record since, so it never sends them
    /// again. Returns how many were forgotten. The newest processed change of each device and
    /// record is kept however old, so a device that lost a push's answer and comes back much
    /// later still gets `duplicate` for it.
    async fn forget_processed(&self, before: i64) -> Result<u64>;
    /// True when the database answers.
    async fn ping(&self) -> bool;
    /// Closes the pool after in-flight queries finish.
    async fn close(&self);
}

/// Opens (and migrates) the store a URL names: `sqlite:` or `postgres://`/`postgresql://`.
pub async fn open(url: &str) -> Result<Arc<dyn ChangeStore>> {
    let store: Arc<dyn ChangeStore> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                Arc::new(PgStore::connect(url).await?)
            }
            #[cfg(not(feature = "postgres"))]
            return Err(ApiError::Internal(
                "built without the `postgres` feature".to_owned(),
            ));
        } else if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            {
                Arc::new(SqliteStore::connect(url).await?)
            }
            #[cfg(not(feature = "sqlite"))]
            return Err(ApiError::Internal(
                "built without the `sqlite` feature".to_owned(),
            ));
        } else {
            return Err(ApiError::Internal(format!(
                "unsupported database URL {url:?}"
            )));
        };
    store.migrate().await?;
    Ok(store)
}
