//! Passwords (argon2), signed expiring tokens (HMAC-SHA256) and the [`User`] extractor.
//!
//! A token is `base64url(userId "." expiresUnixSecs) "." base64url(hmac)`. The secret comes
//! from the configuration, or is generated on first start and kept in the database, so tokens
//! survive restarts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ApiError, Result};
use crate::state::AppState;
use crate::time::unix_secs;

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    secret: Vec<u8>,
    ttl_secs: u64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl_secs`.
    pub fn new(secret: &str, ttl_secs: u64) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            ttl_secs,
        }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("hmac takes any key length");
        mac.update(payload);
        mac
    }

    /// A new token for `user_id` and its expiry (Unix seconds).
    pub fn issue(&self, user_id: &str) -> (String, u64) {
        let expires = unix_secs() + self.ttl_secs;
        let payload = format!("{user_id}.{expires}");
        let sig = self.mac(payload.as_bytes()).finalize().into_bytes();
        let token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        );
        (token, expires)
    }

    /// The user id a valid, unexpired token was issued to.
    pub fn verify(&self, token: &str) -> Result<String> {
        let forged = || ApiError::Unauthorized("invalid token");
        let (payload, sig) = token.split_once('.').ok_or_else(forged)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| forged())?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| forged())?;
        self.mac(&payload)
            .verify_slice(&sig)
            .map_err(|_| forged())?;
        let payload = String::from_utf8(payload).map_err(|_| forged())?;
        let (user_id, expires) = payload.rsplit_once('.').ok_or_else(forged)?;
        let expires: u64 = expires.parse().map_err(|_| forged())?;
        if unix_secs() >= expires {
            return Err(ApiError::Unauthorized("token expired"));
        }
        Ok(user_id.to_owned())
    }
}

/// A fresh random secret (256 bits, base64url).
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The argon2 hash of `password` (PHC string, random salt).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| ApiError::Internal(format!("hashing password: {err}")))
}

/// True when `password` matches the stored `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The authenticated caller of a `/api/sync/*` handler; extracting it also applies the rate limit.
#[derive(Debug, Clone)]
pub struct User {
    /// The caller's user id.
    pub id: String,
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(
                "authorization header must be \"Bearer <token>\"",
            ))?;
        let id = state.tokens.verify(token.trim())?;
        state.limiter.check(&id)?;
        Ok(Self { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_reject_forgeries() {
        let tokens = Tokens::new("secret", 60);
        let (token, _) = tokens.issue("user-1");
        assert_eq!(tokens.verify(&token).unwrap(), "user-1");
        assert!(Tokens::new("other", 60).verify(&token).is_err());
        let mut forged = token.clone();
        forged.pop();
        assert!(tokens.verify(&forged).is_err());
        let (expired, _) = Tokens::new("secret", 0).issue("user-1");
        assert!(tokens.verify(&expired).is_err());
    }
}
