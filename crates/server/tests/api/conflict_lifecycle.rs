//! How a manual conflict closes besides `resolve-conflict` succeeding: superseded by its
//! device's newer change of the record, or a resolution refused because the record moved on.

use ferrysync_core::protocol::conflict_ids;
use reqwest::StatusCode;
use serde_json::json;

use super::common::{change, Backend};
use super::conflicts::{diverge, push_one};

/// A device that edits a record instead of resolving its open conflict pushes a newer change:
/// that closes the device's conflict (`superseded`) and is decided on its own. A retry of the
/// conflicting change itself, or another device's change, leaves the conflict open.
pub(crate) async fn a_newer_change_supersedes_its_devices_open_conflict(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let edit = diverge(&server, &s, "n1", 3000).await;
    let first = push_one(&server, &s, edit.clone(), "manual").await;
    let first_id = first["conflictId"].as_str().unwrap().to_owned();
    let again = push_one(&server, &s, edit.clone(), "manual").await;
    assert_eq!(
        (again["status"].as_str(), again["reason"].as_str()),
        (Some("skipped"), Some("duplicate"))
    );
    assert_eq!(again["conflictId"], first_id.as_str());
    let tablet = change(
        "n1",
        "n1-tablet",
        Some(1),
        3500,
        "tablet",
        json!({"title": "t", "body": "x"}),
    );
    let policies = json!({"notes": {"strategy": "manual"}});
    let tablet = server.push_one(&s, "tablet", &tablet, policies).await;
    let tablet_id = tablet["conflictId"].as_str().unwrap().to_owned();
    let (_, open) = server.get("/api/sync/conflicts?status=open", token).await;
    assert_eq!(conflict_ids(&open), [tablet_id.clone(), first_id.clone()]);
    // One device's own: what a device checks its conflicts against.
    for (device, want) in [("tablet", &tablet_id), ("laptop", &first_id)] {
        let path = format!("/api/sync/conflicts?status=open&deviceId={device}");
        let (_, own) = server.get(&path, token).await;
        assert_eq!(conflict_ids(&own), std::slice::from_ref(want), "{device}");
        // The ids alone, as a device asks for them.
        let (_, ids) = server.get(&format!("{path}&fields=id"), token).await;
        assert_eq!(ids, json!({"conflicts": [{"id": want}]}), "{device}");
    }
    let (status, body) = server
        .get("/api/sync/conflicts?status=open&fields=data", token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    let (_, none) = server
        .get("/api/sync/conflicts?status=open&deviceId=phone", token)
        .await;
    assert_eq!(none, json!({"conflicts": []}));

    // The laptop edited the record again (same base) and pushes that.
    let newer = change(
        "n1",
        "n1-4",
        Some(1),
        4000,
        "laptop",
        json!({"title": "a", "body": "z"}),
    );
    let second = push_one(&server, &s, newer, "manual").await;
    assert_eq!(second["status"], "conflict");
    let second_id = second["conflictId"].as_str().unwrap().to_owned();
    assert_ne!(second_id, first_id);
    let (_, open) = server.get("/api/sync/conflicts?status=open", token).await;
    assert_eq!(conflict_ids(&open), [second_id.clone(), tablet_id]);
    let (_, closed) = server
        .get("/api/sync/conflicts?status=superseded", token)
        .await;
    assert_eq!(conflict_ids(&closed), std::slice::from_ref(&first_id));
    let entry = &closed["conflicts"][0];
    assert!(entry["resolvedAt"].is_string(), "{entry}");
    assert_eq!(entry["clientChange"]["changeId"], "n1-3");
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &json!({"conflictId": first_id, "resolution": "client"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict_already_resolved");
    // The newer change's own conflict resolves as usual.
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &json!({"conflictId": second_id, "resolution": "client"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["record"]["data"], json!({"title": "a", "body": "z"}));
    server.stop().await;
}

/// `remoteVersion` in a resolution: with `client` or `merged`, a record that has moved past it
/// refuses with `409 conflict_outdated` and nothing is written; at the current version, or
/// without it (as before), the resolution is taken; `server` writes nothing and needs no check.
pub(crate) async fn a_resolution_against_an_outdated_version_is_refused(backend: Backend) {
    let server = backend.start().await;
    let s = server.register("alice").await;
    let token = Some(s.token.as_str());
    let mut conflicts = Vec::new();
    for id in ["n1", "n2", "n3"] {
        let edit = diverge(&server, &s, id, 3000).await;
        let result = push_one(&server, &s, edit, "manual").await;
        assert_eq!(result["version"], 2);
        conflicts.push(result["conflictId"].as_str().unwrap().to_owned());
    }
    // The phone writes n1 and n3 again: version 3, which the laptop has not seen.
    for id in ["n1", "n3"] {
        let v3 = change(
            id,
            &format!("{id}-p3"),
            Some(2),
            4000,
            "phone",
            json!({"title": "c", "body": "x"}),
        );
        server.push_one(&s, "phone", &v3, json!({})).await;
    }
    let resolve = |id: &str, resolution: &str, seen: Option<u64>| json!({"conflictId": id, "resolution": resolution, "data": {"merged": true}, "remoteVersion": seen});
    for resolution in ["client", "merged"] {
        let (status, body) = server
            .post(
                "/api/sync/resolve-conflict",
                token,
                &resolve(&conflicts[0], resolution, Some(2)),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "conflict_outdated");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("version 3"),
            "{body}"
        );
    }
    let (_, record) = server.get("/api/sync/records/notes/n1", token).await;
    assert_eq!(
        (record["version"].as_u64(), &record["data"]["title"]),
        (Some(3), &json!("c")),
        "nothing written"
    );
    let (_, open) = server.get("/api/sync/conflicts?status=open", token).await;
    assert_eq!(conflict_ids(&open).len(), 3, "still open");
    // Chosen against version 3: taken, as a new version on top of it.
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&conflicts[0], "client", Some(3)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["record"]["version"].as_u64(), &body["record"]["data"]),
        (Some(4), &json!({"title": "a", "body": "y"}))
    );
    // At the version the conflict opened with, which the record is still at.
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&conflicts[1], "merged", Some(2)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Keeping the server's side writes nothing: no check.
    let (status, body) = server
        .post(
            "/api/sync/resolve-conflict",
            token,
            &resolve(&conflicts[2], "server", Some(2)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["record"]["version"], 3);
    server.stop().await;
}
