import { resolve } from "node:path";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { decodeUtf8, discardBackupFile, fingerprint, lockFile, readBytes, removeFile, resolveTarget, writeAtomic } from "@keyup/core/files";
import { type EnvAssignment, editEnv, parseEnv } from "./env-editor.js";

/**
 * The two variable names an {@link envStore} reads and writes.
 *
 * @example
 * ```ts
 * const names: EnvStoreNames = { accessKeyId: "DEPLOY_AWS_KEY_ID", secretAccessKey: "DEPLOY_AWS_SECRET" };
 * ```
 */
export interface EnvStoreNames {
  /** Default `AWS_ACCESS_KEY_ID`. */
  readonly accessKeyId: string;
  /** Default `AWS_SECRET_ACCESS_KEY`. */
  readonly secretAccessKey: string;
}

/**
 * Options for {@link envStore}.
 *
 * @example
 * ```ts
 * const options: EnvStoreOptions = { path: ".env", names: { accessKeyId: "CI_KEY_ID", secretAccessKey: "CI_SECRET" } };
 * ```
 */
export interface EnvStoreOptions {
  /** The `.env` file. A relative path is resolved against the working directory when the store is made. */
  readonly path: string;
  /** The variables holding the key. Default `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. */
  readonly names?: Partial<EnvStoreNames>;
}

/**
 * A {@link CredentialStore} for a `.env` file, with where it keeps things.
 *
 * @example
 * ```ts
 * const store: EnvStore = envStore({ path: ".env" });
 * console.log(store.path, store.names.accessKeyId, store.backupPath);
 * ```
 */
export interface EnvStore extends CredentialStore {
  /** The `.env` file, absolute (a symlink stays a symlink: writes go to its target). */
  readonly path: string;
  /** The variables this store reads and writes. */
  readonly names: EnvStoreNames;
  /** Where `backup()` keeps a copy of the file (mode 0600). */
  readonly backupPath: string;
  /** Where keyup journals a rotation of this file while it runs: `<path>.keyup-journal` (mode 0600). */
  readonly journalPath: string;
}

const DEFAULT_NAMES: EnvStoreNames = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" };
// A missing file gets its own id, so that restoring it removes the file again.
const ABSENT = "absent";
const TEMPORARY = ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"];
// dotenv's variable names.
const VARIABLE_NAME = /^[\w.-]+$/;

/**
 * A {@link CredentialStore} for the two variables of a `.env` file that hold an access key.
 *
 * - `read()` returns the two values as `dotenv` reads them, or `undefined` when neither variable is
 *   assigned (or both are empty). One without the other, or a variable assigned twice, is `EINVALID`;
 *   a missing file is `ENOTFOUND`. With the standard names, a non-empty `AWS_SESSION_TOKEN` (or
 *   `AWS_SECURITY_TOKEN`) is `EUNSUPPORTED`: temporary credentials cannot be rotated. So is a value
 *   with `$` (a dotenv-expand reference to a key kept elsewhere).
 * - `write(key)` changes only the characters of the two values (see {@link editEnv}): comments, blank
 *   lines, order, `export `, quoting, inline comments, line endings, a missing final newline and other
 *   variables stay byte for byte. Missing variables are appended. The file is replaced atomically
 *   (write-file-atomic), keeps its mode (0600 when created), and through a symlink the target is
 *   written and the link kept. Writing the key the file holds does not touch it.
 * - `backup()` copies the file's exact bytes to {@link EnvStore.backupPath} (mode 0600) and returns
 *   `sha256:<hex>` of them (`absent` for a missing file); `restore()` checks the copy against that
 *   hash (`EBACKUP`) and puts those bytes back (or removes the file); `discard()` deletes the copy
 *   once the rotation is over (if it is still that rotation's copy).
 * - `lock()` takes a cross-process lock (`<file>.lock`, proper-lockfile) or fails at once with
 *   `ELOCKED` naming the holder's pid and host; a lock left by a dead process is recovered.
 *
 * Errors are store errors (`createStoreError`) with a `code`; their messages name files, variables
 * and lines, never a value.
 *
 * @param options - The file and, optionally, the variable names.
 * @returns The store.
 * @throws A store error `EINVALID` if a variable name is not a dotenv name (`[A-Za-z0-9_.-]+`) or
 *   both names are the same.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { envStore } from "@keyup/store-env";
 *
 * const store = envStore({ path: "./.env" });
 * console.log(store.name); // env:/home/me/app/.env
 * const result = await rotate({ store });
 * ```
 */
