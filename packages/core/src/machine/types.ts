import type { StoreBackup } from "../credential-store.js";
import type { NextStep, RotationOutcome, RotationStep } from "../report.js";

/**
 * Who signs an IAM call: the key the store held when the rotation began (`old`), the key this rotation
 * created (`new`), or the `credentials` the caller passed to `rotate()` (an admin rotating another user).
 *
 * @example
 * ```ts
 * const signer: Signer = "new";
 * ```
 */
export type Signer = "old" | "new" | "credentials";

/**
 * Settings the machine needs. Plain data, part of the journaled state.
 *
 * @example
 * ```ts
 * const config: RotationConfig = { ...defaultRotationConfig, userName: "ci-bot" };
 * ```
 */
export interface RotationConfig {
  /** The IAM user whose key rotates. When absent, it is resolved from the store's key with STS. */
  readonly userName?: string;
  /** How long verify (and each retire step) keeps retrying before giving up, in ms. */
  readonly verifyTimeoutMs: number;
  /** Consecutive successful GetCallerIdentity calls with the new key needed to call it verified. */
  readonly requiredSuccesses: number;
  /** Pause between consecutive successful verify calls, in ms. */
  readonly confirmIntervalMs: number;
  /** First retry delay after a transient failure, in ms (doubles per attempt, with jitter). */
  readonly initialBackoffMs: number;
  /** Largest retry delay, in ms. Kept small so the rotation ends soon after the key becomes valid. */
  readonly maxBackoffMs: number;
  /** What to do when the user already has two keys. */
  readonly onLimit: "refuse" | "delete-inactive";
  /** What becomes of the old key once the new one is verified. */
  readonly oldKey: "delete" | "deactivate" | "keep";
  /** Whether IAM calls are signed by the store's keys or by caller-given credentials. */
  readonly iamSigner: "store-keys" | "credentials";
  /** Skip the rotation when the current key is younger than this many ms. */
  readonly minAgeMs?: number;
  /**
   * Before the first call signed by the old key, ask IAM when it was last used; if recently, keep it
   * Active for a while after the rotation (tagged with until when) for `cleanup()` to judge.
   */
  readonly inUseGuard: boolean;
  /** Uses of the old key recorded at or after this time (epoch ms) are the caller's own (a listing shown before the rotation). */
  readonly ownUseSinceMs?: number;
  /** With `oldKey: "deactivate"`: record on the user (tag `keyup:grace:<key id>`) when the old key may be deleted. */
  readonly keepOldForMs?: number;
  /** Tag the user with key = new access key id, value = this text (the IAM console's key description). */
  readonly description?: string;
}

/**
 * The defaults `rotate()` uses: 30 s verify timeout, 2 consecutive successes, delete the old key.
 *
 * @example
 * ```ts
 * const config = { ...defaultRotationConfig, verifyTimeoutMs: 60_000 };
 * ```
 */
export const defaultRotationConfig: RotationConfig = {
  verifyTimeoutMs: 30_000,
  requiredSuccesses: 2,
  confirmIntervalMs: 250,
  initialBackoffMs: 200,
  // Half a second at most between attempts (250-500 ms with jitter) keeps the end of a rotation within
  // 0.8 s of the key becoming valid (wait, 250 ms confirm, the calls); a 1 s cap measured up to 1.1 s.
  maxBackoffMs: 500,
  onLimit: "refuse",
  oldKey: "delete",
  iamSigner: "store-keys",
  inUseGuard: false,
};

/**
 * The user tag that records until when an Inactive key is kept (its grace period).
 *
 * @example
 * ```ts
 * graceTagKey("AKIAEXAMPLE"); // "keyup:grace:AKIAEXAMPLE"
 * ```
 */
export function graceTagKey(accessKeyId: string): string {
  return `keyup:grace:${accessKeyId}`;
}

/**
 * An access key as ListAccessKeys describes it.
 *
 * @example
 * ```ts
 * const key: KeySummary = { accessKeyId: "AKIA…", status: "Active", createDate: "2026-01-01T00:00:00.000Z" };
 * ```
 */
export interface KeySummary {
  readonly accessKeyId: string;
  readonly status: string;
  /** ISO-8601 creation time, when IAM gave one. */
  readonly createDate?: string;
}

