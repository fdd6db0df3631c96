import { graceTagKey, type RotationConfig, type RotationState } from "../types.js";
import { abortedFailure, advance, again, fail, finish, finishRetired, record, retireOldKey, retryWait, signerFor } from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Bookkeeping: tags and the in-use check around retiring the old key. The rotation itself has
// succeeded by then, so a failure or an abort here ends with a warning, never a rollback.

const userOf = (s: RotationState): string => s.userName ?? s.config.userName ?? "";

/**
 * An abort after verification: the new key works; say the old one was not retired.
 *
 * @example
 * ```ts
 * abortAfterVerify(state, "tag-new-key", at);
 * ```
 */
export function abortAfterVerify(s: RotationState, step: StepName, at: number): Decision {
  const warning = `aborted before the old key ${s.oldAccessKeyId} was retired`;
  return finish(record({ ...s, aborted: true, warnings: [...s.warnings, warning] }, at, step, "failed", "aborted"), "completed-with-warnings", at);
}

/**
 * A tag call failed: retry while it may help (IAM throttles per account, and a tag call signed by the
 * new key can meet IAM's propagation lag), then warn and carry on as if it had succeeded.
 */
const tagFailure =
  (step: StepName, what: string, then: (s: RotationState, at: number) => Decision): PhaseSpec["onFailure"] =>
  (s, failure, at, random) =>
    (failure.retry !== "no" && !s.aborted ? retryWait(s, "retire", step, at, random) : undefined) ??
    then(record({ ...s, warnings: [...s.warnings, `could not update ${what} (${failure.code}: ${failure.message})`] }, at, step, "failed", failure.code), at);

/** Tags the user with the new key's description (as the IAM console does). */
export const taggingNew: PhaseSpec = {
  step: "tag-new-key",
  group: "bookkeeping",
  effect: (s) => ({
    type: "tagUser",
    userName: userOf(s),
    tags: [{ key: s.newAccessKeyId ?? "", value: s.config.description ?? "" }],
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
 */
export const checkingUse: PhaseSpec = {
  step: "check-old-key-use",
  group: "inspect",
  effect: (s) => ({ type: "getAccessKeyLastUsed", accessKeyId: s.oldAccessKeyId ?? "", signer: signerFor(s, "old") }),
  on: { waited: again, lastUsed: (s, e) => onLastUsed(s, e, e.at) },
  onFailure: (s, failure, at, random) => {
    const wait = failure.retry !== "no" && !s.aborted ? retryWait(s, "create", "check-old-key-use", at, random) : undefined;
    if (wait) return wait;
    // Nothing exists yet: stopping is safe, and retiring a key whose use is unknown is not.
    return fail({ ...s, nextSteps: [{ type: "skip-in-use-guard" }] }, "check-old-key-use", at, {
      ...failure,
      message: `could not read when the old key ${s.oldAccessKeyId} was last used (${failure.message}); nothing was created: allow iam:GetAccessKeyLastUsed, or rotate without the in-use guard`,
    });
  },
  onAbort: (s, at) => fail({ ...s, aborted: true }, "check-old-key-use", at, abortedFailure("the rotation was aborted before a key was created")),
};

/** Tags the user with when the deactivated old key may be deleted (its grace period). */
export const recordingGrace: PhaseSpec = {
  step: "record-grace",
  group: "bookkeeping",
  effect: (s) => ({
    type: "tagUser",
    userName: userOf(s),
    tags: [{ key: graceTagKey(s.oldAccessKeyId ?? ""), value: graceUntil(s) }],
    signer: signerFor(s, "new"),
  }),
  on: {
    waited: again,
    userTagged: (s, e) => {
      if (!s.oldKeyInUse) return finishRetired(record(s, e.at, "record-grace", "ok", `${s.oldAccessKeyId} may be deleted after ${graceUntil(s)}`), e.at);
      const detail = `${s.oldAccessKeyId} stays Active until ${graceUntil(s)}; cleanup deletes it then unless a later use is recorded`;
      const held: RotationState = {
        ...s,
        oldKeyState: "active",
        nextSteps: [{ type: "cleanup-after", accessKeyId: s.oldAccessKeyId ?? "", after: graceUntil(s) }],
      };
      return finishRetired(record(held, e.at, "record-grace", "ok", detail), e.at);
    },
  },
  onFailure: tagFailure("record-grace", "the old key's grace-period tag", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "record-grace", at),
};

/** Removes the deleted old key's tags. */
export const untaggingOld: PhaseSpec = {
  step: "untag-old-key",
  group: "bookkeeping",
  effect: (s) => ({
    type: "untagUser",
    userName: userOf(s),
    keys: [s.oldAccessKeyId ?? "", graceTagKey(s.oldAccessKeyId ?? "")],
    signer: signerFor(s, "new"),
  }),
  on: {
    waited: again,
    userUntagged: (s, e) => finishRetired(record(s, e.at, "untag-old-key", "ok", `removed the tags of ${s.oldAccessKeyId}`), e.at),
  },
  onFailure: tagFailure("untag-old-key", "the old key's tags", finishRetired),
  onAbort: (s, at) => abortAfterVerify(s, "untag-old-key", at),
};

function onLastUsed(s: RotationState, used: { date?: string; serviceName?: string; region?: string }, at: number): Decision {
  const when = used.date ? Date.parse(used.date) : Number.NaN;
  const next = s.config.userName === undefined ? "resolving-identity" : "listing-keys";
  // A use within the hold before now means a consumer may hold this key and use it again soon. AWS's
  // LastUsedDate against the machine's clock: minutes of skew do not matter against an hour.
  // This read is itself a use of the old key (an emulator records it at once, AWS late): a use from the
  // moment it was sent (a second of margin between clocks), or since the caller's own listing, is ours.
  const ownSince = Math.min(s.config.ownUseSinceMs ?? Number.POSITIVE_INFINITY, (s.loopStartedAt ?? at) - 1_000);
  if (!Number.isFinite(when) || at - when > inUseHoldMs(s.config) || when >= ownSince) {
    const detail = !used.date
      ? "never used"
      : at - when > inUseHoldMs(s.config)
        ? `last used ${used.date}: not recently, so it is retired once the new key works`
        : `last used ${used.date}, by this run's own calls`;
    return advance(s, { at, step: "check-old-key-use", detail, to: next });
  }
  const where = [used.serviceName, used.region].filter(Boolean).join(" in ") || "an unknown service";
  const inUse = { date: used.date ?? "", ...(used.serviceName ? { serviceName: used.serviceName } : {}), ...(used.region ? { region: used.region } : {}) };
  const detail = `last used ${used.date} (${where}): kept Active for ${Math.round(inUseHoldMs(s.config) / 60_000)} min after the new key works, until cleanup sees no later use`;
  return advance({ ...s, oldKeyInUse: inUse }, { at, step: "check-old-key-use", detail, to: next });
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
 * Until when the deactivated old key is kept: its grace period, counted from the install.
 *
 * @example
 * ```ts
 * graceUntil(state); // "2026-01-08T00:00:00.000Z"
 * ```
 */
export function graceUntil(s: RotationState): string {
  const base = s.installedAt ?? s.updatedAt ?? 0;
  return new Date(base + (s.oldKeyInUse ? inUseHoldMs(s.config) : (s.config.keepOldForMs ?? 0))).toISOString();
}
