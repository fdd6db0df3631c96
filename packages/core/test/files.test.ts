import { chmod, chown, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { decodeUtf8, discardBackupFile, fingerprint, isMissing, readBytes, reasonOf, removeFile, resolveTarget, writeAtomic } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

// The file helpers of the kit (files.ts) on real files: exact bytes, modes and owners after a write,
// symlinks followed to the real file, and errors by kind with the OS's reason.

const NOBODY = 65534;
type Failure = Error & { code?: string };
const failure = (promise: Promise<unknown>): Promise<Failure | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Failure,
  );

test("isMissing: ENOENT and ENOTDIR only", () => {
  expect([isMissing({ code: "ENOENT" }), isMissing({ code: "ENOTDIR" })]).toEqual([true, true]);
  expect([isMissing({ code: "EACCES" }), isMissing({}), isMissing(undefined), isMissing(null)]).toEqual([false, false, false, false]);
});

test("fingerprint: sha256 of the bytes, hex", () => {
  expect(fingerprint(Buffer.from(""))).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  expect(fingerprint(Buffer.from("abc"))).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("reasonOf: the OS's reason for each code keyup names, 'failed' for the others, nothing without a code", () => {
  expect(["EACCES", "EPERM", "EROFS", "ENOSPC", "EISDIR", "EBUSY", "EMFILE"].map((code) => reasonOf({ code }))).toEqual([
    ": permission denied (EACCES)",
    ": operation not permitted (EPERM)",
    ": read-only file system (EROFS)",
    ": no space left (ENOSPC)",
    ": it is a folder (EISDIR)",
    ": busy (EBUSY)",
    ": failed (EMFILE)",
  ]);
  expect([reasonOf({ code: 5 }), reasonOf({}), reasonOf(undefined), reasonOf(null)]).toEqual(["", "", "", ""]);
});

test("decodeUtf8: keeps a BOM, refuses a byte that is not UTF-8 with EINVALID naming the file", () => {
  expect(decodeUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), "/x")).toBe("\uFEFFa");
  expect(decodeUtf8(Buffer.from("café"), "/x")).toBe("café");
  expect(decodeUtf8(Buffer.from("plain"), "/x")).toBe("plain");
  expect(() => decodeUtf8(Buffer.from([0x61, 0xff]), "/srv/f")).toThrow(
    expect.objectContaining({ code: "EINVALID", message: "/srv/f is not valid UTF-8 text" }),
  );
  // The decoder's own error stays as the cause.
  expect(() => decodeUtf8(Buffer.from([0x61, 0xff]), "/srv/f")).toThrow(
    expect.objectContaining({ cause: expect.objectContaining({ code: "ERR_ENCODING_INVALID_ENCODED_DATA" }) }),
  );
});

describe("readBytes", () => {
  test("the exact bytes; undefined for a missing file or a path through a file", async () => {
    const dir = await tempDir("keyup-files-");
    const bytes = Buffer.from([0, 0xff, 0x0d, 0x0a]);
    await writeFile(join(dir, "f"), bytes);
    expect(await readBytes(join(dir, "f"), "the file")).toEqual(bytes);
    expect(await readBytes(join(dir, "missing"), "the file")).toBeUndefined();
    expect(await readBytes(join(dir, "f", "below"), "the file")).toBeUndefined();
  });

  test("any other failure is EIO saying what and why", async () => {
    const dir = await tempDir("keyup-files-");
    const error = await failure(readBytes(dir, "the credentials file"));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot read the credentials file ${dir}: it is a folder (EISDIR)`);
    expect(error?.cause).toMatchObject({ code: "EISDIR" });
  });
});

describe("writeAtomic", () => {
  test("a new file gets 0600; an existing file keeps its mode (special bits too); `mode` sets it", async () => {
    const dir = await tempDir("keyup-files-");
    const path = join(dir, "f");
    await writeAtomic(path, "one\n", "the file");
    expect((await stat(path)).mode & 0o7777).toBe(0o600);
    await chmod(path, 0o2640);
    await writeAtomic(path, "two\n", "the file");
    expect((await stat(path)).mode & 0o7777).toBe(0o2640);
    await writeAtomic(path, "three\n", "the file", { mode: 0o604 });
    expect((await stat(path)).mode & 0o7777).toBe(0o604);
    expect(await readFile(path, "utf8")).toBe("three\n");
    expect(await readdir(dir)).toEqual(["f"]);
  });

  test("a missing folder: ENOTFOUND saying so; with createFolder it is created 0700, parents too", async () => {
    const dir = await tempDir("keyup-files-");
    const path = join(dir, "a", "b", "f");
    const error = await failure(writeAtomic(path, "x", "the backup"));
    expect(error?.code).toBe("ENOTFOUND");
    expect(error?.message).toBe(`cannot write the backup ${path}: its folder does not exist`);
    expect(error?.cause).toMatchObject({ code: "ENOENT" });
    expect(await readdir(dir)).toEqual([]);
    await writeAtomic(path, "x", "the backup", { createFolder: true });
    expect(await readFile(path, "utf8")).toBe("x");
    for (const folder of [join(dir, "a"), join(dir, "a", "b")]) expect((await stat(folder)).mode & 0o777).toBe(0o700);
  });

  test("storeFile: an existing file keeps its owner; otherwise the file is this user's, whoever owned it", async () => {
    const dir = await tempDir("keyup-files-");
    const path = join(dir, "f");
    await writeFile(path, "theirs\n", { mode: 0o640 });
    await chown(path, NOBODY, NOBODY);
    await writeAtomic(path, "edited\n", "the file", { storeFile: true });
    expect([(await stat(path)).uid, (await stat(path)).gid]).toEqual([NOBODY, NOBODY]);
    await writeAtomic(path, "backup\n", "the backup");
    expect((await stat(path)).uid).toBe(process.getuid?.());
    // A new store file is this user's too.
    await writeAtomic(join(dir, "new"), "x", "the file", { storeFile: true });
    expect((await stat(join(dir, "new"))).uid).toBe(process.getuid?.());
  });

  test("any other failure is EIO with what, where and why, and leaves nothing beside the file", async () => {
    const dir = await tempDir("keyup-files-");
    await mkdir(join(dir, "f", "inside"), { recursive: true });
    const error = await failure(writeAtomic(join(dir, "f"), "secret", "the journal"));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot write the journal ${join(dir, "f")}: it is a folder (EISDIR)`);
    expect(error?.cause).toMatchObject({ code: "EISDIR" });
    expect(await readdir(dir)).toEqual(["f"]);
  });
});

