import { chmod, link, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { defineFileStore, fingerprint } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { twoLineStore } from "./two-line-store.js";

// What defineFileStore adds to format code, one behaviour at a time, on real files in one process: the
// conformance suite (define-file-store.test.ts) proves the kit makes a conforming store, but half its
// time goes to child processes; these cases are the fast ones mutation testing runs per mutant.

const A = { accessKeyId: "AKIAKITAAAAAAAAAAAA1", secretAccessKey: "kit-secret-a-000000000000000000000000001" };
const B = { accessKeyId: "AKIAKITBBBBBBBBBBBB2", secretAccessKey: "kit-secret-b-000000000000000000000000002" };
const C = { accessKeyId: "AKIAKITCCCCCCCCCCCC3", secretAccessKey: "kit-secret-c-000000000000000000000000003" };
const text = (key: { accessKeyId: string; secretAccessKey: string }, rest = "# kept\n") => `${key.accessKeyId}\n${key.secretAccessKey}\n${rest}`;

type Failure = Error & { code?: string };
const failure = (promise: Promise<unknown>): Promise<Failure | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Failure,
  );

async function fileWith(content: string | undefined, mode = 0o600): Promise<{ dir: string; path: string }> {
  const dir = await tempDir("keyup-store-");
  const path = join(dir, "credentials");
  if (content !== undefined) {
    await writeFile(path, content, { mode });
    await chmod(path, mode);
  }
  return { dir, path };
}

