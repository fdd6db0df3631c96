import { lstat, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessKeyPair } from "@keyup/core";
import { fakeAccessKeyPair, findSecretLeaks, secretPiece } from "@keyup/store-test-suite";
import { afterEach, describe, expect, test } from "vitest";
import { jsonFileStore } from "./json-file-store.js";

// What the conformance suite cannot know about this store: JSON itself. Every refusal is checked for
// its code, for leaving the file byte for byte as it was, and for not revealing the secret in it.

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function fileWith(content: string | Buffer, mode = 0o600): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keyup-json-store-"));
  dirs.push(dir);
  const path = join(dir, "config.json");
  await writeFile(path, content, { mode });
  return path;
}

async function caught(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a store error, nothing was thrown");
}

const pair = (key: AccessKeyPair): string => `"accessKeyId": "${key.accessKeyId}", "secretAccessKey": "${key.secretAccessKey}"`;

describe("options", () => {
  test.each([
    ["no path", { path: "", pointer: "/aws" }],
    ["a pointer without a leading slash", { path: "config.json", pointer: "aws" }],
    ["a bad ~ escape", { path: "config.json", pointer: "/a~2b" }],
    ["an empty member name", { path: "config.json", pointer: "/aws/" }],
    ["__proto__", { path: "config.json", pointer: "/__proto__" }],
  ])("%s is EINVALID", (_label, options) => {
    expect(() => jsonFileStore(options)).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });

  test("~1 and ~0 unescape, and each pointer gets its own backup and journal beside the file", () => {
    const store = jsonFileStore({ path: "/srv/app/config.json", pointer: "/paths/a~1b.c~0" });
    expect(store.name).toBe("json:/srv/app/config.json#/paths/a~1b.c~0");
    expect(store.backupPath).toBe("/srv/app/config.json.keyup-backup.paths.a%2Fb%2Ec~");
    expect(store.journalPath).toBe("/srv/app/config.json.keyup-journal.paths.a%2Fb%2Ec~");
    expect(jsonFileStore({ path: "/srv/app/config.json", pointer: "" }).journalPath).toBe("/srv/app/config.json.keyup-journal");
  });
});

describe("content the store refuses, leaving the file as it was", () => {
  const key = fakeAccessKeyPair();
  const cases: [label: string, content: string | Buffer, code: string][] = [
    ["text that is not JSON", `{ "aws": { ${pair(key)} oops } }\n`, "EINVALID"],
    ["JSON with a comment", `{ "aws": { ${pair(key)} } // the deploy key\n}\n`, "EINVALID"],
    ["half a key", `{ "aws": { "secretAccessKey": "${key.secretAccessKey}" } }\n`, "EINVALID"],
    ["a key field that is not a string", `{ "aws": { "accessKeyId": 42, "secretAccessKey": "${key.secretAccessKey}" } }\n`, "EINVALID"],
    ["a path through an array", `{ "aws": [{ ${pair(key)} }] }\n`, "EINVALID"],
    ["a top level that is not an object", `["${key.secretAccessKey}"]\n`, "EINVALID"],
    ["bytes that are not UTF-8", Buffer.concat([Buffer.from(`{ "aws": { ${pair(key)}, "x": "`), Buffer.from([0xff]), Buffer.from('" } }\n')]), "EINVALID"],
  ];

  for (const [label, content, code] of cases) {
    test(`${label}: read() and write() throw ${code}`, async () => {
      const path = await fileWith(content);
      const before = await readFile(path);
      const store = jsonFileStore({ path, pointer: "/aws" });
      for (const error of [await caught(() => store.read()), await caught(() => store.write(fakeAccessKeyPair()))]) {
        expect(error.code).toBe(code);
        expect(findSecretLeaks(error, [key.secretAccessKey])).toEqual([]);
      }
      expect(await readFile(path)).toEqual(before);
    });
  }

  test("a secret written without quotes: the error leaves out the parser's message, which quotes it", async () => {
    // Starts with a letter that begins no JSON literal, so the parser stops at its first character.
    const secret = `Q${secretPiece(39)}`;
    const text = `{ "aws": { "accessKeyId": "${key.accessKeyId}", "secretAccessKey": ${secret} } }\n`;
    const path = await fileWith(text);
    const start = secret.slice(0, 10);
    expect(() => JSON.parse(text)).toThrow(start);
    const error = await caught(() => jsonFileStore({ path, pointer: "/aws" }).read());
    expect(error.code).toBe("EINVALID");
    expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain(start);
  });

  test("a member given twice: write() refuses rather than edit one copy while readers see the other", async () => {
    const other = fakeAccessKeyPair();
    const path = await fileWith(`{ "aws": { ${pair(key)}, "accessKeyId": "${other.accessKeyId}" } }\n`);
    const before = await readFile(path);
    const error = await caught(() => jsonFileStore({ path, pointer: "/aws" }).write(fakeAccessKeyPair()));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toMatch(/duplicated/);
    expect(findSecretLeaks(error, [key.secretAccessKey])).toEqual([]);
    expect(await readFile(path)).toEqual(before);
  });

  test("a missing file is ENOTFOUND for read, write, backup and lock, and none of them creates it", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "keyup-json-store-")), "absent.json");
    dirs.push(join(path, ".."));
    const store = jsonFileStore({ path, pointer: "/aws" });
    for (const call of [() => store.read(), () => store.write(fakeAccessKeyPair()), () => store.backup(), () => store.lock()]) {
      expect((await caught(call)).code).toBe("ENOTFOUND");
    }
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });
});

