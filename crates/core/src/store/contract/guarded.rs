//! `update_if` writes only while the meta entries it expects hold, checked in its own
//! transaction, and otherwise writes nothing at all.

use serde_json::{json, Value};

use super::{data, edit, key};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};

pub(super) async fn update_if_writes_only_while_meta_holds<S: LocalStore>(store: &S) {
    let write = |value: i64| {
        move |(_, id): &Key, old: Option<LocalRecord>| {
            Some(LocalRecord::write(
                old,
                id,
                data(json!({ "x": value })),
                edit(1),
            ))
        }
    };
    let x = |record: Option<LocalRecord>| record.and_then(|r| r.data.get("x").cloned());
    // Absent entries count as null.
    let expect_absent = [("cursor", Value::Null), ("pullOwn", Value::Null)];
    let written = store
        .update_if(
            &expect_absent,
            &[key("items", "a")],
            &[("cursor", json!("c1"))],
            &mut write(1),
        )
        .await
        .expect("update_if");
    assert_eq!(
        written.map(|w| w.len()),
        Some(1),
        "written while the entries hold"
    );
    assert_eq!(store.meta("cursor").await.expect("meta"), Some(json!("c1")));
    // The cursor moved: nothing is written, neither rows nor meta, and `f` is not called.
    let mut called = false;
    let stale = store
        .update_if(
            &[("cursor", Value::Null)],
            &[key("items", "a"), key("items", "b")],
            &[("cursor", json!("c2")), ("pullOwn", json!(false))],
            &mut |k, old| {
                called = true;
                write(2)(k, old)
            },
        )
        .await
        .expect("update_if");
    assert!(stale.is_none() && !called);
    assert_eq!(store.meta("cursor").await.expect("meta"), Some(json!("c1")));
    assert_eq!(store.meta("pullOwn").await.expect("meta"), None);
    assert_eq!(
        x(store.get("items", "a").await.expect("get")),
        Some(json!(1))
    );
    assert_eq!(store.get("items", "b").await.expect("get"), None);
    // An entry set to null matches null too; a mismatch in any one entry stops the update.
    store
        .update(&[], &[("cursor", Value::Null)], &mut |_, old| old)
        .await
        .expect("meta-only update");
    let mixed = [("cursor", Value::Null), ("pullOwn", json!(true))];
    let stale = store
        .update_if(&mixed, &[key("items", "a")], &[], &mut write(3))
        .await
        .expect("update_if");
    assert!(stale.is_none());
    let fresh = store
        .update_if(&expect_absent, &[key("items", "a")], &[], &mut write(4))
        .await
        .expect("update_if");
    assert!(fresh.is_some());
    assert_eq!(
        x(store.get("items", "a").await.expect("get")),
        Some(json!(4))
    );
}
