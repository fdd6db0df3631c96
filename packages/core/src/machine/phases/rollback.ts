import type { NextStep } from "../../report.js";
import { backoffDelay } from "../backoff.js";
import type { Failure, Phase, StateIn } from "../types.js";
import { abortedFailure, advance, again, type Entering, finish, record, retryWait, signerFor } from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Rollback: undo a failed rotation (restore the store, delete the new key), or clean up after a lost
// CreateAccessKey answer. An abort lets the rollback finish without further retries; a failure that
// retrying cannot fix ends `rollback-failed` with the steps a person takes.

/** The phases that undo a rotation or clean up after a lost CreateAccessKey answer. */
type RollingBack = "restoring" | "deleting-new" | "reconciling" | "deleting-orphan";

const rollbackFailure =
  (step: StepName): PhaseSpec<RollingBack>["onFailure"] =>
  (s, failure, at, random) =>
    // Signed by a key that worked moments ago: only throttling and server trouble are worth a retry.
    (failure.retry === "service" ? retryWait(s, "rollback", step, at, random) : undefined) ??
    (isExpiredSession(failure) ? sessionExpired(s, step, at, failure) : rollbackFailed(s, step, at, failure));

/** AWS error names for session credentials past their expiry (GetSessionToken sessions cannot be renewed). */
const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException"]);
const isExpiredSession = (failure: Failure): boolean => failure.source === "aws" && EXPIRED.has(failure.code);

/**
 * The session signing the rollback expired: not a rollback that failed, but one that stopped for want
 * of credentials. It ends `failed` with an `ExpiredToken` failure saying what is left; the journal
 * stays, and the next run (`recover`, with a fresh MFA code) takes the rollback up where it stopped.
 */
function sessionExpired(s: StateIn<RollingBack>, step: StepName, at: number, failure: Failure): Decision {
  const stopped = rollbackFailed(s, step, at, failure).state;
  const why = s.failure ? ` (rolling back because of ${s.failure.code}: ${s.failure.message})` : "";
  const left = [
    stopped.leftoverKeyIds?.length ? `IAM still has the new key ${stopped.leftoverKeyIds.join(", ")}` : "",
    s.phase === "restoring" ? `${s.store} may still hold the new key` : "",
  ]
    .filter(Boolean)
    .join("; ");
  const expired: Failure & { readonly phase: Phase } = {
    ...failure,
    message: `the MFA session expired during the rollback's ${step}${why}: ${left || "nothing is left to undo in IAM"}. Run recover with a fresh MFA code to finish the rollback (the journal keeps the state)`,
    phase: s.phase,
  };
  return finish({ ...stopped, failure: expired }, "failed", at);
}

const finishWithoutRetries: PhaseSpec<RollingBack>["onAbort"] = (s) => again({ ...s, aborted: true });

/** Puts the store's previous content back. */
export const restoring: PhaseSpec<"restoring"> = {
  step: "restore-store",
  group: "rollback",
  effect: (s) => ({ type: "restoreStore", backup: s.backup }),
  on: {
    waited: again,
    storeRestored: (s, e) =>
      advance(s, { at: e.at, step: "restore-store", detail: `${s.store} holds its previous content again`, to: "deleting-new", freshLoop: "rollback" }),
  },
  onFailure: rollbackFailure("restore-store"),
  onAbort: finishWithoutRetries,
};

/** Deletes the new key. */
export const deletingNew: PhaseSpec<"deleting-new"> = {
  step: "delete-new-key",
  group: "rollback",
  effect: (s) => ({ type: "deleteAccessKey", userName: s.userName, accessKeyId: s.newAccessKeyId, signer: signerFor(s, "old") }),
  on: {
    waited: again,
    keyDeleted: (s, e) => finish(record(s, e.at, "delete-new-key", "ok", `deleted ${e.accessKeyId}`), s.installAttempted ? "rolled-back" : "failed", e.at),
  },
  onFailure: rollbackFailure("delete-new-key"),
  onAbort: finishWithoutRetries,
};

/**
 * How many more times reconcile (and a resume's journal check) lists the keys before concluding that
 * a key is not there (~4 s with the default backoff): ListAccessKeys lags a new key.
 *
 * @example
 * ```ts
 * if (lists <= RECONCILE_RELISTS) return { state, waitMs: backoffDelay(s.config, lists, 0.5) };
 * ```
 */
export const RECONCILE_RELISTS = 10;

