import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parse as parseDotenv } from "dotenv";
import { beforeEach, expect, test } from "vitest";
import { cleanEnv } from "../../test-support/cli.js";
import { runExampleScript, type ScriptRun } from "../../test-support/example-script.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, whoAmI, workingKey } from "../../test-support/moto.js";
import { captureOutput } from "../../test-support/secrets.js";
import { MULTI_STORE_POLICY } from "../local-runs.js";

const run = promisify(execFile);

beforeEach(resetEmulator);

/** A profile among others, a .env file with other settings, and a secret with another field, all holding `key`. */
async function setUp() {
  const admin = await createAdmin();
  const user = await createUser("app", { policy: MULTI_STORE_POLICY });
  const bystander = await createUser("bystander");
  const old = user.keys[0] as TestKey;
  const other = bystander.keys[0] as TestKey;
  const dir = await tempDir();
  const credentials = join(dir, "credentials");
  const dotenv = join(dir, ".env");
  const iniText = [
    "# team credentials",
    "[other]",
    `aws_access_key_id = ${other.accessKeyId}`,
    `aws_secret_access_key = ${other.secretAccessKey}`,
    "",
    "[app]",
    "; rotated by the multi-store example",
    `aws_access_key_id = ${old.accessKeyId}`,
    `aws_secret_access_key = ${old.secretAccessKey}`,
    "region = us-east-1",
    "",
  ].join("\n");
  const envText = `# app settings\nAPP_MODE=production\nexport AWS_ACCESS_KEY_ID="${old.accessKeyId}"\nAWS_SECRET_ACCESS_KEY='${old.secretAccessKey}'\nLOG_LEVEL=info # inline comment\n`;
  await writeFile(credentials, iniText, { mode: 0o600 });
  await writeFile(dotenv, envText, { mode: 0o600 });
  const sm = new SecretsManagerClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin, maxAttempts: 1 });
  await sm.send(
    new CreateSecretCommand({
      Name: "app/aws-key",
      SecretString: JSON.stringify({ AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey, owner: "app-team" }),
    }),
  );
  await enforceAuth();
  return { admin, user, old, other, dir, credentials, dotenv, iniText, envText, sm };
}

/** Runs the example with the throwaway folder as HOME and its credentials file. */
function runExample(dir: string, settings: Record<string, string>): Promise<ScriptRun> {
  return runExampleScript("multi-store/rotate.ts", { HOME: dir, AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"), ...settings });
}

test("the multi-store example installs one new key into a profile, a .env file and a secret; each independent reader sees it working", async () => {
  const { admin, user, old, other, dir, credentials, dotenv, iniText, envText, sm } = await setUp();

  const { code, stdout, stderr } = await runExample(dir, { KEYUP_PROFILE: "app", KEYUP_ENV_FILE: dotenv, KEYUP_SECRET_ID: "app/aws-key" });

  expect(stderr).toBe("");
  expect(code).toBe(0);
  const keys = await keysOf(admin, "app");
  expect(keys).toHaveLength(1);
  const newId = keys[0]?.id ?? "";
  expect(newId).not.toBe(old.accessKeyId);
  expect(stdout).toContain(`rotated app: ${old.accessKeyId} -> ${newId}`);

  // The AWS CLI reads the profile and signs with it.
  const aws = await run("aws", ["sts", "get-caller-identity", "--profile", "app", "--endpoint-url", motoUrl(), "--output", "json"], {
    env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: credentials, HOME: dir, AWS_DEFAULT_REGION: "us-east-1" }),
  });
  captureOutput("aws sts get-caller-identity", aws.stdout + aws.stderr);
  expect(JSON.parse(aws.stdout).Arn).toBe(user.arn);
  const configured = await run("aws", ["configure", "get", "aws_access_key_id", "--profile", "app"], {
    env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: credentials, HOME: dir }),
  });
  expect(configured.stdout.trim()).toBe(newId);

  // dotenv reads the .env file; the new secret is the one that works.
  const parsed = parseDotenv(await readFile(dotenv, "utf8"));
  expect(parsed.AWS_ACCESS_KEY_ID).toBe(newId);
  const fresh = { accessKeyId: newId, secretAccessKey: parsed.AWS_SECRET_ACCESS_KEY ?? "" };
  expect(await workingKey(fresh)).toBe(user.arn);
  expect(await whoAmI(old)).toMatch(/^error:/);

  // GetSecretValue (AWSCURRENT) holds the same key, and the other field.
  const current = await sm.send(new GetSecretValueCommand({ SecretId: "app/aws-key", VersionStage: "AWSCURRENT" }));
  expect(JSON.parse(current.SecretString ?? "{}")).toEqual({ AccessKeyId: newId, SecretAccessKey: fresh.secretAccessKey, owner: "app-team" });

  // Every other byte of both files is as it was, the other profile included.
  const swap = (text: string) => text.replace(old.accessKeyId, newId).replace(old.secretAccessKey, fresh.secretAccessKey);
  expect(await readFile(credentials, "utf8")).toBe(swap(iniText));
  expect(await readFile(dotenv, "utf8")).toBe(swap(envText));
  expect(await readFile(credentials, "utf8")).toContain(other.secretAccessKey);

  for (const secret of [old.secretAccessKey, fresh.secretAccessKey]) expect(stdout + stderr).not.toContain(secret);
});

test("when one store cannot be read, the example exits 1, names it, and changes nothing anywhere", async () => {
  const { admin, old, dir, credentials, dotenv, iniText, envText } = await setUp();

  const { code, stdout, stderr } = await runExample(dir, { KEYUP_PROFILE: "app", KEYUP_ENV_FILE: dotenv, KEYUP_SECRET_ID: "app/no-such-secret" });

  expect(code).toBe(1);
  expect(stderr).toContain("rotation failed");
  expect(stderr).toContain("app/no-such-secret");
  expect(await keysOf(admin, "app")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  expect(await readFile(credentials, "utf8")).toBe(iniText);
  expect(await readFile(dotenv, "utf8")).toBe(envText);
  expect(stdout + stderr).not.toContain(old.secretAccessKey);
});
