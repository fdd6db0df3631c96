import { createHash } from "node:crypto";
import { lstat, readFile, readlink, realpath, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createStoreError } from "@keyup/core";
import writeFileAtomic from "write-file-atomic";

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function fingerprint(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The file's exact bytes, or `undefined` when it does not exist. */
export async function readBytes(path: string, what: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if (isMissing(cause)) return undefined;
    throw createStoreError("EIO", `cannot read ${what} ${path}`, { cause });
  }
}

// fatal: a byte that is not UTF-8 would come back as U+FFFD and change on write; ignoreBOM keeps a
// BOM in the text so that it is written back.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw createStoreError("EINVALID", `${path} is not valid UTF-8 text`, { cause });
  }
}

/**
 * Replaces `target` atomically (write-file-atomic: temp file in the same folder, fsync, rename).
 * Without a `mode`, an existing file keeps its own and a new one gets 0600.
 */
export async function writeAtomic(target: string, data: string | Buffer, what: string, mode?: number): Promise<void> {
  try {
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    const chosen = mode ?? (exists ? undefined : 0o600);
    await writeFileAtomic(target, data, chosen === undefined ? {} : { mode: chosen });
  } catch (cause) {
    if (isMissing(cause)) {
      throw createStoreError("ENOTFOUND", `cannot write ${what} ${target}: its folder does not exist`, { cause });
    }
    throw createStoreError("EIO", `cannot write ${what} ${target}`, { cause });
  }
}

export async function removeFile(target: string, what: string): Promise<void> {
  await unlink(target).catch((cause: unknown) => {
    if (!isMissing(cause)) throw createStoreError("EIO", `cannot remove ${what} ${target}`, { cause });
  });
}

const MAX_LINKS = 40;

/**
 * The real file behind `path`, following symlinks even when the last one dangles, so that a write
 * replaces the target and keeps the link, and every alias of one file shares one lock.
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
