//! The SQL both backends share, written once as a macro over the concrete sqlx database.
//!
//! Queries use `$N` placeholders, which SQLite and PostgreSQL both accept. A backend provides
//! `write_guard` (serializes writers in-process), `lock_user` (serializes one user's write
//! transactions in the database) and `next_seq` (draws a change sequence number).

use ferrysync_core::conflict::RecordState;
use ferrysync_core::protocol::ServerRecord;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, Result};
use crate::time::rfc3339;

/// The snake_case text of a unit enum variant (`Strategy::NewestWins` -> `newest_wins`).
pub(super) fn enum_text<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Parses a JSON column (or enum text when `quoted`).
pub(super) fn from_column<T: DeserializeOwned>(text: &str, quoted: bool) -> Result<T> {
    let parsed = if quoted {
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
    } else {
        serde_json::from_str(text)
    };
    parsed.map_err(|err| ApiError::Internal(format!("corrupt column {text:?}: {err}")))
}

/// The stamp a device sent, kept in a conflict's `client_change` column when the server moved it
/// (`sql_push::client_change`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SentHlc {
    #[serde(default)]
    pub(super) sent_hlc: Option<ferrysync_core::Hlc>,
}

/// JSON text of `value`.
pub(super) fn to_column<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// `" AND collection IN ($from, …)"` for `n` names bound from parameter `$from` on; `IN (NULL)`,
/// which matches nothing, for none. A pull's collections filter and a device's status use it.
pub(super) fn collection_in(from: usize, n: usize) -> String {
    let marks: Vec<String> = (from..from + n).map(|i| format!("${i}")).collect();
    let marks = if marks.is_empty() {
        "NULL".to_owned()
    } else {
        marks.join(", ")
    };
    format!(" AND collection IN ({marks})")
}

/// The wire form of a stored record.
pub(super) fn server_record(
    collection: &str,
    id: &str,
    state: &RecordState,
    updated_at: i64,
) -> ServerRecord {
    ServerRecord {
        collection: collection.to_owned(),
        id: id.to_owned(),
        version: state.version,
        data: state.data.clone().into(),
        deleted: state.deleted,
        hlc: state.hlc.clone(),
        device_id: state.device_id.clone(),
        updated_at: rfc3339(updated_at),
    }
}

/// The device id a conflict resolution is written under: no device's own write, so every
/// device pulls it, even with `excludeOwn`.
pub(super) const RESOLVER_DEVICE: &str = "server";

pub(super) const RECORD_COLUMNS: &str =
    "collection, id, version, data, deleted, hlc, device_id, run_base, fields, updated_at";

pub(super) const CONFLICT_COLUMNS: &str = "id, collection, record_id, strategy, winner, status, \
     server_version, server_data, client_change, resolution, created_at, resolved_at";