/**
 * The codes of failures keyup itself detects (as opposed to AWS error names and store codes).
 *
 * @example
 * ```ts
 * const code: KeyupFailureCode = "TwoKeys";
 * ```
 */
export type KeyupFailureCode =
  | "NoKeyInStore"
  | "IdentityNotUser"
  | "KeyNotOwned"
  | "TwoKeys"
  | "VerifyTimeout"
  | "IdentityMismatch"
  | "NewKeyGone"
  | "JournalUserGone"
  | "JournalKeysInvalid"
  | "Aborted"
  | "JournalWriteFailed"
  | "UnexpectedEvent"
  | "SessionTooShort";

/**
 * Why an effect failed, reduced to data the machine can decide on. Never holds a secret. `source`
 * says whose code `code` is: keyup's own ({@link KeyupFailureCode}), an AWS error name, or a store code.
 *
 * @example
 * ```ts
 * const failure: Failure = { source: "aws", code: "InvalidClientTokenId", message: "…", retry: "auth" };
 * ```
 */
export type Failure = KeyupFailure | AwsFailure | StoreFailureData;

interface FailureBase {
  readonly message: string;
  /** Whether a retry could help: `auth` (key not yet propagated), `service` (throttling, 5xx), or `no`. */
  readonly retry: "auth" | "service" | "no";
}

/**
 * A failure keyup detected itself.
 *
 * @example
 * ```ts
 * const f: KeyupFailure = { source: "keyup", code: "Aborted", message: "…", retry: "no" };
 * ```
 */
export interface KeyupFailure extends FailureBase {
  readonly source: "keyup";
  readonly code: KeyupFailureCode;
}

/**
 * A failed AWS call.
 *
 * @example
 * ```ts
 * const f: AwsFailure = { source: "aws", code: "Throttling", operation: "ListAccessKeys", message: "…", retry: "service" };
 * ```
 */
export interface AwsFailure extends FailureBase {
  readonly source: "aws";
  /** The AWS error name. */
  readonly code: string;
  /** The AWS operation. */
  readonly operation?: string;
}

/**
 * A failed store operation.
 *
 * @example
 * ```ts
 * const f: StoreFailureData = { source: "store", code: "ELOCKED", message: "…", retry: "no", holder: "pid 42" };
 * ```
 */
export interface StoreFailureData extends FailureBase {
  readonly source: "store";
  /** The store's error code (`ENOTFOUND`, `ELOCKED`, `EIO`…). */
  readonly code: string;
  /** For lock failures: who holds the lock. */
  readonly holder?: string;
}

/**
 * The loops a rotation retries in: re-creating after a lost CreateAccessKey answer, verifying the new
 * key, retiring the old one (and checking its use), and rolling back.
 *
 * @example
 * ```ts
 * const loop: RetryLoop = "verify";
 * ```
 */
export type RetryLoop = "create" | "verify" | "retire" | "rollback";

/**
 * One attempt counter per retry loop.
 *
 * @example
 * ```ts
 * const none: RetryCounts = { create: 0, verify: 0, retire: 0, rollback: 0 };
 * ```
 */
export type RetryCounts = { readonly [L in RetryLoop]: number };

/**
 * The rotation's phases. `done` is the only terminal phase; `outcome` then says how it ended.
 *
 * @example
 * ```ts
 * const phase: Phase = "verifying";
 * ```
 */
export type Phase =
  | "idle"
  | "reading-store"
  | "resolving-identity"
  | "listing-keys"
  | "deleting-inactive"
  | "backing-up"
  | "creating"
  | "installing"
  | "verifying"
  | "deactivating"
  | "deleting-old"
  | "restoring"
  | "deleting-new"
  | "reconciling"
  | "deleting-orphan"
  | "checking-grace"
  | "untagging-inactive"
  | "tagging-new"
  | "checking-use"
  | "recording-grace"
  | "untagging-old"
  | "resuming"
  | "done";

/**
 * What every rotation state holds, whatever its stage: settings, counters and the record so far.
 *
 * @example
 * ```ts
 * const steps = (state satisfies RotationCommon).steps;
 * ```
 */
