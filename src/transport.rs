//! [`HttpTransport`]: core's [`Transport`] port over `fetch` (gloo-net), with a bearer token
//! that is fetched again once from the app's `getToken` after a 401.

use std::cell::RefCell;

use ferrysync_core::protocol::{
    ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse, ResolveRequest,
    ResolveResponse,
};
use ferrysync_core::transport::{Result, Transport, TransportError};
use gloo_net::http::Request;
use js_sys::{Function, Promise};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Talks to a ferrysync server at `base_url`.
pub struct HttpTransport {
    base_url: String,
    token: RefCell<Option<String>>,
    get_token: Option<Function>,
}

impl HttpTransport {
    /// A transport for the server at `base_url` (no trailing `/api`), authenticated with
    /// `token`, or with what `get_token()` returns (a string or a promise of one).
    pub fn new(base_url: &str, token: Option<String>, get_token: Option<Function>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: RefCell::new(token),
            get_token,
        }
    }

    /// Asks the app for a fresh token; `false` when it has no `getToken` or it failed.
    async fn refresh_token(&self) -> bool {
        let Some(get_token) = &self.get_token else {
            return false;
        };
        let Ok(value) = get_token.call0(&JsValue::NULL) else {
            return false;
        };
        let value = match value.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
            Err(value) => value,
        };
        let Some(token) = value.as_string() else {
            return false;
        };
        *self.token.borrow_mut() = Some(token);
        true
    }

    async fn post<Q: Serialize, A: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<A> {
        if self.token.borrow().is_none() {
            self.refresh_token().await;
        }
        match self.send(path, body).await {
            Err(TransportError::Unauthorized(_)) if self.refresh_token().await => {
                self.send(path, body).await
            }
            other => other,
        }
    }

    async fn send<Q: Serialize, A: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<A> {
        let url = format!("{}{path}", self.base_url);
        let token = self.token.borrow().clone().unwrap_or_default();
        let request = Request::post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .json(body)
            .map_err(|e| TransportError::InvalidResponse(format!("encoding request: {e}")))?;
        let response = request
            .send()
            .await
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if response.ok() {
            return response
                .json::<A>()
                .await
                .map_err(|e| TransportError::InvalidResponse(e.to_string()));
        }
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| secs.saturating_mul(1000));
        let body = response.json::<ErrorBody>().await.ok();
        Err(TransportError::from_status(
            response.status(),
            body,
            retry_after,
        ))
    }
}

impl Transport for HttpTransport {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.post("/api/sync/push", request).await
    }

    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.post("/api/sync/pull", request).await
    }

    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolveResponse> {
        self.post("/api/sync/resolve-conflict", request).await
    }
}
