use serde_json::json;

use super::*;

fn change(device: &str, millis: u64, base: Option<u64>, data: Value, fields: &[&str]) -> Change {
    Change {
        id: "r1".into(),
        change_id: format!("{device}-{millis}"),
        base_version: base,
        hlc: Hlc::new(millis, 0, device),
        device_id: device.into(),
        deleted: data.is_null(),
        changed_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        data: data.into(),
    }
}

fn write(current: Option<&RecordState>, c: &Change, policy: &CollectionPolicy) -> RecordState {
    match decide(current, c, policy) {
        Decision::Write { state, .. } => state,
        other => panic!("expected a write, got {other:?}"),
    }
}

fn policy(strategy: Strategy) -> CollectionPolicy {
    CollectionPolicy {
        strategy,
        ..CollectionPolicy::default()
    }
}

/// Device A creates the record at version 1 (t=100), then B edits it to version 2 (t=200).
fn two_versions() -> RecordState {
    let p = policy(Strategy::NewestWins);
    let v1 = write(
        None,
        &change("a", 100, None, json!({"name": "x", "phone": "1"}), &[]),
        &p,
    );
    write(
        Some(&v1),
        &change(
            "b",
            200,
            Some(1),
            json!({"name": "y", "phone": "1"}),
            &["name"],
        ),
        &p,
    )
}

#[test]
fn first_write_creates_version_one() {
    let state = write(
        None,
        &change("a", 1, None, json!({"n": 1}), &[]),
        &policy(Strategy::Manual),
    );
    assert_eq!(
        (state.version, state.run_base, state.deleted),
        (1, 0, false)
    );
    assert_eq!(state.fields["n"].version, 1);
}

#[test]
fn matching_base_is_no_conflict() {
    let v2 = two_versions();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.data, json!({"name": "y", "phone": "1"}));
    assert_eq!(v2.fields["name"].version, 2);
    assert_eq!(v2.fields["phone"].version, 1);
}

#[test]
fn a_device_never_conflicts_with_its_own_lost_response() {
    let p = policy(Strategy::Manual);
    let v1 = write(None, &change("a", 100, None, json!({"n": 1}), &[]), &p);
    // A's edit from v1 was applied as v2 but A never heard; A edits again, still based on v1.
    let v2 = write(
        Some(&v1),
        &change("a", 200, Some(1), json!({"n": 2}), &[]),
        &p,
    );
    let again = change("a", 300, Some(1), json!({"n": 3}), &[]);
    assert!(!conflicts(&v2, &again));
    let v3 = write(Some(&v2), &again, &p);
    assert_eq!((v3.version, v3.data.clone()), (3, json!({"n": 3})));
    // ...but another device's write in between makes it a real conflict.
    let v4 = write(
        Some(&v3),
        &change("b", 400, Some(3), json!({"n": 4}), &[]),
        &p,
    );
    assert!(conflicts(
        &v4,
        &change("a", 500, Some(1), json!({"n": 5}), &[])
    ));
}

#[test]
fn server_wins_keeps_the_server_version() {
    let stale = change("c", 900, Some(1), json!({"name": "z"}), &["name"]);
    let Decision::Keep { conflict } =
        decide(Some(&two_versions()), &stale, &policy(Strategy::ServerWins))
    else {
        panic!("server_wins must keep");
    };
    assert_eq!((conflict.winner, conflict.open), (Winner::Server, false));
}

#[test]
fn client_wins_overwrites() {
    let stale = change("c", 1, Some(1), json!({"name": "z"}), &["name"]);
    let Decision::Write { state, conflict } =
        decide(Some(&two_versions()), &stale, &policy(Strategy::ClientWins))
    else {
        panic!("client_wins must write");
    };
    assert_eq!(state.data, json!({"name": "z"}));
    assert_eq!(state.version, 3);
    assert_eq!(conflict.map(|c| c.winner), Some(Winner::Client));
}

#[test]
fn newest_wins_compares_stamps_then_device() {
    let current = two_versions(); // stamp (200, 0, "b")
    let p = policy(Strategy::NewestWins);
    let older = change("c", 150, Some(1), json!({"name": "old"}), &["name"]);
    assert!(matches!(
        decide(Some(&current), &older, &p),
        Decision::Keep { .. }
    ));
    let newer = change("c", 250, Some(1), json!({"name": "new"}), &["name"]);
    assert_eq!(
        write(Some(&current), &newer, &p).data,
        json!({"name": "new"})
    );
    // Same millis and counter: device "c" > "b" wins, "a" < "b" loses.
    let tie_c = change("c", 200, Some(1), json!({"name": "c"}), &["name"]);
    assert_eq!(write(Some(&current), &tie_c, &p).data, json!({"name": "c"}));
    let tie_a = change("a", 200, Some(1), json!({"name": "a"}), &["name"]);
    assert!(matches!(
        decide(Some(&current), &tie_a, &p),
        Decision::Keep { .. }
    ));
}

