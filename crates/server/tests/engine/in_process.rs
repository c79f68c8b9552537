//! The engine's [`Transport`] over the server's real router, called in-process with
//! `tower::ServiceExt::oneshot`, plus a harness: a fresh SQLite file per test, a registered
//! user, and devices that share it.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use ferrysync_core::clock::{Clock, ManualClock, SystemClock};
use ferrysync_core::engine::{Config, Engine};
use ferrysync_core::protocol::{
    conflict_ids, ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse, ResolveRequest,
    ResolvedRecord, ServerRecord,
};
use ferrysync_core::store::LocalStore;
use ferrysync_core::transport::{Result, Transport, TransportError};
use ferrysync_core::MemoryStore;
use ferrysync_server::{app, store, AppState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::ServiceExt;

/// The collections every test device syncs.
pub(crate) const COLLECTIONS: [&str; 2] = ["todos", "notes"];

/// One in-process server over a fresh SQLite file, removed on drop.
pub(crate) struct TestServer {
    pub(crate) app: Router,
    path: PathBuf,
    /// The server's clock when it started: every device's clock starts there (the server moves
    /// the stamps of a device whose clock is off by more than its `--max-clock-skew`).
    pub(crate) started: u64,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::with_body_limit(ferrysync_server::Config::default().body_limit).await
    }

    /// A server that refuses request bodies over `body_limit` bytes (413).
    pub(crate) async fn with_body_limit(body_limit: usize) -> Self {
        let path =
            std::env::temp_dir().join(format!("ferrysync-engine-{}.db", uuid::Uuid::new_v4()));
        let config = ferrysync_server::Config {
            database: format!("sqlite://{}", path.display()),
            rate_limit: 0.0,
            body_limit,
            ..ferrysync_server::Config::default()
        };
        let store = store::open(&config.database).await.expect("open store");
        let state = AppState::new(store, config).await.expect("state");
        Self {
            app: app(state),
            path,
            started: SystemClock.now_millis(),
        }
    }

    /// Registers `username` and returns its bearer token.
    pub(crate) async fn user(&self, username: &str) -> String {
        let body = json!({"username": username, "password": "correct horse"});
        let request = Request::post("/api/auth/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub(crate) fn transport(&self, token: &str) -> InProcess {
        InProcess {
            app: self.app.clone(),
            token: token.to_owned(),
            lose_next_push: Cell::new(false),
            lose_next_resolve: Cell::new(false),
            fail_next_conflict_list: Cell::new(None),
            pause_next_push: Cell::new(false),
            paused: Notify::new(),
            resume: Notify::new(),
            pushes: Cell::new(0),
            too_large: Cell::new(0),
            pulls: Cell::new(0),
            fetches: Cell::new(0),
        }
    }

    /// A device of the user with `token`, with its own memory store and clock.
    pub(crate) async fn device(&self, token: &str, config: Config) -> Device {
        let store = Rc::new(MemoryStore::new(COLLECTIONS));
        self.device_on(token, config, store).await
    }

    /// A device of the user with `token` over `store` (the same device again, when it held
    /// another's), with its own clock.
    pub(crate) async fn device_on(
        &self,
        token: &str,
        config: Config,
        store: Rc<MemoryStore>,
    ) -> Device {
        let clock = Rc::new(ManualClock::new(self.started));
        let new_id = || uuid::Uuid::new_v4().to_string();
        let engine = Engine::open(store, self.transport(token), clock.clone(), config, new_id)
            .await
            .expect("open engine");
        Device { engine, clock }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// An engine with a memory store, the in-process transport and a hand-driven clock.
pub(crate) struct Device {
    pub(crate) engine: Engine<Rc<MemoryStore>, InProcess, Rc<ManualClock>>,
    pub(crate) clock: Rc<ManualClock>,
}

impl Device {
    /// The live data of `todos/id`.
    pub(crate) async fn data(&self, id: &str) -> Option<Value> {
        let record = self.engine.get("todos", id).await.unwrap()?;
        Some(Value::Object(record.data.into_inner()))
    }

    /// The ids of the conflict details the device keeps (its `conflicts` meta entry).
    pub(crate) async fn conflict_details(&self) -> Vec<String> {
        let held = self.engine.store().meta("conflicts").await.unwrap();
        held.and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default()
    }
}

/// Calls the router in-process; can lose a push answer or hold it until told to go on, and
/// fail a conflict list.
pub(crate) struct InProcess {
    app: Router,
    token: String,
    /// The next push is applied by the server but its answer is lost (a network error).
    pub(crate) lose_next_push: Cell<bool>,
    /// The next resolve-conflict is applied by the server but its answer is lost.
    pub(crate) lose_next_resolve: Cell<bool>,
    /// The next list of open conflicts fails with this error without reaching the server.
    pub(crate) fail_next_conflict_list: Cell<Option<TransportError>>,
    /// The next push is applied, then its answer waits until `resume` is notified.
    pub(crate) pause_next_push: Cell<bool>,
    /// Notified when a paused push has been applied.
    pub(crate) paused: Notify,
    /// Lets a paused push answer.
    pub(crate) resume: Notify,
    pub(crate) pushes: Cell<usize>,
    /// Pushes the server refused as too large (413).
    pub(crate) too_large: Cell<usize>,
    pub(crate) pulls: Cell<usize>,
    pub(crate) fetches: Cell<usize>,
}

impl InProcess {
    /// `GET path` as this transport's user, answered with its JSON body (a success asserted).
    pub(crate) async fn get(&self, path: &str) -> Value {
        self.answer(self.authorized_get(path)).await.unwrap()
    }

    /// A `GET path` request as this transport's user.
    fn authorized_get(&self, path: &str) -> Request<Body> {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap()
    }

    async fn call<Q: Serialize, A: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<A> {
        let request = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        self.answer(request).await
    }

    async fn answer<A: DeserializeOwned>(&self, request: Request<Body>) -> Result<A> {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map(|secs| secs * 1000);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if !status.is_success() {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            return Err(TransportError::from_status(
                status.as_u16(),
                body,
                retry_after,
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| TransportError::InvalidResponse(e.to_string()))
    }
}

impl Transport for InProcess {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.pushes.set(self.pushes.get() + 1);
        let answer = self.call("/api/sync/push", request).await;
        if let Err(TransportError::Refused { status: 413, .. }) = &answer {
            self.too_large.set(self.too_large.get() + 1);
        }
        if self.pause_next_push.replace(false) {
            self.paused.notify_one();
            self.resume.notified().await;
        }
        if self.lose_next_push.replace(false) {
            return Err(TransportError::Network(
                "connection reset (answer lost)".into(),
            ));
        }
        answer
    }

    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.pulls.set(self.pulls.get() + 1);
        self.call("/api/sync/pull", request).await
    }

    async fn resolve_conflict(&self, request: &ResolveRequest) -> Result<ResolvedRecord> {
        let answer = self.call("/api/sync/resolve-conflict", request).await;
        if self.lose_next_resolve.replace(false) {
            return Err(TransportError::Network(
                "connection reset (answer lost)".into(),
            ));
        }
        answer
    }

    async fn record(&self, collection: &str, id: &str) -> Result<Option<ServerRecord>> {
        self.fetches.set(self.fetches.get() + 1);
        let path = format!("/api/sync/records/{}/{}", encode(collection), encode(id));
        match self.answer(self.authorized_get(&path)).await {
            Err(TransportError::Refused { status: 404, .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    async fn open_conflicts(&self, device_id: &str) -> Result<Vec<String>> {
        if let Some(error) = self.fail_next_conflict_list.take() {
            return Err(error);
        }
        let path = format!(
            "/api/sync/conflicts?status=open&deviceId={}&fields=id",
            encode(device_id)
        );
        let list: Value = self.answer(self.authorized_get(&path)).await?;
        Ok(conflict_ids(&list))
    }
}

/// Percent-encodes every byte but the unreserved ones, as `encodeURIComponent` does.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
