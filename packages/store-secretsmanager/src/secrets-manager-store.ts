import type { SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { toStoreError } from "./_internal/aws-errors.js";
import { clientFor, isAwsError, secretApi } from "./_internal/secret-api.js";
import { type HeldContent, parseHeld, resolveFields, withKey } from "./_internal/secret-json.js";
import { acquireSecretLock } from "./_internal/secret-lock.js";
import { writeToken } from "./_internal/version-token.js";

/**
 * The JSON field names a secret keeps the key under. Both default to the names the AWS console and
 * CLI use for an access key: `AccessKeyId` and `SecretAccessKey`.
 *
 * @example
 * ```ts
 * const fields: SecretFields = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" };
 * ```
 */
export interface SecretFields {
  /** Field holding the access key id. Default `AccessKeyId`. */
  readonly accessKeyId?: string;
  /** Field holding the secret access key. Default `SecretAccessKey`. */
  readonly secretAccessKey?: string;
}

/**
 * Options for {@link secretsManagerStore}. Only `secretId` is required.
 *
 * @example
 * ```ts
 * const options: SecretsManagerStoreOptions = { secretId: "ci/deploy-key", region: "eu-west-1" };
 * ```
 */
export interface SecretsManagerStoreOptions {
  /** The secret's name or ARN. Its SecretString is a JSON object holding the key. */
  readonly secretId: string;
  /** Where in the JSON the key lives. Default `AccessKeyId` / `SecretAccessKey`. */
  readonly fields?: SecretFields;
  /** A ready Secrets Manager client (tests, custom transports). When given, the options below are ignored. */
  readonly client?: SecretsManagerClient;
  /** Region of the secret. Default: the region in `secretId` when it is an ARN, else the SDK's (`AWS_REGION`, the profile's config). */
  readonly region?: string;
  /** A custom Secrets Manager endpoint (for example a local emulator). */
  readonly endpoint?: string;
  /**
   * Credentials for the Secrets Manager calls: the identity that reads and writes the secret, not
   * the key inside it. Default: the SDK's default chain (environment, profile, instance or task role).
   */
  readonly credentials?: SecretsManagerClientConfig["credentials"];
  /**
   * How long `lock()` is honoured, in ms, before another process may take over a lock whose holder
   * died without releasing it. Keep it above your longest rotation. Default 900 000 (15 minutes).
   */
  readonly lockTtlMs?: number;
}

/**
 * A {@link CredentialStore} on a Secrets Manager secret, with the secret and field names it uses.
 *
 * @example
 * ```ts
 * const store: SecretsManagerStore = secretsManagerStore({ secretId: "ci/deploy-key" });
 * console.log(store.secretId, store.fields.accessKeyId);
 * ```
 */
export interface SecretsManagerStore extends CredentialStore {
  /** The secret's name or ARN, as given. */
  readonly secretId: string;
  /** The JSON field names in use. */
  readonly fields: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

const DEFAULT_LOCK_TTL_MS = 15 * 60_000;
/** How often write() and restore() start over when another writer moves AWSCURRENT under them. */
const MAX_RACES = 3;

/**
 * A {@link CredentialStore} for an access key kept in an AWS Secrets Manager secret whose SecretString
 * is a JSON object such as `{"AccessKeyId": "AKIA…", "SecretAccessKey": "…", "note": "deploy bot"}`.
 *
 * - `read()` reads the AWSCURRENT version. A missing secret is `ENOTFOUND`; a value that is not a JSON
 *   object, or holds only one of the two fields, is `EINVALID`; an object with neither field is an
 *   empty store (`undefined`).
 * - `write(key)` follows Secrets Manager's own staging: PutSecretValue as AWSPENDING with a
 *   ClientRequestToken derived from the secret, the current version and the new key id (so a retried
 *   write adds no second version), then UpdateSecretVersionStage moves AWSCURRENT to it, and
 *   AWSPENDING is taken off again. Readers see the old version or the new one, never a mix. Other
 *   JSON fields are kept byte for byte. Writing the key AWSCURRENT already holds changes nothing.
 * - `backup()` names the AWSCURRENT version (`{ id: versionId, location: "secretsmanager:<id>@<versionId>" }`);
 *   versions persist, so a later process can `restore()` it, which moves AWSCURRENT back to that
 *   version (`EBACKUP` when the secret no longer has it).
 * - `lock()` is a cross-process lock on a companion secret `<name>.keyup-lock` (CreateSecret is
 *   atomic), naming its holder; a holder that died is taken over after `lockTtlMs`. Release deletes it.
 *
 * The store's name is `secretsmanager:<secretId>`; no message ever contains a secret value.
 * Permissions: `secretsmanager:GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
 * ListSecretVersionIds, DescribeSecret` on the secret, and `CreateSecret, GetSecretValue,
 * PutSecretValue, UpdateSecretVersionStage, DeleteSecret` on `<name>.keyup-lock`.
 *
 * Do not point this store and Secrets Manager's scheduled rotation at the same secret: both stage
 * versions with AWSPENDING. Use {@link createRotationHandler} for scheduled rotation instead.
 *
 * @param options - The secret, and optionally field names, client settings and lock lifetime.
 * @returns The store.
 * @throws A store error `EINVALID` for an empty or malformed `secretId`, bad field names or lock TTL.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { secretsManagerStore } from "@keyup/store-secretsmanager";
 *
 * const store = secretsManagerStore({ secretId: "ci/deploy-key", region: "eu-west-1" });
 * const result = await rotate({ store, region: "eu-west-1" });
 * if (result.isErr()) console.error(result.error.message);
 * ```
 */
export function secretsManagerStore(options: SecretsManagerStoreOptions): SecretsManagerStore {
  const secretId = checkSecretId(options?.secretId);
  const fields = resolveFields(options.fields);
  const ttlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1_000) {
    throw createStoreError("EINVALID", `lockTtlMs must be at least 1000 ms, got ${String(ttlMs)}`);
  }
  const name = `secretsmanager:${secretId}`;
  const client = clientFor(options, secretId);
  const api = secretApi(client, secretId, name);

  const current = async (): Promise<{ versionId: string; text: string; held: HeldContent }> => {
    const version = await api.byStage("AWSCURRENT");
    return { ...version, held: parseHeld(version.text, fields, `${name} (version ${version.versionId})`) };
  };

  // After losing a compare-and-swap on AWSCURRENT: where is it now?
  const currentVersionId = async (): Promise<string> => (await api.byStage("AWSCURRENT")).versionId;

  const write = async (key: AccessKeyPair): Promise<void> => {
    if (!isAccessKeyPair(key)) {
      throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
    }
    for (let attempt = 1; attempt <= MAX_RACES; attempt++) {
      const was = await current();
      if (was.held.kind === "key" && sameKey(was.held.key, key)) return;
      const token = writeToken(secretId, was.versionId, key.accessKeyId);
      let stages: readonly string[];
      try {
        stages = await api.put(withKey(was.text, fields, key), token, ["AWSPENDING"]);
      } catch (error) {
        if ((error as { cause?: { name?: unknown } }).cause?.name === "ResourceExistsException") {
          throw createStoreError(
            "EBADKEY",
            `${name}: key ${key.accessKeyId} was already written over version ${was.versionId} with a different secret; refusing to write it again`,
            { cause: (error as Error).cause },
          );
        }
        throw error;
      }
      try {
        await api.moveStage("AWSCURRENT", token, was.versionId);
      } catch (error) {
        if (!isAwsError(error, "InvalidParameterException")) throw toStoreError(error, name, "UpdateSecretVersionStage");
        const now = await currentVersionId();
        if (now === was.versionId) throw toStoreError(error, name, "UpdateSecretVersionStage");
        // Someone else moved AWSCURRENT since we read it: write again on top of what is there now.
        continue;
      }
      if (stages.includes("AWSPENDING")) {
        // Tidying only: with AWSPENDING on the AWSCURRENT version Secrets Manager already counts the
        // staging as finished, so a failure here must not turn a completed write into an error.
        await api.moveStage("AWSPENDING", undefined, token).catch(() => undefined);
      }
      return;
    }
    throw createStoreError("EIO", `${name}: the secret kept changing under the write (${MAX_RACES} attempts): is another writer running?`);
  };

  const restore = async (backup: StoreBackup): Promise<void> => {
    const versionId = (backup as { id?: unknown } | null | undefined)?.id;
    if (typeof versionId !== "string" || versionId === "") {
      throw createStoreError("EBACKUP", `${name}: restore() needs a backup handle from backup(), with a version id`);
    }
    for (let attempt = 1; attempt <= MAX_RACES; attempt++) {
      const was = await currentVersionId();
      if (was === versionId) return;
      const versions = await api.versionIds();
      if (!versions.has(versionId)) {
        throw createStoreError(
          "EBACKUP",
          `${name}: the secret has no version ${versionId} (it never had it, or Secrets Manager has since removed it): nothing to restore`,
        );
      }
      try {
        await api.moveStage("AWSCURRENT", versionId, was);
        return;
      } catch (error) {
        if (!isAwsError(error, "InvalidParameterException") || (await currentVersionId()) === was) {
          throw toStoreError(error, name, "UpdateSecretVersionStage");
        }
      }
    }
    throw createStoreError("EIO", `${name}: the secret kept changing under the restore (${MAX_RACES} attempts): is another writer running?`);
  };

  return {
    name,
    secretId,
    fields,
    capabilities: { crossProcessLock: true, durableBackup: true },
    // lock() locks the secret (through its companion lock secret): stores of one secret share it.
    lockDomain: { kind: "resource", id: name },
    read: async () => {
      const { held } = await current();
      return held.kind === "key" ? { ...held.key } : undefined;
    },
    backup: async (): Promise<StoreBackup> => {
      const versionId = await currentVersionId();
      return { id: versionId, location: `${name}@${versionId}` };
    },
    write,
    restore,
    lock: async (): Promise<StoreLock> => {
      // The secret's name, not its id: an ARN cannot be suffixed into a valid secret name.
      const { name: secretName } = await api.describe();
      const lockName = `${secretName}.keyup-lock`;
      return acquireSecretLock({ api: secretApi(client, lockName, `lock secret ${lockName}`), lockName, secretName, ttlMs });
    },
  };
}

function sameKey(a: AccessKeyPair, b: AccessKeyPair): boolean {
  return a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey;
}

function checkSecretId(secretId: unknown): string {
  if (typeof secretId !== "string" || secretId === "" || secretId.length > 2048 || /[\s\p{Cc}]/u.test(secretId)) {
    throw createStoreError("EINVALID", "secretId must be a secret name or ARN (1–2048 characters, no whitespace)");
  }
  return secretId;
}
