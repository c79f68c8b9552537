//! The storage layout: rows hold their pending change out of the app's sight, and a database
//! written by an earlier layout (pending changes of live records in outbox entries) keeps them.

use super::*;

/// Reads raw IndexedDB: `raw(name, store, key)` resolves with the stored value.
const RAW: &str = r#"
const req = (r) => new Promise((ok, err) => { r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });
const raw = async (name, store, key) => {
  const db = await req(indexedDB.open(name));
  try { return await req(db.transaction(store).objectStore(store).get(key)); } finally { db.close(); }
};
"#;

#[wasm_bindgen_test]
async fn rows_keep_their_pending_change_out_of_the_apps_sight() {
    let name = db_name("row-sync");
    let db = open(&name, CRM).await.unwrap();
    js(&db, &format!(r#"{RAW}
        const put = await db.put("customers", {{ id: "a", name: "A" }});
        const shape = (r) => Object.keys(r._sync).sort();
        eq(shape(put), ["status", "updatedAt"], "put returns what the app reads");
        eq(shape(await db.get("customers", "a")), ["status", "updatedAt"], "get");
        eq((await db.all("customers")).map(shape), [["status", "updatedAt"]], "all");
        eq((await db.query("customers", {{ index: "name", eq: "A" }})).map(shape), [["status", "updatedAt"]], "query");
        const stored = await raw({name:?}, "customers", "a");
        const [seq, changeId, hlc] = stored._sync.p.split(" ");
        eq([stored._sync.status, stored._sync.o, stored._sync.u, hlc.length, changeId.length],
           ["UNSYNCED", Number(seq), 1, 22, 36],
           "the row holds the pending change (short: a new record; the stamp without the device id) and its index keys");
        eq(await raw({name:?}, "_outbox", "customers\u0000a"), undefined, "a live record has no outbox entry");
        await db.delete("customers", "a");
        eq((await raw({name:?}, "_outbox", "customers\u0000a")).deleted, true, "a tombstone is an entry");
        await db.put("customers", {{ id: "a", name: "again" }});
        eq(await raw({name:?}, "_outbox", "customers\u0000a"), undefined, "a revived record's entry is gone");
        eq(await db.pending(), 1, "one pending change");
        await db.close();
    "#)).await;
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_database_of_the_earlier_layout_keeps_its_pending_changes() {
    let name = db_name("legacy");
    let scratch = db_name("legacy-scratch");
    let helper = open(&scratch, CRM).await.unwrap();
    // The earlier layout: live records' pending changes (and a conflict) in outbox entries.
    js(&helper, &format!(r#"{RAW}
        await db.close();
        const open = indexedDB.open({name:?}, 1);
        open.onupgradeneeded = () => {{
          const d = open.result;
          d.createObjectStore("customers", {{ keyPath: "id" }}).createIndex("name", "name");
          const o = d.createObjectStore("_outbox", {{ keyPath: "k" }});
          o.createIndex("outbox", "o"); o.createIndex("unsynced", "u");
          d.createObjectStore("_meta");
        }};
        const d = await req(open);
        const tx = d.transaction(["customers", "_outbox"], "readwrite");
        const rows = tx.objectStore("customers"), out = tx.objectStore("_outbox");
        const hlc = "001700000000123-000000-old";
        const entry = (id, seq, status, extra) => ({{ k: "customers\u0000" + id, c: "customers", id,
          sync: {{ status, version: 2, updatedAt: 5 }}, deleted: false,
          pending: {{ changeId: "ch-" + id, baseVersion: 2, hlc, changedFields: ["name"], seq }}, ...extra }});
        rows.put({{ id: "a", name: "A", _sync: {{ status: "UNSYNCED", version: 2, updatedAt: 5 }} }});
        out.put(entry("a", 1, "UNSYNCED", {{ o: 1, u: 1 }}));
        rows.put({{ id: "b", name: "B", _sync: {{ status: "SYNCED", version: 3, updatedAt: 5 }} }});
        out.put({{ ...entry("c", 2, "UNSYNCED", {{ o: 2, u: 1 }}), deleted: true }});
        rows.put({{ id: "d", name: "D", _sync: {{ status: "CONFLICT", version: 2, updatedAt: 5 }} }});
        out.put(entry("d", 3, "CONFLICT", {{ u: 2 }}));
        await new Promise((ok) => tx.oncomplete = ok);
        d.close();
    "#)).await;
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        eq(await db.pending(), 2, "the live change and the tombstone are pending");
        eq((await db.get("customers", "a"))._sync, { status: "UNSYNCED", version: 2, updatedAt: 5 }, "a reads as before");
        eq(await db.get("customers", "c"), undefined, "the tombstone stays hidden");
        eq((await db.all("customers")).map((r) => r.id), ["a", "b", "d"], "live records");
    "#).await;
    let store = store(&name).await;
    let outbox = store.outbox(None, 10).await.unwrap();
    let ids: Vec<&str> = outbox.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"], "the earlier entries, in push order");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.pending, counts.conflicts), (2, 1));
    // An edit folds the entry into the row, coalescing with the earlier change.
    js(&db, &format!(r#"{RAW}
        await db.put("customers", {{ id: "a", name: "A", city: "Rome" }});
        eq(await raw({name:?}, "_outbox", "customers\u0000a"), undefined, "the entry is folded into the row");
        const p = (await raw({name:?}, "customers", "a"))._sync.p;
        eq([p.baseVersion, p.seq, p.changedFields], [2, 1, ["city", "name"]], "coalesced with the earlier change");
        eq(await db.pending(), 2, "still two pending");
        await db.close();
    "#)).await;
    let outbox = store.outbox(None, 10).await.unwrap();
    let ids: Vec<&str> = outbox.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"], "same push order after the fold");
    store.close();
    IndexedDb::delete(&name).await.unwrap();
    IndexedDb::delete(&scratch).await.unwrap();
}

/// An acknowledgement-like update of a batch read from the outbox: one transaction when no
/// record changed since the read, redone with reads when one did (and then it sees the edit).
#[wasm_bindgen_test]
async fn an_unchanged_batch_is_updated_without_a_redo() {
    use ferrysync_core::record::{LocalRecord, SyncStatus};
    let name = db_name("redo");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.bulkPut("customers", [{ id: "a", n: 1 }, { id: "b", n: 2 }, { id: "c", n: 3 }]);
        await db.delete("customers", "c");
    "#,
    )
    .await;
    let store = store(&name).await;
    let settle = |r: Option<LocalRecord>| {
        r.map(|mut r| {
            r.sync.status = SyncStatus::Synced;
            r.sync.version = Some(1);
            r.pending = None;
            r
        })
    };
    let batch = store.outbox(None, 10).await.unwrap();
    assert_eq!(batch.len(), 3);
    let first = batch[..2].to_vec();
    let written = store
        .update_read(&first, &[], &mut |_, r| settle(r))
        .await
        .unwrap();
    assert_eq!(store.redone_updates(), 0, "nothing changed: no redo");
    assert!(written
        .iter()
        .all(|r| r.as_ref().unwrap().sync.status == SyncStatus::Synced));
    // The tombstone "c" is revived after its read: the update is redone and sees the edit, which
    // it leaves pending (as an acknowledgement leaves a record edited in flight).
    let again = store.outbox(None, 10).await.unwrap();
    js(&db, r#"await db.put("customers", { id: "c", n: 30 });"#).await;
    let written = store
        .update_read(&again, &[], &mut |_, r| match r {
            Some(r) if r.data.get("n") == Some(&30.into()) => Some(r),
            other => settle(other),
        })
        .await
        .unwrap();
    assert_eq!(
        store.redone_updates(),
        1,
        "the edited record forced one redo"
    );
    let c = written[0].as_ref().expect("the revived record is kept");
    assert_eq!(c.data.get("n"), Some(&30.into()), "the redo read the edit");
    js(
        &db,
        r#"
        eq((await db.get("customers", "c"))._sync.status, "UNSYNCED", "the edit stays pending");
        eq(await db.pending(), 1, "only the edit is pending");
        await db.close();
    "#,
    )
    .await;
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_database_of_a_newer_layout_is_not_opened() {
    let name = db_name("newer");
    let db = open(&name, CRM).await.unwrap();
    js(&db, &format!(r#"{RAW}
        await db.put("customers", {{ id: "a", name: "A" }});
        await db.close();
        eq(await raw({name:?}, "_meta", "layout"), 4, "the layout is recorded");
        const setLayout = async (n) => {{
          const d = await req(indexedDB.open({name:?}));
          const tx = d.transaction("_meta", "readwrite");
          tx.objectStore("_meta").put(n, "layout");
          await new Promise((ok) => tx.oncomplete = ok);
          d.close();
        }};
        await setLayout(5);
        eq(await code(FerrySync.open({{ name: {name:?}, collections: {{ customers: {{}} }} }})), "DB_NEWER", "newer layout");
        await setLayout(4);
        const again = await FerrySync.open({{ name: {name:?}, collections: {{ customers: {{}} }} }});
        eq((await again.get("customers", "a")).name, "A", "nothing was touched");
        eq(await again.pending(), 1, "the pending change is kept");
        await again.close();
    "#)).await;
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_pending_change_reads_the_same_short_or_whole_and_an_earlier_layout_is_moved_on() {
    let name = db_name("short-p");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"
        await db.bulkPut("customers", [{ id: "a", name: "A" }, { id: "b", name: "B" }]);
        await db.close();
    "#,
    )
    .await;
    let first = store(&name).await;
    let short = first.outbox(None, 10).await.unwrap();
    assert_eq!(short.len(), 2);
    for (_, record) in &short {
        let stamp = &record.pending.as_ref().expect("pending").hlc;
        assert_eq!(
            stamp.device,
            first.device(),
            "a row's stamp names this device again"
        );
    }
    first.close();
    // What layout 2 wrote: the change as an object, and the layout number 2.
    js(&db, &format!(r#"{RAW}
        const device = await raw({name:?}, "_meta", "deviceId");
        const d = await req(indexedDB.open({name:?}));
        const tx = d.transaction(["customers", "_meta"], "readwrite");
        const rows = tx.objectStore("customers");
        for (const id of ["a", "b"]) {{
          const row = await req(rows.get(id));
          const [seq, changeId, stamp] = row._sync.p.split(" ");
          row._sync.p = {{ changeId, hlc: `${{stamp}}-${{device}}`, changedFields: [], seq: Number(seq) }};
          rows.put(row);
        }}
        tx.objectStore("_meta").put(2, "layout");
        await new Promise((ok) => tx.oncomplete = ok);
        d.close();
        eq(typeof (await raw({name:?}, "customers", "a"))._sync.p, "object", "written as layout 2 did");
    "#))
    .await;
    let second = store(&name).await;
    assert_eq!(
        second.outbox(None, 10).await.unwrap(),
        short,
        "both forms read the same"
    );
    second.close();
    js(&db, &format!(r#"{RAW}
        eq(await raw({name:?}, "_meta", "layout"), 4, "opening records the layout it may now write");
        const again = await FerrySync.open({{ name: {name:?}, collections: {{ customers: {{ indexes: ["name"] }} }} }});
        await again.put("customers", {{ id: "a", name: "A2" }});
        eq(typeof (await raw({name:?}, "customers", "a"))._sync.p, "string", "an edit writes the short form");
        eq(typeof (await raw({name:?}, "customers", "b"))._sync.p, "object", "an untouched row keeps its object");
        eq(await again.pending(), 2, "both pending");
        await again.close();
    "#))
    .await;
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_rows_fields_go_into_its_push_as_they_were_stored() {
    use ferrysync_core::LocalStore as _;
    let name = db_name("row-text");
    let db = open(&name, CRM).await.unwrap();
    // Keys and values whose JSON text needs escapes, numbers at the edges of f64, nesting, and a
    // field named like the row's own but for a space.
    let fields = js(
        &db,
        r#"
        const fields = { "qu\"ote": "a\u2028b\\c\u0000", "é🙂": [1.5e300, 5e-324, 2 ** 53 + 2, 0.1],
          n: null, t: true, deep: { x: [[], {}, { y: "" }] }, "": "empty key", "id ": "not the id" };
        await db.put("customers", { id: "t1", ...fields });
        return JSON.stringify(fields);
    "#,
    )
    .await
    .as_string()
    .unwrap();
    let store = store(&name).await;
    let batch = store.outbox(None, 10).await.unwrap();
    let [(_, record)] = batch.as_slice() else {
        panic!("one pending record: {batch:?}");
    };
    let change = record.to_change("device").unwrap();
    assert_eq!(
        change.data.raw(),
        Some(fields.as_str()),
        "the push sends the fields' text as the row holds it"
    );
    let parsed: serde_json::Value = serde_json::from_str(&fields).unwrap();
    assert_eq!(*change.data, parsed, "and it reads as the same fields");
    store.close();
    close_and_delete(&db, &name).await;
}
