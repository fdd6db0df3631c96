import {
  backoffDelay,
  defaultRotationConfig,
  effectFor,
  errorOf,
  type Failure,
  graceTagKey,
  initialRotationState,
  type Phase,
  parseIdentityArn,
  type RotationEvent,
  type RotationState,
  reportOf,
  resumeState,
  transition,
} from "@keyup/core/machine";
import { describe, expect, test } from "vitest";

const OLD = "AKIAOLDOLDOLDOLD0001";
const NEW = "AKIANEWNEWNEWNEW0002";
const OTHER = "AKIAOTHEROTHEROTH003";
const ARN = "arn:aws:iam::123456789012:user/alice";
const backup = { id: "sha256:abc", location: "/tmp/credentials.keyup-backup" };

const POST_VERIFY: Phase[] = ["tagging-new", "deactivating", "deleting-old", "recording-grace", "untagging-old"];

/**
 * A state in `phase` with everything that phase implies already known. Built for any phase at once,
 * so the compiler cannot check it against the phase's stage: the tests' own cast.
 */
function stateIn(phase: Phase, extra: Partial<RotationState> = {}): RotationState {
  const base = initialRotationState("memory:test", defaultRotationConfig);
  const known: Partial<RotationState> = { startedAt: 0, userName: "alice", oldAccessKeyId: OLD, keys: [{ accessKeyId: OLD, status: "Active" }] };
  const after = (p: Phase[]) => p.includes(phase);
  return {
    ...base,
    ...(phase === "idle" ? {} : known),
    ...(after(["installing", "verifying", ...POST_VERIFY, "restoring", "deleting-new"]) ? { backup, newAccessKeyId: NEW } : {}),
    ...(after(["installing", "verifying", ...POST_VERIFY, "restoring"]) ? { installAttempted: true } : {}),
    ...(after(POST_VERIFY) ? { userArn: ARN, consecutiveSuccesses: 2 } : {}),
    ...(after(["verifying", ...POST_VERIFY]) ? { installedAt: 1_500 } : {}),
    ...(after(["checking-grace", "deleting-inactive"])
      ? {
          keys: [
            { accessKeyId: OLD, status: "Active" },
            { accessKeyId: OTHER, status: "Inactive" },
          ],
        }
      : {}),
    ...(phase === "deleting-inactive" ? { orphanAccessKeyId: OTHER } : {}),
    ...(phase === "untagging-inactive" ? { orphanAccessKeyId: OTHER, tags: { [OTHER]: "old laptop" } } : {}),
    ...(after(["reconciling", "deleting-orphan", "creating"]) ? { backup, createRequested: true } : {}),
    ...(phase === "deleting-orphan" ? { orphanAccessKeyId: NEW } : {}),
    // Resuming a journal that stopped in verifying: the new key exists (EVENTS' keysListed lists only OLD).
    ...(phase === "resuming" ? { backup, newAccessKeyId: NEW, installAttempted: true, resuming: { phase: "verifying" as const, signer: "new" as const } } : {}),
    phase,
    loopStartedAt: 1_000,
    ...extra,
  } as RotationState;
}

const fail = (code: string, retry: Failure["retry"], source: "aws" | "store" = "aws"): Failure => ({ source, code, message: `${code} happened`, retry });
const AT = 2_000;

/** Every kind of event, with plausible payloads. */
const EVENTS: Record<string, RotationEvent> = {
  start: { type: "start", at: AT },
  storeRead: { type: "storeRead", accessKeyId: OLD, at: AT },
  identityResolved: { type: "identityResolved", arn: ARN, at: AT },
  keysListed: { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: AT },
  keyDeleted: { type: "keyDeleted", accessKeyId: OTHER, at: AT },
  storeBackedUp: { type: "storeBackedUp", backup, at: AT },
  keyCreated: { type: "keyCreated", accessKeyId: NEW, at: AT },
  installed: { type: "installed", at: AT },
  verified: { type: "verified", arn: ARN, at: AT },
  keyUpdated: { type: "keyUpdated", accessKeyId: OLD, at: AT },
  storeRestored: { type: "storeRestored", at: AT },
  waited: { type: "waited", at: AT },
  tagsListed: { type: "tagsListed", tags: {}, at: AT },
  userTagged: { type: "userTagged", at: AT },
  userUntagged: { type: "userUntagged", at: AT },
  lastUsed: { type: "lastUsed", at: AT },
  failedAuth: { type: "effectFailed", effect: "verify", failure: fail("InvalidClientTokenId", "auth"), at: AT, random: 0.5 },
  failedService: { type: "effectFailed", effect: "listAccessKeys", failure: fail("Throttling", "service"), at: AT, random: 0.5 },
  failedHard: { type: "effectFailed", effect: "install", failure: fail("EIO", "no", "store"), at: AT, random: 0.5 },
  abort: { type: "abort", at: AT },
};

