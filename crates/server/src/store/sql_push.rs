//! A push as a handful of statements: the batch's current records and processed `changeId`s
//! are read with one query each (per chunk), `decide` runs per change in memory, and the
//! records, processed ids and conflicts are written with multi-row `INSERT`s.
//!
//! The in-memory pass keeps the semantics of applying the changes one by one: a record changed
//! twice in one push sees its own earlier write, and a `changeId` repeated in one push is a
//! duplicate of its first occurrence. A record written twice is stored once, at its final
//! state, with the sequence number of its last write (sequence numbers are drawn in write
//! order, so pulls still see writes in the order they were made).

use std::collections::HashMap;

use ferrysync_core::conflict::{decide, ConflictNote, Decision, RecordState};
use ferrysync_core::protocol::{Change, ChangeResult, ConflictStatus, ResultStatus};
use ferrysync_core::Hlc;
use serde_json::Value;

use super::sql::{enum_text, server_record, to_column};
use super::PushItem;
use crate::error::{ApiError, Result};

/// Bind parameters per statement: SQLite's limit (`SQLITE_MAX_VARIABLE_NUMBER`, 32766 since
/// 3.32; PostgreSQL allows 65535). Multi-row statements are chunked to stay under it.
pub(super) const MAX_BINDS: usize = 32_766;

/// `($from, $from+1, …)` placeholders for `rows` rows of `cols` columns, comma-separated, with
/// `mark` before each number; `?` stands alone (positional, bound in order).
///
/// SQLite gets plain `?`: for a named (`$N`) or numbered (`?N`) parameter, SQLite's name lookup
/// and sqlx's per-parameter `sqlite3_bind_parameter_name` each scan the list of all parameters,
/// which made a 12,000-parameter statement cost ~200 ms instead of a few.
pub(super) fn placeholders(mark: char, from: usize, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 6);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        if cols > 1 {
            out.push('(');
        }
        for col in 0..cols {
            if col > 0 {
                out.push_str(", ");
            }
            out.push(mark);
            if mark != '?' {
                out.push_str(&(from + row * cols + col).to_string());
            }
        }
        if cols > 1 {
            out.push(')');
        }
    }
    out
}

/// A row for the conflict log.
pub(super) struct ConflictRow {
    pub(super) id: String,
    pub(super) collection: String,
    pub(super) record_id: String,
    pub(super) strategy: String,
    pub(super) winner: String,
    pub(super) status: String,
    pub(super) server_version: i64,
    pub(super) server_data: String,
    pub(super) client_change: String,
}

/// A processed change as `processed_changes` keeps it.
pub(super) struct Processed {
    pub(super) change_id: String,
    pub(super) collection: String,
    pub(super) record_id: String,
    /// The result as stored JSON.
    pub(super) result: String,
}

/// Everything a push writes, decided in memory.
#[derive(Default)]
pub(super) struct Plan {
    /// One result per item, in order.
    pub(super) results: Vec<ChangeResult>,
    /// Final state of each written record, in order of its last write.
    pub(super) records: Vec<((String, String), RecordState)>,
    /// New processed `changeId`s with their record and result.
    pub(super) processed: Vec<Processed>,
    /// New conflict log rows.
    pub(super) conflicts: Vec<ConflictRow>,
}

/// A record as loaded (or as written earlier in this push), with its `updated_at`.
pub(super) type Current = HashMap<(String, String), (RecordState, i64)>;

/// Runs `decide` for every item against `current` (updated as writes happen) and `processed`
/// (earlier results by `changeId`), as if the items were applied one after another.
pub(super) fn plan(
    items: &[PushItem],
    mut current: Current,
    mut processed: HashMap<String, ChangeResult>,
    now: i64,
) -> Result<Plan> {
    let mut plan = Plan::default();
    // Key -> position in `written` of its latest write (older positions become `None`).
    let mut last_write: HashMap<(String, String), usize> = HashMap::new();
    let mut written: Vec<Option<(String, String)>> = Vec::new();
    for item in items {
        if let Some(earlier) = processed.get(&item.change.change_id) {
            let mut result = earlier.clone();
            result.status = ResultStatus::Skipped;
            result.reason = Some("duplicate".to_owned());
            plan.results.push(result);
            continue;
        }
        let key = (item.collection.clone(), item.change.id.clone());
        let (result, write) = apply(item, current.get(&key), now, &mut plan.conflicts)?;
        if let Some(state) = write {
            if let Some(old) = last_write.insert(key.clone(), written.len()) {
                written[old] = None;
            }
            written.push(Some(key.clone()));
            current.insert(key, (state, now));
        }
        plan.processed.push(Processed {
            change_id: item.change.change_id.clone(),
            collection: item.collection.clone(),
            record_id: item.change.id.clone(),
            result: to_column(&result),
        });
        processed.insert(item.change.change_id.clone(), result.clone());
        plan.results.push(result);
    }
    plan.records = written
        .into_iter()
        .flatten()
        .filter_map(|key| current.remove(&key).map(|(state, _)| (key, state)))
        .collect();
    Ok(plan)
}

