//! `ApiError`: every way a request can fail, mapped to a status and a stable code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync_core::protocol::ErrorBody;

/// Result of a handler or store call.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// An API failure; client mistakes are 4xx, anything else is a 500 whose cause is logged, not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON.
    #[error("malformed JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON but not the expected shape (missing field, wrong type, bad value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request names a protocol version this server does not speak.
    #[error("protocol version {0} is not supported (this server speaks 1)")]
    VersionNotSupported(u32),
    /// The body is over the configured limit.
    #[error("request body is over the size limit")]
    BodyTooLarge,
    /// A push carries more changes than allowed.
    #[error("a push may carry at most {max} changes, this one has {count}")]
    TooManyChanges {
        /// Changes in the request.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No bearer token, or an expired or forged one.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Wrong username or password (same message either way).
    #[error("invalid username or password")]
    BadCredentials,
    /// The username is taken.
    #[error("username is already taken")]
    UsernameTaken,
    /// The id does not exist for this user.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The conflict was already resolved.
    #[error("conflict is already resolved")]
    AlreadyResolved,
    /// A resolution that writes was chosen against a server version the record has moved past.
    #[error("the record is at version {current}, not {seen} as when this resolution was chosen; choose again against the current version")]
    ConflictOutdated {
        /// The version the resolution was chosen against.
        seen: u64,
        /// The record's version now.
        current: u64,
    },
    /// Over the per-user request rate.
    #[error("too many requests, retry after {0} s")]
    RateLimited(u64),
    /// A database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A database migration failure.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other server-side failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable snake_case code sent as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidRequest(_) => "invalid_request",
            Self::VersionNotSupported(_) => "version_not_supported",
            Self::BodyTooLarge => "payload_too_large",
            Self::TooManyChanges { .. } => "too_many_changes",
            Self::Unauthorized(_) => "unauthorized",
            Self::BadCredentials => "invalid_credentials",
            Self::UsernameTaken => "username_taken",
            Self::NotFound(_) => "not_found",
            Self::AlreadyResolved => "conflict_already_resolved",
            Self::ConflictOutdated { .. } => "conflict_outdated",
            Self::RateLimited(_) => "rate_limited",
            Self::Database(_) | Self::Migrate(_) | Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest(_) | Self::VersionNotSupported(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::BodyTooLarge | Self::TooManyChanges { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::UsernameTaken | Self::AlreadyResolved | Self::ConflictOutdated { .. } => {
                StatusCode::CONFLICT
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Database(_) | Self::Migrate(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internals are logged here, once, and never sent to the client.
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal server error".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(ErrorBody::new(self.code(), message))).into_response();
        if let Self::RateLimited(secs) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
