import { randomUUID } from "node:crypto";
import type { SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import {
  type AccessKeyPair,
  type AwsPort,
  awsErrorName,
  createAwsPort,
  type RotationConfig,
  type RotationError,
  type RotationState,
  type SigningCredentials,
} from "@keyup/core";
import { defaultRotationConfig, errorOf } from "@keyup/core/machine";
import { describeAwsError, safeCause, toStoreError } from "./_internal/aws-errors.js";
import { identify, inspect, type Retirement, retire, type SegmentContext, stage, verify } from "./_internal/machine-segments.js";
import { type PendingRecord, RECORD_PREFIX, recordsIn, recordValue } from "./_internal/pending-record.js";
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
 * The part of the Lambda context object the handler reads: how long the invocation may still run.
 * createSecret records that deadline on the secret, so a later invocation knows when this one can no
 * longer be running (Lambda stops an invocation at its timeout).
 *
 * @example
 * ```ts
 * const context: RotationContext = { getRemainingTimeInMillis: () => 170_000 };
 * ```
 */
export interface RotationContext {
  readonly getRemainingTimeInMillis?: () => number;
}

/**
 * A Lambda handler for Secrets Manager rotation. Resolves when the step is done (or was already
 * done); rejects with a {@link RotationHandlerError} so Secrets Manager retries the rotation later.
 * The Lambda runtime passes `context`; without one, an invocation counts as running for up to 15
 * minutes (Lambda's longest timeout).
 *
 * @example
 * ```ts
 * export const handler: RotationHandler = createRotationHandler();
 * ```
 */
export type RotationHandler = (event: SecretsManagerRotationEvent, context?: RotationContext) => Promise<void>;

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
 * - `EINUSE`: the key to retire (by default the AWSPREVIOUS one) was used after the last rotation
 *   finished: nothing was changed.
 * - `EVERIFY`: the pending key could not be proven to work before the timeout.
 * - `EAWS`: an IAM or STS call failed (see `awsCode`).
 * - `EBUSY`: another invocation of the rotation function is creating a key for this secret (its
 *   record is on the secret, and it may still be running): nothing was changed; a retry after that
 *   invocation's deadline goes on.
 * - `EORPHAN`: a new key could be neither staged nor deleted again. The record createSecret keeps on
 *   the secret still names it: the next createSecret after that invocation's deadline deletes it.
 * Secrets Manager failures carry the store codes (`ENOTFOUND`, `EACCES`, `EIO`).
 *
 * @example
 * ```ts
 * const code: RotationHandlerErrorCode = "ELIMIT";
 * ```
 */
export type RotationHandlerErrorCode =
  | "ECONFIG"
  | "EEVENT"
  | "ENOTENABLED"
  | "ENOTPENDING"
  | "EINVALID"
  | "EUSER"
  | "ELIMIT"
  | "EINUSE"
  | "EVERIFY"
  | "EAWS"
  | "EBUSY"
  | "EORPHAN";

/**
 * When the key a rotation replaces is retired:
 * - `next-rotation` (default): finishSecret only moves the labels; the old key stays Active under
 *   AWSPREVIOUS, so consumers that cached it (AWS's caching clients keep a value up to an hour) keep
 *   working. The next rotation's createSecret deactivates and deletes it, after IAM shows no use of it
 *   since that rotation finished (plus `previousKeyUseGraceMs`); if it was used, nothing changes and
 *   the rotation fails with `EINUSE`. Between rotations the user has two Active keys.
 * - `at-finish`: finishSecret deactivates and deletes the old key at once (one Active key between
 *   rotations; a consumer still serving a cached old key fails until its cache refreshes).
 * - `deactivate-at-finish`: finishSecret deactivates the old key; the next rotation deletes it. A
 *   consumer with a cached old key fails as with `at-finish`, but the key can be turned back on.
 *
 * @example
 * ```ts
 * const policy: RetireOldPolicy = "next-rotation";
 * ```
 */
export type RetireOldPolicy = "next-rotation" | "at-finish" | "deactivate-at-finish";

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
  /** When the replaced key is retired. Default `next-rotation` (see {@link RetireOldPolicy}). */
  readonly retireOld?: RetireOldPolicy;
  /**
   * With `next-rotation`: how long after a rotation finished a use of the AWSPREVIOUS key still counts
   * as a cached consumer catching up rather than one that never switched, in ms. Default 75 minutes:
   * AWS's caching clients keep a value up to an hour, and IAM records a use up to 15 minutes late.
   */
  readonly previousKeyUseGraceMs?: number;
  /** How long testSecret (and each retire call) keeps retrying, in ms. Default 30 000. */
  readonly verifyTimeoutMs?: number;
  /** Consecutive successful GetCallerIdentity calls the pending key needs. Default 2. */
  readonly requiredSuccesses?: number;
  /** Substitute IAM/STS implementation. Default: core's {@link createAwsPort} with `region` / `endpoint`. */
  readonly aws?: AwsPort;
  /** Where log lines go. Default: one JSON line per entry on stdout (CloudWatch Logs in a Lambda). */
  readonly log?: (entry: RotationLogEntry) => void;
}

