/**
 * How a rotation ended.
 * - `rotated`: new key installed and verified, old key retired as asked.
 * - `completed-with-warnings`: new key installed and verified, but the old key could not be
 *   deactivated or deleted; `warnings` and `nextSteps` say what is left.
 * - `rolled-back`: something failed before the new key was proven; the store holds its previous
 *   content and the new key was deleted.
 * - `rollback-failed`: a rollback step failed too; `leftovers` and `nextSteps` say exactly what is left.
 * - `failed`: nothing was changed (for example the 2-key limit, or a bad store); or, with MFA, the
 *   session expired during a rollback (`ExpiredToken`): `leftovers` and `nextSteps` say what is left,
 *   and `recover` with a fresh code finishes the rollback.
 * - `skipped`: nothing was changed because the key is younger than `minAge`.
 *
 * @example
 * ```ts
 * const outcome: RotationOutcome = "rotated";
 * ```
 */
export type RotationOutcome = "rotated" | "skipped" | "completed-with-warnings" | "rolled-back" | "rollback-failed" | "failed";

/**
 * One step the rotation took, for progress output and post-mortems. Never holds a secret.
 *
 * @example
 * ```ts
 * const step: RotationStep = { step: "verify", status: "ok", at: "2026-01-01T00:00:00.000Z", detail: "2 consecutive successes" };
 * ```
 */
export interface RotationStep {
  readonly step: string;
  readonly status: "ok" | "failed" | "retry" | "skipped";
  /** ISO-8601 time the step ended. */
  readonly at: string;
  readonly detail?: string;
}

/**
 * What a rotation did, returned by `rotate()` (and attached to its errors). Contains no secret.
 *
 * @example
 * ```ts
 * const result = await rotate({ store });
 * if (result.isOk()) console.log(`${result.value.oldAccessKeyId} -> ${result.value.newAccessKeyId}`);
 * ```
 */
export interface RotationReport {
  readonly outcome: RotationOutcome;
  /** The store's printable name. */
  readonly store: string;
  /** The IAM user whose key was rotated, once known. */
  readonly userName?: string;
  /** The key the store held when the rotation started. */
  readonly oldAccessKeyId?: string;
  /** The key created by this rotation, if one was created. */
  readonly newAccessKeyId?: string;
  /** What became of the old key. */
  readonly oldKey: "deleted" | "inactive" | "active" | "unknown";
  /** GetCallerIdentity calls made with the new key. */
  readonly verifyAttempts: number;
  /** Milliseconds from the first step to the last. */
  readonly durationMs: number;
  readonly steps: readonly RotationStep[];
  /** Things that did not go as asked but did not undo the rotation. */
  readonly warnings: readonly string[];
  /** What exists that the rotation could not clean up. */
  readonly leftovers: {
    /** Access key ids that exist in IAM and should not. */
    readonly accessKeyIds: readonly string[];
    /** Where the store's previous content is kept, if it could not be restored. */
    readonly backup?: string;
  };
  /** What a person (or a rerun) should do to finish, as data. Empty when nothing is left to do. */
  readonly nextSteps: readonly NextStep[];
  /** {@link nextSteps} in words (the library's: API operations and options). */
  readonly manualSteps: readonly string[];
}

/**
 * Something a person (or a later run) should do, as data: the library and the CLI each put it in
 * their own words (`DeleteAccessKey` for one, `aws iam delete-access-key …` for the other).
 *
 * - `delete-key` / `deactivate-key`: a key the rotation could not retire or clean up.
 * - `check-store`: a failed restore: the store may hold the unverified new key; keep whichever works.
 * - `find-lost-key`: a lost CreateAccessKey answer could not be checked: delete any key but `keepAccessKeyId`.
 * - `skip-in-use-guard`: the old key may be retired anyway by rerunning without the in-use guard.
 * - `allow-delete-inactive`: at the 2-key limit, the Inactive other key may be deleted when allowed.
 * - `cleanup-after`: an Inactive key is kept until `after` (its grace period); clean up then.
 * - `grant-permission`: the user's policy lacks `action` (for example `iam:ListAccessKeys`) on itself.
 *
 * @example
 * ```ts
 * const step: NextStep = { type: "delete-key", userName: "ci-bot", accessKeyId: "AKIA…" };
 * ```
 */
export type NextStep =
  | { readonly type: "delete-key"; readonly userName: string; readonly accessKeyId: string }
  | { readonly type: "deactivate-key"; readonly userName: string; readonly accessKeyId: string }
  | {
      readonly type: "check-store";
      readonly store: string;
      readonly userName: string;
      readonly oldAccessKeyId: string;
      readonly newAccessKeyId: string;
      /** Where the store's previous content is kept, when the backup is a file. */
      readonly backup?: string;
    }
  | { readonly type: "find-lost-key"; readonly userName: string; readonly keepAccessKeyId: string }
  | { readonly type: "skip-in-use-guard" }
  | { readonly type: "allow-delete-inactive" }
  | { readonly type: "cleanup-after"; readonly accessKeyId: string; readonly after: string }
  | { readonly type: "grant-permission"; readonly userName: string; readonly action: string };
