//! The browser crate's error: bad input from the app, or a storage failure (core's
//! [`StoreError`]). Each has a stable code that becomes the JS `error.code`.

use ferrysync_core::error::Quoted;
use ferrysync_core::StoreError;

/// Why a ferrysync call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `FerrySync.open` options were malformed.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A record was not a plain object, had a bad id, or could not be stored.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Query options were malformed or contradictory, or named an index that does not exist.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A method's argument had the wrong type (a collection name or an id that is not a string).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Opening needed a schema upgrade, but another tab keeps an older version open.
    #[error("database {} is blocked: another tab keeps an older version of it open", Quoted(.0))]
    Blocked(String),
    /// The database was written by a newer ferrysync, whose storage layout this one does not
    /// know: opening it could miss pending changes, so it is left alone.
    #[error("database {} was written by a newer ferrysync (storage layout {}, this one knows up to {}); open it with that version", Quoted(.0), .1, .2)]
    Newer(String, u64, u64),
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Syncing failed (network, server, conflict bookkeeping); see core's [`ferrysync_core::Error`].
    #[error(transparent)]
    Sync(ferrysync_core::Error),
    /// A sync method was called on a database opened without `serverUrl`.
    #[error("sync is not configured: open the database with a serverUrl")]
    NoServer,
}

impl From<ferrysync_core::Error> for Error {
    fn from(error: ferrysync_core::Error) -> Self {
        match error {
            ferrysync_core::Error::Store(e) => Self::Store(e),
            other => Self::Sync(other),
        }
    }
}

impl Error {
    /// Stable code for programs (the JS `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidOptions(_) => "INVALID_OPTIONS",
            Self::InvalidRecord(_) => "INVALID_RECORD",
            Self::InvalidQuery(_) => "INVALID_QUERY",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::Blocked(_) => "DB_BLOCKED",
            Self::Newer(..) => "DB_NEWER",
            Self::Store(e) => e.code(),
            Self::Sync(e) => e.code(),
            Self::NoServer => "NO_SERVER",
        }
    }
}

/// Result of a ferrysync call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_store_codes_pass_through() {
        assert_eq!(Error::InvalidRecord("x".into()).code(), "INVALID_RECORD");
        assert_eq!(Error::Blocked("db".into()).code(), "DB_BLOCKED");
        let quota = Error::from(StoreError::QuotaExceeded("full".into()));
        assert_eq!(quota.code(), "QUOTA_EXCEEDED");
        assert_eq!(quota.to_string(), "storage quota exceeded: full");
    }
}
