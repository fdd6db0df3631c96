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
 * const report: CleanupReport = { userName: "ci-bot", deleted: ["AKIA…"], kept: [{ accessKeyId: "AKIA…", keepUntil: new Date(), status: "Inactive" }], inUse: [], removedTags: [] };
 * ```
 */
export interface CleanupReport {
  readonly userName: string;
  readonly deleted: readonly string[];
  /** Keys whose grace period has not passed: Inactive (`keepOldForMs`), or Active (kept by the in-use guard). */
  readonly kept: readonly { readonly accessKeyId: string; readonly keepUntil: Date; readonly status: string }[];
  /**
   * Keys the in-use guard kept Active whose hold has passed but which IAM saw used after the key the
   * store holds was created (plus IAM's 15-minute recording window): something still uses them.
   */
  readonly inUse: readonly { readonly accessKeyId: string; readonly lastUsed?: Date }[];
  /** keyup's tags (description `AKIA…`, grace `keyup:grace:AKIA…`) of keys that no longer exist, removed. */
  readonly removedTags: readonly string[];
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
 * `keyup up --keep-old-for`) has passed, with their tags; and the Active keys the in-use guard kept for
 * a while, once that has passed and IAM recorded no use of them after the store's key was created
 * (on AWS's clock) plus IAM's 15-minute recording window. Removes keyup's tags of keys that no longer
 * exist. Never deletes the key the store holds, or a key without a grace tag. Never throws.
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

/** IAM records only the first use of a key in each 15-minute span (IAM credential report docs). */
const RECORDING_WINDOW_MS = 15 * 60_000;

async function cleanupAsync(options: CleanupOptions): Promise<Result<CleanupReport, KeyupError>> {
  const context = await userContext(options);
  if (context.isErr()) return err(context.error);
  const { aws, signer, held, userName } = context.value;
  const now = (options.now ?? new Date()).getTime();
  const keys = await call("ListAccessKeys", () => aws.listAccessKeys(userName, signer));
  if (keys.isErr()) return err(keys.error);
  const tags = await call("ListUserTags", () => aws.listUserTags(userName, signer));
  if (tags.isErr()) return err(tags.error);
  // The store's key was created by the last rotation: uses of an older key after it (and after the
  // window keyup's own calls opened) are a consumer's.
  const heldCreated = Date.parse(keys.value.find((k) => k.accessKeyId === held?.accessKeyId)?.createDate ?? "");

  const deleted: string[] = [];
  const kept: { accessKeyId: string; keepUntil: Date; status: string }[] = [];
  const inUse: { accessKeyId: string; lastUsed?: Date }[] = [];
  for (const key of keys.value) {
    if (key.accessKeyId === held?.accessKeyId) continue;
    const grace = tags.value[graceTagKey(key.accessKeyId)];
    const until = grace === undefined ? Number.NaN : Date.parse(grace);
    if (!Number.isFinite(until)) continue;
    if (until > now) {
      kept.push({ accessKeyId: key.accessKeyId, keepUntil: new Date(until), status: key.status });
      continue;
    }
    if (key.status === "Active") {
      const used = await call("GetAccessKeyLastUsed", () => aws.getAccessKeyLastUsed(key.accessKeyId, signer));
      if (used.isErr()) return err(used.error);
      const lastUsed = used.value.date;
      // Without the store key's creation date nothing can be judged: keep the key, as if used.
      if (!Number.isFinite(heldCreated) || (lastUsed !== undefined && lastUsed.getTime() > heldCreated + RECORDING_WINDOW_MS)) {
        inUse.push({ accessKeyId: key.accessKeyId, ...(lastUsed ? { lastUsed } : {}) });
        continue;
      }
    }
    const removed = await call("DeleteAccessKey", () => aws.deleteAccessKey(userName, key.accessKeyId, signer));
    if (removed.isErr()) return err(removed.error);
    deleted.push(key.accessKeyId);
  }
  const existing = new Set(keys.value.filter((k) => !deleted.includes(k.accessKeyId)).map((k) => k.accessKeyId));
  const removedTags = Object.keys(tags.value).filter((tag) => {
    const id = keyOfTag(tag);
    return id !== undefined && !existing.has(id);
  });
  if (removedTags.length > 0) {
    const untagged = await call("UntagUser", () => aws.untagUser(userName, removedTags, signer));
    if (untagged.isErr()) return err(untagged.error);
  }
  return ok({ userName, deleted, kept, inUse, removedTags });
}

/** The access key a tag of keyup's is about: a description (`AKIA…`) or a grace period (`keyup:grace:AKIA…`). */
function keyOfTag(tag: string): string | undefined {
  const id = tag.startsWith(graceTagKey("")) ? tag.slice(graceTagKey("").length) : tag;
  return /^AKIA[A-Z0-9]{12,124}$/.test(id) ? id : undefined;
}
