import { phaseTable } from "./phases/index.js";
import { finish, inPhase, record, rollback } from "./phases/moves.js";
import { backFromCheck, journaledState, refuse } from "./phases/resume.js";
import { completeWithWarning } from "./phases/retire.js";
import { rollbackFailed } from "./phases/rollback.js";
import type { Decision, PhaseGroup, PhaseSpec, StepName } from "./phases/spec.js";
import type { Effect, Failure, Phase, RotationConfig, RotationEvent, RotationState, StateIn, Transition } from "./types.js";

/**
 * The state a rotation starts in, before its `start` event.
 *
 * @example
 * ```ts
 * const state = initialRotationState("ini:~/.aws/credentials#ci", defaultRotationConfig);
 * ```
 */
export function initialRotationState(store: string, config: RotationConfig): StateIn<"idle"> {
  return {
    phase: "idle",
    store,
    config,
    retries: NO_RETRIES,
    consecutiveSuccesses: 0,
    verifyAttempts: 0,
    oldKeyState: "unknown",
    steps: [],
    warnings: [],
  };
}

const NO_RETRIES = { create: 0, verify: 0, retire: 0, rollback: 0 } as const;

/**
 * True once the rotation has ended (whatever the outcome): no more effects will come.
 *
 * @example
 * ```ts
 * while (!isTerminal(state)) { ... }
 * ```
 */
export function isTerminal(state: RotationState): boolean {
  return state.phase === "done";
}

/**
 * The heart of keyup: given a state and what just happened, the next state and the effects to run.
 * Pure: no I/O, no clock (times come in events), no randomness (jitter comes in events). At most one
 * effect is returned, so a runner can journal the state before every effect. Each phase's behaviour
 * lives in its entry of {@link phaseTable}; this function only dispatches.
 *
 * @example
 * ```ts
 * let { state, effects } = transition(initialRotationState("memory:x", defaultRotationConfig), { type: "start", at: 0 });
 * // effects: [{ type: "readStore" }]
 * ({ state, effects } = transition(state, { type: "storeRead", accessKeyId: "AKIAEXAMPLE000000001", at: 5 }));
 * ```
 */
export function transition(state: RotationState, event: RotationEvent): Transition {
  if (state.phase === "done") return { state, effects: [] };
  const s: RotationState = { ...state, updatedAt: event.at };
  const spec = specOf(s);
  if (event.type === "abort") return effectsOf(spec.onAbort(s, event.at));
  if (event.type === "effectFailed") return effectsOf(spec.onFailure({ ...s, lastFailure: event.failure }, event.failure, event.at, event.random));
  const handler = spec.on[event.type] as ((s: RotationState, e: RotationEvent) => Decision) | undefined;
  if (!handler) return effectsOf(unexpected(s, event));
  return effectsOf(handler(s, event));
}

/**
 * The effect that performs the current phase's work, used when a phase starts, when a retry's wait
 * ends, and when a journaled rotation resumes.
 *
 * @example
 * ```ts
 * effectFor(verifying); // { type: "verify", accessKeyId: verifying.newAccessKeyId }
 * ```
 */
export function effectFor(state: RotationState): Effect {
  return specOf(state).effect(state);
}

/**
 * The spec of the state's phase. The table pairs each phase with the spec typed by that phase; a
 * union of states cannot be matched to a union of specs by the compiler, so the dispatcher says it
 * once here (each spec then reads only its own phase's state).
 */
function specOf(s: RotationState): PhaseSpec {
  return phaseTable[s.phase] as unknown as PhaseSpec;
}

/**
 * The group a phase belongs to (see {@link PhaseGroup}).
 *
 * @example
 * ```ts
 * groupOf("restoring"); // "rollback"
 * ```
 */
export function groupOf(phase: Phase): PhaseGroup {
  return phaseTable[phase].group;
}

/**
 * The step name a phase records.
 *
 * @example
 * ```ts
 * stepOf("verifying"); // "verify"
 * ```
 */
export function stepOf(phase: Phase): StepName {
  return phaseTable[phase].step;
}

/** Before going on from a journal, the `resuming` phase checks it against IAM (when the user is known). */
function checkFirst(s: RotationState): RotationState {
  const userName = s.userName ?? s.config.userName;
  if (userName === undefined || s.phase === "done" || s.phase === "resuming") return s;
  return { ...s, userName, phase: "resuming", resuming: { phase: s.phase, signer: s.config.iamSigner === "credentials" ? "credentials" : "new" } };
}

