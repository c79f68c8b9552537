//! Browser tests: the JS API and the `IndexedDb` store on real IndexedDB in headless Chromium.
//! Most checks run as small async JS functions against the exported `FerrySync` object, so they
//! exercise exactly what an app calls. Every test uses its own database and deletes it.
#![cfg(target_arch = "wasm32")]

use ferrysync::bindings::FerrySync;
use ferrysync::store::schema::Schema;
use ferrysync::IndexedDb;
use ferrysync_core::{LocalStore, StoreError};
use js_sys::{Function, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CRM: &str =
    r#"{"customers": {"indexes": ["name", "city"]}, "orders": {"indexes": ["customerId"]}}"#;

/// JS helpers every snippet gets: `eq(actual, expected, what)` and `code(promise)`.
const PRELUDE: &str = r#"
const eq = (a, b, what) => { const x = JSON.stringify(a), y = JSON.stringify(b);
  if (x !== y) throw new Error(`${what}: ${x} !== ${y}`); };
const code = async (p) => { try { await p; } catch (e) {
  if (!(e instanceof Error) || e.name !== "FerrysyncError") throw new Error("not a FerrysyncError: " + e);
  return e.code; } throw new Error("expected a rejection"); };
"#;

fn db_name(test: &str) -> String {
    format!("ferrysync-test-{test}-{}", js_sys::Math::random())
}

async fn open(name: &str, collections: &str) -> Result<JsValue, JsValue> {
    let options = JSON::parse(&format!(
        r#"{{"name": "{name}", "collections": {collections}}}"#
    ))?;
    let db = FerrySync::open(tsify::Ts::new_unchecked(options)).await?;
    Ok(db.into())
}

/// Runs `body` as an async JS function of `db` (and `FerrySync`, the class).
async fn js(db: &JsValue, body: &str) -> JsValue {
    let class = Reflect::get(db, &"constructor".into()).unwrap();
    let f = Function::new_with_args(
        "db, FerrySync",
        &format!("{PRELUDE}\nreturn (async () => {{ {body} }})();"),
    );
    let promise = f.call2(&JsValue::NULL, db, &class).expect("snippet runs");
    JsFuture::from(js_sys::Promise::from(promise))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}",
                JSON::stringify(&e)
                    .ok()
                    .and_then(|s| s.as_string())
                    .filter(|s| s != "{}")
                    .unwrap_or_else(|| format!("{e:?}"))
            )
        })
}

async fn close_and_delete(db: &JsValue, name: &str) {
    js(
        db,
        &format!("await db.close(); await FerrySync.deleteDatabase({name:?});"),
    )
    .await;
}

async fn store(name: &str) -> IndexedDb {
    IndexedDb::open(name, &Schema::new())
        .await
        .expect("second connection")
}