export interface RotationCommon {
  readonly store: string;
  readonly config: RotationConfig;
  readonly startedAt?: number;
  readonly updatedAt?: number;
  /** Set once CreateAccessKey has been sent: its response may be lost, so the key may exist unknown to us. */
  readonly createRequested?: boolean;
  /** True from the moment the store may hold the new key. */
  readonly installAttempted?: boolean;
  /** Attempts so far in each retry loop, each counted on its own (a throttled reconcile does not use up creates). */
  readonly retries: RetryCounts;
  /** Successful verify calls in a row (the verify loop's own count, reset by a failure). */
  readonly consecutiveSuccesses: number;
  /** Every verify call of this rotation, for the report (never reset by a retry loop). */
  readonly verifyAttempts: number;
  /** When the retry loop now running started: its timeout counts from here. */
  readonly loopStartedAt?: number;
  readonly lastFailure?: Failure;
  /** Why the rotation is being rolled back or failed. */
  readonly failure?: Failure & { readonly phase: Phase };
  /** The user's tags, when they were listed (at the 2-key limit). */
  readonly tags?: Readonly<Record<string, string>>;
  /** The old key's last use before keyup's first call with it, when the in-use guard found it recent. */
  readonly oldKeyInUse?: { readonly date: string; readonly serviceName?: string; readonly region?: string };
  readonly oldKeyState: "active" | "inactive" | "deleted" | "unknown";
  /** For `rollback-failed`: the rollback phase that failed, so a resume can try it again. */
  readonly failedRollbackPhase?: Phase;
  /** At the end: key ids left in IAM that should not be there. */
  readonly leftoverKeyIds?: readonly string[];
  /** At the end: what a person (or a rerun) should do to finish. */
  readonly nextSteps?: readonly NextStep[];
  readonly steps: readonly RotationStep[];
  readonly warnings: readonly string[];
  /** At the end: the journal must stay (a failed rollback, or a journal that no longer matches IAM). */
  readonly keepJournal?: boolean;
  /** Set when the caller aborted; rollback then proceeds without further retries. */
  readonly aborted?: boolean;
}

/**
 * The facts a rotation learns on its way, each present only in the stages that know it (see
 * {@link RotationState}).
 *
 * @example
 * ```ts
 * const id: StageFacts["newAccessKeyId"] = "AKIANEWNEWNEWNEW0002";
 * ```
 */
export interface StageFacts {
  /** The IAM user whose key rotates: given, or resolved from the store's key. */
  readonly userName: string;
  /** The user's ARN, once STS has told us (identity resolution or the first verify success). */
  readonly userArn: string;
  /** The key the store held when the rotation began. */
  readonly oldAccessKeyId: string;
  /** The user's keys when the rotation looked, before creating anything. */
  readonly keys: readonly KeySummary[];
  /** The store's previous content, so an install can be undone exactly. */
  readonly backup: StoreBackup;
  /** The key this rotation created. */
  readonly newAccessKeyId: string;
  /** When the new key was installed (epoch ms): the in-use guard's and the grace period's reference time. */
  readonly installedAt: number;
  /**
   * A key no store holds the secret of: the Inactive key deleted at the 2-key limit, or one a lost
   * CreateAccessKey answer created (found by reconciling).
   */
  readonly orphanAccessKeyId: string;
  /** While `resuming`: the phase the journal stopped in, and who signs the check. */
  readonly resuming: { readonly phase: Phase; readonly signer: Signer };
  /** How the rotation ended. */
  readonly outcome: RotationOutcome;
}

/**
 * A stage of the rotation: the phases `P` in it, the facts it always has (`Has`), those it may have
 * (`May`); every other fact is absent (`?: never`), so reading one is a compile error waiting to happen
 * only where it could really be missing.
 *
 * @example
 * ```ts
 * type Created = Stage<"installing", "userName" | "oldAccessKeyId" | "keys" | "backup" | "newAccessKeyId">;
 * ```
 */
