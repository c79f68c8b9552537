//! Integration tests over real HTTP: every test body runs against a server on an ephemeral
//! loopback port backed by SQLite, and again backed by PostgreSQL when `FERRYSYNC_TEST_PG_URL`
//! is set (each test in its own schema); without it the PostgreSQL runs print that they were
//! skipped.

mod api {
    pub(crate) mod abuse;
    pub(crate) mod auth;
    pub(crate) mod clocks;
    pub(crate) mod common;
    pub(crate) mod conflict_lifecycle;
    pub(crate) mod conflicts;
    pub(crate) mod durability;
    pub(crate) mod own_writes;
    pub(crate) mod processed;
    pub(crate) mod records;
    pub(crate) mod status;
    pub(crate) mod sync;
    pub(crate) mod text;
}

/// Generates `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per case.
macro_rules! backend_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = crate::api::common::Backend::sqlite();
                    crate::api::$module::$name(backend.clone()).await;
                    backend.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(backend) = crate::api::common::Backend::postgres().await else { return };
                    crate::api::$module::$name(backend.clone()).await;
                    backend.cleanup().await;
                }
            )*
        }
    };
}

backend_tests! {
    auth::register_and_login,
    auth::missing_expired_and_forged_tokens,
    auth::secret_persists_across_restarts,
    sync::push_then_pull_on_another_device,
    sync::idempotent_retry_returns_earlier_outcome,
    processed::superseded_change_ids_are_forgotten_after_the_retention,
    processed::the_server_forgets_superseded_change_ids_by_itself,
    records::one_record_is_served_as_it_is_now,
    sync::lost_response_then_edit_is_not_a_conflict,
    sync::tombstones_are_pulled_and_conflict_like_edits,
    sync::paging_through_2500_records,
    sync::large_records_make_smaller_pages,
    sync::full_sync_pushes_then_pulls,
    status::device_status_tracks_pushes_and_pulls,
    status::device_status_counts_only_the_collections_the_device_pulls,
    sync::first_pull_by_timestamp_and_collection_filter,
    conflicts::server_wins,
    conflicts::client_wins,
    conflicts::newest_wins_both_ways,
    conflicts::merge_combines_fields,
    conflicts::field_policy_keeps_the_higher_score,
    conflicts::manual_conflict_resolved_by_client_merged_and_server,
    conflict_lifecycle::a_newer_change_supersedes_its_devices_open_conflict,
    conflict_lifecycle::a_resolution_against_an_outdated_version_is_refused,
    conflicts::users_are_isolated,
    abuse::malformed_json_wrong_types_missing_fields,
    abuse::bad_items_are_rejected_alone,
    text::nul_in_keys_is_refused_alike_on_both_backends,
    text::a_lone_surrogate_rejects_its_item_alone_by_its_id,
    clocks::stamps_are_kept_within_the_clock_bound,
    abuse::oversized_bodies_and_batches,
    abuse::rate_limit_answers_429_with_retry_after,
    abuse::health_openapi_cors_gzip_static,
    durability::concurrent_pushes_are_never_skipped_by_pulls,
    durability::concurrent_pushes_are_never_skipped_by_pulls_without_own_writes,
    durability::graceful_shutdown_finishes_requests_in_flight,
    own_writes::own_writes_are_left_out_on_request_and_the_cursor_passes_them,
    own_writes::interleaved_writes_page_exactly_the_other_devices_records,
    own_writes::what_the_server_wrote_differently_still_reaches_the_writer,
}

/// SQLite only: PostgreSQL has no such log to copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_reach_the_database_file_in_the_background() {
    let backend = api::common::Backend::sqlite();
    api::durability::writes_reach_the_database_file_in_the_background(backend.clone()).await;
    backend.cleanup().await;
}
