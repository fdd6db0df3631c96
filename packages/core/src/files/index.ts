/**
 * Building blocks for credential stores kept in files, shared by @keyup/store-ini and @keyup/store-env
 * and available to custom stores: atomic writes that keep symlinks and modes, exact reads, and a
 * cross-process lock that names its holder.
 *
 * @module
 */
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
