import type { NextStep } from "../../report.js";
import { graceTagKey, type RotationConfig } from "../types.js";
import {
  abortedFailure,
  advance,
  again,
  type Entering,
  enter,
  fail,
  finish,
  finishRetired,
  freshLoop,
  record,
  retireOldKey,
  retryWait,
  signerFor,
} from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Bookkeeping: tags around retiring the old key, and the in-use check before anything is created. The
// rotation itself has succeeded by the time a tag is written, so a failure or an abort there ends with
// a warning, never a rollback.

/** The tag phases around retiring the old key: the new key is verified by then. */
type Bookkeeping = "tagging-new" | "recording-grace" | "untagging-old";

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

/**
 * A tag call failed: retry while it may help (IAM throttles per account, and a tag call signed by the
 * new key can meet IAM's propagation lag), then warn and carry on as if it had succeeded.
 */
const tagFailure =
  (step: StepName, what: string, then: (s: Verified, at: number) => Decision): PhaseSpec<Bookkeeping>["onFailure"] =>
  (s, failure, at, random) =>
    (failure.retry !== "no" && !s.aborted ? retryWait(s, "retire", step, at, random) : undefined) ??
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
    waited: again,
    userTagged: (s, e) => retireOldKey(record(s, e.at, "tag-new-key", "ok", `described ${s.newAccessKeyId} as "${s.config.description}"`), e.at),
  },
  onFailure: tagFailure("tag-new-key", "the new key's description tag", retireOldKey),
  onAbort: (s, at) => abortAfterVerify(s, "tag-new-key", at),
};

/**
 * The in-use guard: asks IAM when the old key was last used, before keyup's first call with it. IAM
 * records only the first use of a key in each 15-minute span, and late; any check after keyup's own
 * calls would see keyup, not a consumer. A use recorded before keyup started is someone else's.
 * (A journal written before the check moved here may stop in it after verification, holding the new
 * key: that one finishes the check as it was then, see {@link onLastUsedAfterInstall}.)
 */
export const checkingUse: PhaseSpec<"checking-use"> = {
  step: "check-old-key-use",
  group: "inspect",
  effect: (s) => ({ type: "getAccessKeyLastUsed", accessKeyId: s.oldAccessKeyId, signer: signerFor(s, s.newAccessKeyId === undefined ? "old" : "new") }),
  on: { waited: again, lastUsed: (s, e) => (s.newAccessKeyId === undefined ? onLastUsed(s, e, e.at) : onLastUsedAfterInstall(s, e, e.at)) },
  onFailure: (s, failure, at, random) => {
    if (s.newAccessKeyId !== undefined) return afterInstallFailure(s, failure.code, at, random, failure.retry !== "no");
    // The old key signs this call and IAM knows it: AccessDenied is a missing permission, which
    // waiting does not grant (unlike a new key's propagation), so it stops at once.
    const denied = failure.code === "AccessDenied" || failure.code === "AccessDeniedException";
    const wait = failure.retry !== "no" && !denied && !s.aborted ? retryWait(s, "create", "check-old-key-use", at, random) : undefined;
    if (wait) return wait;
    // Nothing exists yet: stopping is safe, and retiring a key whose use is unknown is not.
    return fail({ ...s, nextSteps: [{ type: "skip-in-use-guard" }] }, "check-old-key-use", at, {
      ...failure,
      message: `could not read when the old key ${s.oldAccessKeyId} was last used (${failure.message}); nothing was created: allow iam:GetAccessKeyLastUsed, or rotate without the in-use guard`,
    });
  },
  onAbort: (s, at) =>
    s.newAccessKeyId !== undefined
      ? abortAfterVerify(s, "check-old-key-use", at)
      : fail({ ...s, aborted: true }, "check-old-key-use", at, abortedFailure("the rotation was aborted before a key was created")),
};

