import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { createStoreError } from "@keyup/core";
import writeFileAtomic from "write-file-atomic";
import { isMissing } from "./paths.js";

/** The file's exact bytes, or `undefined` when it does not exist. */
export async function readBytes(path: string, what: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if (isMissing(cause)) return undefined;
    throw createStoreError("EIO", `cannot read ${what} ${path}${reasonOf(cause)}`, { cause });
  }
}

// fatal: a byte that is not UTF-8 would come back as U+FFFD and change on write; ignoreBOM keeps a
// BOM in the text so that it is written back.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function decode(bytes: Buffer, path: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw createStoreError("EINVALID", `${path} is not valid UTF-8 text`, { cause });
  }
}

/**
 * Replaces `target` atomically (temp file in the same folder, fsync, rename: write-file-atomic).
 * Without a `mode`, an existing file keeps its own and a new one gets 0600; a missing folder is
 * created private to the user.
 */
export async function writeAtomic(target: string, data: string | Buffer, what: string, mode?: number): Promise<void> {
  try {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    const chosen = mode ?? (exists ? undefined : 0o600);
    await writeFileAtomic(target, data, chosen === undefined ? {} : { mode: chosen });
  } catch (cause) {
    throw createStoreError("EIO", `cannot write ${what} ${target}${reasonOf(cause)}`, { cause });
  }
}

/** The OS's reason for a failed file operation, for messages people can act on (`: permission denied (EACCES)`). */
export function reasonOf(cause: unknown): string {
  const code = (cause as { code?: unknown })?.code;
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left",
    EISDIR: "it is a folder",
  };
  return typeof code === "string" ? `: ${reasons[code] ?? "failed"} (${code})` : "";
}
