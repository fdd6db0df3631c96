import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { AccessKeyPair } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURES, OLD } from "./fixtures.js";
import { awsCliKey, bytesOf, exposedText, fakeKey, iniPackageKey, rejection, sdkKey, tempDir, thrown } from "./support.js";

async function fileWith(text: string | Buffer, mode = 0o600): Promise<string> {
  const path = join(await tempDir(), "credentials");
  await writeFile(path, text, { mode });
  await chmod(path, mode);
  return path;
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe("iniStore options", () => {
  const saved = { file: process.env.AWS_SHARED_CREDENTIALS_FILE, home: process.env.HOME };
  afterEach(() => {
    for (const [name, value] of [
      ["AWS_SHARED_CREDENTIALS_FILE", saved.file],
      ["HOME", saved.home],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("names itself ini:<path>#<profile> and declares its capabilities", async () => {
    const path = await fileWith("");
    const store = iniStore({ profile: "ci", path });
    expect(store.name).toBe(`ini:${path}#ci`);
    expect(store.path).toBe(path);
    expect(store.profile).toBe("ci");
    expect(store.backupPath).toBe(`${path}.keyup-backup.ci`);
    expect(store.journalPath).toBe(`${path}.keyup-journal.ci`);
    expect(iniStore({ profile: "team/x y", path }).journalPath).toBe(`${path}.keyup-journal.team%2Fx%20y`);
    expect(store.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
  });

  it("defaults to AWS_SHARED_CREDENTIALS_FILE, then ~/.aws/credentials", async () => {
    const home = await tempDir();
    process.env.HOME = home;
    delete process.env.AWS_SHARED_CREDENTIALS_FILE;
    expect(homedir()).toBe(home);
    expect(iniStore({ profile: "default" }).path).toBe(join(home, ".aws", "credentials"));
    process.env.AWS_SHARED_CREDENTIALS_FILE = "~/elsewhere/creds";
    expect(iniStore({ profile: "default" }).path).toBe(join(home, "elsewhere", "creds"));
    expect(iniStore({ profile: "default", path: "~/given" }).path).toBe(join(home, "given"));
    expect(iniStore({ profile: "default", path: "relative/creds" }).path).toBe(resolve("relative/creds"));
  });

  it("reads the default file from the home folder", async () => {
    const home = await tempDir();
    process.env.HOME = home;
    delete process.env.AWS_SHARED_CREDENTIALS_FILE;
    await mkdir(join(home, ".aws"));
    await writeFile(join(home, ".aws", "credentials"), `[default]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`);
    expect(await iniStore({ profile: "default" }).read()).toEqual(OLD);
  });

  it("refuses profile names that cannot be a section header", () => {
    for (const profile of ["", " ci", "a]b", "x\n[y"]) {
      const error = thrown(() => iniStore({ profile, path: "/tmp/unused" }));
      expect(error.code).toBe("EINVALID");
    }
  });
});

describe.concurrent("write over every fixture", () => {
  it.each(FIXTURES)("$name", async (fixture) => {
    const path = await fileWith(fixture.before);
    const store = iniStore({ profile: fixture.profile, path });
    if (fixture.missing) expect((await rejection(store.read())).code).toBe("ENOTFOUND");
    else expect(await store.read()).toEqual(fixture.held);

    const key = fakeKey();
    await store.write(key);

    expect((await bytesOf(path)).equals(Buffer.from(fixture.after(key), "utf8"))).toBe(true);
    expect(await store.read()).toEqual(key);
    if (fixture.iniPackage) expect(iniPackageKey(await readFile(path, "utf8"), fixture.profile)).toEqual(key);
    if (fixture.sdk) expect(await sdkKey(path, fixture.profile)).toEqual(key);
  });

  it.each(FIXTURES)("backup, write, restore gives the exact bytes back: $name", async (fixture) => {
    const path = await fileWith(fixture.before);
    const original = await bytesOf(path);
    const store = iniStore({ profile: fixture.profile, path });
    const backup = await store.backup();
    await store.write(fakeKey());
    await store.write(fakeKey());
    expect((await bytesOf(path)).equals(original)).toBe(false);
    await store.restore(backup);
    expect((await bytesOf(path)).equals(original)).toBe(true);
  });
});

// Sequential and with a long timeout: each AWS CLI run costs about half a second of CPU, and tests of
// other packages may be running on the same cores.
describe("the AWS CLI reads back what was written", () => {
  it.each(FIXTURES.filter((fixture) => fixture.cli))(
    "$name",
    async (fixture) => {
      const path = await fileWith(fixture.before);
      const key = fakeKey();
      await iniStore({ profile: fixture.profile, path }).write(key);
      expect(await awsCliKey(path, fixture.profile)).toEqual(key);
    },
    60_000,
  );
});

describe("write", () => {
  it("creates a missing file (and folder) with mode 0600 that the AWS CLI and SDK read", { timeout: 60_000 }, async () => {
    const path = join(await tempDir(), "new-folder", "credentials");
    const store = iniStore({ profile: "ci", path });
    expect((await rejection(store.read())).code).toBe("ENOTFOUND");
    const key = fakeKey();
    await store.write(key);
    expect(await modeOf(path)).toBe(0o600);
    expect(await readFile(path, "utf8")).toBe(`[ci]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`);
    expect(await awsCliKey(path, "ci")).toEqual(key);
    expect(await sdkKey(path, "ci")).toEqual(key);
  });

  it("keeps the mode of an existing file and leaves no temp file behind", async () => {
    const path = await fileWith(`[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`, 0o640);
    await iniStore({ profile: "ci", path }).write(fakeKey());
    expect(await modeOf(path)).toBe(0o640);
    expect(await readdir(join(path, ".."))).toEqual(["credentials"]);
  });

  it("writes through a symlink to its target and keeps the link", async () => {
    const dir = await tempDir();
    const target = join(dir, "real-credentials");
    const link = join(dir, "credentials");
    await writeFile(target, `[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`, { mode: 0o600 });
    await symlink("real-credentials", link);
    const key = fakeKey();
    await iniStore({ profile: "ci", path: link }).write(key);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe("real-credentials");
    expect(await readFile(target, "utf8")).toBe(`[ci]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`);
    expect(await sdkKey(link, "ci")).toEqual(key);
    expect((await readdir(dir)).sort()).toEqual(["credentials", "real-credentials"]);
  });

  it("creates the target of a dangling symlink and keeps the link", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "dotfiles"));
    const link = join(dir, "credentials");
    await symlink(join(dir, "dotfiles", "aws-credentials"), link);
    const key = fakeKey();
    await iniStore({ profile: "ci", path: link }).write(key);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await modeOf(join(dir, "dotfiles", "aws-credentials"))).toBe(0o600);
    expect(await sdkKey(link, "ci")).toEqual(key);
  });

  it("does nothing when the profile already holds the key", async () => {
    const path = await fileWith(`[ci]\naws_access_key_id = ${OLD.accessKeyId} # keep\naws_secret_access_key = ${OLD.secretAccessKey}`);
    const before = await stat(path);
    await iniStore({ profile: "ci", path }).write({ ...OLD });
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it("refuses what is not an access key pair, touching nothing and echoing nothing", async () => {
    const text = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`;
    const path = await fileWith(text);
    const store = iniStore({ profile: "ci", path });
    const bad: unknown[] = [
      { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: "line\nbreak/secretvalue0000000000000000" },
      { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: 'quote"secretvalue0000000000000000000000' },
      { accessKeyId: "short", secretAccessKey: "x/secretvalue00000000000000000000000000" },
      { accessKeyId: "AKIAAAAAAAAAAAAAAAAA" },
      null,
    ];
    for (const key of bad) {
      const error = await rejection(store.write(key as AccessKeyPair));
      expect(error.code).toBe("EBADKEY");
      expect(exposedText(error)).not.toMatch(/secretvalue/);
    }
    expect(await readFile(path, "utf8")).toBe(text);
  });
});

const S = OLD.secretAccessKey;
const I = OLD.accessKeyId;
const TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE0123456789abcdefSECRETTOKEN";

interface BadCase {
  readonly name: string;
  readonly content: string | Buffer;
  readonly code: string;
  readonly mentions: readonly string[];
  /** write() refuses it too (a missing profile is created instead). */
  readonly writeRefuses: boolean;
}

const BAD: readonly BadCase[] = [
  {
    name: "missing profile",
    content: `[default]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\n[ prod ]\nregion = x\n`,
    code: "ENOTFOUND",
    mentions: ['"ci" not found', "default, prod"],
    writeRefuses: false,
  },
  {
    name: "session token",
    content: `[ci]\naws_access_key_id = ASIAEXAMPLE000000000\naws_secret_access_key = ${S}\naws_session_token = ${TOKEN}\n`,
    code: "EUNSUPPORTED",
    mentions: ["aws_session_token", "temporary credentials cannot be rotated"],
    writeRefuses: true,
  },
  {
    name: "security token, upper case",
    content: `[ci]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\nAWS_SECURITY_TOKEN = ${TOKEN}\n`,
    code: "EUNSUPPORTED",
    mentions: ["aws_security_token", "temporary credentials"],
    writeRefuses: true,
  },
  {
    name: "role profile with source_profile",
    content: `[base]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\n[ci]\nrole_arn = arn:aws:iam::123456789012:role/ci\nsource_profile = base\n`,
    code: "EUNSUPPORTED",
    mentions: ["role_arn", 'source_profile "base" instead'],
    writeRefuses: true,
  },
  {
    name: "credential_process",
    content: `[ci]\ncredential_process = /usr/bin/get-creds --secret ${S}\n`,
    code: "EUNSUPPORTED",
    mentions: ["credential_process"],
    writeRefuses: true,
  },
  {
    name: "SSO profile",
    content: "[ci]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
    code: "EUNSUPPORTED",
    mentions: ["sso_session"],
    writeRefuses: true,
  },
  {
    name: "duplicate profile",
    content: `[ci]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\n\n[ci]\nregion = x\n`,
    code: "EINVALID",
    mentions: ["appears 2 times"],
    writeRefuses: true,
  },
  {
    name: "duplicate key",
    content: `[ci]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\nAWS_SECRET_ACCESS_KEY = ${S}x\n`,
    code: "EINVALID",
    mentions: ["aws_secret_access_key twice", "lines 3 and 4"],
    writeRefuses: true,
  },
  {
    name: "only the access key id",
    content: `[ci]\naws_access_key_id = ${I}\n`,
    code: "EINVALID",
    mentions: ["sets aws_access_key_id but no aws_secret_access_key"],
    writeRefuses: true,
  },
  {
    name: "only the secret",
    content: `[ci]\naws_secret_access_key = ${S}\naws_access_key_id =\n`,
    code: "EINVALID",
    mentions: ["no aws_access_key_id"],
    writeRefuses: true,
  },
  {
    name: "a value continued on an indented line",
    content: `[ci]\naws_access_key_id = ${I}\n  aws_secret_access_key = ${S}\n`,
    code: "EINVALID",
    mentions: ["more-indented lines"],
    writeRefuses: true,
  },
  {
    name: "not UTF-8",
    content: Buffer.concat([Buffer.from(`[ci]\naws_access_key_id = ${I}\naws_secret_access_key = ${S}\n# caf`), Buffer.from([0xe9, 0x0a])]),
    code: "EINVALID",
    mentions: ["not valid UTF-8"],
    writeRefuses: true,
  },
];

describe("every bad file gets a typed error, leaves the file byte-identical and shows no secret", () => {
  it.each(BAD)("read: $name", async (bad) => {
    const path = await fileWith(bad.content);
    const before = await bytesOf(path);
    const error = await rejection(iniStore({ profile: "ci", path }).read());
    expect(error.code).toBe(bad.code);
    for (const text of bad.mentions) expect(error.message).toContain(text);
    expect(error.message).toContain(path);
    const exposed = exposedText(error);
    for (const secret of [S, I, TOKEN]) expect(exposed).not.toContain(secret);
    expect((await bytesOf(path)).equals(before)).toBe(true);
  });

  it.each(BAD.filter((bad) => bad.writeRefuses))("write and backup/restore: $name", async (bad) => {
    const path = await fileWith(bad.content);
    const before = await bytesOf(path);
    const store = iniStore({ profile: "ci", path });
    const error = await rejection(store.write(fakeKey()));
    expect(error.code).toBe(bad.code);
    for (const secret of [S, I, TOKEN]) expect(exposedText(error)).not.toContain(secret);
    expect((await bytesOf(path)).equals(before)).toBe(true);
    // Backup and restore only copy bytes, so they work on any file.
    const backup = await store.backup();
    await store.restore(backup);
    expect((await bytesOf(path)).equals(before)).toBe(true);
  });

  it("a missing file is ENOTFOUND", async () => {
    const path = join(await tempDir(), "credentials");
    const error = await rejection(iniStore({ profile: "ci", path }).read());
    expect(error.code).toBe("ENOTFOUND");
    expect(error.message).toContain(path);
  });

  it("an unreadable file is EIO", async () => {
    const path = join(await tempDir(), "credentials");
    // Tests may run as root, which reads any file; a folder is unreadable as a file for everyone.
    await mkdir(path);
    const store = iniStore({ profile: "ci", path });
    expect((await rejection(store.read())).code).toBe("EIO");
    expect((await rejection(store.write(fakeKey()))).code).toBe("EIO");
  });

  it("a profile without key values is the empty store", async () => {
    const path = await fileWith("[ci]\nregion = eu-west-1\n");
    expect(await iniStore({ profile: "ci", path }).read()).toBeUndefined();
  });
});
