import { constants } from "node:fs";
import { lstat, mkdir, open } from "node:fs/promises";

/**
 * Why keyup refused a folder or file of its own: a symlink where it expects its own folder or file,
 * or one owned by another user. Either would let that user read or redirect what keyup writes.
 *
 * @example
 * ```ts
 * if ((error as UnsafePathError).code === "EUNSAFEPATH") console.error(error.message);
 * ```
 */
export interface UnsafePathError extends Error {
  readonly code: "EUNSAFEPATH";
  /** The folder or file refused. */
  readonly path: string;
}

/**
 * An {@link UnsafePathError} for `path`, with a message saying what to do.
 *
 * @example
 * ```ts
 * throw unsafePath("/home/me/.local/state/keyup", "is a symlink");
 * ```
 */
export function unsafePath(path: string, why: string): UnsafePathError {
  const error = new Error(`${path} ${why}; keyup refuses it, since another user could read or redirect what keyup writes there. Remove it or fix its owner`);
  return Object.assign(error, { name: "UnsafePathError", code: "EUNSAFEPATH" as const, path });
}

/**
 * Creates keyup's own folder (mode 0700, parents as needed) and checks it is one only this user
 * controls: a real folder (not a symlink), owned by the process's user, not writable by others.
 * Only that folder is checked, not its parents: `/tmp` or `/home` are rightly someone else's.
 *
 * @throws An {@link UnsafePathError} (`EUNSAFEPATH`) for a symlink, a file, a folder owned by another
 *   user or writable by group or others.
 *
 * @example
 * ```ts
 * await ownFolder(join(process.env.XDG_STATE_HOME ?? "", "keyup"));
 * ```
 */
export async function ownFolder(folder: string): Promise<void> {
  const made = await mkdir(folder, { recursive: true, mode: 0o700 }).catch((error: unknown) => error);
  // mkdir fails on a dangling symlink; lstat then says what is there, or the mkdir error stands.
  const info = await lstat(folder).catch(() => Promise.reject(made));
  if (info.isSymbolicLink()) throw unsafePath(folder, "is a symlink, not a folder of keyup's own");
  if (!info.isDirectory()) throw unsafePath(folder, "is not a folder");
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw unsafePath(folder, `belongs to another user (uid ${info.uid}, not ${process.getuid()})`);
  }
  if ((info.mode & 0o022) !== 0) throw unsafePath(folder, `can be written by other users (mode ${(info.mode & 0o777).toString(8)})`);
}

// O_NOFOLLOW: a symlink planted at the name fails (ELOOP) instead of sending the lines elsewhere.
const APPEND_OWN = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Appends `text` to a file of keyup's own (a log), creating it 0600. The file is opened without
 * following a symlink, must be a regular file owned by the process's user, and is set to 0600
 * through the open file, never through its name.
 *
 * @throws An {@link UnsafePathError} (`EUNSAFEPATH`) for a symlink, something other than a file, or
 *   a file owned by another user; nothing is written.
 *
 * @example
 * ```ts
 * await appendOwnFile("/home/me/.local/state/keyup/keyup.log", "2026-05-06T07:08:09Z level=info …\n");
 * ```
 */
export async function appendOwnFile(path: string, text: string): Promise<void> {
  const handle = await open(path, APPEND_OWN, 0o600).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw unsafePath(path, "is a symlink, not a file of keyup's own");
    throw error;
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unsafePath(path, "is not a regular file");
    if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
      throw unsafePath(path, `belongs to another user (uid ${info.uid}, not ${process.getuid()})`);
    }
    if ((info.mode & 0o777) !== 0o600) await handle.chmod(0o600);
    await handle.appendFile(text);
  } finally {
    await handle.close();
  }
}
