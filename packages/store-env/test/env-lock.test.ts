import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { envStore } from "@keyup/store-env";
import { describe, expect, test } from "vitest";
import { rejection, startLockChild, tempDir } from "./_support/support.js";

// "At once" means without waiting for the holder: a lock() that waited would take at least the 10 s
// after which an abandoned lock is taken over. Half of that holds on a loaded machine, where a
// sub-second bound failed at random.
const AT_ONCE_MS = 5_000;

async function envFile(): Promise<string> {
  const path = join(await tempDir(), ".env");
  await writeFile(path, "PORT=1\n", { mode: 0o600 });
  return path;
}

describe("lock() in one process", () => {
  test("a second lock() fails at once with ELOCKED naming this pid and host; the lock folder holds who", async () => {
    const path = await envFile();
    const store = envStore({ path });
    const lock = await store.lock();
    const holder = JSON.parse(await readFile(`${path}.lock/holder.json`, "utf8")) as { pid: number; hostname: string };
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname() });

    const started = Date.now();
    const error = await rejection(envStore({ path }).lock());
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toMatch(new RegExp(`^pid ${process.pid} on host ${hostname()} since `));
    expect(error.message).toContain(`${path}.lock`);
    await lock.release();
  });

  test("release() removes the lock folder, is harmless twice, and lets the lock be taken again", async () => {
    const path = await envFile();
    const store = envStore({ path });
    const lock = await store.lock();
    await lock.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
    await lock.release();
    await (await store.lock()).release();
  });

  test("two symlinks to one file share one lock", async () => {
    const path = await envFile();
    const dir = await tempDir();
    await symlink(path, join(dir, "a.env"));
    await symlink(path, join(dir, "b.env"));
    const lock = await envStore({ path: join(dir, "a.env") }).lock();
    expect((await rejection(envStore({ path: join(dir, "b.env") }).lock())).code).toBe("ELOCKED");
    await lock.release();
  });

  test("a file that does not exist yet can be locked; a missing folder is ENOTFOUND", async () => {
    const dir = await tempDir();
    await (await envStore({ path: join(dir, "new.env") }).lock()).release();
    expect((await rejection(envStore({ path: join(dir, "nope", ".env") }).lock())).code).toBe("ENOTFOUND");
  });
});

describe("abandoned locks", () => {
  test("a stale lock from another host is recovered once its mtime is past the threshold", async () => {
    const path = await envFile();
    await mkdir(`${path}.lock`);
    await writeFile(`${path}.lock/holder.json`, JSON.stringify({ pid: 1, hostname: "elsewhere", startedAt: "2020-01-01T00:00:00.000Z", token: "t" }));
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    const lock = await envStore({ path }).lock();
    expect(JSON.parse(await readFile(`${path}.lock/holder.json`, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  test("a fresh lock from another host is respected and named", async () => {
    const path = await envFile();
    await mkdir(`${path}.lock`);
    await writeFile(`${path}.lock/holder.json`, JSON.stringify({ pid: 4242, hostname: "build-7", startedAt: "2030-01-01T00:00:00.000Z", token: "t" }));
    const error = await rejection(envStore({ path }).lock());
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toBe("pid 4242 on host build-7 since 2030-01-01T00:00:00.000Z");
    expect(existsSync(`${path}.lock/holder.json`)).toBe(true);
  });

  test("an old folder that merely has the lock's name is never emptied: lock() fails and its files survive", async () => {
    const path = await envFile();
    await mkdir(`${path}.lock`);
    await writeFile(`${path}.lock/notes.txt`, "mine");
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    const error = await rejection(envStore({ path }).lock());
    expect(error.code).toBe("EIO");
    expect(await readFile(`${path}.lock/notes.txt`, "utf8")).toBe("mine");
  });
});

describe("lock() across real processes", () => {
  test("each process is excluded while the other holds the lock, and gets it after release", async () => {
    const path = await envFile();
    const child = await startLockChild(path);
    const store = envStore({ path });

    expect(await child.send("lock")).toEqual({ locked: true });
    const started = Date.now();
    const error = await rejection(store.lock());
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toMatch(new RegExp(`^pid ${child.pid} on host `));

    expect(await child.send("release")).toEqual({ released: true });
    const lock = await store.lock();
    const refused = await child.send("lock");
    expect(refused.code).toBe("ELOCKED");
    expect(refused.holder).toMatch(new RegExp(`^pid ${process.pid} on host `));

    await lock.release();
    expect(await child.send("lock")).toEqual({ locked: true });
    expect(await child.send("release")).toEqual({ released: true });
    child.process.stdin.end();
    await child.exited();
  });

  test("a lock left by a process that was killed is recovered at once", async () => {
    const path = await envFile();
    const child = await startLockChild(path);
    expect(await child.send("lock")).toEqual({ locked: true });
    child.process.kill("SIGKILL");
    await child.exited();
    expect((await stat(`${path}.lock`)).isDirectory()).toBe(true);

    const lock = await envStore({ path }).lock();
    expect(JSON.parse(await readFile(`${path}.lock/holder.json`, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(await readdir(join(path, ".."))).toEqual([".env"]);
  });
});