/** Tags the user with when the deactivated old key may be deleted (its grace period). */
export const recordingGrace: PhaseSpec<"recording-grace"> = {
  step: "record-grace",
  group: "bookkeeping",
  effect: (s) => ({ type: "tagUser", userName: s.userName, tags: [{ key: graceTagKey(s.oldAccessKeyId), value: graceUntil(s) }], signer: signerFor(s, "new") }),
  on: {
    waited: again,
    userTagged: (s, e) => {
      if (!s.oldKeyInUse) return finishRetired(record(s, e.at, "record-grace", "ok", `${s.oldAccessKeyId} may be deleted after ${graceUntil(s)}`), e.at);
      const detail = `${s.oldAccessKeyId} stays Active until ${graceUntil(s)}; cleanup deletes it then unless a later use is recorded`;
      const held = {
        ...s,
        oldKeyState: "active" as const,
        nextSteps: [{ type: "cleanup-after", accessKeyId: s.oldAccessKeyId, after: graceUntil(s) } as const],
      };
      return finishRetired(record(held, e.at, "record-grace", "ok", detail), e.at);
    },
  },
  onFailure: tagFailure("record-grace", "the old key's grace-period tag", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "record-grace", at),
};

/** Removes the deleted old key's tags. */
export const untaggingOld: PhaseSpec<"untagging-old"> = {
  step: "untag-old-key",
  group: "bookkeeping",
  effect: (s) => ({ type: "untagUser", userName: s.userName, keys: [s.oldAccessKeyId, graceTagKey(s.oldAccessKeyId)], signer: signerFor(s, "new") }),
  on: {
    waited: again,
    userUntagged: (s, e) => finishRetired(record(s, e.at, "untag-old-key", "ok", `removed the tags of ${s.oldAccessKeyId}`), e.at),
  },
  onFailure: tagFailure("untag-old-key", "the old key's tags", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "untag-old-key", at),
};

/** The in-use check before anything is created (its stage is resolving-identity's): a recent use by someone else holds the old key Active after the rotation. */
function onLastUsed(s: Entering<"resolving-identity">, used: { date?: string; serviceName?: string; region?: string }, at: number): Decision {
  const { date } = used;
  const when = date ? Date.parse(date) : Number.NaN;
  // A use within the hold before now means a consumer may hold this key and use it again soon. AWS's
  // LastUsedDate against the machine's clock: minutes of skew do not matter against an hour.
  // This read is itself a use of the old key (an emulator records it at once, AWS late): a use from the
  // moment it was sent (a second of margin between clocks), or since the caller's own listing, is ours.
  const ownSince = Math.min(s.config.ownUseSinceMs ?? Number.POSITIVE_INFINITY, (s.loopStartedAt ?? at) - 1_000);
  const recent = date !== undefined && Number.isFinite(when) && at - when <= inUseHoldMs(s.config) && when < ownSince;
  const where = [used.serviceName, used.region].filter(Boolean).join(" in ") || "an unknown service";
  const detail =
    date === undefined
      ? "never used"
      : recent
        ? `last used ${date} (${where}): kept Active for ${Math.round(inUseHoldMs(s.config) / 60_000)} min after the new key works, until cleanup sees no later use`
        : at - when > inUseHoldMs(s.config)
          ? `last used ${date}: not recently, so it is retired once the new key works`
          : `last used ${date}, by this run's own calls`;
  const checked = recent
    ? { ...s, oldKeyInUse: { date, ...(used.serviceName ? { serviceName: used.serviceName } : {}), ...(used.region ? { region: used.region } : {}) } }
    : s;
  const move = { at, step: "check-old-key-use", detail } as const;
  const { userName } = s.config;
  if (userName === undefined) return advance(checked, { ...move, to: "resolving-identity" });
  return advance({ ...checked, userName }, { ...move, to: "listing-keys" });
}

