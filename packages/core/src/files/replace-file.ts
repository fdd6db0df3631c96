import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Options for {@link replaceFile}.
 *
 * @example
 * ```ts
 * const options: ReplaceFileOptions = { mode: 0o600 };
 * ```
 */
export interface ReplaceFileOptions {
  /** The file's mode once written. */
  readonly mode: number;
  /** Hand the file to this owner (the store file keeps its owner when root edits it). Default: the process's user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /**
   * When the rename onto `target` fails with EBUSY or EXDEV (a file bind-mounted on its own, as a
   * container's `-v ~/.aws/credentials:…` is), write `target` in place instead and read it back.
   * Only for a file written under its lock: an in-place write is not atomic for readers.
   */
  readonly inPlaceWhenBusy?: boolean;
}

/** Every temporary file keyup makes is named `<target>` + this + random hex. */
const TEMP_MARK = ".keyup-tmp-";
// A temporary file lives for one write (milliseconds); one this old was left by a process that died.
const STALE_MS = 60_000;
// The temporary names of earlier keyups' journal saves: `<journal>.<pid>.tmp`.
const LEGACY_TEMP = /^\.\d+\.tmp$/;

// O_EXCL: never reuse a file someone placed at the name (with O_CREAT it also refuses any symlink
// there); O_NOFOLLOW: the same refusal stated for the last path part, whatever the platform does.
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

// When this process last looked for stale temporary files of each target. A leftover is only removed
// once it is a minute old, so looking at every write (a readdir and an lstat per candidate, twice in a
// store cycle) found nothing new most times: the first write of a target in a process looks, and the
// next that comes half a minute after the last look. A long-lived process (a fleet, a Lambda
// container) thus removes a leftover at most half a minute later than looking at every write would.
const sweptAt = new Map<string, number>();
const SWEEP_EVERY_MS = STALE_MS / 2;

function sweepDue(target: string, now: number = Date.now()): boolean {
  const last = sweptAt.get(target);
  if (last !== undefined && now - last < SWEEP_EVERY_MS && now >= last) return false;
  sweptAt.set(target, now);
  return true;
}

/**
 * Replaces `target` with `data` through a temporary file beside it: created exclusively (`O_EXCL |
 * O_NOFOLLOW`) under a random name, mode 0600 while it is written, fsynced, then renamed over
 * `target`, and the folder fsynced. The temporary file is removed on every failure, and any left
 * by a process that died (ours, older than a minute) is removed before writing: at the first write of
 * `target` in this process, then at most every half minute ({@link removeStaleTemps}). The new file is
 * owned by the process's user unless `owner` is given: never by whoever owned a file at `target`.
 *
 * write-file-atomic, used before, could not do this: its temporary name is predictable (a hash of
 * the pid and a counter), it opens it following symlinks without `O_EXCL`, and as root it hands the
 * new file to the old file's owner, so another local user could read the secrets it wrote.
 *
 * @example
 * ```ts
 * await replaceFile("/home/me/.aws/credentials.keyup-backup.ci", bytes, { mode: 0o600 });
 * ```
 */
export async function replaceFile(target: string, data: string | Buffer, options: ReplaceFileOptions): Promise<void> {
  if (sweepDue(target)) await removeStaleTemps(target);
  const temp = `${target}${TEMP_MARK}${randomBytes(12).toString("hex")}`;
  const handle = await open(temp, CREATE_NEW, 0o600);
  let renamed = false;
  try {
    try {
      await handle.writeFile(data);
      if (options.owner && typeof process.getuid === "function" && options.owner.uid !== process.getuid()) {
        await handle.chown(options.owner.uid, options.owner.gid);
      }
      // After the write: the umask does not narrow it, and a wider mode applies only once complete.
      await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
      renamed = true;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (!options.inPlaceWhenBusy || (code !== "EBUSY" && code !== "EXDEV")) throw cause;
      await writeInPlace(target, data, cause);
    }
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
  await syncFolder(dirname(target));
}

/**
 * An error from {@link replaceFile}'s in-place fallback: the file could not be written in place, or
 * reading it back gave other bytes.
 *
 * @example
 * ```ts
 * if ((error as InPlaceWriteError).code === "EINPLACE") console.error(error.message);
 * ```
 */
export interface InPlaceWriteError extends Error {
  readonly code: "EINPLACE";
}

// A file mounted on its own cannot be replaced by rename: write its bytes through the mount, then
// prove the write by reading them back (the caller holds the lock and a backup).
async function writeInPlace(target: string, data: string | Buffer, busy: unknown): Promise<void> {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const mounted = `${target} cannot be replaced (${(busy as NodeJS.ErrnoException).code} on rename: it is mounted on its own, as a container's bind mount of one file is)`;
  const what = "mount its folder instead of the file, or rotate it where it is not mounted";
  try {
    const handle = await open(target, constants.O_WRONLY | constants.O_NOFOLLOW);
    try {
      await handle.truncate(0);
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "unknown";
    throw Object.assign(new Error(`${mounted}, nor written in place (${code}): ${what}`, { cause }), { code: "EINPLACE" as const });
  }
  const back = await readFile(target);
  if (!back.equals(bytes)) {
    throw Object.assign(new Error(`${mounted}, and writing it in place did not read back the same bytes: ${what}`, { cause: busy }), {
      code: "EINPLACE" as const,
    });
  }
}

/**
 * Removes the temporary files a keyup that died while writing `target` left beside it (they may
 * hold secrets): `<target>.keyup-tmp-*` and earlier keyups' `<target>.<pid>.tmp`, when they are
 * regular files or symlinks owned by this user and older than a minute. Errors are ignored: this
 * is cleaning, and the write that follows does not depend on it.
 *
 * @example
 * ```ts
 * await removeStaleTemps("/home/me/.aws/credentials.keyup-journal.ci");
 * ```
 */
export async function removeStaleTemps(target: string, now: number = Date.now()): Promise<void> {
  const folder = dirname(target);
  const base = basename(target);
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const rest = name.slice(base.length);
    if (!rest.startsWith(TEMP_MARK) && !LEGACY_TEMP.test(rest)) continue;
    const path = join(folder, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info || !(info.isFile() || info.isSymbolicLink())) continue;
    if (typeof process.getuid === "function" && info.uid !== process.getuid()) continue;
    if (now - info.mtimeMs < STALE_MS) continue;
    await unlink(path).catch(() => undefined);
  }
}

/**
 * Fsyncs a folder so that a rename in it survives a crash; some file systems refuse, which is fine.
 *
 * @example
 * ```ts
 * await syncFolder("/home/me/.aws");
 * ```
 */
export async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
