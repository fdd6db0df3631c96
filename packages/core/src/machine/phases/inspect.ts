import type { NextStep } from "../../report.js";
import { parseIdentityArn } from "../arn.js";
import { graceTagKey } from "../types.js";
import { type Advance, abortedFailure, advance, type Entering, enter, fail, finish, record, signerFor, tagKeysOf } from "./moves.js";
import type { Decision, PhaseSpec, StepName } from "./spec.js";

// Inspect: read the store and IAM before anything is created. A failure or an abort here ends the
// rotation `failed` with nothing changed.

const beforeCreate = (step: StepName): Pick<PhaseSpec, "onFailure" | "onAbort"> => ({
  onFailure: (s, failure, at) => fail(s, step, at, failure),
  onAbort: (s, at) => fail({ ...s, aborted: true }, step, at, abortedFailure("the rotation was aborted before a key was created")),
});

/** The state once the user's keys were listed: what the 2-key rules decide on. */
type Listed = Entering<"checking-grace">;
/** A listed state in the phase that applies the 2-key rules (a failure names that phase). */
type AtLimit = Listed & { readonly phase: "listing-keys" | "checking-grace" };

/** Before the `start` event. */
export const idle: PhaseSpec<"idle"> = {
  step: "start",
  group: "inspect",
  effect: () => {
    throw new Error("keyup bug: no effect for phase idle");
  },
  on: { start: (s, e) => enter({ ...s, startedAt: e.at }, "reading-store") },
  ...beforeCreate("start"),
};

/** Reads the key the store holds. */
export const readingStore: PhaseSpec<"reading-store"> = {
  step: "read-store",
  group: "inspect",
  effect: () => ({ type: "readStore" }),
  on: {
    storeRead: (s, e) => {
      if (e.accessKeyId === undefined) {
        return fail(s, "read-store", e.at, {
          source: "keyup",
          code: "NoKeyInStore",
          message: `${s.store} holds no access key: there is nothing to rotate`,
          retry: "no",
        });
      }
      const read = { at: e.at, step: "read-store", detail: `holds ${e.accessKeyId}` } as const;
      const old = { ...s, oldAccessKeyId: e.accessKeyId };
      // The in-use guard reads the old key's last use before any other call signed by it.
      if (s.config.inUseGuard) return advance(old, { ...read, to: "checking-use", freshLoop: "create" });
      const { userName } = s.config;
      if (userName === undefined) return advance(old, { ...read, to: "resolving-identity" });
      return advance({ ...old, userName }, { ...read, to: "listing-keys" });
    },
  },
  ...beforeCreate("read-store"),
};

/** Asks STS whose key the store holds (when no userName was given). */
export const resolvingIdentity: PhaseSpec<"resolving-identity"> = {
  step: "resolve-identity",
  group: "inspect",
  effect: () => ({ type: "getCallerIdentity", signer: "old" }),
  on: {
    identityResolved: (s, e) => {
      const identity = parseIdentityArn(e.arn);
      if (identity.type !== "user") {
        return fail(s, "resolve-identity", e.at, {
          source: "keyup",
          code: "IdentityNotUser",
          message: `${s.store} holds ${describeIdentity(identity.type)} credentials (${e.arn}); keyup rotates IAM user access keys only — put an IAM user's key in the store, or pass userName with admin credentials`,
          retry: "no",
        });
      }
      return advance({ ...s, userName: identity.name, userArn: e.arn }, { at: e.at, step: "resolve-identity", detail: e.arn, to: "listing-keys" });
    },
  },
  ...beforeCreate("resolve-identity"),
};

/** Lists the user's keys: the store's must be one of them; at IAM's 2-key limit, decide what to do. */
export const listingKeys: PhaseSpec<"listing-keys"> = {
  step: "list-keys",
  group: "inspect",
  effect: (s) => ({ type: "listAccessKeys", userName: s.userName, signer: signerFor(s, "old") }),
  on: { keysListed: (s, e) => onKeysListed({ ...s, keys: e.keys }, e.at) },
  ...beforeCreate("list-keys"),
};

