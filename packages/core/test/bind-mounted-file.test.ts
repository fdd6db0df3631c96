import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { discardBackupFile, fingerprint, writeAtomic } from "../src/files/files.js";
import { replaceFile } from "../src/files/replace-file.js";
import { twoLineStore } from "./two-line-store.js";

// Issue 15, "messages that mislead": a credentials file bind-mounted on its own (a container's
// `-v ~/.aws/credentials:/root/.aws/credentials`) cannot be replaced by rename (EBUSY), and keyup
// failed with no hint. Now it writes the file in place, under the lock, and reads it back.
//
// The real thing is a bind mount, which needs root (CAP_SYS_ADMIN): the suite runs as root, so it
// mounts. Where mount is refused (a CI without that capability), the same cases run with EBUSY
// injected at the rename of that one path (and EROFS at its in-place open), so they never skip.
const seam = vi.hoisted(() => ({
  busy: new Set<string>(),
  crossDevice: new Set<string>(),
  immutable: new Set<string>(),
  readOnly: new Set<string>(),
  dropsWrites: new Set<string>(),
}));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const fail = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (seam.busy.has(String(to))) throw fail("EBUSY", String(to));
      // Other systems say EXDEV for a rename onto a file mounted from another file system (Linux says
      // EBUSY, so nothing here produces it): injected.
      if (seam.crossDevice.has(String(to))) throw fail("EXDEV", String(to));
      if (seam.immutable.has(String(to))) throw fail("EPERM", String(to));
      return real.rename(from, to);
    },
    // A mount point cannot be unlinked either.
    unlink: async (path: string) => {
      if (seam.busy.has(String(path))) throw fail("EBUSY", String(path));
      return real.unlink(path);
    },
    open: async (path: string, flags?: number | string, mode?: number) => {
      if (seam.readOnly.has(String(path)) && typeof flags === "number" && (flags & constants.O_WRONLY) !== 0) throw fail("EROFS", String(path));
      const handle = await real.open(path, flags, mode);
      // A medium that accepts a write and keeps only part of it (nothing real does this on demand).
      if (seam.dropsWrites.has(String(path))) {
        const writeFile = handle.writeFile.bind(handle);
        return Object.assign(handle, { writeFile: (data: Buffer) => writeFile(data.subarray(0, 5)) });
      }
      return handle;
    },
  };
});

const OLD = { accessKeyId: "AKIAOLDOLDOLDOLD0001", secretAccessKey: "old-secret-0000000000000000000000000000001" };
const NEW = { accessKeyId: "AKIANEWNEWNEWNEW0002", secretAccessKey: "new-secret-0000000000000000000000000000002" };
// Bytes that an inexact write would change: CRLF, no final newline, a BOM-free UTF-8 tail.
const REST = "# kept, byte for byte\r\nregion = eu-west-1 \r\nnote = café";

const mounts: string[] = [];
afterEach(() => {
  for (const target of mounts.splice(0)) execFileSync("umount", [target]);
  seam.busy.clear();
  seam.crossDevice.clear();
  seam.immutable.clear();
  seam.readOnly.clear();
  seam.dropsWrites.clear();
});

/** A file bind-mounted on its own from `host` at `inside`: really, or through the seam. */
async function bindMounted(content: string): Promise<{ host: string; inside: string; real: boolean }> {
  const dir = await tempDir("keyup-bind-");
  const host = join(dir, "host-credentials");
  const inside = join(dir, "container", "credentials");
  await writeFile(host, content, { mode: 0o640 });
  await mkdir(join(dir, "container"));
  await writeFile(inside, "", { mode: 0o600 });
  try {
    execFileSync("mount", ["--bind", host, inside], { stdio: "ignore" });
    mounts.push(inside);
    return { host, inside, real: true };
  } catch {
    await rename(host, inside);
    seam.busy.add(inside);
    return { host: inside, inside, real: false };
  }
}

