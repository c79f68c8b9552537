//! A first pull's pages into empty stores (src/store/batch/fresh.rs): after the first page,
//! each page checks that its keys are absent with two reads instead of one per key, and
//! anything written in between (by the app or by another update), a key written twice, or
//! stores that held records at the start make it read the records again.

use super::*;
use ferrysync_core::join::join;
use ferrysync_core::record::{LocalRecord, SyncMeta, SyncStatus};
use ferrysync_core::store::Key;

/// Counts, in database NAME until `unprobe()`, the listings of whole stores (`getAllKeys` with a
/// count of 20,001, `MAX_LISTED` + 1) into `globalThis.listings` and the other key reads (per-key
/// checks: `getKey`, `getAllKeys` of a span) into `globalThis.probes`.
const PROBES: &str = r#"
const { getKey, getAllKeys } = IDBObjectStore.prototype;
Object.assign(globalThis, { probes: 0, listings: 0 });
const mine = (s) => s.transaction.db.name === NAME;
IDBObjectStore.prototype.getKey = function (...a) { if (mine(this)) probes++; return getKey.apply(this, a); };
IDBObjectStore.prototype.getAllKeys = function (...a) {
  if (mine(this)) { if (a[1] === 20001) listings++; else probes++; }
  return getAllKeys.apply(this, a);
};
globalThis.unprobe = () => Object.assign(IDBObjectStore.prototype, { getKey, getAllKeys });
"#;

fn keys(collection: &str, ids: &[&str]) -> Vec<Key> {
    ids.iter()
        .map(|id| (collection.to_owned(), (*id).to_owned()))
        .collect()
}

/// A pulled record at `version`.
fn pulled(id: &str, version: u64) -> LocalRecord {
    let data = serde_json::json!({ "name": id });
    LocalRecord {
        id: id.to_owned(),
        data: data.as_object().cloned().unwrap_or_default(),
        deleted: false,
        sync: SyncMeta {
            status: SyncStatus::Synced,
            version: Some(version),
            updated_at: 1,
        },
        pending: None,
    }
}

/// One page of a first pull, as the engine writes it (a pending local record is kept): what
/// the last call for each key saw there (ids with a record).
async fn page(store: &IndexedDb, keys: &[Key], version: u64) -> Vec<String> {
    let mut seen: Vec<(String, bool)> = Vec::new();
    let written = store
        .update_if(&[], true, keys, &[], &mut |(_, id), old| {
            seen.retain(|(s, _)| s != id);
            seen.push((id.clone(), old.is_some()));
            match old {
                Some(local) if local.pending.is_some() => Some(local),
                _ => Some(pulled(id, version)),
            }
        })
        .await
        .expect("update_if")
        .expect("no meta expected");
    assert_eq!(written.len(), keys.len());
    seen.into_iter()
        .filter_map(|(id, had)| had.then_some(id))
        .collect()
}

async fn probes(db: &JsValue) -> f64 {
    js(db, "return probes;").await.as_f64().unwrap_or(-1.0)
}

