import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { lstat, mkdir, open, readlink, realpath, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createStoreError, type StoreBackup } from "../credential-store.js";
import { replaceFile } from "./replace-file.js";

/**
 * True for the errors that mean "no such file" (ENOENT, or ENOTDIR for a path through a file).
 *
 * @example
 * ```ts
 * await readFile(path).catch((e) => (isMissing(e) ? undefined : Promise.reject(e)));
 * ```
 */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * The `sha256:<hex>` id of some bytes: the backup handle id file stores use.
 *
 * @example
 * ```ts
 * fingerprint(Buffer.from("")); // "sha256:e3b0c442…"
 * ```
 */
export function fingerprint(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * The file's exact bytes, or `undefined` when it does not exist; other failures are EIO store errors
 * that say why (`permission denied (EACCES)`). When the file holds exactly the bytes of `known` (read
 * and compared, never assumed), `known` itself is returned: a store re-reading a file it read a
 * moment ago then allocates nothing new (on a 3 MiB file, each new buffer pushes V8 nearer a full
 * garbage collection, measured at 20 to 40 ms on a loaded machine).
 *
 * @example
 * ```ts
 * const bytes = await readBytes("/home/me/.aws/credentials", "the credentials file");
 * ```
 */
export async function readBytes(path: string, what: string, known?: Buffer): Promise<Buffer | undefined> {
  try {
    return await readWhole(path, known);
  } catch (cause) {
    if (isMissing(cause)) return undefined;
    throw createStoreError("EIO", `cannot read ${what} ${path}${reasonOf(cause)}`, { cause });
  }
}

// Larger files are read the way readFile reads them (a credentials file is a few MiB at most).
const MAX_ONE_READ = 1024 * 1024 * 1024;

/**
 * `readFile`, in one read call for a file of known size: `readFile` reads 512 KiB at a time, each a
 * round trip between the thread pool and the main thread (six for a 3 MiB credentials file, which a
 * loaded machine makes wait each time). Like `readFile`, it reads the size `fstat` gave, and less if
 * the file ends sooner; anything else (a file that says it is empty, as procfs does) is `readFile`'s.
 */
async function readWhole(path: string, known?: Buffer): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    // Not a regular file, or one too large for one buffer: what `readFile` does with it.
    if (!info.isFile() || info.size === 0 || info.size > MAX_ONE_READ) return await handle.readFile();
    const size = info.size;
    // A file the size of `known` is read into the spare buffer and compared: the same bytes return
    // `known`, other bytes a copy. One spare, taken while in use: a concurrent read allocates its own.
    const compare = known !== undefined && known.length === size;
    const spareFits = compare && spare !== undefined && spare.length >= size;
    const buffer = spareFits ? (spare as Buffer) : Buffer.allocUnsafeSlow(size);
    if (spareFits) spare = undefined;
    try {
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      const bytes = buffer.subarray(0, filled);
      if (compare && bytes.equals(known)) {
        // Kept for the next comparison, unless it is one made for this read and too large to keep.
        if (!spareFits && size <= MAX_SPARE) spare = buffer;
        return known;
      }
      return spareFits ? Buffer.from(bytes) : bytes;
    } finally {
      if (spareFits) spare = buffer;
    }
  } finally {
    await handle.close();
  }
}

// The buffer a read compared with known bytes goes into (see readWhole); files beyond this size get
// one of their own each time.
let spare: Buffer | undefined;
const MAX_SPARE = 16 * 1024 * 1024;