describe("defineFileStore: what it is made of", () => {
  test("paths: absolute, backup and journal beside the file unless given; the file as lock domain; both capabilities", async () => {
    const store = twoLineStore(relative(process.cwd(), "/srv/app/key.txt"));
    expect(store.path).toBe("/srv/app/key.txt");
    expect(store.backupPath).toBe("/srv/app/key.txt.keyup-backup");
    expect(store.journalPath).toBe("/srv/app/key.txt.keyup-journal");
    expect(store.lockDomain).toEqual({ kind: "file", path: "/srv/app/key.txt" });
    expect(store.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
    expect(store.name).toBe(`two-line:${relative(process.cwd(), "/srv/app/key.txt")}`);
    const custom = twoLineStore("/srv/k", { backupPath: "/b/k.bak", journalPath: "/j/k.journal" });
    expect([custom.backupPath, custom.journalPath]).toEqual(["/b/k.bak", "/j/k.journal"]);
  });

  test("no definition or no path: EINVALID naming the store", () => {
    expect(() => twoLineStore("")).toThrow(expect.objectContaining({ code: "EINVALID", message: "two-line: needs the path of a file" }));
    expect(() => twoLineStore(42 as never)).toThrow(expect.objectContaining({ code: "EINVALID" }));
    expect(() => twoLineStore("", { name: undefined as never })).toThrow(expect.objectContaining({ message: "undefined needs the path of a file" }));
    // No definition at all (plain JavaScript, no types to stop it): the same typed error, not a TypeError.
    for (const definition of [undefined, null]) {
      expect(() => defineFileStore(definition as never)).toThrow(expect.objectContaining({ code: "EINVALID", message: "undefined needs the path of a file" }));
    }
  });
});

describe("read", () => {
  test("the key the text holds; undefined when it holds none; a missing file is ENOTFOUND naming it", async () => {
    const { path } = await fileWith(text(A));
    expect(await twoLineStore(path).read()).toEqual(A);
    await writeFile(path, "\n\n");
    expect(await twoLineStore(path).read()).toBeUndefined();
    await rm(path);
    for (const missingFile of ["refuse", "create"] as const) {
      const error = await failure(twoLineStore(path, { missingFile }).read());
      expect(error?.code).toBe("ENOTFOUND");
      expect(error?.message).toBe(`two-line:${path}: ${path} does not exist`);
    }
  });

  test("bytes that are not UTF-8: EINVALID; a folder at the path: EIO naming `what`", async () => {
    const { dir, path } = await fileWith(undefined);
    await writeFile(path, Buffer.from([0x41, 0xff, 0x0a]));
    expect((await failure(twoLineStore(path).read()))?.code).toBe("EINVALID");
    const folder = join(dir, "folder");
    await mkdir(folder);
    const error = await failure(twoLineStore(folder, { what: "the key file" }).read());
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot read the key file ${folder}: it is a folder (EISDIR)`);
    expect((await failure(twoLineStore(folder).read()))?.message).toBe(`cannot read the file ${folder}: it is a folder (EISDIR)`);
  });

  test("the same bytes read again give the same key; changed bytes give the new one", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    expect(await store.read()).toEqual(A);
    expect(await store.read()).toEqual(A);
    await writeFile(path, text(B));
    expect(await store.read()).toEqual(B);
    expect(await twoLineStore(path).read()).toEqual(B);
  });
});

describe("write", () => {
  test("refuses a non-key with EBADKEY before looking at the file (a missing file too)", async () => {
    const { path } = await fileWith(undefined);
    const error = await failure(twoLineStore(path).write({ accessKeyId: A.accessKeyId, secretAccessKey: "a\nb" }));
    expect(error?.code).toBe("EBADKEY");
    expect(error?.message).toBe(`two-line:${path}: refusing to write a value that is not an access key pair`);
    expect(await readdir(join(path, ".."))).toEqual([]);
  });

  test("a missing file: ENOTFOUND unless missingFile is create, which creates it 0600 (and its folder only with createFolder)", async () => {
    const { dir, path } = await fileWith(undefined);
    expect((await failure(twoLineStore(path).write(A)))?.code).toBe("ENOTFOUND");
    await twoLineStore(path, { missingFile: "create" }).write(A);
    expect(await readFile(path, "utf8")).toBe(text(A, ""));
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const nested = join(dir, "a", "b", "credentials");
    expect((await failure(twoLineStore(nested, { missingFile: "create" }).write(A)))?.code).toBe("ENOTFOUND");
    expect((await failure(twoLineStore(nested, { createFolder: true }).write(A)))?.code).toBe("ENOTFOUND");
    await twoLineStore(nested, { missingFile: "create", createFolder: true }).write(A);
    expect(await readFile(nested, "utf8")).toBe(text(A, ""));
    expect((await stat(join(dir, "a"))).mode & 0o777).toBe(0o700);
  });

  test("keeps the file's mode and every other byte; with `mode`, sets it", async () => {
    const { path } = await fileWith(text(A, "# kept\r\nno newline"), 0o640);
    await twoLineStore(path).write(B);
    expect(await readFile(path, "utf8")).toBe(text(B, "# kept\r\nno newline"));
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    await twoLineStore(path, { mode: 0o600 }).write(C);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("the key the file already holds: the file is not touched (same inode, no temporary file)", async () => {
    const { dir, path } = await fileWith(text(A));
    const before = await stat(path);
    await twoLineStore(path).write(A);
    const after = await stat(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  test("through a symlink (a dangling one too, with create): writes the target, keeps the link", async () => {
    const { dir, path } = await fileWith(text(A));
    await symlink(path, join(dir, "alias"));
    await twoLineStore(join(dir, "alias")).write(B);
    expect((await lstat(join(dir, "alias"))).isSymbolicLink()).toBe(true);
    expect(await readFile(path, "utf8")).toBe(text(B));
    await symlink(join(dir, "later"), join(dir, "dangling"));
    await twoLineStore(join(dir, "dangling"), { missingFile: "create" }).write(C);
    expect((await lstat(join(dir, "dangling"))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, "later"), "utf8")).toBe(text(C, ""));
  });

  test("the file changed by another writer since keyup read it: EMODIFIED, nothing written", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    await store.backup();
    await writeFile(path, text(C, "# theirs\n"));
    const error = await failure(store.write(B));
    expect(error?.code).toBe("EMODIFIED");
    expect(error?.message).toBe(
      `two-line:${path}: ${path} was changed by another writer since keyup read it; nothing was written. Let the other writer finish, check the file, and run keyup again`,
    );
    expect(await readFile(path, "utf8")).toBe(text(C, "# theirs\n"));
  });

  test("emptied by another writer (a truncate, then a write): EMODIFIED saying it is empty now", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    await store.backup();
    await writeFile(path, "");
    expect((await failure(store.write(B)))?.message).toContain(`since keyup read it (it is empty now); nothing was written`);
    expect(await readFile(path, "utf8")).toBe("");
  });

  test("changed after keyup's own write: the next write refuses too; unchanged, it goes ahead", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    await store.backup();
    await store.write(B);
    await store.write(C);
    expect(await readFile(path, "utf8")).toBe(text(C));
    await writeFile(path, text(A, "# theirs\n"));
    expect((await failure(store.write(B)))?.code).toBe("EMODIFIED");
  });

  test("a file created or removed by another writer since an 'absent' backup: EMODIFIED", async () => {
    const { path } = await fileWith(undefined);
    const store = twoLineStore(path, { missingFile: "create" });
    expect(await store.backup()).toEqual({ id: "absent" });
    await writeFile(path, text(C));
    expect((await failure(store.write(B)))?.code).toBe("EMODIFIED");
    expect(await readFile(path, "utf8")).toBe(text(C));

    const other = await fileWith(text(A));
    const second = twoLineStore(other.path, { missingFile: "create" });
    await second.backup();
    await rm(other.path);
    expect((await failure(second.write(B)))?.code).toBe("EMODIFIED");
    await expect(stat(other.path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("backup and restore", () => {
  test("backup copies the exact bytes 0600 (its folder created only with createFolder) and names them", async () => {
    const { dir, path } = await fileWith(text(A, "\r\n# x"), 0o644);
    const store = twoLineStore(path);
    const handle = await store.backup();
    expect(handle).toEqual({ id: fingerprint(Buffer.from(text(A, "\r\n# x"))), location: store.backupPath });
    expect(await readFile(store.backupPath, "utf8")).toBe(text(A, "\r\n# x"));
    expect((await stat(store.backupPath)).mode & 0o777).toBe(0o600);

    const away = join(dir, "backups", "credentials.keyup-backup");
    expect((await failure(twoLineStore(path, { backupPath: away }).backup()))?.code).toBe("ENOTFOUND");
    await twoLineStore(path, { backupPath: away, missingFile: "create", createFolder: true }).backup();
    expect(await readFile(away, "utf8")).toBe(text(A, "\r\n# x"));
    expect((await failure(twoLineStore(join(dir, "none")).backup()))?.code).toBe("ENOTFOUND");
  });

  test("a backup that cannot be written (a folder at its name): EIO naming the backup, and the folder left", async () => {
    const { dir, path } = await fileWith(text(A));
    const store = twoLineStore(path);
    await mkdir(join(store.backupPath, "inside"), { recursive: true });
    const error = await failure(store.backup());
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`cannot write the backup ${store.backupPath}: it is a folder (EISDIR)`);
    expect(await readdir(store.backupPath)).toEqual(["inside"]);
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.keyup-backup"]);
    expect(await readFile(path, "utf8")).toBe(text(A));
  });

  test("restore refuses a handle that is not this store's (EBACKUP, the id not echoed) and changes nothing", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    await store.backup();
    await store.write(B);
    const bad = [
      { id: "absent" },
      { id: "sha256:abc" },
      { id: `sha256:${"A".repeat(64)}` },
      { id: `x${fingerprint(Buffer.from(""))}` },
      { id: `${fingerprint(Buffer.from(""))}0` },
      { id: 7 },
      {},
      null,
    ];
    for (const handle of bad) {
      const error = await failure(store.restore(handle as never));
      expect(error?.code).toBe("EBACKUP");
      expect(error?.message).toBe(`two-line:${path}: that is not a backup id this store makes (sha256:<64 hex digits>)`);
    }
    const creating = twoLineStore(path, { missingFile: "create" });
    expect((await failure(creating.restore({ id: "sha256:abc" })))?.message).toBe(
      `two-line:${path}: that is not a backup id this store makes (sha256:<64 hex digits> or "absent")`,
    );
    // No handle at all, to a store that creates its file: the same typed refusal, not a TypeError.
    for (const handle of [undefined, null]) {
      const error = await failure(creating.restore(handle as never));
      expect(error?.code).toBe("EBACKUP");
      expect(error?.message).toBe(`two-line:${path}: that is not a backup id this store makes (sha256:<64 hex digits> or "absent")`);
    }
    expect(await readFile(path, "utf8")).toBe(text(B));
  });

  test("restore of a backup that is gone, altered or replaced: EBACKUP saying which, file untouched", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    const handle = await store.backup();
    await store.write(B);
    await writeFile(store.backupPath, text(C));
    const altered = await failure(store.restore(handle));
    expect(altered?.code).toBe("EBACKUP");
    expect(altered?.message).toBe(
      `two-line:${path}: the backup ${store.backupPath} does not match ${handle.id} (a later backup replaced it, or it was altered)`,
    );
    await rm(store.backupPath);
    const gone = await failure(store.restore(handle));
    expect(gone?.code).toBe("EBACKUP");
    expect(gone?.message).toBe(`two-line:${path}: the backup ${store.backupPath} does not exist`);
    await mkdir(store.backupPath);
    const unreadable = await failure(store.restore(handle));
    expect(unreadable?.code).toBe("EBACKUP");
    expect(unreadable?.message).toBe(`two-line:${path}: cannot read the backup ${store.backupPath}`);
    // Why, for whoever debugs it: the read's own error, naming the backup and the OS's reason.
    expect(unreadable?.cause).toMatchObject({ code: "EIO", message: `cannot read the backup ${store.backupPath}: it is a folder (EISDIR)` });
    expect(await readFile(path, "utf8")).toBe(text(B));
  });

  test("restore puts the bytes back (a removed file too), and does not touch a file that already holds them", async () => {
    const { dir, path } = await fileWith(text(A));
    const store = twoLineStore(path);
    const handle = await store.backup();
    await store.restore(handle);
    expect(await readdir(dir)).toEqual(["credentials", "credentials.keyup-backup"]);
    const before = await stat(path);
    await store.restore(handle);
    expect((await stat(path)).ino).toBe(before.ino);
    await store.write(B);
    await rm(path);
    await store.restore(handle);
    expect(await readFile(path, "utf8")).toBe(text(A));
    // What restore wrote counts as read: a write after it goes ahead.
    await store.write(C);
    expect(await readFile(path, "utf8")).toBe(text(C));
  });

  test("an 'absent' backup: restore removes the file keyup created, and leaves no file alone when there is none", async () => {
    const { dir, path } = await fileWith(undefined);
    const store = twoLineStore(path, { missingFile: "create" });
    const handle = await store.backup();
    await store.restore(handle);
    expect(await readdir(dir)).toEqual([]);
    await store.write(A);
    await store.restore(handle);
    expect(await readdir(dir)).toEqual([]);
    // And the removal counts as seen: writing again creates the file.
    await store.write(B);
    expect(await readFile(path, "utf8")).toBe(text(B, ""));
  });

  test("a key neither keyup's nor the backup's put in during the rotation: restore refuses (EMODIFIED) and leaves it", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    const handle = await store.backup();
    await store.write(B);
    await writeFile(path, text(C));
    const error = await failure(store.restore(handle));
    expect(error?.code).toBe("EMODIFIED");
    expect(error?.message).toBe(
      `two-line:${path}: ${path} now holds ${C.accessKeyId}, which is neither the key keyup wrote (${B.accessKeyId}) nor the one it replaced: someone changed it during the rotation, so keyup left it as it is; the backup is ${path}.keyup-backup`,
    );
    expect(await readFile(path, "utf8")).toBe(text(C));
  });

  test("restore after the write: the key keyup wrote, or the backup's key with other bytes changed, or unreadable content is put back", async () => {
    for (const current of [text(B, "# changed\n"), text(A, "# changed\n"), "half\n", Buffer.from([0xff, 0x0a])]) {
      const { path } = await fileWith(text(A));
      const store = twoLineStore(path);
      const handle = await store.backup();
      await store.write(B);
      await writeFile(path, current);
      await store.restore(handle);
      expect(await readFile(path, "utf8")).toBe(text(A));
    }
  });

  test("restore finding the backup's state already there writes nothing and forgets nothing: the other writer's change still refuses the next write", async () => {
    // Someone removed the file keyup created; restoring an 'absent' backup has nothing to do, and keyup
    // has still not read what that other writer did, so a write after it refuses as before.
    const { path } = await fileWith(undefined);
    const store = twoLineStore(path, { missingFile: "create" });
    const handle = await store.backup();
    await store.write(B);
    await rm(path);
    await store.restore(handle);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await failure(store.write(C)))?.code).toBe("EMODIFIED");
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("restore by a store that never wrote puts the backup back over whatever is there", async () => {
    const { path } = await fileWith(text(A));
    const handle = await twoLineStore(path).backup();
    await writeFile(path, text(C));
    await twoLineStore(path).restore(handle);
    expect(await readFile(path, "utf8")).toBe(text(A));
  });

  test("after a write refused as EMODIFIED, restore leaves the other writer's file alone", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path);
    const handle = await store.backup();
    await writeFile(path, text(C));
    expect((await failure(store.write(B)))?.code).toBe("EMODIFIED");
    await store.restore(handle);
    expect(await readFile(path, "utf8")).toBe(text(C));
  });

  test("restoreKey with a file that is not UTF-8: EINVALID naming the backup, nothing written", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path, { restoreKey: (_current, saved) => saved });
    const handle = await store.backup();
    await store.write(B);
    await writeFile(path, Buffer.from([0xff, 0x0a]));
    const error = await failure(store.restore(handle));
    expect(error?.code).toBe("EINVALID");
    expect(error?.message).toBe(
      `two-line:${path}: ${path} changed since the backup and one of them is not UTF-8 text, so this key cannot be restored alone; the backup is ${path}.keyup-backup`,
    );
    expect(await readFile(path)).toEqual(Buffer.from([0xff, 0x0a]));
  });

  test("restoreKey: its text is written; when it equals what is there the file is not touched; with an 'absent' backup it gets ''", async () => {
    const { path } = await fileWith(text(A));
    const seen: [string, string][] = [];
    const store = twoLineStore(path, {
      missingFile: "create",
      restoreKey: (current, saved) => {
        seen.push([current, saved]);
        return saved === "" ? current.replace("# kept", "# no key") : `${saved.split("\n").slice(0, 2).join("\n")}\n${current.split("\n").slice(2).join("\n")}`;
      },
    });
    const handle = await store.backup();
    await store.write(B);
    await writeFile(path, text(B, "# theirs\n"));
    await store.restore(handle);
    expect(await readFile(path, "utf8")).toBe(text(A, "# theirs\n"));
    expect(seen).toEqual([[text(B, "# theirs\n"), text(A)]]);

    const empty = await fileWith(undefined);
    const savedArgs: string[] = [];
    const creating = twoLineStore(empty.path, {
      missingFile: "create",
      restoreKey: (current, saved) => {
        savedArgs.push(saved);
        return current.replace(/^.*\n.*\n/, "\n\n");
      },
    });
    const absent = await creating.backup();
    await creating.write(B);
    await writeFile(empty.path, text(B, "# theirs\n"));
    const before = await stat(empty.path);
    await creating.restore(absent);
    expect(await readFile(empty.path, "utf8")).toBe("\n\n# theirs\n");
    expect(savedArgs, "an 'absent' backup is handed to restoreKey as ''").toEqual([""]);
    expect((await stat(empty.path)).ino).not.toBe(before.ino);
    const again = await stat(empty.path);
    await creating.restore(absent);
    expect((await stat(empty.path)).ino).toBe(again.ino);
  });
});

describe("otherHolders", () => {
  test("a second hard link is named with how to find it; the definition's own finds are added; a missing file has none", async () => {
    const { dir, path } = await fileWith(text(A));
    expect(await twoLineStore(path).otherHolders(A.accessKeyId)).toEqual([]);
    await link(path, join(dir, "credentials.copy"));
    const holders = await twoLineStore(path, { otherHolders: (t, id) => (t.includes(id) ? [`line 1 of ${id}`] : []) }).otherHolders(A.accessKeyId);
    expect(holders).toEqual([
      `another name of ${path} (it has 2 hard links; keyup replaces the file, so the other names would keep the old key: find them with \`find / -xdev -samefile ${path}\`, then remove them or make them symlinks)`,
      `line 1 of ${A.accessKeyId}`,
    ]);
    await rm(join(dir, "credentials.copy"));
    await rm(path);
    expect(await twoLineStore(path, { otherHolders: () => ["never"] }).otherHolders(A.accessKeyId)).toEqual([]);
  });

  test("through a symlink, the real file's links count; a path that cannot be resolved is EIO", async () => {
    const { dir, path } = await fileWith(text(A));
    await symlink(path, join(dir, "alias"));
    expect(await twoLineStore(join(dir, "alias")).otherHolders(A.accessKeyId)).toEqual([]);
    const long = join(dir, "c".repeat(300));
    const error = await failure(twoLineStore(long).otherHolders(A.accessKeyId));
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`two-line:${long}: cannot resolve ${long}`);
    expect(error?.cause).toMatchObject({ code: "ENAMETOOLONG" });
  });
});

