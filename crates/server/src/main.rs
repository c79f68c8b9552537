//! `ferrysync-server`: config, tracing, database, migrations, serve.

use std::process::ExitCode;

use ferrysync_server::{serve, shutdown_signal, store, AppState, Config};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a push allocates per change and per field (parsed JSON,
/// result rows, statement arguments), and glibc's allocator spent a quarter of the server's
/// instructions on it (BENCHMARKS.md, "Server load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1), |var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let store = store::open(&config.database).await?;
    let bind = config.bind;
    let state = AppState::new(store, config).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "ferrysync-server listening");
    serve(listener, state, shutdown_signal()).await?;
    Ok(())
}
