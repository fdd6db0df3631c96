import { backoffDelay } from "../backoff.js";
import type { Failure, KeyupFailureCode, Phase, RotationState, StateIn } from "../types.js";
import { again, type Finishing, finish, freshLoop, record } from "./moves.js";
import { RECONCILE_RELISTS } from "./rollback.js";
import type { Decision, PhaseSpec } from "./spec.js";

// Resume: a journaled rotation is checked against IAM before it goes on. The journal's user must
// still exist, and a new key it names must still exist: one deleted by someone else can only be
// undone. A check that cannot be made ends the run with the journal kept and nothing changed.
// ListAccessKeys may not show a key created a moment ago (IAM is eventually consistent; a rerun right
// after a crash comes seconds after the create), so a missing new key is listed again, as reconcile
// lists again, before it is taken as gone.

/** Lists the user's keys, signed by the new key, else the old one (or the caller's credentials). */
export const resuming: PhaseSpec<"resuming"> = {
  step: "resume",
  group: "resume",
  effect: (s) => ({ type: "listAccessKeys", userName: s.userName, signer: s.resuming.signer }),
  on: {
    waited: again,
    keysListed: (s, e) => {
      const newId = s.newAccessKeyId;
      // Only before the new key was verified can it be new enough to be missing from a list.
      const young = s.resuming.phase === "installing" || s.resuming.phase === "verifying";
      const gone = young && newId !== undefined && !e.keys.some((k) => k.accessKeyId === newId);
      const lists = s.retries.rollback + 1;
      if (gone && lists <= RECONCILE_RELISTS) {
        const detail = `the new key ${newId} is not listed (yet); listing again (${lists} of ${RECONCILE_RELISTS})`;
        return {
          state: record({ ...s, retries: { ...s.retries, rollback: lists } }, e.at, "resume", "retry", detail),
          waitMs: backoffDelay(s.config, lists, 0.5),
        };
      }
      const { resuming: journaled, ...listed } = s;
      const rest = { ...listed, retries: { ...listed.retries, rollback: 0 } };
      if (gone && (journaled.phase === "installing" || journaled.phase === "verifying")) {
        const failure: Failure & { phase: typeof journaled.phase } = {
          source: "keyup",
          code: "NewKeyGone",
          message: `the new key ${newId} no longer exists in IAM`,
          retry: "no",
          phase: journaled.phase,
        };
        return { state: journaledState({ ...freshLoop(rest, e.at, "rollback"), failure }, "restoring") };
      }
      return { state: journaledState(rest, journaled.phase) };
    },
  },
  onFailure: (s, failure, at) => {
    const journaled = s.resuming;
    // The new key may be the one that does not work (or is not in memory): try the old one.
    if (journaled.signer === "new" && failure.code !== "NoSuchEntity") return { state: { ...s, resuming: { ...journaled, signer: "old" as const } } };
    if (failure.code === "NoSuchEntity") {
      return refuse(
        s,
        at,
        "JournalUserGone",
        `the rotation journal is for IAM user ${s.userName}, who no longer exists; nothing was changed. Check the store, then move the journal aside`,
      );
    }
    if (failure.code === "InvalidClientTokenId" || failure.code === "SignatureDoesNotMatch") {
      const ids = [s.newAccessKeyId, s.oldAccessKeyId].filter(Boolean).join(", ");
      return refuse(
        s,
        at,
        "JournalKeysInvalid",
        `neither key recorded in the rotation journal (${ids}) is valid any more; nothing was changed. Check the store and IAM, then move the journal aside`,
      );
    }
    return keep(s, at, failure);
  },
  onAbort: (s, at) =>
    keep(s, at, { source: "keyup", code: "Aborted", message: "the rotation was aborted while checking its journal; nothing was changed", retry: "no" }),
};

/**
 * Ends a resume that could not check the journal: nothing changed, the journal kept for the next run.
 *
 * @example
 * ```ts
 * refuse(state, at, "JournalUserGone", "…");
 * ```
 */
export function refuse(s: StateIn<"resuming">, at: number, code: KeyupFailureCode, message: string): Decision {
  return keep(s, at, { source: "keyup", code, message, retry: "no" });
}

function keep(s: StateIn<"resuming">, at: number, failure: Failure): Decision {
  const { resuming: _resuming, ...rest } = s;
  const failed = record({ ...rest, failure: { ...failure, phase: s.phase }, keepJournal: true }, at, "resume", "failed", `${failure.code}: ${failure.message}`);
  return finish(failed, "failed", at);
}

/**
 * The journaled state back in `phase`. The journal recorded it in that phase (or, for a new key gone
 * from IAM, in installing/verifying, whose ids restoring needs), so it holds the ids the phase needs:
 * a fact of the journal the compiler cannot see.
 *
 * @example
 * ```ts
 * journaledState(rest, "verifying");
 * ```
 */
export function journaledState(s: Finishing, phase: Phase): RotationState {
  return { ...s, phase } as RotationState;
}

/**
 * A state that was checking its journal, back in the phase the journal stopped in (a run that died
 * during the check resumes the check of that phase).
 *
 * @example
 * ```ts
 * const state = backFromCheck(journaled); // state.phase === journaled.resuming.phase
 * ```
 */
export function backFromCheck(s: StateIn<"resuming">): RotationState {
  const { resuming, ...rest } = s;
  return journaledState(rest, resuming.phase);
}
