import { watch } from "node:fs";
import { chmod, chown, lstat, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileJournal, type JournalEntry, type RotationState } from "@keyup/core";
import { ownFolder } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { defaultJournal, journalEntry } from "../src/journal.js";
import { twoLineStore } from "./two-line-store.js";

// Issue 15, "another local user: files in folders others can write to". The suite runs as root (see
// test-support/cli.ts), so it can hand files and folders to `nobody` (uid 65534), the other user.

const OLD = { accessKeyId: "AKIAOLDOLDOLDOLD0001", secretAccessKey: "old-secret-0000000000000000000000000000001" };
const NEW = { accessKeyId: "AKIANEWNEWNEWNEW0002", secretAccessKey: "new-secret-0000000000000000000000000000002" };
const NOBODY = 65534;
const me = () => process.getuid?.() ?? -1;

const state = { phase: "verifying", store: "memory:x", config: {}, steps: [], warnings: [], newAccessKeyId: NEW.accessKeyId } as unknown as RotationState;
const entry = (): JournalEntry => journalEntry("r-1", state, { old: OLD, new: NEW }, new Date());

/** The names created in `folder` while `work` runs (inotify, through fs.watch). */
async function namesCreatedDuring(folder: string, work: () => Promise<void>): Promise<string[]> {
  const seen = new Set<string>();
  const watcher = watch(folder, (_event, name) => {
    if (name) seen.add(String(name));
  });
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the last events arrive
  } finally {
    watcher.close();
  }
  return [...seen].sort();
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error & { code?: string },
  );

describe("temporary files holding a secret: created exclusively under random names, 0600, removed on every path", () => {
  test("a journal save never writes through a file planted at a predictable name (<journal>.<pid>.tmp, <journal>.tmp)", async () => {
    const dir = await tempDir("keyup-tmp-");
    const path = join(dir, "credentials.keyup-journal.ci");
    const stolen = join(dir, "stolen");
    await writeFile(stolen, "", { mode: 0o644 });
    for (const name of [`${path}.${process.pid}.tmp`, `${path}.tmp`]) await symlink(stolen, name);
    await fileJournal(path).save(entry());
    expect(await readFile(stolen, "utf8"), "the other user's file got nothing").toBe("");
    const info = await lstat(path);
    expect(info.isFile()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.uid).toBe(me());
    expect((await fileJournal(path).load())?.secrets.new).toEqual(NEW);
  });

  test("journal saves, backups and store writes use a new random temporary name each time, and leave none behind", async () => {
    const dir = await tempDir("keyup-tmp-");
    const file = join(dir, "key.txt");
    await writeFile(file, `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`, { mode: 0o600 });
    const store = twoLineStore(file);
    const journal = fileJournal(`${file}.keyup-journal`);
    const created = await namesCreatedDuring(dir, async () => {
      await journal.save(entry());
      await store.backup();
      await store.write(NEW);
      await journal.save(entry());
    });
    const temps = created.filter((name) => ![`key.txt`, `key.txt.keyup-journal`, `key.txt.keyup-backup`].includes(name));
    expect(temps.length, "one temporary file per write").toBe(4);
    for (const name of temps) expect(name).toMatch(/^key\.txt(\.keyup-journal|\.keyup-backup)?\.keyup-tmp-[0-9a-f]{24}$/);
    expect(
      temps.some((name) => name.includes(String(process.pid))),
      "no name from the pid",
    ).toBe(false);
    expect(new Set(temps).size).toBe(temps.length);
    expect((await readdir(dir)).sort()).toEqual(["key.txt", "key.txt.keyup-backup", "key.txt.keyup-journal"]);
  });

  test("a failing journal save or backup leaves no temporary file (the rename fails: a folder is at the name)", async () => {
    const dir = await tempDir("keyup-tmp-");
    const file = join(dir, "key.txt");
    await writeFile(file, `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`, { mode: 0o600 });
    await mkdir(join(dir, "key.txt.keyup-journal", "x"), { recursive: true });
    await mkdir(join(dir, "key.txt.keyup-backup", "x"), { recursive: true });
    expect(await rejection(fileJournal(`${file}.keyup-journal`).save(entry()))).toBeDefined();
    expect(await rejection(twoLineStore(file).backup())).toMatchObject({ code: "EIO" });
    expect((await readdir(dir)).sort(), "only what was there").toEqual(["key.txt", "key.txt.keyup-backup", "key.txt.keyup-journal"]);
  });

  test("temporary files a crashed keyup left (ours, older than a minute) are removed by the next write; others' and fresh ones stay", async () => {
    const dir = await tempDir("keyup-tmp-");
    const path = join(dir, "credentials.keyup-journal.ci");
    const old = new Date(Date.now() - 10 * 60_000);
    const leftovers = {
      crashed: `${path}.keyup-tmp-0123456789abcdef01234567`,
      legacy: `${path}.4242.tmp`,
      fresh: `${path}.keyup-tmp-fedcba9876543210fedcba98`,
      foreign: `${path}.keyup-tmp-00000000000000000000aaaa`,
    };
    for (const leftover of Object.values(leftovers)) await writeFile(leftover, JSON.stringify(entry()), { mode: 0o600 });
    for (const name of ["crashed", "legacy", "foreign"] as const) await utimes(leftovers[name], old, old);
    await chown(leftovers.foreign, NOBODY, NOBODY);
    await fileJournal(path).save(entry());
    const left = await readdir(dir);
    expect(left).not.toContain("credentials.keyup-journal.ci.keyup-tmp-0123456789abcdef01234567");
    expect(left).not.toContain("credentials.keyup-journal.ci.4242.tmp");
    expect(left.sort()).toEqual(
      [
        "credentials.keyup-journal.ci",
        "credentials.keyup-journal.ci.keyup-tmp-00000000000000000000aaaa",
        "credentials.keyup-journal.ci.keyup-tmp-fedcba9876543210fedcba98",
      ].sort(),
    );
  });
});

