import { createHash } from "node:crypto";
import { access, chmod, lstat, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { iniStore } from "@keyup/store-ini";
import { describe, expect, it } from "vitest";
import { OLD } from "./fixtures.js";
import { bytesOf, exposedText, fakeKey, rejection, sdkKey, tempDir } from "./support.js";

const A = { accessKeyId: "AKIAAAAAAAAAAAAAAAA1", secretAccessKey: "aaaaSecret/+aaaaaaaaaaaaaaaaaaaaaaaaaaaa1" };
const B = { accessKeyId: "AKIABBBBBBBBBBBBBBB2", secretAccessKey: "bbbbSecret/+bbbbbbbbbbbbbbbbbbbbbbbbbbbb2" };

const TWO_PROFILES = `# team file\r\n[a]\r\naws_access_key_id = ${A.accessKeyId}\r\naws_secret_access_key = ${A.secretAccessKey}\r\nregion = eu-west-1\r\n\r\n[b]\r\n; b's key\r\naws_access_key_id = ${B.accessKeyId}\r\naws_secret_access_key = ${B.secretAccessKey}`;

async function fileWith(text: string, mode = 0o600): Promise<string> {
  const path = join(await tempDir(), "credentials");
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe("backup", () => {
  it("copies the exact bytes next to the file, mode 0600, and names them by their sha256", async () => {
    const path = await fileWith(TWO_PROFILES, 0o644);
    const store = iniStore({ profile: "a", path });
    const backup = await store.backup();
    const original = await bytesOf(path);
    expect(backup).toEqual({ id: sha256(original), location: `${path}.keyup-backup.a` });
    expect((await bytesOf(`${path}.keyup-backup.a`)).equals(original)).toBe(true);
    expect((await stat(`${path}.keyup-backup.a`)).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(backup)).not.toContain(A.secretAccessKey);
  });

  it("keeps one backup file per profile, with the profile name made safe for a file name", async () => {
    const path = await fileWith(`[a]\n[b]\n[team/x y%]\n`);
    await iniStore({ profile: "a", path }).backup();
    await iniStore({ profile: "b", path }).backup();
    const odd = await iniStore({ profile: "team/x y%", path }).backup();
    expect(odd.location).toBe(`${path}.keyup-backup.team%2Fx%20y%25`);
    expect((await readdir(join(path, ".."))).sort()).toEqual([
      "credentials",
      "credentials.keyup-backup.a",
      "credentials.keyup-backup.b",
      "credentials.keyup-backup.team%2Fx%20y%25",
    ]);
  });

  it("captures a missing file as absent: restore removes the file again", async () => {
    const path = join(await tempDir(), "credentials");
    const store = iniStore({ profile: "ci", path });
    const backup = await store.backup();
    expect(backup.id).toBe("absent");
    await store.write(fakeKey());
    expect(await exists(path)).toBe(true);
    await store.restore(backup);
    expect(await exists(path)).toBe(false);
    await store.restore(backup);
    expect(await exists(path)).toBe(false);
  });
});

describe("restore", () => {
  it("is idempotent and works from another store object (a new process)", async () => {
    const path = await fileWith(TWO_PROFILES);
    const original = await bytesOf(path);
    const backup = await iniStore({ profile: "a", path }).backup();
    await iniStore({ profile: "a", path }).write(fakeKey());
    const later = iniStore({ profile: "a", path });
    await later.restore(JSON.parse(JSON.stringify(backup)));
    await later.restore(backup);
    expect((await bytesOf(path)).equals(original)).toBe(true);
    expect(await sdkKey(path, "a")).toEqual(A);
  });

  it("keeps another profile's change made meanwhile, putting back only this profile's values", async () => {
    const path = await fileWith(TWO_PROFILES);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    const newA = fakeKey();
    const newB = fakeKey();
    await a.write(newA);
    await iniStore({ profile: "b", path }).write(newB);
    await a.restore(backup);
    expect(await a.read()).toEqual(A);
    expect(await iniStore({ profile: "b", path }).read()).toEqual(newB);
    expect(await readFile(path, "utf8")).toBe(TWO_PROFILES.replace(B.accessKeyId, newB.accessKeyId).replace(B.secretAccessKey, newB.secretAccessKey));
    expect(await sdkKey(path, "b")).toEqual(newB);
  });

  it("two profiles rotated at once: each restore undoes only its own profile", async () => {
    const path = await fileWith(TWO_PROFILES);
    const original = await bytesOf(path);
    const a = iniStore({ profile: "a", path });
    const b = iniStore({ profile: "b", path });
    const backupA = await a.backup();
    const backupB = await b.backup();
    await a.write(fakeKey());
    const newB = fakeKey();
    await b.write(newB);
    await a.restore(backupA);
    expect(await a.read()).toEqual(A);
    expect(await b.read()).toEqual(newB);
    await b.restore(backupB);
    expect((await bytesOf(path)).equals(original)).toBe(true);
  });

  it("a profile that held no key gets its inserted lines removed, even after others changed", async () => {
    const text = "[a]\nregion = eu-west-1\n\n[b]\nregion = us-east-1\n";
    const path = await fileWith(text);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await a.write(fakeKey());
    await a.restore(backup);
    expect(await readFile(path, "utf8")).toBe(text);

    await a.write(fakeKey());
    await writeFile(path, `${await readFile(path, "utf8")}output = json\n`);
    await a.restore(backup);
    expect(await readFile(path, "utf8")).toBe(`${text}output = json\n`);
  });

  it("a profile added by the write is removed again when another profile changed meanwhile", async () => {
    const text = "[b]\nregion = us-east-1\n";
    const path = await fileWith(text);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await a.write(fakeKey());
    const newB = fakeKey();
    await iniStore({ profile: "b", path }).write(newB);
    await a.restore(backup);
    expect(await readFile(path, "utf8")).toBe(
      `[b]\nregion = us-east-1\naws_access_key_id = ${newB.accessKeyId}\naws_secret_access_key = ${newB.secretAccessKey}\n`,
    );
  });

  it("a file created by the write keeps another profile written meanwhile", async () => {
    const path = join(await tempDir(), "credentials");
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await a.write(fakeKey());
    const newB = fakeKey();
    await iniStore({ profile: "b", path }).write(newB);
    await a.restore(backup);
    expect(await readFile(path, "utf8")).toBe(`[b]\naws_access_key_id = ${newB.accessKeyId}\naws_secret_access_key = ${newB.secretAccessKey}\n`);
  });

  it("puts back the values as written even where keyup would not rotate the profile", async () => {
    const text = `[a]\naws_access_key_id = ${A.accessKeyId}\naws_secret_access_key = ${A.secretAccessKey}\naws_session_token = tok\n[b]\nregion = x\n`;
    const path = await fileWith(text);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    // Someone else edits both profiles; restoring a must put its values back and keep b's change.
    await writeFile(path, text.replace(A.secretAccessKey, "changed/secret").replace("region = x", "region = y"));
    await a.restore(backup);
    expect(await readFile(path, "utf8")).toBe(text.replace("region = x", "region = y"));
  });

  it("refuses to merge when the backup's profile held half a key or the file is no longer text (EINVALID), touching nothing", async () => {
    const half = `[a]\naws_access_key_id = ${A.accessKeyId}\n[b]\nregion = x\n`;
    const path = await fileWith(half);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await writeFile(path, half.replace("region = x", "region = y"));
    const changed = await bytesOf(path);
    const error = await rejection(a.restore(backup));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toContain(a.backupPath);
    expect((await bytesOf(path)).equals(changed)).toBe(true);

    const binary = Buffer.from([0x5b, 0x61, 0x5d, 0x0a, 0xff, 0xfe, 0x0a]);
    await writeFile(path, binary);
    expect((await rejection(a.restore(backup))).code).toBe("EINVALID");
    expect((await bytesOf(path)).equals(binary)).toBe(true);
  });

  it("puts the whole file back when it was removed since the backup", async () => {
    const path = await fileWith(TWO_PROFILES);
    const original = await bytesOf(path);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await a.write(fakeKey());
    await rm(path);
    await a.restore(backup);
    expect((await bytesOf(path)).equals(original)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("keeps the file's mode and a symlink", async () => {
    const dir = await tempDir();
    const target = join(dir, "target");
    await writeFile(target, TWO_PROFILES);
    await chmod(target, 0o640);
    const link = join(dir, "credentials");
    await symlink(target, link);
    const a = iniStore({ profile: "a", path: link });
    const backup = await a.backup();
    await a.write(fakeKey());
    await a.restore(backup);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await stat(target)).mode & 0o777).toBe(0o640);
    expect(await readFile(target, "utf8")).toBe(TWO_PROFILES);
  });

  it("refuses a backup whose bytes do not match its id (EBACKUP), touching nothing", async () => {
    const path = await fileWith(TWO_PROFILES);
    const a = iniStore({ profile: "a", path });
    const backup = await a.backup();
    await a.write(fakeKey());
    const current = await bytesOf(path);

    await writeFile(a.backupPath, `[a]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`);
    const tampered = await rejection(a.restore(backup));
    expect(tampered.code).toBe("EBACKUP");
    expect(exposedText(tampered)).not.toContain(OLD.secretAccessKey);
    expect((await bytesOf(path)).equals(current)).toBe(true);
  });

  it("refuses a missing backup file or a malformed id (EBACKUP), touching nothing", async () => {
    const path = await fileWith(TWO_PROFILES);
    const original = await bytesOf(path);
    const a = iniStore({ profile: "a", path });
    const missing = await rejection(a.restore({ id: sha256(Buffer.from("whatever")) }));
    expect(missing.code).toBe("EBACKUP");
    expect(missing.message).toContain("does not exist");
    for (const id of ["", "sha256:xyz", "md5:abc", "../../etc/passwd", A.secretAccessKey]) {
      const error = await rejection(a.restore({ id }));
      expect(error.code).toBe("EBACKUP");
      if (id !== "") expect(exposedText(error)).not.toContain(id);
    }
    expect((await bytesOf(path)).equals(original)).toBe(true);
  });
});

describe("discard", () => {
  it("deletes this rotation's copy once it is over, leaving the credentials file as it is", async () => {
    const path = await fileWith(TWO_PROFILES);
    const store = iniStore({ profile: "a", path });
    const backup = await store.backup();
    await store.write(fakeKey());
    const written = await bytesOf(path);
    await store.discard?.(backup);
    expect(await exists(store.backupPath)).toBe(false);
    expect((await bytesOf(path)).equals(written)).toBe(true);
    // Twice is harmless, and so is a backup of a file that did not exist.
    await store.discard?.(backup);
    await store.discard?.({ id: "absent" });
    expect(await readdir(join(path, ".."))).toEqual(["credentials"]);
  });

  it("leaves a copy that a later backup replaced, and other profiles' copies", async () => {
    const path = await fileWith(TWO_PROFILES);
    const a = iniStore({ profile: "a", path });
    const first = await a.backup();
    await a.write(fakeKey());
    const second = await a.backup();
    await iniStore({ profile: "b", path }).backup();
    await a.discard?.(first);
    expect((await bytesOf(a.backupPath)).equals(await bytesOf(path))).toBe(true);
    expect(sha256(await bytesOf(a.backupPath))).toBe(second.id);
    expect(await exists(`${path}.keyup-backup.b`)).toBe(true);
  });
});
