import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { lock as lockPath } from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { keyAt, parseJsonPointer, parseJsonText, withKey } from "./json-document.js";

/**
 * Options for {@link jsonFileStore}.
 *
 * @example
 * ```ts
 * const options: JsonFileStoreOptions = { path: "config/app.json", pointer: "/aws/deploy" };
 * ```
 */
export interface JsonFileStoreOptions {
  /** The JSON file. A relative path is resolved against the working directory when the store is made. */
  readonly path: string;
  /**
   * RFC 6901 JSON Pointer to the object whose `accessKeyId` and `secretAccessKey` members hold the key:
   * `"/aws/deploy"` for `{ "aws": { "deploy": { … } } }`, `""` for the top-level object.
   */
  readonly pointer: string;
}

/**
 * A {@link CredentialStore} for a key inside a JSON file, with where it keeps things.
 *
 * @example
 * ```ts
 * const store: JsonFileStore = jsonFileStore({ path: "config.json", pointer: "/aws/deploy" });
 * console.log(store.backupPath, store.journalPath);
 * ```
 */
export interface JsonFileStore extends CredentialStore {
  /** The JSON file, absolute. */
  readonly path: string;
  /** The pointer, as given. */
  readonly pointer: string;
  /** Where `backup()` copies the file's bytes (mode 0600). */
  readonly backupPath: string;
  /** Where keyup journals a rotation of this key while it runs (mode 0600, written by core). */
  readonly journalPath: string;
}

