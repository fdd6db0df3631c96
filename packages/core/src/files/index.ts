/**
 * Building blocks for credential stores kept in files, shared by @keyup/store-ini and @keyup/store-env
 * and available to custom stores: {@link defineFileStore}, which makes a store from format code alone,
 * and its parts (atomic writes that keep symlinks and modes, exact reads, a cross-process lock that
 * names its holder).
 *
 * @module
 */
export { defineFileStore, type FileStore, type FileStoreDefinition } from "./define-file-store.js";
export { type LockFileOptions, lockFile } from "./file-lock.js";
export {
  decodeUtf8,
  discardBackupFile,
  fingerprint,
  isMissing,
  readBytes,
  reasonOf,
  removeFile,
  resolveTarget,
  type WriteAtomicOptions,
  writeAtomic,
} from "./files.js";
export { appendOwnFile, ownFolder, type UnsafePathError } from "./own-folder.js";
export { spliceText, type TextEdit } from "./splice-text.js";
