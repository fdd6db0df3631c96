import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { bootstrapIam, enforceMotoAuth, ROTATION_POLICY, resetMoto, seedUser } from "./emulator.js";
import { currentMotoUrl } from "./moto-url.js";
import { rememberSecret, watchFolder } from "./secrets.js";

export { ROTATION_POLICY };

/** A key pair as the tests handle it. */
export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The rotation policy plus the tag actions that descriptions and grace periods use. */
export const TAGGING_POLICY = {
  ...ROTATION_POLICY,
  Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["iam:TagUser", "iam:UntagUser", "iam:ListUserTags"], Resource: "*" }],
};

/** The URL of this worker's moto server (the global setup starts one per worker). */
export function motoUrl(): string {
  const url = currentMotoUrl();
  if (!url) throw new Error("no moto server: integration tests run in the integration project (its global setup starts moto)");
  return url;
}

/** Wipes moto's state and turns authentication off, ready for bootstrapping a test's users. */
export async function resetEmulator(): Promise<void> {
  await resetMoto(motoUrl());
}

/** From now on moto checks signatures and IAM policies, as AWS does. */
export async function enforceAuth(): Promise<void> {
  await enforceMotoAuth(motoUrl());
}

/** An IAM client against moto signed by `credentials` (bootstrap credentials while auth is off). */
export function iamClient(credentials?: TestKey): IAMClient {
  if (!credentials) return bootstrapIam(motoUrl());
  return new IAMClient({ region: "us-east-1", endpoint: motoUrl(), credentials, maxAttempts: 1 });
}

/** An STS client against moto signed by `credentials`. */
export function stsClient(credentials: TestKey): STSClient {
  return new STSClient({ region: "us-east-1", endpoint: motoUrl(), credentials, maxAttempts: 1 });
}

/** Creates a user with a policy and `keys` access keys. Call while auth is off. */
export async function createUser(
  userName: string,
  options: { keys?: number; policy?: object } = {},
): Promise<{ userName: string; arn: string; keys: TestKey[] }> {
  const user = await seedUser(motoUrl(), userName, options);
  for (const key of user.keys) rememberSecret(key.secretAccessKey);
  return user;
}

/** Creates an administrator the tests use to look at IAM once auth is enforced. */
export async function createAdmin(): Promise<TestKey> {
  const admin = await createUser("keyup-test-admin", {
    policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
  });
  const key = admin.keys[0];
  if (!key) throw new Error("admin has no key");
  return key;
}

/** The user's access key ids and statuses, read by an admin. */
export async function keysOf(admin: TestKey, userName: string): Promise<{ id: string; status: string }[]> {
  const out = await iamClient(admin).send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId ?? "", status: k.Status ?? "" }));
}

/** The ARN a key authenticates as, or the AWS error name it gets. */
export async function whoAmI(key: TestKey): Promise<string> {
  try {
    const out = await stsClient(key).send(new GetCallerIdentityCommand({}));
    return out.Arn ?? "";
  } catch (error) {
    return `error:${(error as Error).name}`;
  }
}

/**
 * The status IAM gives `key` ("Active", "Inactive"), or "absent". Asked of IAM itself, signed by the
 * key (moto authenticates Inactive keys, and a deleted key is refused); when the key's policy does not
 * allow ListAccessKeys, read from moto's own model instead. moto's model dump fails once a Lambda
 * function exists (the rotation handler's tests make one for RotateSecret), so it is the fallback.
 */
export async function keyStatus(key: TestKey): Promise<string> {
  const userName = /:user\/(?:.*\/)?([^/]+)$/.exec(await whoAmI(key))?.[1];
  if (userName === undefined) return "absent";
  try {
    const out = await iamClient(key).send(new ListAccessKeysCommand({ UserName: userName }));
    return out.AccessKeyMetadata?.find((k) => k.AccessKeyId === key.accessKeyId)?.Status ?? "absent";
  } catch (error) {
    if ((error as Error).name !== "AccessDenied") throw error;
  }
  const data = (await (await fetch(`${motoUrl()}/moto-api/data.json`)).json()) as { iam?: { AccessKey?: { access_key_id?: string; status?: string }[] } };
  return (data.iam?.AccessKey ?? []).find((k) => k.access_key_id === key.accessKeyId)?.status ?? "absent";
}

/**
 * What a test means by "the store holds a working key": the ARN `key` authenticates as, but only if
 * the key is also Active in IAM. moto authenticates Inactive keys, so `whoAmI` alone would pass a
 * rotation that left the store holding a deactivated key; here that reads `inactive:<status>:<arn>`.
 *
 * @example
 * ```ts
 * expect(await workingKey(held)).toBe(user.arn);
 * ```
 */
export async function workingKey(key: TestKey): Promise<string> {
  const arn = await whoAmI(key);
  const status = await keyStatus(key);
  return status === "Active" ? arn : `inactive:${status}:${arn}`;
}

/** A fresh temp dir; its log files are checked for secrets and it is removed after the current test. */
export async function tempDir(prefix = "keyup-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  watchFolder(dir);
  return dir;
}
