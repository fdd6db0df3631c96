import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { checkAwsOptions, checkStore, checkUserName, readStoreKey } from "./_internal/options.js";
import { type AwsOptions, type AwsPort, createAwsPort, type SigningCredentials } from "./aws-port.js";
import type { CredentialStore } from "./credential-store.js";
import { type KeyupError, toAwsError } from "./errors.js";
import { parseIdentityArn } from "./machine/arn.js";

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
  const aws = options.aws ?? createAwsPort(options);
  const now = (options.now ?? new Date()).getTime();
  const store = options.store;

  const storeKey = store ? readStoreKey(store).map((k): SigningCredentials | undefined => k) : okAsync<SigningCredentials | undefined, KeyupError>(undefined);
  return storeKey.andThen((held) => {
    const signer = options.credentials ?? held;
    if (!signer) return errAsync<AccessKeyInfo[], KeyupError>({ kind: "config", message: "listKeys needs a store or credentials" });
    const user = options.userName
      ? okAsync<string, KeyupError>(options.userName)
      : call("GetCallerIdentity", () => aws.getCallerIdentity(signer)).andThen(({ arn }) => {
          const identity = parseIdentityArn(arn);
          return identity.type === "user"
            ? ok(identity.name)
            : err<string, KeyupError>({ kind: "config", message: `the key belongs to ${arn}, not an IAM user: only IAM users have access keys to list` });
        });
    return user
      .andThen((userName) => call("ListAccessKeys", () => aws.listAccessKeys(userName, signer)))
      .andThen((keys) =>
        ResultAsync.combine(
          keys.map((k) =>
            call("GetAccessKeyLastUsed", () => aws.getAccessKeyLastUsed(k.accessKeyId, signer)).map((lastUsed): AccessKeyInfo => {
              const createdAt = k.createDate ? new Date(k.createDate) : undefined;
              return {
                accessKeyId: k.accessKeyId,
                status: k.status,
                ...(createdAt ? { createdAt, ageMs: Math.max(0, now - createdAt.getTime()) } : {}),
                ...(lastUsed.date || lastUsed.serviceName ? { lastUsed } : {}),
                inStore: k.accessKeyId === held?.accessKeyId,
              };
            }),
          ),
        ),
      );
  });
}

function call<T>(operation: string, fn: () => Promise<T>): ResultAsync<T, KeyupError> {
  return ResultAsync.fromThrowable(fn, (e) => toAwsError(operation, e))();
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
