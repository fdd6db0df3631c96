import type { RotationOutcome, RotationStep } from "../../report.js";
import { backoffDelay } from "../backoff.js";
import { type Failure, graceTagKey, type Phase, type RetryLoop, type RotationCommon, type RotationState, type Signer, type StateIn } from "../types.js";
import type { Decision, StepName, StepStatus } from "./spec.js";

// The building blocks every phase decides with. Each takes the step name of the phase it runs in,
// so the report names the step that failed without this module knowing the phase table.

/**
 * Appends a step to the state's record.
 *
 * @example
 * ```ts
 * record(state, at, "verify", "ok", "2 consecutive successes");
 * ```
 */
export function record<S extends { readonly steps: readonly RotationStep[] }>(s: S, at: number, step: StepName, status: StepStatus, detail?: string): S {
  const when = new Date(at).toISOString();
  const entry = detail === undefined ? { step, status, at: when } : { step, status, at: when, detail };
  return { ...s, steps: [...s.steps, entry] };
}

/**
 * A state of `phase`, but for its `phase` field: what a move must hold to enter that phase. For a
 * union of phases, a state fit for any one of them.
 *
 * @example
 * ```ts
 * const fit: Entering<"installing"> = { ...creating, newAccessKeyId: "AKIANEWNEWNEWNEW0002" };
 * ```
 */
export type Entering<P extends Phase> = StateIn<P> extends infer S ? (S extends unknown ? Omit<S, "phase"> : never) : never;

/**
 * Any state, read as one about to end: every id it may hold is optional at the end.
 *
 * @example
 * ```ts
 * const ending: Finishing = state;
 * ```
 */
export type Finishing = Omit<Entering<"done">, "outcome" | "resuming">;

/**
 * Enters `phase`. The compiler checks that `s` holds every id `phase` needs ({@link Entering}).
 * Entering `creating` or `installing` sets the flag that a resume and a rollback depend on (a create
 * may have landed; the store may hold the new key).
 *
 * @example
 * ```ts
 * enter(state, "restoring");
 * ```
 */
export function enter<P extends Phase>(s: Entering<P>, phase: P): Decision {
  // `s` holds what `phase` needs (checked at the call); TypeScript cannot see that adding the
  // phase back gives a member of the union, so say it once here.
  const entered = { ...s, phase } as unknown as RotationState;
  if (phase === "installing") return { state: { ...entered, installAttempted: true } };
  if (phase === "creating") return { state: { ...entered, createRequested: true } };
  return { state: entered };
}

/** What {@link advance} records and where it goes. */
export interface Advance<P extends Phase = Phase> {
  readonly at: number;
  /** The step that finished. */
  readonly step: StepName;
  readonly detail?: string;
  readonly to: P;
  readonly status?: StepStatus;
  /** Starts this retry loop afresh in the phase entered (its timeout counts from `at`). */
  readonly freshLoop?: RetryLoop;
}

/**
 * Records a finished step and enters the next phase.
 *
 * @example
 * ```ts
 * advance(s, { at, step: "create-key", detail: `created ${id}`, to: "installing" });
 * ```
 */
export function advance<P extends Phase>(s: Entering<P>, move: Advance<P>): Decision {
  const { state } = enter(s, move.to);
  const recorded = record(state, move.at, move.step, move.status ?? "ok", move.detail);
  return { state: move.freshLoop ? freshLoop(recorded, move.at, move.freshLoop) : recorded };
}

/**
 * Resets `loop`'s attempt count and starts the loop's clock at `at`.
 *
 * @example
 * ```ts
 * freshLoop(state, at, "verify").retries.verify; // 0
 * ```
 */
export function freshLoop<S extends RotationCommon>(s: S, at: number, loop: RetryLoop): S {
  return { ...s, loopStartedAt: at, retries: { ...s.retries, [loop]: 0 } };
}

/**
 * Ends the rotation with `outcome`.
 *
 * @example
 * ```ts
 * finish(state, "rotated", at);
 * ```
 */
export function finish(s: Finishing, outcome: RotationOutcome, at: number): Decision {
  // A finished rotation is checking no journal any more.
  const { resuming: _resuming, ...rest } = s as typeof s & { readonly resuming?: unknown };
  return { state: { ...rest, phase: "done", outcome, updatedAt: at } };
}

/**
 * Ends `rotated`, or `completed-with-warnings` when something went amiss on the way.
 *
 * @example
 * ```ts
 * finishRetired(state, at);
 * ```
 */
export function finishRetired(s: Finishing, at: number): Decision {
  return finish(s, s.warnings.length > 0 ? "completed-with-warnings" : "rotated", at);
}