export function envStore(options: EnvStoreOptions): EnvStore {
  const names: EnvStoreNames = { ...DEFAULT_NAMES, ...definedOnly(options.names) };
  for (const variable of [names.accessKeyId, names.secretAccessKey]) {
    if (typeof variable !== "string" || !VARIABLE_NAME.test(variable)) {
      throw createStoreError("EINVALID", `${JSON.stringify(String(variable))} is not a .env variable name (letters, digits, _ . -)`);
    }
  }
  if (names.accessKeyId === names.secretAccessKey) {
    throw createStoreError("EINVALID", `the access key id and the secret cannot both be kept in ${names.accessKeyId}`);
  }
  if (typeof options.path !== "string" || options.path === "") {
    throw createStoreError("EINVALID", "envStore needs the path of a .env file");
  }
  const path = resolve(options.path);
  const backupPath = `${path}.keyup-backup`;
  const name = `env:${path}`;

  const load = async (): Promise<string | undefined> => {
    const bytes = await readBytes(path, "the .env file");
    return bytes === undefined ? undefined : decodeUtf8(bytes, path);
  };

  const read = async (): Promise<AccessKeyPair | undefined> => {
    const text = await load();
    if (text === undefined) throw createStoreError("ENOTFOUND", `${path} does not exist (looking for ${names.accessKeyId})`);
    const assignments = parseEnv(text);
    if (names.accessKeyId === DEFAULT_NAMES.accessKeyId) refuseTemporary(assignments, path);
    return heldKey(assignments, names, path);
  };

  const write = async (key: AccessKeyPair): Promise<void> => {
    if (!isAccessKeyPair(key)) {
      throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
    }
    const text = (await load()) ?? "";
    const next = editEnv(text, { [names.accessKeyId]: key.accessKeyId, [names.secretAccessKey]: key.secretAccessKey });
    if (next === text) return;
    await writeAtomic(await target(), next, "the .env file");
  };

  const backup = async (): Promise<StoreBackup> => {
    const bytes = await readBytes(path, "the .env file");
    if (bytes === undefined) return { id: ABSENT };
    await writeAtomic(backupPath, bytes, "the backup", { mode: 0o600 });
    return { id: fingerprint(bytes), location: backupPath };
  };

  const restore = async (handle: StoreBackup): Promise<void> => {
    const saved = await loadBackup(handle);
    const current = await readBytes(path, "the .env file");
    if (saved === undefined ? current === undefined : current?.equals(saved)) return;
    if (saved === undefined) await removeFile(await target(), "the .env file");
    else await writeAtomic(await target(), saved, "the .env file");
  };

  const loadBackup = async (handle: StoreBackup): Promise<Buffer | undefined> => {
    if (handle?.id === ABSENT) return undefined;
    if (typeof handle?.id !== "string" || !/^sha256:[0-9a-f]{64}$/.test(handle.id)) {
      // The id is not echoed: whatever was passed in place of a backup handle could be anything.
      throw createStoreError("EBACKUP", `${name}: that is not a backup id this store makes (sha256:<64 hex digits> or "absent")`);
    }
    const bytes = await readBytes(backupPath, "the backup").catch((cause: unknown) => {
      throw createStoreError("EBACKUP", `${name}: cannot read the backup ${backupPath}`, { cause });
    });
    if (bytes === undefined) throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not exist`);
    if (fingerprint(bytes) !== handle.id) {
      throw createStoreError("EBACKUP", `${name}: the backup ${backupPath} does not match ${handle.id} (it was replaced or altered)`);
    }
    return bytes;
  };

  const target = (): Promise<string> =>
    resolveTarget(path).catch((cause: unknown) => {
      throw createStoreError("EIO", `${name}: cannot resolve ${path}`, { cause });
    });

  const lock = async (): Promise<StoreLock> => lockFile(await target(), name);

  return {
    name,
    path,
    names,
    backupPath,
    journalPath: `${path}.keyup-journal`,
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

/**
 * With the standard names, a session token next to the key means STS credentials, which expire
 * and cannot be rotated with IAM.
 */
function refuseTemporary(assignments: readonly EnvAssignment[], path: string): void {
  const token = assignments.find((a) => TEMPORARY.includes(a.name) && a.value !== "");
  if (token) {
    throw createStoreError("EUNSUPPORTED", `${path} sets ${token.name} (line ${token.line}): temporary credentials cannot be rotated`);
  }
}

function definedOnly(names: Partial<EnvStoreNames> | undefined): Partial<EnvStoreNames> {
  return Object.fromEntries(Object.entries(names ?? {}).filter(([, value]) => value !== undefined));
}

/** The key the assignments hold, `undefined` for none; refuses half a key and doubled names. */
function heldKey(assignments: readonly EnvAssignment[], names: EnvStoreNames, path: string): AccessKeyPair | undefined {
  const assigned = (variable: string): string | undefined => {
    const found = assignments.filter((a) => a.name === variable);
    if (found.length > 1) {
      throw createStoreError(
        "EINVALID",
        `${variable} is assigned ${found.length} times in ${path} (lines ${found.map((a) => a.line).join(", ")}): refusing to guess which one counts`,
      );
    }
    const value = found[0]?.value;
    return value === "" ? undefined : value;
  };
  const accessKeyId = assigned(names.accessKeyId);
  const secretAccessKey = assigned(names.secretAccessKey);
  for (const [variable, value] of [
    [names.accessKeyId, accessKeyId],
    [names.secretAccessKey, secretAccessKey],
  ] as const) {
    // Keys never hold `$`; a value that does refers to another variable (dotenv-expand), and
    // rotating would replace the reference with a literal key.
    if (value?.includes("$")) {
      throw createStoreError("EUNSUPPORTED", `${variable} in ${path} refers to another variable ($…): the key does not live in this file`);
    }
  }
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [has, lacks] = accessKeyId === undefined ? [names.secretAccessKey, names.accessKeyId] : [names.accessKeyId, names.secretAccessKey];
    throw createStoreError("EINVALID", `${path} sets ${has} but not ${lacks}`);
  }
  return { accessKeyId, secretAccessKey };
}
