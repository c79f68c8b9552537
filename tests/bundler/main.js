// An app as a bundler user writes it (`www/e2e/bundler.mjs` builds it with Vite): the package's
// `ferrysync/bundler` entry, imported by name, no `init()`. Two devices in one page (two
// databases) sync through the server at `?server=` with the token `?token=`; `window.result`
// holds what the test checks, or `{ error }`.
import { FerrySync } from "ferrysync/bundler";

const params = new URLSearchParams(location.search);
const serverUrl = params.get("server");
const token = params.get("token");
const tag = Math.random().toString(36).slice(2);
const device = (name) => FerrySync.open({ name: `${name}-${tag}`, serverUrl, token, autoSync: false,
  collections: { notes: { indexes: ["title"] } } });

async function main() {
  const a = await device("a");
  const note = await a.put("notes", { title: "written on a", tags: ["x", "ü"] });
  const pendingBefore = await a.pending();
  let unknown;
  try { await a.put("nope", {}); } catch (e) { unknown = { isError: e instanceof Error, code: e.code }; }
  const pushed = await a.sync();
  const b = await device("b");
  const pulled = await b.sync();
  const onB = await b.get("notes", note.id);
  const byIndex = await b.query("notes", { index: "title", gte: "w", lt: "x" });
  const result = { pendingBefore, pendingAfter: await a.pending(), unknown, pushed: pushed.pushed,
    pulled: pulled.pulled, onB, byIndex: byIndex.map((r) => r.id), id: note.id };
  await a.close();
  await b.close();
  return result;
}
main().then((r) => { window.result = r; }, (e) => { window.result = { error: String(e?.stack ?? e) }; })
  .finally(() => { document.getElementById("out").textContent = JSON.stringify(window.result, null, 2); });