describe("lock", () => {
  test("a missing file: ENOTFOUND unless the store creates it; with createFolder its folder is made for the lock", async () => {
    const { dir, path } = await fileWith(undefined);
    const error = await failure(twoLineStore(path).lock());
    expect(error?.code).toBe("ENOTFOUND");
    expect(error?.message).toBe(`two-line:${path}: ${path} does not exist`);
    expect(await readdir(dir)).toEqual([]);
    const held = await twoLineStore(path, { missingFile: "create" }).lock();
    expect(await readdir(dir)).toEqual(["credentials.lock"]);
    await held.release();
    const nested = join(dir, "a", "credentials");
    expect((await failure(twoLineStore(nested, { missingFile: "create" }).lock()))?.code).toBe("ENOTFOUND");
    await (await twoLineStore(nested, { missingFile: "create", createFolder: true }).lock()).release();
    expect((await stat(join(dir, "a"))).mode & 0o777).toBe(0o700);
  });

  test("through a symlink the real file is locked: a store over the link and one over the file exclude each other", async () => {
    const { dir, path } = await fileWith(text(A));
    await symlink(path, join(dir, "alias"));
    const held = await twoLineStore(join(dir, "alias")).lock();
    expect((await readdir(dir)).sort()).toEqual(["alias", "credentials", "credentials.lock"]);
    const error = await failure(twoLineStore(path).lock());
    expect(error?.code).toBe("ELOCKED");
    expect(error?.message).toContain(`two-line:${path} is locked by pid ${process.pid}`);
    await held.release();
  });

  test("a path that cannot be resolved (a symlink loop): EIO naming it", async () => {
    const { dir } = await fileWith(undefined);
    await symlink(join(dir, "b"), join(dir, "a"));
    await symlink(join(dir, "a"), join(dir, "b"));
    const error = await failure(twoLineStore(join(dir, "a")).lock());
    expect(error?.code).toBe("EIO");
    expect(error?.message).toBe(`two-line:${join(dir, "a")}: cannot resolve ${join(dir, "a")}`);
    expect(error?.cause).toMatchObject({ code: "ELOOP" });
  });
});