#[wasm_bindgen_test]
async fn put_get_all_count_and_sync_metadata() {
    let name = db_name("basics");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        const input = { name: "ABC Company", phone: "555-1234" };
        const c = await db.put("customers", input);
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(c.id)) throw new Error("not a uuid v4: " + c.id);
        eq(input, { name: "ABC Company", phone: "555-1234" }, "the app's object is not modified");
        eq(c._sync.status, "UNSYNCED", "status");
        eq(c._sync.version, undefined, "no version before sync");
        if (typeof c._sync.updatedAt !== "number" || c._sync.updatedAt < 1.6e12) throw new Error("updatedAt");
        const got = await db.get("customers", c.id);
        eq(got, c, "get returns the stored record");
        eq(await db.get("customers", "missing"), undefined, "missing is undefined");
        const mine = await db.put("customers", { id: "fixed", name: "Zed", _sync: { status: "SYNCED" } });
        eq(mine.id, "fixed", "given ids are kept");
        eq(mine._sync.status, "UNSYNCED", "_sync from the app is ignored");
        eq((await db.all("customers")).length, 2, "all");
        eq(await db.count("customers"), 2, "count");
        eq(await db.count("orders"), 0, "count of an empty collection");
        eq(await db.pending(), 2, "pending");
        if (typeof db.deviceId !== "string" || db.deviceId.length < 10) throw new Error("deviceId");
    "#).await;
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn exotic_values_round_trip_exactly_without_maps() {
    let name = db_name("values");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        const value = { id: "x", nested: { deep: { list: [1, [2, [3]], { a: null }] } }, empty: {}, none: [],
          ints: [0, -1, 42, 9007199254740991, -9007199254740991], floats: [0.1, -2.5, 1e-300, 1.7976931348623157e308],
          yes: true, no: false, nothing: null, text: "héllo — 世界 🚀 \u0000 \"quoted\"", "key with spaces ✓": 1 };
        await db.put("customers", value);
        for (const read of [await db.get("customers", "x"), (await db.all("customers"))[0]]) {
          const { _sync, ...rest } = read;
          eq(rest, value, "round trip");
          const noMaps = (v) => { if (v instanceof Map) throw new Error("a Map leaked");
            if (v && typeof v === "object") Object.values(v).forEach(noMaps); };
          noMaps(read);
        }
    "#).await;
    js(&db, "await db.close();").await;
    // The engine's view (serde values) of the same record.
    let store = store(&name).await;
    let record = store.get("customers", "x").await.unwrap().expect("record");
    assert_eq!(record.data["floats"][1], serde_json::json!(-2.5));
    assert_eq!(
        record.data["ints"][3],
        serde_json::json!(9007199254740991_i64)
    );
    assert_eq!(
        record.data["text"],
        serde_json::json!("héllo — 世界 🚀 \u{0} \"quoted\"")
    );
    assert!(!record.data.contains_key("id") && !record.data.contains_key("_sync"));
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn bigints_reach_the_engine_as_exact_integers() {
    let name = db_name("bigint");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.put("customers", { id: "b", big: 9007199254740993n, small: -5n });
        const again = await db.put("customers", { id: "b", big: 9007199254740993n, small: -6n });
        if (again.small !== -6n) throw new Error("the app reads its BigInt back");
    "#,
    )
    .await;
    js(&db, "await db.close();").await;
    let store = store(&name).await;
    let expected = serde_json::json!({ "big": 9007199254740993_u64, "small": -6 });
    let record = store.get("customers", "b").await.unwrap().expect("record");
    assert_eq!(
        serde_json::Value::Object(record.data.into_inner()),
        expected
    );
    let outbox = store.outbox(None, 10).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(outbox[0].1.data.clone().into_inner()),
        expected
    );
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn bulk_put_and_queries() {
    let name = db_name("query");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        const names = ["Ada", "Bob", "Bea", "Cy", "Abe", "Dee"];
        const rows = await db.bulkPut("customers", names.map((name, i) => ({ id: "c" + i, name, city: i % 2 ? "Oslo" : "Rome", n: i })));
        eq(rows.map(r => r.id), ["c0", "c1", "c2", "c3", "c4", "c5"], "bulkPut returns the rows in order");
        const ids = (rs) => rs.map(r => r.name);
        eq(ids(await db.query("customers", { index: "name", gte: "A", lt: "B" })), ["Abe", "Ada"], "range");
        eq(ids(await db.query("customers", { index: "name", gt: "Abe", lte: "Bob" })), ["Ada", "Bea", "Bob"], "open/closed bounds");
        eq(ids(await db.query("customers", { index: "name", limit: 2, reverse: true })), ["Dee", "Cy"], "reverse + limit");
        eq(ids(await db.query("customers", { index: "name", gte: "B", reverse: true })), ["Dee", "Cy", "Bob", "Bea"], "reverse");
        eq(ids(await db.query("customers", { index: "city", eq: "Oslo" })), ["Bob", "Cy", "Dee"], "eq");
        eq(ids(await db.query("customers", { gte: "c4" })), ["Abe", "Dee"], "by id");
        eq(ids(await db.query("customers", {})), names, "everything");
        eq((await db.all("customers")).map(r => r.id), ["c0", "c1", "c2", "c3", "c4", "c5"], "all by id");
        eq(await db.count("customers"), 6, "count");
        eq(await code(db.query("customers", { index: "name", gt: "A", gte: "A" })), "INVALID_QUERY", "gt+gte");
        eq(await code(db.query("customers", { index: "name", eq: "A", lt: "B" })), "INVALID_QUERY", "eq+range");
        eq(await code(db.query("customers", { index: "phone" })), "INVALID_QUERY", "unknown index");
        eq(await code(db.query("customers", { index: "name", gte: "B", lte: "A" })), "INVALID_QUERY", "lower > upper");
        eq(await code(db.query("customers", { index: "name", gte: {} })), "INVALID_QUERY", "not a key");
        eq(await code(db.query("customers", { limit: "2" })), "INVALID_QUERY", "a limit that is no number");
        eq(ids(await db.query("customers", { index: null, gte: null, limit: null })), names, "null is not given");
    "#).await;
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn an_empty_bulk_put_writes_nothing() {
    let name = db_name("empty-bulk");
    let db = open(&name, CRM).await.unwrap();
    js(&db, &format!(r#"
        const req = (r) => new Promise((ok, err) => {{ r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); }});
        const clock = async () => {{
          const d = await req(indexedDB.open({name:?}));
          try {{ return await req(d.transaction("_outbox").objectStore("_outbox").get("\u0000clock")); }} finally {{ d.close(); }}
        }};
        await db.put("customers", {{ id: "a" }});
        const before = await clock();
        eq(await db.bulkPut("customers", []), [], "no rows");
        eq(await clock(), before, "no write: the clock entry is as it was");
        eq(await db.pending(), 1, "pending as it was");
        eq(await code(db.bulkPut("nope", [])), "UNKNOWN_COLLECTION", "the collection is still checked");
    "#)).await;
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn delete_hides_the_record_and_keeps_a_tombstone() {
    let name = db_name("delete");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.bulkPut("customers", [{ id: "a", name: "A" }, { id: "b", name: "B" }]);
        await db.delete("customers", "a");
        eq(await db.get("customers", "a"), undefined, "get hides tombstones");
        eq((await db.all("customers")).map(r => r.id), ["b"], "all hides tombstones");
        eq(await db.count("customers"), 1, "count hides tombstones");
        eq((await db.query("customers", { index: "name" })).length, 1, "query hides tombstones");
        eq(await db.pending(), 2, "the tombstone still waits for the server");
        await db.delete("customers", "never-existed");
        await db.delete("customers", "a");
        eq(await db.pending(), 2, "deleting nothing writes nothing");
    "#,
    )
    .await;
    js(&db, "await db.close();").await;
    let store = store(&name).await;
    let tomb = store
        .get("customers", "a")
        .await
        .unwrap()
        .expect("tombstone kept");
    assert!(tomb.deleted && tomb.pending.is_some());
    assert_eq!(store.get("customers", "never-existed").await.unwrap(), None);
    let outbox = store.outbox(None, 10).await.unwrap();
    assert!(outbox
        .iter()
        .any(|(c, r)| c == "customers" && r.id == "a" && r.deleted));
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn edits_before_sync_coalesce_into_one_pending_change() {
    let name = db_name("coalesce");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.put("customers", { id: "a", name: "A", city: "Rome" });
        await db.put("customers", { id: "a", name: "A2", city: "Rome" });
        await db.put("customers", { id: "b", name: "B" });
        await db.put("customers", { id: "a", name: "A3", city: "Oslo" });
    "#,
    )
    .await;
    js(&db, "await db.close();").await;
    let store = store(&name).await;
    let outbox = store.outbox(None, 10).await.unwrap();
    let ids: Vec<&str> = outbox.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["a", "b"],
        "one change per record, first edit's position"
    );
    let a = &outbox[0].1;
    assert_eq!(a.data["name"], serde_json::json!("A3"));
    let pending = a.pending.as_ref().unwrap();
    assert!(
        pending.changed_fields.is_empty(),
        "a new record is pushed whole"
    );
    assert_eq!(pending.base_version, None);
    // The server acknowledges version 3; later edits coalesce to the union of changed fields.
    let key = ("customers".to_owned(), "a".to_owned());
    store
        .update(&[key], &[], &mut |_, r| {
            let mut r = r.unwrap();
            r.pending = None;
            r.sync.status = ferrysync_core::SyncStatus::Synced;
            r.sync.version = Some(3);
            Some(r)
        })
        .await
        .unwrap();
    store.close();
    let db = open(&name, CRM).await.unwrap();
    let first_change = js(
        &db,
        r#"
        eq(await db.pending(), 1, "only b is unsynced after the ack");
        const { status, version } = (await db.get("customers", "a"))._sync;
        eq([status, version], ["SYNCED", 3], "synced");
        await db.put("customers", { id: "a", name: "A4", city: "Oslo" });
        await db.put("customers", { id: "a", name: "A4", city: "Oslo", phone: "1" });
        eq(await db.pending(), 2, "a is unsynced again, once");
        await db.close();
    "#,
    )
    .await;
    assert!(first_change.is_undefined());
    let store = self::store(&name).await;
    let a = store.get("customers", "a").await.unwrap().unwrap();
    let pending = a.pending.unwrap();
    assert_eq!(pending.changed_fields, ["name", "phone"]);
    assert_eq!(pending.base_version, Some(3));
    assert_eq!(store.outbox(None, 10).await.unwrap().len(), 2);
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn subscribers_see_local_changes_until_they_unsubscribe() {
    let name = db_name("subscribe");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        const seen = [];
        const off = db.subscribe("customers", (changes) => seen.push(...changes.map(c => [c.op, c.collection, c.id, c.record?.name])));
        const other = db.subscribe("orders", () => { throw new Error("a throwing subscriber does not fail writes"); });
        await db.put("customers", { id: "a", name: "A" });
        await db.bulkPut("customers", [{ id: "b", name: "B" }, { id: "c", name: "C" }]);
        await db.delete("customers", "a");
        await db.put("orders", { id: "o1" });
        eq(seen, [["put", "customers", "a", "A"], ["put", "customers", "b", "B"], ["put", "customers", "c", "C"],
                  ["delete", "customers", "a", null]], "events");
        off(); other();
        await db.put("customers", { id: "d", name: "D" });
        eq(seen.length, 4, "nothing after unsubscribing");
        eq(await code((async () => db.subscribe("nope", () => {}))()), "UNKNOWN_COLLECTION", "subscribe checks the collection");
    "#).await;
    close_and_delete(&db, &name).await;
}

#[wasm_bindgen_test]
async fn a_failed_write_leaves_nothing_half_written() {
    let name = db_name("atomic");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        await db.put("customers", { id: "keep", name: "K" });
        // The third row cannot be cloned: its put throws after the first two were issued in the
        // same transaction, which is then aborted.
        const bad = [{ id: "a", name: "A" }, { id: "keep", name: "changed" }, { id: "c", f: Symbol("x") }];
        eq(await code(db.bulkPut("customers", bad)), "INVALID_RECORD", "rejected");
        eq((await db.all("customers")).map(r => [r.id, r.name]), [["keep", "K"]], "no row written or changed");
        eq(await db.pending(), 1, "no change record written");
        eq(await db.count("customers"), 1, "count");
    "#).await;
    js(&db, "await db.close();").await;
    let store = store(&name).await;
    assert_eq!(store.outbox(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.get("customers", "a").await.unwrap(), None);
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[path = "web/acks.rs"]
mod acks;
#[path = "web/errors.rs"]
mod errors;
#[path = "web/fresh.rs"]
mod fresh;
#[path = "web/layout.rs"]
mod layout;
#[path = "web/lifecycle.rs"]
mod lifecycle;
