use serde_json::json;

use super::*;
use crate::Strategy;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn edit(n: u64) -> Edit {
    Edit {
        change_id: format!("c{n}"),
        hlc: Hlc::new(n, 0, "dev"),
        now: n,
        seq: n,
    }
}

fn result(change_id: &str, status: ResultStatus, version: Option<u64>) -> ChangeResult {
    ChangeResult {
        version,
        ..ChangeResult::new("c", "r", change_id, status)
    }
}

fn server(version: u64, data: Value) -> ServerRecord {
    ServerRecord {
        collection: "c".into(),
        id: "r".into(),
        version,
        deleted: data.is_null(),
        data: data.into(),
        hlc: Hlc::new(1, 0, "srv"),
        device_id: "other".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn synced(version: u64, data: Value) -> LocalRecord {
    LocalRecord::from_server(&server(version, data), 0).unwrap()
}

#[test]
fn a_new_record_is_unsynced_with_no_base() {
    let r = LocalRecord::write(None, "r", Some(obj(json!({"a": 1}))), edit(1));
    assert_eq!(r.sync.status, SyncStatus::Unsynced);
    let change = r.to_change("dev").unwrap();
    assert_eq!(
        (change.base_version, change.change_id.as_str()),
        (None, "c1")
    );
    assert_eq!(change.data, json!({"a": 1}));
}

#[test]
fn edits_coalesce_into_one_pending_change() {
    let base = synced(4, json!({"a": 1, "b": 1, "c": 1}));
    let once = LocalRecord::write(
        Some(base),
        "r",
        Some(obj(json!({"a": 2, "b": 1, "c": 1}))),
        edit(10),
    );
    let twice = LocalRecord::write(
        Some(once),
        "r",
        Some(obj(json!({"a": 2, "b": 1}))),
        edit(11),
    );
    let p = twice.pending.clone().unwrap();
    assert_eq!(p.changed_fields, vec!["a".to_owned(), "c".to_owned()]);
    assert_eq!(
        (p.base_version, p.seq, p.change_id.as_str()),
        (Some(4), 10, "c11")
    );
    assert_eq!(twice.sync.version, Some(4));
}

#[test]
fn acknowledging_the_pushed_change_marks_synced() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let acked = r
        .acknowledge(&result("c5", ResultStatus::Applied, Some(2)), 9)
        .unwrap();
    assert_eq!(
        (acked.sync.status, acked.sync.version, acked.pending),
        (SyncStatus::Synced, Some(2), None)
    );
}

#[test]
fn an_edit_during_the_push_stays_unsynced_and_rebases() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let newer = LocalRecord::write(Some(r), "r", Some(obj(json!({"a": 3}))), edit(6));
    let acked = newer
        .acknowledge(&result("c5", ResultStatus::Applied, Some(2)), 9)
        .unwrap();
    assert_eq!(acked.sync.status, SyncStatus::Unsynced);
    assert_eq!(acked.data, obj(json!({"a": 3})));
    let change = acked.to_change("dev").unwrap();
    assert_eq!(
        (change.base_version, change.change_id.as_str()),
        (Some(2), "c6")
    );
}

#[test]
fn an_acknowledged_delete_removes_the_tombstone() {
    let r = LocalRecord::write(Some(synced(1, json!({"a": 1}))), "r", None, edit(5));
    assert!(r.deleted);
    assert_eq!(r.to_change("dev").unwrap().data, Value::Null);
    assert!(r
        .acknowledge(&result("c5", ResultStatus::Applied, Some(2)), 9)
        .is_none());
}

#[test]
fn a_rejection_is_kept_until_the_record_is_edited() {
    let r = LocalRecord::write(None, "r", Some(obj(json!({"a": 1}))), edit(5));
    let mut res = result("c5", ResultStatus::Rejected, None);
    res.reason = Some("payload_too_large".into());
    let rejected = r.acknowledge(&res, 9).unwrap();
    assert_eq!(rejected.sync.status, SyncStatus::Rejected);
    assert_eq!(
        rejected.pending.as_ref().unwrap().note.as_deref(),
        Some("payload_too_large")
    );
    assert!(rejected.to_change("dev").is_none());
    let retried = LocalRecord::write(Some(rejected), "r", Some(obj(json!({"a": 2}))), edit(6));
    assert_eq!(retried.sync.status, SyncStatus::Unsynced);
}

#[test]
fn a_lost_conflict_adopts_the_winning_record() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let mut res = result("c5", ResultStatus::Conflict, Some(3));
    res.strategy = Some(Strategy::NewestWins);
    res.winner = Some(Winner::Server);
    res.record = Some(server(3, json!({"a": 9})));
    let after = r.acknowledge(&res, 9).unwrap();
    assert_eq!(
        (after.sync.status, after.sync.version),
        (SyncStatus::Synced, Some(3))
    );
    assert_eq!(after.data, obj(json!({"a": 9})));
}

#[test]
fn a_manual_conflict_waits_with_local_data() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let mut res = result("c5", ResultStatus::Conflict, Some(3));
    res.strategy = Some(Strategy::Manual);
    res.winner = Some(Winner::Server);
    res.conflict_id = Some("k1".into());
    res.record = Some(server(3, json!({"a": 9})));
    let after = r.acknowledge(&res, 9).unwrap();
    assert_eq!(after.sync.status, SyncStatus::Conflict);
    assert_eq!(after.data, obj(json!({"a": 2})));
    assert_eq!(after.pending.unwrap().note.as_deref(), Some("k1"));
}

