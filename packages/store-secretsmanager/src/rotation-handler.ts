import { setTimeout as sleep } from "node:timers/promises";
import type { SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import {
  type AccessKeyPair,
  type AwsPort,
  awsErrorName,
  backoffDelay,
  classifyAwsErrorName,
  createAwsPort,
  defaultRotationConfig,
  type KeySummary,
  parseIdentityArn,
  type SigningCredentials,
  toAwsError,
} from "@keyup/core";
import { safeCause, toStoreError } from "./_internal/aws-errors.js";
import { clientFor, isAwsError, type SecretApi, type SecretVersion, secretApi } from "./_internal/secret-api.js";
import { parseHeld, type ResolvedFields, resolveFields, withKey } from "./_internal/secret-json.js";
import type { SecretFields } from "./secrets-manager-store.js";

/**
 * The four steps Secrets Manager invokes a rotation function with, in this order.
 *
 * @example
 * ```ts
 * const step: SecretsManagerRotationStep = "testSecret";
 * ```
 */
export type SecretsManagerRotationStep = "createSecret" | "setSecret" | "testSecret" | "finishSecret";

/**
 * The event Secrets Manager sends a rotation Lambda
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html).
 * `ClientRequestToken` is the id of the version this rotation creates; the same token comes back on
 * every step and every retry of the rotation. `RotationToken`, when Secrets Manager sends one, goes
 * back to Secrets Manager with PutSecretValue and is never logged.
 *
 * @example
 * ```ts
 * const event: SecretsManagerRotationEvent = {
 *   SecretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deploy-key-AbCdEf",
 *   ClientRequestToken: "7e0b6c5a-6f7e-4f4b-9c59-2d8a3b1e9f10",
 *   Step: "createSecret",
 * };
 * ```
 */
export interface SecretsManagerRotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: SecretsManagerRotationStep;
  readonly RotationToken?: string;
}

/**
 * A Lambda handler for Secrets Manager rotation. Resolves when the step is done (or was already
 * done); rejects with a {@link RotationHandlerError} so Secrets Manager retries the rotation later.
 *
 * @example
 * ```ts
 * export const handler: RotationHandler = createRotationHandler();
 * ```
 */
export type RotationHandler = (event: SecretsManagerRotationEvent) => Promise<void>;

/**
 * One line of the handler's log. Names the key ids involved, never a secret.
 *
 * @example
 * ```ts
 * const entry: RotationLogEntry = { step: "finishSecret", secretId: "ci/deploy-key", token: "7e0b…", message: "deleted old key AKIA…" };
 * ```
 */
export interface RotationLogEntry {
  readonly step: string;
  readonly secretId: string;
  readonly token: string;
  readonly message: string;
}

/**
 * Why a rotation step failed:
 * - `ECONFIG`: bad options to {@link createRotationHandler} (thrown at once, not per event).
 * - `EEVENT`: the event is not a Secrets Manager rotation event.
 * - `ENOTENABLED`: rotation is not turned on for the secret (DescribeSecret's `RotationEnabled`).
 * - `ENOTPENDING`: the token is not a version of the secret, or its version is not (or no longer)
 *   AWSPENDING (another version holds AWSPENDING: a rotation in progress), or holds no value yet.
 * - `EINVALID`: a version of the secret does not hold a usable key.
 * - `EUSER`: the key's identity is not an IAM user, or the key is not one of that user's keys.
 * - `ELIMIT`: the user already has two keys and the other one may not be deleted.
 * - `EVERIFY`: the pending key could not be proven to work before the timeout.
 * - `EAWS`: an IAM or STS call failed (see `awsCode`).
 * - `EORPHAN`: a new key could be neither staged nor deleted again: delete it by hand.
 * Secrets Manager failures carry the store codes (`ENOTFOUND`, `EACCES`, `EIO`).
 *
 * @example
 * ```ts
 * const code: RotationHandlerErrorCode = "ELIMIT";
 * ```
 */
export type RotationHandlerErrorCode = "ECONFIG" | "EEVENT" | "ENOTENABLED" | "ENOTPENDING" | "EINVALID" | "EUSER" | "ELIMIT" | "EVERIFY" | "EAWS" | "EORPHAN";