export type Stage<P extends Phase, Has extends keyof StageFacts, May extends keyof StageFacts = never> = RotationCommon & {
  readonly phase: P;
} & {
  // Mapped over StageFacts itself (filtered with `as`), so each fact keeps its documentation.
  readonly [K in keyof StageFacts as K extends Has ? K : never]: StageFacts[K];
} & { readonly [K in keyof StageFacts as K extends May ? K : never]?: StageFacts[K] } & {
  readonly [K in keyof StageFacts as K extends Has | May ? never : K]?: never;
};

/**
 * The complete, JSON-serialisable state of one rotation: what the journal stores and `transition`
 * reads. Holds key ids, never secrets (the runner keeps secrets beside it). A union by stage, so
 * which ids exist in which phase is in the types:
 *
 * | stage | phases | has | may have |
 * |---|---|---|---|
 * | starting | `idle`, `reading-store` | — | — |
 * | identifying | `checking-use`, `resolving-identity` | old key id | — |
 * | listing | `listing-keys` | old key id, user | user ARN |
 * | inspected | `checking-grace`, `backing-up` | + the user's keys | user ARN |
 * | clearing | `deleting-inactive`, `untagging-inactive` | + the Inactive key to delete (orphan) | user ARN |
 * | backed up | `creating`, `reconciling` | + backup | user ARN |
 * | orphaned | `deleting-orphan` | + the orphan key id | user ARN |
 * | created | `installing` | + new key id | user ARN |
 * | installed | `verifying` | + install time | user ARN |
 * | verified | `tagging-new`, `deactivating`, `deleting-old`, `recording-grace`, `untagging-old` (`checking-use` in a journal from before the check moved ahead) | + user ARN | — |
 * | rolling back | `restoring`, `deleting-new` | backed up + new key id | user ARN, install time |
 * | resuming | `resuming` | user, the journaled phase | anything the journal had |
 * | done | `done` | outcome | anything |
 *
 * @example
 * ```ts
 * const state: RotationState = initialRotationState(memoryStore().name, defaultRotationConfig);
 * JSON.parse(JSON.stringify(state)); // round-trips
 * if (state.phase === "installing") console.log(state.newAccessKeyId); // a string: the key exists by then
 * ```
 */
export type RotationState =
  | Stage<"idle" | "reading-store", never>
  // The in-use guard reads the old key's last use right after the store, before anything else.
  | Stage<"checking-use" | "resolving-identity", "oldAccessKeyId">
  | Stage<"listing-keys", "oldAccessKeyId" | "userName", "userArn">
  | Stage<"checking-grace" | "backing-up", "oldAccessKeyId" | "userName" | "keys", "userArn">
  | Stage<"deleting-inactive" | "untagging-inactive", "oldAccessKeyId" | "userName" | "keys" | "orphanAccessKeyId", "userArn">
  | Stage<"creating" | "reconciling", "oldAccessKeyId" | "userName" | "keys" | "backup", "userArn">
  | Stage<"deleting-orphan", "oldAccessKeyId" | "userName" | "keys" | "backup" | "orphanAccessKeyId", "userArn">
  | Stage<"installing", "oldAccessKeyId" | "userName" | "keys" | "backup" | "newAccessKeyId", "userArn">
  | Stage<"verifying", "oldAccessKeyId" | "userName" | "keys" | "backup" | "newAccessKeyId" | "installedAt", "userArn">
  | Stage<
      // `checking-use` here only in a journal written before the in-use check moved ahead of creation.
      "tagging-new" | "checking-use" | "deactivating" | "deleting-old" | "recording-grace" | "untagging-old",
      "oldAccessKeyId" | "userName" | "keys" | "backup" | "newAccessKeyId" | "installedAt" | "userArn"
    >
  | Stage<"restoring" | "deleting-new", "oldAccessKeyId" | "userName" | "keys" | "backup" | "newAccessKeyId", "userArn" | "installedAt">
  | Stage<"resuming", "userName" | "resuming", Exclude<keyof StageFacts, "userName" | "resuming" | "outcome">>
  | Stage<"done", "outcome", Exclude<keyof StageFacts, "outcome" | "resuming">>;

/**
 * The state of a rotation in phase `P` (or any of the phases of a union `P`).
 *
 * @example
 * ```ts
 * function newKeyOf(s: StateIn<"verifying">): string {
 *   return s.newAccessKeyId; // known in this phase: no fallback needed
 * }
 * ```
 */
