import type { KeyupError, RotationError } from "../errors.js";
import type { RotationReport } from "../report.js";
import type { RotationState } from "./types.js";

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
  const backup = state.outcome === "rollback-failed" && state.phase === "done" && state.failure?.phase === "restoring" ? state.backup?.location : undefined;
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
    manualSteps: state.manualSteps ?? [],
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
export function errorOf(state: RotationState): RotationError | undefined {
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
  if (!failure) return { kind: "config", message: "rotation ended without an outcome", report };
  const base = (error: KeyupError): RotationError => ({ ...error, report });
  switch (failure.code) {
    case "TwoKeys":
    case "LimitExceeded":
      return base({
        kind: "limit",
        message: failure.message + rolledBack,
        keys: (state.keys ?? []).map((k) => ({ accessKeyId: k.accessKeyId, status: k.status })),
      });
    case "NoKeyInStore":
    case "IdentityNotUser":
    case "KeyNotOwned":
      return base({ kind: "config", message: failure.message, cause: failure });
    case "VerifyTimeout":
    case "IdentityMismatch":
      return base({ kind: "verify", message: failure.message + rolledBack, attempts: state.verifyAttempts, cause: failure });
    case "Aborted":
      return base({ kind: "aborted", message: failure.message + rolledBack, cause: failure });
    case "JournalWriteFailed":
      return base({ kind: "journal", location: "", message: failure.message + rolledBack, cause: failure });
    case "ELOCKED":
      return base({ kind: "lock", store: state.store, message: failure.message, cause: failure, ...(failure.holder ? { holder: failure.holder } : {}) });
  }
  if (failure.source === "store") return base({ kind: "store", store: state.store, code: failure.code, message: failure.message + rolledBack, cause: failure });
  if (failure.source === "aws") {
    if (state.failure?.phase === "verifying")
      return base({ kind: "verify", message: failure.message + rolledBack, attempts: state.verifyAttempts, cause: failure });
    return base({ kind: "aws", operation: failure.operation ?? "unknown", code: failure.code, message: failure.message + rolledBack, cause: failure });
  }
  return base({ kind: "config", message: failure.message + rolledBack, cause: failure });
}