/// Implements `ChangeStore` for `$store`, whose `pool` is a `sqlx::Pool<$db>`.
macro_rules! impl_change_store {
    ($store:ty, $db:ty, $migrator:expr) => {
        mod shared_sql {
            use async_trait::async_trait;
            use ferrysync_core::conflict::{decide, Decision, RecordState, Winner};
            use ferrysync_core::protocol::{
                Change, ChangeResult, ConflictEntry, ConflictStatus, DeviceHealth, DeviceStatus,
                Resolution, ServerRecord,
            };
            use ferrysync_core::{CollectionPolicy, HlcClock};
            use serde_json::Value;
            use sqlx::Row as _;

            use super::*;
            use crate::error::{ApiError, Result};
            use crate::store::sql::{
                collection_in, enum_text, from_column, server_record, to_column, SentHlc,
                CONFLICT_COLUMNS, RECORD_COLUMNS, RESOLVER_DEVICE,
            };
            use crate::store::sql_push::{placeholders, MAX_BINDS};
            use crate::store::{ChangeStore, PullPage, PullQuery, PulledRecord, PushItem, MAX_PAGE_BYTES};
            use futures_util::TryStreamExt;
            use crate::time::{rfc3339, unix_millis};

            type Row = <$db as sqlx::Database>::Row;
            type Tx = sqlx::Transaction<'static, $db>;

            fn record_from_row(row: &Row) -> Result<(String, String, RecordState, i64)> {
                let state = RecordState {
                    version: row.try_get::<i64, _>("version")? as u64,
                    data: from_column(&row.try_get::<String, _>("data")?, false)?,
                    deleted: row.try_get("deleted")?,
                    hlc: from_column(&row.try_get::<String, _>("hlc")?, true)?,
                    device_id: row.try_get("device_id")?,
                    run_base: row.try_get::<i64, _>("run_base")? as u64,
                    fields: from_column(&row.try_get::<String, _>("fields")?, false)?,
                };
                Ok((row.try_get("collection")?, row.try_get("id")?, state, row.try_get("updated_at")?))
            }

            /// A row of `RECORD_COLUMNS` as a pull serves it: the data column passed through.
            fn pulled_from_row(row: &Row) -> Result<PulledRecord> {
                let data = serde_json::value::RawValue::from_string(row.try_get("data")?)
                    .map_err(|err| ApiError::Internal(format!("corrupt data column: {err}")))?;
                Ok(PulledRecord {
                    collection: row.try_get("collection")?,
                    id: row.try_get("id")?,
                    version: row.try_get::<i64, _>("version")? as u64,
                    data,
                    deleted: row.try_get("deleted")?,
                    hlc: row.try_get("hlc")?,
                    device_id: row.try_get("device_id")?,
                    updated_at: rfc3339(row.try_get("updated_at")?),
                })
            }

            fn conflict_from_row(row: &Row) -> Result<ConflictEntry> {
                let resolution: Option<String> = row.try_get("resolution")?;
                let resolved_at: Option<i64> = row.try_get("resolved_at")?;
                let client_change: String = row.try_get("client_change")?;
                Ok(ConflictEntry {
                    id: row.try_get("id")?,
                    collection: row.try_get("collection")?,
                    record_id: row.try_get("record_id")?,
                    strategy: from_column(&row.try_get::<String, _>("strategy")?, true)?,
                    winner: from_column(&row.try_get::<String, _>("winner")?, true)?,
                    status: from_column(&row.try_get::<String, _>("status")?, true)?,
                    server_version: row.try_get::<i64, _>("server_version")? as u64,
                    server_data: from_column(&row.try_get::<String, _>("server_data")?, false)?,
                    client_change: from_column(&client_change, false)?,
                    sent_hlc: from_column::<SentHlc>(&client_change, false)?.sent_hlc,
                    resolution: resolution.map(|r| from_column(&r, true)).transpose()?,
                    created_at: rfc3339(row.try_get("created_at")?),
                    resolved_at: resolved_at.map(rfc3339),
                })
            }

            async fn load_record(tx: &mut Tx, user: &str, collection: &str, id: &str) -> Result<Option<RecordState>> {
                let sql = format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE user_id = $1 AND collection = $2 AND id = $3"
                );
                let row = sqlx::query(&sql).bind(user).bind(collection).bind(id).fetch_optional(&mut **tx).await?;
                row.map(|row| record_from_row(&row).map(|r| r.2)).transpose()
            }

            async fn write_record(
                tx: &mut Tx,
                user: &str,
                collection: &str,
                id: &str,
                state: &RecordState,
                now: i64,
            ) -> Result<()> {
                let seq = <$store>::next_seq(tx).await?;
                sqlx::query(
                    "INSERT INTO records (user_id, collection, id, version, data, deleted, hlc, device_id, \
                     run_base, fields, seq, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (user_id, collection, id) DO UPDATE SET version = excluded.version, \
                     data = excluded.data, deleted = excluded.deleted, hlc = excluded.hlc, \
                     device_id = excluded.device_id, run_base = excluded.run_base, fields = excluded.fields, \
                     seq = excluded.seq, updated_at = excluded.updated_at",
                )
                .bind(user)
                .bind(collection)
                .bind(id)
                .bind(state.version as i64)
                .bind(to_column(&state.data))
                .bind(state.deleted)
                .bind(state.hlc.to_string())
                .bind(&state.device_id)
                .bind(state.run_base as i64)
                .bind(to_column(&state.fields))
                .bind(seq)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn record_time(tx: &mut Tx, user: &str, collection: &str, id: &str) -> Result<i64> {
                let row = sqlx::query(
                    "SELECT updated_at FROM records WHERE user_id = $1 AND collection = $2 AND id = $3",
                )
                .bind(user)
                .bind(collection)
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
                Ok(row.try_get("updated_at")?)
            }

            /// Records a push (`pull` is `None`) or a pull: its cursor and its collections filter
            /// (JSON array text, `None` for every collection), which the device's status counts by.
            async fn touch_device(
                executor: &mut <$db as sqlx::Database>::Connection,
                user: &str,
                device: &str,
                now: i64,
                pull: Option<(i64, Option<String>)>,
            ) -> Result<()> {
                let (push, pull_at) = if pull.is_some() { (None, Some(now)) } else { (Some(now), None) };
                let (cursor, collections) = pull.map_or((None, None), |(c, f)| (Some(c), f));
                sqlx::query(
                    "INSERT INTO devices (user_id, device_id, first_seen, last_push, last_pull, last_cursor, last_collections) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, device_id) DO UPDATE SET \
                     last_push = COALESCE(excluded.last_push, devices.last_push), \
                     last_pull = COALESCE(excluded.last_pull, devices.last_pull), \
                     last_cursor = COALESCE(excluded.last_cursor, devices.last_cursor), \
                     last_collections = CASE WHEN excluded.last_pull IS NULL THEN devices.last_collections \
                     ELSE excluded.last_collections END",
                )
                .bind(user)
                .bind(device)
                .bind(now)
                .bind(push)
                .bind(pull_at)
                .bind(cursor)
                .bind(collections)
                .execute(executor)
                .await?;
                Ok(())
            }

            crate::store::sql_push::impl_push_batch!($store);
            crate::store::sql_supersede::impl_supersede!($store);
            crate::store::sql_impl::impl_trait!($store, $db, $migrator);
        }
    };
}

pub(super) use impl_change_store;