/**
 * Ends `failed` with `failure`, recorded against `step`. Only for phases before anything was created.
 *
 * @example
 * ```ts
 * fail(state, "read-store", at, failure);
 * ```
 */
export function fail(s: Finishing & { readonly phase: Phase }, step: StepName, at: number, failure: Failure): Decision {
  const failed = record({ ...s, failure: { ...failure, phase: s.phase } }, at, step, "failed", `${failure.code}: ${failure.message}`);
  return finish(failed, "failed", at);
}

/**
 * Starts undoing what was done: restore the store if it may hold the new key, delete the new key if
 * one exists, or end `failed` when nothing was created.
 *
 * @example
 * ```ts
 * rollback(state, "verify", at, failure);
 * ```
 */
export function rollback(s: RotationState, step: StepName, at: number, failure: Failure): Decision {
  const failed = record({ ...s, failure: { ...failure, phase: s.phase } }, at, step, "failed", `${failure.code}: ${failure.message}`);
  // Only the phases holding a new key (a backed-up store included) have something to undo.
  if (failed.phase === "installing" || failed.phase === "verifying") {
    return enter(freshLoop(failed, at, "rollback"), failed.installAttempted ? "restoring" : "deleting-new");
  }
  return finish(failed, "failed", at);
}

/**
 * Schedules another attempt of the current phase after a backoff, or `undefined` when the loop's
 * time is up.
 *
 * @example
 * ```ts
 * retryWait(state, "verify", "verify", at, random) ?? rollback(state, "verify", at, failure);
 * ```
 */
export function retryWait<S extends RotationState>(s: S, loop: RetryLoop, step: StepName, at: number, random: number): Decision | undefined {
  const attempts = s.retries[loop] + 1;
  const ms = backoffDelay(s.config, attempts, random);
  const started = s.loopStartedAt ?? at;
  if (at + ms - started > s.config.verifyTimeoutMs) return undefined;
  const detail = `${s.lastFailure?.code ?? "error"}; retry ${attempts} in ${ms} ms`;
  return { state: record({ ...s, retries: { ...s.retries, [loop]: attempts } }, at, step, "retry", detail), waitMs: ms };
}

/**
 * Runs the current phase's effect again (a retry's wait has ended, or an abort lets a rollback finish).
 *
 * @example
 * ```ts
 * const on = { waited: again };
 * ```
 */
export function again(s: RotationState): Decision {
  return { state: s };
}

/**
 * The failure recorded when the caller aborts.
 *
 * @example
 * ```ts
 * rollback(state, "install", at, abortedFailure());
 * ```
 */
export function abortedFailure(message = "the rotation was aborted by its caller"): Failure {
  return { source: "keyup", code: "Aborted", message, retry: "no" };
}

/**
 * Who signs a call: the store's keys (`old` or `new`), unless the caller gave credentials.
 *
 * @example
 * ```ts
 * signerFor(state, "new"); // "new", or "credentials"
 * ```
 */
export function signerFor(s: RotationCommon, which: "old" | "new"): Signer {
  return s.config.iamSigner === "credentials" ? "credentials" : which;
}

/**
 * After verification (and the description tag): keep the old key, hold it Active when the in-use guard
 * saw a recent use, or retire it.
 *
 * @example
 * ```ts
 * retireOldKey(verifiedState, at);
 * ```
 */
export function retireOldKey(s: Entering<"recording-grace" | "deactivating">, at: number): Decision {
  if (s.config.oldKey === "keep") return finish(s, "rotated", at);
  // The in-use guard saw a recent use before keyup started: keep the key Active for the hold and record
  // until when on the user; cleanup() deletes it then, unless a use after the new key is recorded.
  if (s.config.inUseGuard && s.oldKeyInUse) {
    return enter(freshLoop(s, at, "retire"), "recording-grace");
  }
  return enter(freshLoop(s, at, "retire"), "deactivating");
}

/**
 * The user tags keyup keeps for a key (its description and its grace period) that `tags` holds.
 *
 * @example
 * ```ts
 * tagKeysOf({ AKIA1: "laptop" }, "AKIA1"); // ["AKIA1"]
 * ```
 */
export function tagKeysOf(tags: Readonly<Record<string, string>> | undefined, accessKeyId: string): string[] {
  return [accessKeyId, graceTagKey(accessKeyId)].filter((k) => tags?.[k] !== undefined);
}

/**
 * Whether `s` is in one of `phases`, narrowing it to those phases' state.
 *
 * @example
 * ```ts
 * if (inPhase(state, ["installing", "verifying"])) console.log(state.newAccessKeyId);
 * ```
 */
export function inPhase<P extends Phase>(s: RotationState, phases: readonly P[]): s is StateIn<P> {
  return (phases as readonly Phase[]).includes(s.phase);
}
