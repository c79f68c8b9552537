// Hand-written IndexedDB code doing the same work as ferrysync, with the same durability: every
// write puts the record (with its _sync metadata) and a change entry in ONE transaction, and an
// update reads the record first (a syncing store needs its base version), as ferrysync does.

const req = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = tx.onabort = () => fail(tx.error); });

export class Raw {
  static async open(name) {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => {
      const s = r.result.createObjectStore("customers", { keyPath: "id" });
      s.createIndex("name", "name");
      s.createIndex("city", "city");
      r.result.createObjectStore("changes", { keyPath: "k" }).createIndex("seq", "seq");
    };
    const raw = new Raw();
    raw.db = await req(r);
    raw.seq = 0;
    return raw;
  }

  change(id, fields) {
    this.seq += 1;
    return { k: "customers\u0000" + id, id, changeId: crypto.randomUUID(), seq: this.seq,
      hlc: `${String(Date.now()).padStart(15, "0")}-000000-dev`, changedFields: fields };
  }

  stored(record, id) {
    return { ...record, id, _sync: { status: "UNSYNCED", updatedAt: Date.now() } };
  }

  async bulkPut(records) {
    const tx = this.db.transaction(["customers", "changes"], "readwrite");
    const rows = tx.objectStore("customers"), changes = tx.objectStore("changes");
    const out = records.map((r) => {
      const row = this.stored(r, crypto.randomUUID());
      rows.put(row);
      changes.put(this.change(row.id, []));
      return row;
    });
    await done(tx);
    return out;
  }

  async put(record) {
    return (await this.bulkPut([record]))[0];
  }

  async update(record) {
    const tx = this.db.transaction(["customers", "changes"], "readwrite");
    const rows = tx.objectStore("customers"), changes = tx.objectStore("changes");
    const [old, pending] = await Promise.all([req(rows.get(record.id)), req(changes.get("customers\u0000" + record.id))]);
    const fields = Object.keys(record).filter((k) => k !== "id" && old[k] !== record[k]);
    const row = this.stored(record, record.id);
    rows.put(row);
    changes.put(pending ? { ...pending, changeId: crypto.randomUUID() } : this.change(record.id, fields));
    await done(tx);
    return row;
  }

  async all() {
    return req(this.db.transaction("customers").objectStore("customers").getAll());
  }

  async query(lower, upper) {
    const index = this.db.transaction("customers").objectStore("customers").index("name");
    return req(index.getAll(IDBKeyRange.bound(lower, upper, false, true)));
  }

  close() { this.db.close(); }
}