const STEPS = new Set<string>(["createSecret", "setSecret", "testSecret", "finishSecret"]);
/** Lambda's longest timeout: without a context, an invocation counts as running this long. */
const LAMBDA_MAX_TIMEOUT_MS = 15 * 60_000;
/** Added to an invocation's deadline before another invocation may treat it as over. */
const CLOCK_MARGIN_MS = 2_000;

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
 * Every step runs a stretch of core's rotation machine (the one `rotate()` runs) over a "store" whose
 * install writes AWSPENDING: identity, the 2-key policy, verify with its retries and backoff, retiring
 * a key and error classification are core's.
 *
 * - `createSecret`: deletes any key an earlier invocation created and was stopped before storing
 *   (see below); retires the AWSPREVIOUS key kept by `next-rotation` (unless IAM shows a use of it
 *   since the last rotation finished: then `EINUSE`, nothing changed) and any key held only by an
 *   abandoned rotation's unlabelled version; then creates a new key and stages it as AWSPENDING (a
 *   JSON copy of the current version with the two key fields replaced). Once the token's version
 *   holds a key, a repeated createSecret changes nothing. At IAM's 2-key limit it deletes the other
 *   key only if it is Inactive; otherwise it fails naming both keys. If staging fails, the new key is
 *   deleted again.
 *
 * Crash safety. Between CreateAccessKey and PutSecretValue the new key is named by no version. So
 * before creating it, createSecret writes a record on the secret (a tag `keyup:pending:<id>` holding
 * the user's key ids at that moment, the token and the invocation's deadline; no secret) and removes
 * it once the key is stored. An invocation stopped in between (killed, timed out) leaves the record;
 * the next createSecret after that invocation's deadline deletes the key the record accounts for (a
 * key of the user that is neither in the record's list nor in any version of the secret) and the
 * record, then proceeds. Before the deadline the first invocation may still be running (Secrets
 * Manager retries, with the same token, while it runs), so createSecret then fails with `EBUSY` and
 * changes nothing. Every other step changes only labels, each move checked against where the label
 * is now, so a step stopped after any call and invoked again finishes the job.
 * - `setSecret`: nothing to push, since CreateAccessKey already made the key valid in IAM; checks that
 *   the pending version exists.
 * - `testSecret`: core's verify: STS GetCallerIdentity signed only by the pending key must name the
 *   user, K times in a row, retrying IAM's propagation errors with core's backoff until the timeout.
 * - `finishSecret`: moves AWSCURRENT to the new version; with `at-finish` (or `deactivate-at-finish`)
 *   then deactivates and deletes (or only deactivates) the old key, signed by the new key, so a retry
 *   finishes the job. With the default `next-rotation` the old key stays Active under AWSPREVIOUS.
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
  const retireOld = options.retireOld ?? "next-rotation";
  if (!["next-rotation", "at-finish", "deactivate-at-finish"].includes(retireOld))
    throw rotationError("ECONFIG", `retireOld must be next-rotation, at-finish or deactivate-at-finish, got ${JSON.stringify(retireOld)}`);
  const previousKeyUseGraceMs = options.previousKeyUseGraceMs ?? 75 * 60_000;
  if (!Number.isFinite(previousKeyUseGraceMs) || previousKeyUseGraceMs < 0)
    throw rotationError("ECONFIG", `previousKeyUseGraceMs must be a number of ms of at least 0, got ${previousKeyUseGraceMs}`);
  const config: RotationConfig = {
    ...defaultRotationConfig,
    verifyTimeoutMs,
    requiredSuccesses,
    iamSigner: options.iamSigner === "lambda-role" ? "credentials" : "store-keys",
    ...(options.userName !== undefined ? { userName: options.userName } : {}),
  };
  const log = options.log ?? ((entry: RotationLogEntry) => console.log(JSON.stringify(entry)));
  const clients = new Map<string, SecretsManagerClient>();
  const ports = new Map<string, AwsPort>();

  return async (event, context) => {
    const { SecretId: secretId, ClientRequestToken: token, Step: step, RotationToken: rotationToken } = checkEvent(event);
    // Until when this invocation may be running: Lambda stops it at its timeout. The margin covers
    // the clocks of two Lambda hosts disagreeing, as the deadline is compared on another invocation's.
    const remaining = context?.getRemainingTimeInMillis?.();
    const deadline =
      Date.now() + (typeof remaining === "number" && Number.isFinite(remaining) ? Math.max(0, remaining) : LAMBDA_MAX_TIMEOUT_MS) + CLOCK_MARGIN_MS;
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
      machine: {
        name: `secretsmanager:${secretId}`,
        secretId,
        aws,
        config,
        credentials: async () => {
          const provider = (client as { config: { credentials: () => Promise<SigningCredentials> } }).config.credentials;
          const c = await provider();
          return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
        },
      },
      retireOld,
      previousKeyUseGraceMs,
      deadline,
      log: (message) => log({ step, secretId, token, message }),
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
  const { rotationEnabled, stages, tags } = await run.api.describe();
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
    // AWS's template returns here. keyup's finishSecret does not move AWSCURRENT again, but finishes
    // what an earlier finishSecret stopped before: taking AWSPENDING off the version (killed between
    // the two moves) and retiring the old key (a failed or killed deletion). A retry with the same token
    // is the only thing that can finish those jobs.
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
      return createSecret(run, recordsIn(tags));
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
  readonly machine: SegmentContext;
  readonly retireOld: RetireOldPolicy;
  readonly previousKeyUseGraceMs: number;
  /** Epoch ms until which this invocation may be running (plus a margin for clocks). */
  readonly deadline: number;
  readonly log: (message: string) => void;
}

