//! Batch reads find every record whatever the spread of its keys: a store may read a run of
//! neighbouring keys at once and a few keys among many one by one (IndexedDB's `getMany`).

use serde_json::json;

use super::{data, edit, key, settle};
use crate::record::LocalRecord;
use crate::store::{Key, LocalStore};

pub(super) async fn batch_reads_find_records_whatever_their_spread<S: LocalStore>(store: &S) {
    let ids: Vec<String> = (0..300).map(|i| format!("k{i:03}")).collect();
    let keys: Vec<Key> = ids.iter().map(|id| key("items", id)).collect();
    let mut seq = 0;
    store
        .update(&keys, &[], &mut |(_, id), _| {
            seq += 1;
            Some(LocalRecord::write(
                None,
                id,
                data(json!({ "n": id })),
                edit(seq),
            ))
        })
        .await
        .expect("write");
    // Every other record settled: its row has no outbox entry.
    let settled: Vec<Key> = keys.iter().skip(1).step_by(2).cloned().collect();
    settle(store, &settled, 1).await;

    let all: Vec<&str> = ids.iter().map(String::as_str).collect();
    // Neighbours; a few among many; an absent key among neighbours; absent keys spread out;
    // every key.
    for wanted in [
        vec!["k010", "k011", "k012", "k013"],
        vec!["k000", "k150", "k299"],
        vec!["k020", "k020a", "k021"],
        vec!["k010", "k010a", "k012", "zzz", "a"],
        all,
    ] {
        let keys: Vec<Key> = wanted
            .iter()
            .map(|id| key("items", id))
            .chain([key("other", "k010")])
            .collect();
        let mut seen = Vec::new();
        store
            .update(&keys, &[], &mut |(c, id), record| {
                seen.push((c.clone(), id.clone(), record.clone()));
                record
            })
            .await
            .expect("read");
        assert_eq!(seen.len(), keys.len());
        for (collection, id, record) in seen {
            let exists = collection == "items" && ids.contains(&id);
            assert_eq!(record.is_some(), exists, "{collection}/{id}");
            if let Some(record) = record {
                assert_eq!(
                    (record.id.as_str(), record.data.get("n")),
                    (id.as_str(), Some(&json!(id)))
                );
                let settled = id[1..].parse::<u32>().is_ok_and(|n| n % 2 == 1);
                assert_eq!(record.pending.is_none(), settled, "{id}");
            }
        }
    }
    // The outbox reads rows it knows exist, in outbox order.
    let outbox = store.outbox(None, 1000).await.expect("outbox");
    let ids_read: Vec<&str> = outbox.iter().map(|(_, r)| r.id.as_str()).collect();
    let unsynced: Vec<&str> = ids.iter().step_by(2).map(String::as_str).collect();
    assert_eq!(ids_read, unsynced);
    for (_, record) in &outbox {
        assert_eq!(record.data.get("n"), Some(&json!(record.id)));
    }
}
