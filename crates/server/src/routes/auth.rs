//! `POST /api/auth/register` and `POST /api/auth/login`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use ferrysync_core::protocol::{AuthResponse, Credentials, MIN_PASSWORD_LEN};

use crate::auth::{hash_password, verify_password};
use crate::error::{ApiError, Result};
use crate::json::Body;
use crate::state::AppState;
use crate::time::rfc3339;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
}

fn token_for(state: &AppState, user_id: String) -> AuthResponse {
    let (token, expires) = state.tokens.issue(&user_id);
    AuthResponse {
        token,
        user_id,
        expires_at: rfc3339(expires as i64 * 1000),
    }
}

async fn register(
    State(state): State<AppState>,
    Body(creds): Body<Credentials>,
) -> Result<(StatusCode, Json<AuthResponse>)> {
    let username = creds.username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(ApiError::InvalidRequest(
            "username must be 1 to 64 characters".to_owned(),
        ));
    }
    super::no_nul("username", username)?;
    if creds.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::InvalidRequest(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let password = creds.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))??;
    let user_id = uuid::Uuid::new_v4().to_string();
    if !state.store.create_user(&user_id, username, &hash).await? {
        return Err(ApiError::UsernameTaken);
    }
    Ok((StatusCode::CREATED, Json(token_for(&state, user_id))))
}

/// Hash checked when the user does not exist, so both failures take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                          kJ0xwz3B1bo0jD6Fo6aCqE1I9m4a3m0qy0X0mC1nq2Q";

async fn login(
    State(state): State<AppState>,
    Body(creds): Body<Credentials>,
) -> Result<Json<AuthResponse>> {
    super::no_nul("username", &creds.username)?;
    // Guessing passwords is rate-limited per username, like sync requests are per user.
    state
        .limiter
        .check(&format!("login:{}", creds.username.trim()))?;
    let found = state.store.find_user(creds.username.trim()).await?;
    let (user_id, hash) = found.unwrap_or_else(|| (String::new(), DUMMY_HASH.to_owned()));
    let password = creds.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    if !ok || user_id.is_empty() {
        return Err(ApiError::BadCredentials);
    }
    Ok(Json(token_for(&state, user_id)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        assert!(argon2::password_hash::PasswordHash::new(super::DUMMY_HASH).is_ok());
        assert!(!crate::auth::verify_password("anything", super::DUMMY_HASH));
    }
}
