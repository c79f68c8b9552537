// ferrysync demo: a todo list that works offline and syncs with the server that serves it.
// Query parameters (used by the end-to-end tests): token, db (database name), interval (ms),
// strategy (conflict strategy of `todos`).
import init, { FerrySync } from "./pkg/ferrysync.js";

// The service worker keeps the app shell, so the demo opens offline too (www/sw.js).
navigator.serviceWorker?.register("./sw.js").catch((err) => console.warn("no offline shell:", err.message));

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const TOKEN = "ferrysync-token";

async function auth(kind, username, password) {
  const res = await fetch(`/api/auth/${kind}`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`${kind} failed: ${res.status}`);
  return (await res.json()).token;
}

/** Shows the login form until the person logs in or registers; resolves with the new token. */
function logIn() {
  localStorage.removeItem(TOKEN);
  const form = $("login");
  form.hidden = false;
  return new Promise((resolve) => {
    const submit = async (e) => {
      e.preventDefault();
      const kind = e.submitter?.name === "register" ? "register" : "login";
      try {
        const t = await auth(kind, form.username.value, form.password.value);
        localStorage.setItem(TOKEN, t);
        form.hidden = true;
        form.removeEventListener("submit", submit);
        resolve(t);
      } catch (err) { $("status").textContent = err.message; }
    };
    form.addEventListener("submit", submit);
  });
}

// ferrysync asks for a token before its first request and again after the server answers 401.
// Being asked again means the last token was refused (it expired, or the server's data was
// reset): the form comes back. The local data stays usable meanwhile.
const refused = new Set();
let given = null;
async function getToken() {
  if (given) refused.add(given);
  const kept = [params.get("token"), localStorage.getItem(TOKEN)].find((t) => t && !refused.has(t));
  given = kept ?? await logIn();
  return given;
}

function showStatus(s) {
  const el = $("status");
  el.dataset.health = s.health;
  el.textContent = `${s.health} · ${s.online ? "online" : "offline"}${s.syncing ? " · syncing" : ""}`
    + ` · pending ${s.pending} · conflicts ${s.conflicts} · rejected ${s.rejected}`
    + (s.lastError ? ` · ${s.lastError.code}` : "");
}

async function render(db) {
  const list = $("todos");
  list.replaceChildren(...(await db.all("todos")).map((t) => {
    const li = document.createElement("li");
    li.dataset.id = t.id;
    li.innerHTML = `<label><input type="checkbox" ${t.done ? "checked" : ""}> <span></span></label> <small></small>`;
    li.querySelector("span").textContent = t.title;
    li.querySelector("small").textContent = t._sync.status;
    li.querySelector("input").onchange = (e) => db.put("todos", { ...t, done: e.target.checked });
    return li;
  }));
  const conflicts = await db.conflicts();
  $("conflicts").replaceChildren(...conflicts.map((c) => {
    const div = document.createElement("div");
    div.className = "conflict";
    div.textContent = `Conflict on ${c.recordId}: mine ${JSON.stringify(c.local)} vs theirs ${JSON.stringify(c.remote)} `;
    for (const choice of ["local", "remote"]) {
      const b = document.createElement("button");
      b.textContent = `keep ${choice}`;
      b.onclick = () => db.resolveConflict(c.id, choice).then(() => render(db));
      div.append(b);
    }
    return div;
  }));
}

await init();
const db = await FerrySync.open({
  name: params.get("db") || "ferrysync-demo",
  serverUrl: location.origin,
  getToken,
  collections: { todos: { indexes: ["title"], conflict: params.get("strategy") || "newest_wins" } },
  syncIntervalMs: Number(params.get("interval")) || 300000,
});
window.db = db;
showStatus(db.status());
db.onStatus(showStatus);
db.subscribe("todos", () => render(db));
db.onStatus(() => render(db));
await render(db);
$("add").hidden = false;
$("add").addEventListener("submit", async (e) => {
  e.preventDefault();
  await db.put("todos", { title: e.target.title.value, done: false });
  e.target.reset();
});
$("sync").onclick = () => db.sync().catch((err) => console.warn(err.code, err.message));
window.ready = true;
