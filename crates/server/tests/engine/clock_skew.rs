//! Devices whose clocks are wrong: the server moves their stamps by the offset it measures
//! (`deviceTime` in each push), so `newest_wins` follows the order the edits were made in, and a
//! clock a year fast neither wins every conflict nor carries the other devices' clocks with it.
//!
//! Each device's clock here is the system clock (the server's) plus an offset, set before each
//! step, so that "later" means the same thing to the devices and to the server.

use std::time::Duration;

use ferrysync_core::clock::{Clock, SystemClock};
use ferrysync_core::Hlc;
use serde_json::{json, Value};

use super::in_process::{Device, TestServer};
use crate::config;

const YEAR: u64 = 365 * 24 * 3600 * 1000;
/// The server's default `--max-clock-skew`.
const BOUND: u64 = 300_000;

/// Sets `device`'s clock to the system clock moved by `offset` ms.
fn tick(device: &Device, offset: i64) {
    let now = SystemClock.now_millis();
    device.clock.set(now.saturating_add_signed(offset));
}

/// Lets the system clock move on, so that the next step is later by every clock.
async fn later() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// `a` and `b` of a new user, both holding `todos/t1` as `{"by": "start"}`.
async fn two_devices(server: &TestServer) -> (Device, Device) {
    let token = server
        .user(&format!("u{}", uuid::Uuid::new_v4().simple()))
        .await;
    let a = server.device(&token, config()).await;
    let b = server.device(&token, config()).await;
    tick(&a, 0);
    a.engine
        .put("todos", "t1", json!({"by": "start"}))
        .await
        .unwrap();
    a.engine.sync().await.unwrap();
    b.engine.sync().await.unwrap();
    (a, b)
}

/// `device` edits `todos/t1` with its clock at `offset`, then syncs with it.
async fn edit_and_sync(device: &Device, offset: i64, by: &str) {
    tick(device, offset);
    device
        .engine
        .put("todos", "t1", json!({ "by": by }))
        .await
        .unwrap();
    device.engine.sync().await.unwrap();
}

/// The stamp of `todos/t1` as the server holds it.
async fn stored_stamp(device: &Device) -> Hlc {
    let record: Value = device
        .engine
        .transport()
        .get("/api/sync/records/todos/t1")
        .await;
    record["hlc"]
        .as_str()
        .unwrap_or_else(|| panic!("no stamp in {record}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_clock_a_year_fast_does_not_win_the_edits_made_after_it() {
    let server = TestServer::start().await;
    let (a, b) = two_devices(&server).await;
    edit_and_sync(&a, YEAR as i64, "a, a year fast").await;
    let stamp = stored_stamp(&a).await;
    assert!(
        stamp.millis <= SystemClock.now_millis() + BOUND,
        "stored a year ahead: {stamp}"
    );
    later().await;
    // b edited from the start version, after a: a conflict b's edit wins as the newer one.
    tick(&b, 0);
    b.engine
        .put("todos", "t1", json!({"by": "b, later"}))
        .await
        .unwrap();
    let report = b.engine.sync().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    a.engine.sync().await.unwrap();
    for device in [&a, &b] {
        assert_eq!(device.data("t1").await, Some(json!({"by": "b, later"})));
    }
    // b pulled what a wrote: its own clock did not move a year ahead with it.
    tick(&b, 0);
    b.engine.put("todos", "t2", json!({})).await.unwrap();
    let record = b.engine.get("todos", "t2").await.unwrap().unwrap();
    let own = record.pending.expect("t2 is pending").hlc;
    assert!(own.millis <= SystemClock.now_millis() + BOUND, "{own}");
}

#[tokio::test]
async fn a_clock_a_year_slow_wins_the_edits_made_before_it() {
    let server = TestServer::start().await;
    let (a, b) = two_devices(&server).await;
    edit_and_sync(&b, 0, "b, first").await;
    later().await;
    // a did not pull b's edit: its stamp comes from its own clock, a year behind.
    edit_and_sync(&a, -(YEAR as i64), "a, a year slow, later").await;
    b.engine.sync().await.unwrap();
    for device in [&a, &b] {
        assert_eq!(
            device.data("t1").await,
            Some(json!({"by": "a, a year slow, later"}))
        );
    }
}

#[tokio::test]
async fn a_stamp_from_before_a_clock_was_put_right_counts_from_its_arrival() {
    let server = TestServer::start().await;
    let (a, b) = two_devices(&server).await;
    // Written while a's clock was a year fast; the clock is right again when a syncs.
    tick(&a, YEAR as i64);
    a.engine
        .put("todos", "t1", json!({"by": "a"}))
        .await
        .unwrap();
    tick(&a, 0);
    let before = SystemClock.now_millis();
    a.engine.sync().await.unwrap();
    let stamp = stored_stamp(&a).await;
    assert!(
        (before..=SystemClock.now_millis()).contains(&stamp.millis),
        "{stamp} is not the push's arrival"
    );
    // The result carried the stored record: b's later edit still wins over it.
    later().await;
    edit_and_sync(&b, 0, "b, later").await;
    a.engine.sync().await.unwrap();
    assert_eq!(a.data("t1").await, Some(json!({"by": "b, later"})));
}