const PHASES: Phase[] = [
  "idle",
  "reading-store",
  "resolving-identity",
  "listing-keys",
  "deleting-inactive",
  "backing-up",
  "creating",
  "installing",
  "verifying",
  "deactivating",
  "deleting-old",
  "restoring",
  "deleting-new",
  "reconciling",
  "deleting-orphan",
  "checking-grace",
  "untagging-inactive",
  "tagging-new",
  "checking-use",
  "recording-grace",
  "untagging-old",
  "resuming",
  "done",
];

/**
 * The expected next phase and effect for every phase × event. `!` marks an unexpected event: the
 * machine must then end safely (never hang, never delete the current key).
 */
const TABLE: Record<Phase, Record<string, string>> = {
  idle: { start: "reading-store/readStore", abort: "done/-", "*": "done/-" },
  "reading-store": {
    storeRead: "resolving-identity/getCallerIdentity",
    failedAuth: "done/-",
    failedService: "done/-",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  "resolving-identity": {
    identityResolved: "listing-keys/listAccessKeys",
    failedAuth: "done/-",
    failedService: "done/-",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  "listing-keys": { keysListed: "backing-up/backupStore", failedAuth: "done/-", failedService: "done/-", failedHard: "done/-", abort: "done/-", "*": "done/-" },
  "deleting-inactive": {
    keyDeleted: "backing-up/backupStore",
    failedAuth: "done/-",
    failedService: "done/-",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  "backing-up": {
    storeBackedUp: "creating/createAccessKey",
    failedAuth: "done/-",
    failedService: "done/-",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  creating: {
    keyCreated: "installing/install",
    waited: "creating/createAccessKey",
    failedAuth: "done/-",
    // Throttling: nothing was created, so back off and create again (a lost answer reconciles: below).
    failedService: "creating/wait",
    failedHard: "done/-",
    abort: "reconciling/listAccessKeys",
    "*": "done/-",
  },
  installing: {
    installed: "verifying/verify",
    failedAuth: "restoring/restoreStore",
    failedService: "restoring/restoreStore",
    failedHard: "restoring/restoreStore",
    abort: "restoring/restoreStore",
    "*": "restoring/restoreStore",
  },
  verifying: {
    verified: "verifying/wait",
    waited: "verifying/verify",
    failedAuth: "verifying/wait",
    failedService: "verifying/wait",
    failedHard: "restoring/restoreStore",
    abort: "restoring/restoreStore",
    "*": "restoring/restoreStore",
  },
  deactivating: {
    keyUpdated: "deleting-old/deleteAccessKey",
    waited: "deactivating/updateAccessKey",
    failedAuth: "deactivating/wait",
    failedService: "deactivating/wait",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  "deleting-old": {
    keyDeleted: "done/-",
    waited: "deleting-old/deleteAccessKey",
    failedAuth: "deleting-old/wait",
    failedService: "deleting-old/wait",
    failedHard: "done/-",
    abort: "done/-",
    "*": "done/-",
  },
  restoring: {
    storeRestored: "deleting-new/deleteAccessKey",
    waited: "restoring/restoreStore",
    failedAuth: "done/-",
    failedService: "restoring/wait",
    failedHard: "done/-",
    abort: "restoring/restoreStore",
    "*": "done/-",
  },
  "deleting-new": {
    keyDeleted: "done/-",
    waited: "deleting-new/deleteAccessKey",
    failedAuth: "done/-",
    failedService: "deleting-new/wait",
    failedHard: "done/-",
    abort: "deleting-new/deleteAccessKey",
    "*": "done/-",
  },
  reconciling: {
    // No new key listed yet: ListAccessKeys may lag a create, so it lists again before creating.
    keysListed: "reconciling/wait",
    waited: "reconciling/listAccessKeys",
    failedAuth: "done/-",
    failedService: "reconciling/wait",
    failedHard: "done/-",
    abort: "reconciling/listAccessKeys",
    "*": "done/-",
  },
  "deleting-orphan": {
    keyDeleted: "creating/createAccessKey",
    waited: "deleting-orphan/deleteAccessKey",
    failedAuth: "done/-",
    failedService: "deleting-orphan/wait",
    failedHard: "done/-",
    abort: "deleting-orphan/deleteAccessKey",
    "*": "done/-",
  },
  "checking-grace": { tagsListed: "done/-", "*": "done/-" },
  "untagging-inactive": {
    userUntagged: "backing-up/backupStore",
    failedAuth: "backing-up/backupStore",
    failedService: "backing-up/backupStore",
    failedHard: "backing-up/backupStore",
    "*": "done/-",
  },
  "tagging-new": {
    userTagged: "deactivating/updateAccessKey",
    waited: "tagging-new/tagUser",
    failedAuth: "tagging-new/wait",
    failedService: "tagging-new/wait",
    failedHard: "deactivating/updateAccessKey",
    "*": "done/-",
  },
  "checking-use": {
    lastUsed: "resolving-identity/getCallerIdentity",
    waited: "checking-use/getAccessKeyLastUsed",
    failedAuth: "checking-use/wait",
    failedService: "checking-use/wait",
    "*": "done/-",
  },
  "recording-grace": { waited: "recording-grace/tagUser", failedAuth: "recording-grace/wait", failedService: "recording-grace/wait", "*": "done/-" },
  "untagging-old": { waited: "untagging-old/untagUser", failedAuth: "untagging-old/wait", failedService: "untagging-old/wait", "*": "done/-" },
  resuming: {
    // The journaled new key is missing from this list: listed again after a wait (IAM's list lag).
    keysListed: "resuming/wait",
    waited: "resuming/listAccessKeys",
    failedAuth: "resuming/listAccessKeys",
    failedService: "resuming/listAccessKeys",
    failedHard: "resuming/listAccessKeys",
    "*": "done/-",
  },
  done: { "*": "done/-" },
};

describe("transition: every phase × every event", () => {
  for (const phase of PHASES) {
    for (const [name, event] of Object.entries(EVENTS)) {
      const row = TABLE[phase];
      const expected = row[name] ?? row["*"];
      test(`${phase} + ${name} -> ${expected}`, () => {
        const before = stateIn(phase);
        const frozen = JSON.stringify(before);
        const { state, effects } = transition(before, event);

        expect(JSON.stringify(before)).toBe(frozen); // pure: input untouched
        expect(JSON.parse(JSON.stringify(state))).toEqual(state); // JSON-serialisable
        expect(effects.length).toBeLessThanOrEqual(1);
        expect(`${state.phase}/${effects[0]?.type ?? "-"}`).toBe(expected);
        expect(effects.length === 0).toBe(state.phase === "done");
        // Invariant 5: the current key is never deleted or deactivated before the new one is verified.
        for (const effect of effects) {
          if ((effect.type === "deleteAccessKey" || effect.type === "updateAccessKey") && effect.accessKeyId === OLD) {
            expect(state.consecutiveSuccesses).toBeGreaterThanOrEqual(state.config.requiredSuccesses);
          }
        }
        // Invariant 2: a created key is never forgotten: it is deleted, installed, or reported as left over.
        if (state.phase === "done" && state.newAccessKeyId && state.outcome !== "rotated" && state.outcome !== "completed-with-warnings") {
          const deleted = state.steps.some((s) => s.step === "delete-new-key" && s.status === "ok");
          expect(deleted || (state.leftoverKeyIds ?? []).includes(state.newAccessKeyId) || state.outcome === "failed").toBe(true);
        }
      });
    }
  }
});

describe("transition: paths", () => {
  const drive = (state: RotationState, events: RotationEvent[]) => events.reduce((s, e) => transition(s, e).state, state);

  test("the happy path ends rotated with the old key deleted, and the report says so", () => {
    const end = drive(initialRotationState("memory:test", defaultRotationConfig), [
      { type: "start", at: 0 },
      { type: "storeRead", accessKeyId: OLD, at: 1 },
      { type: "identityResolved", arn: ARN, at: 2 },
      { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 3 },
      { type: "storeBackedUp", backup, at: 4 },
      { type: "keyCreated", accessKeyId: NEW, at: 5 },
      { type: "installed", at: 6 },
      { type: "verified", arn: ARN, at: 7 },
      { type: "waited", at: 8 },
      { type: "verified", arn: ARN, at: 9 },
      { type: "keyUpdated", accessKeyId: OLD, at: 10 },
      { type: "keyDeleted", accessKeyId: OLD, at: 11 },
    ]);
    const report = reportOf(end);
    expect(report).toMatchObject({
      outcome: "rotated",
      userName: "alice",
      oldAccessKeyId: OLD,
      newAccessKeyId: NEW,
      oldKey: "deleted",
      verifyAttempts: 2,
      durationMs: 11,
    });
    expect(errorOf(end)).toBeUndefined();
  });

  test("a flapping key (accepted, then rejected) needs fresh consecutive successes", () => {
    let s = stateIn("verifying");
    s = transition(s, EVENTS.verified as RotationEvent).state;
    expect(s.consecutiveSuccesses).toBe(1);
    s = transition(s, { type: "effectFailed", effect: "verify", failure: fail("InvalidClientTokenId", "auth"), at: 2_100, random: 0 }).state;
    expect(s.consecutiveSuccesses).toBe(0);
    s = transition(s, { type: "verified", arn: ARN, at: 2_200 }).state;
    expect(s.phase).toBe("verifying");
    const { state, effects } = transition(s, { type: "verified", arn: ARN, at: 2_300 });
    expect(state.phase).toBe("deactivating");
    expect(effects).toEqual([{ type: "updateAccessKey", userName: "alice", accessKeyId: OLD, status: "Inactive", signer: "new" }]);
  });

  test("verify gives up after the timeout and rolls back: restore, then delete the new key", () => {
    const late: RotationEvent = { type: "effectFailed", effect: "verify", failure: fail("InvalidClientTokenId", "auth"), at: 1_000 + 30_000, random: 0.5 };
    let t = transition(stateIn("verifying"), late);
    expect(t.effects).toEqual([{ type: "restoreStore", backup }]);
    t = transition(t.state, { type: "storeRestored", at: 31_100 });
    expect(t.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: NEW, signer: "old" }]);
    t = transition(t.state, { type: "keyDeleted", accessKeyId: NEW, at: 31_200 });
    expect(t.state.outcome).toBe("rolled-back");
    const error = errorOf(t.state);
    expect(error?.kind).toBe("verify");
    expect(error?.message).toContain("still rejected");
  });

  test("a new key that authenticates as someone else is rolled back at once", () => {
    const t = transition(stateIn("verifying", { userArn: ARN }), { type: "verified", arn: "arn:aws:iam::123456789012:user/mallory", at: AT });
    expect(t.effects[0]?.type).toBe("restoreStore");
    expect(t.state.failure?.code).toBe("IdentityMismatch");
  });

  test("a failed restore ends rollback-failed, keeps the new key (the store may hold it) and says how to finish", () => {
    const t = transition(stateIn("restoring"), { type: "effectFailed", effect: "restoreStore", failure: fail("EIO", "no", "store"), at: AT, random: 0 });
    expect(t.state.outcome).toBe("rollback-failed");
    const report = reportOf(t.state);
    expect(report.leftovers.accessKeyIds).toEqual([NEW]);
    expect(report.leftovers.backup).toBe(backup.location);
    expect(report.manualSteps.join("\n")).toContain(backup.location);
    expect(errorOf(t.state)?.kind).toBe("rollback-failed");
  });

  test("a failed delete of the new key ends rollback-failed naming the key to delete", () => {
    const t = transition(stateIn("deleting-new"), {
      type: "effectFailed",
      effect: "deleteAccessKey",
      failure: fail("AccessDenied", "auth"),
      at: AT,
      random: 0,
    });
    expect(t.state.outcome).toBe("rollback-failed");
    expect(reportOf(t.state).nextSteps).toEqual([{ type: "delete-key", userName: "alice", accessKeyId: NEW }]);
    expect(reportOf(t.state).manualSteps).toEqual([`delete IAM user alice's access key ${NEW} (DeleteAccessKey)`]);
  });

  test("a failed deactivate after verification completes with warnings naming the old key", () => {
    const t = transition(stateIn("deactivating"), { type: "effectFailed", effect: "updateAccessKey", failure: fail("AccessDenied", "no"), at: AT, random: 0 });
    expect(t.state.outcome).toBe("completed-with-warnings");
    const report = reportOf(t.state);
    expect(report.warnings[0]).toContain(OLD);
    expect(report.oldKey).toBe("active");
    expect(report.nextSteps[0]).toEqual({ type: "deactivate-key", userName: "alice", accessKeyId: OLD });
    expect(errorOf(t.state)).toBeUndefined();
  });

  test("the in-use guard meets AccessDenied before anything exists: it fails at once naming the permission, no wait; Throttling still waits", () => {
    // checking-use as the guard runs it now: right after reading the store, no new key, no backup.
    const before = {
      ...stateIn("checking-use"),
      newAccessKeyId: undefined,
      backup: undefined,
      installAttempted: undefined,
      installedAt: undefined,
    } as RotationState;
    const denied = transition(before, { type: "effectFailed", effect: "getAccessKeyLastUsed", failure: fail("AccessDenied", "auth"), at: AT, random: 0 });
    expect(`${denied.state.phase}/${denied.effects[0]?.type ?? "-"}`).toBe("done/-");
    expect(denied.state.outcome).toBe("failed");
    expect(denied.state.failure?.message).toContain("iam:GetAccessKeyLastUsed");
    const throttled = transition(before, { type: "effectFailed", effect: "getAccessKeyLastUsed", failure: fail("Throttling", "service"), at: AT, random: 0 });
    expect(`${throttled.state.phase}/${throttled.effects[0]?.type ?? "-"}`).toBe("checking-use/wait");
  });

  test("NoSuchEntity on retire means done: an old key already gone ends rotated, with no manual step", () => {
    for (const [phase, effect, step] of [
      ["deactivating", "updateAccessKey", "deactivate-old-key"],
      ["deleting-old", "deleteAccessKey", "delete-old-key"],
    ] as const) {
      const t = transition(stateIn(phase), { type: "effectFailed", effect, failure: fail("NoSuchEntity", "no"), at: AT, random: 0 });
      expect(t.state.outcome, phase).toBe("rotated");
      const report = reportOf(t.state);
      expect(report.warnings, phase).toEqual([]);
      expect(report.nextSteps, phase).toEqual([]);
      expect(report.oldKey, phase).toBe("deleted");
      expect(t.state.steps.at(-1), phase).toMatchObject({ step, status: "ok", detail: `${OLD} was already gone (NoSuchEntity)` });
    }
    // The description tag lives on the user, not on the key: it is still removed.
    const config = { ...defaultRotationConfig, description: "ci runner" };
    const t = transition(stateIn("deactivating", { config }), {
      type: "effectFailed",
      effect: "updateAccessKey",
      failure: fail("NoSuchEntity", "no"),
      at: AT,
      random: 0,
    });
    expect(t.effects).toEqual([{ type: "untagUser", userName: "alice", keys: [OLD, graceTagKey(OLD)], signer: "new" }]);
  });

  test("root and assumed-role identities are refused before anything is created", () => {
    for (const arn of ["arn:aws:iam::123456789012:root", "arn:aws:sts::123456789012:assumed-role/admin/session"]) {
      const t = transition(stateIn("resolving-identity"), { type: "identityResolved", arn, at: AT });
      expect(t.state.outcome).toBe("failed");
      expect(errorOf(t.state)?.kind).toBe("config");
      expect(errorOf(t.state)?.message).toContain("keyup rotates IAM user access keys only");
    }
  });

  test("two keys: refused naming both, or the Inactive other key deleted when allowed (after reading the user's tags)", () => {
    const keys = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Inactive" },
    ];
    const listed = transition(stateIn("listing-keys"), { type: "keysListed", keys, at: AT });
    expect(listed.effects).toEqual([{ type: "listUserTags", userName: "alice", signer: "old" }]);
    const refused = transition(listed.state, { type: "tagsListed", tags: {}, at: AT });
    expect(refused.state.outcome).toBe("failed");
    expect(errorOf(refused.state)).toMatchObject({
      kind: "limit",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: OTHER, status: "Inactive" },
      ],
    });
    const allowedListed = transition(stateIn("listing-keys", { config: { ...defaultRotationConfig, onLimit: "delete-inactive" } }), {
      type: "keysListed",
      keys,
      at: AT,
    });
    const allowed = transition(allowedListed.state, { type: "tagsListed", tags: {}, at: AT });
    expect(allowed.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
    const active = transition(stateIn("listing-keys", { config: { ...defaultRotationConfig, onLimit: "delete-inactive" } }), {
      type: "keysListed",
      keys: [keys[0] as (typeof keys)[0], { accessKeyId: OTHER, status: "Active" }],
      at: AT,
    });
    expect(active.state.outcome).toBe("failed");
  });

  test("an Inactive key with a grace tag: deleted once its grace has passed (and its tags removed), refused before", () => {
    const keys = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Inactive" },
    ];
    const listed = transition(stateIn("listing-keys"), { type: "keysListed", keys, at: AT }).state;
    const early = transition(listed, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: new Date(AT + 1_000).toISOString() }, at: AT });
    expect(early.state.outcome).toBe("failed");
    expect(errorOf(early.state)?.message).toContain("grace period");
    let t = transition(listed, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: new Date(AT - 1).toISOString(), [OTHER]: "old laptop" }, at: AT });
    expect(t.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
    t = transition(t.state, { type: "keyDeleted", accessKeyId: OTHER, at: AT });
    expect(t.effects).toEqual([{ type: "untagUser", userName: "alice", keys: [OTHER, graceTagKey(OTHER)], signer: "old" }]);
    t = transition(t.state, { type: "userUntagged", at: AT });
    expect(t.effects[0]?.type).toBe("backupStore");
  });

  test("minAge: a key younger than it is skipped before anything is created", () => {
    const young = { accessKeyId: OLD, status: "Active", createDate: new Date(AT - 3_600_000).toISOString() };
    const t = transition(stateIn("listing-keys", { config: { ...defaultRotationConfig, minAgeMs: 86_400_000 } }), {
      type: "keysListed",
      keys: [young],
      at: AT,
    });
    expect(t.state.outcome).toBe("skipped");
    expect(reportOf(t.state).outcome).toBe("skipped");
    expect(errorOf(t.state)).toBeUndefined();
    const old = { ...young, createDate: new Date(AT - 2 * 86_400_000).toISOString() };
    expect(
      transition(stateIn("listing-keys", { config: { ...defaultRotationConfig, minAgeMs: 86_400_000 } }), { type: "keysListed", keys: [old], at: AT })
        .effects[0]?.type,
    ).toBe("backupStore");
  });

  test("in-use guard: the old key's last use is read before any other call it signs; a recent use keeps it Active for the hold", () => {
    const guard = { ...defaultRotationConfig, inUseGuard: true };
    const hour = 3_600_000;
    const now = 10 * hour;
    const read = transition(stateIn("reading-store", { config: guard }), { type: "storeRead", accessKeyId: OLD, at: now });
    expect(read.effects).toEqual([{ type: "getAccessKeyLastUsed", accessKeyId: OLD, signer: "old" }]);
    // The read itself is a use (an emulator records it at once): a use since it was sent is keyup's own.
    const own = transition(read.state, { type: "lastUsed", date: new Date(now + 50).toISOString(), at: now + 100 });
    expect(own.state.oldKeyInUse).toBeUndefined();
    const recent: RotationEvent = { type: "lastUsed", date: new Date(now - 5 * 60_000).toISOString(), serviceName: "s3", region: "eu-west-1", at: now };
    const seen = transition(read.state, recent);
    expect(seen.state.oldKeyInUse).toMatchObject({ serviceName: "s3", region: "eu-west-1" });
    expect(seen.effects[0]?.type).toBe("getCallerIdentity");

    // After verify: no deactivation, a grace tag an hour after the install, and a cleanup step.
    const verified = stateIn("tagging-new", { config: guard, oldKeyInUse: seen.state.oldKeyInUse, installedAt: now });
    const held = transition(verified, { type: "userTagged", at: now });
    expect(held.effects).toEqual([
      { type: "tagUser", userName: "alice", tags: [{ key: graceTagKey(OLD), value: new Date(now + hour).toISOString() }], signer: "new" },
    ]);
    const end = transition(held.state, { type: "userTagged", at: now });
    expect(end.state).toMatchObject({ outcome: "rotated", oldKeyState: "active" });
    expect(end.state.nextSteps).toEqual([{ type: "cleanup-after", accessKeyId: OLD, after: new Date(now + hour).toISOString() }]);

    // Not used for longer than the hold, or never: retired at once, as without the guard.
    const stale = transition(read.state, { type: "lastUsed", date: new Date(now - 2 * hour).toISOString(), at: now });
    expect(stale.state.oldKeyInUse).toBeUndefined();
    expect(transition(stateIn("tagging-new", { config: guard }), { type: "userTagged", at: now }).effects[0]).toMatchObject({
      type: "updateAccessKey",
      status: "Inactive",
    });
    // keepOldForMs sets the hold, never below 35 minutes (two recording windows and the lag).
    const short = stateIn("tagging-new", { config: { ...guard, keepOldForMs: 60_000 }, oldKeyInUse: seen.state.oldKeyInUse, installedAt: now });
    const tagged = transition(short, { type: "userTagged", at: now }).effects[0];
    expect(tagged).toMatchObject({ tags: [{ key: graceTagKey(OLD), value: new Date(now + 35 * 60_000).toISOString() }] });
  });

  test("in-use guard: at the next rotation, an Active key kept by the guard makes the 2-key limit point to cleanup", () => {
    const guard = { ...defaultRotationConfig, inUseGuard: true };
    const keys = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Active" },
    ];
    const listed = transition(stateIn("listing-keys", { config: guard }), { type: "keysListed", keys, at: AT });
    expect(listed.effects[0]?.type).toBe("listUserTags");
    const until = "2026-01-01T01:00:00.000Z";
    const t = transition(listed.state, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: until }, at: AT });
    expect(t.state.outcome).toBe("failed");
    expect(t.state.failure?.message).toContain("run cleanup after that");
    expect(t.state.nextSteps).toEqual([{ type: "cleanup-after", accessKeyId: OTHER, after: until }]);
  });

  test("tag steps retry while IAM throttles, then succeed", () => {
    const config = { ...defaultRotationConfig, description: "ci" };
    const throttled = transition(stateIn("tagging-new", { config }), {
      type: "effectFailed",
      effect: "tagUser",
      failure: fail("Throttling", "service"),
      at: AT,
      random: 0.5,
    });
    expect(throttled.effects[0]?.type).toBe("wait");
    const retried = transition(throttled.state, { type: "waited", at: AT + 500 });
    expect(retried.effects[0]).toMatchObject({ type: "tagUser" });
    expect(transition(retried.state, { type: "userTagged", at: AT + 600 }).state.warnings).toEqual([]);
  });

  test("grace period: the old key is deactivated and the user tagged with when it may be deleted", () => {
    const config = { ...defaultRotationConfig, oldKey: "deactivate" as const, keepOldForMs: 7 * 86_400_000 };
    const t = transition(stateIn("deactivating", { config }), { type: "keyUpdated", accessKeyId: OLD, at: AT });
    expect(t.effects).toEqual([
      { type: "tagUser", userName: "alice", tags: [{ key: graceTagKey(OLD), value: new Date(1_500 + 7 * 86_400_000).toISOString() }], signer: "new" },
    ]);
    expect(transition(t.state, { type: "userTagged", at: AT }).state.outcome).toBe("rotated");
  });

  test("description: the new key is tagged after verification, the old key's tags removed after deletion", () => {
    const config = { ...defaultRotationConfig, description: "ci runner" };
    const v = transition(stateIn("verifying", { consecutiveSuccesses: 1, config }), EVENTS.verified as RotationEvent);
    expect(v.effects).toEqual([{ type: "tagUser", userName: "alice", tags: [{ key: NEW, value: "ci runner" }], signer: "new" }]);
    const d = transition(stateIn("deleting-old", { config }), { type: "keyDeleted", accessKeyId: OLD, at: AT });
    expect(d.effects).toEqual([{ type: "untagUser", userName: "alice", keys: [OLD, graceTagKey(OLD)], signer: "new" }]);
  });

  test("a lost CreateAccessKey answer: the orphan key is found and deleted before creating again", () => {
    let t = transition(stateIn("creating"), { type: "effectFailed", effect: "createAccessKey", failure: fail("NetworkError", "service"), at: AT, random: 0 });
    expect(t.effects[0]?.type).toBe("listAccessKeys");
    t = transition(t.state, {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: OTHER, status: "Active" },
      ],
      at: AT + 1,
    });
    expect(t.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
    t = transition(t.state, { type: "keyDeleted", accessKeyId: OTHER, at: AT + 2 });
    expect(t.effects).toEqual([{ type: "createAccessKey", userName: "alice", signer: "old" }]);
  });

  test("a throttled CreateAccessKey created nothing: wait and create again, no reconcile; fail once the time is up", () => {
    const throttled = (at: number): RotationEvent => ({
      type: "effectFailed",
      effect: "createAccessKey",
      failure: fail("Throttling", "service"),
      at,
      random: 0,
    });
    let t = transition(stateIn("creating", { loopStartedAt: AT }), throttled(AT));
    expect(t.effects).toEqual([{ type: "wait", ms: 100 }]);
    t = transition(t.state, { type: "waited", at: AT + 100 });
    expect(t.effects).toEqual([{ type: "createAccessKey", userName: "alice", signer: "old" }]);
    t = transition(t.state, throttled(AT + 30_000));
    expect(t.state.outcome).toBe("failed");
    expect(t.state.steps.map((s) => s.step)).not.toContain("reconcile");
  });

  test("oldKey 'deactivate' stops after deactivation; 'keep' stops after verification", () => {
    const deactivate = transition(stateIn("deactivating", { config: { ...defaultRotationConfig, oldKey: "deactivate" } }), {
      type: "keyUpdated",
      accessKeyId: OLD,
      at: AT,
    });
    expect(deactivate.state).toMatchObject({ phase: "done", outcome: "rotated", oldKeyState: "inactive" });
    const keep = transition(
      stateIn("verifying", { consecutiveSuccesses: 1, config: { ...defaultRotationConfig, oldKey: "keep" } }),
      EVENTS.verified as RotationEvent,
    );
    expect(keep.state).toMatchObject({ phase: "done", outcome: "rotated" });
  });

  test("with caller credentials every IAM call is signed by them", () => {
    const t = transition(stateIn("deactivating", { config: { ...defaultRotationConfig, iamSigner: "credentials" } }), { type: "waited", at: AT });
    expect(t.effects[0]).toMatchObject({ signer: "credentials" });
  });
});

