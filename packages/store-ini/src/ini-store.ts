import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { decodeUtf8, discardBackupFile, fingerprint, lockFile, readBytes, removeFile, resolveTarget, writeAtomic } from "@keyup/core/files";
import { besidePath, credentialsPath } from "./_internal/paths.js";
import { ACCESS_KEY_ID, heldKey, type ProfileView, quote, SECRET_ACCESS_KEY, viewProfile } from "./_internal/profile.js";
import { checkProfileName, keyIn, removeKeyLines, setValues } from "./_internal/profile-edit.js";

/**
 * Options for {@link iniStore}.
 *
 * @example
 * ```ts
 * const options: IniStoreOptions = { profile: "ci", path: "~/.aws/credentials" };
 * ```
 */
export interface IniStoreOptions {
  /** The profile (section name) whose key to rotate, such as `default`. */
  readonly profile: string;
  /**
   * The shared credentials file. Default: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
   * A leading `~` means the home folder; a relative path is resolved against the working directory.
   */
  readonly path?: string;
}

/**
 * A {@link CredentialStore} for one profile of a shared credentials file, with where it keeps things.
 *
 * @example
 * ```ts
 * const store: IniStore = iniStore({ profile: "ci" });
 * console.log(store.path, store.profile, store.backupPath);
 * ```
 */
export interface IniStore extends CredentialStore {
  /** The credentials file, absolute (a symlink stays a symlink: writes go to its target). */
  readonly path: string;
  /** The profile this store reads and writes. */
  readonly profile: string;
  /** Where `backup()` keeps this profile's copy of the file (mode 0600). */
  readonly backupPath: string;
  /** Where keyup journals a rotation of this profile while it runs: `<path>.keyup-journal.<profile>` (mode 0600). */
  readonly journalPath: string;
}

// A missing file gets its own id, so that restoring it removes the file again.
const ABSENT = "absent";
const EXACT = Symbol("exact");

interface SavedBackup {
  readonly bytes: Buffer;
  /** The backup as text, `undefined` if it is not UTF-8. */
  readonly text: string | undefined;
}

/**
 * A {@link CredentialStore} for one profile of an AWS shared credentials file (`~/.aws/credentials`).
 *
 * - `read()` returns the profile's `aws_access_key_id` / `aws_secret_access_key`, or `undefined` when
 *   the profile exists without key values. It refuses temporary credentials, role, SSO and
 *   `credential_process` profiles (`EUNSUPPORTED`) and ambiguous files (`EINVALID`).
 * - `write(key)` changes only the two values (see {@link editProfile}), atomically, keeping the file's
 *   mode (0600 for a new file); through a symlink it writes the target and keeps the link.
 * - `backup()` copies the file's exact bytes to {@link IniStore.backupPath} (mode 0600);
 *   `restore()` puts them back, or, if other profiles changed meanwhile, only this profile's values;
 *   `discard()` deletes the copy once the rotation is over (if it is still that rotation's copy).
 * - `lock()` takes a cross-process lock (`<file>.lock`, proper-lockfile) or fails at once with
 *   `ELOCKED` naming the holder's pid and host.
 *
 * Errors are store errors (`createStoreError`) with a `code`; their messages name files and profiles,
 * never a secret.
 *
 * @param options - The profile and, optionally, the file.
 * @returns The store.
 * @throws A store error `EINVALID` if the profile name is empty, has outer whitespace, brackets or
 *   line breaks.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { iniStore } from "@keyup/store-ini";
 *
 * const store = iniStore({ profile: "ci" });
 * console.log(store.name); // ini:/home/me/.aws/credentials#ci
 * const result = await rotate({ store });
 * ```
 */
