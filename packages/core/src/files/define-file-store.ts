import { webcrypto } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "../credential-store.js";
import { asciiBytesOf, rememberAsciiBytes } from "./ascii-bytes.js";
import { lockFile } from "./file-lock.js";
import { decodeUtf8, discardBackupFile, fingerprint, isMissing, readBytes, reasonOf, removeFile, resolveTarget, writeAtomic } from "./files.js";

/**
 * What a file-backed store is made of: where the file is, and the format code that reads the key
 * from its text and edits the key into it. {@link defineFileStore} does everything else.
 *
 * @example
 * ```ts
 * const definition: FileStoreDefinition = {
 *   name: "props:/srv/app/aws.properties",
 *   path: "/srv/app/aws.properties",
 *   readKey: (text) => parseProperties(text),
 *   writeKey: (text, key) => editProperties(text, key),
 * };
 * ```
 */
export interface FileStoreDefinition {
  /** The store's printable identity, such as `json:/srv/app/config.json#/aws`. Never a secret. */
  readonly name: string;
  /** The file. A relative path is resolved against the working directory when the store is made. */
  readonly path: string;
  /**
   * The key the file's text holds, or `undefined` when it holds none. Throws a store error
   * (`createStoreError`) for content it refuses: `EINVALID` (cannot parse, ambiguous, half a key),
   * `EUNSUPPORTED` (something keyup must not rotate). Messages never quote a value.
   */
  readKey(text: string): AccessKeyPair | undefined;
  /**
   * The text with `key` in place of the held one, every other byte kept; `text` itself when it
   * already holds `key` (the file is then not touched). `key` has passed `isAccessKeyPair`. Throws
   * like `readKey` for content it refuses to edit. With `missingFile: "create"`, a missing file is `""`.
   */
  writeKey(text: string, key: AccessKeyPair): string;
  /**
   * Optional, for files holding several keys (one store per key): the text that puts back only this
   * store's key from `saved` into `current`, so that changes made to other keys since the backup
   * survive. `saved` is `""` when the file did not exist. Returning `saved` restores the backup's
   * exact bytes (or removes the file); without this, restore always does.
   */
  restoreKey?(current: string, saved: string): string;
  /**
   * Optional, for files holding several keys: printable names of the other places in `text` (other
   * profiles, other sections) that hold `accessKeyId` too, and so would keep it after this store's
   * rotation. Must see every occurrence, even in content `readKey` refuses.
   */
  otherHolders?(text: string, accessKeyId: string): readonly string[];
  /** What to call the file in messages, such as `"the credentials file"`. Default `"the file"`. */
  readonly what?: string;
  /** Where `backup()` copies the file (mode 0600). Default `<path>.keyup-backup`; one per key if the file holds several. */
  readonly backupPath?: string;
  /** Where keyup journals a rotation of this store. Default `<path>.keyup-journal`; one per key if the file holds several. */
  readonly journalPath?: string;
  /**
   * A missing file: `"refuse"` (default) makes every method fail with `ENOTFOUND`; `"create"` lets
   * `write()` create it (from `""`), `backup()` record its absence and `restore()` remove it again.
   */
  readonly missingFile?: "refuse" | "create";
  /** With `missingFile: "create"`, also create a missing folder (mode 0700) for the file and its lock. */
  readonly createFolder?: boolean;
  /** The file's mode after every write. Default: the file keeps its own mode (0600 when created). */
  readonly mode?: number;
}

/**
 * A {@link CredentialStore} over one file, with where it keeps things.
 *
 * @example
 * ```ts
 * const store: FileStore = defineFileStore(definition);
 * console.log(store.path, store.backupPath, store.lockDomain);
 * ```
 */
export interface FileStore extends CredentialStore {
  /** The file, absolute (a symlink stays a symlink: writes go to its target). */
  readonly path: string;
  /** Where `backup()` copies the file (mode 0600). */
  readonly backupPath: string;
  /** Where keyup journals a rotation of this store while it runs (mode 0600, written by core). */
  readonly journalPath: string;
  /** The whole file: every store over it shares one lock. */
  readonly lockDomain: { readonly kind: "file"; readonly path: string };
  /** Deletes the backup copy (it holds the old secret), if it is still the copy `backup` names. */
  discard(backup: StoreBackup): Promise<void>;
  /** Other hard links to the file, and what the definition's `otherHolders` finds in its text. */
  otherHolders(accessKeyId: string): Promise<readonly string[]>;
}

// A missing file gets its own backup id, so that restoring it removes the file again.
const ABSENT = "absent";
const BACKUP_ID = /^sha256:[0-9a-f]{64}$/;