function readOnly(mount: { inside: string; real: boolean }): void {
  if (mount.real) execFileSync("mount", ["-o", "remount,ro,bind", mount.inside]);
  else seam.readOnly.add(mount.inside);
}

describe("a bind-mounted credentials file (EBUSY on rename)", () => {
  test("rename onto it really fails with EBUSY (what keyup meets)", async () => {
    const mount = await bindMounted("x\n");
    const temp = join(mount.inside, "..", "temp");
    await writeFile(temp, "y\n");
    await expect(rename(temp, mount.inside)).rejects.toMatchObject({ code: "EBUSY" });
  });

  test("write is done in place under the lock, byte-exact, read back; restore puts back every byte; nothing left beside it", async () => {
    const before = `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n${REST}`;
    const mount = await bindMounted(before);
    const inode = (await stat(mount.host)).ino;
    const store = twoLineStore(mount.inside);
    const lock = await store.lock();
    try {
      const handle = await store.backup();
      await store.write(NEW);
      const after = `${NEW.accessKeyId}\n${NEW.secretAccessKey}\n${REST}`;
      expect(await readFile(mount.inside, "utf8")).toBe(after);
      expect(await readFile(mount.host, "utf8"), "the host's file, through the mount").toBe(after);
      expect((await stat(mount.host)).ino, "the same file, not a replacement").toBe(inode);
      expect((await stat(mount.inside)).mode & 0o777, "mode kept").toBe(0o640);
      expect(await store.read()).toEqual(NEW);
      await store.restore(handle);
      expect(await readFile(mount.host, "utf8")).toBe(before);
      await store.discard(handle);
    } finally {
      await lock.release();
    }
    const left = (await readdir(join(mount.inside, ".."))).filter((name) => name !== "credentials");
    expect(left, "no temporary file, backup or lock left").toEqual([]);
  });

  test("mounted read-only too: the write fails with what to do, and the file is untouched", async () => {
    const before = `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`;
    const mount = await bindMounted(before);
    readOnly(mount);
    const error = await twoLineStore(mount.inside)
      .write(NEW)
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(
      `cannot write the file: ${mount.inside} cannot be replaced (EBUSY on rename: it is mounted on its own, as a container's bind mount of one file is), nor written in place (EROFS): mount its folder instead of the file, or rotate it where it is not mounted`,
    );
    // The causes, for whoever debugs it: the in-place write's error, and under it the OS's.
    expect(error?.cause).toMatchObject({ code: "EINPLACE", cause: { code: "EROFS" } });
    expect(await readFile(mount.host, "utf8")).toBe(before);
    expect((await readdir(join(mount.inside, ".."))).filter((name) => name !== "credentials")).toEqual([]);
  });

  test("an in-place write that does not read back the same bytes fails (EIO, what to do), and restore can still put the backup back", async () => {
    const before = `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`;
    const mount = await bindMounted(before);
    const store = twoLineStore(mount.inside);
    const handle = await store.backup();
    seam.dropsWrites.add(mount.inside);
    const error = await store.write(NEW).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toContain("and writing it in place did not read back the same bytes: mount its folder instead of the file");
    // Nothing failed in the write itself: the cause under the in-place error is the rename's EBUSY.
    expect(error?.cause).toMatchObject({ code: "EINPLACE", cause: { code: "EBUSY" } });
    seam.dropsWrites.clear();
    await store.restore(handle);
    expect(await readFile(mount.host, "utf8")).toBe(before);
    await store.discard(handle);
  });
});