export function iniStore(options: IniStoreOptions): IniStore {
  const { profile } = options;
  checkProfileName(profile);
  const path = credentialsPath(options.path);
  const backupPath = besidePath(path, "backup", profile);
  const name = `ini:${path}#${profile}`;
  const where = ` in ${path}`;

  const load = async (): Promise<{ bytes: Buffer; text: string } | undefined> => {
    const bytes = await readBytes(path, "the credentials file");
    return bytes === undefined ? undefined : { bytes, text: decodeUtf8(bytes, path) };
  };

  const read = async (): Promise<AccessKeyPair | undefined> => {
    const file = await load();
    if (!file) throw createStoreError("ENOTFOUND", `${path} does not exist (looking for profile ${quote(profile)})`);
    return keyIn(viewProfile(file.text, profile, where), profile, where);
  };

  const write = async (key: AccessKeyPair): Promise<void> => {
    if (!isAccessKeyPair(key)) {
      throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
    }
    const file = await load();
    const view = viewProfile(file?.text ?? "", profile, where);
    if (view.kind === "present") {
      const held = heldKey(view, profile, where);
      if (held?.accessKeyId === key.accessKeyId && held.secretAccessKey === key.secretAccessKey) return;
    }
    await writeAtomic(await target(), setValues(view, profile, key), "the credentials file", { createFolder: true });
  };

  const backup = async (): Promise<StoreBackup> => {
    const bytes = await readBytes(path, "the credentials file");
    if (bytes === undefined) return { id: ABSENT };
    await writeAtomic(backupPath, bytes, "the backup", { mode: 0o600, createFolder: true });
    return { id: fingerprint(bytes), location: backupPath };
  };

  const restore = async (handle: StoreBackup): Promise<void> => {
    const saved = await loadBackup(handle);
    const current = await readBytes(path, "the credentials file");
    if (saved === undefined ? current === undefined : current?.equals(saved.bytes)) return;

    const next = mergedRestore(current, saved);
    if (next === EXACT) {
      if (saved) await writeAtomic(await target(), saved.bytes, "the credentials file", { createFolder: true });
      else await removeFile(await target(), "the credentials file");
    } else if (current === undefined || !Buffer.from(next).equals(current)) {
      await writeAtomic(await target(), next, "the credentials file", { createFolder: true });
    }
  };

  /**
   * What restoring should write. {@link EXACT} (the backup's bytes, or no file) when nothing but this
   * profile's key changed since the backup; otherwise the current text with only this profile's
   * values put back, so that changes to other profiles survive.
   */
  const mergedRestore = (current: Buffer | undefined, saved: SavedBackup | undefined): string | typeof EXACT => {
    // With the file gone there is nobody's change to keep.
    if (current === undefined) return EXACT;
    const currentText = tryDecode(current);
    const savedText = saved === undefined ? "" : saved.text;
    if (currentText === undefined || savedText === undefined) {
      throw createStoreError(
        "EINVALID",
        `${name}: ${path} changed since the backup and one of them is not UTF-8 text, so this profile cannot be restored alone; the backup is ${backupPath}`,
      );
    }
    const ambiguous = (cause: unknown) =>
      createStoreError("EINVALID", `${name}: ${path} changed since the backup and this profile cannot be restored alone; the backup is ${backupPath}`, {
        cause,
      });
    let currentView: ProfileView;
    let savedView: ProfileView;
    try {
      currentView = viewProfile(currentText, profile, where);
      savedView = viewProfile(savedText, profile, where);
    } catch (cause) {
      throw ambiguous(cause);
    }
    const currentKey = keyValues(currentView);
    if (currentKey !== undefined && currentKey !== "partial" && setValues(savedView, profile, currentKey) === currentText) return EXACT;
    const savedKey = keyValues(savedView);
    if (savedKey === "partial") throw ambiguous(undefined);
    const merged = savedKey
      ? setValues(currentView, profile, savedKey)
      : currentView.kind === "present"
        ? removeKeyLines(currentView, savedView.kind === "missing")
        : currentText;
    return merged === savedText ? EXACT : merged;
  };

  const loadBackup = async (handle: StoreBackup): Promise<SavedBackup | undefined> => {
    if (handle?.id === ABSENT) return undefined;
    if (typeof handle?.id !== "string" || !/^sha256:[0-9a-f]{64}$/.test(handle.id)) {
      // The id is not echoed: whatever was passed in, it is not ours to print.
      throw createStoreError("EBACKUP", `${name}: the handle's id is not a backup id of this store`);
    }
    const bytes = await readBytes(backupPath, "the backup").catch((cause: unknown) => {
      throw createStoreError("EBACKUP", `${name}: cannot read the backup ${backupPath}`, { cause });
    });
    if (bytes === undefined) throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not exist`);
    if (fingerprint(bytes) !== handle.id) {
      throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not match ${handle.id} (it was replaced or altered)`);
    }
    return { bytes, text: tryDecode(bytes) };
  };

  const target = (): Promise<string> =>
    resolveTarget(path).catch((cause: unknown) => {
      throw createStoreError("EIO", `${name}: cannot resolve ${path}`, { cause });
    });

  const lock = async (): Promise<StoreLock> => lockFile(await target(), name, { createFolder: true });

  return {
    name,
    path,
    profile,
    backupPath,
    // The rotation journal sits beside the file it protects, like the backup.
    journalPath: besidePath(path, "journal", profile),
    capabilities: { crossProcessLock: true, durableBackup: true },
    read,
    write,
    backup,
    restore,
    lock,
    // The backup is a copy of the whole file, other keys included: it goes once the rotation is over.
    discard: (handle: StoreBackup) => discardBackupFile(backupPath, handle),
  };
}

function tryDecode(bytes: Buffer): string | undefined {
  try {
    return decodeUtf8(bytes, "");
  } catch {
    return undefined;
  }
}

/**
 * The two values as written, whatever else the profile holds (restore puts back what was there, it
 * does not judge it): `undefined` when neither is set, "partial" when only one is.
 */
function keyValues(view: ProfileView): AccessKeyPair | "partial" | undefined {
  if (view.kind === "missing") return undefined;
  const value = (name: string): string | undefined => view.entries.find((entry) => entry.name === name)?.value || undefined;
  const accessKeyId = value(ACCESS_KEY_ID);
  const secretAccessKey = value(SECRET_ACCESS_KEY);
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) return "partial";
  return { accessKeyId, secretAccessKey };
}
