//! `AppState`: what every handler shares.

use std::sync::Arc;

use crate::auth::{generate_secret, Tokens};
use crate::config::Config;
use crate::error::Result;
use crate::rate_limit::RateLimiter;
use crate::store::ChangeStore;

/// Shared handler state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn ChangeStore>,
    /// Token signer.
    pub tokens: Tokens,
    /// Per-user request rate limit.
    pub limiter: Arc<RateLimiter>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `store`; the token secret is `config.secret`, else the one kept in the
    /// database (generated and stored on first start).
    pub async fn new(store: Arc<dyn ChangeStore>, config: Config) -> Result<Self> {
        let secret = match &config.secret {
            Some(secret) => secret.clone(),
            None => store.secret(&generate_secret()).await?,
        };
        Ok(Self {
            store,
            tokens: Tokens::new(&secret, config.token_ttl.as_secs()),
            limiter: Arc::new(RateLimiter::new(config.rate_limit, config.rate_burst)),
            config: Arc::new(config),
        })
    }
}
