// Against the ferrysync-server at FERRYSYNC_E2E_URL: registers a user, pushes ten batches of
// 1,000 records (the sync benchmark's records, ids in write order) from one device, pulls them
// back as another device in pages of 1,000, and prints each request's time. No browser: it
// shows the server's own cost per request, and is what BENCHMARKS.md runs the server under
// `valgrind --tool=callgrind` with.
import { register } from "./common.mjs";
const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server");
const token = await register(base, "roundtrips");
const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
const device = "roundtrips-" + Math.random().toString(36).slice(2);
async function post(path, body) {
  const t0 = performance.now();
  const r = await fetch(`${base}/api/sync/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await r.json();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(answer).slice(0, 200)}`);
  return [answer, performance.now() - t0];
}
const pushes = [];
for (let b = 0; b < 10; b++) {
  const changes = Array.from({ length: 1000 }, (_, i) => {
    const n = b * 1000 + i;
    return { id: `r${String(n).padStart(6, "0")}`, changeId: crypto.randomUUID(),
      hlc: `${String(1700000000000 + n).padStart(15, "0")}-000000-${device}`, deviceId: device, changedFields: [],
      data: { title: `record ${n}`, n, done: n % 3 === 0, tags: ["alpha", "beta"], note: "the quick brown fox jumps over the lazy dog" } };
  });
  pushes.push((await post("push", { protocolVersion: 1, deviceId: device, changes: { items: changes } }))[1]);
}
const pulls = [];
let cursor = null;
for (;;) {
  const [page, ms] = await post("pull", { protocolVersion: 1, deviceId: "other", cursor, limit: 1000 });
  pulls.push(ms);
  cursor = page.cursor;
  if (!page.hasMore) break;
}
const line = (what, times) => `${what} ms ${times.map(Math.round).join(" ")}, sum ${Math.round(times.reduce((a, b) => a + b))}`;
console.log(line("push", pushes));
console.log(line("pull", pulls));