/**
 * What a rotation step rejects with: an `Error` with a `code`, whose message says what happened and
 * what to do, and never contains a secret.
 *
 * @example
 * ```ts
 * try {
 *   await handler(event);
 * } catch (error) {
 *   if ((error as RotationHandlerError).code === "ELIMIT") console.error((error as Error).message);
 * }
 * ```
 */
export interface RotationHandlerError extends Error {
  readonly code: RotationHandlerErrorCode | (string & {});
  /** For `EAWS`: the AWS error name, such as `AccessDenied`. */
  readonly awsCode?: string;
}

/**
 * Options for {@link createRotationHandler}. All optional: in a Lambda the defaults are right.
 *
 * @example
 * ```ts
 * const options: RotationHandlerOptions = { verifyTimeoutMs: 60_000, fields: { accessKeyId: "id", secretAccessKey: "secret" } };
 * ```
 */
export interface RotationHandlerOptions {
  /**
   * The Secrets Manager client. Default: one built from `region` / `endpoint` / `credentials`, signed by
   * the SDK's default chain, which in a Lambda is the function's execution role: Secrets Manager
   * calls are exactly what that role is for.
   */
  readonly client?: SecretsManagerClient;
  /** Region for Secrets Manager, IAM and STS. Default: the region in the SecretId ARN, else `AWS_REGION`. */
  readonly region?: string;
  /** A custom endpoint for Secrets Manager, IAM and STS (for example a local emulator). */
  readonly endpoint?: string;
  /** Credentials for the Secrets Manager client this builds (ignored with `client`). */
  readonly credentials?: SecretsManagerClientConfig["credentials"];
  /** Where in the secret's JSON the key lives. Default `AccessKeyId` / `SecretAccessKey`. */
  readonly fields?: SecretFields;
  /** The IAM user whose key the secret holds. Default: the user STS names for the key in the secret. */
  readonly userName?: string;
  /**
   * Who signs the IAM calls. `secret` (default): the key in the secret itself, so the user rotates its
   * own key and the Lambda's role needs no IAM permission at all. `lambda-role`: the credentials of the
   * Secrets Manager client (the execution role), for when the user may not manage its own keys; the
   * role then needs iam:ListAccessKeys, CreateAccessKey, UpdateAccessKey, DeleteAccessKey on the user.
   * Nothing falls back from one to the other.
   */
  readonly iamSigner?: "secret" | "lambda-role";
  /** How long testSecret (and each retire call in finishSecret) keeps retrying, in ms. Default 30 000. */
  readonly verifyTimeoutMs?: number;
  /** Consecutive successful GetCallerIdentity calls the pending key needs. Default 2. */
  readonly requiredSuccesses?: number;
  /** Substitute IAM/STS implementation. Default: core's {@link createAwsPort} with `region` / `endpoint`. */
  readonly aws?: AwsPort;
  /** Where log lines go. Default: one JSON line per entry on stdout (CloudWatch Logs in a Lambda). */
  readonly log?: (entry: RotationLogEntry) => void;
}

const STEPS = new Set<string>(["createSecret", "setSecret", "testSecret", "finishSecret"]);

