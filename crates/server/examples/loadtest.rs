//! Load benchmark: N concurrent simulated devices push batches of changes and pull, against an
//! in-process server on an ephemeral port, on SQLite and (when a URL is given) PostgreSQL.
//!
//! ```text
//! cargo run --profile server -p ferrysync-server --example loadtest -- \
//!     [--devices 200] [--users 20] [--batches 5] [--batch-size 100] [--postgres URL]
//! ```
//! `--postgres` defaults to `FERRYSYNC_TEST_PG_URL`; each run uses a fresh schema.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrysync_server::{serve, store, AppState, Config};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The server binary's allocator (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone)]
struct Options {
    devices: usize,
    users: usize,
    batches: usize,
    batch_size: usize,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut opts = Options {
        devices: 200,
        users: 20,
        batches: 5,
        batch_size: 100,
        postgres: std::env::var("FERRYSYNC_TEST_PG_URL").ok(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = || {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{} needs a number", pair[0]))
        };
        match pair[0].as_str() {
            "--devices" => opts.devices = number(),
            "--users" => opts.users = number(),
            "--batches" => opts.batches = number(),
            "--batch-size" => opts.batch_size = number(),
            "--postgres" => opts.postgres = Some(value).filter(|v| !v.is_empty()),
            other => panic!("unknown flag {other}"),
        }
    }
    opts.users = opts.users.clamp(1, opts.devices.max(1));
    opts
}

#[derive(Default)]
struct Samples {
    push: Vec<Duration>,
    pull: Vec<Duration>,
    pulled: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: &Value) -> Value {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.expect("json")
}

/// One device: `batches` pushes of `batch_size` changes, each followed by pulling to the end.
async fn device(
    client: reqwest::Client,
    base: String,
    token: String,
    name: String,
    opts: Options,
) -> Samples {
    let mut samples = Samples::default();
    let mut cursor: Option<String> = None;
    let mut clock = 1_700_000_000_000u64;
    for batch in 0..opts.batches {
        let changes: Vec<Value> = (0..opts.batch_size)
            .map(|i| {
                clock += 1;
                json!({
                    "id": format!("{name}-{batch}-{i}"),
                    "changeId": format!("{name}-{batch}-{i}-c"),
                    "hlc": format!("{clock:015}-000000-{name}"),
                    "deviceId": name,
                    "data": {"title": format!("note {i}"), "body": "lorem ipsum dolor sit amet", "n": i},
                })
            })
            .collect();
        let body = json!({"deviceId": name, "changes": {"notes": changes}});
        let started = Instant::now();
        let res = post(&client, &format!("{base}/api/sync/push"), &token, &body).await;
        samples.push.push(started.elapsed());
        assert_eq!(
            res["results"].as_array().map(Vec::len),
            Some(opts.batch_size)
        );
        loop {
            let body = json!({"deviceId": name, "cursor": cursor, "limit": 1000});
            let started = Instant::now();
            let page = post(&client, &format!("{base}/api/sync/pull"), &token, &body).await;
            samples.pull.push(started.elapsed());
            samples.pulled += page["changes"].as_array().map_or(0, Vec::len);
            cursor = page["cursor"].as_str().map(str::to_owned);
            if page["hasMore"] != true {
                break;
            }
        }
    }
    samples
}

async fn run(label: &str, database: String, opts: &Options) {
    let config = Config {
        database,
        rate_limit: 0.0,
        ..Config::default()
    };
    let store = store::open(&config.database).await.expect("open store");
    let state = AppState::new(store, config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.devices)
        .build()
        .unwrap();
    let mut tokens = Vec::new();
    for user in 0..opts.users {
        let creds = json!({"username": format!("user{user}"), "password": "load-test-password"});
        let res = client
            .post(format!("{base}/api/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        tokens.push(body["token"].as_str().expect("token").to_owned());
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..opts.devices)
        .map(|d| {
            let token = tokens[d % opts.users].clone();
            tokio::spawn(device(
                client.clone(),
                base.clone(),
                token,
                format!("dev{d}"),
                opts.clone(),
            ))
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        let samples = task.await.expect("device task");
        all.push.extend(samples.push);
        all.pull.extend(samples.pull);
        all.pulled += samples.pulled;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.push.sort();
    all.pull.sort();
    let pushed = opts.devices * opts.batches * opts.batch_size;
    println!(
        "{label:<10} {} devices / {} users, {pushed} records pushed, {} pulled in {elapsed:.2} s: \
         {:.0} records/s pushed, {:.0} records/s pulled | push p50 {:.1} ms p99 {:.1} ms \
         ({} requests) | pull p50 {:.1} ms p99 {:.1} ms ({} requests)",
        opts.devices,
        opts.users,
        all.pulled,
        pushed as f64 / elapsed,
        all.pulled as f64 / elapsed,
        percentile(&all.push, 0.50),
        percentile(&all.push, 0.99),
        all.push.len(),
        percentile(&all.pull, 0.50),
        percentile(&all.pull, 0.99),
        all.pull.len(),
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::main]
async fn main() {
    let opts = Arc::new(options());
    let dir = std::env::temp_dir().join(format!("ferrysync-load-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    run(
        "sqlite",
        format!("sqlite://{}", dir.join("load.db").display()),
        &opts,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    match &opts.postgres {
        Some(base) => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(base)
                .await
                .expect("connect to PostgreSQL");
            let schema = format!("load_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            run(
                "postgres",
                format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                &opts,
            )
            .await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        None => println!("postgres   skipped (pass --postgres URL or set FERRYSYNC_TEST_PG_URL)"),
    }
}
