//! Acknowledgement batches (src/store/acks.rs): a push's results that only settle records are
//! stored as one value per batch, the rows keep their pushed change until the fold, and every
//! read in between (the app's, the engine's, listings and counts) sees the records in sync.

use super::*;
use ferrysync_core::record::{LocalRecord, SyncStatus};

/// Raw IndexedDB: `raw(name, store, key)` resolves with the stored value, `batches(name)` with
/// the acknowledgement batches of the outbox store.
const RAW: &str = r#"
const req = (r) => new Promise((ok, err) => { r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });
const raw = async (name, store, key) => {
  const db = await req(indexedDB.open(name));
  try { return await req(db.transaction(store).objectStore(store).get(key)); } finally { db.close(); }
};
const batches = async (name) => {
  const db = await req(indexedDB.open(name));
  const range = IDBKeyRange.bound("\u0000ack ", "\u0000ack!", false, true);
  try { return await req(db.transaction("_outbox").objectStore("_outbox").getAll(range)); } finally { db.close(); }
};
"#;

/// What the push does with a result that takes the change as sent: in sync at `version`.
fn settled(
    version: u64,
) -> impl FnMut(&ferrysync_core::store::Key, Option<LocalRecord>) -> Option<LocalRecord> {
    move |_, r| {
        r.map(|mut r| {
            r.pending = None;
            r.sync.status = SyncStatus::Synced;
            r.sync.version = Some(version);
            r
        })
    }
}