/// One change against the record's current state: its result and the state to write.
fn apply(
    item: &PushItem,
    current: Option<&(RecordState, i64)>,
    now: i64,
    conflicts: &mut Vec<ConflictRow>,
) -> Result<(ChangeResult, Option<RecordState>)> {
    let PushItem {
        collection,
        change,
        policy,
        sent_hlc,
    } = item;
    let mut result = ChangeResult::new(
        collection.clone(),
        change.id.clone(),
        change.change_id.clone(),
        ResultStatus::Applied,
    );
    let mut log = |current: &RecordState, note: &ConflictNote| {
        let id = uuid::Uuid::new_v4().to_string();
        let status = if note.open {
            ConflictStatus::Open
        } else {
            ConflictStatus::Auto
        };
        conflicts.push(ConflictRow {
            id: id.clone(),
            collection: collection.clone(),
            record_id: change.id.clone(),
            strategy: enum_text(note.strategy),
            winner: enum_text(note.winner),
            status: enum_text(status),
            server_version: current.version as i64,
            server_data: to_column(&current.data),
            client_change: client_change(change, sent_hlc.as_ref()),
        });
        id
    };
    match decide(current.map(|c| &c.0), change, policy) {
        Decision::Write { state, conflict } => {
            result.version = Some(state.version);
            if let (Some(note), Some((current, _))) = (conflict, current) {
                result.status = ResultStatus::Conflict;
                result.strategy = Some(note.strategy);
                result.winner = Some(note.winner);
                result.conflict_id = Some(log(current, &note));
                result.record = Some(server_record(collection, &change.id, &state, now));
            } else if sent_hlc.is_some() || !data_as_asked(&state, change) {
                // A field policy changed the data, or the stamp was moved: the device must see
                // what was stored.
                result.record = Some(server_record(collection, &change.id, &state, now));
            }
            Ok((result, Some(state)))
        }
        Decision::Keep { conflict } => {
            let (current, updated_at) = current.ok_or_else(|| {
                ApiError::Internal("decide kept a record that does not exist".to_owned())
            })?;
            result.status = ResultStatus::Conflict;
            result.version = Some(current.version);
            result.strategy = Some(conflict.strategy);
            result.winner = Some(conflict.winner);
            result.conflict_id = Some(log(current, &conflict));
            result.record = Some(server_record(collection, &change.id, current, *updated_at));
            Ok((result, None))
        }
    }
}

/// A change as its conflict's log entry keeps it: with `sentHlc`, the stamp the device sent,
/// when the server moved it.
fn client_change(change: &Change, sent_hlc: Option<&Hlc>) -> String {
    let Some(sent) = sent_hlc else {
        return to_column(change);
    };
    let mut value = serde_json::to_value(change).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("sentHlc".to_owned(), Value::String(sent.to_string()));
    }
    to_column(&value)
}

/// True when the stored data is what the change asked for (`null` for a delete).
fn data_as_asked(state: &RecordState, change: &Change) -> bool {
    if change.deleted {
        state.data.is_null()
    } else {
        state.data == *change.data
    }
}

