import type { NextStep } from "../../report.js";
import { graceTagKey, type StateIn } from "../types.js";
import { again, type Entering, enter, finish, finishRetired, freshLoop, record, retireOldKey, retryWait, signerFor } from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Bookkeeping: tags and the in-use check around retiring the old key. The rotation itself has
// succeeded by then, so a failure or an abort here ends with a warning, never a rollback.

/** The phases around retiring the old key: the new key is verified by then. */
type Bookkeeping = "tagging-new" | "checking-use" | "recording-grace" | "untagging-old";

/** A state after verification, in any of its phases (bookkeeping's outcomes do not depend on which). */
type Verified = Entering<"deactivating">;

/**
 * An abort after verification: the new key works; say the old one was not retired.
 *
 * @example
 * ```ts
 * abortAfterVerify(state, "tag-new-key", at);
 * ```
 */
export function abortAfterVerify(s: Verified, step: StepName, at: number): Decision {
  const warning = `aborted before the old key ${s.oldAccessKeyId} was retired`;
  return finish(record({ ...s, aborted: true, warnings: [...s.warnings, warning] }, at, step, "failed", "aborted"), "completed-with-warnings", at);
}

/** A tag call failed: warn and carry on as if it had succeeded. */
const tagFailure =
  (step: StepName, what: string, then: (s: Verified, at: number) => Decision): PhaseSpec<Bookkeeping>["onFailure"] =>
  (s, failure, at) =>
    then(record({ ...s, warnings: [...s.warnings, `could not update ${what} (${failure.code}: ${failure.message})`] }, at, step, "failed", failure.code), at);

/** Tags the user with the new key's description (as the IAM console does). */
export const taggingNew: PhaseSpec<"tagging-new"> = {
  step: "tag-new-key",
  group: "bookkeeping",
  effect: (s) => ({
    type: "tagUser",
    userName: s.userName,
    // Entered only with a description (see onVerified).
    tags: s.config.description === undefined ? [] : [{ key: s.newAccessKeyId, value: s.config.description }],
    signer: signerFor(s, "new"),
  }),
  on: {
    userTagged: (s, e) => retireOldKey(record(s, e.at, "tag-new-key", "ok", `described ${s.newAccessKeyId} as "${s.config.description}"`), e.at),
  },
  onFailure: tagFailure("tag-new-key", "the new key's description tag", retireOldKey),
  onAbort: (s, at) => abortAfterVerify(s, "tag-new-key", at),
};

/** The in-use guard: asks IAM when the old key was last used. */
export const checkingUse: PhaseSpec<"checking-use"> = {
  step: "check-old-key-use",
  group: "bookkeeping",
  effect: (s) => ({ type: "getAccessKeyLastUsed", accessKeyId: s.oldAccessKeyId, signer: signerFor(s, "new") }),
  on: { waited: again, lastUsed: (s, e) => onLastUsed(s, e, e.at) },
  onFailure: (s, failure, at, random) => {
    const wait = failure.retry !== "no" && !s.aborted ? retryWait(s, "retire", "check-old-key-use", at, random) : undefined;
    if (wait) return wait;
    // Without knowing whether the old key is still used, keep it: safe, and the warning says why.
    const warning = `could not tell whether the old key ${s.oldAccessKeyId} is still used (${failure.code}); it was left Active: retire it by hand, or rerun without the in-use guard`;
    const kept: Verified = {
      ...s,
      warnings: [...s.warnings, warning],
      oldKeyState: "active",
      nextSteps: [deleteOld(s), { type: "skip-in-use-guard" }],
    };
    return finish(record(kept, at, "check-old-key-use", "failed", warning), "completed-with-warnings", at);
  },
  onAbort: (s, at) => abortAfterVerify(s, "check-old-key-use", at),
};

/** Tags the user with when the deactivated old key may be deleted (its grace period). */
export const recordingGrace: PhaseSpec<"recording-grace"> = {
  step: "record-grace",
  group: "bookkeeping",
  effect: (s) => ({ type: "tagUser", userName: s.userName, tags: [{ key: graceTagKey(s.oldAccessKeyId), value: graceUntil(s) }], signer: signerFor(s, "new") }),
  on: { userTagged: (s, e) => finishRetired(record(s, e.at, "record-grace", "ok", `${s.oldAccessKeyId} may be deleted after ${graceUntil(s)}`), e.at) },
  onFailure: tagFailure("record-grace", "the old key's grace-period tag", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "record-grace", at),
};

/** Removes the deleted old key's tags. */
export const untaggingOld: PhaseSpec<"untagging-old"> = {
  step: "untag-old-key",
  group: "bookkeeping",
  effect: (s) => ({ type: "untagUser", userName: s.userName, keys: [s.oldAccessKeyId, graceTagKey(s.oldAccessKeyId)], signer: signerFor(s, "new") }),
  on: { userUntagged: (s, e) => finishRetired(record(s, e.at, "untag-old-key", "ok", `removed the tags of ${s.oldAccessKeyId}`), e.at) },
  onFailure: tagFailure("untag-old-key", "the old key's tags", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "untag-old-key", at),
};

function onLastUsed(s: StateIn<"checking-use">, used: { date?: string; serviceName?: string; region?: string }, at: number): Decision {
  const { date } = used;
  const when = date ? Date.parse(date) : Number.NaN;
  // IAM reports the time of the last request made with the old key; ours stopped at install.
  if (date === undefined || !Number.isFinite(when) || when <= s.installedAt) {
    const detail = date ? `last used ${date}, before the new key was installed` : "never used";
    return enter(freshLoop(record(s, at, "check-old-key-use", "ok", detail), at, "retire"), "deactivating");
  }
  const where = [used.serviceName, used.region].filter(Boolean).join(" in ") || "an unknown service";
  const inUse = { date, ...(used.serviceName ? { serviceName: used.serviceName } : {}), ...(used.region ? { region: used.region } : {}) };
  const deactivate = s.config.oldKey === "deactivate";
  const warning = `the old key ${s.oldAccessKeyId} was used at ${used.date} (${where}) after the new key was installed: something still uses it, so it was ${
    deactivate ? "deactivated but not deleted" : "left Active"
  }; update that consumer, then retire the key (or rerun without the in-use guard)`;
  const warned = record({ ...s, oldKeyInUse: inUse, warnings: [...s.warnings, warning] }, at, "check-old-key-use", "failed", warning);
  if (deactivate) return enter(freshLoop({ ...warned, nextSteps: [{ type: "skip-in-use-guard" }] }, at, "retire"), "deactivating");
  return finish({ ...warned, oldKeyState: "active", nextSteps: [deleteOld(s), { type: "skip-in-use-guard" }] }, "completed-with-warnings", at);
}

function deleteOld(s: Verified): NextStep {
  return { type: "delete-key", userName: s.userName, accessKeyId: s.oldAccessKeyId };
}

/**
 * Until when the deactivated old key is kept: its grace period, counted from the install.
 *
 * @example
 * ```ts
 * graceUntil(state); // "2026-01-08T00:00:00.000Z"
 * ```
 */
export function graceUntil(s: Verified): string {
  // recording-grace is entered only with a grace period (see deactivating); none means "from now".
  return new Date(s.installedAt + (s.config.keepOldForMs ?? 0)).toISOString();
}