#[test]
fn merge_combines_fields_changed_on_one_side() {
    // Server changed `name` since v1; the client changed `phone` from v1.
    let stale = change(
        "c",
        150,
        Some(1),
        json!({"name": "x", "phone": "2"}),
        &["phone"],
    );
    let Decision::Write { state, conflict } =
        decide(Some(&two_versions()), &stale, &policy(Strategy::Merge))
    else {
        panic!("merge must write");
    };
    assert_eq!(state.data, json!({"name": "y", "phone": "2"}));
    assert_eq!(conflict.map(|c| c.winner), Some(Winner::Merged));
}

#[test]
fn merge_falls_back_to_newest_per_field() {
    let p = policy(Strategy::Merge);
    let older = change(
        "c",
        150,
        Some(1),
        json!({"name": "mine", "phone": "9"}),
        &["name", "phone"],
    );
    let state = write(Some(&two_versions()), &older, &p);
    assert_eq!(state.data, json!({"name": "y", "phone": "9"}));
    let newer = change(
        "c",
        250,
        Some(1),
        json!({"name": "mine", "phone": "1"}),
        &["name"],
    );
    assert_eq!(
        write(Some(&two_versions()), &newer, &p).data,
        json!({"name": "mine", "phone": "1"})
    );
}

#[test]
fn manual_keeps_the_server_version_and_stays_open() {
    let stale = change("c", 999, Some(1), json!({"name": "z"}), &["name"]);
    let Decision::Keep { conflict } =
        decide(Some(&two_versions()), &stale, &policy(Strategy::Manual))
    else {
        panic!("manual must keep");
    };
    assert!(conflict.open);
}

#[test]
fn delete_against_an_edit_is_a_conflict_like_any_other() {
    let p = policy(Strategy::NewestWins);
    let newer_delete = change("c", 300, Some(1), Value::Null, &[]);
    let state = write(Some(&two_versions()), &newer_delete, &p);
    assert!(state.deleted);
    assert_eq!(state.data, Value::Null);
    let older_delete = change("c", 100, Some(1), Value::Null, &[]);
    assert!(matches!(
        decide(Some(&two_versions()), &older_delete, &p),
        Decision::Keep { .. }
    ));
    // An edit from before the delete against the tombstone: newest wins again.
    let revive = change("d", 400, Some(2), json!({"name": "back"}), &["name"]);
    assert_eq!(
        write(Some(&state), &revive, &p).data,
        json!({"name": "back"})
    );
}

#[test]
fn field_policy_max_holds_on_every_write() {
    let mut p = policy(Strategy::ServerWins);
    p.fields.insert("score".into(), FieldPolicy::Max);
    let v1 = write(None, &change("a", 1, None, json!({"score": 7}), &[]), &p);
    let lower = write(
        Some(&v1),
        &change("a", 2, Some(1), json!({"score": 3, "x": 1}), &[]),
        &p,
    );
    assert_eq!(lower.data, json!({"score": 7, "x": 1}));
    // server_wins, yet a higher score from a conflicting change still raises the score.
    let higher = change("b", 3, Some(1), json!({"score": 9, "x": 0}), &[]);
    let Decision::Write { state, conflict } = decide(Some(&lower), &higher, &p) else {
        panic!("a higher score must be written");
    };
    assert_eq!(state.data, json!({"score": 9, "x": 1}));
    assert_eq!(conflict.map(|c| c.winner), Some(Winner::Merged));
}

#[test]
fn wire_names_are_snake_case() {
    let p: CollectionPolicy =
        serde_json::from_value(json!({"strategy": "newest_wins", "fields": {"score": "max"}}))
            .unwrap();
    assert_eq!(p.strategy, Strategy::NewestWins);
    assert_eq!(p.fields["score"], FieldPolicy::Max);
    assert!(serde_json::from_value::<Strategy>(json!("bogus")).is_err());
    assert_eq!(CollectionPolicy::default().strategy, Strategy::NewestWins);
}

#[test]
fn a_newer_identical_write_still_records_its_stamp() {
    let p = policy(Strategy::NewestWins);
    let deleted = write(
        Some(&two_versions()),
        &change("c", 300, Some(2), Value::Null, &[]),
        &p,
    );
    // A concurrent delete from another device, newer still: same data, but its stamp must win.
    let newer = change("d", 400, Some(2), Value::Null, &[]);
    let Decision::Write { state, conflict } = decide(Some(&deleted), &newer, &p) else {
        panic!("the newer delete must be written");
    };
    assert_eq!((state.hlc.millis, state.version), (400, 4));
    assert_eq!(conflict.map(|c| c.winner), Some(Winner::Client));
    // So an older edit now loses against it.
    let older = change("e", 350, Some(2), json!({"name": "late"}), &["name"]);
    assert!(matches!(
        decide(Some(&state), &older, &p),
        Decision::Keep { .. }
    ));
}
