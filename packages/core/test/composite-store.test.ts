// The conformance suite is resolved from source by the test setup; core does not depend on it (that would be a cycle).
import { compositeStore, createStoreError, memoryStore } from "@keyup/core";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { expect, test } from "vitest";

// A composite of two memory stores must pass the same conformance suite as any store.
credentialStoreTestSuite(
  test,
  ({ initial }) => {
    const a = memoryStore({ name: "memory:a", ...(initial ? { initial } : {}) });
    const b = memoryStore({ name: "memory:b", ...(initial ? { initial } : {}) });
    const store = compositeStore([a, b]);
    return { store, reopen: () => store };
  },
  { capabilities: { crossProcessLock: false, durableBackup: false } },
);

const key = (n: number) => ({ accessKeyId: `AKIACOMPOSITE${String(n).padStart(7, "0")}`, secretAccessKey: `composite/secret+${String(n).padStart(23, "0")}` });

test("parts holding different keys are refused; a part holding nothing yet is fine", async () => {
  const disagree = compositeStore([memoryStore({ name: "memory:a", initial: key(1) }), memoryStore({ name: "memory:b", initial: key(2) })]);
  await expect(disagree.read()).rejects.toMatchObject({ code: "EINVALID" });
  const partial = compositeStore([memoryStore({ name: "memory:a" }), memoryStore({ name: "memory:b", initial: key(3) })]);
  expect(await partial.read()).toEqual(key(3));
});

test("a failed write names the part and the parts already written; restore puts every part back", async () => {
  const a = memoryStore({ name: "memory:a", initial: key(1) });
  const b = memoryStore({ name: "memory:b", initial: key(1) });
  const broken = { ...b, write: async () => Promise.reject(createStoreError("EIO", "disk full")) };
  const store = compositeStore([a, broken]);
  const backup = await store.backup();
  await expect(store.write(key(2))).rejects.toThrow(/writing memory:b failed: disk full \(already written: memory:a/);
  expect(a.current()).toEqual(key(2));
  await store.restore(backup);
  expect(a.current()).toEqual(key(1));
  expect(b.current()).toEqual(key(1));
});

test("locks are taken in name order and released when one is held", async () => {
  const a = memoryStore({ name: "memory:a" });
  const b = memoryStore({ name: "memory:b" });
  const held = await b.lock();
  await expect(compositeStore([a, b]).lock()).rejects.toMatchObject({ code: "ELOCKED" });
  const again = await a.lock(); // a was released after b refused
  await again.release();
  await held.release();
});

test("the same store twice, or none, is refused", () => {
  const a = memoryStore({ name: "memory:a" });
  expect(() => compositeStore([a, a])).toThrow(/same store twice/);
  expect(() => compositeStore([])).toThrow(/at least one/);
});

test("discard hands each part its own backup, goes on past a part that fails, then names it", async () => {
  const seen: { part: string; id: string }[] = [];
  const recording = (name: string, fail = false) => {
    const base = memoryStore({ name, initial: key(1) });
    return {
      ...base,
      discard: async (backup: { id: string }) => {
        if (fail) throw createStoreError("EIO", "read-only folder");
        seen.push({ part: name, id: backup.id });
      },
    };
  };
  const a = recording("memory:a");
  const b = recording("memory:b", true);
  const plain = memoryStore({ name: "memory:c", initial: key(1) });
  const d = recording("memory:d");
  const store = compositeStore([a, b, plain, d]);
  const backup = await store.backup();
  const parts = JSON.parse(backup.id) as { id: string }[];
  await expect(store.discard?.(backup)).rejects.toThrow("discarding backups failed for memory:b: read-only folder");
  expect(seen).toEqual([
    { part: "memory:a", id: parts[0]?.id },
    { part: "memory:d", id: parts[3]?.id },
  ]);
  await expect(store.discard?.({ id: "not json" })).rejects.toMatchObject({ code: "EBACKUP" });
});
