//! Closing the conflicts a device's newer change supersedes (see `supersede` below), for every
//! backend: expanded inside `impl_change_store!`'s module, as `impl_push_batch!` is.

/// Implements `supersede(tx, user, device, processed, now)` inside `impl_change_store!`'s
/// module; `push_batch` calls it.
macro_rules! impl_supersede {
    ($store:ty) => {
        /// Closes (`superseded`) the conflicts `device` left open on records that `processed`
        /// changed again: the device edited such a record instead of resolving its conflict, so
        /// it no longer lists that conflict, and the newer change was decided on its own.
        async fn supersede(
            tx: &mut Tx,
            user: &str,
            device: &str,
            processed: &[crate::store::sql_push::Processed],
            now: i64,
        ) -> Result<()> {
            if processed.is_empty() {
                return Ok(());
            }
            let m = <$store>::PARAM;
            let sql = format!(
                "SELECT id, collection, record_id FROM conflicts WHERE user_id = {} AND status = {} AND device_id = {}",
                placeholders(m, 1, 1, 1),
                placeholders(m, 2, 1, 1),
                placeholders(m, 3, 1, 1)
            );
            let open = sqlx::query(&sql)
                .bind(user)
                .bind(enum_text(ConflictStatus::Open))
                .bind(device)
                .fetch_all(&mut **tx)
                .await?;
            if open.is_empty() {
                return Ok(());
            }
            let changed: std::collections::HashSet<(&str, &str)> = processed
                .iter()
                .map(|p| (p.collection.as_str(), p.record_id.as_str()))
                .collect();
            let mut ids = Vec::new();
            for row in &open {
                let collection: String = row.try_get("collection")?;
                let record: String = row.try_get("record_id")?;
                if changed.contains(&(collection.as_str(), record.as_str())) {
                    ids.push(row.try_get::<String, _>("id")?);
                }
            }
            for chunk in ids.chunks(MAX_BINDS - 3) {
                let sql = format!(
                    "UPDATE conflicts SET status = {}, resolved_at = {} WHERE user_id = {} AND id IN ({})",
                    placeholders(m, 1, 1, 1),
                    placeholders(m, 2, 1, 1),
                    placeholders(m, 3, 1, 1),
                    placeholders(m, 4, chunk.len(), 1)
                );
                let mut q = sqlx::query(&sql)
                    .bind(enum_text(ConflictStatus::Superseded))
                    .bind(now)
                    .bind(user);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.execute(&mut **tx).await?;
            }
            Ok(())
        }
    };
}

pub(super) use impl_supersede;
