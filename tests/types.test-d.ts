// Type-checks the generated declarations (`tsc --noEmit -p tests/tsconfig.json`): the issue's
// example must compile, and misuse must not.
import init, {
  FerrySync,
  type ChangeEvent,
  type FerrysyncError,
  type FerrysyncErrorCode,
  type StoredRecord,
} from "../pkg/web/ferrysync.js";

export async function example(): Promise<void> {
  await init();
  const db: FerrySync = await FerrySync.open({
    name: "crm",
    serverUrl: "http://127.0.0.1:8787",
    collections: {
      customers: { indexes: ["name", "city"], conflict: "newest_wins" },
      orders: { indexes: ["customerId", "createdAt"] },
    },
  });
  const c: StoredRecord = await db.put("customers", { name: "ABC Company", phone: "555-1234" });
  const status: "SYNCED" | "UNSYNCED" | "CONFLICT" | "REJECTED" = c._sync.status;
  const updatedAt: number = c._sync.updatedAt;
  const got: StoredRecord | undefined = await db.get("customers", c.id);
  const many: StoredRecord[] = await db.bulkPut("customers", [{ name: "A" }, { id: "b", name: "B" }]);
  await db.delete("customers", c.id);
  const page: StoredRecord[] = await db.query("customers", { index: "name", gte: "A", lt: "B", limit: 50, reverse: false });
  const all: StoredRecord[] = await db.all("customers");
  const n: number = (await db.count("customers")) + (await db.pending());
  const off: () => void = db.subscribe("customers", (changes: ChangeEvent[]) => {
    for (const change of changes) if (change.op === "put") console.log(change.record._sync.status);
  });
  off();
  const device: string = db.deviceId;
  await db.close();
  void [status, updatedAt, got, many, page, all, n, device];
}

export function codeOf(e: unknown): FerrysyncErrorCode | undefined {
  const err = e as FerrysyncError;
  return err.name === "FerrysyncError" ? err.code : undefined;
}

// @ts-expect-error: not a code
const bad: FerrysyncErrorCode = "NOPE";
void bad;

export async function misuse(db: FerrySync): Promise<void> {
  // @ts-expect-error: collections are required
  await FerrySync.open({ name: "x" });
  // @ts-expect-error: not a conflict strategy
  await FerrySync.open({ name: "x", collections: { c: { conflict: "newest_win" } } });
  await FerrySync.open({ name: "x", collections: { a: { conflict: "manual" }, b: { conflict: "merge" } } });
  // @ts-expect-error: count resolves to a number
  const s: string = await db.count("customers");
  void s;
}
