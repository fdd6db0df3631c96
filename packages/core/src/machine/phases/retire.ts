import type { NextStep } from "../../report.js";
import type { Failure, StateIn } from "../types.js";
import { abortedFailure, advance, again, enter, finish, finishRetired, record, retryWait, signerFor } from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Retire: the new key is verified; deactivate, then delete, the old key. A failure here cannot undo a
// working rotation: it ends `completed-with-warnings`, naming what is left to do.

/** The phases that retire the old key. */
type Retiring = "deactivating" | "deleting-old";

const retireFailure =
  (step: StepName): PhaseSpec<Retiring>["onFailure"] =>
  (s, failure, at, random) =>
    failure.code === "NoSuchEntity"
      ? alreadyGone(s, step, at)
      : ((failure.retry !== "no" && !s.aborted ? retryWait(s, "retire", step, at, random) : undefined) ?? completeWithWarning(s, step, at, failure));

// NoSuchEntity here means someone else deleted the old key (during verify, say), or an earlier
// delete landed though its answer was lost: retiring it is done, and there is nothing left to ask of
// a person. Its description tag lives on the user, not the key, so it is still removed.
function alreadyGone(s: StateIn<Retiring>, step: StepName, at: number): Decision {
  const gone = record({ ...s, oldKeyState: "deleted" as const }, at, step, "ok", `${s.oldAccessKeyId} was already gone (NoSuchEntity)`);
  return s.config.description !== undefined ? enter(gone, "untagging-old") : finishRetired(gone, at);
}

/** Sets the old key Inactive (signed by the new key: proof that it works for IAM too). */
export const deactivating: PhaseSpec<"deactivating"> = {
  step: "deactivate-old-key",
  group: "retire",
  effect: (s) => ({ type: "updateAccessKey", userName: s.userName, accessKeyId: s.oldAccessKeyId, status: "Inactive", signer: signerFor(s, "new") }),
  on: {
    waited: again,
    keyUpdated: (s, e) => {
      const inactive = { ...s, oldKeyState: "inactive" as const };
      const detail = `${s.oldAccessKeyId} is Inactive`;
      if (s.config.oldKey === "delete" && !s.oldKeyInUse) {
        return advance(inactive, { at: e.at, step: "deactivate-old-key", detail, to: "deleting-old", freshLoop: "retire" });
      }
      const deactivated = record(inactive, e.at, "deactivate-old-key", "ok", detail);
      return s.config.keepOldForMs !== undefined && !s.oldKeyInUse ? enter(deactivated, "recording-grace") : finishRetired(deactivated, e.at);
    },
  },
  onFailure: retireFailure("deactivate-old-key"),
  onAbort: (s, at) => completeWithWarning({ ...s, aborted: true }, "deactivate-old-key", at, abortedFailure()),
};

/** Deletes the old key. */
export const deletingOld: PhaseSpec<"deleting-old"> = {
  step: "delete-old-key",
  group: "retire",
  effect: (s) => ({ type: "deleteAccessKey", userName: s.userName, accessKeyId: s.oldAccessKeyId, signer: signerFor(s, "new") }),
  on: {
    waited: again,
    keyDeleted: (s, e) => {
      const deleted = record({ ...s, oldKeyState: "deleted" as const }, e.at, "delete-old-key", "ok", `deleted ${s.oldAccessKeyId}`);
      return s.config.description !== undefined ? enter(deleted, "untagging-old") : finishRetired(deleted, e.at);
    },
  },
  onFailure: retireFailure("delete-old-key"),
  onAbort: (s, at) => completeWithWarning({ ...s, aborted: true }, "delete-old-key", at, abortedFailure()),
};

/**
 * Ends a rotation whose old key could not be retired: `completed-with-warnings`, with the steps a
 * person takes to finish.
 *
 * @example
 * ```ts
 * completeWithWarning(state, "delete-old-key", at, failure);
 * ```
 */
export function completeWithWarning(s: StateIn<Retiring>, step: StepName, at: number, failure: Failure): Decision {
  const { userName, oldAccessKeyId: old } = s;
  const stillActive = s.phase === "deactivating";
  const warning = stillActive
    ? `the old key ${old} could not be deactivated (${failure.code}: ${failure.message}); it is still Active`
    : `the old key ${old} could not be deleted (${failure.code}: ${failure.message}); it is Inactive`;
  const nextSteps: NextStep[] = [
    ...(stillActive ? [{ type: "deactivate-key", userName, accessKeyId: old } as const] : []),
    ...(s.config.oldKey === "delete" ? [{ type: "delete-key", userName, accessKeyId: old } as const] : []),
  ];
  const recorded = record(
    { ...s, warnings: [...s.warnings, warning], oldKeyState: stillActive ? ("active" as const) : ("inactive" as const), nextSteps },
    at,
    step,
    "failed",
    `${failure.code}: ${failure.message}`,
  );
  return finish(recorded, "completed-with-warnings", at);
}