export type StateIn<P extends Phase> = RotationState extends infer S
  ? S extends { readonly phase: infer Q }
    ? [Q & P] extends [never]
      ? never
      : S & { readonly phase: Q & P }
    : never
  : never;

/**
 * A piece of work for the runner. Plain data, never a secret: key ids name the keys.
 *
 * @example
 * ```ts
 * const effect: Effect = { type: "createAccessKey", userName: "ci-bot", signer: "old" };
 * ```
 */
export type Effect =
  | { readonly type: "readStore" }
  | { readonly type: "getCallerIdentity"; readonly signer: "old" }
  | { readonly type: "listAccessKeys"; readonly userName: string; readonly signer: Signer }
  | { readonly type: "deleteAccessKey"; readonly userName: string; readonly accessKeyId: string; readonly signer: Signer }
  | { readonly type: "backupStore" }
  | { readonly type: "createAccessKey"; readonly userName: string; readonly signer: Signer }
  | { readonly type: "install"; readonly accessKeyId: string }
  | { readonly type: "verify"; readonly accessKeyId: string }
  | {
      readonly type: "updateAccessKey";
      readonly userName: string;
      readonly accessKeyId: string;
      readonly status: "Active" | "Inactive";
      readonly signer: Signer;
    }
  | { readonly type: "restoreStore"; readonly backup: StoreBackup }
  | { readonly type: "listUserTags"; readonly userName: string; readonly signer: Signer }
  | { readonly type: "tagUser"; readonly userName: string; readonly tags: readonly { readonly key: string; readonly value: string }[]; readonly signer: Signer }
  | { readonly type: "untagUser"; readonly userName: string; readonly keys: readonly string[]; readonly signer: Signer }
  | { readonly type: "getAccessKeyLastUsed"; readonly accessKeyId: string; readonly signer: Signer }
  | { readonly type: "wait"; readonly ms: number };

/**
 * What happened: the runner's answer to an effect, or an outside event (start, abort).
 * Every event carries the time `at` (epoch ms) so `transition` never reads a clock, and failures carry
 * `random` in [0, 1) so backoff jitter stays deterministic under test.
 *
 * @example
 * ```ts
 * const event: RotationEvent = { type: "keyCreated", accessKeyId: "AKIA…", at: Date.now() };
 * ```
 */
export type RotationEvent =
  | { readonly type: "start"; readonly at: number }
  | { readonly type: "storeRead"; readonly accessKeyId: string | undefined; readonly at: number }
  | { readonly type: "identityResolved"; readonly arn: string; readonly at: number }
  | { readonly type: "keysListed"; readonly keys: readonly KeySummary[]; readonly at: number }
  | { readonly type: "keyDeleted"; readonly accessKeyId: string; readonly at: number }
  | { readonly type: "storeBackedUp"; readonly backup: StoreBackup; readonly at: number }
  | { readonly type: "keyCreated"; readonly accessKeyId: string; readonly at: number }
  | { readonly type: "installed"; readonly at: number }
  | { readonly type: "verified"; readonly arn: string; readonly at: number }
  | { readonly type: "keyUpdated"; readonly accessKeyId: string; readonly at: number }
  | { readonly type: "storeRestored"; readonly at: number }
  | { readonly type: "waited"; readonly at: number }
  | { readonly type: "tagsListed"; readonly tags: Readonly<Record<string, string>>; readonly at: number }
  | { readonly type: "userTagged"; readonly at: number }
  | { readonly type: "userUntagged"; readonly at: number }
  | { readonly type: "lastUsed"; readonly date?: string; readonly serviceName?: string; readonly region?: string; readonly at: number }
  | { readonly type: "effectFailed"; readonly effect: Effect["type"]; readonly failure: Failure; readonly at: number; readonly random: number }
  | { readonly type: "abort"; readonly at: number };

/**
 * The result of one {@link transition}: the next state and the effects to run, in order.
 *
 * @example
 * ```ts
 * const { state, effects } = transition(previous, { type: "start", at: 0 });
 * ```
 */
export interface Transition {
  readonly state: RotationState;
  readonly effects: readonly Effect[];
}
