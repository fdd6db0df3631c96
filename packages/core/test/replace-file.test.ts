import { chown, lstat, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { removeStaleTemps, replaceFile, syncFolder } from "../src/files/replace-file.js";

// replaceFile and its cleaning, on real files: what a reader of the target can ever see, the mode and
// owner the new file gets, and which leftovers beside it are removed. (Names created and the refusal
// of planted names are in another-local-user.test.ts; a bind-mounted target in bind-mounted-file.test.ts.)

const NOBODY = 65534;
const me = () => process.getuid?.() ?? -1;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error & { code?: string },
  );

describe("replaceFile", () => {
  test("replaces the file with exactly the bytes given, in the mode given (wider than the umask too), leaving nothing beside it", async () => {
    const dir = await tempDir("keyup-replace-");
    const target = join(dir, "f");
    await writeFile(target, "old\n", { mode: 0o600 });
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0x00, 0xff]);
    await replaceFile(target, bytes, { mode: 0o664 });
    expect(await readFile(target)).toEqual(bytes);
    expect((await stat(target)).mode & 0o777).toBe(0o664);
    await replaceFile(target, "text\n", { mode: 0o600 });
    expect(await readFile(target, "utf8")).toBe("text\n");
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["f"]);
  });

  test("the new file is owned by this user, whoever owned the old one; `owner` hands it to that owner", async () => {
    const dir = await tempDir("keyup-replace-");
    const target = join(dir, "f");
    await writeFile(target, "planted\n", { mode: 0o644 });
    await chown(target, NOBODY, NOBODY);
    await replaceFile(target, "mine\n", { mode: 0o600 });
    expect((await stat(target)).uid).toBe(me());
    await replaceFile(target, "theirs\n", { mode: 0o640, owner: { uid: NOBODY, gid: NOBODY } });
    const info = await stat(target);
    expect([info.uid, info.gid, info.mode & 0o777]).toEqual([NOBODY, NOBODY, 0o640]);
    // An owner that is this user: nothing to hand over (the group stays this process's too).
    await replaceFile(target, "mine again\n", { mode: 0o600, owner: { uid: me(), gid: NOBODY } });
    expect([(await stat(target)).uid, (await stat(target)).gid]).toEqual([me(), process.getgid?.()]);
  });

  test("a symlink at the name is replaced, not written through", async () => {
    const dir = await tempDir("keyup-replace-");
    await writeFile(join(dir, "elsewhere"), "untouched\n");
    await symlink(join(dir, "elsewhere"), join(dir, "f"));
    await replaceFile(join(dir, "f"), "new\n", { mode: 0o600 });
    expect((await lstat(join(dir, "f"))).isFile()).toBe(true);
    expect(await readFile(join(dir, "elsewhere"), "utf8")).toBe("untouched\n");
  });

  test("a rename that fails (a folder at the name) throws its error and removes the temporary file", async () => {
    const dir = await tempDir("keyup-replace-");
    await mkdir(join(dir, "f", "inside"), { recursive: true });
    const error = await failure(replaceFile(join(dir, "f"), "secret\n", { mode: 0o600 }));
    expect(error?.code).toBe("EISDIR");
    expect(await readdir(dir)).toEqual(["f"]);
    expect(await readdir(join(dir, "f"))).toEqual(["inside"]);
  });

  test("a missing folder: the open fails with ENOENT and nothing is created", async () => {
    const dir = await tempDir("keyup-replace-");
    const error = await failure(replaceFile(join(dir, "missing", "f"), "x", { mode: 0o600 }));
    expect(error?.code).toBe("ENOENT");
    expect(await readdir(dir)).toEqual([]);
  });

  test("readers during a run of replacements see the old bytes or the new, never a mix or an empty file", async () => {
    const dir = await tempDir("keyup-replace-");
    const target = join(dir, "f");
    const versions = ["a", "b", "c", "d"].map((c) => c.repeat(64 * 1024));
    await writeFile(target, versions[0] as string);
    let done = false;
    const seen = new Set<string>();
    const reader = (async () => {
      while (!done) seen.add(await readFile(target, "utf8"));
    })();
    for (let i = 1; i < 20; i++) await replaceFile(target, versions[i % versions.length] as string, { mode: 0o600 });
    done = true;
    await reader;
    for (const text of seen) expect(versions).toContain(text);
    expect(await readdir(dir)).toEqual(["f"]);
  });
});

