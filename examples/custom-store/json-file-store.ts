import { resolve } from "node:path";
import { type AccessKeyPair, createStoreError } from "@keyup/core";
import { defineFileStore, type FileStore } from "@keyup/core/files";
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
export interface JsonFileStore extends FileStore {
  /** The pointer, as given. */
  readonly pointer: string;
}

/**
 * A custom `CredentialStore`, written the way a user of keyup would: it keeps an access key in the
 * object at `pointer` of a JSON config file, as the members `accessKeyId` and `secretAccessKey`. It
 * is format code on `defineFileStore` (`@keyup/core/files`), which does the file handling.
 *
 * - `read()`: the two members, or `undefined` when the object (or both members) is absent. A missing
 *   file is `ENOTFOUND` (for every method: the store never creates the file); text that is not JSON,
 *   half a key or a non-string is `EINVALID`.
 * - `write(key)`: changes only the bytes of the two values, so every other member keeps its exact
 *   spelling and order; the kit refuses what is not an access key pair (`EBADKEY`) and replaces the
 *   file atomically as mode 0600, because it now holds a secret. Writing the held key touches nothing.
 * - `backup()`, `restore()`, `discard()`: the kit's 0600 copy of the file's exact bytes beside it
 *   ({@link JsonFileStore.backupPath}), checked against its `sha256:` id on restore (`EBACKUP`).
 * - `lock()`: the kit's cross-process lock on the file (the folder `<file>.lock`), or `ELOCKED` at
 *   once; `lockDomain` names the file, so stores for different pointers of one file share the lock
 *   (a write replaces the whole file) but have their own backup and journal files.
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

  // The format code: everything else (lock, backup, atomic write, restore, discard, the key-pair
  // check) is defineFileStore's.
  const readKey = (text: string): AccessKeyPair | undefined => keyAt(parseJsonText(text, name), segments, name);
  const writeKey = (text: string, key: AccessKeyPair): string => {
    const held = readKey(text);
    if (held?.accessKeyId === key.accessKeyId && held.secretAccessKey === key.secretAccessKey) return text;
    return withKey(text, segments, key, name);
  };

  const store = defineFileStore({
    name,
    path,
    backupPath: sidecar("backup"),
    journalPath: sidecar("journal"),
    // Whatever mode the file had, it now holds a secret.
    mode: 0o600,
    // A config file is the application's to create: a missing one is ENOTFOUND, never created here.
    missingFile: "refuse",
    readKey,
    writeKey,
  });
  return { ...store, pointer: options.pointer };
}
