/**
 * The contract between keyup's rotation engine and wherever an access key lives.
 *
 * A store is a plain object returned by a factory (`iniStore(...)`, `memoryStore(...)`, your own).
 * Methods return promises and may throw or reject; core wraps every call in a `ResultAsync`,
 * so store authors need not know neverthrow. Prove a custom store with `@keyup/store-test-suite`.
 *
 * @module
 */

/**
 * An IAM access key pair. The only place a secret travels through keyup's API.
 *
 * @example
 * ```ts
 * const key: AccessKeyPair = { accessKeyId: "AKIA...", secretAccessKey: process.env.SECRET! };
 * ```
 */
export interface AccessKeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * What a store can promise. Core and the conformance suite adapt to these.
 *
 * @example
 * ```ts
 * const capabilities: StoreCapabilities = { crossProcessLock: true, durableBackup: true };
 * ```
 */
export interface StoreCapabilities {
  /** `lock()` excludes other processes (and machines, where the store is shared), not only this process. */
  readonly crossProcessLock: boolean;
  /** A backup survives the death of this process: `restore(backup)` works from a new process. */
  readonly durableBackup: boolean;
}

/**
 * A handle to content a store captured with `backup()`. JSON-serialisable and free of secrets,
 * so it can be journaled and printed; a later process passes it back to `restore()`.
 *
 * @example
 * ```ts
 * const backup: StoreBackup = { id: "sha256:3b1f…", location: "/home/me/.aws/credentials.keyup-backup" };
 * ```
 */
export interface StoreBackup {
  /** Identifies the captured content (for example a content hash). Never a secret. */
  readonly id: string;
  /** Where a person can find the backup, if it lives somewhere they can look. Safe to print. */
  readonly location?: string;
}

/**
 * An exclusive lock held on a store for the length of a rotation.
 *
 * @example
 * ```ts
 * const lock = await store.lock();
 * try { ... } finally { await lock.release(); }
 * ```
 */
export interface StoreLock {
  /** Releases the lock. Calling it twice is harmless. */
  release(): Promise<void>;
}

/**
 * What a store's `lock()` locks, so that a fleet (`rotateMany`) takes each lock once and runs the
 * rotations that share it one at a time, instead of letting two stores over one file each lock it.
 *
 * A tagged union rather than a free string, because the fleet must compare domains, and only some
 * can be compared as given: two paths name one file after symlinks are resolved, which the fleet
 * does for `file` domains so a store need not; `resource` ids are compared as given.
 *
 * - `file`: `lock()` locks the whole file at `path` (the INI and .env stores, and every store made
 *   with `defineFileStore` from `@keyup/core/files`). Every store over that file shares one lock.
 * - `resource`: `lock()` locks something else shared, named by `id` (a secret's ARN, a vault path).
 *   Stores with the same `id` share one lock.
 * - `own`: `lock()` locks nothing another store could be over (an in-memory store): the store is its
 *   own domain. Only claim it when that is true; a store over a shared file that claims `own` gets
 *   its own lock and, in a fleet, races the other stores of that file.
 *
 * @example
 * ```ts
 * const domain: StoreLockDomain = { kind: "file", path: "/home/me/.aws/credentials" };
 * ```
 */
export type StoreLockDomain = { readonly kind: "file"; readonly path: string } | { readonly kind: "resource"; readonly id: string } | { readonly kind: "own" };

/**
 * Where a key lives: an INI profile, a `.env` file, a secret, or anything you write.
 *
 * Rules every implementation follows (the conformance suite checks them):
 * - `name` identifies the store for people and logs, and never contains a secret.
 * - `read()` returns the key the store holds, or `undefined` when it holds none.
 * - `backup()` durably captures the current content (when `capabilities.durableBackup`) and returns
 *   a handle; `restore(handle)` puts that content back exactly (byte for byte for files).
 * - `write(key)` replaces the held key atomically: a reader sees the old key or the new one, never a mix.
 *   Writing the key the store already holds changes nothing.
 * - `lock()` takes an exclusive lock or throws a {@link StoreErrorCode} `"ELOCKED"` error at once.
 * - `lockDomain` says what `lock()` locks (see {@link StoreLockDomain}); a fleet refuses a store
 *   that does not declare one rather than guess.
 * - Errors are thrown as `Error`s (ideally from {@link createStoreError}) whose messages never
 *   contain a secret.
 *
 * @example
 * ```ts
 * import type { CredentialStore } from "@keyup/core";
 *
 * export function vaultStore(path: string): CredentialStore {
 *   return {
 *     name: `vault:${path}`,
 *     capabilities: { crossProcessLock: true, durableBackup: true },
 *     lockDomain: { kind: "resource", id: `vault:${path}` },
 *     read: async () => fetchFromVault(path),
 *     backup: async () => ({ id: await snapshotVault(path) }),
 *     write: async (key) => writeToVault(path, key),
 *     restore: async (backup) => restoreVault(path, backup.id),
 *     lock: async () => ({ release: await lockVault(path) }),
 *   };
 * }
 * ```
 */