interface Saved {
  readonly bytes: Buffer;
}

/**
 * Each file's bytes as keyup last read them for a backup or wrote them, in this process (every store
 * over one file shares the entry, so a fleet's profiles see each other's writes). A write finding
 * other bytes refuses: another writer (a non-atomic one, as `aws configure set` is: truncate, then
 * write) changed the file, and writing our edit of it would lose their change. The bytes themselves
 * are kept, not a hash: comparing 3 MiB takes a fraction of hashing them.
 */
const lastSeen = new Map<string, Buffer | typeof ABSENT>();

/**
 * The text of each file's bytes as keyup last decoded or wrote them, in this process: the stores of a
 * fleet, and the read, backup and write of one rotation, read the same bytes, and decode them once.
 */
const decoded = new Map<string, { readonly bytes: Buffer; readonly text: string }>();

/**
 * Makes a {@link CredentialStore} over a file from format code alone. The kit carries what every file
 * store must get right, so that the format code only parses and edits text:
 *
 * - `read()` decodes the file as UTF-8 (`EINVALID` otherwise: a byte that is not UTF-8 would change on
 *   the way back) and hands the text to `readKey`. A missing file is `ENOTFOUND`.
 * - `write(key)` refuses what is not an access key pair (`EBADKEY`) before reading anything, then
 *   replaces the file atomically (a temporary file created exclusively under a random name, fsync,
 *   rename) with `writeKey`'s text; through a symlink it writes the target and keeps the link. Text
 *   that did not change is not written. A file mounted on its own (a container's bind mount: `EBUSY`
 *   on rename) is written in place, under the lock, and read back.
 * - `backup()` copies the file's exact bytes (mode 0600) and returns their `sha256:` id; `restore()`
 *   checks the copy against it (`EBACKUP`) and puts back those bytes, mode kept (or, with
 *   `restoreKey`, only this store's key when other keys changed meanwhile). `discard()` deletes the
 *   copy once the rotation is over, if it is still the copy that handle names.
 * - `lock()` takes a cross-process lock on the file (`<file>.lock`, proper-lockfile) naming its holder,
 *   or fails at once with `ELOCKED`; `lockDomain` declares the file, so stores over it share the lock.
 *
 * @param definition - The file and its format code.
 * @returns The store; spread it to add your own fields (`{ ...defineFileStore(...), profile }`).
 * @throws A store error `EINVALID` when `path` is empty.
 *
 * @example
 * ```ts
 * import { createStoreError } from "@keyup/core";
 * import { defineFileStore } from "@keyup/core/files";
 *
 * // A file of two lines: the access key id, then the secret.
 * export const twoLineStore = (path: string) =>
 *   defineFileStore({
 *     name: `two-line:${path}`,
 *     path,
 *     readKey: (text) => {
 *       const [accessKeyId = "", secretAccessKey = ""] = text.split("\n");
 *       if (accessKeyId === "" && secretAccessKey === "") return undefined;
 *       if (accessKeyId === "" || secretAccessKey === "") throw createStoreError("EINVALID", `${path} holds half a key`);
 *       return { accessKeyId, secretAccessKey };
 *     },
 *     writeKey: (_text, key) => `${key.accessKeyId}\n${key.secretAccessKey}\n`,
 *   });
 * ```
 */