async function createSecret(run: Run, records: readonly PendingRecord[]): Promise<void> {
  const current = await run.api.byStage("AWSCURRENT");
  const currentKey = keyIn(run, current, "the AWSCURRENT version");
  const inspected = await inspect(run.machine, currentKey);
  const failed = stoppedBy(inspected);
  if (failed && failed.kind !== "limit") throw handlerError(failed);
  const userName = inspected.userName ?? run.machine.config.userName ?? "";
  const keys = new Set((inspected.keys ?? []).map((k) => k.accessKeyId));

  const staged = await run.api.byId(run.token, "AWSPENDING");
  if (staged) {
    const key = keyIn(run, staged, `pending version ${run.token}`);
    if (!keys.has(key.accessKeyId)) {
      throw rotationError(
        "ENOTPENDING",
        `secretsmanager:${run.secretId}: pending version ${run.token} holds key ${key.accessKeyId}, which IAM user ${userName} no longer has: remove AWSPENDING from version ${run.token} (see CancelRotateSecret) and rotate again`,
      );
    }
    await settleRecords(run, records, { userName, signer: currentKey, keys, staged: true });
    run.log(`version ${run.token} already holds pending key ${key.accessKeyId}: nothing to do`);
    return;
  }
  await settleRecords(run, records, { userName, signer: currentKey, keys, staged: false });

  // Keys only an abandoned rotation's version holds (no label left: nothing serves them) and, by
  // default, the AWSPREVIOUS key kept Active since the last rotation: retire them before creating,
  // so IAM's two-key limit leaves room. The AWSPREVIOUS key is retired only if AWS has seen no use of
  // it since the last rotation finished (plus the grace for caches and IAM's late recording).
  for (const [versionId, labels] of await run.api.versionIds()) {
    if (versionId === run.token || versionId === current.versionId) continue;
    const previous = labels.includes("AWSPREVIOUS");
    if (labels.length > 0 && !previous) continue;
    const version = await run.api.byId(versionId);
    const held = version ? heldKey(run, version) : undefined;
    if (!held || held.accessKeyId === currentKey.accessKeyId || !keys.has(held.accessKeyId)) continue;
    // When the last rotation finished, on AWS's clock: Secrets Manager records no finish time, so the
    // AWSCURRENT version's creation (its createSecret, shortly before) stands in; being earlier, it
    // only makes the check stricter. GetSecretValue's CreatedDate is used: ListSecretVersionIds' is not
    // the creation time on every implementation (moto answers the time of the call).
    const finishedAt = previous ? current.createdDate : undefined;
    if (previous && !finishedAt) {
      throw rotationError(
        "EINVALID",
        `secretsmanager:${run.secretId}: the AWSCURRENT version has no CreatedDate, so whether ${held.accessKeyId} was used since the last rotation cannot be told`,
      );
    }
    const retirement: Retirement = {
      userName,
      accessKeyId: held.accessKeyId,
      signer: currentKey,
      oldKey: "delete",
      ...(finishedAt ? { unusedSince: finishedAt.getTime() + run.previousKeyUseGraceMs } : {}),
    };
    await retireKey(run, retirement, previous ? `the AWSPREVIOUS key (version ${versionId})` : `left by an unfinished rotation (version ${versionId})`);
  }

  // The journal entry for the key about to be made (see pending-record.ts): from here until the key is
  // in a version, only this record names it.
  const recordKey = `${RECORD_PREFIX}${randomUUID()}`;
  await run.api.tag(recordKey, recordValue({ token: run.token, until: run.deadline, before: [...keys] }));
  const result = await stage(run.machine, currentKey, {
    install: async (key) => {
      await run.api.put(withKey(current.text, run.fields, key), run.token, ["AWSPENDING"], run.rotationToken);
    },
    readBack: async () => {
      const pending = await run.api.byId(run.token, "AWSPENDING");
      return pending ? heldKey(run, pending) : undefined;
    },
  });
  if (result.phase !== "verifying") {
    const error = errorOf(result);
    if (!error) throw rotationError("EINTERNAL", `keyup bug: createSecret stopped in ${result.phase} (${result.outcome})`);
    const handled = handlerError(error);
    if (handled.code === "EORPHAN") {
      // The key exists and no version holds it: the record stays, so a later createSecret deletes it.
      throw Object.assign(handled, {
        message: `${handled.message} (record ${recordKey} on the secret names it: the next createSecret after ${new Date(run.deadline).toISOString()} deletes it)`,
      });
    }
    // No key of this invocation is left (none made, or deleted again): the record has done its job.
    await run.api.untag([recordKey]).catch((untagError: unknown) => run.log(`could not remove record ${recordKey}: ${(untagError as Error).message}`));
    if (result.outcome === "rolled-back")
      throw Object.assign(handled, { message: `${failureText(result)} (the new key ${result.newAccessKeyId} was deleted again)` });
    throw handled;
  }
  // The key is in the token's version now; a failure here leaves a record a retry removes.
  await run.api.untag([recordKey]);
  run.log(`created key ${result.newAccessKeyId} for IAM user ${result.userName ?? userName} and staged it as AWSPENDING`);
}

