import type { KeyupError, RotationError } from "../errors.js";
import { describeNextSteps } from "../messages.js";
import type { RotationReport } from "../report.js";
import type { KeyupFailureCode, RotationState } from "./types.js";

/**
 * The report of a rotation, derived from its (usually terminal) state. Contains no secret.
 *
 * @example
 * ```ts
 * const report = reportOf(finalState);
 * console.log(report.outcome, report.newAccessKeyId);
 * ```
 */
export function reportOf(state: RotationState): RotationReport {
  const started = state.startedAt ?? state.updatedAt ?? 0;
  const leftoverKeys = state.leftoverKeyIds ?? [];
  // The restore is what failed (not the step that started the rollback, which `failure` names).
  const backup =
    state.outcome === "rollback-failed" && state.phase === "done" && state.failedRollbackPhase === "restoring" ? state.backup?.location : undefined;
  return {
    outcome: state.outcome ?? "failed",
    store: state.store,
    ...(state.userName !== undefined ? { userName: state.userName } : {}),
    ...(state.oldAccessKeyId !== undefined ? { oldAccessKeyId: state.oldAccessKeyId } : {}),
    ...(state.newAccessKeyId !== undefined ? { newAccessKeyId: state.newAccessKeyId } : {}),
    oldKey: state.oldKeyState,
    verifyAttempts: state.verifyAttempts,
    durationMs: Math.max(0, (state.updatedAt ?? started) - started),
    steps: state.steps,
    warnings: state.warnings,
    leftovers: backup === undefined ? { accessKeyIds: leftoverKeys } : { accessKeyIds: leftoverKeys, backup },
    nextSteps: state.nextSteps ?? [],
    manualSteps: describeNextSteps(state.nextSteps ?? []),
  };
}

/**
 * The typed error for a rotation that did not succeed (`failed`, `rolled-back`, `rollback-failed`),
 * or `undefined` for `rotated` and `completed-with-warnings`.
 *
 * @example
 * ```ts
 * const error = errorOf(finalState);
 * if (error?.kind === "limit") console.error(error.keys);
 * ```
 */
export function errorOf(state: RotationState, journal = ""): RotationError | undefined {
  if (state.outcome === "rotated" || state.outcome === "completed-with-warnings" || state.outcome === "skipped") return undefined;
  const report = reportOf(state);
  const failure = state.failure ?? state.lastFailure;
  const rolledBack = state.outcome === "rolled-back" ? ` The new key ${state.newAccessKeyId} was deleted and ${state.store} holds its previous content.` : "";
  if (state.outcome === "rollback-failed") {
    const cause = state.lastFailure;
    return {
      kind: "rollback-failed",
      message: `rotation failed (${failure?.code}: ${failure?.message}) and rolling back failed too (${cause?.code}: ${cause?.message}). Left behind: ${
        report.leftovers.accessKeyIds.join(", ") || "nothing in IAM"
      }. To finish by hand: ${report.manualSteps.join("; ")}`,
      report,
      cause,
    };
  }
  if (!failure) return { kind: "internal", message: "keyup bug: the rotation ended without an outcome", report };
  const base = (error: KeyupError): RotationError => ({ ...error, report });
  switch (failure.source) {
    case "keyup":
      return base(KEYUP_ERRORS[failure.code](failure.message + rolledBack, failure, state, journal));
    case "store":
      if (failure.code === "ELOCKED")
        return base({ kind: "lock", store: state.store, message: failure.message, cause: failure, ...(failure.holder ? { holder: failure.holder } : {}) });
      return base({ kind: "store", store: state.store, code: failure.code, message: failure.message + rolledBack, cause: failure });
    case "aws":
      if (failure.code === "LimitExceeded") return base({ kind: "limit", message: failure.message + rolledBack, keys: keysOf(state) });
      // AccessDenied at verify is a missing permission (the key is known), not a key that failed to verify.
      if (state.failure?.phase === "verifying" && failure.code !== "AccessDenied" && failure.code !== "AccessDeniedException")
        return base({ kind: "verify", message: failure.message + rolledBack, attempts: state.verifyAttempts, cause: failure });
      return base({ kind: "aws", operation: failure.operation ?? "unknown", code: failure.code, message: failure.message + rolledBack, cause: failure });
  }
}

/** The error kind of each failure keyup detects itself: a new code must choose one. */
const KEYUP_ERRORS: { readonly [C in KeyupFailureCode]: (message: string, cause: unknown, state: RotationState, journal: string) => KeyupError } = {
  TwoKeys: (message, _cause, state) => ({ kind: "limit", message, keys: keysOf(state) }),
  NoKeyInStore: (message, cause) => ({ kind: "config", message, cause }),
  IdentityNotUser: (message, cause) => ({ kind: "config", message, cause }),
  KeyNotOwned: (message, cause) => ({ kind: "config", message, cause }),
  // The journal named a new key someone else deleted: the rotation was undone; the caller must look.
  NewKeyGone: (message, cause) => ({ kind: "config", message, cause }),
  VerifyTimeout: (message, cause, state) => ({ kind: "verify", message, attempts: state.verifyAttempts, cause }),
  IdentityMismatch: (message, cause, state) => ({ kind: "verify", message, attempts: state.verifyAttempts, cause }),
  Aborted: (message, cause) => ({ kind: "aborted", message, cause }),
  JournalWriteFailed: (message, cause, _state, journal) => ({ kind: "journal", location: journal, message, cause }),
  JournalUserGone: (message, cause, _state, journal) => ({ kind: "journal", location: journal, message: journalMessage(message, journal), cause }),
  JournalKeysInvalid: (message, cause, _state, journal) => ({ kind: "journal", location: journal, message: journalMessage(message, journal), cause }),
  UnexpectedEvent: (message, cause) => ({ kind: "internal", message, cause }),
  // The MFA session would expire before the rotation could end: nothing was created; a fresh code helps.
  SessionTooShort: (message, cause) => ({ kind: "config", message, cause }),
};

function keysOf(state: RotationState): { accessKeyId: string; status: string }[] {
  return (state.keys ?? []).map((k) => ({ accessKeyId: k.accessKeyId, status: k.status }));
}

function journalMessage(message: string, journal: string): string {
  return journal ? `${message} (journal: ${journal})` : message;
}
