import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { inject } from "vitest";
import { rememberSecret, watchFolder } from "./secrets.js";

/** A key pair as the tests handle it. */
export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The least-privilege policy a user needs to rotate its own key (docs/security.md shows the same). */
export const ROTATION_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetUser"],
      Resource: "*",
    },
  ],
};

/** The rotation policy plus the tag actions that descriptions and grace periods use. */
export const TAGGING_POLICY = {
  ...ROTATION_POLICY,
  Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["iam:TagUser", "iam:UntagUser", "iam:ListUserTags"], Resource: "*" }],
};

const BOOTSTRAP = { accessKeyId: "AKIAKEYUPBOOTSTRAP01", secretAccessKey: "bootstrap-only-while-auth-is-off" };

/** The URL of the moto server the global setup started. */
export function motoUrl(): string {
  return inject("motoUrl");
}

async function post(path: string, body?: string): Promise<void> {
  const res = await fetch(`${motoUrl()}${path}`, { method: "POST", ...(body !== undefined ? { body, headers: { "content-type": "text/plain" } } : {}) });
  if (!res.ok) throw new Error(`moto ${path} answered ${res.status}`);
}

/** Wipes moto's state and turns authentication off, ready for bootstrapping a test's users. */
export async function resetEmulator(): Promise<void> {
  await post("/moto-api/reset-auth", "inf");
  await post("/moto-api/reset");
}

/** From now on moto checks signatures and IAM policies, as AWS does. */
export async function enforceAuth(): Promise<void> {
  await post("/moto-api/reset-auth", "0");
}

/** An IAM client against moto signed by `credentials` (bootstrap credentials while auth is off). */
export function iamClient(credentials: TestKey = BOOTSTRAP): IAMClient {
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
  const iam = iamClient();
  const out = await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(
    new PutUserPolicyCommand({ UserName: userName, PolicyName: "keyup-rotation", PolicyDocument: JSON.stringify(options.policy ?? ROTATION_POLICY) }),
  );
  const keys: TestKey[] = [];
  for (let i = 0; i < (options.keys ?? 1); i++) {
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    keys.push({ accessKeyId: k.AccessKey?.AccessKeyId ?? "", secretAccessKey: k.AccessKey?.SecretAccessKey ?? "" });
    rememberSecret(k.AccessKey?.SecretAccessKey);
  }
  return { userName, arn: out.User?.Arn ?? "", keys };
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

/** A fresh temp dir; its log files are checked for secrets and it is removed after the current test. */
export async function tempDir(prefix = "keyup-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  watchFolder(dir);
  return dir;
}