#[wasm_bindgen_test]
async fn later_pages_of_a_first_pull_check_two_entries_not_every_key() {
    let name = db_name("fresh");
    let db = open(&name, CRM).await.unwrap();
    js(&db, &PROBES.replace("NAME", &format!("{name:?}"))).await;
    let store = store(&name).await;
    assert!(page(&store, &keys("customers", &["a1", "a2"]), 1)
        .await
        .is_empty());
    let first = probes(&db).await;
    assert!(first > 0.0, "the first page checks its keys");
    assert!(page(&store, &keys("customers", &["b1", "b2"]), 1)
        .await
        .is_empty());
    // A collection the run has not written to yet is checked for being empty, not per key.
    assert!(page(&store, &keys("orders", &["o1"]), 1).await.is_empty());
    assert_eq!(probes(&db).await, first, "later pages check no key");
    assert_eq!(store.redone_updates(), 0);

    // A key the run wrote already is read, and seen.
    let seen = page(&store, &keys("customers", &["c1", "a1"]), 2).await;
    assert_eq!(seen, ["a1"]);
    assert_eq!(
        store.redone_updates(),
        1,
        "written as absent, then redone reading"
    );
    js(
        &db,
        r#"
        unprobe();
        eq((await db.all("customers")).map((r) => [r.id, r._sync.version]),
           [["a1", 2], ["a2", 1], ["b1", 1], ["b2", 1], ["c1", 2]], "every page written");
        eq((await db.all("orders")).map((r) => r.id), ["o1"], "orders");
    "#,
    )
    .await;
    store.close();
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn a_write_between_two_pages_is_seen_by_the_next() {
    let name = db_name("fresh-write");
    let db = open(&name, CRM).await.unwrap();
    let store = store(&name).await;
    page(&store, &keys("customers", &["a1", "a2"]), 1).await;
    // The app writes a record the next page holds: that page must see it and keep it.
    js(
        &db,
        r#"await db.put("customers", { id: "b1", name: "mine" });"#,
    )
    .await;
    let seen = page(&store, &keys("customers", &["b1", "b2"]), 1).await;
    assert_eq!(seen, ["b1"], "the app's write is seen");
    assert_eq!(
        store.redone_updates(),
        1,
        "written as absent, then redone reading"
    );
    js(
        &db,
        r#"
        const b1 = await db.get("customers", "b1");
        eq([b1.name, b1._sync.status], ["mine", "UNSYNCED"], "and kept");
    "#,
    )
    .await;

    store.close();
    close_and_delete(&db, &name).await;

    // So is another update's (a store update; here on the same connection).
    let name = db_name("fresh-update");
    let db = open(&name, CRM).await.unwrap();
    let store = self::store(&name).await;
    page(&store, &keys("customers", &["c1"]), 1).await;
    let mut local = |_: &Key, _: Option<LocalRecord>| {
        let mut r = pulled("d1", 7);
        r.data.insert("name".into(), "updated".into());
        Some(r)
    };
    store
        .update(&keys("customers", &["d1"]), &[], &mut local)
        .await
        .unwrap();
    // The next page finds out; the page issued right after it (before it found out) must not
    // take the stamp the first one then leaves for "nothing written since".
    let (next, after) = join(
        page(&store, &keys("customers", &["e1"]), 8),
        page(&store, &keys("customers", &["d1", "d2"]), 8),
    )
    .await;
    assert!(next.is_empty());
    assert_eq!(after, ["d1"], "the update's record is seen");
    assert_eq!(store.redone_updates(), 2, "both pages redone");
    store.close();
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn records_there_at_the_start_are_known_by_key() {
    let name = db_name("fresh-full");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.put("customers", { id: "x", name: "before" });
        await db.put("orders", { id: "y", name: "before" });
    "#,
    )
    .await;
    js(&db, &PROBES.replace("NAME", &format!("{name:?}"))).await;
    let store = store(&name).await;
    // The first page lists the keys there are; later pages with other keys check none.
    assert!(page(&store, &keys("customers", &["a1"]), 1)
        .await
        .is_empty());
    let first = probes(&db).await;
    assert!(page(&store, &keys("customers", &["b1"]), 1)
        .await
        .is_empty());
    assert_eq!(probes(&db).await, first, "no key checked");
    // A record there before is found.
    assert_eq!(page(&store, &keys("customers", &["x"]), 1).await, ["x"]);
    assert_eq!(store.redone_updates(), 1);
    // So it is by a page issued before the first page of its run decided (the pull's next page).
    let (a, b) = join(
        page(&store, &keys("customers", &["a2"]), 1),
        page(&store, &keys("customers", &["a3"]), 1),
    )
    .await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(page(&store, &keys("customers", &["x"]), 2).await, ["x"]);
    js(&db, "unprobe();").await;
    // A collection the run had not listed (orders) is listed by the first page writing to it.
    let name2 = db_name("fresh-later");
    let db2 = open(&name2, CRM).await.unwrap();
    js(
        &db2,
        r#"await db.put("orders", { id: "y", name: "before" });"#,
    )
    .await;
    let store2 = self::store(&name2).await;
    assert!(page(&store2, &keys("customers", &["a1"]), 1)
        .await
        .is_empty());
    assert_eq!(page(&store2, &keys("orders", &["y"]), 1).await, ["y"]);
    assert_eq!(store2.redone_updates(), 1);
    js(
        &db2,
        r#"eq((await db.get("orders", "y")).name, "before", "kept");"#,
    )
    .await;
    store.close();
    store2.close();
    close_and_delete(&db, &name).await;
    close_and_delete(&db2, &name2).await;
}

#[wasm_bindgen_test]
async fn stores_with_too_many_records_to_list_are_checked_key_by_key() {
    let name = db_name("fresh-many");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        const many = Array.from({ length: 20001 }, (_, i) => ({ id: `k${String(i).padStart(5, "0")}` }));
        await db.bulkPut("customers", many);
    "#,
    )
    .await;
    js(&db, &PROBES.replace("NAME", &format!("{name:?}"))).await;
    let store = store(&name).await;
    assert!(page(&store, &keys("customers", &["a1"]), 1)
        .await
        .is_empty());
    let listings = js(&db, "return listings;").await.as_f64();
    assert_eq!(
        page(&store, &keys("customers", &["k00005"]), 1).await,
        ["k00005"]
    );
    let before = probes(&db).await;
    assert!(page(&store, &keys("customers", &["b1"]), 1)
        .await
        .is_empty());
    assert!(probes(&db).await > before, "each page checks its keys");
    assert_eq!(
        js(&db, "return listings;").await.as_f64(),
        listings,
        "and lists nothing again"
    );
    js(&db, "unprobe();").await;
    store.close();
    close_and_delete(&db, &name).await;
}
