import { resolve } from "node:path";
import { type AccessKeyPair, createStoreError } from "@keyup/core";
import { defineFileStore, type FileStore } from "@keyup/core/files";
import { type EnvAssignment, editEnv, findAssignments } from "./env-editor.js";

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
 * A `CredentialStore` for a `.env` file, with where it keeps things: a {@link FileStore}
 * (`path`, `backupPath` = `<path>.keyup-backup`, `journalPath` = `<path>.keyup-journal`) plus its variable names.
 *
 * @example
 * ```ts
 * const store: EnvStore = envStore({ path: ".env" });
 * console.log(store.path, store.names.accessKeyId, store.backupPath);
 * ```
 */
export interface EnvStore extends FileStore {
  /** The variables this store reads and writes. */
  readonly names: EnvStoreNames;
}

const DEFAULT_NAMES: EnvStoreNames = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" };
const TEMPORARY = ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"];
// dotenv's variable names.
const VARIABLE_NAME = /^[\w.-]+$/;

/**
 * A `CredentialStore` for the two variables of a `.env` file that hold an access key.
 *
 * - `read()` returns the two values as `dotenv` reads them, or `undefined` when neither variable is
 *   assigned (or both are empty). One without the other, or a variable assigned twice, is `EINVALID`;
 *   a missing file is `ENOTFOUND`. With the standard names, a non-empty `AWS_SESSION_TOKEN` (or
 *   `AWS_SECURITY_TOKEN`) is `EUNSUPPORTED`: temporary credentials cannot be rotated. So is a value
 *   with `$` (a dotenv-expand reference to a key kept elsewhere).
 * - `write(key)` changes only the characters of the two values (see {@link editEnv}): comments, blank
 *   lines, order, `export `, quoting, inline comments, line endings, a missing final newline and other
 *   variables stay byte for byte. Missing variables are appended. The file is replaced atomically
 *   (a temporary file created exclusively under a random name, fsync, rename), keeps its mode (0600 when created), and through a symlink the target is
 *   written and the link kept. Writing the key the file holds does not touch it.
 * - `backup()` copies the file's exact bytes to {@link EnvStore.backupPath} (mode 0600) and returns
 *   `sha256:<hex>` of them (`absent` for a missing file); `restore()` checks the copy against that
 *   hash (`EBACKUP`) and puts those bytes back (or removes the file); `discard()` deletes the copy
 *   once the rotation is over (if it is still that rotation's copy).
 * - `lock()` takes a cross-process lock (`<file>.lock`, proper-lockfile) or fails at once with
 *   `ELOCKED` naming the holder's pid and host; a lock left by a dead process is recovered. Its
 *   `lockDomain` is the file, so a fleet takes one lock for every store over it.
 *
 * The file handling is `defineFileStore`'s (`@keyup/core/files`); this store is the .env format code.
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
  const store = defineFileStore({
    name: `env:${path}`,
    path,
    what: "the .env file",
    // A missing file is created on write (its folder must exist), and removed again by restore.
    missingFile: "create",
    readKey: (text) => {
      // Only the names looked at below are built: the scan still reads the whole file by dotenv's rule.
      const assignments = findAssignments(text, [names.accessKeyId, names.secretAccessKey, ...TEMPORARY]);
      if (names.accessKeyId === DEFAULT_NAMES.accessKeyId) refuseTemporary(assignments, path);
      return heldKey(assignments, names, path);
    },
    writeKey: (text, key) => editEnv(text, { [names.accessKeyId]: key.accessKeyId, [names.secretAccessKey]: key.secretAccessKey }),
  });
  return { ...store, names };
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