/** At the limit with an Inactive other key: reads the user's tags for that key's grace period. */
export const checkingGrace: PhaseSpec<"checking-grace"> = {
  step: "check-grace",
  group: "inspect",
  effect: (s) => ({ type: "listUserTags", userName: s.userName, signer: signerFor(s, "old") }),
  on: { tagsListed: (s, e) => onLimit({ ...s, tags: e.tags }, "check-grace", e.at) },
  // Tags only add grace periods to the picture; without them the plain 2-key rules apply.
  onFailure: (s, failure, at) =>
    onLimit(record({ ...s, tags: {} }, at, "check-grace", "failed", `${failure.code}: cannot read the user's tags`), "check-grace", at),
  onAbort: beforeCreate("check-grace").onAbort,
};

/** Deletes the Inactive other key at the limit (allowed, or its grace period is over). */
export const deletingInactive: PhaseSpec<"deleting-inactive"> = {
  step: "delete-inactive-key",
  group: "inspect",
  effect: (s) => ({ type: "deleteAccessKey", userName: s.userName, accessKeyId: s.orphanAccessKeyId, signer: signerFor(s, "old") }),
  on: {
    keyDeleted: (s, e) => {
      const remaining = { ...s, keys: s.keys.filter((k) => k.accessKeyId !== e.accessKeyId) };
      const deleted = { at: e.at, step: "delete-inactive-key", detail: `deleted ${e.accessKeyId} (Inactive, held by no store)` } as const;
      // Its tags (description, grace period) go too; the key id stays known until they are removed.
      if (tagKeysOf(s.tags, e.accessKeyId).length) return advance({ ...remaining, orphanAccessKeyId: e.accessKeyId }, { ...deleted, to: "untagging-inactive" });
      return advance({ ...remaining, orphanAccessKeyId: undefined }, { ...deleted, to: "backing-up" });
    },
  },
  ...beforeCreate("delete-inactive-key"),
};

/** Removes the deleted key's tags (description, grace period). */
export const untaggingInactive: PhaseSpec<"untagging-inactive"> = {
  step: "untag-inactive-key",
  group: "inspect",
  effect: (s) => ({ type: "untagUser", userName: s.userName, keys: tagKeysOf(s.tags, s.orphanAccessKeyId), signer: signerFor(s, "old") }),
  on: {
    userUntagged: (s, e) =>
      advance(
        { ...s, orphanAccessKeyId: undefined },
        { at: e.at, step: "untag-inactive-key", detail: `removed the tags of ${s.orphanAccessKeyId}`, to: "backing-up" },
      ),
  },
  // Stale tags of a deleted key harm nothing: warn and go on.
  onFailure: (s, failure, at) =>
    advance(
      {
        ...s,
        orphanAccessKeyId: undefined,
        warnings: [...s.warnings, `could not remove the tags of the deleted key ${s.orphanAccessKeyId} (${failure.code})`],
      },
      { at, step: "untag-inactive-key", detail: failure.code, to: "backing-up", status: "failed" },
    ),
  onAbort: beforeCreate("untag-inactive-key").onAbort,
};

/** Backs the store up, so a failed install can be undone exactly. */
export const backingUp: PhaseSpec<"backing-up"> = {
  step: "backup-store",
  group: "inspect",
  effect: () => ({ type: "backupStore" }),
  on: {
    storeBackedUp: (s, e) =>
      advance({ ...s, backup: e.backup }, { at: e.at, step: "backup-store", detail: e.backup.location, to: "creating", freshLoop: "create" }),
  },
  ...beforeCreate("backup-store"),
};

