//! [`HttpTransport`]: core's [`Transport`] port over
//! [`fetch`](https://developer.mozilla.org/en-US/docs/Web/API/Window/fetch), with a bearer token
//! that is fetched again once from the app's `getToken` after a 401.
//!
//! Bodies cross the wasm boundary as JSON text read and written by serde_json, as the store's
//! batches do (one JSON path in the package, and far cheaper for a page of records than a
//! field-by-field conversion). Only the typed ends are generic; the request itself is one
//! non-generic function for every endpoint (no HTTP crate: a few `web-sys` calls).

use std::cell::RefCell;

use ferrysync_core::protocol::{
    conflict_ids, ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse, ResolveRequest,
    ResolvedRecord, ServerRecord,
};
use ferrysync_core::transport::{Result, Transport, TransportError};
use js_sys::{Function, Promise};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

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

    /// Posts `body` to `path` and reads the answer as `A`: the typed half, thin per endpoint.
    async fn post<Q: Serialize, A: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<A> {
        let body = serde_json::to_string(body)
            .map_err(|e| TransportError::InvalidResponse(format!("encoding request: {e}")))?;
        let text = self.exchange(path, Some(&body)).await?;
        serde_json::from_str(&text).map_err(|e| TransportError::InvalidResponse(e.to_string()))
    }

    /// Posts the JSON text `body` (or, with `None`, gets `path`), refreshing the token once
    /// after a 401; the answer's text. One body for every endpoint, so the async code is
    /// instantiated once.
    #[inline(never)]
    async fn exchange(&self, path: &str, body: Option<&str>) -> Result<String> {
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

    /// One request; a non-success answer is classified by its status, error body and
    /// `Retry-After`.
    async fn send(&self, path: &str, body: Option<&str>) -> Result<String> {
        let response = self.fetch(path, body).await.map_err(|e| {
            TransportError::Network(
                e.dyn_ref::<js_sys::Error>()
                    .map_or_else(|| "fetch failed".to_owned(), |e| e.to_string().into()),
            )
        })?;
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|t| t.as_string()),
            Err(_) => None,
        };
        if response.ok() {
            return text
                .ok_or_else(|| TransportError::InvalidResponse("unreadable body".to_owned()));
        }
        let retry_after = response
            .headers()
            .get("Retry-After")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| secs.saturating_mul(1000));
        let error = text.and_then(|body| serde_json::from_str::<ErrorBody>(&body).ok());
        Err(TransportError::from_status(
            response.status(),
            error,
            retry_after,
        ))
    }

    /// `fetch(base_url + path, { method: "POST", headers, body })`, or a `GET` without `body`.
    async fn fetch(&self, path: &str, body: Option<&str>) -> Result<Response, JsValue> {
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let headers = Headers::new()?;
        let token = self.token.borrow().clone().unwrap_or_default();
        headers.set("Authorization", &format!("Bearer {token}"))?;
        let init = RequestInit::new();
        if let Some(body) = body {
            headers.set("Content-Type", "application/json")?;
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
        }
        init.set_headers(&headers);
        let url = format!("{}{path}", self.base_url);
        let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await?;
        response.dyn_into::<Response>()
    }
}

impl Transport for HttpTransport {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.post("/api/sync/push", request).await
    }

    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.post("/api/sync/pull", request).await
    }

    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolvedRecord> {
        self.post("/api/sync/resolve-conflict", request).await
    }

    async fn record(&self, collection: &str, id: &str) -> Result<Option<ServerRecord>> {
        let encode = |s: &str| String::from(js_sys::encode_uri_component(s));
        let path = format!("/api/sync/records/{}/{}", encode(collection), encode(id));
        match self.exchange(&path, None).await {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| TransportError::InvalidResponse(e.to_string())),
            Err(TransportError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn open_conflicts(&self, device_id: &str) -> Result<Vec<String>> {
        let device = String::from(js_sys::encode_uri_component(device_id));
        let path = format!("/api/sync/conflicts?status=open&deviceId={device}&fields=id");
        let text = self.exchange(&path, None).await?;
        let list: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TransportError::InvalidResponse(e.to_string()))?;
        Ok(conflict_ids(&list))
    }
}
