import type { RotationOutcome, RotationStep } from "../report.js";
import { parseIdentityArn } from "./arn.js";
import type { Effect, Failure, Phase, RotationConfig, RotationEvent, RotationState, Signer, Transition } from "./types.js";

/**
 * The state a rotation starts in, before its `start` event.
 *
 * @example
 * ```ts
 * const state = initialRotationState("ini:~/.aws/credentials#ci", defaultRotationConfig);
 * ```
 */
export function initialRotationState(store: string, config: RotationConfig): RotationState {
  return {
    phase: "idle",
    store,
    config,
    attempts: 0,
    consecutiveSuccesses: 0,
    verifyAttempts: 0,
    oldKeyState: "unknown",
    steps: [],
    warnings: [],
  };
}

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
 * effect is returned, so a runner can journal the state before every effect.
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
  if (event.type === "abort") return onAbort(s, event.at);
  if (event.type === "start") {
    if (state.phase !== "idle") return unexpected(s, event);
    return go({ ...s, startedAt: event.at }, "reading-store");
  }
  if (event.type === "effectFailed") return onFailure(s, event.failure, event.at, event.random);

  switch (s.phase) {
    case "reading-store":
      if (event.type !== "storeRead") return unexpected(s, event);
      if (event.accessKeyId === undefined) {
        return fail(s, event.at, {
          source: "keyup",
          code: "NoKeyInStore",
          message: `${s.store} holds no access key: there is nothing to rotate`,
          retry: "no",
        });
      }
      return next(
        { ...s, oldAccessKeyId: event.accessKeyId },
        event.at,
        "read-store",
        `holds ${event.accessKeyId}`,
        s.config.userName === undefined ? "resolving-identity" : "listing-keys",
      );

    case "resolving-identity": {
      if (event.type !== "identityResolved") return unexpected(s, event);
      const identity = parseIdentityArn(event.arn);
      if (identity.type !== "user") {
        return fail(s, event.at, {
          source: "keyup",
          code: "IdentityNotUser",
          message: `${s.store} holds ${describeIdentity(identity.type)} credentials (${event.arn}); keyup rotates IAM user access keys only — put an IAM user's key in the store, or pass userName with admin credentials`,
          retry: "no",
        });
      }
      return next({ ...s, userName: identity.name, userArn: event.arn }, event.at, "resolve-identity", event.arn, "listing-keys");
    }

    case "listing-keys":
      if (event.type !== "keysListed") return unexpected(s, event);
      return onKeysListed({ ...s, keys: event.keys }, event.at);

    case "deleting-inactive":
      if (event.type !== "keyDeleted") return unexpected(s, event);
      return next(
        { ...s, keys: (s.keys ?? []).filter((k) => k.accessKeyId !== event.accessKeyId) },
        event.at,
        "delete-inactive-key",
        `deleted ${event.accessKeyId} (Inactive, held by no store)`,
        "backing-up",
      );

    case "backing-up":
      if (event.type !== "storeBackedUp") return unexpected(s, event);
      return next({ ...s, backup: event.backup }, event.at, "backup-store", event.backup.location, "creating", { loopStartedAt: event.at, attempts: 0 });

    case "creating":
      if (event.type !== "keyCreated") return unexpected(s, event);
      return next({ ...s, newAccessKeyId: event.accessKeyId }, event.at, "create-key", `created ${event.accessKeyId}`, "installing");

    case "installing":
      if (event.type !== "installed") return unexpected(s, event);
      return next(s, event.at, "install", `${s.store} now holds ${s.newAccessKeyId}`, "verifying", {
        loopStartedAt: event.at,
        attempts: 0,
        consecutiveSuccesses: 0,
      });

    case "verifying":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "verified") return unexpected(s, event);
      return onVerified(s, event.arn, event.at);

    case "deactivating":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keyUpdated") return unexpected(s, event);
      return s.config.oldKey === "delete"
        ? next({ ...s, oldKeyState: "inactive" }, event.at, "deactivate-old-key", `${s.oldAccessKeyId} is Inactive`, "deleting-old", {
            loopStartedAt: event.at,
            attempts: 0,
          })
        : finish(record({ ...s, oldKeyState: "inactive" }, event.at, "deactivate-old-key", "ok", `${s.oldAccessKeyId} is Inactive`), "rotated", event.at);

    case "deleting-old":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keyDeleted") return unexpected(s, event);
      return finish(record({ ...s, oldKeyState: "deleted" }, event.at, "delete-old-key", "ok", `deleted ${s.oldAccessKeyId}`), "rotated", event.at);

    case "restoring":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "storeRestored") return unexpected(s, event);
      return next(s, event.at, "restore-store", `${s.store} holds its previous content again`, "deleting-new", {
        loopStartedAt: event.at,
        attempts: 0,
      });

    case "deleting-new":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keyDeleted") return unexpected(s, event);
      return finish(record(s, event.at, "delete-new-key", "ok", `deleted ${event.accessKeyId}`), s.installAttempted ? "rolled-back" : "failed", event.at);

    case "reconciling": {
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keysListed") return unexpected(s, event);
      const known = new Set((s.keys ?? []).map((k) => k.accessKeyId));
      const orphan = event.keys.find((k) => !known.has(k.accessKeyId));
      if (orphan) {
        return next(
          { ...s, orphanAccessKeyId: orphan.accessKeyId },
          event.at,
          "reconcile",
          `found ${orphan.accessKeyId}, created by a lost CreateAccessKey answer`,
          "deleting-orphan",
        );
      }
      return retryCreateOrFail(record(s, event.at, "reconcile", "ok", "no key was created"), event.at);
    }

    case "deleting-orphan":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keyDeleted") return unexpected(s, event);
      return retryCreateOrFail(record({ ...s, orphanAccessKeyId: undefined }, event.at, "delete-orphan-key", "ok", `deleted ${event.accessKeyId}`), event.at);

    case "idle":
    case "done":
      return unexpected(s, event);
  }
}

