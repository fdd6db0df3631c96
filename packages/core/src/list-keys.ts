import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { checkAwsOptions, checkStore, checkUserName } from "./_internal/options.js";
import { call, userContext } from "./_internal/user-context.js";
import { type AwsOptions, type AwsPort, createAwsPort, type SigningCredentials } from "./aws-port.js";
import type { CredentialStore } from "./credential-store.js";
import type { KeyupError } from "./errors.js";
import { graceTagKey } from "./machine/types.js";

/**
 * One IAM access key, as `listKeys()` describes it. No secret: IAM never returns one after creation.
 *
 * @example
 * ```ts
 * const info: AccessKeyInfo = {
 *   accessKeyId: "AKIA…", status: "Active", createdAt: new Date("2026-01-01"), ageMs: 86_400_000,
 *   lastUsed: { date: new Date(), serviceName: "sts", region: "us-east-1" }, inStore: true,
 * };
 * ```
 */
export interface AccessKeyInfo {
  readonly accessKeyId: string;
  readonly status: string;
  readonly createdAt?: Date;
  /** Milliseconds since creation, at the time of listing. */
  readonly ageMs?: number;
  /** When, where and with which service the key was last used; absent if never used. */
  readonly lastUsed?: { readonly date?: Date; readonly serviceName?: string; readonly region?: string };
  /** The key's description (the user tag named after the key id, as the IAM console sets it). */
  readonly description?: string;
  /** For a key kept Inactive for a grace period: when it may be deleted (`keyup cleanup`). */
  readonly keepUntil?: Date;
  /** True for the key the given store holds. */
  readonly inStore: boolean;
}

/**
 * Options for {@link listKeys}: a store (whose key signs the calls and names the user), or
 * `credentials` plus `userName`.
 *
 * @example
 * ```ts
 * const options: ListKeysOptions = { store: iniStore({ profile: "me" }), region: "us-east-1" };
 * ```
 */
export interface ListKeysOptions extends AwsOptions {
  readonly store?: CredentialStore;
  /** Whose keys to list. Default: the IAM user behind the store's key (or behind `credentials`). */
  readonly userName?: string;
  /** The time ages are measured against. Default: now. */
  readonly now?: Date;
  /** Substitute IAM/STS implementation. Default: {@link createAwsPort}. */
  readonly aws?: AwsPort;
  /** For users whose policies require MFA: calls use a 15-minute session opened with this device and code. */
  readonly mfa?: { readonly serialNumber: string; readonly tokenCode: () => Promise<string> };
}

/**
 * Lists an IAM user's access keys with status, age and last use. Never throws.
 *
 * @example
 * ```ts
 * import { listKeys } from "@keyup/core";
 *
 * const result = await listKeys({ store: iniStore({ profile: "me" }) });
 * if (result.isOk()) for (const k of result.value) console.log(k.accessKeyId, k.status, k.lastUsed?.serviceName);
 * ```
 */
export function listKeys(options: ListKeysOptions): ResultAsync<AccessKeyInfo[], KeyupError> {
  const checked = check(options);
  if (checked.isErr()) return errAsync(checked.error);
  return new ResultAsync(listKeysAsync(options));
}

async function listKeysAsync(options: ListKeysOptions): Promise<Result<AccessKeyInfo[], KeyupError>> {
  const context = await userContext(options);
  if (context.isErr()) return err(context.error);
  const { aws, signer, held, userName } = context.value;
  const now = (options.now ?? new Date()).getTime();
  const keys = await call("ListAccessKeys", () => aws.listAccessKeys(userName, signer));
  if (keys.isErr()) return err(keys.error);
  // Descriptions and grace periods live in user tags; a user who may not read them still gets a list.
  const tags = await aws.listUserTags(userName, signer).catch(() => ({}) as Record<string, string>);
  const infos: AccessKeyInfo[] = [];
  for (const k of keys.value) {
    const lastUsed = await call("GetAccessKeyLastUsed", () => aws.getAccessKeyLastUsed(k.accessKeyId, signer));
    if (lastUsed.isErr()) return err(lastUsed.error);
    const createdAt = k.createDate ? new Date(k.createDate) : undefined;
    const description = tags[k.accessKeyId];
    const grace = tags[graceTagKey(k.accessKeyId)];
    infos.push({
      accessKeyId: k.accessKeyId,
      status: k.status,
      ...(createdAt ? { createdAt, ageMs: Math.max(0, now - createdAt.getTime()) } : {}),
      ...(lastUsed.value.date || lastUsed.value.serviceName ? { lastUsed: lastUsed.value } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(grace !== undefined && Number.isFinite(Date.parse(grace)) ? { keepUntil: new Date(grace) } : {}),
      inStore: k.accessKeyId === held?.accessKeyId,
    });
  }
  return ok(infos);
}

function check(options: ListKeysOptions): Result<ListKeysOptions, KeyupError> {
  if (typeof options !== "object" || options === null) return err({ kind: "config", message: "listKeys() needs options with a store" });
  if (options.store !== undefined) {
    const store = checkStore(options.store);
    if (store.isErr()) return err(store.error);
  } else if (!options.credentials) {
    return err({ kind: "config", message: "listKeys needs a store (whose key signs the calls) or credentials" });
  }
  const aws = checkAwsOptions(options);
  if (aws.isErr()) return err(aws.error);
  const user = checkUserName(options.userName);
  if (user.isErr()) return err(user.error);
  return ok(options);
}

/**
 * Opens the MFA session keyup signs IAM calls with (STS GetSessionToken), from the key a store holds.
 * The session lasts long enough for a rotation with `verifyTimeoutMs` (default 30 s) to finish, rollback
 * included (at least AWS's minimum of 15 minutes); its `expiration` is checked before a key is
 * created. Useful to share one session (one MFA code) between `listKeys()` and `rotate()` by passing it
 * as their `credentials`. Never throws.
 *
 * @example
 * ```ts
 * const session = await openMfaSession({ store, mfa: { serialNumber, tokenCode: async () => "123456" } });
 * if (session.isOk()) await rotate({ store, credentials: session.value });
 * ```
 */
export function openMfaSession(
  options: ListKeysOptions & { readonly mfa: NonNullable<ListKeysOptions["mfa"]>; readonly verifyTimeoutMs?: number },
): ResultAsync<SigningCredentials, KeyupError> {
  const checked = check(options);
  if (checked.isErr()) return errAsync(checked.error);
  return new ResultAsync(userContext(options, false).then((context) => (context.isErr() ? err(context.error) : ok(context.value.signer))));
}