// fatal: a byte that is not UTF-8 would come back as U+FFFD and change on write; ignoreBOM keeps a
// BOM in the text so that it is written back.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The bytes as UTF-8 text, BOM kept, or an EINVALID store error: a byte that is not UTF-8 would
 * otherwise change on the way back to disk.
 *
 * @example
 * ```ts
 * const text = decodeUtf8(bytes, path);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    // Most credential files are ASCII, whose UTF-8 and Latin-1 readings are the same text: Node.js
    // makes a Latin-1 string of a large buffer outside the JavaScript heap, a few times faster than
    // the decoder (measured on a 3 MiB file). The check is native and takes well under a millisecond.
    if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    return decoder.decode(bytes);
  } catch (cause) {
    throw createStoreError("EINVALID", `${path} is not valid UTF-8 text`, { cause });
  }
}

/**
 * Options for {@link writeAtomic}.
 *
 * @example
 * ```ts
 * const options: WriteAtomicOptions = { mode: 0o600, createFolder: true };
 * ```
 */
export interface WriteAtomicOptions {
  /** The file's mode. Default: an existing file keeps its own, a new one gets 0600. */
  readonly mode?: number;
  /** Create a missing folder (0700) instead of failing with ENOTFOUND. */
  readonly createFolder?: boolean;
  /**
   * For the store's own file: an existing file keeps its owner (root editing another user's file
   * leaves it theirs), and a file mounted on its own (`EBUSY` on rename) is written in place and
   * read back. Default: the file is owned by the process's user, whoever owned a file at that name
   * (backups and journals, which another user may have planted).
   */
  readonly storeFile?: boolean;
}

/**
 * Replaces `target` atomically ({@link replaceFile}: a temporary file beside it created exclusively
 * under a random name, fsync, rename). Write through symlinks by passing the {@link resolveTarget}
 * of a path.
 *
 * @example
 * ```ts
 * await writeAtomic(await resolveTarget(path), text, "the credentials file", { storeFile: true });
 * ```
 */
export async function writeAtomic(target: string, data: string | Buffer, what: string, options: WriteAtomicOptions = {}): Promise<void> {
  try {
    const existing = await stat(target).catch(() => undefined);
    // An existing file's folder exists: creating it again would only cost a call.
    if (!existing && options.createFolder) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o600);
    // Only the store file keeps its owner (root editing a user's file leaves it theirs); backups and
    // journals stay the rotating user's, whoever created a file at that path before.
    const owner = options.storeFile && existing ? { uid: existing.uid, gid: existing.gid } : undefined;
    await replaceFile(target, data, { mode, ...(owner ? { owner } : {}), inPlaceWhenBusy: options.storeFile === true });
  } catch (cause) {
    if (isMissing(cause)) {
      throw createStoreError("ENOTFOUND", `cannot write ${what} ${target}: its folder does not exist`, { cause });
    }
    if ((cause as { code?: unknown }).code === "EINPLACE") throw createStoreError("EIO", `cannot write ${what}: ${(cause as Error).message}`, { cause });
    throw createStoreError("EIO", `cannot write ${what} ${target}${reasonOf(cause)}${busyHint(cause)}`, { cause });
  }
}

// EBUSY on a write is a file mounted on its own that could not be written in place either.
function busyHint(cause: unknown): string {
  const code = (cause as { code?: unknown })?.code;
  return code === "EBUSY" || code === "EXDEV"
    ? "; it is mounted on its own (a container's bind mount of one file): mount its folder instead, or rotate on the host"
    : "";
}

/**
 * Removes a file; a file already gone is fine.
 *
 * @example
 * ```ts
 * await removeFile(path, "the credentials file");
 * ```
 */
export async function removeFile(target: string, what: string): Promise<void> {
  await unlink(target).catch((cause: unknown) => {
    if (!isMissing(cause)) throw createStoreError("EIO", `cannot remove ${what} ${target}${reasonOf(cause)}`, { cause });
  });
}

/**
 * Deletes a backup file once its rotation is over, but only if it still holds the bytes the handle's
 * id names: a backup replaced since (by a later rotation) is not this rotation's to delete. A missing
 * file, or a handle whose id is not a {@link fingerprint}, is left alone.
 *
 * @example
 * ```ts
 * const discard = (handle: StoreBackup) => discardBackupFile(backupPath, handle);
 * ```
 */
export async function discardBackupFile(backupPath: string, handle: StoreBackup): Promise<void> {
  const id: unknown = handle?.id;
  if (typeof id !== "string" || !id.startsWith("sha256:")) return;
  const bytes = await readBytes(backupPath, "the backup");
  if (bytes !== undefined && fingerprint(bytes) === id) await removeFile(backupPath, "the backup");
}

const MAX_LINKS = 40;

/**
 * The real file behind `path`, following symlinks even when the last one dangles, so that a write
 * replaces the target and keeps the link, and every alias of one file shares one lock.
 *
 * @example
 * ```ts
 * await resolveTarget("/home/me/.aws/credentials"); // "/home/me/dotfiles/aws-credentials"
 * ```
 */
export async function resolveTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    try {
      return await realpath(current);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    const info = await lstat(current).catch((error: unknown) => {
      if (isMissing(error)) return undefined;
      throw error;
    });
    if (!info?.isSymbolicLink()) {
      const folder = await realpath(dirname(current)).catch(() => dirname(current));
      return join(folder, basename(current));
    }
    current = resolve(dirname(current), await readlink(current));
  }
  return current;
}

/**
 * The OS's reason for a failed file operation, for messages people can act on.
 *
 * @example
 * ```ts
 * reasonOf({ code: "EACCES" }); // ": permission denied (EACCES)"
 * ```
 */
export function reasonOf(cause: unknown): string {
  const code = (cause as { code?: unknown })?.code;
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left",
    EISDIR: "it is a folder",
    EBUSY: "busy",
  };
  return typeof code === "string" ? `: ${reasons[code] ?? "failed"} (${code})` : "";
}
