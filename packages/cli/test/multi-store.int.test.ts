import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parse as parseDotenv } from "dotenv";
import { beforeEach, expect, test } from "vitest";
import { cleanEnv, keyup } from "../../../test-support/cli.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, ROTATION_POLICY, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";

const run = promisify(execFile);

beforeEach(resetEmulator);

test("one rotation installs the new key into an INI profile, a .env file and a secret; each independent reader sees it", async () => {
  const admin = await createAdmin();
  const policy = {
    ...ROTATION_POLICY,
    Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["secretsmanager:*"], Resource: "*" }],
  };
  const user = await createUser("multi", { policy });
  const old = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  const dotenv = join(dir, ".env");
  await writeFile(file, `[p]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
  const envText = `# app settings\nexport AWS_ACCESS_KEY_ID="${old.accessKeyId}"\nAWS_SECRET_ACCESS_KEY='${old.secretAccessKey}'\nAPP_MODE=production\n`;
  await writeFile(dotenv, envText, { mode: 0o600 });
  const sm = new SecretsManagerClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin });
  await sm.send(
    new CreateSecretCommand({
      Name: "app/aws-key",
      SecretString: JSON.stringify({ AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey, team: "payments" }),
    }),
  );
  await enforceAuth();

  const result = await keyup(
    [
      "--profile",
      "p",
      "--store",
      `env:${dotenv}`,
      "--store",
      "secretsmanager:app/aws-key",
      "--operation",
      "up",
      "--auto",
      "--endpoint-url",
      motoUrl(),
      "--region",
      "us-east-1",
    ],
    { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir },
  );

  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const keys = await keysOf(admin, "multi");
  expect(keys).toHaveLength(1);
  const newId = keys[0]?.id ?? "";
  expect(newId).not.toBe(old.accessKeyId);

  // AWS CLI reads the profile.
  const { stdout } = await run("aws", ["sts", "get-caller-identity", "--profile", "p", "--endpoint-url", motoUrl(), "--output", "json"], {
    env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_DEFAULT_REGION: "us-east-1" }),
  });
  expect(JSON.parse(stdout).Arn).toBe(user.arn);
  const iniSecret = /aws_secret_access_key = (\S+)/.exec(await readFile(file, "utf8"))?.[1];

  // dotenv reads the .env file; everything else in it is unchanged.
  const env = parseDotenv(await readFile(dotenv, "utf8"));
  expect(env.AWS_ACCESS_KEY_ID).toBe(newId);
  expect(env.AWS_SECRET_ACCESS_KEY).toBe(iniSecret);
  expect(env.APP_MODE).toBe("production");
  expect(await readFile(dotenv, "utf8")).toBe(envText.replace(old.accessKeyId, newId).replace(old.secretAccessKey, iniSecret ?? ""));

  // GetSecretValue (AWSCURRENT) holds the same key, and the other field survived.
  const secret = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: "app/aws-key", VersionStage: "AWSCURRENT" }))).SecretString ?? "{}") as Record<
    string,
    string
  >;
  expect(secret).toEqual({ AccessKeyId: newId, SecretAccessKey: iniSecret, team: "payments" });
});

test("a bad --store is a usage error", async () => {
  const result = await keyup(["--store", "vault:x", "--operation", "list"], {});
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("--store takes ini:PROFILE, env:PATH or secretsmanager:SECRET_ID");
  // A secret alone is no longer refused (secret-alone.int.test.ts): the profile named signs its calls,
  // and one that does not exist is still a usage error, before any AWS call.
  const dir = await tempDir();
  const lonely = await keyup(["--store", "secretsmanager:app/aws-key", "--profile", "nobody", "--operation", "list"], {
    HOME: dir,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
  });
  expect(lonely.code).toBe(2);
  expect(lonely.stderr).toContain("no credentials to sign the Secrets Manager calls with (profile nobody)");
  expect(lonely.stderr).not.toContain("needs an ini or env store");
});
