use std::collections::HashMap;

use ferrysync_core::protocol::{Change, ResultStatus};
use serde_json::json;

use super::{placeholders, plan, Current, PushItem};

#[test]
fn placeholders_number_rows_and_columns() {
    assert_eq!(placeholders('$', 3, 2, 1), "$3, $4");
    assert_eq!(placeholders('?', 1, 2, 3), "(?, ?, ?), (?, ?, ?)");
}

fn item(id: &str, change_id: &str, base: Option<u64>, millis: u64) -> PushItem {
    PushItem {
        collection: "notes".to_owned(),
        change: Change {
            id: id.to_owned(),
            change_id: change_id.to_owned(),
            base_version: base,
            hlc: format!("{millis:015}-000000-phone").parse().unwrap(),
            device_id: "phone".to_owned(),
            deleted: false,
            changed_fields: Vec::new(),
            data: json!({ "n": millis }).into(),
        },
        policy: Default::default(),
        sent_hlc: None,
    }
}

#[test]
fn a_push_in_memory_applies_its_changes_one_after_another() {
    let items = [
        item("a", "c1", None, 1),
        item("b", "c2", None, 2),
        item("a", "c3", Some(1), 3),
        item("a", "c1", None, 1),
    ];
    let plan = plan(&items, Current::new(), HashMap::new(), 7).unwrap();
    let statuses: Vec<_> = plan.results.iter().map(|r| (r.status, r.version)).collect();
    assert_eq!(
        statuses,
        [
            (ResultStatus::Applied, Some(1)),
            (ResultStatus::Applied, Some(1)),
            (ResultStatus::Applied, Some(2)),
            (ResultStatus::Skipped, Some(1)),
        ]
    );
    assert_eq!(plan.results[3].reason.as_deref(), Some("duplicate"));
    // `a` is stored once, at its final state, after `b` (its last write came later).
    let written: Vec<_> = plan
        .records
        .iter()
        .map(|((_, id), s)| (id.as_str(), s.version))
        .collect();
    assert_eq!(written, [("b", 1), ("a", 2)]);
    assert_eq!(plan.processed.len(), 3);
    assert!(plan.conflicts.is_empty());
}
