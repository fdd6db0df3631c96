import { join } from "node:path";
import { fileJournal, rotate } from "@keyup/core";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, expect, onTestFinished, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, tempDir, whoAmI, workingKey } from "../../../test-support/moto.js";
import { createSecret, currentOf, SECRETS_POLICY, smClient, uniqueSecretName, versionsOf } from "./support.js";

beforeEach(resetEmulator);

/** A user whose only key lives in a secret, read and written by a separate operator identity; auth on. */
async function setUp() {
  const admin = await createAdmin();
  const user = await createUser("ci-bot");
  const operator = await createUser("secrets-operator", { policy: SECRETS_POLICY });
  const [oldKey] = user.keys;
  const [operatorKey] = operator.keys;
  if (!oldKey || !operatorKey) throw new Error("setup made no keys");
  const secretId = uniqueSecretName("ci/deploy-key");
  const firstVersion = await createSecret(secretId, { AccessKeyId: oldKey.accessKeyId, SecretAccessKey: oldKey.secretAccessKey, team: "platform" });
  await enforceAuth();
  const store = secretsManagerStore({ secretId, region: "us-east-1", endpoint: motoUrl(), credentials: operatorKey });
  // The journal goes to a temp dir, not the state folder of whoever runs the tests.
  const journal = fileJournal(join(await tempDir(), "journal.json"));
  return { admin, user, oldKey, operatorKey, secretId, firstVersion, store, journal, reader: smClient(operatorKey) };
}

test("rotate() through the store: AWSCURRENT holds a new key that works, the old key is gone, other fields stay", async () => {
  const { admin, user, oldKey, secretId, firstVersion, store, journal, reader } = await setUp();
  const events: unknown[] = [];

  const result = await rotate({ store, journal, region: "us-east-1", endpoint: motoUrl(), onEvent: (e) => events.push(e) });
  if (result.isErr()) throw new Error(result.error.message);
  const report = result.value;
  expect(report.oldAccessKeyId).toBe(oldKey.accessKeyId);

  const current = await currentOf(secretId, reader);
  const held = JSON.parse(current.text) as { AccessKeyId: string; SecretAccessKey: string; team: string };
  expect(held.AccessKeyId).toBe(report.newAccessKeyId);
  expect(held.team).toBe("platform");
  expect(await workingKey({ accessKeyId: held.AccessKeyId, secretAccessKey: held.SecretAccessKey })).toBe(user.arn);
  expect(await keysOf(admin, "ci-bot")).toEqual([{ id: held.AccessKeyId, status: "Active" }]);
  expect(await whoAmI(oldKey)).toMatch(/^error:/);

  const versions = await versionsOf(secretId, reader);
  expect(versions.get(firstVersion)).toEqual(["AWSPREVIOUS"]);
  expect(versions.get(current.versionId)).toEqual(["AWSCURRENT"]);
  // The lock was released: its secret is gone.
  await expect(currentOf(`${secretId}.keyup-lock`, reader)).rejects.toThrow(/ResourceNotFound|can't find/);
  expect(findSecretLeaks([report, events], [oldKey.secretAccessKey, held.SecretAccessKey])).toEqual([]);
});

test("a rotation whose new key is never accepted restores AWSCURRENT to the old version and deletes the new key", async () => {
  const { admin, oldKey, secretId, firstVersion, store, journal, reader } = await setUp();
  // STS rejects every key but the old one, as AWS does while a new key has not propagated.
  const proxy = await startAwsProxy(motoUrl(), (req) =>
    req.action === "GetCallerIdentity" && req.accessKeyId !== oldKey.accessKeyId
      ? { status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") }
      : undefined,
  );
  onTestFinished(() => proxy.close());

  const result = await rotate({ store, journal, region: "us-east-1", endpoint: proxy.url, verifyTimeoutMs: 1_000 });
  expect(result.isErr() && result.error.kind).toBe("verify");
  const current = await currentOf(secretId, reader);
  expect(current.versionId).toBe(firstVersion);
  expect((JSON.parse(current.text) as { AccessKeyId: string }).AccessKeyId).toBe(oldKey.accessKeyId);
  expect(await keysOf(admin, "ci-bot")).toEqual([{ id: oldKey.accessKeyId, status: "Active" }]);
  expect(await workingKey(oldKey)).toMatch(/:user\/ci-bot$/);
});