function effectsOf(decision: Decision): Transition {
  const { state, waitMs } = decision;
  if (state.phase === "done") return { state, effects: [] };
  if (waitMs !== undefined) return { state, effects: [{ type: "wait", ms: waitMs }] };
  return { state, effects: [effectFor(state)] };
}

/**
 * An event the phase does not handle is a keyup bug: end as safely as the phase's group allows. A
 * group's ending needs its stage's ids; a phase the table put in a group whose stage it is not in
 * (another keyup bug, which the phase-table test rules out) ends `failed` with its journal kept.
 */
const onUnexpected: { readonly [G in PhaseGroup]: (s: RotationState, step: StepName, at: number, failure: Failure) => Decision } = {
  inspect: rollback,
  forward: rollback,
  retire: (s, step, at, failure) =>
    inPhase(s, ["deactivating", "deleting-old"]) ? completeWithWarning(s, step, at, failure) : keepForAPerson(s, step, at, failure),
  bookkeeping: (s, step, at, failure) =>
    finish(record({ ...s, warnings: [...s.warnings, failure.message] }, at, step, "failed", failure.message), "completed-with-warnings", at),
  rollback: (s, step, at, failure) =>
    inPhase(s, ["restoring", "deleting-new", "reconciling", "deleting-orphan"]) ? rollbackFailed(s, step, at, failure) : keepForAPerson(s, step, at, failure),
  resume: (s, step, at, failure) => (inPhase(s, ["resuming"]) ? refuse(s, at, "UnexpectedEvent", failure.message) : keepForAPerson(s, step, at, failure)),
  terminal: (s) => ({ state: s }),
};

function keepForAPerson(s: RotationState, step: StepName, at: number, failure: Failure): Decision {
  const failed = record({ ...s, failure: { ...failure, phase: s.phase }, keepJournal: true }, at, step, "failed", failure.message);
  return finish(failed, "failed", at);
}

function unexpected(s: RotationState, event: RotationEvent): Decision {
  const failure: Failure = { source: "keyup", code: "UnexpectedEvent", message: `keyup bug: event ${event.type} in phase ${s.phase}`, retry: "no" };
  const spec = phaseTable[s.phase];
  return onUnexpected[spec.group](s, spec.step, event.at, failure);
}

/**
 * Prepares a journaled state for resuming after a crash, or returns `undefined` when nothing had been
 * created yet and the rotation can simply start over. A request in flight when the process died may
 * have completed anyway, so an interrupted CreateAccessKey becomes a reconciliation (look for a key
 * nobody holds the secret of), and verification starts its count over.
 *
 * @example
 * ```ts
 * const resumed = resumeState(entry.state, Date.now());
 * if (resumed) await runRotation(resumed, { store, aws, secrets: entry.secrets });
 * ```
 */
export function resumeState(journaled: RotationState, at: number): RotationState | undefined {
  const fresh = { loopStartedAt: at, retries: NO_RETRIES, consecutiveSuccesses: 0, aborted: false, updatedAt: at, keepJournal: undefined };
  const note = (s: RotationState, detail: string) => checkFirst(record(s, at, "resume", "ok", detail));
  // A run that died while checking its journal resumes the check of the phase it was about to go on with.
  const state: RotationState = journaled.phase === "resuming" ? backFromCheck(journaled) : journaled;
  if (state.phase === "done") {
    // Only a rollback that failed (or stopped when its MFA session expired) is worth another attempt;
    // anything else has ended.
    const phase =
      state.outcome === "rollback-failed" || state.failedRollbackPhase !== undefined ? (state.failedRollbackPhase ?? state.failure?.phase) : undefined;
    if (!phase || groupOf(phase) !== "rollback") return undefined;
    const again = { ...state, ...fresh, outcome: undefined, failedRollbackPhase: undefined, leftoverKeyIds: undefined, nextSteps: undefined };
    return note(journaledState(again, phase), `retrying the failed ${stepOf(phase)}`);
  }
  if (!state.createRequested && !state.newAccessKeyId) return undefined;
  if (state.phase === "creating")
    return note({ ...state, ...fresh, phase: "reconciling" }, "CreateAccessKey was in flight: looking for a key it may have created");
  return note({ ...state, ...fresh }, `continuing from ${stepOf(state.phase)}`);
}
