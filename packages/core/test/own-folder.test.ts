import { execFileSync } from "node:child_process";
import { chmod, chown, lstat, mkdir, open as openFd, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { appendOwnFile, ownFolder } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

// ownFolder and appendOwnFile on real folders and files: what keyup refuses to use as its own (a
// symlink, another user's, one others can write to) and how it leaves what it creates. The suite runs
// as root, so it can hand folders and files to `nobody`, the other user.

const NOBODY = 65534;
type Failure = Error & { code?: string; path?: string };
const failure = (promise: Promise<unknown>): Promise<Failure | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Failure,
  );
const refusal = (path: string, why: string) =>
  `${path} ${why}; keyup refuses it, since another user could read or redirect what keyup writes there. Remove it or fix its owner`;

describe("ownFolder", () => {
  test("creates the folder 0700, parents too, and accepts it again", async () => {
    const dir = await tempDir("keyup-own-");
    const folder = join(dir, "a", "b");
    await ownFolder(folder);
    for (const f of [join(dir, "a"), folder]) expect((await stat(f)).mode & 0o777).toBe(0o700);
    await ownFolder(folder);
    expect(await readdir(folder)).toEqual([]);
  });

  test("an existing folder of this user, 0755, is fine (only writes by others are refused)", async () => {
    const dir = await tempDir("keyup-own-");
    await mkdir(join(dir, "f"), { mode: 0o755 });
    await chmod(join(dir, "f"), 0o755);
    await expect(ownFolder(join(dir, "f"))).resolves.toBeUndefined();
  });

  test("a symlink to a folder, or a dangling one: EUNSAFEPATH naming it, nothing created where it points", async () => {
    const dir = await tempDir("keyup-own-");
    await mkdir(join(dir, "real"), { mode: 0o700 });
    await symlink(join(dir, "real"), join(dir, "link"));
    await symlink(join(dir, "nowhere"), join(dir, "dangling"));
    for (const name of ["link", "dangling"]) {
      const path = join(dir, name);
      const error = await failure(ownFolder(path));
      expect(error).toMatchObject({ name: "UnsafePathError", code: "EUNSAFEPATH", path });
      expect(error?.message).toBe(refusal(path, "is a symlink, not a folder of keyup's own"));
    }
    expect((await readdir(dir)).sort()).toEqual(["dangling", "link", "real"]);
  });

  test("a file at the name: EUNSAFEPATH, not a folder", async () => {
    const dir = await tempDir("keyup-own-");
    await writeFile(join(dir, "f"), "");
    const error = await failure(ownFolder(join(dir, "f")));
    expect(error?.code).toBe("EUNSAFEPATH");
    expect(error?.message).toBe(refusal(join(dir, "f"), "is not a folder"));
  });

  test("another user's folder: EUNSAFEPATH with both uids", async () => {
    const dir = await tempDir("keyup-own-");
    await mkdir(join(dir, "f"), { mode: 0o700 });
    await chown(join(dir, "f"), NOBODY, NOBODY);
    const error = await failure(ownFolder(join(dir, "f")));
    expect(error?.code).toBe("EUNSAFEPATH");
    expect(error?.message).toBe(refusal(join(dir, "f"), `belongs to another user (uid ${NOBODY}, not ${process.getuid?.()})`));
  });

  test("writable by the group or by others: EUNSAFEPATH with the mode", async () => {
    const dir = await tempDir("keyup-own-");
    for (const mode of [0o720, 0o702, 0o1777]) {
      const folder = join(dir, mode.toString(8));
      await mkdir(folder);
      await chmod(folder, mode);
      const error = await failure(ownFolder(folder));
      expect(error?.code).toBe("EUNSAFEPATH");
      expect(error?.message).toBe(refusal(folder, `can be written by other users (mode ${(mode & 0o777).toString(8)})`));
    }
  });

  test("a folder that cannot be made (a file in the way of a parent): the mkdir error stands", async () => {
    const dir = await tempDir("keyup-own-");
    await writeFile(join(dir, "file"), "");
    const error = await failure(ownFolder(join(dir, "file", "sub")));
    expect(error?.code).toBe("ENOTDIR");
    expect(error?.name).not.toBe("UnsafePathError");
  });
});

describe("appendOwnFile", () => {
  test("creates the file 0600 and appends to it", async () => {
    const dir = await tempDir("keyup-own-");
    const path = join(dir, "keyup.log");
    await appendOwnFile(path, "one\n");
    await appendOwnFile(path, "two\n");
    expect(await readFile(path, "utf8")).toBe("one\ntwo\n");
    const info = await stat(path);
    expect([info.mode & 0o777, info.uid]).toEqual([0o600, process.getuid?.()]);
  });

  test("an existing file of this user readable by others is set to 0600, and keeps what it held", async () => {
    const dir = await tempDir("keyup-own-");
    const path = join(dir, "keyup.log");
    await writeFile(path, "before\n", { mode: 0o644 });
    await chmod(path, 0o644);
    await appendOwnFile(path, "after\n");
    expect(await readFile(path, "utf8")).toBe("before\nafter\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("a symlink at the name: EUNSAFEPATH, and the file it points at gets nothing", async () => {
    const dir = await tempDir("keyup-own-");
    await writeFile(join(dir, "target"), "");
    await symlink(join(dir, "target"), join(dir, "keyup.log"));
    const error = await failure(appendOwnFile(join(dir, "keyup.log"), "secret-ish\n"));
    expect(error).toMatchObject({ code: "EUNSAFEPATH", path: join(dir, "keyup.log") });
    expect(error?.message).toBe(refusal(join(dir, "keyup.log"), "is a symlink, not a file of keyup's own"));
    expect(await readFile(join(dir, "target"), "utf8")).toBe("");
  });

  test("another user's file: EUNSAFEPATH with both uids, nothing written, its mode kept", async () => {
    const dir = await tempDir("keyup-own-");
    const path = join(dir, "keyup.log");
    await writeFile(path, "theirs\n", { mode: 0o644 });
    await chown(path, NOBODY, NOBODY);
    const error = await failure(appendOwnFile(path, "mine\n"));
    expect(error?.code).toBe("EUNSAFEPATH");
    expect(error?.message).toBe(refusal(path, `belongs to another user (uid ${NOBODY}, not ${process.getuid?.()})`));
    expect(await readFile(path, "utf8")).toBe("theirs\n");
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  test("a named pipe at the name: EUNSAFEPATH, not a regular file", async () => {
    const dir = await tempDir("keyup-own-");
    const path = join(dir, "keyup.log");
    execFileSync("mkfifo", [path]);
    // A reader on the pipe, so that opening it for writing does not wait.
    const reader = await openFd(path, "r+");
    try {
      const error = await failure(appendOwnFile(path, "x\n"));
      expect(error?.code).toBe("EUNSAFEPATH");
      expect(error?.message).toBe(refusal(path, "is not a regular file"));
      expect((await lstat(path)).isFIFO()).toBe(true);
    } finally {
      await reader.close();
    }
  });

  test("a folder at the name: the open's own error (EISDIR)", async () => {
    const dir = await tempDir("keyup-own-");
    await mkdir(join(dir, "keyup.log"));
    expect((await failure(appendOwnFile(join(dir, "keyup.log"), "x\n")))?.code).toBe("EISDIR");
  });
});
