//! A first pull's pages into empty stores (src/store/batch/fresh.rs): the first page lists the
//! keys there are, and each later page checks that its keys are absent with two reads instead
//! of one per key, and
//! anything written in between (by the app or by another update), a key written twice, or
//! stores that held records at the start make it read the records again.

use super::*;
use ferrysync_core::join::join;
use ferrysync_core::protocol::ServerRecord;
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
        data: data.as_object().cloned().unwrap_or_default().into(),
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

/// A database the app (`db`) and the store (`store`) have open.
struct Device {
    name: String,
    db: JsValue,
    store: IndexedDb,
    probed: bool,
}

impl Device {
    /// Database `tag` after the app ran `setup`; with `probed`, its key reads are counted from
    /// then on (`PROBES`).
    async fn new(tag: &str, setup: &str, probed: bool) -> Self {
        let name = db_name(tag);
        let db = open(&name, CRM).await.unwrap();
        js(&db, setup).await;
        if probed {
            js(&db, &PROBES.replace("NAME", &format!("{name:?}"))).await;
        }
        let store = store(&name).await;
        Self {
            name,
            db,
            store,
            probed,
        }
    }

    /// [`page`] of `ids` in `collection`.
    async fn page(&self, collection: &str, ids: &[&str], version: u64) -> Vec<String> {
        page(&self.store, &keys(collection, ids), version).await
    }

    /// Pages written as absent and redone reading (`IndexedDb::redone_updates`).
    fn redone(&self) -> u32 {
        self.store.redone_updates()
    }

    /// A global of the page: `probes` or `listings`.
    async fn counted(&self, what: &str) -> f64 {
        let value = js(&self.db, &format!("return {what};")).await;
        value.as_f64().unwrap_or(-1.0)
    }

    async fn done(self) {
        if self.probed {
            js(&self.db, "unprobe();").await;
        }
        self.store.close();
        close_and_delete(&self.db, &self.name).await;
    }
}

#[wasm_bindgen_test]
async fn the_pages_of_a_first_pull_check_no_key_one_by_one() {
    let d = Device::new("fresh", "", true).await;
    assert!(d.page("customers", &["a1", "a2"], 1).await.is_empty());
    assert_eq!(
        d.counted("listings").await,
        2.0,
        "customers and the outbox listed"
    );
    assert!(d.page("customers", &["b1", "b2"], 1).await.is_empty());
    // A collection the run has not written to yet is listed, not checked key by key.
    assert!(d.page("orders", &["o1"], 1).await.is_empty());
    assert_eq!(d.counted("listings").await, 3.0, "orders listed");
    assert_eq!(d.counted("probes").await, 0.0, "no key checked");
    assert_eq!(d.redone(), 0);

    // A key the run wrote already is seen.
    assert_eq!(d.page("customers", &["c1", "a1"], 2).await, ["a1"]);
    assert_eq!(d.redone(), 1, "written as absent, redone reading");
    js(
        &d.db,
        r#"
        eq((await db.all("customers")).map((r) => [r.id, r._sync.version]),
           [["a1", 2], ["a2", 1], ["b1", 1], ["b2", 1], ["c1", 2]], "every page written");
        eq((await db.all("orders")).map((r) => r.id), ["o1"], "orders");
    "#,
    )
    .await;
    d.done().await;
}

#[wasm_bindgen_test]
async fn a_write_between_two_pages_is_seen_by_the_next() {
    let d = Device::new("fresh-write", "", false).await;
    d.page("customers", &["a1", "a2"], 1).await;
    // The app writes a record the next page holds: that page must see it and keep it.
    js(
        &d.db,
        r#"await db.put("customers", { id: "b1", name: "mine" });"#,
    )
    .await;
    let seen = d.page("customers", &["b1", "b2"], 1).await;
    assert_eq!(seen, ["b1"], "the app's write is seen");
    assert_eq!(d.redone(), 1, "written as absent, redone reading");
    js(
        &d.db,
        r#"
        const b1 = await db.get("customers", "b1");
        eq([b1.name, b1._sync.status], ["mine", "UNSYNCED"], "and kept");
    "#,
    )
    .await;
    d.done().await;

    // So is another update's: a store update on another connection (another tab's).
    let d = Device::new("fresh-update", "", false).await;
    d.page("customers", &["c1"], 1).await;
    let mut local = |_: &Key, _: Option<LocalRecord>| {
        let mut r = pulled("d1", 7);
        r.data.insert("name".into(), "updated".into());
        Some(r)
    };
    let other = store(&d.name).await;
    other
        .update(&keys("customers", &["d1"]), &[], &mut local)
        .await
        .unwrap();
    other.close();
    // The next page finds out; the page issued right after it (before it found out) must not
    // take the stamp the first one then leaves for "nothing written since".
    let (next, after) = join(
        d.page("customers", &["e1"], 8),
        d.page("customers", &["d1", "d2"], 8),
    )
    .await;
    assert!(next.is_empty());
    assert_eq!(after, ["d1"], "the update's record is seen");
    assert_eq!(d.redone(), 2, "both pages redone");
    d.done().await;

    // An update on the run's own connection ends it: the next page starts a new run.
    let d = Device::new("fresh-own-update", "", false).await;
    d.page("customers", &["c1"], 1).await;
    d.store
        .update(&keys("customers", &["d1"]), &[], &mut local)
        .await
        .unwrap();
    assert!(d.page("customers", &["d2"], 8).await.is_empty());
    assert_eq!(d.redone(), 0, "a new run: nothing to redo");
    assert_eq!(d.page("customers", &["d1", "d3"], 8).await, ["d1"]);
    assert_eq!(d.redone(), 1, "d1 is known to the new run");
    d.done().await;
}