/**
 * A journal from before the in-use check moved ahead of creation, stopped in the check after
 * verification: finish it as that version did. IAM reports the last request made with the old key;
 * keyup's stopped at install, so a later one is a consumer's.
 */
function onLastUsedAfterInstall(s: Verified, used: { date?: string; serviceName?: string; region?: string }, at: number): Decision {
  const { date } = used;
  const when = date ? Date.parse(date) : Number.NaN;
  if (date === undefined || !Number.isFinite(when) || when <= s.installedAt) {
    const detail = date ? `last used ${date}, before the new key was installed` : "never used";
    return enter(freshLoop(record(s, at, "check-old-key-use", "ok", detail), at, "retire"), "deactivating");
  }
  const where = [used.serviceName, used.region].filter(Boolean).join(" in ") || "an unknown service";
  const inUse = { date, ...(used.serviceName ? { serviceName: used.serviceName } : {}), ...(used.region ? { region: used.region } : {}) };
  const deactivate = s.config.oldKey === "deactivate";
  const warning = `the old key ${s.oldAccessKeyId} was used at ${date} (${where}) after the new key was installed: something still uses it, so it was ${
    deactivate ? "deactivated but not deleted" : "left Active"
  }; update that consumer, then retire the key (or rerun without the in-use guard)`;
  const warned = record({ ...s, oldKeyInUse: inUse, warnings: [...s.warnings, warning] }, at, "check-old-key-use", "failed", warning);
  if (deactivate) return enter(freshLoop({ ...warned, nextSteps: [{ type: "skip-in-use-guard" }] }, at, "retire"), "deactivating");
  return finish({ ...warned, oldKeyState: "active", nextSteps: [deleteOld(s), { type: "skip-in-use-guard" }] }, "completed-with-warnings", at);
}

/** The after-install check failed: retry while it may help; else keep the old key (safe), and say why. */
function afterInstallFailure(s: Verified, code: string, at: number, random: number, retriable: boolean): Decision {
  const wait = retriable && !s.aborted ? retryWait({ ...s, phase: "checking-use" as const }, "retire", "check-old-key-use", at, random) : undefined;
  if (wait) return wait;
  const warning = `could not tell whether the old key ${s.oldAccessKeyId} is still used (${code}); it was left Active: retire it by hand, or rerun without the in-use guard`;
  const kept = { ...s, warnings: [...s.warnings, warning], oldKeyState: "active" as const, nextSteps: [deleteOld(s), { type: "skip-in-use-guard" } as const] };
  return finish(record(kept, at, "check-old-key-use", "failed", warning), "completed-with-warnings", at);
}

function deleteOld(s: Verified): NextStep {
  return { type: "delete-key", userName: s.userName, accessKeyId: s.oldAccessKeyId };
}

/**
 * How long the in-use guard keeps a recently used old key Active after the rotation (and how far back
 * a use counts as recent): `keepOldForMs`, else an hour, and never less than 35 minutes, so that a
 * consumer that keeps using the key has a use recorded after the new key's creation + 15 minutes
 * (two 15-minute recording windows and a few minutes of lag) before `cleanup()` looks.
 *
 * @example
 * ```ts
 * inUseHoldMs(defaultRotationConfig); // 3_600_000
 * ```
 */
export function inUseHoldMs(config: RotationConfig): number {
  return Math.max(config.keepOldForMs ?? 60 * 60_000, 35 * 60_000);
}

/**
 * When the old key's grace period (or the in-use guard's hold) ends: the install time plus the hold,
 * as ISO-8601.
 *
 * @example
 * ```ts
 * graceUntil(state); // "2026-01-08T00:00:00.000Z"
 * ```
 */
export function graceUntil(s: Verified): string {
  // recording-grace is entered only with a grace period (see deactivating) or a recent use (see retireOldKey).
  return new Date(s.installedAt + (s.oldKeyInUse ? inUseHoldMs(s.config) : (s.config.keepOldForMs ?? 0))).toISOString();
}