/**
 * Deals with the records earlier invocations of createSecret left on the secret. A record's key is a
 * key of the user that is neither in the record's list nor in any version of the secret.
 * - Past its invocation's deadline, that invocation is over: its key (if any) was never stored and
 *   never handed to anyone, so it is deactivated and deleted, and the record removed.
 * - Before the deadline the invocation may still be running and about to store its key: `EBUSY`,
 *   nothing changed. When the token's version already holds a key (`staged`), a record of this token
 *   that accounts for no key is removed instead: its key is the stored one, and with the user's
 *   current and pending keys IAM's two-key limit leaves no room for another.
 */
async function settleRecords(
  run: Run,
  records: readonly PendingRecord[],
  at: { userName: string; signer: AccessKeyPair; keys: ReadonlySet<string>; staged: boolean },
): Promise<void> {
  if (records.length === 0) return;
  const named = new Set<string>();
  for (const versionId of (await run.api.versionIds()).keys()) {
    const version = await run.api.byId(versionId);
    const held = version ? heldKey(run, version) : undefined;
    if (held) named.add(held.accessKeyId);
  }
  const now = Date.now();
  for (const record of records) {
    const unstored = [...at.keys].filter((id) => !record.before.includes(id) && !named.has(id));
    const over = now > record.until;
    const stored = at.staged && record.token === run.token && unstored.length === 0;
    if (!over && !stored) {
      if (at.staged) continue;
      throw rotationError(
        "EBUSY",
        `secretsmanager:${run.secretId}: another invocation${record.token ? ` (token ${record.token})` : ""} is creating a key for this secret and may run until ${new Date(record.until).toISOString()} (record ${record.tagKey}` +
          `${unstored.length > 0 ? `, key ${unstored.join(", ")}` : ""}): nothing was changed; Secrets Manager retries the rotation, and a retry after that time goes on`,
      );
    }
    for (const accessKeyId of unstored) {
      await retireKey(
        run,
        { userName: at.userName, accessKeyId, signer: at.signer, oldKey: "delete" },
        `created by an invocation stopped before storing it (record ${record.tagKey})`,
      );
    }
    await run.api.untag([record.tagKey]);
    run.log(`removed record ${record.tagKey}${unstored.length > 0 ? ` after deleting the key it accounts for` : ""}`);
  }
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
  const currentKey = keyIn(run, await run.api.byStage("AWSCURRENT"), "the AWSCURRENT version");
  const identified = await identify(run.machine, currentKey);
  const notUser = stoppedBy(identified);
  if (notUser) throw handlerError(notUser);
  const result = await verify(run.machine, identified, currentKey, pendingKey, Date.now());
  if (result.outcome !== "rotated") {
    const failure = result.failure;
    throw rotationError(
      "EVERIFY",
      `testSecret: ${failure ? `${failure.code}: ${failure.message}` : `verify stopped in ${result.phase}`}. AWSCURRENT is unchanged and the old key still works; Secrets Manager will retry the rotation`,
      failure,
    );
  }
  run.log(
    `pending key ${pendingKey.accessKeyId} authenticated as ${result.userArn ?? result.userName} ${result.consecutiveSuccesses} times in a row (${result.verifyAttempts} attempts)`,
  );
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
  if (run.retireOld === "next-rotation") {
    run.log(`old key ${oldKey.accessKeyId} stays Active under AWSPREVIOUS for consumers that cached it; the next rotation retires it`);
    return;
  }
  const inspected = await inspect(run.machine, newKey);
  const failed = stoppedBy(inspected);
  if (failed && failed.kind !== "limit") throw handlerError(failed);
  if (!(inspected.keys ?? []).some((k) => k.accessKeyId === oldKey.accessKeyId)) {
    run.log(`old key ${oldKey.accessKeyId} was already deleted`);
    return;
  }
  const oldKeyPolicy = run.retireOld === "deactivate-at-finish" ? "deactivate" : "delete";
  await retireKey(run, { userName: inspected.userName ?? "", accessKeyId: oldKey.accessKeyId, signer: newKey, oldKey: oldKeyPolicy }, "the old key");
}