export function defineFileStore(definition: FileStoreDefinition): FileStore {
  if (typeof definition?.path !== "string" || definition.path === "") {
    throw createStoreError("EINVALID", `${String(definition?.name)} needs the path of a file`);
  }
  const { name, readKey, writeKey, restoreKey } = definition;
  const path = resolve(definition.path);
  const what = definition.what ?? "the file";
  const backupPath = definition.backupPath ?? `${path}.keyup-backup`;
  const createMissing = definition.missingFile === "create";
  const createFolder = createMissing && definition.createFolder === true;
  const writeOptions = { createFolder, storeFile: true, ...(definition.mode !== undefined ? { mode: definition.mode } : {}) };

  // What this store last did to the file in this process: the key it wrote, or a refused write.
  let wrote: AccessKeyPair | "refused" | undefined;

  const missing = (): Error => createStoreError("ENOTFOUND", `${name}: ${path} does not exist`);

  /**
   * The bytes keyup last read, wrote or backed up for this file in this process: a re-read finding the
   * same bytes (compared in full) returns this buffer instead of a new one.
   */
  const knownBytes = (): Buffer | undefined => {
    const seen = lastSeen.get(path);
    return seen !== undefined && seen !== ABSENT ? seen : decoded.get(path)?.bytes;
  };

  /** The file's bytes; `undefined` for a missing file only where the store may create it. */
  const loadBytes = async (): Promise<Buffer | undefined> => {
    const bytes = await readBytes(path, what, knownBytes());
    if (bytes === undefined && !createMissing) throw missing();
    return bytes;
  };

  const target = (): Promise<string> =>
    resolveTarget(path).catch((cause: unknown) => {
      throw createStoreError("EIO", `${name}: cannot resolve ${path}`, { cause });
    });

  const replace = async (data: string | Buffer): Promise<void> => writeAtomic(await target(), data, what, writeOptions);

  /** The bytes' text, decoded once for as long as the file holds them. */
  const textOf = (bytes: Buffer): string => {
    const known = decoded.get(path);
    if (known?.bytes.equals(bytes)) return known.text;
    const text = decodeUtf8(bytes, path);
    decoded.set(path, { bytes, text });
    remember(text, bytes);
    return text;
  };

  /** Records what keyup wrote: a write or restore that follows compares the file with these bytes. */
  const wroteOut = (bytes: Buffer, text: string): void => {
    lastSeen.set(path, bytes);
    decoded.set(path, { bytes, text });
    remember(text, bytes);
  };

  const read = async (): Promise<AccessKeyPair | undefined> => {
    const bytes = await readBytes(path, what, knownBytes());
    if (bytes === undefined) throw missing();
    return readKey(textOf(bytes));
  };

  const write = async (key: AccessKeyPair): Promise<void> => {
    // Checked before anything is read: a value with a line break or a quote could rewrite the file.
    if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
    const bytes = await loadBytes();
    const seen = lastSeen.get(path);
    if (seen !== undefined && (bytes === undefined ? seen !== ABSENT : seen === ABSENT || !seen.equals(bytes))) {
      wrote = "refused";
      throw createStoreError(
        "EMODIFIED",
        `${name}: ${path} was changed by another writer since keyup read it${bytes?.length === 0 ? " (it is empty now)" : ""}; nothing was written. Let the other writer finish, check the file, and run keyup again`,
      );
    }
    const text = bytes === undefined ? "" : textOf(bytes);
    const next = writeKey(text, key);
    wrote = key;
    // Encoded once: the same bytes are compared, written and remembered. Comparing bytes, not the two
    // texts: an edit of the same length made the string comparison copy the whole edited text first.
    const nextBytes = asciiBytesOf(next) ?? Buffer.from(next);
    if (bytes?.equals(nextBytes)) return;
    await replace(nextBytes);
    wroteOut(nextBytes, next);
  };

  const backup = async (): Promise<StoreBackup> => {
    const bytes = await loadBytes();
    lastSeen.set(path, bytes ?? ABSENT);
    if (bytes === undefined) return { id: ABSENT };
    // The id is hashed on a worker thread while the copy is written: on the main thread, hashing a
    // 3 MiB file took as long as writing it.
    const [id] = await Promise.all([fingerprintAside(bytes), writeAtomic(backupPath, bytes, "the backup", { mode: 0o600, createFolder })]);
    return { id, location: backupPath };
  };

  const loadBackup = async (handle: StoreBackup): Promise<Saved | undefined> => {
    if (createMissing && handle?.id === ABSENT) return undefined;
    if (typeof handle?.id !== "string" || !BACKUP_ID.test(handle.id)) {
      // The id is not echoed: whatever was passed in place of a backup handle could be anything.
      throw createStoreError("EBACKUP", `${name}: that is not a backup id this store makes (sha256:<64 hex digits>${createMissing ? ' or "absent"' : ""})`);
    }
    const bytes = await readBytes(backupPath, "the backup").catch((cause: unknown) => {
      throw createStoreError("EBACKUP", `${name}: cannot read the backup ${backupPath}`, { cause });
    });
    if (bytes === undefined) throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not exist`);
    if (fingerprint(bytes) !== handle.id) {
      throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not match ${handle.id} (a later backup replaced it, or it was altered)`);
    }
    return { bytes };
  };

  /** With `restoreKey`: the text to write when other keys changed since the backup, or `undefined` to restore exactly. */
  const merged = (current: Buffer, saved: Saved | undefined): string | undefined => {
    if (!restoreKey) return undefined;
    const currentText = tryDecode(current);
    const savedText = saved === undefined ? "" : tryDecode(saved.bytes);
    if (currentText === undefined || savedText === undefined) {
      throw createStoreError(
        "EINVALID",
        `${name}: ${path} changed since the backup and one of them is not UTF-8 text, so this key cannot be restored alone; the backup is ${backupPath}`,
      );
    }
    const next = restoreKey(currentText, savedText);
    return next === savedText ? undefined : next;
  };

  const restore = async (handle: StoreBackup): Promise<void> => {
    const saved = await loadBackup(handle);
    // This store refused to write (another writer changed the file): what the file holds is theirs.
    if (wrote === "refused") return;
    const current = await readBytes(path, what, knownBytes());
    if (saved === undefined ? current === undefined : current?.equals(saved.bytes)) return;
    if (wrote !== undefined && current !== undefined) checkOnlyOursChanged(current, saved);
    // With the file gone there is nobody's change to keep.
    const next = current === undefined ? undefined : merged(current, saved);
    if (next !== undefined) {
      const nextBytes = Buffer.from(next);
      if (!nextBytes.equals(current as Buffer)) await replace(nextBytes);
      wroteOut(nextBytes, next);
    } else if (saved) {
      await replace(saved.bytes);
      lastSeen.set(path, saved.bytes);
    } else {
      await removeFile(await target(), what);
      lastSeen.set(path, ABSENT);
    }
  };

  // A rotation replaces the file by rename: a second hard link keeps the old bytes, and the old key.
  const otherHolders = async (accessKeyId: string): Promise<readonly string[]> => {
    const file = await target();
    const info = await stat(file).catch((cause: unknown) => {
      if (isMissing(cause)) return undefined;
      throw createStoreError("EIO", `${name}: cannot look at ${file}${reasonOf(cause)}`, { cause });
    });
    if (!info) return [];
    const holders: string[] = [];
    if (info.nlink > 1) {
      holders.push(
        `another name of ${file} (it has ${info.nlink} hard links; keyup replaces the file, so the other names would keep the old key: find them with \`find / -xdev -samefile ${file}\`, then remove them or make them symlinks)`,
      );
    }
    if (definition.otherHolders) {
      const bytes = await readBytes(path, what, knownBytes());
      if (bytes !== undefined) holders.push(...definition.otherHolders(textOf(bytes), accessKeyId));
    }
    return holders;
  };

  /**
   * Restore puts back only what keyup wrote: a key that is neither the one this store wrote nor the
   * one the backup holds was put there by someone else during the rotation, and is left alone.
   */
  const checkOnlyOursChanged = (current: Buffer, saved: Saved | undefined): void => {
    const keyOf = (bytes: Buffer): string | undefined => {
      const text = tryDecode(bytes);
      if (text === undefined) return undefined;
      try {
        return readKey(text)?.accessKeyId;
      } catch {
        return undefined;
      }
    };
    const held = keyOf(current);
    if (held === undefined || typeof wrote !== "object" || held === wrote.accessKeyId) return;
    if (saved !== undefined && held === keyOf(saved.bytes)) return;
    throw createStoreError(
      "EMODIFIED",
      `${name}: ${path} now holds ${held}, which is neither the key keyup wrote (${wrote.accessKeyId}) nor the one it replaced: someone changed it during the rotation, so keyup left it as it is; the backup is ${backupPath}`,
    );
  };

  const lock = async (): Promise<StoreLock> => {
    const file = await target();
    // A store that never creates its file has nothing to lock without one.
    if (!createMissing && !(await exists(file))) throw missing();
    return lockFile(file, name, { createFolder });
  };

  return {
    name,
    path,
    backupPath,
    journalPath: definition.journalPath ?? `${path}.keyup-journal`,
    capabilities: { crossProcessLock: true, durableBackup: true },
    lockDomain: { kind: "file", path },
    read,
    write,
    backup,
    restore,
    lock,
    otherHolders,
    // The backup is a copy of the whole file, other keys included: it goes once the rotation is over.
    discard: (handle: StoreBackup) => discardBackupFile(backupPath, handle),
  };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (cause: unknown) => {
      if (isMissing(cause)) return false;
      throw createStoreError("EIO", `cannot look at ${file}${reasonOf(cause)}`, { cause });
    },
  );
}

/** {@link fingerprint}, computed by Web Crypto on libuv's thread pool rather than on the main thread. */
async function fingerprintAside(bytes: Buffer): Promise<string> {
  return `sha256:${Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("hex")}`;
}

/**
 * Lets spliceText edit an ASCII text from its bytes: only the file bytes this kit read or wrote, which
 * nothing modifies. A UTF-8 text as long as its bytes is ASCII (any other character takes more bytes
 * than UTF-16 units), so no scan is needed.
 */
function remember(text: string, bytes: Buffer): void {
  if (text.length === bytes.length) rememberAsciiBytes(text, bytes);
}

function tryDecode(bytes: Buffer): string | undefined {
  try {
    return decodeUtf8(bytes, "");
  } catch {
    return undefined;
  }
}