/**
 * Creates a Secrets Manager rotation function for a secret holding an IAM user's access key, so the
 * key rotates on Secrets Manager's own schedule.
 *
 * Before every step it makes the checks AWS's rotation function template makes
 * (https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRotationTemplate):
 * rotation must be turned on for the secret; the token must be a version of the secret (Secrets
 * Manager's RotateSecret creates it, labelled AWSPENDING, before the first step); a token whose version
 * is already AWSCURRENT means the rotation has finished, so the step does nothing; a token whose
 * version is not AWSPENDING fails (another version holds AWSPENDING: that rotation is the one in
 * progress, see https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
 *
 * - `createSecret`: creates a new key for the user and stages it as AWSPENDING (a JSON copy of the
 *   current version with the two key fields replaced). Idempotent on the token. Deletes a key left by
 *   an earlier unfinished rotation (held only by a version with no label, once that rotation's
 *   AWSPENDING was removed), and at IAM's 2-key
 *   limit deletes the other key only if it is that leftover or Inactive; otherwise it fails naming
 *   both keys. If staging fails, the new key is deleted again.
 * - `setSecret`: nothing to push, since CreateAccessKey already made the key valid in IAM; checks that
 *   the pending version exists.
 * - `testSecret`: STS GetCallerIdentity signed only by the pending key must name the user, K times in
 *   a row, retrying IAM's propagation errors with exponential backoff and jitter until the timeout.
 * - `finishSecret`: moves AWSCURRENT to the new version, then deactivates and deletes the old key
 *   (signed by the new key), tolerating a key that is already gone, so a retry finishes the job.
 *   The old key is deleted only here, after testSecret proved the new one.
 *
 * @param options - Client, field, signer and timing settings; all optional.
 * @returns The Lambda handler.
 *
 * @example
 * ```ts
 * // index.mjs of the rotation Lambda
 * import { createRotationHandler } from "@keyup/store-secretsmanager";
 *
 * export const handler = createRotationHandler({ verifyTimeoutMs: 60_000 });
 * ```
 */
export function createRotationHandler(options: RotationHandlerOptions = {}): RotationHandler {
  const fields = resolveFields(options.fields);
  const verifyTimeoutMs = options.verifyTimeoutMs ?? defaultRotationConfig.verifyTimeoutMs;
  const requiredSuccesses = options.requiredSuccesses ?? defaultRotationConfig.requiredSuccesses;
  if (!Number.isFinite(verifyTimeoutMs) || verifyTimeoutMs <= 0)
    throw rotationError("ECONFIG", `verifyTimeoutMs must be a positive number of ms, got ${verifyTimeoutMs}`);
  if (!Number.isInteger(requiredSuccesses) || requiredSuccesses < 1)
    throw rotationError("ECONFIG", `requiredSuccesses must be a whole number of at least 1, got ${requiredSuccesses}`);
  const config = { ...defaultRotationConfig, verifyTimeoutMs, requiredSuccesses };
  const log = options.log ?? ((entry: RotationLogEntry) => console.log(JSON.stringify(entry)));
  const clients = new Map<string, SecretsManagerClient>();
  const ports = new Map<string, AwsPort>();

  return async (event) => {
    const { SecretId: secretId, ClientRequestToken: token, Step: step, RotationToken: rotationToken } = checkEvent(event);
    const region = options.region ?? /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1];
    const clientKey = region ?? "";
    let client = clients.get(clientKey);
    if (!client) {
      client = clientFor({ ...options, ...(region !== undefined ? { region } : {}) }, secretId);
      clients.set(clientKey, client);
    }
    let aws = options.aws ?? ports.get(clientKey);
    if (!aws) {
      aws = createAwsPort({ ...(region !== undefined ? { region } : {}), ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}) });
      ports.set(clientKey, aws);
    }
    const run: Run = {
      secretId,
      token,
      rotationToken,
      fields,
      api: secretApi(client, secretId, `secretsmanager:${secretId}`),
      aws,
      config,
      log: (message) => log({ step, secretId, token, message }),
      options,
      roleCredentials: async () => {
        const provider = (client as { config: { credentials: () => Promise<SigningCredentials> } }).config.credentials;
        const c = await provider();
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
      },
    };

    try {
      await runStep(run, step);
    } catch (error) {
      run.log(`failed: ${(error as Error).message}`);
      throw error;
    }
  };
}

