import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, expect, test } from "vitest";
import { runExampleScript } from "../../test-support/example-script.js";
import { createAdmin, createUser, enforceAuth, keysOf, resetEmulator, type TestKey, tempDir } from "../../test-support/moto.js";

beforeEach(resetEmulator);

test("the CI example rotates a profile's key against the emulator", async () => {
  const admin = await createAdmin();
  const user = await createUser("ci-example");
  const old = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, `[ci]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
  await enforceAuth();

  const { code, stdout, stderr } = await runExampleScript("ci-rotate/rotate.ts", { HOME: dir, KEYUP_PROFILE: "ci", AWS_SHARED_CREDENTIALS_FILE: file });

  expect(code).toBe(0);
  const keys = await keysOf(admin, "ci-example");
  expect(keys).toHaveLength(1);
  expect(stdout).toContain(`rotated ci-example: ${old.accessKeyId} -> ${keys[0]?.id}`);
  expect(stderr).toBe("");
  expect(await readFile(file, "utf8")).toContain(keys[0]?.id);
  expect(stdout).not.toContain(old.secretAccessKey);
});