describe("removeFile", () => {
  test("removes the file; a file already gone is fine; anything else is EIO with the reason", async () => {
    const dir = await tempDir("keyup-files-");
    await writeFile(join(dir, "f"), "x");
    await removeFile(join(dir, "f"), "the backup");
    expect(await readdir(dir)).toEqual([]);
    await expect(removeFile(join(dir, "f"), "the backup")).resolves.toBeUndefined();
    await mkdir(join(dir, "d"));
    const error = await failure(removeFile(join(dir, "d"), "the backup"));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot remove the backup ${join(dir, "d")}: it is a folder (EISDIR)`);
    expect(error?.cause).toMatchObject({ code: "EISDIR" });
  });
});

describe("discardBackupFile", () => {
  test("deletes the backup only while it holds the bytes the handle names", async () => {
    const dir = await tempDir("keyup-files-");
    const path = join(dir, "b");
    await writeFile(path, "saved\n", { mode: 0o600 });
    const id = fingerprint(Buffer.from("saved\n"));
    for (const handle of [{ id: fingerprint(Buffer.from("other\n")) }, { id: "absent" }, { id: id.slice(7) }, { id: 42 }, undefined, null]) {
      await discardBackupFile(path, handle as never);
      expect(await readFile(path, "utf8")).toBe("saved\n");
    }
    await discardBackupFile(path, { id });
    expect(await readdir(dir)).toEqual([]);
    await expect(discardBackupFile(path, { id })).resolves.toBeUndefined();
  });

  test("a backup that cannot be read (a folder at its name): EIO naming the backup, the folder left", async () => {
    const dir = await tempDir("keyup-files-");
    const path = join(dir, "b");
    await mkdir(join(path, "inside"), { recursive: true });
    const error = await failure(discardBackupFile(path, { id: fingerprint(Buffer.from("saved\n")) }));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot read the backup ${path}: it is a folder (EISDIR)`);
    expect(await readdir(path)).toEqual(["inside"]);
  });
});

describe("resolveTarget", () => {
  test("a plain path is made absolute and real; symlinks are followed to the file, relative ones from their folder", async () => {
    const dir = await tempDir("keyup-files-");
    await writeFile(join(dir, "real"), "x");
    await mkdir(join(dir, "sub"));
    await symlink("../real", join(dir, "sub", "rel"));
    await symlink(join(dir, "sub", "rel"), join(dir, "abs"));
    expect(await resolveTarget(join(dir, "real"))).toBe(join(dir, "real"));
    expect(await resolveTarget(join(dir, "abs"))).toBe(join(dir, "real"));
    expect(await resolveTarget(relative(process.cwd(), join(dir, "sub", "rel")))).toBe(join(dir, "real"));
  });

  test("a dangling last link resolves to where it points, through further links; a missing file to its real folder", async () => {
    const dir = await tempDir("keyup-files-");
    await mkdir(join(dir, "folder"));
    await symlink(join(dir, "folder"), join(dir, "folder-link"));
    await symlink("folder-link/not-yet", join(dir, "first"));
    await symlink("first", join(dir, "second"));
    expect(await resolveTarget(join(dir, "second"))).toBe(join(dir, "folder", "not-yet"));
    expect(await resolveTarget(join(dir, "folder-link", "missing"))).toBe(join(dir, "folder", "missing"));
    expect(await resolveTarget(join(dir, "no-folder", "missing"))).toBe(join(dir, "no-folder", "missing"));
  });

  test("a symlink loop is an error, not a hang", async () => {
    const dir = await tempDir("keyup-files-");
    await symlink(join(dir, "b"), join(dir, "a"));
    await symlink(join(dir, "a"), join(dir, "b"));
    expect((await failure(resolveTarget(join(dir, "a"))))?.code).toBe("ELOOP");
  });
});
