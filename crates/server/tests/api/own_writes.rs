//! `excludeOwn` pulls: the pulling device's own writes are left out, the cursor still moves past
//! them, and whatever the server wrote differently from what a device sent (merges, field
//! policies, resolutions) still reaches that device.

use std::collections::{BTreeMap, HashSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{change, Backend, Server, Session};

/// One pull page with `excludeOwn: exclude`, and more fields from `extra`.
async fn pull_page(
    server: &Server,
    s: &Session,
    device: &str,
    cursor: Option<&str>,
    exclude: bool,
    extra: Value,
) -> Value {
    let mut body = json!({"deviceId": device, "cursor": cursor, "excludeOwn": exclude});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let (status, page) = server.post("/api/sync/pull", Some(&s.token), &body).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// Every page with `excludeOwn` and page size `limit` from `cursor`; returns the records and
/// the final cursor. Checks that every page but the last is full.
async fn pull_own_all(
    server: &Server,
    s: &Session,
    device: &str,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<Value>, String) {
    let mut cursor = cursor.map(str::to_owned);
    let mut records = Vec::new();
    loop {
        let page = pull_page(
            server,
            s,
            device,
            cursor.as_deref(),
            true,
            json!({"limit": limit}),
        )
        .await;
        let changes = page["changes"].as_array().unwrap();
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        records.extend(changes.iter().cloned());
        if page["hasMore"] == false {
            assert!(changes.len() <= limit);
            return (records, cursor.unwrap());
        }
        assert_eq!(changes.len(), limit, "a page with more after it is full");
    }
}

fn ids(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

fn new_note(id: &str, device: &str, millis: u64) -> Value {
    change(
        id,
        &format!("{device}-{id}-{millis}"),
        None,
        millis,
        device,
        json!({"by": device}),
    )
}

pub(crate) async fn own_writes_are_left_out_on_request_and_the_cursor_passes_them(
    backend: Backend,
) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let notes = |items: Vec<Value>| json!({ "notes": items });
    server
        .push(
            &s,
            "phone",
            notes(vec![new_note("n1", "phone", 1), new_note("n2", "phone", 2)]),
            json!({}),
        )
        .await;
    server
        .push(
            &s,
            "laptop",
            notes(vec![new_note("n3", "laptop", 3)]),
            json!({}),
        )
        .await;

    // Without the flag: everything, as before.
    let all = pull_page(&server, &s, "phone", None, false, json!({})).await;
    assert_eq!(ids(all["changes"].as_array().unwrap()), ["n1", "n2", "n3"]);
    // With it: only the laptop's record, and the same cursor.
    let page = pull_page(&server, &s, "phone", None, true, json!({})).await;
    assert_eq!(ids(page["changes"].as_array().unwrap()), ["n3"]);
    assert_eq!(
        (&page["cursor"], &page["hasMore"]),
        (&all["cursor"], &json!(false))
    );
    let cursor = page["cursor"].as_str().unwrap().to_owned();

    // Trailing own writes only: an empty page whose cursor moves past them, for good.
    server
        .push(
            &s,
            "phone",
            notes(vec![new_note("n4", "phone", 4), new_note("n5", "phone", 5)]),
            json!({}),
        )
        .await;
    let page = pull_page(&server, &s, "phone", Some(&cursor), true, json!({})).await;
    assert_eq!(
        (&page["changes"], &page["hasMore"]),
        (&json!([]), &json!(false))
    );
    let past = page["cursor"].as_str().unwrap().to_owned();
    assert!(
        past.parse::<i64>().unwrap() > cursor.parse::<i64>().unwrap(),
        "{past} after {cursor}"
    );
    let plain = pull_page(&server, &s, "laptop", Some(&cursor), false, json!({})).await;
    assert_eq!(ids(plain["changes"].as_array().unwrap()), ["n4", "n5"]);
    assert_eq!(plain["cursor"], past, "the cursor a plain pull reaches");
    let again = pull_page(&server, &s, "phone", Some(&past), true, json!({})).await;
    assert_eq!(
        (&again["changes"], &again["hasMore"], &again["cursor"]),
        (&json!([]), &json!(false), &json!(past))
    );
    let (_, status) = server.get("/api/sync/status/phone", token).await;
    assert_eq!(
        (&status["lastCursor"], &status["pending"]),
        (&json!(past), &json!(0))
    );

    // The cursor of an empty page stays within the page's collections: the laptop's task,
    // written after the phone's last note, is not skipped.
    server
        .push(
            &s,
            "phone",
            notes(vec![new_note("n6", "phone", 6)]),
            json!({}),
        )
        .await;
    server
        .push(
            &s,
            "laptop",
            json!({"tasks": [new_note("t1", "laptop", 7)]}),
            json!({}),
        )
        .await;
    let (_, status) = server.get("/api/sync/status/phone", token).await;
    assert_eq!(status["pending"], 1, "the laptop's task");
    let only_notes = pull_page(
        &server,
        &s,
        "phone",
        Some(&past),
        true,
        json!({"collections": ["notes"]}),
    )
    .await;
    assert_eq!(
        (&only_notes["changes"], &only_notes["hasMore"]),
        (&json!([]), &json!(false))
    );
    assert_ne!(only_notes["cursor"], json!(past), "past the phone's n6");
    let rest = pull_page(
        &server,
        &s,
        "phone",
        only_notes["cursor"].as_str(),
        true,
        json!({}),
    )
    .await;
    assert_eq!(ids(rest["changes"].as_array().unwrap()), ["t1"]);
    let (_, status) = server.get("/api/sync/status/phone", token).await;
    assert_eq!(
        (&status["pending"], &status["health"]),
        (&json!(0), &json!("ok"))
    );

    // `full` takes the flag too: the push's own records do not come back in its pull.
    let body = json!({
        "push": {"deviceId": "phone", "changes": notes(vec![new_note("n7", "phone", 8)])},
        "pull": {"deviceId": "phone", "cursor": rest["cursor"], "excludeOwn": true},
    });
    let (status, full) = server.post("/api/sync/full", token, &body).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(full["push"]["results"][0]["status"], "applied");
    assert_eq!(
        (&full["pull"]["changes"], &full["pull"]["hasMore"]),
        (&json!([]), &json!(false))
    );
    assert_ne!(full["pull"]["cursor"], rest["cursor"]);
    server.stop().await;
}

pub(crate) async fn interleaved_writes_page_exactly_the_other_devices_records(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    // Rounds of 0-3 phone records and 0-2 laptop records, where each device now and then
    // overwrites one of the other's (the record then counts as the overwriter's).
    let mut latest: BTreeMap<String, (&str, u64)> = BTreeMap::new();
    let mut millis = 0;
    for round in 0..24_u64 {
        for (device, count) in [("phone", round % 4), ("laptop", (round * 7) % 3)] {
            let mut items = Vec::new();
            for i in 0..count {
                millis += 1;
                let id = format!("{device}-{round}-{i}");
                items.push(new_note(&id, device, millis));
                latest.insert(id, (device, 1));
            }
            let other = if device == "phone" { "laptop" } else { "phone" };
            let theirs = latest
                .iter()
                .find(|(_, (by, _))| *by == other)
                .map(|(id, (_, v))| (id.clone(), *v));
            if let (0, Some((id, version))) = (round % 3, theirs) {
                millis += 1;
                let data = json!({"by": device, "over": other});
                items.push(change(
                    &id,
                    &format!("{device}-over-{millis}"),
                    Some(version),
                    millis,
                    device,
                    data,
                ));
                latest.insert(id, (device, version + 1));
            }
            if !items.is_empty() {
                let results = server
                    .push(&s, device, json!({ "notes": items }), json!({}))
                    .await;
                assert!(
                    results.iter().all(|r| r["status"] == "applied"),
                    "{results:?}"
                );
            }
        }
    }
    // Trailing own writes after the last laptop record.
    server
        .push(
            &s,
            "phone",
            json!({"notes": [new_note("tail", "phone", millis + 1)]}),
            json!({}),
        )
        .await;
    let expected: HashSet<&str> = latest
        .iter()
        .filter(|(_, (by, _))| *by == "laptop")
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(
        expected.len() > 10 && latest.len() > expected.len() + 10,
        "a real mix"
    );

    let (_, end) = server.pull_all(&s, "observer", None).await;
    for limit in [1, 3, 4, 1000] {
        let (records, cursor) = pull_own_all(&server, &s, "phone", None, limit).await;
        let got = ids(&records);
        assert_eq!(
            got.iter().copied().collect::<HashSet<_>>(),
            expected,
            "limit {limit}"
        );
        assert_eq!(got.len(), expected.len(), "each once, limit {limit}");
        for record in &records {
            let (by, version) = latest[record["id"].as_str().unwrap()];
            assert_eq!(
                (record["deviceId"].as_str(), record["version"].as_u64()),
                (Some(by), Some(version))
            );
        }
        assert_eq!(cursor, end, "past the trailing own write, limit {limit}");
        let after = pull_page(
            &server,
            &s,
            "phone",
            Some(&cursor),
            true,
            json!({"limit": limit}),
        )
        .await;
        assert_eq!(
            (&after["changes"], &after["hasMore"], &after["cursor"]),
            (&json!([]), &json!(false), &json!(cursor))
        );
    }
    // The other way round: the laptop gets exactly the phone's.
    let (records, _) = pull_own_all(&server, &s, "laptop", None, 5).await;
    assert_eq!(records.len(), latest.len() + 1 - expected.len());
    assert!(records.iter().all(|r| r["deviceId"] == "phone"));
    server.stop().await;
}

pub(crate) async fn what_the_server_wrote_differently_still_reaches_the_writer(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let mut title = change(
        "m",
        "m2",
        Some(1),
        2000,
        "phone",
        json!({"title": "b", "body": "x"}),
    );
    title["changedFields"] = json!(["title"]);
    let first = json!({"notes": [
        change("m", "m1", None, 1000, "phone", json!({"title": "a", "body": "x"})),
        title,
        change("q", "q1", None, 1000, "phone", json!({"title": "a", "body": "x"})),
        change("score", "s1", None, 1000, "phone", json!({"score": 10})),
    ]});
    let policies = json!({"notes": {"strategy": "merge", "fields": {"score": "max"}}});
    server.push(&s, "phone", first, policies.clone()).await;
    let (_, cursor) = pull_own_all(&server, &s, "laptop", None, 100).await;

    // A merge and a field policy write data the laptop did not send: the push answer carries the
    // stored record, exactly as a plain pull serves it, so the laptop may skip its own rows.
    let mut merge = change(
        "m",
        "m3",
        Some(1),
        3000,
        "laptop",
        json!({"title": "a", "body": "y"}),
    );
    merge["changedFields"] = json!(["body"]);
    let lower = change("score", "s2", Some(1), 3000, "laptop", json!({"score": 3}));
    let results = server
        .push(&s, "laptop", json!({"notes": [merge, lower]}), policies)
        .await;
    let (stored, _) = server.pull_all(&s, "phone-2", None).await;
    let stored: BTreeMap<&str, &Value> = stored
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    for result in &results {
        let record = &result["record"];
        let id = record["id"].as_str().unwrap();
        assert_eq!(record, stored[id], "{result}");
        assert_eq!(record["deviceId"], "laptop");
    }
    assert_eq!(stored["m"]["data"], json!({"title": "b", "body": "y"}));
    assert_eq!(stored["score"]["data"], json!({"score": 10}));
    let (mine, cursor) = pull_own_all(&server, &s, "laptop", Some(&cursor), 100).await;
    assert_eq!(mine, Vec::<Value>::new());

    // A manual conflict the laptop resolves: the resolution is written under `server`, so the
    // resolving device pulls it like every other device does.
    let conflict = change("q", "q2", None, 4000, "laptop", json!({"title": "mine"}));
    let manual = json!({"notes": {"strategy": "manual"}});
    let results = server
        .push(&s, "laptop", json!({"notes": [conflict]}), manual)
        .await;
    let id = results[0]["conflictId"].as_str().unwrap();
    let (_, phone_cursor) = pull_own_all(&server, &s, "phone", None, 100).await;
    let body = json!({"conflictId": id, "resolution": "client"});
    let (status, resolved) = server
        .post("/api/sync/resolve-conflict", token, &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["record"]["deviceId"], "server");
    for (device, cursor) in [
        ("laptop", cursor.as_str()),
        ("phone", phone_cursor.as_str()),
    ] {
        let (records, _) = pull_own_all(&server, &s, device, Some(cursor), 100).await;
        assert_eq!(records, vec![resolved["record"].clone()], "{device}");
    }
    // A device that calls itself `server` still gets resolutions with the flag.
    let (records, _) = pull_own_all(&server, &s, "server", None, 100).await;
    assert!(records.iter().any(|r| r["id"] == "q" && r["version"] == 2));
    server.stop().await;
}