// The checks of AWS's rotation template (SecretsManagerRotationTemplate/lambda_function.py in
// aws-samples/aws-secrets-manager-rotation-lambdas), made before every step.
async function runStep(run: Run, step: SecretsManagerRotationStep): Promise<void> {
  const { rotationEnabled, stages } = await run.api.describe();
  if (!rotationEnabled) {
    throw rotationError(
      "ENOTENABLED",
      `secretsmanager:${run.secretId}: rotation is not turned on for this secret: turn it on (aws secretsmanager rotate-secret --rotation-lambda-arn …) and let Secrets Manager invoke this function`,
    );
  }
  const tokenStages = stages.get(run.token);
  if (tokenStages === undefined) {
    throw rotationError(
      "ENOTPENDING",
      `secretsmanager:${run.secretId}: version ${run.token} has no staging label: it is not a rotation Secrets Manager started (RotateSecret labels the token's version AWSPENDING before the first step)`,
    );
  }
  if (tokenStages.includes("AWSCURRENT")) {
    if (step !== "finishSecret") {
      run.log(`version ${run.token} is already AWSCURRENT: this rotation has finished, nothing to do`);
      return;
    }
    // AWS's template returns here too. keyup's finishSecret moves no label either, but still retires
    // the old key if an earlier finishSecret moved AWSCURRENT and then failed to delete it: a retry is
    // the only thing that can finish that job (the store's README promises every step is idempotent).
    return finishSecret(run, stages);
  }
  if (!tokenStages.includes("AWSPENDING")) {
    const pendingOn = [...stages].find(([, labels]) => labels.includes("AWSPENDING"))?.[0];
    throw rotationError(
      "ENOTPENDING",
      `secretsmanager:${run.secretId}: version ${run.token} is not AWSPENDING, so it does not belong to the rotation in progress` +
        (pendingOn !== undefined
          ? ` (version ${pendingOn} holds AWSPENDING: Secrets Manager retries that rotation; to abandon it, remove AWSPENDING from ${pendingOn}, as CancelRotateSecret's reference describes)`
          : ""),
    );
  }
  switch (step) {
    case "createSecret":
      return createSecret(run);
    case "setSecret":
      return setSecret(run);
    case "testSecret":
      return testSecret(run);
    case "finishSecret":
      return finishSecret(run, stages);
  }
}

interface Run {
  readonly secretId: string;
  readonly token: string;
  /** From the event when Secrets Manager sent one; passed back with PutSecretValue, never logged. */
  readonly rotationToken: string | undefined;
  readonly fields: ResolvedFields;
  readonly api: SecretApi;
  readonly aws: AwsPort;
  readonly config: typeof defaultRotationConfig;
  readonly log: (message: string) => void;
  readonly options: RotationHandlerOptions;
  readonly roleCredentials: () => Promise<SigningCredentials>;
}

async function createSecret(run: Run): Promise<void> {
  const staged = await run.api.byId(run.token, "AWSPENDING");
  if (staged) {
    const key = keyIn(run, staged, `pending version ${run.token}`);
    run.log(`version ${run.token} already holds pending key ${key.accessKeyId}: nothing to do`);
    return;
  }
  const current = await run.api.byStage("AWSCURRENT");
  const currentKey = keyIn(run, current, "the AWSCURRENT version");
  const signer = await signerFor(run, currentKey);
  const userName = await userOf(run, currentKey);
  let keys = await awsCall("ListAccessKeys", () => run.aws.listAccessKeys(userName, signer));
  if (!keys.some((k) => k.accessKeyId === currentKey.accessKeyId)) {
    throw rotationError("EUSER", `the key in AWSCURRENT (${currentKey.accessKeyId}) is not one of IAM user ${userName}'s keys (${describeKeys(keys)})`);
  }

  // A rotation that failed before finishSecret leaves its version, and its key, behind. Secrets Manager
  // starts no new rotation while that version holds AWSPENDING; once it is abandoned (a person removes
  // the label, as https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
  // describes), the version has no label at all. Nothing serves a key only such a version holds
  // (consumers read AWSCURRENT or AWSPREVIOUS), so it is deleted.
  for (const [versionId, labels] of await run.api.versionIds()) {
    if (versionId === run.token || labels.length > 0) continue;
    const leftover = await run.api.byId(versionId);
    const held = leftover ? heldKey(run, leftover) : undefined;
    if (!held || held.accessKeyId === currentKey.accessKeyId || !keys.some((k) => k.accessKeyId === held.accessKeyId)) continue;
    await deleteKey(run, userName, held.accessKeyId, signer);
    keys = keys.filter((k) => k.accessKeyId !== held.accessKeyId);
    run.log(`deleted key ${held.accessKeyId}, staged by an earlier rotation that never finished (version ${versionId})`);
  }

  if (keys.length >= 2) {
    const others = keys.filter((k) => k.accessKeyId !== currentKey.accessKeyId);
    const [other] = others;
    if (others.length !== 1 || other?.status !== "Inactive") {
      throw rotationError(
        "ELIMIT",
        `IAM user ${userName} already has two access keys: ${currentKey.accessKeyId} (in AWSCURRENT) and ${others.map((k) => `${k.accessKeyId} (${k.status}, not staged by a rotation)`).join(", ")}. ` +
          "Delete or deactivate the key that is not in the secret, then let the rotation retry",
      );
    }
    await deleteKey(run, userName, other.accessKeyId, signer);
    run.log(`deleted Inactive key ${other.accessKeyId} to make room (IAM allows two keys per user)`);
  }

  const created = await awsCall("CreateAccessKey", () => run.aws.createAccessKey(userName, signer));
  try {
    await run.api.put(withKey(current.text, run.fields, created), run.token, ["AWSPENDING"], run.rotationToken);
  } catch (error) {
    try {
      await deleteKey(run, userName, created.accessKeyId, signer);
    } catch (cleanup) {
      throw rotationError(
        "EORPHAN",
        `${(error as Error).message}; deleting the new key ${created.accessKeyId} failed too (${(cleanup as Error).message}): delete ${created.accessKeyId} of IAM user ${userName} by hand`,
        error,
      );
    }
    throw rotationError(
      (error as { code?: string }).code ?? "EIO",
      `${(error as Error).message} (the new key ${created.accessKeyId} was deleted again)`,
      error,
    );
  }
  run.log(`created key ${created.accessKeyId} for IAM user ${userName} and staged it as AWSPENDING`);
}