describe("backoff and ARNs", () => {
  test("backoff doubles from 200 ms to a 500 ms cap, with equal jitter", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(defaultRotationConfig, n, 1))).toEqual([200, 400, 500, 500, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(defaultRotationConfig, n, 0))).toEqual([100, 200, 250, 250, 250]);
    expect(backoffDelay({ ...defaultRotationConfig, maxBackoffMs: 1_000 }, 4, 1)).toBe(1_000);
  });

  test.each([
    ["arn:aws:iam::123456789012:user/alice", { type: "user", name: "alice", path: "/" }],
    ["arn:aws:iam::123456789012:user/team/ci/bot", { type: "user", name: "bot", path: "/team/ci/" }],
    ["arn:aws-cn:iam::123456789012:user/x", { type: "user", name: "x" }],
    ["arn:aws-us-gov:iam::123456789012:user/gov/y", { type: "user", name: "y", path: "/gov/" }],
    ["arn:aws-us-gov:sts::123456789012:assumed-role/r/s", { type: "assumed-role" }],
    ["arn:aws:iam::123456789012:root", { type: "root" }],
    ["arn:aws:sts::123456789012:assumed-role/r/s", { type: "assumed-role" }],
    ["arn:aws:sts::123456789012:federated-user/f", { type: "federated-user" }],
    ["nonsense", { type: "unknown" }],
  ])("parseIdentityArn(%s)", (arn, expected) => {
    expect(parseIdentityArn(arn)).toMatchObject(expected);
  });
});