describe("restore: the corners", () => {
  test("an 'absent' backup and a key nobody here wrote put in meanwhile: EMODIFIED, the file left", async () => {
    const { path } = await fileWith(undefined);
    const store = twoLineStore(path, { missingFile: "create" });
    const handle = await store.backup();
    await store.write(B);
    await writeFile(path, text(C));
    expect((await failure(store.restore(handle)))?.code).toBe("EMODIFIED");
    expect(await readFile(path, "utf8")).toBe(text(C));
  });

  test("restoreKey returning the saved text: the backup's exact state, an 'absent' one removing the file", async () => {
    const { dir, path } = await fileWith(undefined);
    const store = twoLineStore(path, { missingFile: "create", restoreKey: (_current, saved) => saved });
    const handle = await store.backup();
    await store.write(B);
    await writeFile(path, text(B, "# theirs\n"));
    await store.restore(handle);
    expect(await readdir(dir)).toEqual([]);
  });

  test("restoreKey with a backup that is not UTF-8 and a file changed since: EINVALID naming the backup, the file left", async () => {
    const { path } = await fileWith(undefined);
    await writeFile(path, Buffer.from([0xff, 0x0a]));
    const store = twoLineStore(path, { restoreKey: (current, saved) => `${saved.split("\n")[0]}\n${current}` });
    const handle = await store.backup();
    await writeFile(path, text(C));
    const error = await failure(store.restore(handle));
    expect(error?.code).toBe("EINVALID");
    expect(error?.message).toBe(
      `two-line:${path}: ${path} changed since the backup and one of them is not UTF-8 text, so this key cannot be restored alone; the backup is ${path}.keyup-backup`,
    );
    expect(await readFile(path, "utf8")).toBe(text(C));
  });

  test("what restoreKey's restore wrote, or found already there, counts as read: a write after it goes ahead", async () => {
    const keepTheirs = (current: string, saved: string) => `${saved.split("\n").slice(0, 2).join("\n")}\n${current.split("\n").slice(2).join("\n")}`;
    for (const theirs of [text(B, "# theirs\n"), text(A, "# theirs\n")]) {
      const { path } = await fileWith(text(A));
      const store = twoLineStore(path, { restoreKey: keepTheirs });
      const handle = await store.backup();
      await store.write(B);
      await writeFile(path, theirs);
      await store.restore(handle);
      expect(await readFile(path, "utf8")).toBe(text(A, "# theirs\n"));
      await store.write(C);
      expect(await readFile(path, "utf8")).toBe(text(C, "# theirs\n"));
    }
  });

  test("restoreKey and a file removed since the write: the backup's bytes come back", async () => {
    const { path } = await fileWith(text(A));
    const store = twoLineStore(path, {
      restoreKey: (current, saved) => `${saved.split("\n").slice(0, 2).join("\n")}\n${current.split("\n").slice(2).join("\n")}`,
    });
    const handle = await store.backup();
    await store.write(B);
    await rm(path);
    await store.restore(handle);
    expect(await readFile(path, "utf8")).toBe(text(A));
  });
});
