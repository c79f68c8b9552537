//! `POST /api/auth/register` and `POST /api/auth/login`.

use serde::{Deserialize, Serialize};

/// Shortest password `register` accepts, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A username and password, the body of both auth endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// Unique per server, 1 to 64 characters.
    pub username: String,
    /// At least [`MIN_PASSWORD_LEN`] characters.
    pub password: String,
}

/// A signed, expiring bearer token for `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    /// The bearer token.
    pub token: String,
    /// The account's id.
    pub user_id: String,
    /// When the token expires, RFC 3339.
    pub expires_at: String,
}