// Nothing to set: unlike a database password, an IAM key is live as soon as CreateAccessKey returns,
// so there is no second system to push the pending value to. The step still checks the pending
// version is there, so a rotation whose createSecret went missing fails here rather than later.
async function setSecret(run: Run): Promise<void> {
  const pending = await pendingVersion(run);
  run.log(`pending key ${keyIn(run, pending, `pending version ${run.token}`).accessKeyId} is already live in IAM: nothing to set`);
}

async function testSecret(run: Run): Promise<void> {
  const pendingKey = keyIn(run, await pendingVersion(run), `pending version ${run.token}`);
  const expected = await expectedUser(run);
  let successes = 0;
  let failures = 0;
  let attempts = 0;
  const deadline = Date.now() + run.config.verifyTimeoutMs;
  for (;;) {
    attempts++;
    let arn: string;
    try {
      ({ arn } = await run.aws.getCallerIdentity(pendingKey));
    } catch (error) {
      const name = awsErrorName(error);
      if (classifyAwsErrorName(name) === "permanent") {
        throw rotationError(
          "EVERIFY",
          `testSecret: GetCallerIdentity with pending key ${pendingKey.accessKeyId} failed: ${toAwsError("GetCallerIdentity", error).message}`,
          error,
        );
      }
      successes = 0;
      failures++;
      const delay = backoffDelay(run.config, failures, Math.random());
      if (Date.now() + delay > deadline) {
        throw rotationError(
          "EVERIFY",
          `testSecret: pending key ${pendingKey.accessKeyId} was still rejected (${name}) after ${attempts} attempts in ${run.config.verifyTimeoutMs} ms. ` +
            "AWSCURRENT is unchanged and the old key still works; Secrets Manager will retry the rotation",
          error,
        );
      }
      await sleep(delay);
      continue;
    }
    const identity = parseIdentityArn(arn);
    if (identity.type !== "user" || identity.name !== expected.name || (expected.arn !== undefined && arn !== expected.arn)) {
      throw rotationError(
        "EVERIFY",
        `testSecret: pending key ${pendingKey.accessKeyId} authenticates as ${arn}, not as IAM user ${expected.arn ?? expected.name}`,
      );
    }
    successes++;
    if (successes >= run.config.requiredSuccesses) break;
    await sleep(run.config.confirmIntervalMs);
  }
  run.log(`pending key ${pendingKey.accessKeyId} authenticated as ${expected.arn ?? expected.name} ${successes} times in a row (${attempts} attempts)`);
}

