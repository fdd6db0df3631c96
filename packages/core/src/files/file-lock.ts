import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { lstat, mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { lock as lockPath } from "proper-lockfile";
import { createStoreError, type StoreLock } from "../credential-store.js";
import { isMissing, reasonOf } from "./files.js";

/** Who holds a lock. Written inside the lock folder; holds no secret. */
interface Holder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  /** Tells this lock apart from an earlier one by the same pid (pids are reused, in containers often). */
  readonly token: string;
}

const HOLDER_FILE = "holder.json";
// proper-lockfile keeps a live lock's mtime fresh every stale/2 ms; a lock older than this is abandoned.
const STALE_MS = 10_000;

// proper-lockfile removes its lock folder with rmdir, which fails once our holder file is inside.
// It accepts a custom fs: this one removes our holder file first, and nothing else, so that a folder
// that merely happens to be called `<file>.lock` and holds other things is never deleted.
// One shared object, because proper-lockfile caches the filesystem's mtime precision on it.
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) => fs.unlink(join(path, HOLDER_FILE), () => fs.rmdir(path, callback)),
  rmdirSync: (path: string) => {
    fs.rmSync(join(path, HOLDER_FILE), { force: true });
    fs.rmdirSync(path);
  },
};

// Lock folders this process holds: a holder file naming this pid that is not in here is a leftover
// from an earlier process that had the same pid.
const heldHere = new Set<string>();

/**
 * Options for {@link lockFile}.
 *
 * @example
 * ```ts
 * const options: LockFileOptions = { createFolder: true };
 * ```
 */
export interface LockFileOptions {
  /** Create the file's folder (0700) when it is missing, instead of failing with ENOTFOUND. */
  readonly createFolder?: boolean;
}

/**
 * Takes the cross-process lock on `target` (a file that may not exist yet): the folder
 * `<target>.lock`, made atomically by proper-lockfile, with a holder file naming the process. Fails at
 * once with ELOCKED naming the holder. A lock left by a dead process on this host is broken at once;
 * any other abandoned lock once its mtime is older than 10 s (proper-lockfile's own recovery).
 *
 * @example
 * ```ts
 * const lock = await lockFile("/home/me/.aws/credentials", "ini:/home/me/.aws/credentials#ci");
 * try { … } finally { await lock.release(); }
 * ```
 */
export async function lockFile(target: string, name: string, options: LockFileOptions = {}): Promise<StoreLock> {
  const lockDir = `${target}.lock`;
  if (options.createFolder) {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 }).catch((cause: unknown) => {
      throw createStoreError("EIO", `${name}: cannot create the folder for the lock ${lockDir}${reasonOf(cause)}`, { cause });
    });
  }
  let release = await tryLock(target, lockDir, name);
  if (!release) {
    const holder = await readHolder(lockDir);
    if (holder && isAbandoned(holder, lockDir) && (await breakAbandoned(lockDir, holder))) {
      release = await tryLock(target, lockDir, name);
    }
    if (!release) {
      // The holder writes its file a moment after taking the lock: give it that moment, so the
      // error can name who holds the lock rather than "unknown".
      const current = holder ?? (await waitForHolder(lockDir));
      const who = current ? describe(current) : "an unknown process (no holder file yet)";
      throw createStoreError("ELOCKED", `${name} is locked by ${who} (lock folder ${lockDir})`, {
        holder: current ? describe(current) : "unknown",
      });
    }
  }

  const holder: Holder = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: randomUUID() };
  try {
    // Writing into the folder changes its mtime, which proper-lockfile checks to notice that someone
    // else took the lock over; put back the mtime it set.
    const before = await stat(lockDir);
    await writeFile(join(lockDir, HOLDER_FILE), `${JSON.stringify(holder)}\n`, { mode: 0o644 });
    await utimes(lockDir, before.atime, before.mtime);
  } catch (cause) {
    await release().catch(() => undefined);
    throw createStoreError("EIO", `${name}: cannot record the lock holder in ${lockDir}`, { cause });
  }
  heldHere.add(lockDir);

  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      heldHere.delete(lockDir);
      await release().catch((cause: unknown) => {
        // Already gone (for example taken over after this process stalled past the stale threshold).
        if ((cause as NodeJS.ErrnoException).code === "ERELEASED") return;
        throw createStoreError("EIO", `${name}: cannot release the lock ${lockDir}`, { cause });
      });
    },
  };
}

async function tryLock(target: string, lockDir: string, name: string): Promise<(() => Promise<void>) | undefined> {
  try {
    return await lockPath(target, {
      realpath: false,
      lockfilePath: lockDir,
      stale: STALE_MS,
      retries: 0,
      fs: lockFs,
      // The default throws from a timer and kills the process; a lost lock is reported by the next
      // contender instead, and release() then finds it already released.
      onCompromised: () => undefined,
    });
  } catch (cause) {
    // A symlink where the lock folder goes makes mkdir fail as if the lock were held (or its folder
    // missing, when it dangles): say what is there instead, since keyup will not lock through it.
    if (await isSymlink(lockDir)) {
      throw createStoreError("EUNSUPPORTED", `${name}: cannot take the lock ${lockDir}: it is a symlink, which keyup refuses to follow; remove it`, {
        cause,
      });
    }
    if ((cause as NodeJS.ErrnoException).code === "ELOCKED") return undefined;
    if (isMissing(cause)) {
      throw createStoreError("ENOTFOUND", `${name}: cannot take the lock ${lockDir}: its folder does not exist`, { cause });
    }
    throw createStoreError("EIO", `${name}: cannot take the lock ${lockDir}${reasonOf(cause)}`, { cause });
  }
}

async function isSymlink(path: string): Promise<boolean> {
  return lstat(path).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
}

async function readHolder(lockDir: string): Promise<Holder | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(lockDir, HOLDER_FILE), "utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { pid, hostname: host, startedAt, token } = parsed as Record<string, unknown>;
    if (typeof pid !== "number" || typeof host !== "string" || typeof startedAt !== "string" || typeof token !== "string") {
      return undefined;
    }
    return { pid, hostname: host, startedAt, token };
  } catch {
    return undefined;
  }
}

function describe(holder: Holder): string {
  return `pid ${holder.pid} on host ${holder.hostname} since ${holder.startedAt}`;
}

function isAbandoned(holder: Holder, lockDir: string): boolean {
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) return !heldHere.has(lockDir);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Breaks a lock whose holder is dead. Renaming first makes the break atomic: of several contenders
 * only one moves the folder, and it deletes it only if it still belongs to the dead holder; if a
 * live holder took the lock in between, the folder is moved back.
 */
async function breakAbandoned(lockDir: string, dead: Holder): Promise<boolean> {
  const aside = `${lockDir}.abandoned-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await rename(lockDir, aside);
  } catch {
    return false;
  }
  const moved = await readHolder(aside);
  if (moved?.token === dead.token) {
    await rm(join(aside, HOLDER_FILE), { force: true });
    await fs.promises.rmdir(aside).catch(() => undefined);
    return true;
  }
  await rename(aside, lockDir).catch(() => undefined);
  return false;
}

/** The holder file, waiting up to 500 ms for a holder that has just taken the lock to write it. */
async function waitForHolder(lockDir: string): Promise<Awaited<ReturnType<typeof readHolder>>> {
  for (let i = 0; i < 25; i++) {
    const holder = await readHolder(lockDir);
    if (holder) return holder;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}
