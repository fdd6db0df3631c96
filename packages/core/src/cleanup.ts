import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { checkAwsOptions, checkStore } from "./_internal/options.js";
import { call, userContext } from "./_internal/user-context.js";
import type { AwsOptions, AwsPort } from "./aws-port.js";
import type { CredentialStore } from "./credential-store.js";
import type { KeyupError } from "./errors.js";
import { graceTagKey } from "./machine/types.js";

/**
 * What `cleanup()` did: the Inactive keys it deleted because their grace period had passed, and the
 * ones it kept, with until when.
 *
 * @example
 * ```ts
 * const report: CleanupReport = { userName: "ci-bot", deleted: ["AKIA…"], kept: [{ accessKeyId: "AKIA…", keepUntil: new Date() }] };
 * ```
 */
export interface CleanupReport {
  readonly userName: string;
  readonly deleted: readonly string[];
  readonly kept: readonly { readonly accessKeyId: string; readonly keepUntil: Date }[];
}

/**
 * What `cleanup()` needs: the store whose key signs the calls (and which key never to delete), and
 * optionally whose keys to look at, the time to judge grace periods against, and MFA.
 *
 * @example
 * ```ts
 * const options: CleanupOptions = { store: iniStore({ profile: "ci" }), now: new Date("2027-01-01T00:00:00Z") };
 * ```
 */
export interface CleanupOptions extends AwsOptions {
  readonly store?: CredentialStore;
  /** Whose Inactive keys to delete. Default: the IAM user behind the store's key (or behind `credentials`). */
  readonly userName?: string;
  /** The time grace periods are compared with. Default: now. */
  readonly now?: Date;
  /** Substitute IAM/STS implementation. Default: {@link createAwsPort}. */
  readonly aws?: AwsPort;
  /** For users whose policies require MFA: calls use a 15-minute session opened with this device and code. */
  readonly mfa?: { readonly serialNumber: string; readonly tokenCode: () => Promise<string> };
}

/**
 * Deletes the user's Inactive keys whose grace period (set by `rotate({ keepOldForMs })` or
 * `keyup up --keep-old-for`) has passed, with their tags. Never deletes the key the store holds, an
 * Active key, or an Inactive key without a grace tag. Never throws.
 *
 * @example
 * ```ts
 * const result = await cleanup({ store: iniStore({ profile: "ci" }) });
 * if (result.isOk()) console.log(`deleted ${result.value.deleted.join(", ") || "nothing"}`);
 * ```
 */
export function cleanup(options: CleanupOptions): ResultAsync<CleanupReport, KeyupError> {
  if (typeof options !== "object" || options === null || options.store === undefined) return errAsync({ kind: "config", message: "cleanup() needs a store" });
  const store = checkStore(options.store);
  if (store.isErr()) return errAsync(store.error);
  const aws = checkAwsOptions(options);
  if (aws.isErr()) return errAsync(aws.error);
  return new ResultAsync(cleanupAsync(options));
}

async function cleanupAsync(options: CleanupOptions): Promise<Result<CleanupReport, KeyupError>> {
  const context = await userContext(options);
  if (context.isErr()) return err(context.error);
  const { aws, signer, held, userName } = context.value;
  const now = (options.now ?? new Date()).getTime();
  const keys = await call("ListAccessKeys", () => aws.listAccessKeys(userName, signer));
  if (keys.isErr()) return err(keys.error);
  const tags = await call("ListUserTags", () => aws.listUserTags(userName, signer));
  if (tags.isErr()) return err(tags.error);

  const deleted: string[] = [];
  const kept: { accessKeyId: string; keepUntil: Date }[] = [];
  for (const key of keys.value) {
    if (key.accessKeyId === held?.accessKeyId || key.status !== "Inactive") continue;
    const grace = tags.value[graceTagKey(key.accessKeyId)];
    const until = grace === undefined ? Number.NaN : Date.parse(grace);
    if (!Number.isFinite(until)) continue;
    if (until > now) {
      kept.push({ accessKeyId: key.accessKeyId, keepUntil: new Date(until) });
      continue;
    }
    const removed = await call("DeleteAccessKey", () => aws.deleteAccessKey(userName, key.accessKeyId, signer));
    if (removed.isErr()) return err(removed.error);
    const stale = [key.accessKeyId, graceTagKey(key.accessKeyId)].filter((k) => tags.value[k] !== undefined);
    const untagged = await call("UntagUser", () => aws.untagUser(userName, stale, signer));
    if (untagged.isErr()) return err(untagged.error);
    deleted.push(key.accessKeyId);
  }
  return ok({ userName, deleted, kept });
}
