import type { RotationOutcome, RotationStep } from "../report.js";
import { parseIdentityArn } from "./arn.js";
import {
  type Effect,
  type Failure,
  graceTagKey,
  type Phase,
  type RotationConfig,
  type RotationEvent,
  type RotationState,
  type Signer,
  type Transition,
} from "./types.js";

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

    case "deleting-inactive": {
      if (event.type !== "keyDeleted") return unexpected(s, event);
      const remaining = { ...s, keys: (s.keys ?? []).filter((k) => k.accessKeyId !== event.accessKeyId), orphanAccessKeyId: event.accessKeyId };
      const stale = tagKeysOf(s.tags, event.accessKeyId);
      return next(
        remaining,
        event.at,
        "delete-inactive-key",
        `deleted ${event.accessKeyId} (Inactive, held by no store)`,
        stale.length ? "untagging-inactive" : "backing-up",
      );
    }

    case "checking-grace":
      if (event.type !== "tagsListed") return unexpected(s, event);
      return onLimit({ ...s, tags: event.tags }, event.at);

    case "untagging-inactive":
      if (event.type !== "userUntagged") return unexpected(s, event);
      return next({ ...s, orphanAccessKeyId: undefined }, event.at, "untag-inactive-key", `removed the tags of ${s.orphanAccessKeyId}`, "backing-up");

    case "tagging-new":
      if (event.type !== "userTagged") return unexpected(s, event);
      return afterTagging(record(s, event.at, "tag-new-key", "ok", `described ${s.newAccessKeyId} as "${s.config.description}"`), event.at);

    case "checking-use":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "lastUsed") return unexpected(s, event);
      return onLastUsed(s, event, event.at);

    case "recording-grace":
      if (event.type !== "userTagged") return unexpected(s, event);
      return finishRetired(record(s, event.at, "record-grace", "ok", `${s.oldAccessKeyId} may be deleted after ${graceUntil(s)}`), event.at);

    case "untagging-old":
      if (event.type !== "userUntagged") return unexpected(s, event);
      return finishRetired(record(s, event.at, "untag-old-key", "ok", `removed the tags of ${s.oldAccessKeyId}`), event.at);

    case "backing-up":
      if (event.type !== "storeBackedUp") return unexpected(s, event);
      return next({ ...s, backup: event.backup }, event.at, "backup-store", event.backup.location, "creating", { loopStartedAt: event.at, attempts: 0 });

    case "creating":
      if (event.type !== "keyCreated") return unexpected(s, event);
      return next({ ...s, newAccessKeyId: event.accessKeyId }, event.at, "create-key", `created ${event.accessKeyId}`, "installing");

    case "installing":
      if (event.type !== "installed") return unexpected(s, event);
      return next({ ...s, installedAt: event.at }, event.at, "install", `${s.store} now holds ${s.newAccessKeyId}`, "verifying", {
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
      if (s.config.oldKey === "delete" && !s.oldKeyInUse) {
        return next({ ...s, oldKeyState: "inactive" }, event.at, "deactivate-old-key", `${s.oldAccessKeyId} is Inactive`, "deleting-old", {
          loopStartedAt: event.at,
          attempts: 0,
        });
      }
      {
        const deactivated = record({ ...s, oldKeyState: "inactive" }, event.at, "deactivate-old-key", "ok", `${s.oldAccessKeyId} is Inactive`);
        return s.config.gracePeriodMs !== undefined && !s.oldKeyInUse ? go(deactivated, "recording-grace") : finishRetired(deactivated, event.at);
      }

    case "deleting-old":
      if (event.type === "waited") return { state: s, effects: [effectFor(s)] };
      if (event.type !== "keyDeleted") return unexpected(s, event);
      {
        const deleted = record({ ...s, oldKeyState: "deleted" }, event.at, "delete-old-key", "ok", `deleted ${s.oldAccessKeyId}`);
        return s.config.description !== undefined ? go(deleted, "untagging-old") : finishRetired(deleted, event.at);
      }

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
    case "checking-grace":
      return { type: "listUserTags", userName, signer: signerFor(state, "old") };
    case "untagging-inactive":
      return { type: "untagUser", userName, keys: tagKeysOf(state.tags, state.orphanAccessKeyId ?? ""), signer: signerFor(state, "old") };
    case "tagging-new":
      return { type: "tagUser", userName, tags: [{ key: state.newAccessKeyId ?? "", value: state.config.description ?? "" }], signer: signerFor(state, "new") };
    case "checking-use":
      return { type: "getAccessKeyLastUsed", accessKeyId: state.oldAccessKeyId ?? "", signer: signerFor(state, "new") };
    case "recording-grace":
      return { type: "tagUser", userName, tags: [{ key: graceTagKey(state.oldAccessKeyId ?? ""), value: graceUntil(state) }], signer: signerFor(state, "new") };
    case "untagging-old":
      return {
        type: "untagUser",
        userName,
        keys: [state.oldAccessKeyId ?? "", graceTagKey(state.oldAccessKeyId ?? "")],
        signer: signerFor(state, "new"),
      };
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
  const created = held.createDate ? Date.parse(held.createDate) : Number.NaN;
  if (s.config.minAgeMs !== undefined && Number.isFinite(created) && at - created < s.config.minAgeMs) {
    const detail = `${held.accessKeyId} is ${formatDuration(at - created)} old, younger than ${formatDuration(s.config.minAgeMs)}: nothing to do`;
    return finish(record(s2, at, "list-keys", "skipped", detail), "skipped", at);
  }
  if (keys.length < 2) return next(s2, at, "list-keys", described, "backing-up");

  const other = keys.find((k) => k.accessKeyId !== s.oldAccessKeyId);
  // An Inactive other key may be one keyup deactivated with a grace period: look at the user's tags.
  if (keys.length === 2 && other?.status === "Inactive") return next(s2, at, "list-keys", described, "checking-grace");
  return onLimit(s2, at);
}

/** At IAM's 2-key limit, after the user's tags were read when the other key is Inactive. */
function onLimit(s2: RotationState, at: number): Transition {
  const keys = s2.keys ?? [];
  const userName = s2.userName ?? "";
  const described = keys.map((k) => `${k.accessKeyId} ${k.status}`).join(", ");
  const other = keys.find((k) => k.accessKeyId !== s2.oldAccessKeyId);
  const grace = other ? s2.tags?.[graceTagKey(other.accessKeyId)] : undefined;
  if (other?.status === "Inactive" && grace !== undefined) {
    const until = Date.parse(grace);
    if (Number.isFinite(until) && at >= until) return next(s2, at, "check-grace", `${other.accessKeyId}'s grace period ended ${grace}`, "deleting-inactive");
    return fail(s2, at, {
      source: "keyup",
      code: "TwoKeys",
      message: `IAM user ${userName} already has 2 access keys (${described}); the Inactive ${other.accessKeyId} is kept until ${grace} (its grace period), so nothing was created: run keyup cleanup after that, or delete it by hand`,
      retry: "no",
    });
  }
  if (s2.config.onLimit === "delete-inactive" && keys.length === 2 && other?.status === "Inactive") {
    return next(s2, at, "check-grace", `${other.accessKeyId} is Inactive`, "deleting-inactive");
  }
  const why =
    s2.config.onLimit === "delete-inactive"
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
  const verified = record(s2, at, "verify", "ok", detail);
  if (s.config.description !== undefined) return go(verified, "tagging-new");
  return afterTagging(verified, at);
}

/** After verification (and the description tag): keep, check use, or retire the old key. */
function afterTagging(s: RotationState, at: number): Transition {
  if (s.config.oldKey === "keep") return finish(s, "rotated", at);
  if (s.config.inUseGuard) return go({ ...s, loopStartedAt: at, attempts: 0 }, "checking-use");
  return go({ ...s, loopStartedAt: at, attempts: 0 }, "deactivating");
}

function onLastUsed(s: RotationState, used: { date?: string; serviceName?: string; region?: string }, at: number): Transition {
  const when = used.date ? Date.parse(used.date) : Number.NaN;
  // IAM reports the time of the last request made with the old key; ours stopped at install.
  if (!Number.isFinite(when) || s.installedAt === undefined || when <= s.installedAt) {
    return next(s, at, "check-old-key-use", used.date ? `last used ${used.date}, before the new key was installed` : "never used", "deactivating", {
      loopStartedAt: at,
      attempts: 0,
    });
  }
  const where = [used.serviceName, used.region].filter(Boolean).join(" in ") || "an unknown service";
  const inUse = { date: used.date ?? "", ...(used.serviceName ? { serviceName: used.serviceName } : {}), ...(used.region ? { region: used.region } : {}) };
  const deactivate = s.config.oldKey === "deactivate";
  const warning = `the old key ${s.oldAccessKeyId} was used at ${used.date} (${where}) after the new key was installed: something still uses it, so it was ${
    deactivate ? "deactivated but not deleted" : "left Active"
  }; update that consumer, then retire the key (or rerun with --force)`;
  const warned = record({ ...s, oldKeyInUse: inUse, warnings: [...s.warnings, warning] }, at, "check-old-key-use", "failed", warning);
  if (deactivate) return go({ ...warned, loopStartedAt: at, attempts: 0 }, "deactivating");
  return finish(
    { ...warned, oldKeyState: "active", manualSteps: [`aws iam delete-access-key --user-name ${s.userName} --access-key-id ${s.oldAccessKeyId}`] },
    "completed-with-warnings",
    at,
  );
}

/** The old key is retired as far as asked: rotated, or completed with warnings if something went amiss. */
function finishRetired(s: RotationState, at: number): Transition {
  return finish(s, s.warnings.length > 0 ? "completed-with-warnings" : "rotated", at);
}

function graceUntil(s: RotationState): string {
  const base = s.installedAt ?? s.updatedAt ?? 0;
  return new Date(base + (s.config.gracePeriodMs ?? 0)).toISOString();
}

/** The user tags keyup keeps for a key: its description and its grace period. */
function tagKeysOf(tags: Readonly<Record<string, string>> | undefined, accessKeyId: string): string[] {
  return [accessKeyId, graceTagKey(accessKeyId)].filter((k) => tags?.[k] !== undefined);
}

function formatDuration(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 48 ? `${Math.floor(hours / 24)}d` : hours >= 1 ? `${hours}h` : `${Math.max(0, Math.round(ms / 60_000))}m`;
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

    case "checking-grace":
      // Tags only add grace periods to the picture; without them the plain 2-key rules apply.
      return onLimit(record({ ...failed, tags: {} }, at, "check-grace", "failed", `${failure.code}: cannot read the user's tags`), at);
    case "untagging-inactive":
      return next(
        {
          ...failed,
          orphanAccessKeyId: undefined,
          warnings: [...s.warnings, `could not remove the tags of the deleted key ${s.orphanAccessKeyId} (${failure.code})`],
        },
        at,
        "untag-inactive-key",
        failure.code,
        "backing-up",
        {},
        "failed",
      );

    case "checking-use": {
      if (failure.retry !== "no" && !s.aborted) {
        const wait = retryWait(failed, at, random);
        if (wait !== undefined) return wait;
      }
      // Without knowing whether the old key is still used, keep it: safe, and the warning says why.
      const warning = `could not tell whether the old key ${s.oldAccessKeyId} is still used (${failure.code}); it was left Active: retire it by hand, or rerun with --force`;
      return finish(
        record(
          {
            ...failed,
            warnings: [...s.warnings, warning],
            oldKeyState: "active",
            manualSteps: [`aws iam delete-access-key --user-name ${s.userName} --access-key-id ${s.oldAccessKeyId}`],
          },
          at,
          "check-old-key-use",
          "failed",
          warning,
        ),
        "completed-with-warnings",
        at,
      );
    }

    case "tagging-new":
    case "recording-grace":
    case "untagging-old": {
      // Tags are bookkeeping: the rotation itself has succeeded, so a failure here is a warning.
      const what =
        s.phase === "tagging-new" ? "the new key's description tag" : s.phase === "recording-grace" ? "the old key's grace-period tag" : "the old key's tags";
      const warned = record(
        { ...failed, warnings: [...s.warnings, `could not update ${what} (${failure.code}: ${failure.message})`] },
        at,
        stepOf(s.phase),
        "failed",
        failure.code,
      );
      return s.phase === "tagging-new" ? afterTagging(warned, at) : finishRetired(warned, at);
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
    case "checking-grace":
    case "untagging-inactive":
      return fail({ ...s, aborted: true }, at, { ...failure, message: "the rotation was aborted before a key was created" });
    case "deactivating":
    case "deleting-old":
      return completeWithWarning({ ...s, aborted: true }, at, failure);
    case "tagging-new":
    case "checking-use":
    case "recording-grace":
    case "untagging-old":
      return finish(
        record(
          { ...s, aborted: true, warnings: [...s.warnings, `aborted before the old key ${s.oldAccessKeyId} was retired`] },
          at,
          stepOf(s.phase),
          "failed",
          "aborted",
        ),
        "completed-with-warnings",
        at,
      );
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
  if (s.phase === "tagging-new" || s.phase === "checking-use" || s.phase === "recording-grace" || s.phase === "untagging-old") {
    return finish(
      record({ ...s, warnings: [...s.warnings, failure.message] }, event.at, stepOf(s.phase), "failed", failure.message),
      "completed-with-warnings",
      event.at,
    );
  }
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
  "checking-grace": "check-grace",
  "untagging-inactive": "untag-inactive-key",
  "tagging-new": "tag-new-key",
  "checking-use": "check-old-key-use",
  "recording-grace": "record-grace",
  "untagging-old": "untag-old-key",
  done: "done",
};

/** The name of the step a phase runs: the one name the spinner and the finished line both show. */
export function stepOf(phase: Phase): string {
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
