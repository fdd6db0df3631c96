import { createHash } from "node:crypto";
import { type AccessKeyPair, type CredentialStore, createStoreError, type StoreBackup, type StoreLock } from "./credential-store.js";

/**
 * One store made of several: one new key installed into all of them. Each part keeps its own lock,
 * backup and restore; the composite only orders them.
 *
 * - `read()` returns the key the parts hold. Parts that hold no key yet are fine (they will receive it);
 *   parts holding different keys are an error, since there would be no single key to rotate.
 * - `write()` writes the parts in order and stops at the first failure; the rotation then restores
 *   every part from the composite backup (parts not yet written are restored to what they already
 *   hold) before deleting the new key.
 * - `discard()` hands each part its own backup to discard, if the part can.
 * - `lock()` takes every part's lock in a fixed order (by name) so two composites over the same stores
 *   cannot deadlock, and releases what it took if one is held.
 *
 * @example
 * ```ts
 * import { compositeStore, rotate } from "@keyup/core";
 *
 * const store = compositeStore([iniStore({ profile: "ci" }), envStore({ path: ".env" })]);
 * await rotate({ store });
 * ```
 */
export function compositeStore(stores: readonly CredentialStore[]): CredentialStore {
  if (stores.length === 0) throw createStoreError("EINVALID", "compositeStore needs at least one store");
  const names = stores.map((s) => s.name);
  if (new Set(names).size !== names.length) throw createStoreError("EINVALID", `compositeStore got the same store twice: ${names.join(", ")}`);
  const name = `composite(${names.join(", ")})`;
  const first = stores[0] as CredentialStore;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 12);

  const partsOf = (backup: StoreBackup): StoreBackup[] => {
    let parts: StoreBackup[];
    try {
      parts = JSON.parse(backup.id) as StoreBackup[];
    } catch {
      throw createStoreError("EBACKUP", `${name}: the backup handle is not a composite backup`);
    }
    if (!Array.isArray(parts) || parts.length !== stores.length)
      throw createStoreError("EBACKUP", `${name}: the backup handle has ${parts?.length} parts for ${stores.length} stores`);
    return parts;
  };

  return {
    name,
    capabilities: {
      crossProcessLock: stores.every((s) => s.capabilities.crossProcessLock),
      durableBackup: stores.every((s) => s.capabilities.durableBackup),
    },
    // Its lock is its parts' locks, which no single domain describes: in a fleet a composite is its own
    // domain, so do not put its parts in the same fleet (their locks would be taken twice: ELOCKED).
    lockDomain: { kind: "own" },
    ...(first.journalPath ? { journalPath: `${first.journalPath}.composite-${digest}` } : {}),

    read: async () => {
      let found: { key: AccessKeyPair; from: string } | undefined;
      for (const store of stores) {
        const key = await store.read();
        if (!key) continue;
        if (!found) {
          found = { key, from: store.name };
        } else if (found.key.accessKeyId !== key.accessKeyId || found.key.secretAccessKey !== key.secretAccessKey) {
          const what =
            found.key.accessKeyId === key.accessKeyId
              ? `the same key id ${key.accessKeyId} with different secrets`
              : `${found.key.accessKeyId} and ${key.accessKeyId}`;
          throw createStoreError("EINVALID", `${found.from} and ${store.name} hold ${what}: put the same key in every store before rotating them together`);
        }
      }
      return found?.key;
    },

    backup: async (): Promise<StoreBackup> => {
      const parts: StoreBackup[] = [];
      for (const store of stores) parts.push(await store.backup());
      const locations = parts.map((p, i) => `${names[i]}: ${p.location ?? "(in memory)"}`);
      return {
        id: JSON.stringify(parts.map((p) => ({ id: p.id, ...(p.location !== undefined ? { location: p.location } : {}) }))),
        location: locations.join("; "),
      };
    },

    write: async (key) => {
      const written: string[] = [];
      for (const store of stores) {
        try {
          await store.write(key);
        } catch (error) {
          const done = written.length ? ` (already written: ${written.join(", ")}; they are restored by the rollback)` : "";
          const reason = error instanceof Error ? error.message : String(error);
          throw createStoreError((error as { code?: string }).code ?? "EIO", `writing ${store.name} failed: ${reason}${done}`, { cause: error });
        }
        written.push(store.name);
      }
    },

    restore: async (backup) => {
      const parts = partsOf(backup);
      // Restore every part even if one fails, then report all failures together.
      const failures: string[] = [];
      for (const [i, store] of stores.entries()) {
        try {
          await store.restore(parts[i] as StoreBackup);
        } catch (error) {
          failures.push(`${store.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (failures.length) throw createStoreError("EIO", `restoring failed for ${failures.join("; ")}`);
    },

    discard: async (backup) => {
      const parts = partsOf(backup);
      // Every part's copy goes even if one part fails, like restore.
      const failures: string[] = [];
      for (const [i, store] of stores.entries()) {
        await store.discard?.(parts[i] as StoreBackup).catch((error: unknown) => {
          failures.push(`${store.name}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
      if (failures.length) throw createStoreError("EIO", `discarding backups failed for ${failures.join("; ")}`);
    },

    // Members rotate together: only holders outside the composite are left behind.
    otherHolders: async (accessKeyId) => {
      const outside = new Set<string>();
      for (const store of stores) for (const holder of (await store.otherHolders?.(accessKeyId)) ?? []) outside.add(holder);
      for (const member of names) outside.delete(member);
      return [...outside];
    },

    lock: async (): Promise<StoreLock> => {
      const held: StoreLock[] = [];
      const ordered = [...stores].sort((a, b) => a.name.localeCompare(b.name));
      try {
        for (const store of ordered) held.push(await store.lock());
      } catch (error) {
        for (const lock of held.reverse()) await lock.release().catch(() => undefined);
        throw error;
      }
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          for (const lock of [...held].reverse()) await lock.release().catch(() => undefined);
        },
      };
    },
  };
}