async function finishSecret(run: Run, stages: Map<string, readonly string[]>): Promise<void> {
  const currentId = [...stages].find(([, labels]) => labels.includes("AWSCURRENT"))?.[0];
  const version = await run.api.byId(run.token);
  if (!version) throw rotationError("ENOTPENDING", `secretsmanager:${run.secretId}: version ${run.token} holds no value: run createSecret first`);
  const newKey = keyIn(run, version, `version ${run.token}`);
  const tokenLabels = stages.get(run.token) ?? [];

  let oldVersionId: string | undefined;
  if (currentId !== run.token) {
    oldVersionId = currentId;
    await run.api.call("UpdateSecretVersionStage", () => run.api.moveStage("AWSCURRENT", run.token, currentId));
    run.log(`moved AWSCURRENT to version ${run.token} (key ${newKey.accessKeyId}) from ${currentId ?? "no version"}`);
  } else {
    // A retry after AWSCURRENT already moved: the old key is the one AWSPREVIOUS holds.
    oldVersionId = [...stages].find(([, labels]) => labels.includes("AWSPREVIOUS"))?.[0];
  }
  if (tokenLabels.includes("AWSPENDING")) {
    // Leaves AWSPENDING on no version, which Secrets Manager reads as "no rotation in progress".
    try {
      await run.api.moveStage("AWSPENDING", undefined, run.token);
    } catch (error) {
      // InvalidParameterException: the label is already off this version (a retried finishSecret).
      if (!isAwsError(error, "InvalidParameterException")) throw toStoreError(error, `secretsmanager:${run.secretId}`, "UpdateSecretVersionStage");
    }
  }

  const oldVersion = oldVersionId !== undefined ? await run.api.byId(oldVersionId) : undefined;
  const oldKey = oldVersion ? heldKey(run, oldVersion) : undefined;
  if (!oldKey || oldKey.accessKeyId === newKey.accessKeyId) {
    run.log("no old key to retire");
    return;
  }
  const signer = await signerFor(run, newKey);
  const userName = await userOf(run, newKey);
  const gone = await retrying(run, "UpdateAccessKey", () => run.aws.updateAccessKey(userName, oldKey.accessKeyId, "Inactive", signer));
  if (gone) {
    run.log(`old key ${oldKey.accessKeyId} was already deleted`);
    return;
  }
  await retrying(run, "DeleteAccessKey", () => run.aws.deleteAccessKey(userName, oldKey.accessKeyId, signer));
  run.log(`deactivated and deleted old key ${oldKey.accessKeyId} of IAM user ${userName}`);
}

// ---------------------------------------------------------------------------------------------

function checkEvent(event: unknown): SecretsManagerRotationEvent {
  const e = (typeof event === "object" && event !== null ? event : {}) as Record<string, unknown>;
  if (typeof e.SecretId !== "string" || e.SecretId === "")
    throw rotationError("EEVENT", "the event has no SecretId: is this a Secrets Manager rotation event?");
  if (typeof e.ClientRequestToken !== "string" || e.ClientRequestToken.length < 32 || e.ClientRequestToken.length > 64) {
    throw rotationError("EEVENT", "the event's ClientRequestToken must be a string of 32–64 characters");
  }
  if (typeof e.Step !== "string" || !STEPS.has(e.Step)) {
    throw rotationError("EEVENT", `unknown Step ${JSON.stringify(String(e.Step)).slice(0, 40)}: expected createSecret, setSecret, testSecret or finishSecret`);
  }
  if (e.RotationToken !== undefined && typeof e.RotationToken !== "string") throw rotationError("EEVENT", "the event's RotationToken must be a string");
  return {
    SecretId: e.SecretId,
    ClientRequestToken: e.ClientRequestToken,
    Step: e.Step as SecretsManagerRotationStep,
    ...(e.RotationToken !== undefined ? { RotationToken: e.RotationToken } : {}),
  };
}