#[test]
fn a_pulled_version_never_overwrites_a_pending_edit() {
    let local = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let after = LocalRecord::apply_pulled(Some(local.clone()), server(2, json!({"a": 7})), 9);
    assert_eq!(after, Some(local));
}

#[test]
fn pulled_versions_replace_older_synced_ones_and_tombstones_remove() {
    let after = LocalRecord::apply_pulled(
        Some(synced(1, json!({"a": 1}))),
        server(2, json!({"a": 7})),
        9,
    )
    .unwrap();
    assert_eq!(
        (after.sync.version, after.data.clone().into_inner()),
        (Some(2), obj(json!({"a": 7})))
    );
    let same = LocalRecord::apply_pulled(Some(after.clone()), server(1, json!({"a": 1})), 9);
    assert_eq!(same, Some(after.clone()));
    assert!(LocalRecord::apply_pulled(Some(after), server(3, Value::Null), 9).is_none());
}

#[test]
fn an_edit_during_a_lost_conflict_keeps_its_base() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let newer = LocalRecord::write(Some(r), "r", Some(obj(json!({"a": 3}))), edit(6));
    let mut res = result("c5", ResultStatus::Conflict, Some(3));
    res.strategy = Some(Strategy::NewestWins);
    res.winner = Some(Winner::Server);
    res.record = Some(server(3, json!({"a": 9})));
    let after = newer.acknowledge(&res, 9).unwrap();
    // It never saw version 3, so it must meet it through the strategy, not overwrite it.
    assert_eq!(after.to_change("dev").unwrap().base_version, Some(1));
    assert_eq!(after.data, obj(json!({"a": 3})));
}

#[test]
fn a_duplicate_of_an_open_manual_conflict_is_that_conflict() {
    let r = LocalRecord::write(
        Some(synced(1, json!({"a": 1}))),
        "r",
        Some(obj(json!({"a": 2}))),
        edit(5),
    );
    let mut res = result("c5", ResultStatus::Skipped, Some(3));
    res.reason = Some("duplicate".into());
    res.strategy = Some(Strategy::Manual);
    res.winner = Some(Winner::Server);
    res.conflict_id = Some("k1".into());
    let after = r.acknowledge(&res, 9).unwrap();
    assert_eq!(after.sync.status, SyncStatus::Conflict);
}

#[test]
fn the_same_version_with_other_data_is_replaced_by_the_server_copy() {
    // A lost answer: the device thinks its data is version 2, the server's version 2 differs.
    let mine = synced(2, json!({"a": 1}));
    let same = LocalRecord::apply_pulled(Some(mine.clone()), server(2, json!({"a": 1})), 9);
    assert_eq!(same, Some(mine.clone()));
    let theirs = LocalRecord::apply_pulled(Some(mine), server(2, json!({"a": 5})), 9).unwrap();
    assert_eq!(theirs.data, obj(json!({"a": 5})));
}

#[test]
fn a_new_records_pending_change_has_a_short_form_that_reads_back_exactly() {
    let (_, pending) = LocalRecord::next_state(None, Vec::new, edit(7));
    let short = pending
        .short()
        .expect("a new record's change has a short form");
    assert_eq!(short, "7 c7 000000000000007-000000-dev");
    assert_eq!(Pending::from_short(&short), Some(pending.clone()));
    // A device id may hold spaces: the stamp is the string's last part.
    let spaced = Pending {
        hlc: Hlc::new(1_700_000_000_000, 12, "my phone"),
        seq: 123_456,
        ..pending.clone()
    };
    assert_eq!(Pending::from_short(&spaced.short().unwrap()), Some(spaced));
    // A stamp whose device id a store left out.
    let mut own = pending.clone();
    own.hlc.device.clear();
    assert_eq!(own.short().unwrap(), "7 c7 000000000000007-000000");
    assert_eq!(Pending::from_short(&own.short().unwrap()), Some(own));
}

#[test]
fn only_a_whole_record_change_without_base_version_or_note_has_a_short_form() {
    let (_, plain) = LocalRecord::next_state(None, Vec::new, edit(1));
    let others = [
        Pending {
            base_version: Some(3),
            ..plain.clone()
        },
        Pending {
            note: Some("rejected".into()),
            ..plain.clone()
        },
        Pending {
            changed_fields: vec!["name".into()],
            ..plain.clone()
        },
        Pending {
            change_id: "a b".into(),
            ..plain.clone()
        },
        Pending {
            change_id: String::new(),
            ..plain.clone()
        },
    ];
    for other in others {
        assert_eq!(other.short(), None, "{other:?}");
    }
}

#[test]
fn a_string_not_of_the_short_form_is_not_read_as_a_change() {
    for text in [
        "",
        "7",
        "7 c7",
        "x c7 000000000000007-000000-dev",
        "-7 c7 000000000000007-000000-dev",
        "7  000000000000007-000000-dev",
        "7 c7 not-a-stamp",
        "7 c7 000000000000007",
        "7 c7 7-0",
    ] {
        assert_eq!(Pending::from_short(text), None, "{text:?}");
    }
}
