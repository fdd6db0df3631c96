// The conformance suite is resolved from source by the test setup; core does not depend on it (that would be a cycle).
import { chmod, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AccessKeyPair } from "@keyup/core";
import type { FileStoreDefinition } from "@keyup/core/files";
import { credentialStoreTestSuite, fakeAccessKeyPair } from "@keyup/store-test-suite";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { twoLineStore } from "./two-line-store.js";

// The two-line format of defineFileStore's JSDoc (two-line-store.ts): the kit must make it a conforming store.
const inChild = (path: string, extra: Partial<FileStoreDefinition>) => ({
  module: fileURLToPath(new URL("./two-line-store.ts", import.meta.url)),
  exportName: "twoLineStore",
  args: [path, extra],
  execArgv: ["--import", "tsx"],
});

const content = (key: AccessKeyPair | undefined) => `${key ? `${key.accessKeyId}\n${key.secretAccessKey}` : "\n"}\n# kept\n`;

for (const missingFile of ["refuse", "create"] as const) {
  describe(`missingFile: ${missingFile}`, () => {
    credentialStoreTestSuite(test, async ({ initial }) => {
      const dir = await tempDir("keyup-kit-");
      const path = join(dir, "key.txt");
      await writeFile(path, content(initial), { mode: 0o600 });
      const open = () => twoLineStore(path, { missingFile });
      return {
        store: open(),
        reopen: open,
        readRaw: () => readFile(path),
        cleanup: () => rm(dir, { recursive: true, force: true }),
        inChildProcess: inChild(path, { missingFile }),
      };
    });
  });
}

describe("what the kit adds to the format code", () => {
  test("restore puts back the exact bytes and keeps the file's mode; discard then deletes the copy", async () => {
    const path = join(await tempDir("keyup-kit-"), "key.txt");
    const before = content(fakeAccessKeyPair());
    await writeFile(path, before);
    await chmod(path, 0o640);
    const store = twoLineStore(path);
    const backup = await store.backup();
    expect((await stat(store.backupPath)).mode & 0o777).toBe(0o600);
    await store.write(fakeAccessKeyPair());
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    await store.restore(backup);
    expect(await readFile(path, "utf8")).toBe(before);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    await store.discard(backup);
    await expect(stat(store.backupPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("mode: every write leaves the file with that mode", async () => {
    const path = join(await tempDir("keyup-kit-"), "key.txt");
    await writeFile(path, content(undefined));
    await chmod(path, 0o644);
    await twoLineStore(path, { mode: 0o600 }).write(fakeAccessKeyPair());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test('missingFile "refuse" is ENOTFOUND for every method and creates nothing; "create" creates on write and restore removes it again', async () => {
    const dir = await tempDir("keyup-kit-");
    const path = join(dir, "key.txt");
    const refusing = twoLineStore(path);
    for (const call of [() => refusing.read(), () => refusing.write(fakeAccessKeyPair()), () => refusing.backup(), () => refusing.lock()]) {
      await expect(call()).rejects.toMatchObject({ code: "ENOTFOUND" });
    }
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });

    const creating = twoLineStore(path, { missingFile: "create" });
    const backup = await creating.backup();
    expect(backup.id).toBe("absent");
    const key = fakeAccessKeyPair();
    await creating.write(key);
    expect(await creating.read()).toEqual(key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await creating.restore(backup);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    // A store that never makes "absent" backups does not take one.
    await expect(refusing.restore(backup)).rejects.toMatchObject({ code: "EBACKUP" });
  });

  test("restoreKey: a change made since the backup outside this store's key survives; returning saved restores exactly", async () => {
    const path = join(await tempDir("keyup-kit-"), "key.txt");
    const old = fakeAccessKeyPair();
    await writeFile(path, content(old));
    // Puts the saved first two lines back over the current text, keeping the current rest.
    const restoreKey = (current: string, saved: string) => [...saved.split("\n").slice(0, 2), ...current.split("\n").slice(2)].join("\n");
    const store = twoLineStore(path, { restoreKey });
    const backup = await store.backup();
    await store.write(fakeAccessKeyPair());
    const written = await readFile(path, "utf8");
    await writeFile(path, written.replace("# kept", "# changed by someone else"));
    await store.restore(backup);
    expect(await readFile(path, "utf8")).toBe(content(old).replace("# kept", "# changed by someone else"));

    await store.write(fakeAccessKeyPair());
    await store.restore(backup);
    await store.restore(backup);
    expect(await readFile(path, "utf8")).toBe(content(old).replace("# kept", "# changed by someone else"));
  });

  test("declares its file as the lock domain, and refuses an empty path", () => {
    expect(twoLineStore("/srv/app/key.txt").lockDomain).toEqual({ kind: "file", path: "/srv/app/key.txt" });
    expect(() => twoLineStore("")).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });
});