describe("backups and journals owned by the rotating user, never by a pre-existing file's owner", () => {
  test("a backup path another user created beforehand ends up owned by the rotating user, 0600", async () => {
    const dir = await tempDir("keyup-owner-");
    const file = join(dir, "key.txt");
    await writeFile(file, `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`, { mode: 0o600 });
    await writeFile(`${file}.keyup-backup`, "planted\n", { mode: 0o644 });
    await chown(`${file}.keyup-backup`, NOBODY, NOBODY);
    const store = twoLineStore(file);
    const handle = await store.backup();
    const info = await stat(`${file}.keyup-backup`);
    expect(info.uid).toBe(me());
    expect(info.mode & 0o777).toBe(0o600);
    await store.write(NEW);
    await store.restore(handle);
    expect(await readFile(file, "utf8")).toBe(`${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`);
  });

  test("a journal path another user created beforehand ends up owned by the rotating user, 0600", async () => {
    const dir = await tempDir("keyup-owner-");
    const path = join(dir, "key.txt.keyup-journal");
    await writeFile(path, "planted\n", { mode: 0o644 });
    await chown(path, NOBODY, NOBODY);
    await fileJournal(path).save(entry());
    const info = await stat(path);
    expect(info.uid).toBe(me());
    expect(info.mode & 0o777).toBe(0o600);
  });

  test("the store file itself keeps its owner and mode: root editing another user's file leaves it theirs", async () => {
    const dir = await tempDir("keyup-owner-");
    const file = join(dir, "key.txt");
    await writeFile(file, `${OLD.accessKeyId}\n${OLD.secretAccessKey}\n`, { mode: 0o640 });
    await chown(file, NOBODY, NOBODY);
    await twoLineStore(file).write(NEW);
    const info = await stat(file);
    expect(info.uid).toBe(NOBODY);
    expect(info.mode & 0o777).toBe(0o640);
    expect(await readFile(file, "utf8")).toBe(`${NEW.accessKeyId}\n${NEW.secretAccessKey}\n`);
  });
});

describe("the state folder: a planted symlink or another user's folder is refused", () => {
  const journalIn = (state: string) =>
    defaultJournal({ name: "secretsmanager:ci", capabilities: { durableBackup: true } } as never, { XDG_STATE_HOME: state, HOME: state });

  test("a symlink planted as $XDG_STATE_HOME/keyup: the journal is refused (EJOURNALFOREIGN), nothing written where it points", async () => {
    const state = await tempDir("keyup-state-");
    const elsewhere = await tempDir("keyup-elsewhere-");
    await symlink(elsewhere, join(state, "keyup"));
    const journal = journalIn(state);
    const error = await rejection(journal.save(entry()));
    expect(error?.code).toBe("EJOURNALFOREIGN");
    expect(error?.message).toContain(`${join(state, "keyup")} is a symlink`);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  test("$XDG_STATE_HOME/keyup owned by another user: refused with its uid", async () => {
    const state = await tempDir("keyup-state-");
    await mkdir(join(state, "keyup"), { mode: 0o700 });
    await chown(join(state, "keyup"), NOBODY, NOBODY);
    const error = await rejection(journalIn(state).save(entry()));
    expect(error?.code).toBe("EJOURNALFOREIGN");
    expect(error?.message).toContain(`${join(state, "keyup")} belongs to another user (uid ${NOBODY}`);
    expect(await readdir(join(state, "keyup"))).toEqual([]);
  });

  test("$XDG_STATE_HOME/keyup/journal writable by others: refused", async () => {
    const state = await tempDir("keyup-state-");
    await ownFolder(join(state, "keyup"));
    await mkdir(join(state, "keyup", "journal"));
    await chmod(join(state, "keyup", "journal"), 0o777);
    const error = await rejection(journalIn(state).save(entry()));
    expect(error?.code).toBe("EJOURNALFOREIGN");
    expect(error?.message).toContain("can be written by other users (mode 777)");
  });

  test("legit: a fresh state folder in a temporary folder (root-owned, sticky /tmp above it) is created 0700 and used", async () => {
    const state = join(await tempDir("keyup-state-"), "nested", "state");
    const journal = journalIn(state);
    await journal.save(entry());
    expect((await journal.load())?.secrets.new).toEqual(NEW);
    for (const folder of [join(state, "keyup"), join(state, "keyup", "journal")]) {
      const info = await lstat(folder);
      expect(info.isDirectory()).toBe(true);
      expect(info.mode & 0o777).toBe(0o700);
    }
  });

  test("a store journalling beside its own file is not held to the state folder's rule (a credentials folder may be shared)", async () => {
    const dir = await tempDir("keyup-state-");
    await chown(dir, NOBODY, NOBODY);
    await chmod(dir, 0o1777); // as /tmp is: another user's, sticky
    const file = join(dir, "key.txt");
    const journal = defaultJournal(twoLineStore(file), {});
    expect(journal.location).toBe(`${file}.keyup-journal`);
    await journal.save(entry());
    expect((await journal.load())?.id).toBe("r-1");
  });
});
