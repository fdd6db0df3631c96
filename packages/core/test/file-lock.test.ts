import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { lockFile } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

// The kit's cross-process lock (file-lock.ts), in one process: real lock folders on disk, and the
// holder files a dead or foreign holder leaves planted by hand, since what matters is what lockFile()
// makes of them. Contention with a real second process is in env-lock.test.ts, ini-store-lock.test.ts
// and the conformance suite; these cases stay fast so that mutation testing can run them per mutant.

type Failure = Error & { code?: string; holder?: string };
const failure = (promise: Promise<unknown>): Promise<Failure | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Failure,
  );

async function fileIn(prefix = "keyup-lock-"): Promise<{ dir: string; target: string; lockDir: string }> {
  const dir = await tempDir(prefix);
  const target = join(dir, "credentials");
  await writeFile(target, "x\n", { mode: 0o600 });
  return { dir, target, lockDir: `${target}.lock` };
}

/** A pid no process has here (above any pid in use), as a holder that died leaves it. */
function deadPid(): number {
  for (let pid = 4_194_303; pid > 1; pid -= 7919) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
  throw new Error("no free pid found");
}

/** Plants a lock folder with a holder file, as another lock() left it. */
async function plant(lockDir: string, holder: unknown, age?: number): Promise<void> {
  await mkdir(lockDir);
  if (holder !== undefined) await writeFile(join(lockDir, "holder.json"), typeof holder === "string" ? holder : JSON.stringify(holder));
  if (age !== undefined) {
    const then = new Date(Date.now() - age);
    await utimes(lockDir, then, then);
  }
}

const holderOf = (pid: number, host = hostname()) => ({ pid, hostname: host, startedAt: "2026-01-02T03:04:05.000Z", token: "t-planted" });

