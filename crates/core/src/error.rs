//! The sync engine's error: a storage or transport failure, or a refused engine operation.

use std::fmt;

use crate::store::StoreError;
use crate::transport::TransportError;

/// A name or id as error messages quote it: in double quotes, escaped as in JSON. Messages
/// quote with this instead of `{:?}` so that they read the same in the npm package, whose build
/// leaves out `Debug` formatting (`-Zfmt-debug=none` in `scripts/build-pkg`).
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self.0).map_err(|_| fmt::Error)?)
    }
}

/// Why an engine operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server could not be reached or refused the request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The device is offline; nothing was sent.
    #[error("the device is offline")]
    Offline,
    /// A sync cycle is already running on this engine.
    #[error("a sync cycle is already running")]
    Busy,
    /// No open conflict or rejected change has this id.
    #[error("no such {kind}: {}", Quoted(.id))]
    NotFound {
        /// `conflict` or `rejected change`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A manual conflict's resolution was chosen against a server version the record has moved
    /// past; [`Engine::conflicts`](crate::engine::Engine::conflicts) now shows the newer one.
    #[error("conflict {}: the server's version changed since this choice was made; choose again against the current one", Quoted(.id))]
    ConflictOutdated {
        /// The conflict.
        id: String,
    },
    /// A value passed in is not acceptable (e.g. merged data that is not an object).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server answered with something the protocol does not allow.
    #[error("protocol violation: {0}")]
    Protocol(String),
}

impl Error {
    /// Stable code for programs (the JS `error.code`), in the style of the store's codes.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(e) => e.code(),
            Self::Transport(TransportError::Network(_)) => "NETWORK",
            Self::Transport(TransportError::Unauthorized(_)) => "UNAUTHORIZED",
            Self::Transport(TransportError::Unavailable { .. }) => "SERVER_UNAVAILABLE",
            Self::Transport(TransportError::Refused { .. }) => "REQUEST_REFUSED",
            Self::Transport(_) => "INVALID_RESPONSE",
            Self::Offline => "OFFLINE",
            Self::Busy => "SYNC_BUSY",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::ConflictOutdated { .. } => "CONFLICT_OUTDATED",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::Protocol(_) => "PROTOCOL_ERROR",
        }
    }

    /// The transport failure inside, for backoff decisions.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Self::Transport(e) => Some(e),
            _ => None,
        }
    }
}

/// Result of an engine operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
