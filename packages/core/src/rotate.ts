import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { callStore, checkAwsOptions, checkStore, checkUserName } from "./_internal/options.js";
import { type AwsOptions, type AwsPort, createAwsPort } from "./aws-port.js";
import type { CredentialStore } from "./credential-store.js";
import type { ConfigError, RotationError } from "./errors.js";
import { errorOf, reportOf } from "./machine/outcome.js";
import { initialRotationState } from "./machine/transition.js";
import { defaultRotationConfig, type RotationConfig } from "./machine/types.js";
import type { RotationReport } from "./report.js";
import { type ProgressEvent, runRotation } from "./runner.js";

/**
 * Options for {@link rotate}. Only `store` is required.
 *
 * @example
 * ```ts
 * const options: RotateOptions = {
 *   store: iniStore({ profile: "ci" }),
 *   verifyTimeoutMs: 60_000,
 *   onEvent: (e) => e.type === "step" && console.log(e.step.step, e.step.status),
 * };
 * ```
 */
export interface RotateOptions extends AwsOptions {
  /** Where the key lives; the new key is installed there. */
  readonly store: CredentialStore;
  /**
   * The IAM user whose key rotates. Default: the user STS GetCallerIdentity names for the store's key.
   * Root and assumed-role identities are refused.
   */
  readonly userName?: string;
  /** How long to keep retrying verification of the new key, in ms. Default 30 000. */
  readonly verifyTimeoutMs?: number;
  /** Consecutive successful GetCallerIdentity calls needed with the new key. Default 2. */
  readonly requiredSuccesses?: number;
  /**
   * At IAM's 2-key limit: `refuse` (default) fails before creating anything, naming both keys;
   * `delete-inactive` deletes the other key if it is Inactive and not the one the store holds.
   */
  readonly onLimit?: "refuse" | "delete-inactive";
  /** What becomes of the old key after the new one is verified. Default `delete`. */
  readonly oldKey?: "delete" | "deactivate" | "keep";
  /** Progress: one event per step. Never carries a secret. */
  readonly onEvent?: (event: ProgressEvent) => void;
  /** Aborts the rotation; anything already created is rolled back. */
  readonly signal?: AbortSignal;
  /** Substitute IAM/STS implementation (tests, custom transports). Default: {@link createAwsPort}. */
  readonly aws?: AwsPort;
}

/**
 * Rotates the access key held by `options.store`: inspect, create, install, verify, deactivate and
 * delete the old key, rolling back on any failure. Holds the store's lock throughout. Never throws.
 *
 * `Ok` for `rotated` and `completed-with-warnings` (check `report.warnings`); `Err` otherwise, with
 * the report attached whenever IAM was looked at.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { iniStore } from "@keyup/store-ini";
 *
 * const result = await rotate({ store: iniStore({ profile: "ci" }) });
 * result.match(
 *   (report) => console.log(`rotated ${report.oldAccessKeyId} -> ${report.newAccessKeyId}`),
 *   (error) => { console.error(error.message); process.exitCode = 1; },
 * );
 * ```
 */
export function rotate(options: RotateOptions): ResultAsync<RotationReport, RotationError> {
  const checked = checkRotateOptions(options);
  if (checked.isErr()) return errAsync(checked.error);
  const { store, config } = checked.value;
  return callStore(store, "lock", () => store.lock()).andThen((lock) =>
    ResultAsync.fromPromise(
      runRotation(initialRotationState(store.name, config), {
        store,
        aws: options.aws ?? createAwsPort(options),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      }).finally(() => lock.release().catch(() => undefined)),
      (bug): RotationError => ({ kind: "config", message: `keyup bug: the rotation stopped unexpectedly: ${String(bug)}`, cause: bug }),
    ).andThen((state): Result<RotationReport, RotationError> => {
      const error = errorOf(state);
      return error ? err(error) : ok(reportOf(state));
    }),
  );
}

function checkRotateOptions(options: RotateOptions): Result<{ store: CredentialStore; config: RotationConfig }, ConfigError> {
  if (typeof options !== "object" || options === null) return err({ kind: "config", message: "rotate() needs options with a store" });
  const store = checkStore(options.store);
  if (store.isErr()) return err(store.error);
  const aws = checkAwsOptions(options);
  if (aws.isErr()) return err(aws.error);
  const userName = checkUserName(options.userName);
  if (userName.isErr()) return err(userName.error);
  const timeout = options.verifyTimeoutMs ?? defaultRotationConfig.verifyTimeoutMs;
  if (!Number.isFinite(timeout) || timeout <= 0)
    return err({ kind: "config", message: `verifyTimeoutMs must be a positive number of milliseconds, got ${timeout}` });
  const successes = options.requiredSuccesses ?? defaultRotationConfig.requiredSuccesses;
  if (!Number.isInteger(successes) || successes < 1 || successes > 20)
    return err({ kind: "config", message: `requiredSuccesses must be a whole number from 1 to 20, got ${successes}` });
  const onLimit = options.onLimit ?? "refuse";
  if (onLimit !== "refuse" && onLimit !== "delete-inactive")
    return err({ kind: "config", message: `onLimit must be "refuse" or "delete-inactive", got ${String(onLimit)}` });
  const oldKey = options.oldKey ?? "delete";
  if (oldKey !== "delete" && oldKey !== "deactivate" && oldKey !== "keep")
    return err({ kind: "config", message: `oldKey must be "delete", "deactivate" or "keep", got ${String(oldKey)}` });
  return ok({
    store: store.value,
    config: {
      ...defaultRotationConfig,
      ...(userName.value !== undefined ? { userName: userName.value } : {}),
      verifyTimeoutMs: timeout,
      requiredSuccesses: successes,
      onLimit,
      oldKey,
      iamSigner: options.credentials ? "credentials" : "store-keys",
    },
  });
}
