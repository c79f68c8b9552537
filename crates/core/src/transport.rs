//! The network port: how the engine reaches a ferrysync server.
//!
//! The browser implements [`Transport`] with `fetch` (gloo-net); native tests implement it by
//! calling the server's axum router in-process. The engine never holds a store transaction while
//! a transport future is pending: it reads, releases, sends, then writes the answer back.

use crate::protocol::{
    ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse, ResolveRequest,
    ResolvedRecord, ServerRecord,
};

/// Why a request to the server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request never got an answer: offline, DNS, connection reset, CORS, timeout.
    #[error("network request failed: {0}")]
    Network(String),
    /// 401: the token is missing, expired or forged (after one fresh `getToken` attempt).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 429 or 5xx: the server is overloaded or failing; try again later.
    #[error("server unavailable ({status} {code}): {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// The error body's code, or `http_<status>` without one.
        code: String,
        /// The error body's message.
        message: String,
        /// The `Retry-After` header, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// Any other non-success status: the request itself is wrong (4xx); retrying will not help.
    #[error("request refused ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body's code, or `http_<status>` without one.
        code: String,
        /// The error body's message.
        message: String,
    },
    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("invalid response from server: {0}")]
    InvalidResponse(String),
}

/// Result of a transport call.
pub type Result<T, E = TransportError> = std::result::Result<T, E>;

impl TransportError {
    /// Classifies a non-success HTTP answer from its status, its error body (if it had one) and
    /// its `Retry-After` header in milliseconds.
    pub fn from_status(status: u16, body: Option<ErrorBody>, retry_after_ms: Option<u64>) -> Self {
        let (code, message) = match body {
            Some(ErrorBody { error }) => (error.code, error.message),
            None => (format!("http_{status}"), format!("HTTP status {status}")),
        };
        match status {
            401 => Self::Unauthorized(message),
            429 | 500..=599 => Self::Unavailable {
                status,
                code,
                message,
                retry_after_ms,
            },
            _ => Self::Refused {
                status,
                code,
                message,
            },
        }
    }

    /// Stable snake_case code: the server's error code where there is one.
    pub fn code(&self) -> &str {
        match self {
            Self::Network(_) => "network",
            Self::Unauthorized(_) => "unauthorized",
            Self::Unavailable { code, .. } | Self::Refused { code, .. } => code,
            Self::InvalidResponse(_) => "invalid_response",
        }
    }

    /// True for failures that may go away by waiting: network errors, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Network(_) | Self::Unavailable { .. })
    }

    /// The server's `Retry-After`, in milliseconds, if it sent one.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::Unavailable { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }
}

/// A connection to a ferrysync server, authenticated as one user.
///
/// Contract, for every implementation:
/// - each method sends one request and resolves with the server's decoded answer, or with the
///   [`TransportError`] that classifies the failure (`Unauthorized` only after the
///   implementation has tried once with a fresh token, if it can get one);
/// - an `Err` says nothing about whether the server applied the request: a push whose answer
///   was lost may have been applied. The engine relies on `changeId` idempotency for that;
/// - implementations do not retry on their own (the engine's caller owns backoff).
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `POST /api/sync/push`.
    async fn push(&self, request: &PushRequest) -> Result<PushResponse>;

    /// `POST /api/sync/pull`.
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse>;

    /// `POST /api/sync/resolve-conflict`.
    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolvedRecord>;

    /// `GET /api/sync/records/{collection}/{id}`: the record as the server holds it now (a
    /// tombstone too), or `None` when the server never had it (404).
    async fn record(&self, collection: &str, id: &str) -> Result<Option<ServerRecord>>;

    /// `GET /api/sync/conflicts?status=open&deviceId=…`: the ids of the open conflicts that
    /// changes of device `device_id` opened.
    async fn open_conflicts(&self, device_id: &str) -> Result<Vec<String>>;
}

impl<T: Transport + ?Sized> Transport for &T {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        (**self).push(request).await
    }

    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        (**self).pull(request).await
    }

    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolvedRecord> {
        (**self).resolve_conflict(request).await
    }

    async fn record(&self, collection: &str, id: &str) -> Result<Option<ServerRecord>> {
        (**self).record(collection, id).await
    }

    async fn open_conflicts(&self, device_id: &str) -> Result<Vec<String>> {
        (**self).open_conflicts(device_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let body = ErrorBody::new("rate_limited", "slow down");
        let e = TransportError::from_status(429, Some(body), Some(2_000));
        assert!(e.is_retryable());
        assert_eq!(
            (e.code(), e.retry_after_ms()),
            ("rate_limited", Some(2_000))
        );
        let e = TransportError::from_status(503, None, None);
        assert_eq!(e.code(), "http_503");
        assert!(e.is_retryable());
        let e = TransportError::from_status(401, None, None);
        assert_eq!(e.code(), "unauthorized");
        assert!(!e.is_retryable());
        let e = TransportError::from_status(413, Some(ErrorBody::new("too_large", "big")), None);
        assert_eq!(e.to_string(), "request refused (413 too_large): big");
        assert!(!e.is_retryable());
        assert!(TransportError::Network("offline".into()).is_retryable());
    }
}
