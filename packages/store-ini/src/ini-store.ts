import { type AccessKeyPair, createStoreError } from "@keyup/core";
import { defineFileStore, type FileStore } from "@keyup/core/files";
import { profilesHolding } from "./_internal/holders.js";
import { besidePath, credentialsPath } from "./_internal/paths.js";
import { ACCESS_KEY_ID, heldKey, type ProfileView, SECRET_ACCESS_KEY, viewProfile } from "./_internal/profile.js";
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
 * A `CredentialStore` for one profile of a shared credentials file, with where it keeps things.
 *
 * @example
 * ```ts
 * const store: IniStore = iniStore({ profile: "ci" });
 * console.log(store.path, store.profile, store.backupPath);
 * ```
 */
export interface IniStore extends FileStore {
  /** The profile this store reads and writes. */
  readonly profile: string;
  /** Where `backup()` keeps this profile's copy of the file (mode 0600): `<path>.keyup-backup.<profile>`. */
  readonly backupPath: string;
  /** Where keyup journals a rotation of this profile while it runs: `<path>.keyup-journal.<profile>` (mode 0600). */
  readonly journalPath: string;
}

/**
 * A `CredentialStore` for one profile of an AWS shared credentials file (`~/.aws/credentials`).
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
 *   `ELOCKED` naming the holder's pid and host. Its `lockDomain` is the file: every profile's store
 *   over it shares one lock, which a fleet takes once.
 *
 * The file handling is `defineFileStore`'s (`@keyup/core/files`); this store is the INI format code.
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

  const writeKey = (text: string, key: AccessKeyPair): string => {
    const view = viewProfile(text, profile, where);
    if (view.kind === "present") {
      const held = heldKey(view, profile, where);
      if (held?.accessKeyId === key.accessKeyId && held.secretAccessKey === key.secretAccessKey) return text;
    }
    return setValues(view, profile, key);
  };

  /**
   * The backup's text when nothing but this profile's key changed since the backup (the kit then
   * restores its exact bytes); otherwise the current text with only this profile's values put back,
   * so that changes to other profiles survive.
   */
  const restoreKey = (currentText: string, savedText: string): string => {
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
    if (currentKey !== undefined && currentKey !== "partial" && setValues(savedView, profile, currentKey) === currentText) return savedText;
    const savedKey = keyValues(savedView);
    if (savedKey === "partial") throw ambiguous(undefined);
    if (savedKey) return setValues(currentView, profile, savedKey);
    return currentView.kind === "present" ? removeKeyLines(currentView, savedView.kind === "missing") : currentText;
  };

  const store = defineFileStore({
    name,
    path,
    what: "the credentials file",
    backupPath,
    // The rotation journal sits beside the file it protects, like the backup.
    journalPath: besidePath(path, "journal", profile),
    // A missing file (and folder) is created on write, as `aws configure` does.
    missingFile: "create",
    createFolder: true,
    readKey: (text) => keyIn(viewProfile(text, profile, where), profile, where),
    writeKey,
    restoreKey,
    // Named like this profile's store, so that a fleet rotating those profiles too can subtract them.
    otherHolders: (text, accessKeyId) => profilesHolding(text, profile, accessKeyId).map((other) => `ini:${path}#${other}`),
  });
  return { ...store, profile };
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
