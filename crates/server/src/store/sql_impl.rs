//! The `ChangeStore` methods of the shared SQL implementation (see `sql.rs`).

/// Expands to `impl ChangeStore for $store` inside the module `impl_change_store!` generates.
macro_rules! impl_trait {
    ($store:ty, $db:ty, $migrator:expr) => {
        #[async_trait]
        impl ChangeStore for $store {
            async fn migrate(&self) -> Result<()> {
                $migrator.run(&self.pool).await?;
                Ok(())
            }

            async fn secret(&self, candidate: &str) -> Result<String> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ('token_secret', $1) ON CONFLICT (key) DO NOTHING",
                )
                .bind(candidate)
                .execute(&self.pool)
                .await?;
                let row = sqlx::query("SELECT value FROM settings WHERE key = 'token_secret'")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("value")?)
            }

            async fn create_user(&self, id: &str, username: &str, password_hash: &str) -> Result<bool> {
                let _guard = self.write_guard().await;
                let done = sqlx::query(
                    "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (username) DO NOTHING",
                )
                .bind(id)
                .bind(username)
                .bind(password_hash)
                .bind(unix_millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn find_user(&self, username: &str) -> Result<Option<(String, String)>> {
                let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| Ok((row.try_get("id")?, row.try_get("password_hash")?))).transpose()
            }

            async fn push(&self, user: &str, device: &str, items: Vec<PushItem>) -> Result<Vec<ChangeResult>> {
                let now = unix_millis();
                let _guard = self.write_guard().await;
                let mut tx: Tx = self.pool.begin().await?;
                <$store>::lock_user(&mut tx, user).await?;
                touch_device(&mut tx, user, device, now, None).await?;
                let results = push_batch(&mut tx, user, device, &items, now).await?;
                tx.commit().await?;
                Ok(results)
            }

            async fn pull(&self, user: &str, device: &str, query: PullQuery) -> Result<PullPage> {
                let mut filter = "user_id = $1 AND seq > $2".to_owned();
                let mut next = 3;
                if query.since.is_some() {
                    filter.push_str(&format!(" AND updated_at >= ${next}"));
                    next += 1;
                }
                let collections = query.collections.clone().unwrap_or_default();
                if query.collections.is_some() {
                    filter.push_str(&collection_in(next, collections.len()));
                    next += collections.len();
                }
                // Resolutions are written under RESOLVER_DEVICE: a device of that name is never
                // left without them.
                let exclude = query.exclude_own && device != RESOLVER_DEVICE;
                let sql = if exclude {
                    // The page leaves the device's rows out, but a page that ends the scan must
                    // move the cursor past them too: to the highest seq the filter matches. Both
                    // come from this one statement, so from one snapshot (PostgreSQL's READ
                    // COMMITTED takes one per statement): a write committing meanwhile is either
                    // in both or in neither, never counted by the cursor but missing from the
                    // page. `t` always has its one row, so an empty page still yields `top`.
                    format!(
                        "SELECT p.*, t.top FROM \
                         (SELECT (SELECT seq FROM records WHERE {filter} ORDER BY seq DESC LIMIT 1) AS top) t \
                         LEFT JOIN (SELECT {RECORD_COLUMNS}, seq FROM records WHERE {filter} AND device_id <> ${next} \
                         ORDER BY seq LIMIT ${}) p ON 1 = 1 ORDER BY p.seq",
                        next + 1
                    )
                } else {
                    format!("SELECT {RECORD_COLUMNS}, seq FROM records WHERE {filter} ORDER BY seq LIMIT ${next}")
                };
                let mut q = sqlx::query(&sql).bind(user).bind(query.after);
                if let Some(since) = query.since {
                    q = q.bind(since);
                }
                for collection in &collections {
                    q = q.bind(collection);
                }
                if exclude {
                    q = q.bind(device);
                }
                // Rows are read as they come, and the page ends early once its records' data
                // reaches MAX_PAGE_BYTES: large records make smaller pages, never one of up to a
                // thousand MiB-sized records (nor a read of them all for each such page).
                let mut rows = q.bind(i64::from(query.limit) + 1).fetch(&self.pool);
                let (mut top, mut cursor, mut bytes) = (None, query.after, 0);
                let mut records = Vec::new();
                let mut has_more = false;
                while let Some(row) = rows.try_next().await? {
                    if exclude {
                        top = row.try_get::<Option<i64>, _>("top")?;
                    }
                    // Only the empty page's single row has no seq (`p` joined nothing).
                    let Some(seq) = row.try_get::<Option<i64>, _>("seq")? else { continue };
                    if records.len() == query.limit as usize || bytes >= MAX_PAGE_BYTES {
                        has_more = true;
                        break;
                    }
                    let record = pulled_from_row(&row)?;
                    bytes += record.data.get().len();
                    cursor = seq;
                    records.push(record);
                }
                drop(rows);
                if !has_more {
                    cursor = cursor.max(top.unwrap_or(cursor));
                }
                let _guard = self.write_guard().await;
                let mut conn = self.pool.acquire().await?;
                let filter = query.collections.as_ref().map(to_column);
                touch_device(&mut conn, user, device, unix_millis(), Some((cursor, filter))).await?;
                Ok(PullPage { records, cursor, has_more })
            }

            async fn conflicts(
                &self,
                user: &str,
                status: Option<ConflictStatus>,
                device: Option<&str>,
            ) -> Result<Vec<ConflictEntry>> {
                let sql = format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE user_id = $1 AND ($2 = '' OR status = $2) \
                     AND ($3 = '' OR device_id = $3) ORDER BY created_at DESC, id"
                );
                let status = status.map(enum_text).unwrap_or_default();
                let device = device.unwrap_or_default();
                let rows = sqlx::query(&sql).bind(user).bind(status).bind(device).fetch_all(&self.pool).await?;
                rows.iter().map(conflict_from_row).collect()
            }

            async fn resolve(
                &self,
                user: &str,
                conflict_id: &str,
                resolution: Resolution,
                data: Option<Value>,
                remote_version: Option<u64>,
            ) -> Result<(ConflictEntry, ServerRecord)> {
                let now = unix_millis();
                let _guard = self.write_guard().await;
                let mut tx: Tx = self.pool.begin().await?;
                <$store>::lock_user(&mut tx, user).await?;
                let sql = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1 AND user_id = $2");
                let row = sqlx::query(&sql).bind(conflict_id).bind(user).fetch_optional(&mut *tx).await?;
                let mut entry = conflict_from_row(&row.ok_or(ApiError::NotFound("conflict"))?)?;
                if entry.status != ConflictStatus::Open {
                    return Err(ApiError::AlreadyResolved);
                }
                let (collection, id) = (entry.collection.clone(), entry.record_id.clone());
                let current = load_record(&mut tx, user, &collection, &id)
                    .await?
                    .ok_or_else(|| ApiError::Internal("conflict names a missing record".to_owned()))?;
                // Only a resolution that writes can replace a version nobody saw.
                match remote_version {
                    Some(seen) if resolution != Resolution::Server && seen != current.version => {
                        return Err(ApiError::ConflictOutdated { seen, current: current.version });
                    }
                    _ => {}
                }
                let client = &entry.client_change;
                let written = match resolution {
                    Resolution::Server => None,
                    Resolution::Client if client.deleted => Some((Value::Null, true)),
                    Resolution::Client => Some(((*client.data).clone(), false)),
                    Resolution::Merged => Some((data.unwrap_or(Value::Null), false)),
                };
                let (state, updated_at) = match written {
                    None => {
                        let updated_at = record_time(&mut tx, user, &collection, &id).await?;
                        (current, updated_at)
                    }
                    Some((data, deleted)) => {
                        // The resolution is an ordinary write on top of the current version, so
                        // `decide` versions it and every device pulls it.
                        let change = Change {
                            id: id.clone(),
                            change_id: format!("resolve:{conflict_id}"),
                            base_version: Some(current.version),
                            hlc: HlcClock::resume(RESOLVER_DEVICE, &current.hlc).now(now as u64),
                            // Not the resolving device's id: a pull that leaves out a device's
                            // own writes still brings it the resolution.
                            device_id: RESOLVER_DEVICE.to_owned(),
                            deleted,
                            changed_fields: Vec::new(),
                            data: data.into(),
                        };
                        let Decision::Write { state, .. } = decide(Some(&current), &change, &CollectionPolicy::default())
                        else {
                            return Err(ApiError::Internal("resolution was not written".to_owned()));
                        };
                        write_record(&mut tx, user, &collection, &id, &state, now).await?;
                        (state, now)
                    }
                };
                let winner = match resolution {
                    Resolution::Server => Winner::Server,
                    Resolution::Client => Winner::Client,
                    Resolution::Merged => Winner::Merged,
                };
                sqlx::query(
                    "UPDATE conflicts SET status = $1, winner = $2, resolution = $3, resolved_at = $4 \
                     WHERE id = $5 AND user_id = $6",
                )
                .bind(enum_text(ConflictStatus::Resolved))
                .bind(enum_text(winner))
                .bind(enum_text(resolution))
                .bind(now)
                .bind(conflict_id)
                .bind(user)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                entry.status = ConflictStatus::Resolved;
                entry.winner = winner;
                entry.resolution = Some(resolution);
                entry.resolved_at = Some(rfc3339(now));
                Ok((entry, server_record(&collection, &id, &state, updated_at)))
            }

            async fn device_status(&self, user: &str, device: &str) -> Result<Option<DeviceStatus>> {
                let row = sqlx::query(
                    "SELECT first_seen, last_push, last_pull, last_cursor, last_collections FROM devices \
                     WHERE user_id = $1 AND device_id = $2",
                )
                .bind(user)
                .bind(device)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let last_push: Option<i64> = row.try_get("last_push")?;
                let last_pull: Option<i64> = row.try_get("last_pull")?;
                let last_cursor: Option<i64> = row.try_get("last_cursor")?;
                // What the device's next pull brings: only the collections its last pull asked for.
                let filter: Option<Vec<String>> = row
                    .try_get::<Option<String>, _>("last_collections")?
                    .map(|text| from_column(&text, false))
                    .transpose()?;
                let mut sql = "SELECT COUNT(*) AS n FROM records WHERE user_id = $1 AND seq > $2 AND device_id <> $3".to_owned();
                if let Some(names) = &filter {
                    sql.push_str(&collection_in(4, names.len()));
                }
                let mut count = sqlx::query(&sql)
                    .bind(user)
                    .bind(last_cursor.unwrap_or(0))
                    .bind(device);
                for name in filter.iter().flatten() {
                    count = count.bind(name);
                }
                let pending: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
                let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM conflicts WHERE user_id = $1 AND status = 'open'")
                    .bind(user)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                let health = if open > 0 {
                    DeviceHealth::Conflicts
                } else if pending > 0 {
                    DeviceHealth::Behind
                } else {
                    DeviceHealth::Ok
                };
                Ok(Some(DeviceStatus {
                    device_id: device.to_owned(),
                    first_seen_at: rfc3339(row.try_get("first_seen")?),
                    last_sync_at: last_push.max(last_pull).map(rfc3339),
                    last_push_at: last_push.map(rfc3339),
                    last_pull_at: last_pull.map(rfc3339),
                    last_cursor: last_cursor.map(|c| c.to_string()),
                    pending: pending as u64,
                    open_conflicts: open as u64,
                    health,
                }))
            }

            async fn record(&self, user: &str, collection: &str, id: &str) -> Result<Option<PulledRecord>> {
                let sql = format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE user_id = $1 AND collection = $2 AND id = $3"
                );
                let row = sqlx::query(&sql)
                    .bind(user)
                    .bind(collection)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| pulled_from_row(&row)).transpose()
            }

            async fn forget_processed(&self, before: i64) -> Result<u64> {
                // In chunks, each a short write of its own, so that pushes go on meanwhile.
                const CHUNK: i64 = 5_000;
                let mut forgotten = 0;
                loop {
                    let _guard = self.write_guard().await;
                    let done = sqlx::query(
                        "DELETE FROM processed_changes WHERE (user_id, change_id) IN ( \
                         SELECT old.user_id, old.change_id FROM processed_changes AS old \
                         WHERE old.processed_at < $1 AND EXISTS ( \
                         SELECT 1 FROM processed_changes AS newer WHERE newer.user_id = old.user_id \
                         AND newer.device_id = old.device_id AND newer.collection = old.collection \
                         AND newer.record_id = old.record_id AND newer.processed_at > old.processed_at) \
                         LIMIT $2)",
                    )
                    .bind(before)
                    .bind(CHUNK)
                    .execute(&self.pool)
                    .await?;
                    forgotten += done.rows_affected();
                    if done.rows_affected() < CHUNK as u64 {
                        return Ok(forgotten);
                    }
                }
            }

            async fn ping(&self) -> bool {
                sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}

pub(crate) use impl_trait;
