import type { RotationStep } from "../../report.js";
import type { Effect, Failure, Phase, RotationEvent, RotationState, StateIn } from "../types.js";

/**
 * What a phase is for. The machine treats a phase by its group wherever a rule covers many phases:
 * which phases an unexpected event rolls back, which ones a resume may retry, which ones carry on
 * without a journal.
 *
 * - `inspect`: reading the store and IAM before anything is created (a failure changes nothing).
 * - `forward`: creating, installing and verifying the new key (a failure rolls back).
 * - `retire`: deactivating and deleting the old key after verification (a failure leaves a warning).
 * - `bookkeeping`: tags and the in-use check around retirement (a failure is a warning).
 * - `rollback`: undoing a failed rotation (a failure leaves steps for a person).
 * - `resume`: checking a journal against IAM before going on (a failure keeps the journal).
 * - `terminal`: `done`, where nothing more happens.
 *
 * @example
 * ```ts
 * const group: PhaseGroup = phaseTable.verifying.group; // "forward"
 * ```
 */
export type PhaseGroup = "inspect" | "forward" | "retire" | "bookkeeping" | "rollback" | "resume" | "terminal";

/**
 * What a phase handler decides: the next state, and a wait before that state's effect when the phase
 * retries. The dispatcher turns it into a {@link Transition}: the effect always follows from the
 * phase entered, so no handler writes one by hand.
 *
 * @example
 * ```ts
 * const stay: Decision = { state, waitMs: 250 };
 * ```
 */
export interface Decision {
  readonly state: RotationState;
  readonly waitMs?: number;
}

/**
 * The events a phase `P` reacts to, each with its own payload type, each handed the state of that
 * phase (so it reads only ids that exist by then). An event a phase does not list is unexpected there
 * (a keyup bug): its group says how the rotation then ends safely.
 *
 * @example
 * ```ts
 * const on: EventHandlers<"installing"> = { installed: (s, e) => enter({ ...s, installedAt: e.at }, "verifying") };
 * ```
 */
export type EventHandlers<P extends Phase = Phase> = {
  readonly [E in RotationEvent["type"]]?: (state: StateIn<P>, event: Extract<RotationEvent, { type: E }>) => Decision;
};

/**
 * Everything about one phase `P`, in one place. Every member is required: a new phase that does not
 * say what it does on a failure or an abort does not compile. Each handler gets the state of `P`
 * ({@link StateIn}), so it can only read the ids that exist in that phase.
 *
 * @example
 * ```ts
 * const installing: PhaseSpec<"installing"> = {
 *   step: "install",
 *   group: "forward",
 *   effect: (s) => ({ type: "install", accessKeyId: s.newAccessKeyId }), // a string in this phase
 *   on: { installed: (s, e) => enter({ ...s, installedAt: e.at }, "verifying") },
 *   onFailure: (s, failure, at) => rollback(s, "install", at, failure),
 *   onAbort: (s, at) => rollback(s, "install", at, abortedFailure()),
 * };
 * ```
 */
export interface PhaseSpec<P extends Phase = Phase> {
  /** The step name this phase records in the report. */
  readonly step: StepName;
  readonly group: PhaseGroup;
  /** The effect that performs the phase's work: on entry, after a retry's wait, on resume. */
  readonly effect: (state: StateIn<P>) => Effect;
  readonly on: EventHandlers<P>;
  /** The phase's effect failed (`failure.retry` says whether a retry could help). */
  readonly onFailure: (state: StateIn<P>, failure: Failure, at: number, random: number) => Decision;
  /** The caller aborted while this phase was running. */
  readonly onAbort: (state: StateIn<P>, at: number) => Decision;
}

/**
 * The step names a rotation records (`RotationStep.step`).
 *
 * @example
 * ```ts
 * const step: StepName = "verify";
 * ```
 */
export type StepName =
  | "start"
  | "read-store"
  | "resolve-identity"
  | "list-keys"
  | "delete-inactive-key"
  | "backup-store"
  | "create-key"
  | "install"
  | "verify"
  | "deactivate-old-key"
  | "delete-old-key"
  | "restore-store"
  | "delete-new-key"
  | "reconcile"
  | "delete-orphan-key"
  | "check-grace"
  | "untag-inactive-key"
  | "tag-new-key"
  | "check-old-key-use"
  | "record-grace"
  | "untag-old-key"
  | "resume"
  | "done";

/** A phase table: one spec per phase, each typed by its own phase, checked complete by the compiler. */
export type PhaseTable = { readonly [P in Phase]: PhaseSpec<P> };

/** Re-exported for handler modules: the step statuses a handler records. */
export type StepStatus = RotationStep["status"];