/** CreateAccessKey's answer was lost: lists the keys, looking for one it created anyway. */
export const reconciling: PhaseSpec<"reconciling"> = {
  step: "reconcile",
  group: "rollback",
  effect: (s) => ({ type: "listAccessKeys", userName: s.userName, signer: signerFor(s, "old") }),
  on: {
    waited: again,
    keysListed: (s, e) => {
      const known = new Set(s.keys.map((k) => k.accessKeyId));
      const orphan = e.keys.find((k) => !known.has(k.accessKeyId));
      if (orphan) {
        return advance(
          { ...s, orphanAccessKeyId: orphan.accessKeyId },
          { at: e.at, step: "reconcile", detail: `found ${orphan.accessKeyId}, created by a lost CreateAccessKey answer`, to: "deleting-orphan" },
        );
      }
      // ListAccessKeys may not show a key created a moment ago (IAM is eventually consistent): list
      // again for a bounded time before concluding that nothing was created.
      const lists = s.retries.rollback + 1;
      if (lists <= RECONCILE_RELISTS && !s.aborted) {
        const detail = `no new key listed yet; listing again (${lists} of ${RECONCILE_RELISTS})`;
        return {
          state: record({ ...s, retries: { ...s.retries, rollback: lists } }, e.at, "reconcile", "retry", detail),
          waitMs: backoffDelay(s.config, lists, 0.5),
        };
      }
      return retryCreateOrFail(record({ ...s, retries: { ...s.retries, rollback: 0 } }, e.at, "reconcile", "ok", "no key was created"), e.at);
    },
  },
  onFailure: rollbackFailure("reconcile"),
  onAbort: finishWithoutRetries,
};

/** Deletes a key nobody holds the secret of (created by a lost CreateAccessKey answer). */
export const deletingOrphan: PhaseSpec<"deleting-orphan"> = {
  step: "delete-orphan-key",
  group: "rollback",
  effect: (s) => ({ type: "deleteAccessKey", userName: s.userName, accessKeyId: s.orphanAccessKeyId, signer: signerFor(s, "old") }),
  on: {
    waited: again,
    keyDeleted: (s, e) => retryCreateOrFail(record({ ...s, orphanAccessKeyId: undefined }, e.at, "delete-orphan-key", "ok", `deleted ${e.accessKeyId}`), e.at),
  },
  onFailure: rollbackFailure("delete-orphan-key"),
  onAbort: finishWithoutRetries,
};

/** After a reconciliation: create again (at most 5 times, within the timeout), or end `failed`. */
function retryCreateOrFail(s: Entering<"creating"> & { readonly phase: "reconciling" | "deleting-orphan" }, at: number): Decision {
  const creates = s.retries.create + 1;
  const started = s.loopStartedAt ?? at;
  if (!s.aborted && creates < 5 && at - started <= s.config.verifyTimeoutMs) {
    return { state: { ...s, retries: { ...s.retries, create: creates }, phase: "creating", createRequested: true } };
  }
  return finish({ ...s, failure: s.failure ?? { ...(s.lastFailure ?? abortedFailure()), phase: "creating" } }, "failed", at);
}

/**
 * Ends `rollback-failed`: what is left in IAM and the store, and how to finish by hand.
 *
 * @example
 * ```ts
 * rollbackFailed(state, "delete-new-key", at, failure);
 * ```
 */
export function rollbackFailed(s: StateIn<RollingBack>, step: StepName, at: number, failure: Failure): Decision {
  const { userName, oldAccessKeyId } = s;
  const leftover = s.phase === "deleting-orphan" ? s.orphanAccessKeyId : s.newAccessKeyId;
  const nextSteps: NextStep[] =
    s.phase === "restoring"
      ? [
          {
            type: "check-store",
            store: s.store,
            userName,
            oldAccessKeyId,
            newAccessKeyId: s.newAccessKeyId,
            ...(s.backup.location !== undefined ? { backup: s.backup.location } : {}),
          },
        ]
      : s.phase === "reconciling"
        ? [{ type: "find-lost-key", userName, keepAccessKeyId: oldAccessKeyId }]
        : leftover
          ? [{ type: "delete-key", userName, accessKeyId: leftover }]
          : [];
  const failed = record(
    {
      ...s,
      failure: s.failure ?? { ...failure, phase: s.phase },
      lastFailure: failure,
      failedRollbackPhase: s.phase,
      leftoverKeyIds: leftover ? [leftover] : [],
      keepJournal: true,
      nextSteps,
    },
    at,
    step,
    "failed",
    `${failure.code}: ${failure.message}`,
  );
  return finish(failed, "rollback-failed", at);
}
