import { CreateSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, whoAmI, workingKey } from "../../test-support/moto.js";
import { startMotoRotation } from "../../test-support/rotation-start.js";
// The same permissions template.yaml grants the function's role: Secrets Manager on the secret, no IAM.
import { LAMBDA_ROLE_POLICY } from "../local-runs.js";

beforeEach(resetEmulator);
afterEach(() => {
  vi.unstubAllEnvs();
});

const sm = (credentials: TestKey) => new SecretsManagerClient({ region: "us-east-1", endpoint: motoUrl(), credentials, maxAttempts: 1 });

/** The environment the Lambda runtime gives the function, pointed at moto instead of AWS. */
function lambdaEnvironment(role: TestKey): void {
  vi.stubEnv("AWS_REGION", "us-east-1");
  vi.stubEnv("AWS_ACCESS_KEY_ID", role.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", role.secretAccessKey);
  vi.stubEnv("AWS_SESSION_TOKEN", undefined);
  vi.stubEnv("AWS_PROFILE", undefined);
  vi.stubEnv("AWS_ENDPOINT_URL", motoUrl());
  vi.stubEnv("KEYUP_VERIFY_TIMEOUT_MS", "5000");
  // This test checks the old key is gone after finishSecret; the default (next-rotation) keeps it.
  vi.stubEnv("KEYUP_RETIRE_OLD", "at-finish");
}

test("the example's handler rotates the key through all four steps, as Secrets Manager invokes it", async () => {
  const admin = await createAdmin();
  const user = await createUser("app");
  const role = await createUser("rotation-function-role", { policy: LAMBDA_ROLE_POLICY });
  const [oldKey] = user.keys;
  const [roleKey] = role.keys;
  if (!oldKey || !roleKey) throw new Error("setup made no keys");
  const created = await sm(admin).send(
    new CreateSecretCommand({
      Name: "app/iam-key",
      SecretString: JSON.stringify({ AccessKeyId: oldKey.accessKeyId, SecretAccessKey: oldKey.secretAccessKey, owner: "app-team" }),
    }),
  );
  const secretArn = created.ARN ?? "";
  await enforceAuth();

  lambdaEnvironment(roleKey);
  const logged: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
  const { handler } = await import("./index.js");

  // Secrets Manager starts the rotation (RotateSecret labels the token's version AWSPENDING), then sends
  // the secret's ARN and that token for the whole rotation.
  const token = await startMotoRotation(motoUrl(), secretArn, admin);
  for (const Step of ["createSecret", "setSecret", "testSecret", "finishSecret"] as const) {
    await handler({ SecretId: secretArn, ClientRequestToken: token, Step });
  }

  const current = await sm(admin).send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: "AWSCURRENT" }));
  expect(current.VersionId).toBe(token);
  const held = JSON.parse(current.SecretString ?? "{}") as { AccessKeyId: string; SecretAccessKey: string; owner: string };
  expect(held.owner).toBe("app-team");
  expect(await workingKey({ accessKeyId: held.AccessKeyId, secretAccessKey: held.SecretAccessKey })).toBe(user.arn);
  expect(await keysOf(admin, "app")).toEqual([{ id: held.AccessKeyId, status: "Active" }]);
  expect(await whoAmI(oldKey)).toMatch(/^error:/);
  const versions = await sm(admin).send(new ListSecretVersionIdsCommand({ SecretId: secretArn }));
  expect(versions.Versions?.find((v) => v.VersionId === token)?.VersionStages).toEqual(["AWSCURRENT"]);

  // One JSON log line per step at least, naming key ids and never a secret.
  const steps = logged.map((line) => (JSON.parse(line) as { step: string }).step);
  expect(new Set(steps)).toEqual(new Set(["createSecret", "setSecret", "testSecret", "finishSecret"]));
  for (const secret of [oldKey.secretAccessKey, held.SecretAccessKey]) {
    expect(logged.some((line) => line.includes(secret))).toBe(false);
  }
});
