//! Browser tests of sync: two databases in one page act as two devices of one user, against a
//! real `ferrysync-server` on loopback whose URL comes from `FERRYSYNC_SERVER_URL` at build
//! time (`scripts/ci/test-e2e` starts the server and sets it). Without it every test says it
//! was skipped. Each test registers its own user and deletes its databases.
#![cfg(target_arch = "wasm32")]

use ferrysync::bindings::FerrySync;
use js_sys::{Function, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: Option<&str> = option_env!("FERRYSYNC_SERVER_URL");

/// Helpers every snippet gets: `eq`, `code`, `until(cond)`, `user()` (registers one and returns
/// its token) and `open(name, collections, extra)` (a database synced with `server`).
const PRELUDE: &str = r#"
const canon = (v) => JSON.stringify(v, (k, x) => x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x);
const eq = (a, b, what) => { const x = canon(a), y = canon(b);
  if (x !== y) throw new Error(`${what}: ${x} !== ${y}`); };
const code = async (p) => { try { await p; } catch (e) {
  if (!(e instanceof Error) || e.name !== "FerrysyncError") throw new Error("not a FerrysyncError: " + e);
  return e.code; } throw new Error("expected a rejection"); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (cond, what, ms = 8000) => { const end = Date.now() + ms;
  while (!(await cond())) { if (Date.now() > end) throw new Error("timed out: " + what); await sleep(50); } };
const user = async () => { const username = "u" + Math.random().toString(36).slice(2);
  const res = await fetch(server + "/api/auth/register", { method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse" }) });
  if (res.status !== 201) throw new Error("register: " + res.status);
  return (await res.json()).token; };
const names = [];
const open = async (collections, extra = {}) => {
  const name = "ferrysync-sync-" + Math.random().toString(36).slice(2); names.push(name);
  return FerrySync.open({ name, serverUrl: server, collections, autoSync: false, ...extra }); };
const cleanup = async (...dbs) => { for (const db of dbs) await db.close();
  for (const name of names) await FerrySync.deleteDatabase(name); };
"#;

/// Runs `body` as an async JS function with `FerrySync` and `server` in scope; `None` (skipped)
/// without a server.
async fn js(body: &str) -> Option<JsValue> {
    let Some(server) = SERVER else {
        web_sys::console::log_1(&"skipped: set FERRYSYNC_SERVER_URL to run sync tests".into());
        return None;
    };
    let class = class().await;
    let f = Function::new_with_args(
        "FerrySync, server",
        &format!("{PRELUDE}\nreturn (async () => {{ {body} }})();"),
    );
    let promise = f
        .call2(&JsValue::NULL, &class, &server.into())
        .expect("snippet runs");
    let value = JsFuture::from(js_sys::Promise::from(promise))
        .await
        .unwrap_or_else(|e| {
            let message = js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| JSON::stringify(&e).ok().and_then(|s| s.as_string()))
                .unwrap_or_else(|| format!("{e:?}"));
            panic!("{message}")
        });
    Some(value)
}

/// The exported class: the constructor of a throwaway database (closed and deleted again).
async fn class() -> JsValue {
    let name = format!("ferrysync-sync-class-{}", js_sys::Math::random());
    let options = JSON::parse(&format!(r#"{{"name": "{name}", "collections": {{}}}}"#)).unwrap();
    let db = FerrySync::open(tsify::Ts::new_unchecked(options))
        .await
        .unwrap();
    db.close().await.unwrap();
    let db: JsValue = db.into();
    let class = js_sys::Reflect::get(&db, &"constructor".into()).unwrap();
    FerrySync::delete_database(name.into()).await.unwrap();
    class
}

const TODOS: &str = r#"{ todos: { conflict: STRATEGY } }"#;

/// Two devices edit the same record offline (`b` after `a`); `a` syncs, then `b`, then `a`.
/// Leaves `a`, `b`, `token` in scope.
fn concurrent_edit(strategy: &str) -> String {
    let todos = TODOS.replace("STRATEGY", &format!("{strategy:?}"));
    format!(
        r#"
  const token = await user();
  const a = await open({todos}, {{ token }});
  const b = await open({todos}, {{ token }});
  await a.put("todos", {{ id: "t1", x: 0, y: 0 }});
  await a.sync(); await b.sync();
  await a.put("todos", {{ id: "t1", x: "a", y: 0 }});
  await sleep(5);
  await b.put("todos", {{ id: "t1", x: 0, y: "b" }});
  await until(() => a.status().pending === 1, "a pending");
  await a.sync();
  const report = await b.sync();
  eq(report.conflicts, 1, "b met a conflict");
  await a.sync();
  const strip = (r) => r && (({{ _sync, ...rest }}) => rest)(r);
  const da = strip(await a.get("todos", "t1")), db = strip(await b.get("todos", "t1"));
"#
    )
}

#[wasm_bindgen_test]
async fn two_devices_converge_per_strategy() {
    for (strategy, expected) in [
        ("newest_wins", r#"{ id: "t1", x: 0, y: "b" }"#),
        ("server_wins", r#"{ id: "t1", x: "a", y: 0 }"#),
        ("client_wins", r#"{ id: "t1", x: 0, y: "b" }"#),
        ("merge", r#"{ id: "t1", x: "a", y: "b" }"#),
    ] {
        let body = format!(
            r#"{}
  eq(da, db, "{strategy}: both devices agree");
  eq(da, {expected}, "{strategy}: outcome");
  eq([a.status().pending, b.status().pending], [0, 0], "nothing pending");
  eq((await a.get("todos", "t1"))._sync.status, "SYNCED", "synced");
  await cleanup(a, b);"#,
            concurrent_edit(strategy)
        );
        if js(&body).await.is_none() {
            return;
        }
    }
}

#[wasm_bindgen_test]
async fn a_manual_conflict_resolved_on_one_device_shows_up_on_the_other() {
    let body = format!(
        r#"{}
  eq(b.status().conflicts, 1, "one open conflict");
  eq((await b.get("todos", "t1"))._sync.status, "CONFLICT", "status");
  const [c] = await b.conflicts();
  eq([c.collection, c.recordId, c.strategy], ["todos", "t1", "manual"], "conflict");
  eq([c.local, c.remote], [{{ x: 0, y: "b" }}, {{ x: "a", y: 0 }}], "both versions");
  // a writes again before b decides: b's choice was made against the older version.
  await a.put("todos", {{ id: "t1", x: "a2", y: 0 }});
  await a.sync();
  eq(await code(b.resolveConflict(c.id, "local")), "CONFLICT_OUTDATED", "outdated choice");
  eq((await b.conflicts())[0].remote, {{ x: "a2", y: 0 }}, "the newer server side shown");
  const resolved = await b.resolveConflict(c.id, {{ x: "a2", y: "b", by: "hand" }});
  eq(resolved._sync.status, "SYNCED", "resolved");
  eq(b.status().conflicts, 0, "closed");
  eq(await b.conflicts(), [], "no conflicts left");
  await a.sync();
  eq(strip(await a.get("todos", "t1")), {{ id: "t1", x: "a2", y: "b", by: "hand" }}, "on a");
  eq(await code(b.resolveConflict(c.id, "local")), "NOT_FOUND", "only once");
  await cleanup(a, b);"#,
        concurrent_edit("manual")
    );
    js(&body).await;
}

/// A conflict closed through the API by another program: the device's next cycle takes the
/// server's version instead of listing a conflict nobody can resolve any more.
#[wasm_bindgen_test]
async fn a_conflict_resolved_elsewhere_is_closed_by_the_next_sync() {
    let body = format!(
        r#"{}
  const [c] = await b.conflicts();
  const answer = await fetch(`${{server}}/api/sync/resolve-conflict`, {{ method: "POST",
    headers: {{ authorization: `Bearer ${{token}}`, "content-type": "application/json" }},
    body: JSON.stringify({{ conflictId: c.id, resolution: "server" }}) }});
  eq(answer.status, 200, "resolved elsewhere");
  eq(b.status().conflicts, 1, "b does not know yet");
  await b.sync();
  eq(await b.conflicts(), [], "closed on b");
  eq([b.status().conflicts, b.status().pending], [0, 0], "status");
  const t1 = await b.get("todos", "t1");
  eq([strip(t1), t1._sync.status], [{{ id: "t1", x: "a", y: 0 }}, "SYNCED"], "the server's side");
  await cleanup(a, b);"#,
        concurrent_edit("manual")
    );
    js(&body).await;
}

#[wasm_bindgen_test]
async fn auto_sync_pushes_soon_after_a_write_and_reports_status() {
    js(r#"
  const token = await user();
  const a = await open({ todos: {} }, { token, autoSync: true });
  const b = await open({ todos: {} }, { token });
  const seen = [];
  const off = a.onStatus((s) => seen.push(s));
  await until(() => a.status().lastSyncAt !== null, "first automatic cycle");
  await a.put("todos", { id: "t1", v: 1 });
  const cycles = seen.filter((s) => s.syncing).length;
  await until(async () => (await a.get("todos", "t1"))._sync.status === "SYNCED", "debounced push");
  await until(() => a.status().pending === 0 && !a.status().syncing, "status caught up");
  eq(seen.filter((s) => s.syncing).length > cycles, true, "onStatus saw the cycle");
  off();
  const s = a.status();
  eq([s.online, s.health, s.lastError], [true, "good", null], "healthy");
  await b.sync();
  eq((await b.get("todos", "t1")).v, 1, "reached the other device");
  await cleanup(a, b);
"#)
    .await;
}

#[wasm_bindgen_test]
async fn get_token_is_asked_again_after_a_401_and_errors_have_codes() {
    js(r#"
  const token = await user();
  let asked = 0;
  const a = await open({ todos: {} }, { token: "expired", getToken: async () => { asked++; return token; } });
  await a.put("todos", { id: "t1" });
  const report = await a.sync();
  eq([report.pushed, asked], [1, 1], "retried once with a fresh token");
  const bad = await open({ todos: {} }, { token: "forged" });
  await bad.put("todos", { id: "t1" });
  eq(await code(bad.sync()), "UNAUTHORIZED", "401 without getToken");
  eq(bad.status().lastError.code, "UNAUTHORIZED", "lastError");
  eq(bad.status().health, "degraded", "health");
  const local = await FerrySync.open({ name: names[0] + "-local", collections: { todos: {} } });
  eq(await code(local.sync()), "NO_SERVER", "no serverUrl");
  await local.close(); await FerrySync.deleteDatabase(names[0] + "-local");
  await cleanup(a, bad);
"#)
    .await;
}

#[wasm_bindgen_test]
async fn a_rejected_change_does_not_block_the_others_and_is_not_pending() {
    js(r#"
  const token = await user();
  const a = await open({ todos: {} }, { token });
  await a.put("todos", { id: "ok1", v: 1 });
  await a.put("todos", { id: "huge", text: "x".repeat(1100 * 1024) });
  await a.put("todos", { id: "ok2", v: 2 });
  eq(await a.pending(), 3, "three waiting");
  const report = await a.sync();
  eq([report.pushed, report.applied, report.rejected], [3, 2, 1], "one refused, two applied");
  eq(await a.pending(), 0, "a rejection waits for a person, not for the outbox");
  eq([a.status().pending, a.status().rejected], [0, 1], "status");
  eq((await a.get("todos", "huge"))._sync.status, "REJECTED", "marked");
  eq((await a.get("todos", "ok2"))._sync.status, "SYNCED", "the next one went through");
  const [r] = await a.rejected();
  eq([r.recordId, r.reason], ["huge", "payload_too_large"], "listed with its reason");
  await a.discardRejected(r.id);
  eq(await a.rejected(), [], "discarded");
  await cleanup(a);
"#)
    .await;
}

#[wasm_bindgen_test]
async fn status_counts_are_true_when_a_write_returns() {
    js(r#"
  const token = await user();
  const a = await open({ todos: {} }, { token, batchSize: 2 });
  const heard = [];
  const during = [];
  const off = a.onStatus((s) => {
    heard.push([s.pending, s.rejected]);
    if (s.syncing && during.at(-1) !== s.pending) during.push(s.pending);
  });
  const inSubscriber = [];
  const unsubscribe = a.subscribe("todos", () => inSubscriber.push(a.status().pending));
  await a.put("todos", { id: "t1", v: 1 });
  eq(a.status().pending, 1, "a new record, as put returns");
  eq(heard.at(-1), [1, 0], "onStatus heard it");
  eq(inSubscriber, [1], "a subscriber hearing of the write reads it counted");
  unsubscribe();
  await a.bulkPut("todos", [{ id: "t2" }, { id: "t3" }, { id: "t1", v: 2 }]);
  eq(a.status().pending, 3, "an edit of a pending record is the same pending change");
  await a.delete("todos", "t3");
  eq(a.status().pending, 3, "a tombstone is pending");
  await a.delete("todos", "nowhere");
  eq(a.status().pending, 3, "deleting nothing changes nothing");
  await a.sync();
  eq(a.status().pending, 0, "synced");
  eq(during, [3, 1, 0], "pending went down as each batch of two was acknowledged");
  await a.put("todos", { id: "t1", v: 3 });
  eq(a.status().pending, 1, "an edit of a synced record");
  await a.put("todos", { id: "huge", text: "x".repeat(1100 * 1024) });
  await a.sync();
  eq([a.status().pending, a.status().rejected], [0, 1], "refused");
  await a.put("todos", { id: "huge", text: "small" });
  eq([a.status().pending, a.status().rejected], [1, 0], "editing a refused record retries it");
  eq(heard.at(-1), [1, 0], "onStatus heard that too");
  // Twenty writes at once, and the recounts they trigger, agree with the store.
  await Promise.all(Array.from({ length: 20 }, (_, i) => a.put("todos", { id: "b" + i })));
  eq(a.status().pending, 21, "after a burst");
  await sleep(200);
  eq([a.status().pending, await a.pending()], [21, 21], "after the recount");
  off();
  await cleanup(a);
"#)
    .await;
    let body = format!(
        r#"{}
  eq([b.status().pending, b.status().conflicts], [0, 1], "an open conflict");
  await b.put("todos", {{ id: "t1", x: 0, y: "b2" }});
  eq([b.status().pending, b.status().conflicts], [1, 0], "edited again, it is pending");
  eq(await b.conflicts(), [], "and no longer listed");
  await cleanup(a, b);"#,
        concurrent_edit("manual")
    );
    js(&body).await;
}

#[wasm_bindgen_test]
async fn discarding_a_refused_edit_brings_back_the_servers_version_of_that_record_alone() {
    js(r#"
  const token = await user();
  const a = await open({ todos: {} }, { token });
  const id = "t/1 é?";
  await a.put("todos", { id, v: 1 });
  await a.put("todos", { id: "other", v: 1 });
  await a.sync();
  await a.put("todos", { id, text: "x".repeat(1100 * 1024) });
  eq((await a.sync()).rejected, 1, "refused");
  // Then another device, whose clock is 30 s ahead (within the server's bound, which would
  // move a stamp further ahead), writes version 2.
  const ahead = String(Date.now() + 30000).padStart(15, "0") + "-000000-fast";
  const api = (path, body) => fetch(server + path, { method: body ? "POST" : "GET",
    headers: { "content-type": "application/json", authorization: "Bearer " + token },
    body: body && JSON.stringify(body) }).then((r) => r.json());
  const pushed = await api("/api/sync/push", { deviceId: "fast", changes: { todos: [
    { id, changeId: "fast-1", baseVersion: 1, hlc: ahead, deviceId: "fast", data: { v: 2 } }] } });
  eq(pushed.results[0].version, 2, "the other device's write");
  const [r] = await a.rejected();
  await a.discardRejected(r.id);
  const back = await a.get("todos", id);
  eq([back.v, back.text, back._sync.status, back._sync.version], [2, undefined, "SYNCED", 2],
    "the server's version, at once");
  eq([a.status().rejected, a.status().pending], [0, 0], "status");
  // An edit right away is stamped after the version it was made from, clock or no clock.
  await a.put("todos", { id, v: 3 });
  const report = await a.sync();
  eq([report.pushed, report.pulled], [1, 0], "the edit pushed, nothing pulled again");
  const stored = await api("/api/sync/records/todos/" + encodeURIComponent(id));
  eq(stored.version, 3, "edited");
  if (!(stored.hlc > ahead)) throw new Error(`stamped ${stored.hlc}, not after ${ahead}`);
  await cleanup(a);
"#)
    .await;
}

#[wasm_bindgen_test]
async fn a_field_policy_keeps_the_higher_score_on_every_device() {
    js(r#"
  const token = await user();
  const cols = { scores: { conflict: "client_wins", fields: { score: "max" } } };
  const a = await open(cols, { token });
  const b = await open(cols, { token });
  await a.put("scores", { id: "quiz", score: 10 });
  await a.sync();
  await b.sync();
  await b.put("scores", { id: "quiz", score: 4, note: "retake" });
  await b.sync();
  eq((await b.get("scores", "quiz")).score, 10, "the lower score did not win on b");
  eq((await b.get("scores", "quiz")).note, "retake", "the rest of the edit did");
  await a.sync();
  eq((await a.get("scores", "quiz")).score, 10, "nor on a");
  eq(await code(open({ s: { fields: { score: "highest" } } }, { token })), "INVALID_OPTIONS", "unknown policy");
  await cleanup(a, b);
"#)
    .await;
}

/// A first pull assumes the device holds none of its records (it writes each page without
/// waiting for its reads); here one of them is on the device with an open manual conflict, in a
/// pull of several pages: that page takes the slower path, and the conflict is kept.
#[wasm_bindgen_test]
async fn a_first_pull_keeps_a_record_the_device_holds_with_a_pending_change() {
    js(r#"
  const token = await user();
  const todos = { todos: { conflict: "manual" } };
  const a = await open(todos, { token, batchSize: 3 });
  const b = await open(todos, { token, batchSize: 3 });
  await b.put("todos", { id: "t4", v: "b" });
  for (let i = 0; i < 10; i++) await a.put("todos", { id: "t" + i, v: i });
  await a.sync();
  // b's push of t4 meets a's: an open manual conflict. Its first pull then brings t4 among
  // ten records in pages of three, and must leave b's t4 as it is.
  const report = await b.sync();
  eq(report.conflicts, 1, "b's t4 met a's");
  eq(await b.count("todos"), 10, "b has all ten");
  for (let i = 0; i < 10; i++) if (i !== 4) eq((await b.get("todos", "t" + i)).v, i, "t" + i);
  const t4 = await b.get("todos", "t4");
  eq([t4.v, t4._sync.status], ["b", "CONFLICT"], "b's own t4 kept");
  eq([b.status().pending, b.status().conflicts], [0, 1], "the conflict is open");
  eq((await b.sync()).pulled, 0, "the next pull has nothing new");
  await cleanup(a, b);"#)
    .await;
}

#[path = "sync/values.rs"]
mod values;
