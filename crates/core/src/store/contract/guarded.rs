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
            false,
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
            false,
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
        .update_if(&mixed, false, &[key("items", "a")], &[], &mut write(3))
        .await
        .expect("update_if");
    assert!(stale.is_none());
    let fresh = store
        .update_if(
            &expect_absent,
            false,
            &[key("items", "a")],
            &[],
            &mut write(4),
        )
        .await
        .expect("update_if");
    assert!(fresh.is_some());
    assert_eq!(
        x(store.get("items", "a").await.expect("get")),
        Some(json!(4))
    );

    // Assuming the keys absent: right when they are, and redone with the rows when one is not.
    let keys = [key("other", "n1"), key("other", "n2")];
    let mut seen = Vec::new();
    let fresh = store
        .update_if(&expect_absent, true, &keys, &[], &mut |k, old| {
            seen.push((k.1.clone(), old.is_some()));
            write(5)(k, old)
        })
        .await
        .expect("update_if")
        .expect("the entries hold");
    assert!(fresh.iter().all(Option::is_some));
    assert_eq!(seen.last(), Some(&("n2".to_owned(), false)));
    let mut seen = Vec::new();
    let keys = [key("other", "n3"), key("other", "n1")];
    let written = store
        .update_if(&expect_absent, true, &keys, &[], &mut |k, old| {
            seen.push((k.1.clone(), old.as_ref().map(|r| r.data["x"].clone())));
            write(6)(k, old)
        })
        .await
        .expect("update_if")
        .expect("the entries hold");
    // Whatever was tried first, the last call for n1 saw its row, and that is what was written.
    let last_n1 = seen.iter().rev().find(|(id, _)| id == "n1").cloned();
    assert_eq!(last_n1, Some(("n1".to_owned(), Some(json!(5)))));
    let n1 = written[1].clone().expect("n1 written");
    assert_eq!(n1.data["x"], json!(6));
    assert_eq!(
        store.get("other", "n1").await.expect("get"),
        Some(n1),
        "stored as the last call returned"
    );
    assert_eq!(
        x(store.get("other", "n3").await.expect("get")),
        Some(json!(6))
    );
    // Assuming, and the entries do not hold: nothing is written at all.
    let stale = store
        .update_if(
            &mixed,
            true,
            &[key("other", "n4")],
            &[("cursor", json!("c9"))],
            &mut write(7),
        )
        .await
        .expect("update_if");
    assert!(stale.is_none());
    assert_eq!(store.get("other", "n4").await.expect("get"), None);
    assert_eq!(store.meta("cursor").await.expect("meta"), Some(Value::Null));
}
