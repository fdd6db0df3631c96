import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { beforeEach, expect, test } from "vitest";
import { type KeyupRun, keyup } from "../../../test-support/cli.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  keysOf,
  motoUrl,
  ROTATION_POLICY,
  resetEmulator,
  type TestKey,
  tempDir,
  workingKey,
} from "../../../test-support/moto.js";
import { rememberSecret } from "../../../test-support/secrets.js";

// `--store secretsmanager:ID` with no ini or env store (issue 13): --profile, or else the default
// credential chain, signs the Secrets Manager calls; the key in the secret signs IAM. The user's own
// policy allows no Secrets Manager action, so a run that signed those calls with the secret's key fails.

const SIGNED_BY_ADMIN = "keyup: Secrets Manager calls signed by profile admin; IAM calls by the key in the secret\n";
const SIGNED_BY_CHAIN = "keyup: Secrets Manager calls signed by the default AWS credential chain; IAM calls by the key in the secret\n";

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

/** A user (IAM rights on itself only), its key in secret app/aws-key, an admin profile, auth enforced. */
async function secretAlone() {
  const user = await createUser("alone", { policy: ROTATION_POLICY });
  const old = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  const credentials = `[admin]\naws_access_key_id = ${admin.accessKeyId}\naws_secret_access_key = ${admin.secretAccessKey}\n`;
  await writeFile(file, credentials, { mode: 0o600 });
  const sm = new SecretsManagerClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin });
  await sm.send(
    new CreateSecretCommand({ Name: "app/aws-key", SecretString: JSON.stringify({ AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey }) }),
  );
  await enforceAuth();
  const env = { HOME: dir, XDG_STATE_HOME: join(dir, "state"), AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: join(dir, "config") };
  const secret = async () => {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: "app/aws-key", VersionStage: "AWSCURRENT" }));
    const value = JSON.parse(out.SecretString ?? "{}") as { AccessKeyId: string; SecretAccessKey: string };
    rememberSecret(value.SecretAccessKey);
    return value;
  };
  return { user, old, file, credentials, env, secret };
}

const ARGS = ["--store", "secretsmanager:app/aws-key", "--endpoint-url", "", "--region", "us-east-1"];
const args = (...extra: string[]) => [...ARGS.map((a) => (a === "" ? motoUrl() : a)), ...extra];

/** No secret (old, new, admin's) anywhere in what keyup printed. */
function expectNoSecret(run: KeyupRun, ...secrets: string[]) {
  for (const s of secrets) {
    expect(run.stdout.includes(s), "a secret on stdout").toBe(false);
    expect(run.stderr.includes(s), "a secret on stderr").toBe(false);
  }
}

/** The secret now holds a new key that works and is Active; the old key is gone; admin's key untouched. */
async function expectRotated(s: Awaited<ReturnType<typeof secretAlone>>) {
  const now = await s.secret();
  expect(now.AccessKeyId).not.toBe(s.old.accessKeyId);
  expect(await workingKey({ accessKeyId: now.AccessKeyId, secretAccessKey: now.SecretAccessKey })).toBe(s.user.arn);
  expect(await keysOf(admin, "alone")).toEqual([{ id: now.AccessKeyId, status: "Active" }]);
  expect((await keysOf(admin, "keyup-test-admin")).map((k) => k.id)).toEqual([admin.accessKeyId]);
  // The signing profile is not rotated: its file is as it was.
  expect(await readFile(s.file, "utf8")).toBe(s.credentials);
  return now;
}

test("--store secretsmanager:ID --profile admin rotates the secret's key; admin signs Secrets Manager, and says so", async () => {
  const s = await secretAlone();
  const run = await keyup(args("--profile", "admin", "--operation", "up", "--auto"), s.env);
  expect(run.stderr).toBe(SIGNED_BY_ADMIN);
  expect(run.code).toBe(0);
  expect(run.stdout).toBe("");
  const now = await expectRotated(s);
  expectNoSecret(run, s.old.secretAccessKey, now.SecretAccessKey, admin.secretAccessKey);
});

test("with no --profile, the default credential chain (an admin's key in the environment) signs, and says so", async () => {
  const s = await secretAlone();
  const run = await keyup(args("--operation", "up", "--auto"), {
    ...s.env,
    AWS_ACCESS_KEY_ID: admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
  });
  expect(run.stderr).toBe(SIGNED_BY_CHAIN);
  expect(run.code).toBe(0);
  const now = await expectRotated(s);
  expectNoSecret(run, s.old.secretAccessKey, now.SecretAccessKey, admin.secretAccessKey);
});

test("--operation list with the secret alone lists the secret's user's keys, the secret's marked", async () => {
  const s = await secretAlone();
  const run = await keyup(args("--profile", "admin", "--operation", "list", "--output", "json"), s.env);
  expect(run.stderr).toBe(SIGNED_BY_ADMIN);
  expect(run.code).toBe(0);
  const listed = JSON.parse(run.stdout) as { accessKeyId: string; inStore: boolean }[];
  expect(listed.map((k) => [k.accessKeyId, k.inStore])).toEqual([[s.old.accessKeyId, true]]);
  const table = await keyup(args("--profile", "admin", "--operation", "list"), s.env);
  expect(table.code).toBe(0);
  expect(table.stdout).toContain("Access keys for secretsmanager:app/aws-key");
  expect(table.stdout).toContain(s.old.accessKeyId);
  expect(table.stdout).not.toContain(admin.accessKeyId);
  expectNoSecret(run, s.old.secretAccessKey, admin.secretAccessKey);
  expectNoSecret(table, s.old.secretAccessKey, admin.secretAccessKey);
});

test("a signer without credentials (a missing profile) is a usage error before anything changes", async () => {
  const s = await secretAlone();
  const run = await keyup(args("--profile", "nobody", "--operation", "up", "--auto"), s.env);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/^keyup: no credentials to sign the Secrets Manager calls with \(profile nobody\): .*nobody/);
  expect(run.stderr.split("\n")).toHaveLength(2);
  expect(await s.secret()).toEqual({ AccessKeyId: s.old.accessKeyId, SecretAccessKey: s.old.secretAccessKey });
  expect(await keysOf(admin, "alone")).toEqual([{ id: s.old.accessKeyId, status: "Active" }]);
  expectNoSecret(run, s.old.secretAccessKey, admin.secretAccessKey);
});
