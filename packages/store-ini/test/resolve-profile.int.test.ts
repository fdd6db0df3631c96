import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { iniStore, resolveProfile } from "@keyup/store-ini";
import { beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";
import { rotate } from "../../../test-support/observed.js";
import { awsCliKey } from "./support.js";

// The library path a script takes for a role profile: resolveProfile names the profile holding the
// key, iniStore edits it, rotate() runs against moto with authentication enforced.

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

describe("resolveProfile + iniStore + rotate() for a role profile", () => {
  test("prod -> mid -> base: base's key is rotated, every other byte of both files kept", async () => {
    const base = (await createUser("lib-base")).keys[0] as TestKey;
    const dir = await tempDir();
    const path = join(dir, "credentials");
    const configPath = join(dir, "config");
    const credentials = `[base]\naws_access_key_id = ${base.accessKeyId}\naws_secret_access_key = ${base.secretAccessKey}\n[mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\nsource_profile = base\n`;
    const config = "[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/prod\nsource_profile = mid\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n";
    await writeFile(path, credentials, { mode: 0o600 });
    await writeFile(configPath, config, { mode: 0o600 });
    await enforceAuth();

    const resolved = await resolveProfile({ profile: "prod", path, configPath });
    expect(resolved._unsafeUnwrap()).toMatchObject({ keyProfile: "base", chain: ["prod", "mid", "base"], mfaSerial: "arn:aws:iam::123456789012:mfa/me" });
    const result = await rotate({ store: iniStore({ profile: resolved._unsafeUnwrap().keyProfile, path }), endpoint: motoUrl(), region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const newId = result._unsafeUnwrap().newAccessKeyId ?? "";
    expect(await keysOf(admin, "lib-base")).toEqual([{ id: newId, status: "Active" }]);
    const written = await awsCliKey(path, "base");
    expect(written.accessKeyId).toBe(newId);
    expect(await readFile(path, "utf8")).toBe(credentials.replace(base.accessKeyId, newId).replace(base.secretAccessKey, written.secretAccessKey));
    expect(await readFile(configPath, "utf8")).toBe(config);
  });
});