/// Implements `push_batch(tx, user, device, items, now)` inside `impl_change_store!`'s module.
macro_rules! impl_push_batch {
    ($store:ty) => {
        /// The records at `keys` (grouped by collection, chunked), with their `updated_at`.
        async fn load_records(
            tx: &mut Tx,
            user: &str,
            items: &[PushItem],
        ) -> Result<crate::store::sql_push::Current> {
            let m = <$store>::PARAM;
            let mut by_collection: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for item in items {
                by_collection.entry(&item.collection).or_default().push(&item.change.id);
            }
            let mut current = crate::store::sql_push::Current::new();
            for (collection, ids) in by_collection {
                for chunk in ids.chunks(MAX_BINDS - 2) {
                    let sql = format!(
                        "SELECT {RECORD_COLUMNS} FROM records WHERE user_id = {} AND collection = {} AND id IN ({})",
                        placeholders(m, 1, 1, 1),
                        placeholders(m, 2, 1, 1),
                        placeholders(m, 3, chunk.len(), 1)
                    );
                    let mut q = sqlx::query(&sql).bind(user).bind(collection);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for row in q.fetch_all(&mut **tx).await? {
                        let (collection, id, state, updated_at) = record_from_row(&row)?;
                        current.insert((collection, id), (state, updated_at));
                    }
                }
            }
            Ok(current)
        }

        /// Earlier results of the batch's `changeId`s.
        async fn load_processed(
            tx: &mut Tx,
            user: &str,
            items: &[PushItem],
        ) -> Result<std::collections::HashMap<String, ChangeResult>> {
            let m = <$store>::PARAM;
            let ids: Vec<&str> = items.iter().map(|i| i.change.change_id.as_str()).collect();
            let mut processed = std::collections::HashMap::new();
            for chunk in ids.chunks(MAX_BINDS - 1) {
                let sql = format!(
                    "SELECT change_id, result FROM processed_changes WHERE user_id = {} AND change_id IN ({})",
                    placeholders(m, 1, 1, 1),
                    placeholders(m, 2, chunk.len(), 1)
                );
                let mut q = sqlx::query(&sql).bind(user);
                for id in chunk {
                    q = q.bind(*id);
                }
                for row in q.fetch_all(&mut **tx).await? {
                    let result: ChangeResult = from_column(&row.try_get::<String, _>("result")?, false)?;
                    processed.insert(row.try_get("change_id")?, result);
                }
            }
            Ok(processed)
        }

        /// Applies `items` in one transaction `tx` (already locked for `user`).
        async fn push_batch(
            tx: &mut Tx,
            user: &str,
            device: &str,
            items: &[PushItem],
            now: i64,
        ) -> Result<Vec<ChangeResult>> {
            let m = <$store>::PARAM;
            let current = load_records(tx, user, items).await?;
            let processed = load_processed(tx, user, items).await?;
            let plan = crate::store::sql_push::plan(items, current, processed, now)?;
            let seqs = <$store>::next_seqs(tx, plan.records.len()).await?;
            const RECORD_COLS: usize = 12;
            let records: Vec<_> = plan.records.iter().zip(seqs).collect();
            for chunk in records.chunks(MAX_BINDS / RECORD_COLS) {
                let sql = format!(
                    "INSERT INTO records (user_id, collection, id, version, data, deleted, hlc, device_id, \
                     run_base, fields, seq, updated_at) VALUES {} \
                     ON CONFLICT (user_id, collection, id) DO UPDATE SET version = excluded.version, \
                     data = excluded.data, deleted = excluded.deleted, hlc = excluded.hlc, \
                     device_id = excluded.device_id, run_base = excluded.run_base, fields = excluded.fields, \
                     seq = excluded.seq, updated_at = excluded.updated_at",
                    placeholders(m, 1, chunk.len(), RECORD_COLS)
                );
                let mut q = sqlx::query(&sql);
                for (((collection, id), state), seq) in chunk {
                    q = q
                        .bind(user)
                        .bind(collection.as_str())
                        .bind(id.as_str())
                        .bind(state.version as i64)
                        .bind(to_column(&state.data))
                        .bind(state.deleted)
                        .bind(state.hlc.to_string())
                        .bind(state.device_id.as_str())
                        .bind(state.run_base as i64)
                        .bind(to_column(&state.fields))
                        .bind(*seq)
                        .bind(now);
                }
                q.execute(&mut **tx).await?;
            }
            const PROCESSED_COLS: usize = 7;
            for chunk in plan.processed.chunks(MAX_BINDS / PROCESSED_COLS) {
                let sql = format!(
                    "INSERT INTO processed_changes (user_id, change_id, result, device_id, collection, \
                     record_id, processed_at) VALUES {}",
                    placeholders(m, 1, chunk.len(), PROCESSED_COLS)
                );
                let mut q = sqlx::query(&sql);
                for p in chunk {
                    q = q
                        .bind(user)
                        .bind(p.change_id.as_str())
                        .bind(p.result.as_str())
                        .bind(device)
                        .bind(p.collection.as_str())
                        .bind(p.record_id.as_str())
                        .bind(now);
                }
                q.execute(&mut **tx).await?;
            }
            // Before this push's own conflicts are written: they are the newest.
            supersede(tx, user, device, &plan.processed, now).await?;
            const CONFLICT_COLS: usize = 12;
            for chunk in plan.conflicts.chunks(MAX_BINDS / CONFLICT_COLS) {
                let sql = format!(
                    "INSERT INTO conflicts (id, user_id, collection, record_id, strategy, winner, status, \
                     server_version, server_data, client_change, created_at, device_id) VALUES {}",
                    placeholders(m, 1, chunk.len(), CONFLICT_COLS)
                );
                let mut q = sqlx::query(&sql);
                for c in chunk {
                    q = q
                        .bind(c.id.as_str())
                        .bind(user)
                        .bind(c.collection.as_str())
                        .bind(c.record_id.as_str())
                        .bind(c.strategy.as_str())
                        .bind(c.winner.as_str())
                        .bind(c.status.as_str())
                        .bind(c.server_version)
                        .bind(c.server_data.as_str())
                        .bind(c.client_change.as_str())
                        .bind(now)
                        .bind(device);
                }
                q.execute(&mut **tx).await?;
            }
            Ok(plan.results)
        }
    };
}

pub(super) use impl_push_batch;

#[cfg(test)]
mod tests;