/** A resumed state after its journal check found every key it names (the check itself is tested below). */
function afterCheck(resumed: RotationState | undefined) {
  expect(resumed?.phase).toBe("resuming");
  expect(resumed && effectFor(resumed)).toEqual({ type: "listAccessKeys", userName: "alice", signer: "new" });
  return transition(resumed as RotationState, {
    type: "keysListed",
    keys: [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: NEW, status: "Active" },
    ],
    at: 6,
  });
}

describe("resumeState", () => {
  test("a failed rollback resumes at the rollback step that failed, not where the rotation first failed", () => {
    const failedVerify = transition(stateIn("verifying"), {
      type: "effectFailed",
      effect: "verify",
      failure: fail("InvalidClientTokenId", "auth"),
      at: 1_000 + 31_000,
      random: 0,
    });
    const restored = transition(failedVerify.state, { type: "storeRestored", at: 32_100 });
    const stuck = transition(restored.state, { type: "effectFailed", effect: "deleteAccessKey", failure: fail("AccessDenied", "auth"), at: 32_200, random: 0 });
    expect(stuck.state.outcome).toBe("rollback-failed");
    expect(stuck.state.failure?.phase).toBe("verifying");
    const resumed = resumeState(stuck.state, 40_000);
    expect(resumed?.resuming?.phase).toBe("deleting-new");
    const checked = afterCheck(resumed);
    expect(checked.state.phase).toBe("deleting-new");
    expect(checked.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: NEW, signer: "old" }]);
  });

  test("nothing created yet: start over; CreateAccessKey in flight: reconcile; later phases: continue with a fresh count", () => {
    expect(resumeState(stateIn("listing-keys"), 5)).toBeUndefined();
    expect(afterCheck(resumeState(stateIn("creating"), 5)).state.phase).toBe("reconciling");
    const verifying = afterCheck(
      resumeState(stateIn("verifying", { consecutiveSuccesses: 1, retries: { create: 1, verify: 7, retire: 0, rollback: 2 } }), 5),
    ).state;
    expect(verifying).toMatchObject({
      phase: "verifying",
      consecutiveSuccesses: 0,
      retries: { create: 0, verify: 0, retire: 0, rollback: 0 },
      loopStartedAt: 5,
    });
    expect(resumeState(stateIn("done", { outcome: "rotated" }), 5)).toBeUndefined();
  });
});