describe("writes", () => {
  test("new members follow the file's tabs and CRLF line endings; missing objects on the path are created", async () => {
    const path = await fileWith('{\r\n\t"name": "billing"\r\n}\r\n');
    const key = fakeAccessKeyPair();
    await jsonFileStore({ path, pointer: "/deploy/aws" }).write(key);
    expect(await readFile(path, "utf8")).toBe(
      `{\r\n\t"name": "billing",\r\n\t"deploy": {\r\n\t\t"aws": {\r\n\t\t\t"accessKeyId": "${key.accessKeyId}",\r\n\t\t\t"secretAccessKey": "${key.secretAccessKey}"\r\n\t\t}\r\n\t}\r\n}\r\n`,
    );
  });

  test("the file ends up mode 0600 even if it was readable by others, and a symlink stays a link to it", async () => {
    const target = await fileWith(`{ "aws": {} }\n`, 0o644);
    const link = join(target, "..", "link.json");
    await symlink(target, link);
    const key = fakeAccessKeyPair();
    await jsonFileStore({ path: link, pointer: "/aws" }).write(key);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(JSON.parse(await readFile(target, "utf8"))).toEqual({ aws: key });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  test("two keys in one file: separate backups, one lock", async () => {
    const [a, b] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    const path = await fileWith(`{ "prod": { ${pair(a)} }, "staging": { ${pair(b)} } }\n`);
    const prod = jsonFileStore({ path, pointer: "/prod" });
    const staging = jsonFileStore({ path, pointer: "/staging" });
    const lock = await prod.lock();
    expect((await caught(() => staging.lock())).code).toBe("ELOCKED");
    await lock.release();
    const prodBackup = await prod.backup();
    await prod.write(fakeAccessKeyPair());
    await staging.backup();
    await prod.restore(prodBackup);
    expect(await prod.read()).toEqual(a);
    expect(await staging.read()).toEqual(b);
  });

  test("the backup is a 0600 copy of the file; discard() deletes it, but not a copy a later backup made", async () => {
    const original = `{ "deploy": { ${pair(fakeAccessKeyPair())} } }\n`;
    const path = await fileWith(original, 0o644);
    const store = jsonFileStore({ path, pointer: "/deploy" });
    const first = await store.backup();
    expect(await readFile(store.backupPath, "utf8")).toBe(original);
    expect((await stat(store.backupPath)).mode & 0o777).toBe(0o600);
    await store.write(fakeAccessKeyPair());
    const second = await store.backup();
    await store.discard?.(first);
    expect(await readFile(store.backupPath, "utf8")).toBe(await readFile(path, "utf8"));
    await store.discard?.(second);
    await expect(stat(store.backupPath)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