/**
 * The effect that performs the current phase's work, used when a phase starts, when a retry's wait
 * ends, and when a journaled rotation resumes.
 *
 * @example
 * ```ts
 * effectFor({ ...state, phase: "verifying", newAccessKeyId: "AKIA…" }); // { type: "verify", accessKeyId: "AKIA…" }
 * ```
 */
export function effectFor(state: RotationState): Effect {
  const userName = state.userName ?? state.config.userName ?? "";
  switch (state.phase) {
    case "reading-store":
      return { type: "readStore" };
    case "resolving-identity":
      return { type: "getCallerIdentity", signer: "old" };
    case "listing-keys":
    case "reconciling":
      return { type: "listAccessKeys", userName, signer: signerFor(state, "old") };
    case "deleting-inactive": {
      const other = (state.keys ?? []).find((k) => k.accessKeyId !== state.oldAccessKeyId);
      return { type: "deleteAccessKey", userName, accessKeyId: other?.accessKeyId ?? "", signer: signerFor(state, "old") };
    }
    case "backing-up":
      return { type: "backupStore" };
    case "creating":
      return { type: "createAccessKey", userName, signer: signerFor(state, "old") };
    case "installing":
      return { type: "install", accessKeyId: state.newAccessKeyId ?? "" };
    case "verifying":
      return { type: "verify", accessKeyId: state.newAccessKeyId ?? "" };
    case "deactivating":
      return { type: "updateAccessKey", userName, accessKeyId: state.oldAccessKeyId ?? "", status: "Inactive", signer: signerFor(state, "new") };
    case "deleting-old":
      return { type: "deleteAccessKey", userName, accessKeyId: state.oldAccessKeyId ?? "", signer: signerFor(state, "new") };
    case "restoring":
      return { type: "restoreStore", backup: state.backup ?? { id: "" } };
    case "deleting-new":
      return { type: "deleteAccessKey", userName, accessKeyId: state.newAccessKeyId ?? "", signer: signerFor(state, "old") };
    case "deleting-orphan":
      return { type: "deleteAccessKey", userName, accessKeyId: state.orphanAccessKeyId ?? "", signer: signerFor(state, "old") };
    case "idle":
    case "done":
      throw new Error(`keyup bug: no effect for phase ${state.phase}`);
  }
}