/** Runs the machine's retire stretch and turns anything but a clean end into an error. */
async function retireKey(run: Run, retirement: Retirement, what: string): Promise<void> {
  const result = await retire(run.machine, retirement, Date.now()).catch((error: unknown) => {
    // Only the last-used read throws (the machine's own calls end in a state): nothing was changed.
    throw Object.assign(
      rotationError("EAWS", `could not read when ${what} ${retirement.accessKeyId} was last used, so nothing was changed: ${describeAwsError(error)}`, error),
      { awsCode: awsErrorName(error) },
    );
  });
  const inUse = result.oldKeyInUse;
  if (inUse) {
    const where = [inUse.serviceName, inUse.region].filter(Boolean).join(" in ") || "an unknown service";
    throw rotationError(
      "EINUSE",
      `${what}, ${retirement.accessKeyId} of IAM user ${retirement.userName}, was used at ${inUse.date} (${where}), after the last rotation finished: ` +
        "a consumer still uses it, so nothing was changed. Point that consumer at the secret's AWSCURRENT value (or shorten its cache), then let the rotation retry; " +
        `to retire the key anyway, deactivate ${retirement.accessKeyId} by hand first`,
    );
  }
  if (result.outcome !== "rotated") {
    const failure = result.lastFailure;
    throw Object.assign(
      rotationError("EAWS", `could not retire ${what} ${retirement.accessKeyId}: ${result.warnings.join("; ") || result.outcome}`, failure),
      failure?.source === "aws" ? { awsCode: failure.code } : {},
    );
  }
  run.log(
    `${retirement.oldKey === "delete" ? "deactivated and deleted" : "deactivated"} key ${retirement.accessKeyId} (${what}) of IAM user ${retirement.userName}`,
  );
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

/** The error a stretch ended with, or `undefined` when it stopped where it was told to (or succeeded). */
function stoppedBy(state: RotationState): RotationError | undefined {
  return state.phase === "done" ? errorOf(state) : undefined;
}

/** Why a stretch failed, in the machine's words. */
function failureText(state: RotationState): string {
  return state.failure?.message ?? state.lastFailure?.message ?? `ended ${state.outcome}`;
}

/** A failed stretch of core's machine, as the error this handler rejects with. */
function handlerError(error: RotationError): RotationHandlerError {
  switch (error.kind) {
    case "limit":
      return rotationError("ELIMIT", error.message);
    case "config":
      return rotationError("EUSER", error.message, error.cause);
    case "verify":
      return rotationError("EVERIFY", error.message, error.cause);
    case "store":
      return rotationError(error.code, error.message, error.cause);
    case "lock":
      return rotationError("ELOCKED", error.message, error.cause);
    case "rollback-failed":
      return rotationError("EORPHAN", error.message, error.cause);
    case "aws":
      return Object.assign(rotationError("EAWS", error.message, error.cause), { awsCode: error.code });
    default:
      return rotationError("EINTERNAL", error.message, "cause" in error ? error.cause : undefined);
  }
}

function rotationError(code: string, message: string, cause?: unknown): RotationHandlerError {
  const error = new Error(message, cause === undefined ? {} : { cause: cause instanceof Error && cause.name === "StoreError" ? cause : safeCause(cause) });
  error.name = "RotationHandlerError";
  return Object.assign(error, { code });
}
