//! Stamps from devices whose clocks are wrong are moved before anything is decided with them
//! (`deviceTime`, `--max-clock-skew`; see `ferrysync_core::skew`), the device is told, and a
//! conflict's log entry keeps the stamp the device sent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, hlc, Backend};

const YEAR: u64 = 365 * 24 * 3600 * 1000;

fn now() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

/// The stamp's milliseconds.
fn millis(stamp: &Value) -> u64 {
    let text = stamp
        .as_str()
        .unwrap_or_else(|| panic!("no stamp: {stamp}"));
    text[..15].parse().unwrap()
}

pub(crate) async fn stamps_are_kept_within_the_clock_bound(backend: Backend) {
    let server = backend
        .start_with(|config| config.max_clock_skew = Duration::from_secs(60))
        .await;
    let s = server.register("alice").await;
    let push = |device_time: Option<u64>, items: Vec<Value>| {
        let mut body = json!({"deviceId": "d", "changes": {"notes": items}});
        if let Some(time) = device_time {
            body["deviceTime"] = json!(time);
        }
        body
    };
    let t = now();
    let pushed = [
        // A clock a year fast, written two hours ago by that clock: moved back by the offset.
        (
            Some(t + YEAR),
            change("fast", "c1", None, t + YEAR - 7_200_000, "d", json!({})),
        ),
        // A clock a year slow: moved forward by it.
        (
            Some(t - YEAR),
            change("slow", "c2", None, t - YEAR - 7_200_000, "d", json!({})),
        ),
        // A right clock with a stamp a year ahead (written before the clock was put right).
        (
            Some(t),
            change("ahead", "c3", None, t + YEAR, "d", json!({})),
        ),
        // No device time and the largest stamp there is.
        (
            None,
            change("max", "c4", None, 999_999_999_999_999, "d", json!({})),
        ),
    ];
    for (device_time, item) in pushed {
        let id = item["id"].clone();
        let (status, body) = server
            .post(
                "/api/sync/push",
                Some(&s.token),
                &push(device_time, vec![item]),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let result = &body["results"][0];
        assert_eq!(result["status"], "applied", "{body}");
        // The result carries the record as stored, so the device sees the stamp it got.
        let stored = millis(&result["record"]["hlc"]);
        let expected = match id.as_str().unwrap() {
            "fast" | "slow" => t - 7_200_000,
            _ => t,
        };
        assert!(
            stored.abs_diff(expected) < 10_000,
            "{id}: stored {stored}, expected about {expected}"
        );
    }
    // Within the bound, and an old stamp from a right clock: kept as sent, no record returned.
    let kept = vec![
        change("near", "c5", None, t + 30_000, "d", json!({})),
        change("old", "c6", None, 1_000, "d", json!({})),
    ];
    let (status, body) = server
        .post(
            "/api/sync/push",
            Some(&s.token),
            &push(Some(t + 30_000), kept),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for result in body["results"].as_array().unwrap() {
        assert_eq!(result["status"], "applied", "{body}");
        assert!(result.get("record").is_none(), "{body}");
    }
    // A retry of a moved change is a duplicate: its earlier outcome, the stamp unchanged.
    let retry = change("fast", "c1", None, t + YEAR - 7_200_000, "d", json!({}));
    let (_, body) = server
        .post(
            "/api/sync/push",
            Some(&s.token),
            &push(Some(now() + YEAR), vec![retry]),
        )
        .await;
    assert_eq!(body["results"][0]["reason"], "duplicate", "{body}");

    // A conflict decided with a moved stamp keeps the stamp the device sent in its log entry.
    let late = t + YEAR + 1_000;
    let body = json!({"deviceId": "e", "deviceTime": t + YEAR, "changes": {"notes": [
        change("near", "c7", Some(0), late, "e", json!({"by": "e"}))]}});
    let (_, body) = server.post("/api/sync/push", Some(&s.token), &body).await;
    assert_eq!(body["results"][0]["status"], "conflict", "{body}");
    let (status, log) = server.get("/api/sync/conflicts", Some(&s.token)).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let logged = &log["conflicts"][0];
    assert_eq!(logged["clientChange"]["changeId"], "c7", "{log}");
    assert_eq!(logged["sentHlc"], json!(hlc(late, "e")), "{log}");
    assert!(
        millis(&logged["clientChange"]["hlc"]).abs_diff(t + 1_000) < 10_000,
        "{log}"
    );

    // What other devices pull is never beyond the bound.
    let (records, _) = server.pull_all(&s, "other", None).await;
    assert_eq!(records.len(), 6);
    let bound = now() + 60_000;
    for record in &records {
        assert!(millis(&record["hlc"]) <= bound, "{record}");
        // Only the time moves: the counter and the device stay as sent.
        assert!(
            record["hlc"].as_str().unwrap().ends_with("-000000-d"),
            "{record}"
        );
    }
    server.stop().await;
}