#[wasm_bindgen_test]
async fn records_there_at_the_start_are_known_by_key() {
    let before = r#"
        await db.put("customers", { id: "x", name: "before" });
        await db.put("orders", { id: "y", name: "before" });
    "#;
    let d = Device::new("fresh-full", before, true).await;
    // The first page lists the keys there are; pages with other keys check none.
    assert!(d.page("customers", &["a1"], 1).await.is_empty());
    assert!(d.page("customers", &["b1"], 1).await.is_empty());
    assert_eq!(d.counted("probes").await, 0.0, "no key checked");
    assert_eq!(d.redone(), 0);
    // A record there before is found.
    assert_eq!(d.page("customers", &["x"], 1).await, ["x"]);
    assert_eq!(d.redone(), 1);
    // So it is by a page issued before the first page of its run decided (the pull's next page).
    let (a, b) = join(
        d.page("customers", &["a2"], 1),
        d.page("customers", &["a3"], 1),
    )
    .await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(d.redone(), 1, "the second took the first's word");
    assert_eq!(d.page("customers", &["x"], 2).await, ["x"]);
    // A first page that finds a key, and the page issued before it decided: both redone.
    let (a, b) = join(
        d.page("customers", &["x"], 3),
        d.page("customers", &["a4"], 3),
    )
    .await;
    assert_eq!((a, b.is_empty()), (vec!["x".to_owned()], true));
    assert_eq!(d.redone(), 4);
    js(
        &d.db,
        r#"
        eq((await db.all("customers")).map((r) => [r.id, r.name, r._sync.status]),
           [["a1", "a1", "SYNCED"], ["a2", "a2", "SYNCED"], ["a3", "a3", "SYNCED"],
            ["a4", "a4", "SYNCED"], ["b1", "b1", "SYNCED"], ["x", "before", "UNSYNCED"]],
           "every page written, the local record kept");
    "#,
    )
    .await;
    d.done().await;

    // A collection the run had not listed (orders) is listed by the first page writing to it.
    let before = r#"await db.put("orders", { id: "y", name: "before" });"#;
    let d = Device::new("fresh-later", before, false).await;
    assert!(d.page("customers", &["a1"], 1).await.is_empty());
    assert_eq!(d.page("orders", &["y"], 1).await, ["y"]);
    assert_eq!(d.redone(), 1);
    js(
        &d.db,
        r#"eq((await db.get("orders", "y")).name, "before", "kept");"#,
    )
    .await;
    d.done().await;
}

#[wasm_bindgen_test]
async fn stores_with_too_many_records_to_list_are_checked_key_by_key() {
    let many = r#"
        const many = Array.from({ length: 20001 }, (_, i) => ({ id: `k${String(i).padStart(5, "0")}` }));
        await db.bulkPut("customers", many);
    "#;
    let d = Device::new("fresh-many", many, true).await;
    // The first page cannot list them all: it is redone reading.
    assert!(d.page("customers", &["a1"], 1).await.is_empty());
    assert_eq!(d.redone(), 1);
    let listings = d.counted("listings").await;
    assert_eq!(d.page("customers", &["k00005"], 1).await, ["k00005"]);
    let before = d.counted("probes").await;
    assert!(d.page("customers", &["b1"], 1).await.is_empty());
    assert!(
        d.counted("probes").await > before,
        "each page checks its keys"
    );
    assert_eq!(
        d.counted("listings").await,
        listings,
        "and lists nothing again"
    );
    d.done().await;
}

#[wasm_bindgen_test]
async fn pulled_fields_are_stored_as_they_came() {
    // A page as the server sends it: spacing, nesting, unicode, numbers, and fields named `id`
    // and `_sync` that the row's own must win over.
    let text = r#"{ "collection": "customers", "id": "p1", "version": 4,
        "data":  { "name" : "Zoë \u2603", "n": -1.5e-3, "tags": ["a", {"b": null}],
                   "id": "not-p1", "_sync": "no", "deep": {"x": [true, false]} } ,
        "hlc": "001700000000000-000000-srv", "deviceId": "srv",
        "updatedAt": "2026-12-07T00:00:00Z" }"#;
    let server: ServerRecord = serde_json::from_str(text).unwrap();
    let record = LocalRecord::from_server(&server, 5).unwrap();
    assert!(record.data.raw().is_some(), "the fields are still text");
    let d = Device::new("fresh-raw", "", false).await;
    let keys = keys("customers", &["p1"]);
    d.store
        .update_if(&[], true, &keys, &[], &mut |_, _| Some(record.clone()))
        .await
        .unwrap()
        .unwrap();
    js(
        &d.db,
        r#"
        const r = await db.get("customers", "p1");
        eq(r, { name: "Zoë \u2603", n: -0.0015, tags: ["a", { b: null }], id: "p1",
                _sync: { status: "SYNCED", version: 4, updatedAt: 5 }, deep: { x: [true, false] } },
           "the row");
    "#,
    )
    .await;
    let stored = d.store.get("customers", "p1").await.unwrap().unwrap();
    let mut fields = record.data.clone().into_inner();
    fields.retain(|k, _| k != "id" && k != "_sync");
    assert_eq!(stored.data, fields, "read back field for field");
    d.done().await;
}