describe("resuming: a journal is checked against IAM inside the machine", () => {
  const resumed = () => resumeState(stateIn("verifying"), 5) as RotationState;
  const failed = (code: string, retry: Failure["retry"]): RotationEvent => ({
    type: "effectFailed",
    effect: "listAccessKeys",
    failure: fail(code, retry),
    at: 6,
    random: 0,
  });

  // RECONCILE_RELISTS in phases/rollback.ts: how many more lists before a missing key is taken as gone (docs/aws-behaviour.md section 6).
  const RECONCILE_RELISTS = 10;
  const onlyOld: RotationEvent = { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 6 };

  test("a new key deleted meanwhile can only be undone: restore the store, once the bounded relists never showed it", () => {
    let s = resumed();
    for (let i = 1; i <= RECONCILE_RELISTS; i++) {
      const missing = transition(s, onlyOld);
      expect(missing.state.phase).toBe("resuming");
      expect(missing.effects).toEqual([{ type: "wait", ms: expect.any(Number) }]);
      s = transition(missing.state, { type: "waited", at: 7 }).state;
      expect(effectFor(s)).toEqual({ type: "listAccessKeys", userName: "alice", signer: "new" });
    }
    const t = transition(s, onlyOld);
    expect(t.effects).toEqual([{ type: "restoreStore", backup }]);
    expect(t.state.failure).toMatchObject({ code: "NewKeyGone", phase: "verifying" });
    expect(t.state.retries.rollback).toBe(0);
  });

  test("a journaled new key missing from a list (ListAccessKeys lags a new key) is listed again, then the rotation goes on", () => {
    const missing = transition(resumed(), onlyOld);
    expect(missing.effects).toEqual([{ type: "wait", ms: expect.any(Number) }]);
    expect(missing.state.steps.at(-1)).toMatchObject({ step: "resume", status: "retry" });
    const relisted = transition(missing.state, { type: "waited", at: 7 });
    expect(relisted.effects).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "new" }]);
    const listed = transition(relisted.state, {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: NEW, status: "Active" },
      ],
      at: 8,
    });
    expect(listed.state.phase).toBe("verifying");
    expect(listed.state.failure).toBeUndefined();
    expect(listed.state.retries.rollback).toBe(0);
  });

  test("a new key missing after it was verified is not waited for (it cannot be lagging)", () => {
    const t = transition(resumeState(stateIn("deactivating"), 5) as RotationState, onlyOld);
    expect(t.state.phase).toBe("deactivating");
  });

  test("the new key failing to sign the check: the old key tries", () => {
    const t = transition(resumed(), failed("InvalidClientTokenId", "auth"));
    expect(t.effects).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "old" }]);
  });

  test("a user gone, or neither key valid: nothing changes and the journal is kept", () => {
    const gone = transition(resumed(), failed("NoSuchEntity", "no"));
    expect(gone.state).toMatchObject({ phase: "done", outcome: "failed", keepJournal: true });
    expect(errorOf(gone.state)?.kind).toBe("journal");
    const old = transition(resumed(), failed("InvalidClientTokenId", "auth")).state;
    const invalid = transition(old, failed("InvalidClientTokenId", "auth"));
    expect(invalid.state).toMatchObject({ outcome: "failed", keepJournal: true });
    expect(errorOf(invalid.state)?.message).toContain("neither key recorded in the rotation journal");
  });
});
