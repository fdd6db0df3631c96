import { createHash, randomUUID } from "node:crypto";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "./credential-store.js";

/**
 * Options for {@link memoryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { name: "memory:test", initial: { accessKeyId: "AKIA…", secretAccessKey: "…" } };
 * ```
 */
export interface MemoryStoreOptions {
  /** Printable name. Default `memory:<random id>`. */
  readonly name?: string;
  /** The key the store starts with. Default: none. */
  readonly initial?: AccessKeyPair;
}

/**
 * A {@link CredentialStore} that is also inspectable: `current()` returns what it holds without a promise.
 *
 * @example
 * ```ts
 * const store: MemoryStore = memoryStore();
 * store.current(); // undefined
 * ```
 */
export interface MemoryStore extends CredentialStore {
  /** What the store holds right now (synchronous, for tests and examples). */
  current(): AccessKeyPair | undefined;
}

/**
 * The reference {@link CredentialStore}: holds one key in memory, with in-process locking and
 * in-memory backups. Useful in tests and as a model for custom stores.
 *
 * @example
 * ```ts
 * import { memoryStore, rotate } from "@keyup/core";
 *
 * const store = memoryStore({ initial: { accessKeyId, secretAccessKey } });
 * const result = await rotate({ store, region: "us-east-1" });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  let held: AccessKeyPair | undefined = options.initial ? { ...options.initial } : undefined;
  let locked = false;
  const backups = new Map<string, AccessKeyPair | undefined>();
  const name = options.name ?? `memory:${randomUUID().slice(0, 8)}`;

  const fingerprint = (key: AccessKeyPair | undefined): string =>
    `sha256:${createHash("sha256")
      .update(key ? `${key.accessKeyId}\n${key.secretAccessKey}` : "")
      .digest("hex")}`;

  return {
    name,
    capabilities: { crossProcessLock: false, durableBackup: false },
    // The key lives in this object alone: no other store can share its lock.
    lockDomain: { kind: "own" },
    current: () => (held ? { ...held } : undefined),
    read: async () => (held ? { ...held } : undefined),
    backup: async (): Promise<StoreBackup> => {
      const id = fingerprint(held);
      backups.set(id, held ? { ...held } : undefined);
      return { id };
    },
    write: async (key) => {
      if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
      held = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    restore: async (backup) => {
      if (!backups.has(backup.id)) {
        throw createStoreError("EBACKUP", `${name}: no backup ${backup.id} in this process (memory backups do not survive a restart)`);
      }
      const content = backups.get(backup.id);
      held = content ? { ...content } : undefined;
    },
    lock: async (): Promise<StoreLock> => {
      if (locked) throw createStoreError("ELOCKED", `${name} is locked by another rotation in this process`, { holder: `pid ${process.pid}` });
      locked = true;
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          locked = false;
        },
      };
    },
  };
}
