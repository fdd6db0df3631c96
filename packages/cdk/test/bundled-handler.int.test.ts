import { createRequire } from "node:module";
import { join } from "node:path";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { handlerBundleDir } from "@keyup/cdk";
import type { RotationHandler } from "@keyup/store-secretsmanager";
import { afterEach, beforeEach, expect, onTestFinished, test, vi } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, whoAmI } from "../../../test-support/moto.js";
import { startMotoRotation } from "../../../test-support/rotation-start.js";

beforeEach(resetEmulator);
afterEach(() => {
  vi.unstubAllEnvs();
});

/** What RotatedAccessKey grants the function's role on the secret (its log group aside). */
const ROLE_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
      ],
      Resource: "*",
    },
  ],
};
/** What RotatedAccessKey lets the user do (moto does not match resource ARNs, so "*"). */
const USER_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed"],
      Resource: "*",
    },
  ],
};

const STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;

/**
 * Loads the exact file the construct deploys, in the environment the Lambda runtime gives it (the role's
 * credentials, the construct's variables), with every AWS call going through a counting proxy to moto.
 */
function loadBundle(role: TestKey, endpoint: string): RotationHandler {
  vi.stubEnv("AWS_REGION", "us-east-1");
  vi.stubEnv("AWS_ACCESS_KEY_ID", role.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", role.secretAccessKey);
  vi.stubEnv("AWS_SESSION_TOKEN", undefined);
  vi.stubEnv("AWS_PROFILE", undefined);
  vi.stubEnv("AWS_ENDPOINT_URL", endpoint);
  vi.stubEnv("KEYUP_VERIFY_TIMEOUT_MS", "30000");
  vi.stubEnv("KEYUP_RETIRE_OLD", "at-finish");
  const bundle = join(handlerBundleDir(), "index.js");
  const load = createRequire(import.meta.url);
  delete load.cache[load.resolve(bundle)];
  return (load(bundle) as { handler: RotationHandler }).handler;
}

test("the bundled handler the construct deploys rotates the key through the four steps, with a known number of AWS calls", async () => {
  const admin = await createAdmin();
  const user = await createUser("deployer", { policy: USER_POLICY });
  const role = await createUser("rotation-function-role", { policy: ROLE_POLICY });
  const [oldKey] = user.keys;
  const [roleKey] = role.keys;
  if (!oldKey || !roleKey) throw new Error("setup made no keys");
  const sm = new SecretsManagerClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin, maxAttempts: 1 });
  const created = await sm.send(
    new CreateSecretCommand({
      Name: "ci/deployer",
      SecretString: JSON.stringify({ AccessKeyId: oldKey.accessKeyId, SecretAccessKey: oldKey.secretAccessKey }),
    }),
  );
  const secretArn = created.ARN ?? "";
  await enforceAuth();
  const token = await startMotoRotation(motoUrl(), secretArn, admin);

  const proxy = await startAwsProxy(motoUrl());
  onTestFinished(() => proxy.close());
  const logged: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
  const handler = loadBundle(roleKey, proxy.url);

  const calls: Record<string, Record<string, number>> = {};
  const ms: Record<string, number> = {};
  for (const Step of STEPS) {
    const before = proxy.requests.length;
    const started = performance.now();
    await handler({ SecretId: secretArn, ClientRequestToken: token, Step });
    ms[Step] = Math.round(performance.now() - started);
    calls[Step] = {};
    for (const r of proxy.requests.slice(before)) calls[Step][r.action] = (calls[Step][r.action] ?? 0) + 1;
  }

  const current = await sm.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: "AWSCURRENT" }));
  expect(current.VersionId).toBe(token);
  const held = JSON.parse(current.SecretString ?? "{}") as { AccessKeyId: string; SecretAccessKey: string };
  expect(await whoAmI({ accessKeyId: held.AccessKeyId, secretAccessKey: held.SecretAccessKey })).toBe(user.arn);
  expect(await whoAmI(oldKey)).toMatch(/^error:/);
  expect(await keysOf(admin, "deployer")).toEqual([{ id: held.AccessKeyId, status: "Active" }]);
  for (const secret of [oldKey.secretAccessKey, held.SecretAccessKey]) expect(logged.some((line) => line.includes(secret))).toBe(false);

  // The calls one rotation makes, as docs/at-scale.md counts them (moto answers at once: no retries).
  expect(calls).toEqual({
    createSecret: {
      DescribeSecret: 1,
      GetSecretValue: 3,
      GetCallerIdentity: 2,
      ListAccessKeys: 2,
      ListSecretVersionIds: 1,
      // The journal: a tag on the secret naming the key about to be made, removed once it is stored.
      TagResource: 1,
      CreateAccessKey: 1,
      PutSecretValue: 1,
      UntagResource: 1,
    },
    setSecret: { DescribeSecret: 1, GetSecretValue: 1 },
    // core's verify confirms the new key on IAM too (ListAccessKeys signed by it) as its last success.
    testSecret: { DescribeSecret: 1, GetSecretValue: 2, GetCallerIdentity: 3, ListAccessKeys: 1 },
    finishSecret: {
      DescribeSecret: 1,
      GetSecretValue: 2,
      UpdateSecretVersionStage: 2,
      GetCallerIdentity: 1,
      ListAccessKeys: 1,
      UpdateAccessKey: 1,
      DeleteAccessKey: 1,
    },
  });
  console.info(`bundled handler against moto, ms per step: ${JSON.stringify(ms)}`);
});