describe("the kit's parts on a file mounted on its own", () => {
  test("a rename refused for another reason (an immutable file: EPERM) is not tried in place: EIO with the OS's reason, the file untouched", async () => {
    const dir = await tempDir("keyup-bind-");
    const path = join(dir, "credentials");
    const before = `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`;
    await writeFile(path, before, { mode: 0o600 });
    // The real thing is chattr +i (root with CAP_LINUX_IMMUTABLE, on a file system that has it);
    // elsewhere the same EPERM is injected at the rename of that one path.
    let real = true;
    try {
      execFileSync("chattr", ["+i", path], { stdio: "ignore" });
    } catch {
      real = false;
      seam.immutable.add(path);
    }
    try {
      const error = await twoLineStore(path)
        .write(NEW)
        .then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string },
        );
      expect(error?.code).toBe("EIO");
      expect(error?.message).toBe(`cannot write the file ${path}: operation not permitted (EPERM)`);
      expect(error?.cause).toMatchObject({ code: "EPERM" });
    } finally {
      if (real) execFileSync("chattr", ["-i", path]);
    }
    expect(await readFile(path, "utf8")).toBe(before);
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("EXDEV on rename (how other systems refuse it) is met as EBUSY is: the store's file written in place; any other file, EIO saying what to do", async () => {
    const dir = await tempDir("keyup-bind-");
    const path = join(dir, "credentials");
    await writeFile(path, `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n${REST}`, { mode: 0o640 });
    seam.crossDevice.add(path);
    await twoLineStore(path).write(NEW);
    expect(await readFile(path, "utf8")).toBe(`${NEW.accessKeyId}\n${NEW.secretAccessKey}\n${REST}`);
    expect(await readdir(dir)).toEqual(["credentials"]);
    const error = await writeAtomic(path, "backup\n", "the backup").then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(
      `cannot write the backup ${path}: failed (EXDEV); it is mounted on its own (a container's bind mount of one file): mount its folder instead, or rotate on the host`,
    );
    expect(await readFile(path, "utf8")).toBe(`${NEW.accessKeyId}\n${NEW.secretAccessKey}\n${REST}`);
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("a backup mounted on its own cannot be discarded (EBUSY on unlink): EIO naming the backup and why, the file kept", async () => {
    const mount = await bindMounted("saved\n");
    const error = await discardBackupFile(mount.inside, { id: fingerprint(Buffer.from("saved\n")) }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot remove the backup ${mount.inside}: busy (EBUSY)`);
    expect(await readFile(mount.host, "utf8")).toBe("saved\n");
  });

  test("restore of an 'absent' backup when the file is mounted on its own: EIO naming the file (`what`) and why, the file kept", async () => {
    const mount = await bindMounted(`${NEW.accessKeyId}\n${NEW.secretAccessKey}\n`);
    const store = twoLineStore(mount.inside, { missingFile: "create", what: "the key file" });
    const error = await store.restore({ id: "absent" }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot remove the key file ${mount.inside}: busy (EBUSY)`);
    expect(await readFile(mount.host, "utf8")).toBe(`${NEW.accessKeyId}\n${NEW.secretAccessKey}\n`);
  });

  test("replaceFile in place: a shorter content leaves exactly its bytes, none of the old tail", async () => {
    const mount = await bindMounted(`${OLD.accessKeyId}\n${OLD.secretAccessKey}\n${REST}`);
    await replaceFile(mount.inside, "short\n", { mode: 0o640, inPlaceWhenBusy: true });
    expect(await readFile(mount.host, "utf8")).toBe("short\n");
    expect((await readdir(join(mount.inside, ".."))).filter((name) => name !== "credentials")).toEqual([]);
  });

  test("not the store's own file (a backup or journal path mounted on its own): EBUSY, untouched; writeAtomic says what to do", async () => {
    const before = `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`;
    const mount = await bindMounted(before);
    const busy = await replaceFile(mount.inside, "new\n", { mode: 0o600 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(busy?.code).toBe("EBUSY");
    const error = await writeAtomic(mount.inside, "new\n", "the backup").then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(
      `cannot write the backup ${mount.inside}: busy (EBUSY); it is mounted on its own (a container's bind mount of one file): mount its folder instead, or rotate on the host`,
    );
    expect(await readFile(mount.host, "utf8")).toBe(before);
    expect((await readdir(join(mount.inside, ".."))).filter((name) => name !== "credentials")).toEqual([]);
  });
});
