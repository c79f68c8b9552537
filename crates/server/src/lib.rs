//! ferrysync-server: the sync REST API (axum + sqlx), SQLite by default, PostgreSQL with the
//! `postgres` feature.
//!
//! [`app`] builds the router; [`serve`] runs it until a shutdown signal, finishing requests in
//! flight. All conflict decisions come from `ferrysync_core::conflict::decide`; the server only
//! validates, persists through a [`ChangeStore`] and logs conflicts. The wire contract is in
//! `docs/protocol.md`.

pub mod auth;
pub mod config;
pub mod error;
mod json;
pub mod rate_limit;
mod routes;
pub mod state;
pub mod store;
mod time;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

pub use config::{Config, CorsOrigins};
pub use error::ApiError;
pub use state::AppState;
pub use store::ChangeStore;

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let mut router = Router::new()
        .nest("/api", routes::router())
        .with_state(state);
    if let Some(dir) = &config.static_dir {
        router = router.fallback_service(ServeDir::new(dir));
    }
    router
        .layer(DefaultBodyLimit::max(config.body_limit))
        // The fastest gzip level: a 1,000-record pull page still shrinks ~20x, and gzip's share of
        // the server's instructions fell from 11.5 % to 2.5 % (BENCHMARKS.md, "Server load").
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(cors(&config.cors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// The CORS layer for `origins`; same-origin requests need none.
fn cors(origins: &CorsOrigins) -> CorsLayer {
    let allow = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        ),
        _ => AllowOrigin::predicate(|origin, _| origin.to_str().is_ok_and(is_local_origin)),
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}

/// True for `http(s)://localhost`, `127.0.0.1` or `[::1]`, with any port.
fn is_local_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Serves `state` on `listener` until `shutdown` resolves, then finishes requests in flight and
/// closes the database.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let sweeper = tokio::spawn(forget_processed(
        store.clone(),
        state.config.processed_retention,
    ));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    store.close().await;
    served
}

/// Forgets superseded processed changes older than `retention`, at start and then every
/// `retention` (between a second and an hour), for as long as the server runs.
async fn forget_processed(store: Arc<dyn ChangeStore>, retention: Duration) {
    let every = retention.clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let before = time::unix_millis().saturating_sub(retention);
        match store.forget_processed(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("forgot {n} superseded processed changes"),
            Err(err) => tracing::warn!("forgetting superseded processed changes: {err}"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::is_local_origin;

    #[test]
    fn localhost_origins_only() {
        assert!(is_local_origin("http://localhost:5173"));
        assert!(is_local_origin("https://127.0.0.1"));
        assert!(is_local_origin("http://[::1]:8080"));
        assert!(!is_local_origin("http://localhost.evil.com"));
        assert!(!is_local_origin("https://example.com"));
    }
}