export interface CredentialStore {
  /** A printable identity such as `ini:/home/me/.aws/credentials#default`. Never a secret. */
  readonly name: string;
  /** What this store can promise. */
  readonly capabilities: StoreCapabilities;
  /**
   * What `lock()` locks: stores with the same domain share one lock (a fleet takes it once). Required,
   * because a fleet cannot see it: a store over a shared file that said nothing would silently get a
   * lock of its own.
   */
  readonly lockDomain: StoreLockDomain;
  /**
   * Where keyup keeps the rotation journal for this store by default, when the store has a natural
   * place for it (file stores: beside their file). Optional: without it keyup uses its state folder.
   */
  readonly journalPath?: string;
  /** The key the store holds now, or `undefined` if it holds none. */
  read(): Promise<AccessKeyPair | undefined>;
  /** Captures the current content so that `restore()` can put it back exactly. */
  backup(): Promise<StoreBackup>;
  /** Atomically replaces the held key with `key`. */
  write(key: AccessKeyPair): Promise<void>;
  /** Puts back exactly the content captured by `backup`. Idempotent. */
  restore(backup: StoreBackup): Promise<void>;
  /** Takes an exclusive lock, or throws an `ELOCKED` store error at once if another holder has it. */
  lock(): Promise<StoreLock>;
  /**
   * Optional. Deletes what `backup` captured, once the rotation that took it is over and nothing can
   * need it (not after a failed rollback, whose manual steps point at it). Stores whose backups are
   * copies of secrets (a file store's copy of the whole file) should implement it, so that old
   * secrets do not linger. A failure is logged as a warning; the rotation's outcome stands.
   */
  discard?(backup: StoreBackup): Promise<void>;
  /**
   * Optional. Printable names of other places that hold `accessKeyId` and that `write()` would not
   * update: another profile of the same file, another hard link to the file. A rotation refuses when
   * this is not empty (it would delete a key they still use); a fleet subtracts its own members.
   */
  otherHolders?(accessKeyId: string): Promise<readonly string[]>;
}

/**
 * Machine-readable reasons a store can fail with. Stores may use their own codes too.
 *
 * @example
 * ```ts
 * const code: StoreErrorCode = "ELOCKED";
 * ```
 */
export type StoreErrorCode =
  /** Another process or rotation holds the store's lock. */
  | "ELOCKED"
  /** The file, profile, secret or variable the store points at does not exist. */
  | "ENOTFOUND"
  /** The store holds something keyup must not rotate (for example temporary credentials). */
  | "EUNSUPPORTED"
  /** The store's content cannot be parsed or is ambiguous. */
  | "EINVALID"
  /** The key given to `write()` is not a valid access key pair. */
  | "EBADKEY"
  /** A backup handle does not match what the store has. */
  | "EBACKUP"
  /** Reading or writing the underlying medium failed. */
  | "EIO";

/**
 * An error thrown by a store: a plain `Error` with a `code`. Core turns it into a typed
 * `{ kind: "store" | "lock" }` error.
 *
 * @example
 * ```ts
 * const err: StoreFailure = createStoreError("ENOTFOUND", "profile ci not found in /home/me/.aws/credentials");
 * ```
 */
export interface StoreFailure extends Error {
  readonly code: StoreErrorCode | (string & {});
  /** For `ELOCKED`: who holds the lock, if known (for example `pid 4242 on host build-1`). */
  readonly holder?: string;
}

/**
 * Creates the error a store should throw. The message must never contain a secret.
 *
 * @example
 * ```ts
 * throw createStoreError("EUNSUPPORTED", "profile ci holds aws_session_token: temporary credentials cannot be rotated");
 * ```
 */
export function createStoreError(code: StoreFailure["code"], message: string, options: { cause?: unknown; holder?: string } = {}): StoreFailure {
  const error = new Error(message, { cause: options.cause }) as Error & {
    code: string;
    holder?: string;
  };
  error.name = "StoreError";
  error.code = code;
  if (options.holder !== undefined) error.holder = options.holder;
  return error as StoreFailure;
}

/**
 * True when `value` looks like an access key pair keyup can write: an id of 16–128 upper-case letters and digits
 * and a non-empty secret without line breaks (a line break could inject content into a file).
 *
 * @example
 * ```ts
 * if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", "not an access key pair");
 * ```
 */
export function isAccessKeyPair(value: unknown): value is AccessKeyPair {
  if (typeof value !== "object" || value === null) return false;
  const { accessKeyId, secretAccessKey } = value as Record<string, unknown>;
  return (
    typeof accessKeyId === "string" &&
    /^[A-Z0-9]{16,128}$/.test(accessKeyId) &&
    typeof secretAccessKey === "string" &&
    secretAccessKey.length > 0 &&
    secretAccessKey.length <= 1024 &&
    !/[\s"'`#;\\$]/.test(secretAccessKey)
  );
}