// A live lock's mtime is refreshed every STALE_MS / 2; one older than this was left by a dead process.
const STALE_MS = 10_000;
const BACKUP_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * A custom {@link CredentialStore}, written the way a user of keyup would: it keeps an access key in
 * the object at `pointer` of a JSON config file, as the members `accessKeyId` and `secretAccessKey`.
 *
 * - `read()`: the two members, or `undefined` when the object (or both members) is absent. A missing
 *   file is `ENOTFOUND`; text that is not JSON, half a key or a non-string is `EINVALID`.
 * - `write(key)`: changes only the bytes of the two values, so every other member keeps its exact
 *   spelling and order; replaces the file atomically (write-file-atomic: temp file created 0600,
 *   fsync, rename) as mode 0600, because it now holds a secret. Writing the held key touches nothing.
 * - `backup()`: copies the file's exact bytes to {@link JsonFileStore.backupPath} (0600) and returns
 *   their `sha256:` hash; `restore()` checks the copy against the hash (`EBACKUP` otherwise) and puts
 *   those bytes back. A later `backup()` replaces the copy, so only the latest handle restores.
 *   `discard()` deletes the copy (it holds the old secret) once the rotation is over, if it is still
 *   the copy that handle names.
 * - `lock()`: a cross-process lock on the file (proper-lockfile: the folder `<file>.lock`), or
 *   `ELOCKED` at once. A lock left by a dead process is taken over once it is 10 s old.
 *
 * Stores for different pointers of one file share its lock (a write replaces the whole file) but
 * have their own backup and journal files.
 *
 * @throws A store error `EINVALID` when `path` is empty or `pointer` is not a JSON Pointer.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { jsonFileStore } from "./json-file-store.js";
 *
 * const result = await rotate({ store: jsonFileStore({ path: "config.json", pointer: "/aws/deploy" }) });
 * if (result.isErr()) console.error(result.error.message);
 * ```
 */
export function jsonFileStore(options: JsonFileStoreOptions): JsonFileStore {
  if (typeof options?.path !== "string" || options.path === "") {
    throw createStoreError("EINVALID", "jsonFileStore needs the path of a JSON file");
  }
  const segments = parseJsonPointer(options.pointer);
  const path = resolve(options.path);
  const name = `json:${path}#${options.pointer}`;
  // One backup and one journal per key, named after the pointer ("." separates members).
  const tag = segments.map((s) => encodeURIComponent(s).replaceAll(".", "%2E")).join(".");
  const sidecar = (kind: string): string => (tag === "" ? `${path}.keyup-${kind}` : `${path}.keyup-${kind}.${tag}`);
  const backupPath = sidecar("backup");

  const read = async (): Promise<AccessKeyPair | undefined> => {
    const text = decode(await readExisting());
    return keyAt(parseJsonText(text, name), segments, name);
  };

  const write = async (key: AccessKeyPair): Promise<void> => {
    // Checked before anything is read or written: a value with a line break or a quote could rewrite the file.
    if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
    const text = decode(await readExisting());
    const held = keyAt(parseJsonText(text, name), segments, name);
    if (held?.accessKeyId === key.accessKeyId && held.secretAccessKey === key.secretAccessKey) return;
    await replace(path, withKey(text, segments, key, name), "the file");
  };

  const backup = async (): Promise<StoreBackup> => {
    const bytes = await readExisting();
    await replace(backupPath, bytes, "the backup");
    return { id: fingerprint(bytes), location: backupPath };
  };

  const restore = async (handle: StoreBackup): Promise<void> => {
    // A handle comes back from a journal or a person: it is checked, and never echoed.
    if (typeof handle?.id !== "string" || !BACKUP_ID.test(handle.id)) {
      throw createStoreError("EBACKUP", `${name}: that is not a backup id this store makes (sha256:<64 hex digits>)`);
    }
    const saved = await readFile(backupPath).catch((cause: unknown) => {
      throw createStoreError("EBACKUP", `${name}: cannot read the backup ${backupPath}`, { cause });
    });
    if (fingerprint(saved) !== handle.id) {
      throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not match the handle (a later backup replaced it, or it was altered)`);
    }
    const current = await readFile(path).catch(() => undefined);
    if (current?.equals(saved)) return;
    await replace(path, saved, "the file");
  };

  const discard = async (handle: StoreBackup): Promise<void> => {
    // The copy holds the old secret: once keyup no longer needs it, it goes. A copy a later backup()
    // replaced belongs to that rotation, so only the bytes this handle names are deleted.
    const saved = await readFile(backupPath).catch(() => undefined);
    if (saved && fingerprint(saved) === handle?.id) await rm(backupPath, { force: true });
  };

  const lock = async (): Promise<StoreLock> => {
    let release: () => Promise<void>;
    try {
      release = await lockPath(path, {
        retries: 0,
        stale: STALE_MS,
        // The default throws from a timer, killing the process in the middle of a rotation; carrying on
        // (with the journal as the record) is safer.
        onCompromised: () => undefined,
      });
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ELOCKED") throw createStoreError("ELOCKED", `${name} is locked by another process (lock folder ${path}.lock)`, { cause });
      if (code === "ENOENT") throw createStoreError("ENOTFOUND", `${name}: ${path} does not exist`, { cause });
      throw createStoreError("EIO", `${name}: cannot take the lock ${path}.lock`, { cause });
    }
    return {
      release: () =>
        release().catch((cause: unknown) => {
          // A second release of this handle: harmless, and proper-lockfile leaves a lock taken since alone.
          if ((cause as NodeJS.ErrnoException).code === "ERELEASED") return;
          throw createStoreError("EIO", `${name}: cannot release the lock ${path}.lock`, { cause });
        }),
    };
  };

  const readExisting = async (): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") throw createStoreError("ENOTFOUND", `${name}: ${path} does not exist`, { cause });
      throw createStoreError("EIO", `${name}: cannot read ${path}`, { cause });
    }
  };

  const decode = (bytes: Buffer): string => {
    try {
      // fatal: a byte that is not UTF-8 would otherwise come back as U+FFFD and be changed on write.
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw createStoreError("EINVALID", `${name}: ${path} is not UTF-8 text`);
    }
  };

  return {
    name,
    path,
    pointer: options.pointer,
    backupPath,
    journalPath: sidecar("journal"),
    capabilities: { crossProcessLock: true, durableBackup: true },
    read,
    write,
    backup,
    restore,
    lock,
    discard,
  };
}

function fingerprint(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Replaces `target` atomically, as mode 0600: whatever it held, it now holds a secret. */
async function replace(target: string, data: string | Buffer, what: string): Promise<void> {
  try {
    await writeFileAtomic(target, data, { mode: 0o600 });
  } catch (cause) {
    throw createStoreError("EIO", `cannot write ${what} ${target}`, { cause });
  }
}
