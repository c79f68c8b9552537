//! Test harness: a backend (fresh SQLite file or PostgreSQL schema), a server on 127.0.0.1:0
//! and a small JSON client.

use std::path::PathBuf;
use std::sync::Arc;

use ferrysync_server::{serve, store, AppState, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Where a test's data lives; several servers may start on one backend in turn.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(Arc<PathBuf>),
    Postgres { base: String, schema: String },
}

impl Backend {
    pub(crate) fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("ferrysync-test-{}.db", uuid::Uuid::new_v4()));
        Self::Sqlite(Arc::new(path))
    }

    /// A fresh schema in the database at `FERRYSYNC_TEST_PG_URL`, or `None` (printed) without it.
    pub(crate) async fn postgres() -> Option<Self> {
        if !cfg!(feature = "postgres") {
            skipped("built without the `postgres` feature");
            return None;
        }
        let Ok(base) = std::env::var("FERRYSYNC_TEST_PG_URL") else {
            skipped("set FERRYSYNC_TEST_PG_URL to run it");
            return None;
        };
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect to FERRYSYNC_TEST_PG_URL");
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        Some(Self::Postgres { base, schema })
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres { base, schema } => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-c%20search_path%3D{schema}")
            }
        }
    }

    pub(crate) async fn cleanup(&self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Self::Postgres { base, schema } => {
                use sqlx::Connection as _;
                if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut conn)
                        .await;
                }
            }
        }
    }

    /// Starts a server with the test defaults (rate limit off) changed by `tweak`.
    pub(crate) async fn start_with(&self, tweak: impl FnOnce(&mut Config)) -> Server {
        let mut config = Config {
            database: self.url(),
            rate_limit: 0.0,
            ..Config::default()
        };
        tweak(&mut config);
        let store = store::open(&config.database).await.expect("open store");
        let state = AppState::new(store, config).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            client: reqwest::Client::new(),
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub(crate) async fn start(&self) -> Server {
        self.start_with(|_| {}).await
    }
}

/// Says a PostgreSQL run was skipped. Written to stderr directly: libtest captures `eprintln!`
/// of passing tests, and a skip must be visible.
fn skipped(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: PostgreSQL run of this test ({why})"
    );
}

/// A running server and a client for it.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A registered user.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) user_id: String,
}

impl Server {
    /// Stops the server gracefully and waits for it.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.send(req).await
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.send(req).await
    }

    pub(crate) async fn register(&self, username: &str) -> Session {
        let (status, body) = self
            .post(
                "/api/auth/register",
                None,
                &json!({"username": username, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Session {
            token: body["token"].as_str().unwrap().to_owned(),
            user_id: body["userId"].as_str().unwrap().to_owned(),
        }
    }

    /// Pushes `changes` (`{collection: [change…]}`) with `policies`; returns the results.
    pub(crate) async fn push(
        &self,
        s: &Session,
        device: &str,
        changes: Value,
        policies: Value,
    ) -> Vec<Value> {
        let body = json!({"deviceId": device, "changes": changes, "policies": policies});
        let (status, body) = self.post("/api/sync/push", Some(&s.token), &body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        body["results"].as_array().unwrap().clone()
    }

    /// Pushes one change of `notes` from `device` with `policies`; returns its result.
    pub(crate) async fn push_one(
        &self,
        s: &Session,
        device: &str,
        change: &Value,
        policies: Value,
    ) -> Value {
        self.push(s, device, json!({ "notes": [change] }), policies)
            .await
            .remove(0)
    }

    /// Pulls one page.
    pub(crate) async fn pull(
        &self,
        s: &Session,
        device: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Value {
        let body = json!({"deviceId": device, "cursor": cursor, "limit": limit});
        let (status, body) = self.post("/api/sync/pull", Some(&s.token), &body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Pulls every page; returns the records and the final cursor.
    pub(crate) async fn pull_all(
        &self,
        s: &Session,
        device: &str,
        cursor: Option<&str>,
    ) -> (Vec<Value>, String) {
        let mut cursor = cursor.map(str::to_owned);
        let mut records = Vec::new();
        loop {
            let page = self.pull(s, device, cursor.as_deref(), Some(1000)).await;
            records.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = Some(page["cursor"].as_str().unwrap().to_owned());
            if page["hasMore"] == false {
                return (records, cursor.unwrap());
            }
        }
    }
}

/// An HLC stamp string for `millis` on `device`.
pub(crate) fn hlc(millis: u64, device: &str) -> String {
    format!("{millis:015}-{:06}-{device}", 0)
}

/// A change to `id` by `device` at `millis`, from `base`, setting `data`.
pub(crate) fn change(
    id: &str,
    change_id: &str,
    base: Option<u64>,
    millis: u64,
    device: &str,
    data: Value,
) -> Value {
    json!({
        "id": id,
        "changeId": change_id,
        "baseVersion": base,
        "hlc": hlc(millis, device),
        "deviceId": device,
        "data": data,
    })
}

/// `n` new records `r0`, `r1`, … (change ids `c0`, `c1`, …) by device `d`, each holding `data`.
pub(crate) fn numbered_changes(n: usize, data: &Value) -> Vec<Value> {
    (0..n)
        .map(|i| {
            change(
                &format!("r{i}"),
                &format!("c{i}"),
                None,
                1,
                "d",
                data.clone(),
            )
        })
        .collect()
}

/// A delete of `id`.
pub(crate) fn delete(id: &str, change_id: &str, base: u64, millis: u64, device: &str) -> Value {
    json!({
        "id": id,
        "changeId": change_id,
        "baseVersion": base,
        "hlc": hlc(millis, device),
        "deviceId": device,
        "deleted": true,
    })
}

/// Each result of a push answer as `(status, reason)`, the reason `""` when there is none.
pub(crate) fn outcomes(body: &Value) -> Vec<(&str, &str)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reason = r["reason"].as_str().unwrap_or("");
            (r["status"].as_str().unwrap(), reason)
        })
        .collect()
}
