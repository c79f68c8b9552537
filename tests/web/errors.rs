//! Bad input from the app: every rejection is a `FerrysyncError` with a stable code, including
//! arguments of the wrong type, which wasm-bindgen's glue passes on unchecked.

use super::*;

#[wasm_bindgen_test]
async fn errors_are_ferrysync_errors_with_stable_codes() {
    let name = db_name("errors");
    let db = open(&name, CRM).await.unwrap();
    js(&db, r#"
        eq(await code(db.put("customers", 42)), "INVALID_RECORD", "not an object");
        eq(await code(db.put("customers", [1, 2])), "INVALID_RECORD", "an array");
        eq(await code(db.put("customers", { id: 7 })), "INVALID_RECORD", "numeric id");
        eq(await code(db.put("customers", { id: "" })), "INVALID_RECORD", "empty id");
        eq(await code(db.put("customers", { id: "x".repeat(257) })), "INVALID_RECORD", "long id");
        eq(await code(db.put("customers", { id: "a\u0000b" })), "INVALID_RECORD", "id with a NUL");
        // Lone UTF-16 surrogates (a string cut inside an emoji): no server can store them.
        eq(await code(db.put("customers", { name: "cut \ud83d" })), "INVALID_RECORD", "lone surrogate");
        eq(await code(db.put("customers", { id: "a\ud800" })), "INVALID_RECORD", "id with a lone surrogate");
        eq(await code(db.get("customers", "a\ud800")), "INVALID_ARGUMENT", "get by such an id");
        eq(await code(db.all("customers\ud800")), "INVALID_ARGUMENT", "such a collection name");
        eq(await code(db.put("customers", { ["k\ude00"]: 1 })), "INVALID_RECORD", "a key");
        eq(await code(db.bulkPut("customers", [{ id: "fine" }, { a: { tags: ["ok", "\ude00"] } }])), "INVALID_RECORD", "nested");
        try { await db.put("customers", { a: { tags: ["ok", "\ude00"] } }); } catch (e) {
          if (!/"a\.tags\.1" holds a string that is not valid Unicode/.test(e.message)) throw new Error("message: " + e.message);
        }
        eq(await db.get("customers", "fine"), undefined, "nothing of a refused bulkPut is written");
        const pair = await db.put("orders", { note: "😀 \ud83d\ude00", bytes: new Uint8Array([0xd8, 0x3d]) });
        eq((await db.get("orders", pair.id)).note, "😀 😀", "a whole pair is fine");
        eq(await code(db.put("customers", { f: () => 1 })), "INVALID_RECORD", "a function cannot be stored");
        eq(await code(db.put("nope", {})), "UNKNOWN_COLLECTION", "put");
        eq(await code(db.get("nope", "a")), "UNKNOWN_COLLECTION", "get");
        eq(await code(db.all("nope")), "UNKNOWN_COLLECTION", "all");
        eq(await code(db.count("nope")), "UNKNOWN_COLLECTION", "count");
        eq(await code(db.query("nope", {})), "UNKNOWN_COLLECTION", "query");
        eq(await code(db.delete("nope", "a")), "UNKNOWN_COLLECTION", "delete");
        eq(await code(FerrySync.open({ name: "x" })), "INVALID_OPTIONS", "missing collections");
        eq(await code(FerrySync.open({ name: "x", collections: { a: { indexes: "n" } } })), "INVALID_OPTIONS", "indexes not an array");
        eq(await code(FerrySync.open({ name: "x", collections: {}, batchSize: "5" })), "INVALID_OPTIONS", "batchSize not a number");
        for (const batchSize of [0, 1001, 5000])
          eq(await code(FerrySync.open({ name: "x", collections: {}, batchSize })), "INVALID_OPTIONS", `batchSize ${batchSize}`);
        eq(await code(FerrySync.open({ name: "x", collections: {}, getToken: "t" })), "INVALID_OPTIONS", "getToken not a function");
        eq(await code(FerrySync.open({ name: "x", collections: { _outbox: {} } })), "INVALID_OPTIONS", "reserved name");
        eq(await code(FerrySync.open({ name: "x", collections: { ["c".repeat(257)]: {} } })), "INVALID_OPTIONS", "long name");
        eq(await code(FerrySync.open({ name: "x", collections: { "a\u0000b": {} } })), "INVALID_OPTIONS", "name with a NUL");
        try { await db.put("nope", {}); } catch (e) {
          if (!(e instanceof Error) || !/unknown collection "nope"/.test(e.message)) throw new Error("message: " + e.message);
        }
        // Collection names and ids that are not strings (a number there used to reach the wasm
        // allocator with a bad length: a "memory access out of bounds" trap).
        for (const bad of [5, null, undefined, { id: "a" }]) {
          const what = (call) => `${call} with ${JSON.stringify(bad) ?? "undefined"}`;
          eq(await code(db.get("customers", bad)), "INVALID_ARGUMENT", what("get id"));
          eq(await code(db.get(bad, "a")), "INVALID_ARGUMENT", what("get collection"));
          eq(await code(db.put(bad, { name: "x" })), "INVALID_ARGUMENT", what("put"));
          eq(await code(db.bulkPut(bad, [{ name: "x" }])), "INVALID_ARGUMENT", what("bulkPut"));
          eq(await code(db.delete(bad, "a")), "INVALID_ARGUMENT", what("delete collection"));
          eq(await code(db.delete("customers", bad)), "INVALID_RECORD", what("delete id"));
          eq(await code(db.query(bad, {})), "INVALID_ARGUMENT", what("query"));
          eq(await code(db.all(bad)), "INVALID_ARGUMENT", what("all"));
          eq(await code(db.count(bad)), "INVALID_ARGUMENT", what("count"));
          eq(await code(db.resolveConflict(bad, "local")), "INVALID_ARGUMENT", what("resolveConflict"));
          eq(await code(db.discardRejected(bad)), "INVALID_ARGUMENT", what("discardRejected"));
          eq(await code(FerrySync.deleteDatabase(bad)), "INVALID_ARGUMENT", what("deleteDatabase"));
          eq(await code((async () => db.subscribe(bad, () => {}))()), "INVALID_ARGUMENT", what("subscribe"));
        }
        for (const bad of [5, "ab", { length: 1, 0: { name: "x" } }])
          eq(await code(db.bulkPut("customers", bad)), "INVALID_RECORD", `bulkPut of ${JSON.stringify(bad)}`);
        for (const bad of [5, null, "f"]) {
          eq(await code((async () => db.subscribe("customers", bad))()), "INVALID_ARGUMENT", `subscribe with ${bad}`);
          eq(await code((async () => db.onStatus(bad))()), "INVALID_ARGUMENT", `onStatus with ${bad}`);
        }
        try { await db.get(5, "a"); } catch (e) {
          if (e.message !== "invalid argument: collection must be a string") throw new Error("message: " + e.message);
        }
        await db.put("customers", { id: "after", name: "still whole" });
        eq((await db.get("customers", "after")).name, "still whole", "the database after bad arguments");
        eq(await db.count("customers"), 1, "one record");
        await db.close();
        for (const call of [db.put("customers", {}), db.get("customers", "a"), db.all("customers"), db.count("customers"), db.pending()])
          eq(await code(call), "CLOSED", "after close");
    "#).await;
    js(&db, &format!("await FerrySync.deleteDatabase({name:?});")).await;
}
