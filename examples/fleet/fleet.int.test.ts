import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readProfile } from "@keyup/store-ini";
import { beforeEach, expect, test } from "vitest";
import { runExampleScript, type ScriptRun } from "../../test-support/example-script.js";
import { createAdmin, createUser, enforceAuth, keysOf, resetEmulator, type TestKey, tempDir, workingKey } from "../../test-support/moto.js";

beforeEach(resetEmulator);

/** Runs the example on `file`, with the file's throwaway folder as HOME. */
function runFleet(file: string, settings: Record<string, string> = {}): Promise<ScriptRun> {
  return runExampleScript("fleet/rotate.ts", { HOME: dirname(file), AWS_SHARED_CREDENTIALS_FILE: file, ...settings });
}

/** A profile section, with a comment inside it that must survive the rotation. */
function section(profile: string, key: TestKey): string {
  return `[${profile}]\n# owner: ${profile} team\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\nregion = us-east-1\n`;
}

test("the fleet example rotates all ten profiles of a file, the two sharing a key once, keeping every comment", async () => {
  const admin = await createAdmin();
  const users = await Promise.all(Array.from({ length: 9 }, (_, i) => createUser(`fleet-${i}`)));
  const profiles = users.map((user, i): readonly [string, TestKey, (typeof users)[number]] => [`p${i}`, user.keys[0] as TestKey, user]);
  const shared = profiles[8] as (typeof profiles)[number];
  profiles.push(["p8-copy", shared[1], shared[2]]);
  // A profile with a session token holds temporary credentials: the example leaves it alone.
  const sessionProfile =
    "[session]\naws_access_key_id = ASIAKEYUPTEMPORARY01\naws_secret_access_key = temporary-session-secret-000000000000\naws_session_token = token\n";
  const before = `# fleet credentials, managed by keyup\n\n${profiles.map(([p, key]) => section(p, key)).join("\n")}\n${sessionProfile}`;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, before, { mode: 0o600 });
  await enforceAuth();

  const { code, stdout, stderr } = await runFleet(file, { KEYUP_CONCURRENCY: "4" });

  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toContain(`rotating 10 profiles of ${file}, 4 at a time`);
  expect(stdout).toContain("10 stores: 10 rotated, 0 with warnings, 0 skipped, 0 failed");
  const after = await readFile(file, "utf8");
  let expected = before;
  for (const [profile, old, user] of profiles) {
    const held = readProfile(after, profile);
    if (!held) throw new Error(`profile ${profile} holds no key after the fleet rotation`);
    // Exactly one key per user: the shared key was rotated once, not twice.
    expect(await keysOf(admin, user.userName)).toEqual([{ id: held.accessKeyId, status: "Active" }]);
    expect(held.accessKeyId).not.toBe(old.accessKeyId);
    expect(await workingKey(held)).toBe(user.arn);
    expect(stdout).toMatch(new RegExp(`#${profile} +rotated +${old.accessKeyId} +${held.accessKeyId} `));
    expected = expected.replace(`= ${old.accessKeyId}\n`, `= ${held.accessKeyId}\n`).replace(`= ${old.secretAccessKey}\n`, `= ${held.secretAccessKey}\n`);
    for (const secret of [old.secretAccessKey, held.secretAccessKey]) expect(stdout).not.toContain(secret);
  }
  expect(readProfile(after, "p8-copy")).toEqual(readProfile(after, "p8"));
  // Every other byte is as it was: comments, regions, the session profile.
  expect(after).toBe(expected);
  expect(stdout).not.toContain("session");
});

test("a profile that fails does not stop the others, and the example exits 1 with the reason in the table", async () => {
  const admin = await createAdmin();
  const ok = await createUser("fleet-ok");
  // This user may not create keys: its rotation fails before anything changes.
  const denied = await createUser("fleet-denied", {
    policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:GetUser"], Resource: "*" }] },
  });
  const okKey = ok.keys[0] as TestKey;
  const deniedKey = denied.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, `${section("ok", okKey)}\n${section("denied", deniedKey)}`, { mode: 0o600 });
  await enforceAuth();

  const { code, stdout } = await runFleet(file);

  expect(code).toBe(1);
  expect(stdout).toContain("FAIL denied: failed");
  expect(stdout).toContain("2 stores: 1 rotated, 0 with warnings, 0 skipped, 1 failed");
  expect(stdout).toMatch(/#denied: .*CreateAccessKey/);
  expect(await keysOf(admin, "fleet-denied")).toEqual([{ id: deniedKey.accessKeyId, status: "Active" }]);
  const held = readProfile(await readFile(file, "utf8"), "ok");
  expect(held?.accessKeyId).not.toBe(okKey.accessKeyId);
  expect(await workingKey(held as TestKey)).toBe(ok.arn);
  expect(readProfile(await readFile(file, "utf8"), "denied")).toEqual(deniedKey);
});