describe("removeStaleTemps: leftovers of a keyup that died while writing", () => {
  test("removes this user's <target>.keyup-tmp-* and <target>.<pid>.tmp older than a minute; keeps everything else", async () => {
    const dir = await tempDir("keyup-stale-");
    const base = "cred";
    const removed = [`${base}.keyup-tmp-0123abcd`, `${base}.4242.tmp`, `${base}.7.tmp`, `${base}.keyup-tmp-link`];
    const kept = [
      base,
      `${base}.keyup-tmp-mine-but-foreign`,
      `${base}-old.4242.tmp`, // not <target>.<pid>.tmp
      `${base}.4242.tmp.bak`,
      `${base}x4242xtmp`,
      `${base}.42a.tmp`,
      `${base}.a.tmp`,
      `${base}..tmp`,
      `${base}.4242.tm`,
      "abcd.keyup-tmp-0123abcd", // another file's, even with a name as long as the target's
      `other-${base}.keyup-tmp-0123abcd`,
      `${base}.keyup-tmp`, // the mark without the dash
      `${base}.keyup-backup`,
    ];
    for (const name of [...removed, ...kept]) {
      if (name.endsWith("link")) await symlink(join(dir, base), join(dir, name));
      else await writeFile(join(dir, name), "secret\n", { mode: 0o600 });
    }
    await chown(join(dir, `${base}.keyup-tmp-mine-but-foreign`), NOBODY, NOBODY);
    await mkdir(join(dir, `${base}.keyup-tmp-folder`));
    const later = Date.now() + 5 * 60_000;
    await removeStaleTemps(join(dir, base), later);
    expect((await readdir(dir)).sort()).toEqual([...kept, `${base}.keyup-tmp-folder`].sort());
    expect(await readFile(join(dir, base), "utf8")).toBe("secret\n");
  });

  test("a leftover is removed from exactly one minute old on, not before; the clock defaults to now", async () => {
    const dir = await tempDir("keyup-stale-");
    const temp = join(dir, "cred.keyup-tmp-00ff");
    await writeFile(temp, "secret\n");
    const { mtimeMs } = await lstat(temp);
    await removeStaleTemps(join(dir, "cred"), mtimeMs + 59_999);
    expect(await readdir(dir)).toEqual(["cred.keyup-tmp-00ff"]);
    await removeStaleTemps(join(dir, "cred"));
    expect(await readdir(dir)).toEqual(["cred.keyup-tmp-00ff"]);
    await removeStaleTemps(join(dir, "cred"), mtimeMs + 60_000);
    expect(await readdir(dir)).toEqual([]);

    await writeFile(temp, "secret\n");
    const old = new Date(Date.now() - 2 * 60_000);
    await utimes(temp, old, old);
    await removeStaleTemps(join(dir, "cred"));
    expect(await readdir(dir)).toEqual([]);
  });

  test("replaceFile cleans before writing; a missing folder is no error", async () => {
    const dir = await tempDir("keyup-stale-");
    const old = new Date(Date.now() - 2 * 60_000);
    await writeFile(join(dir, "cred.keyup-tmp-dead"), "secret\n");
    await utimes(join(dir, "cred.keyup-tmp-dead"), old, old);
    await replaceFile(join(dir, "cred"), "x\n", { mode: 0o600 });
    expect(await readdir(dir)).toEqual(["cred"]);
    await expect(removeStaleTemps(join(dir, "missing", "cred"))).resolves.toBeUndefined();
  });

  test("replaceFile looks for a target's leftovers at its first write, then at most every half minute: a leftover found stale later goes at the first write half a minute on", async () => {
    const dir = await tempDir("keyup-stale-");
    const target = join(dir, "cred");
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await replaceFile(target, "1\n", { mode: 0o600 });
      const old = new Date(Date.now() - 2 * 60_000);
      await writeFile(join(dir, "cred.keyup-tmp-dead"), "secret\n");
      await utimes(join(dir, "cred.keyup-tmp-dead"), old, old);
      // A journal is saved before every step: the writes of the next half minute do not read the folder again.
      vi.setSystemTime(Date.now() + 29_000);
      await replaceFile(target, "2\n", { mode: 0o600 });
      expect((await readdir(dir)).sort()).toEqual(["cred", "cred.keyup-tmp-dead"]);
      vi.setSystemTime(Date.now() + 1_000);
      await replaceFile(target, "3\n", { mode: 0o600 });
      expect(await readdir(dir)).toEqual(["cred"]);
      expect(await readFile(target, "utf8")).toBe("3\n");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("replaceFile's sweep of leftovers: at a target's first write in this process, then at most every half minute", () => {
  // The clock is faked (Date only: the file system is real) to stand at the edges of the half minute;
  // the leftovers' times are set a few minutes before that clock, so each is stale whenever it is looked for.
  test("a write within 30 s of the last look leaves a new leftover; the first at 30 s, or after the clock went back, removes it", async () => {
    const dir = await tempDir("keyup-sweep-");
    const target = join(dir, "cred");
    const start = Date.now();
    const leftover = async (name: string) => {
      const old = new Date(Date.now() - 3 * 60_000);
      await writeFile(join(dir, `cred.keyup-tmp-${name}`), "secret\n", { mode: 0o600 });
      await utimes(join(dir, `cred.keyup-tmp-${name}`), old, old);
    };
    const write = async (at: number) => {
      vi.setSystemTime(at);
      await replaceFile(target, `${at}\n`, { mode: 0o600 });
      return (await readdir(dir)).sort();
    };
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      await leftover("first");
      expect(await write(start)).toEqual(["cred"]);
      // Looked at `start`: neither a write in the same millisecond nor one 29.999 s later looks again.
      await leftover("a");
      expect(await write(start)).toEqual(["cred", "cred.keyup-tmp-a"]);
      expect(await write(start + 29_999)).toEqual(["cred", "cred.keyup-tmp-a"]);
      // Half a minute after the last look: looks, and the look counts from now.
      expect(await write(start + 30_000)).toEqual(["cred"]);
      await leftover("b");
      expect(await write(start + 59_999)).toEqual(["cred", "cred.keyup-tmp-b"]);
      // A clock set back (before the last look) looks again rather than wait for it.
      expect(await write(start + 29_999)).toEqual(["cred"]);
      // Each target keeps its own time: another file's first write looks for its own leftovers.
      await writeFile(join(dir, "other.keyup-tmp-c"), "secret\n", { mode: 0o600 });
      const old = new Date(start - 3 * 60_000);
      await utimes(join(dir, "other.keyup-tmp-c"), old, old);
      vi.setSystemTime(start + 29_999);
      await replaceFile(join(dir, "other"), "x\n", { mode: 0o600 });
      expect((await readdir(dir)).sort()).toEqual(["cred", "other"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

test("syncFolder is best effort: a folder that cannot be opened is no error", async () => {
  const dir = await tempDir("keyup-sync-");
  await expect(syncFolder(dir)).resolves.toBeUndefined();
  await expect(syncFolder(join(dir, "missing"))).resolves.toBeUndefined();
});