describe("lockFile: taking and releasing", () => {
  test("takes the lock as the folder <file>.lock holding a holder file (0644) naming this process; release removes both", async () => {
    const { dir, target, lockDir } = await fileIn();
    const before = Date.now();
    const lock = await lockFile(target, "test:a");
    expect((await lstat(lockDir)).isDirectory()).toBe(true);
    expect(await readdir(lockDir)).toEqual(["holder.json"]);
    const holder = JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8"));
    expect(holder).toEqual({ pid: process.pid, hostname: hostname(), startedAt: expect.any(String), token: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Date.parse(holder.startedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(holder.startedAt)).toBeLessThanOrEqual(Date.now());
    expect((await stat(join(lockDir, "holder.json"))).mode & 0o777).toBe(0o644);
    await lock.release();
    expect(await readdir(dir)).toEqual(["credentials"]);
    expect(await readFile(target, "utf8")).toBe("x\n");
  });

  test("a second lockFile() in this process while the first is held: ELOCKED at once, naming this pid and host", async () => {
    const { target, lockDir } = await fileIn();
    const lock = await lockFile(target, "test:a");
    const startedAt = JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8")).startedAt;
    const t0 = Date.now();
    const error = await failure(lockFile(target, "test:b"));
    expect(Date.now() - t0).toBeLessThan(400);
    expect(error?.code).toBe("ELOCKED");
    const who = `pid ${process.pid} on host ${hostname()} since ${startedAt}`;
    expect(error?.holder).toBe(who);
    expect(error?.message).toBe(`test:b is locked by ${who} (lock folder ${lockDir})`);
    await lock.release();
    await (await lockFile(target, "test:b")).release();
  });

  test("the holder file is 0644 even in a folder whose default ACL would make it 0666 (the ACL takes the umask's place)", async () => {
    const { dir, target, lockDir } = await fileIn();
    // A default ACL of rwx for owner, group and others (Node.js cannot set one; Python's setxattr can):
    // a file created there without a mode is 0666, whatever the umask.
    const acl =
      "import os,struct,sys; e=lambda t: struct.pack('<HHI',t,7,0xffffffff); os.setxattr(sys.argv[1],'system.posix_acl_default',struct.pack('<I',2)+e(1)+e(4)+e(32))";
    execFileSync("python3", ["-c", acl, dir]);
    await writeFile(join(dir, "plain"), "x\n");
    expect((await stat(join(dir, "plain"))).mode & 0o777, "the ACL widens a file created without a mode").toBe(0o666);
    const lock = await lockFile(target, "test:a");
    expect((await stat(join(lockDir, "holder.json"))).mode & 0o777).toBe(0o644);
    await lock.release();
  });

  test("each lock gets a new token: two locks in a row by this process are told apart", async () => {
    const { target, lockDir } = await fileIn();
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const lock = await lockFile(target, "test:a");
      tokens.push(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8")).token);
      await lock.release();
    }
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  test("releasing twice is harmless, and a stale release() does not free a later lock of the same file", async () => {
    const { target, lockDir } = await fileIn();
    const first = await lockFile(target, "test:first");
    await first.release();
    const second = await lockFile(target, "test:second");
    await first.release(); // the first holder's handle again: must not touch the second's lock
    expect(await readdir(lockDir)).toEqual(["holder.json"]);
    expect((await failure(lockFile(target, "test:third")))?.code).toBe("ELOCKED");
    await second.release();
    await second.release();
    await expect(lstat(lockDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("locks a file that does not exist yet (its folder does)", async () => {
    const dir = await tempDir("keyup-lock-");
    const target = join(dir, "not-yet");
    const lock = await lockFile(target, "test:a");
    expect(await readdir(dir)).toEqual(["not-yet.lock"]);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  test("something other than the lock in the lock folder: release fails with EIO and deletes none of it", async () => {
    const { target, lockDir } = await fileIn();
    const lock = await lockFile(target, "test:a");
    await writeFile(join(lockDir, "someone-elses"), "keep\n");
    const error = await failure(lock.release());
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`test:a: cannot release the lock ${lockDir}`);
    expect(error?.cause, "the OS's error, for whoever debugs it").toMatchObject({ code: "ENOTEMPTY" });
    expect(await readFile(join(lockDir, "someone-elses"), "utf8")).toBe("keep\n");
  });
});

describe("lockFile: the folder of the file", () => {
  test("a missing folder: ENOTFOUND saying so, and nothing is created", async () => {
    const dir = await tempDir("keyup-lock-");
    const target = join(dir, "missing", "credentials");
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("ENOTFOUND");
    expect(error?.message).toBe(`test:a: cannot take the lock ${target}.lock: its folder does not exist`);
    expect(error?.cause).toMatchObject({ code: "ENOENT" });
    expect(await readdir(dir)).toEqual([]);
  });

  test("createFolder: a missing folder is created (0700, parents too) and the lock taken in it", async () => {
    const dir = await tempDir("keyup-lock-");
    const target = join(dir, "a", "b", "credentials");
    const lock = await lockFile(target, "test:a", { createFolder: true });
    for (const folder of [join(dir, "a"), join(dir, "a", "b")]) expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, "a", "b"))).toEqual(["credentials.lock"]);
    await lock.release();
  });

  test("createFolder where a file is in the way: EIO saying the folder cannot be created", async () => {
    const { target } = await fileIn();
    const inside = join(target, "credentials");
    const error = await failure(lockFile(inside, "test:a", { createFolder: true }));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`test:a: cannot create the folder for the lock ${inside}.lock: failed (EEXIST)`);
    expect(error?.cause).toMatchObject({ code: "EEXIST" });
  });

  test("any other failure to make the lock folder is EIO with the OS's reason", async () => {
    const dir = await tempDir("keyup-lock-");
    const target = join(dir, "c".repeat(252)); // the name fits, the name plus ".lock" does not
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`test:a: cannot take the lock ${target}.lock: failed (ENAMETOOLONG)`);
    expect(error?.cause).toMatchObject({ code: "ENAMETOOLONG" });
  });
});

describe("lockFile: a lock someone else left", () => {
  test("a holder on this host whose process is gone: the lock is broken at once and taken, leaving nothing aside", async () => {
    const { dir, target, lockDir } = await fileIn();
    await plant(lockDir, holderOf(deadPid()));
    const t0 = Date.now();
    const lock = await lockFile(target, "test:a");
    expect(Date.now() - t0).toBeLessThan(400);
    expect(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8"))).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.lock"]);
    await lock.release();
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("a holder file naming this pid that this process does not hold (a pid reused after a restart): broken at once", async () => {
    const { dir, target, lockDir } = await fileIn();
    await plant(lockDir, holderOf(process.pid));
    const lock = await lockFile(target, "test:a");
    expect(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8")).token).not.toBe("t-planted");
    await lock.release();
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("a holder on this host whose process is alive: ELOCKED naming it, and the lock is left as it is", async () => {
    const { target, lockDir } = await fileIn();
    const alive = holderOf(process.ppid);
    await plant(lockDir, alive);
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("ELOCKED");
    expect(error?.holder).toBe(`pid ${process.ppid} on host ${hostname()} since ${alive.startedAt}`);
    expect(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8"))).toEqual(alive);
  });

  test("a fresh lock of another host is not broken, even if no process here has its pid", async () => {
    const { target, lockDir } = await fileIn();
    const foreign = holderOf(deadPid(), "build-other-host");
    await plant(lockDir, foreign);
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("ELOCKED");
    expect(error?.message).toBe(`test:a is locked by pid ${foreign.pid} on host build-other-host since ${foreign.startedAt} (lock folder ${lockDir})`);
    expect(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8"))).toEqual(foreign);
  });

  test("a lock of another host older than 10 s (its holder stopped refreshing it) is taken over", async () => {
    const { dir, target, lockDir } = await fileIn();
    await plant(lockDir, holderOf(4242, "build-other-host"), 30_000);
    const lock = await lockFile(target, "test:a");
    expect(JSON.parse(await readFile(join(lockDir, "holder.json"), "utf8"))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await lock.release();
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("an old folder named <file>.lock that holds other things is never deleted: EIO, its content kept", async () => {
    const { target, lockDir } = await fileIn();
    await mkdir(lockDir);
    await writeFile(join(lockDir, "notes.txt"), "mine\n");
    const then = new Date(Date.now() - 60_000);
    await utimes(lockDir, then, then);
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`test:a: cannot take the lock ${lockDir}: failed (ENOTEMPTY)`);
    expect(await readdir(lockDir)).toEqual(["notes.txt"]);
  });

  test("a fresh lock folder with no holder file yet: ELOCKED after waiting briefly for it, holder unknown", async () => {
    const { target, lockDir } = await fileIn();
    await plant(lockDir, undefined);
    const t0 = Date.now();
    const error = await failure(lockFile(target, "test:a"));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(error?.code).toBe("ELOCKED");
    expect(error?.holder).toBe("unknown");
    expect(error?.message).toBe(`test:a is locked by an unknown process (no holder file yet) (lock folder ${lockDir})`);
    expect(await readdir(lockDir)).toEqual([]);
  });

  test("a holder that writes its file a moment after taking the lock is named", async () => {
    const { target, lockDir } = await fileIn();
    await plant(lockDir, undefined);
    const late = holderOf(process.ppid);
    setTimeout(() => void writeFile(join(lockDir, "holder.json"), JSON.stringify(late)), 150);
    const error = await failure(lockFile(target, "test:a"));
    expect(error?.code).toBe("ELOCKED");
    expect(error?.holder).toBe(`pid ${process.ppid} on host ${hostname()} since ${late.startedAt}`);
  });

  test("a holder file that is not a holder (not JSON, a field missing or of the wrong type) names nobody and breaks nothing", async () => {
    const dead = deadPid();
    const good = holderOf(dead);
    const bad: unknown[] = [
      "{not json",
      "null",
      "42",
      { ...good, pid: String(dead) },
      { ...good, hostname: 7 },
      { ...good, startedAt: 7 },
      { ...good, token: 7 },
      { hostname: good.hostname, startedAt: good.startedAt, token: good.token },
    ];
    const outcomes = await Promise.all(
      bad.map(async (holder) => {
        const { target, lockDir } = await fileIn();
        await plant(lockDir, typeof holder === "string" ? holder : JSON.stringify(holder));
        const error = await failure(lockFile(target, "test:a"));
        return { code: error?.code, holder: error?.holder, kept: await readdir(lockDir) };
      }),
    );
    for (const outcome of outcomes) expect(outcome).toEqual({ code: "ELOCKED", holder: "unknown", kept: ["holder.json"] });
  });
});

describe("lockFile: a lock held for longer than proper-lockfile's refresh (5 s)", () => {
  test("stays this process's own (release removes it); one whose folder someone removed meanwhile releases quietly", async () => {
    const kept = await fileIn();
    const lost = await fileIn();
    const keptLock = await lockFile(kept.target, "test:kept");
    const lostLock = await lockFile(lost.target, "test:lost");
    await rm(lost.lockDir, { recursive: true });
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    // Refreshed, not compromised: still refused to others, and release removes it.
    expect((await failure(lockFile(kept.target, "test:other")))?.code).toBe("ELOCKED");
    await keptLock.release();
    expect(await readdir(kept.dir)).toEqual(["credentials"]);
    // Lost: proper-lockfile noticed and let it go; release() has nothing left to do.
    await expect(lostLock.release()).resolves.toBeUndefined();
    expect(await readdir(lost.dir)).toEqual(["credentials"]);
  }, 30_000);
});