/**
 * The delay before retry number `attempt` (1-based): exponential from `initialBackoffMs`, capped at
 * `maxBackoffMs`, with "equal jitter" (half fixed, half random) so concurrent rotations spread out
 * while the wait never collapses to zero.
 *
 * @example
 * ```ts
 * backoffDelay(defaultRotationConfig, 1, 0.5); // 150
 * ```
 */
export function backoffDelay(config: RotationConfig, attempt: number, random: number): number {
  const exp = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

// ---------------------------------------------------------------------------------------------

function onKeysListed(s: RotationState, at: number): Transition {
  const keys = s.keys ?? [];
  const userName = s.userName ?? s.config.userName ?? "";
  const described = keys.map((k) => `${k.accessKeyId} ${k.status}`).join(", ");
  const held = keys.find((k) => k.accessKeyId === s.oldAccessKeyId);
  if (!held) {
    return fail({ ...s, userName }, at, {
      source: "keyup",
      code: "KeyNotOwned",
      message: `the key in ${s.store} (${s.oldAccessKeyId}) is not one of IAM user ${userName}'s keys (${described || "none"}): check the store or userName`,
      retry: "no",
    });
  }
  const s2: RotationState = { ...s, userName, oldKeyState: held.status === "Inactive" ? "inactive" : "active" };
  if (keys.length < 2) return next(s2, at, "list-keys", described, "backing-up");

  const other = keys.find((k) => k.accessKeyId !== s.oldAccessKeyId);
  if (s.config.onLimit === "delete-inactive" && keys.length === 2 && other?.status === "Inactive") {
    return next(s2, at, "list-keys", described, "deleting-inactive");
  }
  const why =
    s.config.onLimit === "delete-inactive"
      ? `the other key ${other?.accessKeyId} is ${other?.status}, and only an Inactive key held by no store may be deleted automatically`
      : `delete the key you no longer use, or allow keyup to delete an Inactive one (onLimit: "delete-inactive", --delete-inactive)`;
  return fail(s2, at, {
    source: "keyup",
    code: "TwoKeys",
    message: `IAM user ${userName} already has ${keys.length} access keys (${described}), the most IAM allows; nothing was created: ${why}`,
    retry: "no",
  });
}

function onVerified(s: RotationState, arn: string, at: number): Transition {
  const counted: RotationState = { ...s, verifyAttempts: s.verifyAttempts + 1, attempts: s.attempts + 1 };
  const identity = parseIdentityArn(arn);
  const matches = counted.userArn !== undefined ? arn === counted.userArn : identity.type === "user" && identity.name === counted.userName;
  if (!matches) {
    return rollback(counted, at, {
      source: "keyup",
      code: "IdentityMismatch",
      message: `the new key ${s.newAccessKeyId} authenticates as ${arn}, not as ${counted.userArn ?? `IAM user ${counted.userName}`}`,
      retry: "no",
    });
  }
  const consecutive = counted.consecutiveSuccesses + 1;
  const s2: RotationState = { ...counted, userArn: arn, consecutiveSuccesses: consecutive };
  if (consecutive < s.config.requiredSuccesses) {
    return {
      state: record(s2, at, "verify", "retry", `success ${consecutive} of ${s.config.requiredSuccesses}`),
      effects: [{ type: "wait", ms: s.config.confirmIntervalMs }],
    };
  }
  const detail = `${consecutive} consecutive successes after ${s2.verifyAttempts} attempts`;
  if (s.config.oldKey === "keep") return finish(record(s2, at, "verify", "ok", detail), "rotated", at);
  return next(s2, at, "verify", detail, "deactivating", { loopStartedAt: at, attempts: 0 });
}

function onFailure(s: RotationState, failure: Failure, at: number, random: number): Transition {
  const failed = { ...s, lastFailure: failure };
  switch (s.phase) {
    case "reading-store":
    case "resolving-identity":
    case "listing-keys":
    case "deleting-inactive":
    case "backing-up":
      return fail(failed, at, failure);

    case "creating":
      // A lost answer (network, timeout, 5xx) may hide a key that was created: look before retrying.
      if (failure.retry !== "service") return fail(failed, at, failure);
      return next(
        { ...failed, createRequested: true },
        at,
        "create-key",
        `${failure.code}: checking whether a key was created anyway`,
        "reconciling",
        {},
        "retry",
      );

    case "installing":
      return rollback(failed, at, failure);

    case "verifying": {
      const counted = { ...failed, verifyAttempts: s.verifyAttempts + 1, consecutiveSuccesses: 0 };
      if (failure.retry !== "no" && !s.aborted) {
        const wait = retryWait(counted, at, random);
        if (wait !== undefined) return wait;
        return rollback(counted, at, {
          source: "keyup",
          code: "VerifyTimeout",
          message: `the new key ${s.newAccessKeyId} was still rejected (${failure.code}) after ${counted.verifyAttempts} attempts in ${Math.round((at - (s.loopStartedAt ?? at)) / 1000)} s (verify timeout ${s.config.verifyTimeoutMs / 1000} s)`,
          retry: "no",
        });
      }
      return rollback(counted, at, failure);
    }

    case "deactivating":
    case "deleting-old": {
      if (failure.retry !== "no" && !s.aborted) {
        const wait = retryWait(failed, at, random);
        if (wait !== undefined) return wait;
      }
      return completeWithWarning(failed, at, failure);
    }

    case "restoring":
    case "deleting-new":
    case "reconciling":
    case "deleting-orphan": {
      // Signed by a key that worked moments ago: only throttling and server trouble are worth a retry.
      if (failure.retry === "service") {
        const wait = retryWait(failed, at, random);
        if (wait !== undefined) return wait;
      }
      return rollbackFailed(failed, at, failure);
    }

    case "idle":
    case "done":
      return fail(failed, at, failure);
  }
}

function onAbort(s: RotationState, at: number): Transition {
  const failure: Failure = { source: "keyup", code: "Aborted", message: "the rotation was aborted by its caller", retry: "no" };
  switch (s.phase) {
    case "idle":
    case "reading-store":
    case "resolving-identity":
    case "listing-keys":
    case "deleting-inactive":
    case "backing-up":
      return fail({ ...s, aborted: true }, at, { ...failure, message: "the rotation was aborted before a key was created" });
    case "creating":
      // The create request may already have landed: reconcile, then stop.
      return next(
        { ...s, aborted: true, createRequested: true, failure: { ...failure, phase: s.phase } },
        at,
        "create-key",
        "aborted",
        "reconciling",
        {},
        "failed",
      );
    case "installing":
    case "verifying":
      return rollback({ ...s, aborted: true }, at, failure);
    case "deactivating":
    case "deleting-old":
      return completeWithWarning({ ...s, aborted: true }, at, failure);
    default:
      // Rollback in progress: finish it, but stop retrying.
      return { state: { ...s, aborted: true }, effects: [effectFor(s)] };
  }
}

/** Enters `phase`, recording `stepName` as done, and emits the phase's effect. */
function next(
  s: RotationState,
  at: number,
  stepName: string,
  detail: string | undefined,
  phase: Phase,
  extra: Partial<RotationState> = {},
  status: RotationStep["status"] = "ok",
): Transition {
  const entered: RotationState = { ...record(s, at, stepName, status, detail), ...extra, phase };
  const withFlags: RotationState =
    phase === "installing" ? { ...entered, installAttempted: true } : phase === "creating" ? { ...entered, createRequested: true } : entered;
  return { state: withFlags, effects: [effectFor(withFlags)] };
}

function go(s: RotationState, phase: Phase): Transition {
  const entered = { ...s, phase };
  return { state: entered, effects: [effectFor(entered)] };
}

function record(s: RotationState, at: number, step: string, status: RotationStep["status"], detail?: string): RotationState {
  const entry: RotationStep =
    detail === undefined ? { step, status, at: new Date(at).toISOString() } : { step, status, at: new Date(at).toISOString(), detail };
  return { ...s, steps: [...s.steps, entry] };
}

function retryWait(s: RotationState, at: number, random: number): Transition | undefined {
  const attempts = s.attempts + 1;
  const ms = backoffDelay(s.config, attempts, random);
  const started = s.loopStartedAt ?? at;
  if (at + ms - started > s.config.verifyTimeoutMs) return undefined;
  const detail = `${s.lastFailure?.code ?? "error"}; retry ${attempts} in ${ms} ms`;
  return { state: record({ ...s, attempts }, at, stepOf(s.phase), "retry", detail), effects: [{ type: "wait", ms }] };
}

function retryCreateOrFail(s: RotationState, at: number): Transition {
  const attempts = s.attempts + 1;
  const started = s.loopStartedAt ?? at;
  if (!s.aborted && attempts < 5 && at - started <= s.config.verifyTimeoutMs) {
    return {
      state: { ...s, attempts, phase: "creating", createRequested: true },
      effects: [{ type: "createAccessKey", userName: s.userName ?? "", signer: signerFor(s, "old") }],
    };
  }
  return finish({ ...s, failure: s.failure ?? { ...(s.lastFailure ?? abortedFailure()), phase: "creating" } }, "failed", at);
}

function abortedFailure(): Failure {
  return { source: "keyup", code: "Aborted", message: "the rotation was aborted by its caller", retry: "no" };
}

function fail(s: RotationState, at: number, failure: Failure): Transition {
  const failed = record({ ...s, failure: { ...failure, phase: s.phase } }, at, stepOf(s.phase), "failed", `${failure.code}: ${failure.message}`);
  return finish(failed, "failed", at);
}

function rollback(s: RotationState, at: number, failure: Failure): Transition {
  const failed = record({ ...s, failure: { ...failure, phase: s.phase } }, at, stepOf(s.phase), "failed", `${failure.code}: ${failure.message}`);
  if (failed.installAttempted && failed.backup) return go({ ...failed, loopStartedAt: at, attempts: 0 }, "restoring");
  if (failed.newAccessKeyId) return go({ ...failed, loopStartedAt: at, attempts: 0 }, "deleting-new");
  return finish(failed, "failed", at);
}

function completeWithWarning(s: RotationState, at: number, failure: Failure): Transition {
  const userName = s.userName ?? "";
  const old = s.oldAccessKeyId ?? "";
  const stillActive = s.phase === "deactivating";
  const warning = stillActive
    ? `the old key ${old} could not be deactivated (${failure.code}: ${failure.message}); it is still Active`
    : `the old key ${old} could not be deleted (${failure.code}: ${failure.message}); it is Inactive`;
  const manualSteps = [
    ...(stillActive ? [`aws iam update-access-key --user-name ${userName} --access-key-id ${old} --status Inactive`] : []),
    ...(s.config.oldKey === "delete" ? [`aws iam delete-access-key --user-name ${userName} --access-key-id ${old}`] : []),
  ];
  const recorded = record(
    { ...s, warnings: [...s.warnings, warning], oldKeyState: stillActive ? "active" : "inactive", manualSteps },
    at,
    stepOf(s.phase),
    "failed",
    `${failure.code}: ${failure.message}`,
  );
  return finish(recorded, "completed-with-warnings", at);
}

function rollbackFailed(s: RotationState, at: number, failure: Failure): Transition {
  const userName = s.userName ?? "";
  const leftover = s.phase === "deleting-orphan" ? s.orphanAccessKeyId : s.newAccessKeyId;
  const manualSteps: string[] = [];
  if (s.phase === "restoring") {
    manualSteps.push(
      `${s.store} may still hold the new key ${s.newAccessKeyId}, which was not verified; its previous content is kept at ${s.backup?.location ?? "(in memory)"}`,
      `if the store holds ${s.newAccessKeyId} and it works (aws sts get-caller-identity), keep it and delete the old key: aws iam delete-access-key --user-name ${userName} --access-key-id ${s.oldAccessKeyId}`,
      `otherwise put the previous content back and delete the new key: aws iam delete-access-key --user-name ${userName} --access-key-id ${s.newAccessKeyId}`,
    );
  } else if (s.phase === "reconciling") {
    manualSteps.push(
      `CreateAccessKey's answer was lost and keyup could not check for a new key: run aws iam list-access-keys --user-name ${userName} and delete any key other than ${s.oldAccessKeyId} with aws iam delete-access-key --user-name ${userName} --access-key-id KEY_ID`,
    );
  } else if (leftover) {
    manualSteps.push(`aws iam delete-access-key --user-name ${userName} --access-key-id ${leftover}`);
  }
  const failed = record(
    {
      ...s,
      failure: s.failure ?? { ...failure, phase: s.phase },
      lastFailure: failure,
      failedRollbackPhase: s.phase,
      leftoverKeyIds: leftover ? [leftover] : [],
      manualSteps,
    },
    at,
    stepOf(s.phase),
    "failed",
    `${failure.code}: ${failure.message}`,
  );
  return finish(failed, "rollback-failed", at);
}

function finish(s: RotationState, outcome: RotationOutcome, at: number): Transition {
  return { state: { ...s, phase: "done", outcome, updatedAt: at }, effects: [] };
}

function unexpected(s: RotationState, event: RotationEvent): Transition {
  const failure: Failure = { source: "keyup", code: "UnexpectedEvent", message: `keyup bug: event ${event.type} in phase ${s.phase}`, retry: "no" };
  if (s.phase === "idle" || s.phase === "done") return fail(s, event.at, failure);
  if (s.phase === "deactivating" || s.phase === "deleting-old") return completeWithWarning(s, event.at, failure);
  if (s.phase === "restoring" || s.phase === "deleting-new" || s.phase === "reconciling" || s.phase === "deleting-orphan")
    return rollbackFailed(s, event.at, failure);
  return rollback(s, event.at, failure);
}

function signerFor(s: RotationState, which: "old" | "new"): Signer {
  return s.config.iamSigner === "credentials" ? "credentials" : which;
}

const STEP_OF: Record<Phase, string> = {
  idle: "start",
  "reading-store": "read-store",
  "resolving-identity": "resolve-identity",
  "listing-keys": "list-keys",
  "deleting-inactive": "delete-inactive-key",
  "backing-up": "backup-store",
  creating: "create-key",
  installing: "install",
  verifying: "verify",
  deactivating: "deactivate-old-key",
  "deleting-old": "delete-old-key",
  restoring: "restore-store",
  "deleting-new": "delete-new-key",
  reconciling: "reconcile",
  "deleting-orphan": "delete-orphan-key",
  done: "done",
};

function stepOf(phase: Phase): string {
  return STEP_OF[phase];
}

function describeIdentity(type: string): string {
  switch (type) {
    case "root":
      return "root account";
    case "assumed-role":
      return "assumed-role (temporary)";
    case "federated-user":
      return "federated-user (temporary)";
    default:
      return "non-user";
  }
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
export function resumeState(state: RotationState, at: number): RotationState | undefined {
  const fresh = { loopStartedAt: at, attempts: 0, consecutiveSuccesses: 0, aborted: false, updatedAt: at };
  const note = (s: RotationState, detail: string) => record(s, at, "resume", "ok", detail);
  if (state.phase === "done") {
    // Only a rollback that failed is worth another attempt; anything else has ended.
    const phase = state.outcome === "rollback-failed" ? (state.failedRollbackPhase ?? state.failure?.phase) : undefined;
    const retryable = phase === "restoring" || phase === "deleting-new" || phase === "reconciling" || phase === "deleting-orphan";
    if (!retryable || !phase) return undefined;
    return note(
      { ...state, ...fresh, phase, outcome: undefined, failedRollbackPhase: undefined, leftoverKeyIds: undefined, manualSteps: undefined },
      `retrying the failed ${stepOf(phase)}`,
    );
  }
  if (!state.createRequested && !state.newAccessKeyId) return undefined;
  if (state.phase === "creating")
    return note({ ...state, ...fresh, phase: "reconciling" }, "CreateAccessKey was in flight: looking for a key it may have created");
  return note({ ...state, ...fresh }, `continuing from ${stepOf(state.phase)}`);
}
