//! Schema upgrades, concurrency, blocked opens, quota errors and the `LocalStore` contract.

use super::*;

#[wasm_bindgen_test]
async fn schema_upgrades_keep_records_and_pending_changes_and_never_shrink() {
    let name = db_name("upgrade");
    let db = open(&name, r#"{"customers": {"indexes": ["name"]}}"#)
        .await
        .unwrap();
    let device = js(&db, r#"
        await db.bulkPut("customers", [{ id: "a", name: "A", city: "Rome" }, { id: "b", name: "B", city: "Oslo" }]);
        await db.delete("customers", "b");
        await db.close();
        return db.deviceId;
    "#).await;
    // A new index and a new collection: versionchange, nothing lost.
    let db = open(
        &name,
        r#"{"customers": {"indexes": ["name", "city"]}, "orders": {}}"#,
    )
    .await
    .unwrap();
    js(&db, &format!(r#"
        eq(db.deviceId, {device:?}, "device id is stable across reopen");
        eq(await db.pending(), 2, "pending changes survive the upgrade");
        eq((await db.query("customers", {{ index: "city", eq: "Rome" }})).map(r => r.id), ["a"], "new index covers old rows");
        await db.put("orders", {{ id: "o1", total: 5 }});
        await db.close();
    "#, device = device.as_string().unwrap())).await;
    // An older, smaller schema: nothing is dropped, every store and index stays usable.
    let db = open(&name, r#"{"customers": {}}"#).await.unwrap();
    js(
        &db,
        r#"
        eq(await db.count("orders"), 1, "orders kept");
        eq((await db.query("customers", { index: "city", eq: "Rome" })).length, 1, "index kept");
        eq(await db.pending(), 3, "pending kept");
        await db.close();
    "#,
    )
    .await;
    let store = store(&name).await;
    let outbox: Vec<String> = store
        .outbox(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(outbox, ["a", "b", "o1"]);
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn concurrent_calls_from_js_all_succeed() {
    let name = db_name("concurrent");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        const puts = Array.from({ length: 200 }, (_, i) => db.put("customers", { id: "c" + i, name: "N" + i }));
        const mixed = [db.count("customers"), db.all("customers"), db.pending(), db.bulkPut("orders", [{ x: 1 }, { x: 2 }]),
                       db.put("customers", { id: "c0", name: "again" }), db.query("customers", { index: "name", limit: 3 })];
        const results = await Promise.all([...puts, ...mixed]);
        eq(results.length, 206, "every call resolved");
        eq(await db.count("customers"), 200, "all written");
        eq((await db.get("customers", "c0")).name, "again", "calls apply in call order");
        eq(await db.pending(), 202, "one change per record");
    "#).await;
    js(&db, "await db.close();").await;
    let store = store(&name).await;
    let outbox = store.outbox(None, 1000).await.unwrap();
    let mut seqs: Vec<u64> = outbox
        .iter()
        .map(|(_, r)| r.pending.as_ref().unwrap().seq)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "outbox positions are distinct and ordered"
    );
    seqs.dedup();
    assert_eq!(seqs.len(), 202);
    // The engine's clock keys see the app's writes (kept in one `clock` meta entry).
    // 203 edits; the second edit of c0 coalesced into its first pending change.
    let seq = store.meta("seq").await.unwrap();
    assert_eq!(seq.and_then(|v| v.as_u64()), Some(203));
    let hlc = store.meta("hlc").await.unwrap().unwrap();
    let hlc: ferrysync_core::Hlc = hlc.as_str().unwrap().parse().unwrap();
    assert!(hlc.millis > 0);
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_upgrade_blocked_by_another_connection_fails_with_db_blocked() {
    let name = db_name("blocked");
    let db = open(&name, CRM).await.unwrap();
    js(&db, &format!(r#"
        await db.close();
        // A connection that, unlike ferrysync's, ignores versionchange.
        const raw = await new Promise((ok, fail) => {{ const r = indexedDB.open({name:?}); r.onsuccess = () => ok(r.result); r.onerror = fail; }});
        eq(await code(FerrySync.open({{ name: {name:?}, collections: {{ extra: {{}} }} }})), "DB_BLOCKED", "blocked");
        raw.close();
    "#)).await;
}

/// A newer version of the app opening the database in another tab (a new collection) upgrades
/// it at once: the older tab's connection closes on `versionchange` and reopens after the
/// upgrade, so both go on working. A deletion from another tab closes it for good.
#[wasm_bindgen_test]
async fn another_tabs_upgrade_goes_through_and_this_tab_goes_on() {
    let name = db_name("upgraded-elsewhere");
    let old = open(&name, CRM).await.unwrap();
    js(
        &old,
        r#"
        await db.put("customers", { id: "before", name: "B" });
        globalThis.ferrysyncOld = db;
    "#,
    )
    .await;
    let new = open(
        &name,
        r#"{"customers": {"indexes": ["name", "city"]}, "orders": {}, "invoices": {}}"#,
    )
    .await
    .expect("not blocked by the older connection");
    js(&new, &format!(r#"
        const old = globalThis.ferrysyncOld;
        eq((await db.get("customers", "before")).name, "B", "the new tab reads the old one's write");
        await old.put("customers", {{ id: "after", name: "A" }});
        eq((await db.get("customers", "after")).name, "A", "the old tab writes after the upgrade");
        eq((await old.get("customers", "after")).name, "A", "and reads");
        eq(await old.pending(), 2, "its pending count");
        await db.put("invoices", {{ id: "i1" }});
        eq(await code(old.put("invoices", {{}})), "UNKNOWN_COLLECTION", "the old tab keeps its own schema");
        await db.close();
        // Upgraded by a ferrysync with a newer layout: this build must not write there any more.
        const {{ version }} = (await indexedDB.databases()).find((d) => d.name === {name:?});
        await new Promise((ok, fail) => {{
          const r = indexedDB.open({name:?}, version + 1);
          r.onupgradeneeded = () => r.transaction.objectStore("_meta").put(99, "layout");
          r.onsuccess = () => {{ r.result.close(); ok(); }};
          r.onerror = fail;
        }});
        eq(await code(old.get("customers", "before")), "CLOSED", "after a newer layout's upgrade");
        await FerrySync.deleteDatabase({name:?});
    "#)).await;
}

/// A deletion from another tab closes this tab's database for good; it is never created again.
#[wasm_bindgen_test]
async fn another_tabs_deletion_closes_the_database_for_good() {
    let name = db_name("deleted-elsewhere");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        &format!(
            r#"
        await db.put("customers", {{ id: "a" }});
        await FerrySync.deleteDatabase({name:?});
        eq(await code(db.get("customers", "a")), "CLOSED", "after a deletion");
        eq(await code(db.put("customers", {{ id: "b" }})), "CLOSED", "no write either");
        const names = (await indexedDB.databases()).map((d) => d.name);
        eq(names.includes({name:?}), false, "the database stays deleted");
    "#
        ),
    )
    .await;
}

#[wasm_bindgen_test]
fn quota_errors_map_to_quota_exceeded() {
    let dom = js_sys::eval("new DOMException('the disk is full', 'QuotaExceededError')").unwrap();
    let error = ferrysync::store::js_store_error(&dom);
    assert!(matches!(error, StoreError::QuotaExceeded(ref m) if m.contains("the disk is full")));
    let js: JsValue = ferrysync::Error::from(error).into();
    assert_eq!(Reflect::get(&js, &"code".into()).unwrap(), "QUOTA_EXCEEDED");
    assert_eq!(Reflect::get(&js, &"name".into()).unwrap(), "FerrysyncError");
    assert!(js.is_instance_of::<js_sys::Error>());
}

#[wasm_bindgen_test]
async fn indexed_db_passes_the_local_store_contract() {
    let names = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let opened = names.clone();
    ferrysync_core::store::contract::run_all(move |case| {
        let name = db_name(case);
        opened.borrow_mut().push(name.clone());
        async move {
            let schema: Schema = ferrysync_core::store::contract::COLLECTIONS
                .iter()
                .map(|c| ((*c).to_owned(), Default::default()))
                .collect();
            IndexedDb::open(&name, &schema).await.expect("open")
        }
    })
    .await;
    // `run_all` drops each store when its check ends; closing is the drop of the last handle.
    let names = names.take();
    for name in &names {
        IndexedDb::delete(name).await.unwrap();
    }
}