#[wasm_bindgen_test]
async fn a_push_stores_its_results_apart_and_every_read_sees_them_until_the_fold() {
    let name = db_name("acks");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        await db.bulkPut("customers", [{ id: "a", name: "A" }, { id: "b", name: "B" }, { id: "c", name: "C" }]);
    "#).await;
    let store = store(&name).await;
    let batch = store.outbox(None, 10).await.unwrap();
    assert_eq!(batch.len(), 3);
    let written = store
        .update_read(&batch[..2], &[], &mut settled(5))
        .await
        .unwrap();
    assert_eq!(
        store.redone_updates(),
        0,
        "nothing changed since the listing: no redo"
    );
    assert!(written
        .iter()
        .all(|r| r.as_ref().unwrap().sync.status == SyncStatus::Synced));

    js(&db, &format!(r#"{RAW}
        const stored = await batches({name:?});
        eq(stored.map((b) => b.items.map((i) => [i[0], i[1], i[3]])), [[["customers", "a", 5], ["customers", "b", 5]]],
           "one batch holds both results");
        eq((await raw({name:?}, "customers", "a"))._sync.status, "UNSYNCED", "the row is not rewritten");
        const a = await db.get("customers", "a");
        eq([a.name, a._sync.status, a._sync.version], ["A", "SYNCED", 5], "get reads the acknowledgement");
        eq(Object.keys(a._sync).sort(), ["status", "updatedAt", "version"], "and nothing of the store's");
        eq((await db.all("customers")).map((r) => r._sync.status), ["SYNCED", "SYNCED", "UNSYNCED"], "all");
        eq((await db.query("customers", {{ index: "name", lt: "C" }})).map((r) => r._sync.version), [5, 5], "query");
        eq(await db.pending(), 1, "only c is pending");
    "#)).await;
    let a = store.get("customers", "a").await.unwrap().unwrap();
    assert_eq!(
        (a.sync.status, a.sync.version, a.pending),
        (SyncStatus::Synced, Some(5), None)
    );
    let listed: Vec<String> = store
        .outbox(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(listed, ["c"], "the outbox leaves acknowledged rows out");
    assert_eq!(
        store.outbox(None, 1).await.unwrap()[0].1.id,
        "c",
        "even with a limit"
    );
    assert_eq!(store.unsynced(None).await.unwrap().len(), 1);
    assert_eq!(store.counts().await.unwrap().pending, 1);

    // A write of an acknowledged record starts from the acknowledged version and takes its item.
    js(&db, &format!(r#"{RAW}
        await db.put("customers", {{ id: "a", name: "A2" }});
        eq((await db.get("customers", "a"))._sync, {{ status: "UNSYNCED", version: 5, updatedAt: (await db.get("customers", "a"))._sync.updatedAt }}, "edited");
        eq((await batches({name:?}))[0].items.map((i) => i[1]), ["b"], "a's item is gone");
        await db.delete("customers", "b");
        eq(await batches({name:?}), [], "a batch left empty is deleted");
        eq(await db.pending(), 3, "a's edit, b's tombstone and c");
    "#)).await;
    let a = store.get("customers", "a").await.unwrap().unwrap();
    assert_eq!(
        a.pending.unwrap().base_version,
        Some(5),
        "based on the acknowledged version"
    );

    // The fold rewrites the rows in sync and deletes the batch.
    let batch = store.outbox(None, 10).await.unwrap();
    let c: Vec<_> = batch.into_iter().filter(|(_, r)| r.id == "c").collect();
    store.update_read(&c, &[], &mut settled(9)).await.unwrap();
    assert_eq!(store.fold().await.unwrap(), 1);
    js(&db, &format!(r#"{RAW}
        eq(await batches({name:?}), [], "folded");
        const row = await raw({name:?}, "customers", "c");
        eq([row._sync.status, row._sync.version, row._sync.p, row._sync.o], ["SYNCED", 9, undefined, undefined], "the row in sync");
        eq(await db.pending(), 2, "a and b");
        await db.close();
    "#)).await;
    assert_eq!(store.counts().await.unwrap().pending, 2);
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_write_during_the_push_is_checked_for_and_kept() {
    let name = db_name("acks-edit");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"await db.bulkPut("customers", [{ id: "a", n: 1 }, { id: "b", n: 2 }, { id: "c", n: 3 }]);"#,
    )
    .await;
    let store = store(&name).await;
    let batch = store.outbox(None, 10).await.unwrap();
    // Written after the listing, by the app (another connection): the acknowledgement must see it.
    js(&db, r#"await db.put("customers", { id: "b", n: 20 });"#).await;
    let pushed: Vec<String> = batch
        .iter()
        .map(|(_, r)| r.pending.as_ref().unwrap().change_id.clone())
        .collect();
    store
        .update_read(&batch, &[], &mut |_, r| {
            r.map(|r| {
                match r
                    .pending
                    .as_ref()
                    .is_some_and(|p| pushed.contains(&p.change_id))
                {
                    true => settled(3)(&("".into(), "".into()), Some(r)).unwrap(),
                    false => r,
                }
            })
        })
        .await
        .unwrap();
    assert_eq!(
        store.redone_updates(),
        1,
        "the write was noticed and the update redone with reads"
    );
    // a and c are acknowledged in one batch, b (between them) is not: listings find b.
    let first: Vec<String> = store
        .outbox(None, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(first, ["b"]);
    js(
        &db,
        r#"
        const b = await db.get("customers", "b");
        eq([b.n, b._sync.status], [20, "UNSYNCED"], "the edit stays pending");
        eq((await db.all("customers")).map((r) => r._sync.status), ["SYNCED", "UNSYNCED", "SYNCED"], "the others are settled");
        eq(await db.pending(), 1, "one pending");
        await db.close();
    "#,
    )
    .await;
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

/// As a push pipelines them: the next batch is listed before the previous one is acknowledged.
/// The acknowledgement's own writes do not count as a change to the next batch's records.
#[wasm_bindgen_test]
async fn pipelined_acknowledgements_need_no_reads() {
    let name = db_name("acks-pipelined");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"await db.bulkPut("customers", [1, 2, 3, 4, 5, 6].map((n) => ({ id: `r${n}`, n })));"#,
    )
    .await;
    let store = store(&name).await;
    let first = store.outbox(None, 2).await.unwrap();
    let after = |batch: &[(String, LocalRecord)]| {
        batch
            .last()
            .and_then(|(_, r)| r.pending.as_ref())
            .map(|p| p.seq)
    };
    let second = store.outbox(after(&first), 2).await.unwrap();
    store
        .update_read(&first, &[], &mut settled(1))
        .await
        .unwrap();
    let third = store.outbox(after(&second), 2).await.unwrap();
    store
        .update_read(&second, &[], &mut settled(1))
        .await
        .unwrap();
    assert_eq!(store.redone_updates(), 0, "no batch was read again");
    // A write by the app in between: the next acknowledgement reads its records again.
    js(&db, r#"await db.put("customers", { id: "r1", n: 10 });"#).await;
    store
        .update_read(&third, &[], &mut settled(1))
        .await
        .unwrap();
    assert_eq!(store.redone_updates(), 1, "the write was noticed");
    js(&db, r#"
        eq((await db.all("customers")).map((r) => r._sync.status),
           ["UNSYNCED", "SYNCED", "SYNCED", "SYNCED", "SYNCED", "SYNCED"], "r1 edited after its push");
        eq(await db.pending(), 1, "one pending");
        await db.close();
    "#).await;
    store.close();
    IndexedDb::delete(&name).await.unwrap();
}

/// Acknowledgements left unfolded (a page closed before its fold ended) are folded when the
/// database is opened again.
#[wasm_bindgen_test]
async fn leftover_acknowledgements_are_folded_at_open() {
    let name = db_name("acks-open");
    let db = open(&name, CRM).await.unwrap();
    js(
        &db,
        r#"await db.bulkPut("customers", [{ id: "a" }, { id: "b" }]); await db.close();"#,
    )
    .await;
    let store = store(&name).await;
    let batch = store.outbox(None, 10).await.unwrap();
    store
        .update_read(&batch, &[], &mut settled(2))
        .await
        .unwrap();
    store.close();
    let again = open(&name, CRM).await.unwrap();
    js(&again, &format!(r#"{RAW}
        for (let i = 0; i < 100 && (await batches({name:?})).length > 0; i++) await new Promise((ok) => setTimeout(ok, 20));
        eq(await batches({name:?}), [], "folded after the open");
        const row = await raw({name:?}, "customers", "b");
        eq([row._sync.status, row._sync.version, row._sync.o], ["SYNCED", 2, undefined], "the row in sync");
        eq(await db.pending(), 0, "nothing pending");
        await db.close();
    "#)).await;
    IndexedDb::delete(&name).await.unwrap();
}
