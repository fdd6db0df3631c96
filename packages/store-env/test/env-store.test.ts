import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { AccessKeyPair } from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { fakeAccessKeyPair, findSecretLeaks } from "@keyup/store-test-suite";
import { config as dotenvConfig } from "dotenv";
import { describe, expect, test } from "vitest";
import { editorFixtures, OLD } from "./_support/fixtures.js";
import { rejection, tempDir, thrown } from "./_support/support.js";

const RICH = `# app settings\r\nexport PORT=3000\r\n\r\nexport AWS_ACCESS_KEY_ID="${OLD.accessKeyId}" # ci user\r\nAWS_SECRET_ACCESS_KEY='${OLD.secretAccessKey}'\r\nDEBUG=false`;

async function envFile(content: string | Buffer, mode = 0o600): Promise<string> {
  const path = join(await tempDir(), ".env");
  await writeFile(path, content, { mode });
  await chmod(path, mode);
  return path;
}

/** The file as the real dotenv package loads it from disk. */
function dotenvLoad(path: string): Record<string, string> {
  const processEnv: Record<string, string> = {};
  const result = dotenvConfig({ path, processEnv, quiet: true });
  if (result.error) throw result.error;
  return processEnv;
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Runs `action`, expects a store error `code` that reveals no secret, and the file byte-identical. */
async function expectRefused(path: string, action: () => Promise<unknown>, code: string, secrets: readonly string[] = []) {
  const before = existsSync(path) ? await readFile(path) : undefined;
  const error = await rejection(action());
  expect(error.code).toBe(code);
  expect(findSecretLeaks(error, [OLD.secretAccessKey, ...secrets])).toEqual([]);
  expect(existsSync(path) ? await readFile(path) : undefined).toEqual(before);
  return error;
}

describe("envStore()", () => {
  test("names itself env:<absolute path>, resolving a relative path against the working directory", async () => {
    const path = await envFile("");
    const store = envStore({ path: relative(process.cwd(), path) });
    expect(store.name).toBe(`env:${path}`);
    expect(store.path).toBe(path);
    expect(store.backupPath).toBe(`${path}.keyup-backup`);
    expect(store.names).toEqual({ accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" });
    expect(store.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
  });

  for (const [label, options] of [
    ["a name with a space", { path: ".env", names: { accessKeyId: "AWS KEY" } }],
    ["an empty name", { path: ".env", names: { secretAccessKey: "" } }],
    ["the same name twice", { path: ".env", names: { accessKeyId: "K", secretAccessKey: "K" } }],
    ["no path", { path: "" }],
  ] as const) {
    test(`refuses ${label} with EINVALID`, () => {
      expect(thrown(() => envStore(options)).code).toBe("EINVALID");
    });
  }
});

describe("read()", () => {
  test("returns the values as dotenv reads them, through export, quotes, comments and CRLF", async () => {
    const path = await envFile(RICH);
    expect(await envStore({ path }).read()).toEqual(OLD);
    const loaded = dotenvLoad(path);
    expect({ accessKeyId: loaded.AWS_ACCESS_KEY_ID, secretAccessKey: loaded.AWS_SECRET_ACCESS_KEY }).toEqual(OLD);
  });

  test("uses custom names, and leaves the standard ones (and their session token) alone", async () => {
    const path = await envFile(
      `AWS_ACCESS_KEY_ID=AKIAOTHEROTHEROTHER\nAWS_SESSION_TOKEN=abc\nDEPLOY_ID=${OLD.accessKeyId}\nDEPLOY_SECRET="${OLD.secretAccessKey}"\n`,
    );
    const store = envStore({ path, names: { accessKeyId: "DEPLOY_ID", secretAccessKey: "DEPLOY_SECRET" } });
    expect(await store.read()).toEqual(OLD);
  });

  test("returns undefined when neither variable is assigned, or both are empty", async () => {
    expect(await envStore({ path: await envFile("PORT=1\n# AWS_ACCESS_KEY_ID=x\n") }).read()).toBeUndefined();
    expect(await envStore({ path: await envFile("AWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=''\n") }).read()).toBeUndefined();
    expect(await envStore({ path: await envFile("") }).read()).toBeUndefined();
  });

  test("a missing file is ENOTFOUND", async () => {
    const path = join(await tempDir(), ".env");
    const error = await expectRefused(path, () => envStore({ path }).read(), "ENOTFOUND");
    expect(error.message).toContain(path);
  });

  for (const [label, content, code] of [
    ["the id without the secret", `AWS_ACCESS_KEY_ID=${OLD.accessKeyId}\n`, "EINVALID"],
    ["the secret without the id", `AWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\n`, "EINVALID"],
    ["an empty id next to a secret", `AWS_ACCESS_KEY_ID=""\nAWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\n`, "EINVALID"],
    [
      "a variable assigned twice",
      `AWS_ACCESS_KEY_ID=${OLD.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\nexport AWS_ACCESS_KEY_ID=${OLD.accessKeyId}\n`,
      "EINVALID",
    ],
    [
      "a session token (temporary credentials)",
      `AWS_ACCESS_KEY_ID=${OLD.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\nAWS_SESSION_TOKEN=${OLD.secretAccessKey}x\n`,
      "EUNSUPPORTED",
    ],
    ["a reference to another variable (dotenv-expand)", `AWS_ACCESS_KEY_ID=\${CI_KEY_ID}\nAWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\n`, "EUNSUPPORTED"],
    ["bytes that are not UTF-8", Buffer.concat([Buffer.from(`AWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\nX=`), Buffer.from([0xff, 0xfe, 0x0a])]), "EINVALID"],
  ] as const) {
    test(`${label} is ${code}, and names no value`, async () => {
      const path = await envFile(content);
      const error = await expectRefused(path, () => envStore({ path }).read(), code);
      expect(error.message).not.toContain(OLD.accessKeyId.slice(4));
    });
  }

  test("a name assigned twice is reported with its lines", async () => {
    const path = await envFile(`AWS_ACCESS_KEY_ID=A\n\nAWS_ACCESS_KEY_ID=B\nAWS_SECRET_ACCESS_KEY=${OLD.secretAccessKey}\n`);
    const error = await rejection(envStore({ path }).read());
    expect(error.message).toContain("AWS_ACCESS_KEY_ID is assigned 2 times");
    expect(error.message).toContain("lines 1, 3");
  });

  test("a path that is a folder is EIO", async () => {
    const path = await tempDir();
    expect((await rejection(envStore({ path }).read())).code).toBe("EIO");
    expect(await readdir(path)).toEqual([]);
  });
});

describe("write()", () => {
  for (const fixture of editorFixtures) {
    test(`${fixture.title}: the file becomes exactly the expected bytes, and dotenv loads the new key`, async () => {
      const path = await envFile(fixture.before);
      const key = fakeAccessKeyPair();
      const othersBefore = dotenvLoad(path);
      await envStore({ path }).write(key);
      expect(await readFile(path, "utf8")).toBe(fixture.after(key));
      const loaded = dotenvLoad(path);
      expect(loaded.AWS_ACCESS_KEY_ID).toBe(key.accessKeyId);
      expect(loaded.AWS_SECRET_ACCESS_KEY).toBe(key.secretAccessKey);
      const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _b, ...others } = loaded;
      const { AWS_ACCESS_KEY_ID: _c, AWS_SECRET_ACCESS_KEY: _d, ...othersWere } = othersBefore;
      expect(others).toEqual(othersWere);
    });
  }

  test("creates a missing file with mode 0600", async () => {
    const path = join(await tempDir(), ".env");
    const key = fakeAccessKeyPair();
    await envStore({ path }).write(key);
    expect(await readFile(path, "utf8")).toBe(`AWS_ACCESS_KEY_ID=${key.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${key.secretAccessKey}\n`);
    expect(await modeOf(path)).toBe(0o600);
  });

  test("keeps the file's mode", async () => {
    for (const mode of [0o600, 0o640, 0o644]) {
      const path = await envFile(RICH, mode);
      await envStore({ path }).write(fakeAccessKeyPair());
      expect(await modeOf(path)).toBe(mode);
    }
  });

  test("replaces the file by rename (a new inode) and leaves no temporary file behind", async () => {
    const path = await envFile(RICH);
    const before = await stat(path);
    await envStore({ path }).write(fakeAccessKeyPair());
    expect((await stat(path)).ino).not.toBe(before.ino);
    expect(await readdir(join(path, ".."))).toEqual([".env"]);
  });

  test("writing the key the file holds does not touch it", async () => {
    const path = await envFile(RICH);
    const before = await stat(path);
    await envStore({ path }).write({ ...OLD });
    const after = await stat(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await readFile(path, "utf8")).toBe(RICH);
  });

  test("through a symlink: writes the target, the link stays a link", async () => {
    const dir = await tempDir();
    const target = await envFile(RICH);
    const link = join(dir, ".env");
    await symlink(target, link);
    const key = fakeAccessKeyPair();
    await envStore({ path: link }).write(key);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await envStore({ path: target }).read()).toEqual(key);
  });

  test("through a dangling symlink: creates the target (0600), the link stays a link", async () => {
    const dir = await tempDir();
    const target = join(await tempDir(), "shared.env");
    const link = join(dir, ".env");
    await symlink(target, link);
    const key = fakeAccessKeyPair();
    await envStore({ path: link }).write(key);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await modeOf(target)).toBe(0o600);
    expect(await envStore({ path: link }).read()).toEqual(key);
  });

  test("a missing folder is ENOTFOUND and creates nothing", async () => {
    const dir = await tempDir();
    const path = join(dir, "missing", ".env");
    await expectRefused(path, () => envStore({ path }).write(fakeAccessKeyPair()), "ENOTFOUND");
    expect(await readdir(dir)).toEqual([]);
  });

  test("refusals leave the file byte-identical and reveal no secret", async () => {
    const key = fakeAccessKeyPair();
    const doubled = await envFile(`${RICH}\nAWS_ACCESS_KEY_ID=${OLD.accessKeyId}\n`);
    await expectRefused(doubled, () => envStore({ path: doubled }).write(key), "EINVALID", [key.secretAccessKey]);

    const notUtf8 = await envFile(Buffer.concat([Buffer.from(RICH), Buffer.from([0xc3, 0x28])]));
    await expectRefused(notUtf8, () => envStore({ path: notUtf8 }).write(key), "EINVALID", [key.secretAccessKey]);

    const rich = await envFile(RICH);
    const injected = { accessKeyId: key.accessKeyId, secretAccessKey: `${key.secretAccessKey}\nEVIL=1` };
    await expectRefused(rich, () => envStore({ path: rich }).write(injected), "EBADKEY", [injected.secretAccessKey]);
    const dollar = { accessKeyId: key.accessKeyId, secretAccessKey: `${key.secretAccessKey}$HOME` };
    await expectRefused(rich, () => envStore({ path: rich }).write(dollar), "EBADKEY", [dollar.secretAccessKey]);
    await expectRefused(rich, () => envStore({ path: rich }).write(undefined as unknown as AccessKeyPair), "EBADKEY");
  });
});

describe("backup() and restore()", () => {
  test("backup() copies the exact bytes to <file>.keyup-backup (mode 0600) and returns their sha256", async () => {
    const path = await envFile(RICH, 0o644);
    const store = envStore({ path });
    const backup = await store.backup();
    const bytes = await readFile(path);
    expect(backup).toEqual({ id: sha256(bytes), location: `${path}.keyup-backup` });
    expect(await readFile(`${path}.keyup-backup`)).toEqual(bytes);
    expect(await modeOf(`${path}.keyup-backup`)).toBe(0o600);
    expect(findSecretLeaks(backup, [OLD.secretAccessKey])).toEqual([]);
  });

  test("discard() deletes this backup once the rotation is over, and leaves one a later backup replaced", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    const first = await store.backup();
    await store.write(fakeAccessKeyPair());
    const written = await readFile(path);
    await store.discard?.(first);
    expect(existsSync(`${path}.keyup-backup`)).toBe(false);
    expect(await readFile(path)).toEqual(written);
    await store.discard?.(first);
    const second = await store.backup();
    await store.write(fakeAccessKeyPair());
    await store.discard?.(first);
    expect(sha256(await readFile(`${path}.keyup-backup`))).toBe(second.id);
    await store.discard?.(second);
    expect((await readdir(join(path, ".."))).sort()).toEqual([".env"]);
  });

  test("restore() puts the exact bytes back, keeping the file's mode, from a new store object", async () => {
    const path = await envFile(RICH, 0o640);
    const backup = JSON.parse(JSON.stringify(await envStore({ path }).backup()));
    await envStore({ path }).write(fakeAccessKeyPair());
    await envStore({ path }).restore(backup);
    expect(await readFile(path, "utf8")).toBe(RICH);
    expect(await modeOf(path)).toBe(0o640);
  });

  test("restore() when the file already holds the backup's bytes does not touch it", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    const backup = await store.backup();
    const before = await stat(path);
    await store.restore(backup);
    expect((await stat(path)).ino).toBe(before.ino);
  });

  test("restore() of a file removed since the backup recreates it (0600)", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    const backup = await store.backup();
    await store.restore({ id: "absent" });
    expect(existsSync(path)).toBe(false);
    await store.restore(backup);
    expect(await readFile(path, "utf8")).toBe(RICH);
    expect(await modeOf(path)).toBe(0o600);
  });

  test("a missing file is captured as absent: no backup file, and restore() removes the file again", async () => {
    const path = join(await tempDir(), ".env");
    const store = envStore({ path });
    const backup = await store.backup();
    expect(backup).toEqual({ id: "absent" });
    expect(existsSync(`${path}.keyup-backup`)).toBe(false);
    await store.write(fakeAccessKeyPair());
    await store.restore(backup);
    expect(existsSync(path)).toBe(false);
    await store.restore(backup);
    expect(existsSync(path)).toBe(false);
  });

  test("restore() through a symlink writes the target and keeps the link", async () => {
    const dir = await tempDir();
    const target = await envFile(RICH);
    const link = join(dir, ".env");
    await symlink(target, link);
    const store = envStore({ path: link });
    const backup = await store.backup();
    await store.write(fakeAccessKeyPair());
    await store.restore(backup);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(target, "utf8")).toBe(RICH);
  });

  test("a backup file that was altered, replaced or removed is EBACKUP and the file stays as it is", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    const backup = await store.backup();
    const key = fakeAccessKeyPair();
    await store.write(key);

    await writeFile(`${path}.keyup-backup`, RICH.replace("3000", "3001"));
    const altered = await expectRefused(path, () => store.restore(backup), "EBACKUP", [key.secretAccessKey]);
    expect(altered.message).toContain("does not match");

    await store.backup();
    await expectRefused(path, () => store.restore(backup), "EBACKUP", [key.secretAccessKey]);

    await rm(`${path}.keyup-backup`);
    const missing = await expectRefused(path, () => store.restore(backup), "EBACKUP", [key.secretAccessKey]);
    expect(missing.message).toContain("does not exist");
  });

  test("a malformed backup id is EBACKUP, and is not echoed", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    await expectRefused(path, () => store.restore({ id: "md5:abc" }), "EBACKUP");
    await expectRefused(path, () => store.restore({ id: OLD.secretAccessKey }), "EBACKUP");
    await expectRefused(path, () => store.restore(undefined as unknown as { id: string }), "EBACKUP");
  });
});

describe("secrets", () => {
  test("no file this store writes besides the .env and its backup holds a secret", async () => {
    const path = await envFile(RICH);
    const store = envStore({ path });
    const lock = await store.lock();
    await store.backup();
    const key = fakeAccessKeyPair();
    await store.write(key);
    const holder = await readFile(`${path}.lock/holder.json`, "utf8");
    expect(findSecretLeaks(holder, [OLD.secretAccessKey, key.secretAccessKey])).toEqual([]);
    await lock.release();
    const dir = join(path, "..");
    expect((await readdir(dir)).sort()).toEqual([".env", ".env.keyup-backup"]);
  });

  test("the store's name holds no secret even when the path is odd", async () => {
    const dir = join(await tempDir(), "odd dir #1");
    await mkdir(dir);
    const path = join(dir, ".env.production");
    await writeFile(path, RICH);
    const store = envStore({ path });
    expect(store.name).toBe(`env:${path}`);
    expect(findSecretLeaks(store.name, [OLD.secretAccessKey])).toEqual([]);
    expect(await store.read()).toEqual(OLD);
  });
});
