import { randomUUID } from "node:crypto";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { motoUrl } from "../../../test-support/moto.js";

/** Credentials for setting things up while moto's auth is off (it accepts any). */
export const SETUP_CREDENTIALS = { accessKeyId: "AKIAKEYUPSMSETUP0001", secretAccessKey: "setup-only-while-auth-is-off" };

/** A policy letting an identity use Secrets Manager and STS, for the identity that reads and writes secrets. */
export const SECRETS_POLICY = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["secretsmanager:*", "sts:GetCallerIdentity"], Resource: "*" }],
};

/** A Secrets Manager client against moto (or `endpoint`), signed by `credentials`. */
export function smClient(credentials = SETUP_CREDENTIALS, endpoint = motoUrl(), maxAttempts = 3): SecretsManagerClient {
  return new SecretsManagerClient({ region: "us-east-1", endpoint, credentials, maxAttempts });
}

/** A secret name no other test uses. */
export function uniqueSecretName(prefix = "keyup-test"): string {
  return `${prefix}/${randomUUID()}`;
}

/** Creates a secret holding `value` (a string as is, anything else as JSON). */
export async function createSecret(name: string, value: unknown): Promise<string> {
  const out = await smClient().send(new CreateSecretCommand({ Name: name, SecretString: typeof value === "string" ? value : JSON.stringify(value) }));
  return out.VersionId ?? "";
}

/** The secret's AWSCURRENT version, read the way an independent reader would. */
export async function currentOf(name: string, client = smClient()): Promise<{ versionId: string; text: string; stages: string[] }> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSCURRENT" }));
  return { versionId: out.VersionId ?? "", text: out.SecretString ?? "", stages: out.VersionStages ?? [] };
}

/** The AWSCURRENT SecretString, or `undefined` when the secret does not exist. */
export async function rawOf(name: string): Promise<string | undefined> {
  try {
    return (await currentOf(name)).text;
  } catch (error) {
    if ((error as Error).name === "ResourceNotFoundException") return undefined;
    throw error;
  }
}

/** Every version of the secret with its labels. */
export async function versionsOf(name: string, client = smClient()): Promise<Map<string, string[]>> {
  const out = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
  return new Map((out.Versions ?? []).map((v) => [v.VersionId ?? "", v.VersionStages ?? []]));
}

/** The version ids carrying `stage`. */
export async function versionsWith(name: string, stage: string): Promise<string[]> {
  return [...(await versionsOf(name))].filter(([, stages]) => stages.includes(stage)).map(([id]) => id);
}

/** Removes a secret (and its lock secret) if they exist. */
export async function deleteSecret(name: string): Promise<void> {
  for (const id of [name, `${name}.keyup-lock`]) {
    await smClient()
      .send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }))
      .catch(() => undefined);
  }
}

/** Whether a secret with this name exists. */
export async function secretExists(name: string): Promise<boolean> {
  return (await rawOf(name)) !== undefined;
}

/** The JSON error body Secrets Manager sends, so the SDK parses an injected fault as the real thing. */
export function smErrorResponse(code: string, status = 400): { status: number; body: string; contentType: string } {
  return { status, body: JSON.stringify({ __type: code, message: `injected ${code}` }), contentType: "application/x-amz-json-1.1" };
}
