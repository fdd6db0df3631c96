import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeEach, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir } from "../../test-support/moto.js";

const run = promisify(execFile);
const examples = fileURLToPath(new URL("..", import.meta.url));

beforeEach(resetEmulator);

test("the CI example rotates a profile's key against the emulator", async () => {
  const admin = await createAdmin();
  const user = await createUser("ci-example");
  const old = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, `[ci]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
  await enforceAuth();

  const { stdout, stderr } = await run(join(examples, "node_modules", ".bin", "tsx"), ["ci-rotate/rotate.ts"], {
    cwd: examples,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      KEYUP_PROFILE: "ci",
      AWS_SHARED_CREDENTIALS_FILE: file,
      AWS_ENDPOINT_URL: motoUrl(),
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  });

  const keys = await keysOf(admin, "ci-example");
  expect(keys).toHaveLength(1);
  expect(stdout).toContain(`rotated ci-example: ${old.accessKeyId} -> ${keys[0]?.id}`);
  expect(stderr).toBe("");
  expect(await readFile(file, "utf8")).toContain(keys[0]?.id);
  expect(stdout).not.toContain(old.secretAccessKey);
});