function onKeysListed(s: Listed & { readonly phase: "listing-keys" }, at: number): Decision {
  const { keys, userName } = s;
  const described = describeKeys(s);
  const held = keys.find((k) => k.accessKeyId === s.oldAccessKeyId);
  if (!held) {
    return fail(s, "list-keys", at, {
      source: "keyup",
      code: "KeyNotOwned",
      message: `the key in ${s.store} (${s.oldAccessKeyId}) is not one of IAM user ${userName}'s keys (${described || "none"}): check the store or userName`,
      retry: "no",
    });
  }
  const s2: AtLimit = { ...s, oldKeyState: held.status === "Inactive" ? "inactive" : "active" };
  const created = held.createDate ? Date.parse(held.createDate) : Number.NaN;
  if (s.config.minAgeMs !== undefined && Number.isFinite(created) && at - created < s.config.minAgeMs) {
    const detail = `${held.accessKeyId} is ${formatDuration(at - created)} old, younger than ${formatDuration(s.config.minAgeMs)}: nothing to do`;
    return finish(record(s2, at, "list-keys", "skipped", detail), "skipped", at);
  }
  const listed: Omit<Advance, "to"> = { at, step: "list-keys", detail: described };
  if (keys.length < 2) return advance(s2, { ...listed, to: "backing-up" });
  const other = keys.find((k) => k.accessKeyId !== s.oldAccessKeyId);
  // An Inactive other key may be one keyup deactivated with a grace period: look at the user's tags.
  // An Active other key may be one the in-use guard kept Active for a while: the tags say until when.
  if (keys.length === 2 && (other?.status === "Inactive" || s.config.inUseGuard)) return advance(s2, { ...listed, to: "checking-grace" });
  return onLimit(s2, "list-keys", at);
}

/** At IAM's 2-key limit (`step` is the step that found it), after the user's tags were read when the other key is Inactive. */
function onLimit(s2: AtLimit, step: StepName, at: number): Decision {
  const { keys, userName } = s2;
  const described = describeKeys(s2);
  const other = keys.find((k) => k.accessKeyId !== s2.oldAccessKeyId);
  const grace = other ? s2.tags?.[graceTagKey(other.accessKeyId)] : undefined;
  if (other?.status === "Inactive" && grace !== undefined) {
    const until = Date.parse(grace);
    if (Number.isFinite(until) && at >= until) {
      const ended = { at, step: "check-grace", detail: `${other.accessKeyId}'s grace period ended ${grace}`, to: "deleting-inactive" } as const;
      return advance({ ...s2, orphanAccessKeyId: other.accessKeyId }, ended);
    }
    return fail({ ...s2, nextSteps: [{ type: "cleanup-after", accessKeyId: other.accessKeyId, after: grace }] }, step, at, {
      source: "keyup",
      code: "TwoKeys",
      message: `IAM user ${userName} already has 2 access keys (${described}); the Inactive ${other.accessKeyId} is kept until ${grace} (its grace period), so nothing was created: clean it up after that, or delete it by hand`,
      retry: "no",
    });
  }
  if (other?.status === "Active" && grace !== undefined) {
    // Kept Active by the in-use guard: only cleanup() decides, from the uses recorded since, whether it may go.
    return fail({ ...s2, nextSteps: [{ type: "cleanup-after", accessKeyId: other.accessKeyId, after: grace }] }, step, at, {
      source: "keyup",
      code: "TwoKeys",
      message: `IAM user ${userName} already has 2 access keys (${described}); ${other.accessKeyId} was kept Active until ${grace} because something used it before the last rotation, so nothing was created: run cleanup after that (it deletes the key unless a use after the last rotation is recorded)`,
      retry: "no",
    });
  }
  if (s2.config.onLimit === "delete-inactive" && keys.length === 2 && other?.status === "Inactive") {
    const inactive = { at, step: "check-grace", detail: `${other.accessKeyId} is Inactive`, to: "deleting-inactive" } as const;
    return advance({ ...s2, orphanAccessKeyId: other.accessKeyId }, inactive);
  }
  const why =
    s2.config.onLimit === "delete-inactive"
      ? `the other key ${other?.accessKeyId} is ${other?.status}, and only an Inactive key held by no store may be deleted automatically`
      : "delete the key you no longer use, or allow keyup to delete an Inactive one";
  const hints: NextStep[] = s2.config.onLimit === "delete-inactive" ? [] : [{ type: "allow-delete-inactive" }];
  return fail({ ...s2, nextSteps: hints }, step, at, {
    source: "keyup",
    code: "TwoKeys",
    message: `IAM user ${userName} already has ${keys.length} access keys (${described}), the most IAM allows; nothing was created: ${why}`,
    retry: "no",
  });
}

function describeKeys(s: Listed): string {
  return s.keys.map((k) => `${k.accessKeyId} ${k.status}`).join(", ");
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

function formatDuration(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 48 ? `${Math.floor(hours / 24)}d` : hours >= 1 ? `${hours}h` : `${Math.max(0, Math.round(ms / 60_000))}m`;
}