async function pendingVersion(run: Run): Promise<SecretVersion> {
  const pending = await run.api.byId(run.token, "AWSPENDING");
  if (!pending)
    throw rotationError("ENOTPENDING", `secretsmanager:${run.secretId}: version ${run.token} is not AWSPENDING or holds no value: run createSecret first`);
  return pending;
}

/** The key a version holds, or an error saying that version holds none. */
function keyIn(run: Run, version: SecretVersion, what: string): AccessKeyPair {
  const held = parseHeld(version.text, run.fields, `secretsmanager:${run.secretId} (${what})`);
  if (held.kind !== "key") {
    throw rotationError(
      "EINVALID",
      `secretsmanager:${run.secretId}: ${what} holds no access key ("${run.fields.accessKeyId}" / "${run.fields.secretAccessKey}")`,
    );
  }
  return held.key;
}

/** The key a version holds, or `undefined` for anything else. */
function heldKey(run: Run, version: SecretVersion): AccessKeyPair | undefined {
  try {
    const held = parseHeld(version.text, run.fields, "");
    return held.kind === "key" ? held.key : undefined;
  } catch {
    return undefined;
  }
}

async function signerFor(run: Run, key: AccessKeyPair): Promise<SigningCredentials> {
  return run.options.iamSigner === "lambda-role" ? run.roleCredentials() : key;
}

async function userOf(run: Run, key: AccessKeyPair): Promise<string> {
  return run.options.userName ?? (await identityOf(run, key)).name;
}

async function expectedUser(run: Run): Promise<{ name: string; arn?: string }> {
  if (run.options.userName !== undefined) return { name: run.options.userName };
  const current = keyIn(run, await run.api.byStage("AWSCURRENT"), "the AWSCURRENT version");
  return identityOf(run, current);
}

async function identityOf(run: Run, key: AccessKeyPair): Promise<{ name: string; arn: string }> {
  let arn = "";
  await retrying(run, "GetCallerIdentity", async () => {
    ({ arn } = await run.aws.getCallerIdentity(key));
  });
  const identity = parseIdentityArn(arn);
  if (identity.type !== "user") {
    throw rotationError(
      "EUSER",
      `key ${key.accessKeyId} belongs to ${arn || "an unknown identity"}, not an IAM user: only an IAM user's access key can be rotated`,
    );
  }
  return { name: identity.name, arn };
}

async function deleteKey(run: Run, userName: string, accessKeyId: string, signer: SigningCredentials): Promise<void> {
  await retrying(run, "DeleteAccessKey", () => run.aws.deleteAccessKey(userName, accessKeyId, signer));
}

/**
 * Runs an IAM/STS call, retrying IAM's propagation and throttling errors with backoff until the
 * verify timeout. Returns `true` when IAM says the key is already gone (NoSuchEntity), which a
 * retried delete or deactivate counts as done.
 */
async function retrying(run: Run, operation: string, call: () => Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + run.config.verifyTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await call();
      return false;
    } catch (error) {
      const name = awsErrorName(error);
      if (name === "NoSuchEntity" && operation !== "GetCallerIdentity") return true;
      const delay = backoffDelay(run.config, attempt, Math.random());
      if (classifyAwsErrorName(name) === "permanent" || Date.now() + delay > deadline) throw awsFailure(operation, error);
      await sleep(delay);
    }
  }
}

async function awsCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsFailure(operation, error);
  }
}

function awsFailure(operation: string, error: unknown): RotationHandlerError {
  const failure = toAwsError(operation, error);
  return Object.assign(rotationError("EAWS", failure.message, error), { awsCode: failure.code });
}

function describeKeys(keys: readonly KeySummary[]): string {
  return keys.map((k) => `${k.accessKeyId} ${k.status}`).join(", ") || "none";
}

function rotationError(code: string, message: string, cause?: unknown): RotationHandlerError {
  const error = new Error(message, cause === undefined ? {} : { cause: cause instanceof Error && cause.name === "StoreError" ? cause : safeCause(cause) });
  error.name = "RotationHandlerError";
  return Object.assign(error, { code });
}
