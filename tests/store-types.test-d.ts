// Type-checks the store build's declarations (`ferrysync/store`, pkg/store-web): the store's
// calls compile as in the full package, and the sync methods do not exist.
import init, { FerrySync, type StoredRecord } from "../pkg/store-web/ferrysync.js";

export async function storeOnly(): Promise<void> {
  await init();
  const db: FerrySync = await FerrySync.open({ name: "local", collections: { notes: { indexes: ["title"] } } });
  const note: StoredRecord = await db.put("notes", { title: "a" });
  const found: StoredRecord[] = await db.query("notes", { index: "title", gte: "a" });
  const n: number = (await db.count("notes")) + (await db.pending()) + found.length;
  const off: () => void = db.subscribe("notes", () => {});
  off();
  void [note, n];
  // @ts-expect-error the store build has no sync
  await db.sync();
  // @ts-expect-error nor its options
  await FerrySync.open({ name: "x", collections: {}, serverUrl: "http://127.0.0.1:8787" });
  // @ts-expect-error nor a sync status
  db.status();
  await db.close();
}
