// How a rotation ends when something goes wrong, as a caller sees it: the outcome, the typed error
// (`kind` and message), the warnings and the steps left for a person. Every state is reached by
// driving transition() with events, as the runner does.
import {
  defaultRotationConfig,
  type Effect,
  errorOf,
  type Failure,
  graceTagKey,
  initialRotationState,
  parseIdentityArn,
  type RotationConfig,
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
const named: RotationConfig = { ...defaultRotationConfig, userName: "alice" };

function drive(events: RotationEvent[], from: RotationState) {
  let state = from;
  let effects: readonly Effect[] = [];
  for (const event of events) ({ state, effects } = transition(state, event));
  return { state, effects };
}

const failed = (failure: Failure, at = 50, random = 0): RotationEvent => ({ type: "effectFailed", effect: "verify", failure, at, random });
const aws = (code: string, retry: Failure["retry"] = "no", extra: Partial<Failure> = {}): Failure =>
  ({ source: "aws", code, message: `${code} said no`, retry, ...extra }) as Failure;

/** The rotation in each phase worth failing in, reached by events (the user named in the config). */
const reach = {
  readingStore: (config = named) => drive([{ type: "start", at: 0 }], initialRotationState("memory:test", config)).state,
  resolving: (config = defaultRotationConfig) => drive([{ type: "storeRead", accessKeyId: OLD, at: 1 }], reach.readingStore(config)).state,
  checkingUse: (config: RotationConfig) => drive([{ type: "storeRead", accessKeyId: OLD, at: 1 }], reach.readingStore(config)).state,
  listing: (config = named) =>
    drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        ...(config.inUseGuard ? [{ type: "lastUsed", at: 1 } as const] : []),
        ...(config.userName === undefined ? [{ type: "identityResolved", arn: ARN, at: 2 } as const] : []),
      ],
      reach.readingStore(config),
    ).state,
  creating: (config = named) =>
    drive(
      [
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
      ],
      reach.listing(config),
    ).state,
  verifying: (config = named) =>
    drive(
      [
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
        { type: "installed", at: 5 },
      ],
      reach.creating(config),
    ).state,
  verified: (config = named) =>
    drive(
      [
        { type: "verified", arn: ARN, at: 6 },
        { type: "waited", at: 7 },
        { type: "verified", arn: ARN, at: 8 },
      ],
      reach.verifying(config),
    ).state,
  restoring: (config = named) => drive([failed(aws("AccessDenied"), 9)], reach.verifying(config)).state,
  deletingNew: (config = named) => drive([{ type: "storeRestored", at: 10 }], reach.restoring(config)).state,
  reconciling: (config = named) => drive([failed(aws("InternalFailure", "service"), 4)], reach.creating(config)).state,
};

describe("errors before anything is created", () => {
  test("an empty store, a key IAM does not list, a non-user identity: config errors that say what to check", () => {
    const empty = transition(reach.readingStore(), { type: "storeRead", accessKeyId: undefined, at: 1 }).state;
    expect(errorOf(empty)).toMatchObject({ kind: "config", message: "memory:test holds no access key: there is nothing to rotate" });
    expect(empty.failure).toMatchObject({ code: "NoKeyInStore", phase: "reading-store" });

    const notOwned = transition(reach.listing(), { type: "keysListed", keys: [{ accessKeyId: OTHER, status: "Active" }], at: 2 }).state;
    expect(errorOf(notOwned)).toMatchObject({
      kind: "config",
      message: `the key in memory:test (${OLD}) is not one of IAM user alice's keys (${OTHER} Active): check the store or userName`,
    });
    const none = transition(reach.listing(), { type: "keysListed", keys: [], at: 2 }).state;
    expect(errorOf(none)?.message).toBe(`the key in memory:test (${OLD}) is not one of IAM user alice's keys (none): check the store or userName`);

    for (const [arn, what] of [
      ["arn:aws:iam::123456789012:root", "root account"],
      ["arn:aws:sts::123456789012:assumed-role/admin/s", "assumed-role (temporary)"],
      ["arn:aws:sts::123456789012:federated-user/f", "federated-user (temporary)"],
      ["arn:aws:iam::123456789012:group/g", "non-user"],
    ]) {
      const refused = transition(reach.resolving(), { type: "identityResolved", arn: arn as string, at: 2 }).state;
      expect(errorOf(refused), arn).toMatchObject({
        kind: "config",
        message: `memory:test holds ${what} credentials (${arn}); keyup rotates IAM user access keys only — put an IAM user's key in the store, or pass userName with admin credentials`,
      });
      expect(refused.failure?.code).toBe("IdentityNotUser");
    }
    const resolved = transition(reach.resolving(), { type: "identityResolved", arn: "arn:aws:iam::123456789012:user/team/bob", at: 2 });
    expect(resolved.state).toMatchObject({ userName: "bob", userArn: "arn:aws:iam::123456789012:user/team/bob" });
    expect(resolved.effects).toEqual([{ type: "listAccessKeys", userName: "bob", signer: "old" }]);
  });

  test("a failure or an abort before creation ends failed with the step and the cause recorded", () => {
    const t = transition(reach.listing(), failed({ source: "store", code: "EIO", message: "disk gone", retry: "no" }, 2));
    expect(t.state.steps.at(-1)).toMatchObject({ step: "list-keys", status: "failed", detail: "EIO: disk gone" });
    expect(errorOf(t.state)).toEqual({
      kind: "store",
      store: "memory:test",
      code: "EIO",
      message: "disk gone",
      cause: { source: "store", code: "EIO", message: "disk gone", retry: "no", phase: "listing-keys" },
      report: reportOf(t.state),
    });
    const aborted = transition(reach.listing(), { type: "abort", at: 2 }).state;
    expect(aborted).toMatchObject({
      outcome: "failed",
      aborted: true,
      failure: { code: "Aborted", message: "the rotation was aborted before a key was created" },
    });
    expect(errorOf(aborted)?.kind).toBe("aborted");
  });

  test("the 2-key limit: each refusal says why and what to do", () => {
    const active = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Active" },
    ];
    const refused = transition(reach.listing(), { type: "keysListed", keys: active, at: 2 }).state;
    expect(refused.failure).toMatchObject({ code: "TwoKeys", phase: "listing-keys" });
    expect(errorOf(refused)).toMatchObject({
      kind: "limit",
      message: `IAM user alice already has 2 access keys (${OLD} Active, ${OTHER} Active), the most IAM allows; nothing was created: delete the key you no longer use, or allow keyup to delete an Inactive one`,
      keys: active,
    });
    expect(refused.nextSteps).toEqual([{ type: "allow-delete-inactive" }]);

    const allowed = transition(reach.listing({ ...named, onLimit: "delete-inactive" }), { type: "keysListed", keys: active, at: 2 }).state;
    expect(errorOf(allowed)?.message).toBe(
      `IAM user alice already has 2 access keys (${OLD} Active, ${OTHER} Active), the most IAM allows; nothing was created: the other key ${OTHER} is Active, and only an Inactive key held by no store may be deleted automatically`,
    );
    expect(allowed.nextSteps).toEqual([]);

    const inactive = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Inactive" },
    ];
    const grace = "2026-03-01T00:00:00.000Z";
    const listed = transition(reach.listing(), { type: "keysListed", keys: inactive, at: 2 }).state;
    const kept = transition(listed, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: grace }, at: Date.parse(grace) - 1 }).state;
    expect(errorOf(kept)?.message).toBe(
      `IAM user alice already has 2 access keys (${OLD} Active, ${OTHER} Inactive); the Inactive ${OTHER} is kept until ${grace} (its grace period), so nothing was created: clean it up after that, or delete it by hand`,
    );
    expect(kept.failure?.phase).toBe("checking-grace");
    expect(kept.nextSteps).toEqual([{ type: "cleanup-after", accessKeyId: OTHER, after: grace }]);
    // The grace period ends at the tagged instant.
    const ended = transition(listed, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: grace }, at: Date.parse(grace) });
    expect(ended.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
    // An Inactive other key without a grace tag and a refusing config: the plain limit.
    expect(errorOf(transition(listed, { type: "tagsListed", tags: {}, at: 3 }).state)?.message).toContain("the most IAM allows");

    const guarded = transition(reach.listing({ ...named, inUseGuard: true }), { type: "keysListed", keys: active, at: 2 }).state;
    const held = transition(guarded, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: grace }, at: 3 }).state;
    expect(errorOf(held)?.message).toBe(
      `IAM user alice already has 2 access keys (${OLD} Active, ${OTHER} Active); ${OTHER} was kept Active until ${grace} because something used it before the last rotation, so nothing was created: run cleanup after that (it deletes the key unless a use after the last rotation is recorded)`,
    );
    // An Active other key without the guard's tag: the plain limit again.
    expect(errorOf(transition(guarded, { type: "tagsListed", tags: {}, at: 3 }).state)?.message).toContain("the most IAM allows");
    // One key: no limit, whatever the guard says.
    expect(transition(reach.listing({ ...named, inUseGuard: true }), { type: "keysListed", keys: [active[0] as (typeof active)[0]], at: 2 }).effects).toEqual([
      { type: "backupStore" },
    ]);
  });

  test("IAM's own LimitExceeded on create is a limit error listing the keys", () => {
    const t = transition(reach.creating(), failed(aws("LimitExceeded"), 4)).state;
    expect(t).toMatchObject({ outcome: "failed", failure: { code: "LimitExceeded", phase: "creating" } });
    expect(errorOf(t)).toMatchObject({ kind: "limit", message: "LimitExceeded said no", keys: [{ accessKeyId: OLD, status: "Active" }] });
  });
});

describe("a failed CreateAccessKey: only a definite refusal proves nothing was created", () => {
  test.each([
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "LimitExceeded",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "MissingSigningKey",
    "NoSuchEntity",
    "OptInRequired",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ValidationError",
  ])("%s: ends failed at once, no reconcile", (code) => {
    const t = transition(reach.creating(), failed(aws(code, "auth"), 4));
    expect(t.effects).toEqual([]);
    expect(t.state).toMatchObject({ outcome: "failed", failure: { code, phase: "creating" } });
    expect(t.state.steps.map((s) => s.step)).not.toContain("reconcile");
  });

  test.each(["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"])(
    "%s: refused for its rate, so wait and create again",
    (code) => {
      const t = transition(reach.creating(), failed(aws(code, "service"), 4));
      expect(t.effects).toEqual([{ type: "wait", ms: 100 }]);
      expect(t.state.phase).toBe("creating");
    },
  );

  test("anything else may hide a created key: reconcile (an unknown AWS error, a 5xx, an abort in flight)", () => {
    for (const failure of [
      aws("SomethingNew"),
      aws("InternalFailure", "service"),
      { source: "keyup", code: "Aborted", message: "aborted", retry: "no" } as Failure,
    ]) {
      const t = transition(reach.creating(), failed(failure, 4));
      expect(t.effects, failure.code).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "old" }]);
      expect(t.state.createRequested, failure.code).toBe(true);
    }
    // A store or journal failure happens before any request: nothing to look for. A store error
    // named like a throttle is no throttle.
    const local = transition(reach.creating(), failed({ source: "store", code: "EIO", message: "no", retry: "no" }, 4));
    expect(local.state.outcome).toBe("failed");
    const storeThrottle = transition(reach.creating(), failed({ source: "store", code: "Throttling", message: "no", retry: "service" }, 4));
    expect(storeThrottle.effects[0]?.type).toBe("listAccessKeys");
  });
});

describe("verification errors", () => {
  test("a new key that authenticates as someone else: the error names both", () => {
    const other = "arn:aws:iam::123456789012:user/mallory";
    const byName = transition(reach.verifying(), { type: "verified", arn: other, at: 6 }).state;
    expect(byName.failure).toMatchObject({ code: "IdentityMismatch", message: `the new key ${NEW} authenticates as ${other}, not as IAM user alice` });
    const byArn = drive(
      [
        { type: "verified", arn: "arn:aws:iam::123456789012:user/other/alice", at: 6 },
        { type: "storeRestored", at: 7 },
        { type: "keyDeleted", accessKeyId: NEW, at: 8 },
      ],
      reach.verifying(defaultRotationConfig),
    ).state;
    expect(byArn.outcome).toBe("rolled-back");
    expect(errorOf(byArn)).toMatchObject({
      kind: "verify",
      message: `the new key ${NEW} authenticates as arn:aws:iam::123456789012:user/other/alice, not as ${ARN} The new key ${NEW} was deleted and memory:test holds its previous content.`,
    });
    // Known by name only, any path of that user matches; a role session of the same name does not.
    expect(transition(reach.verifying(), { type: "verified", arn: "arn:aws:iam::123456789012:user/team/alice", at: 6 }).state.failure).toBeUndefined();
    expect(transition(reach.verifying(), { type: "verified", arn: "arn:aws:sts::123456789012:assumed-role/alice/s", at: 6 }).state.failure?.code).toBe(
      "IdentityMismatch",
    );
  });

  test("successes count toward the backoff: a failure after a success waits as a second retry", () => {
    const once = transition(reach.verifying(), { type: "verified", arn: ARN, at: 6 }).state;
    const t = transition(once, failed(aws("InvalidClientTokenId", "auth"), 7, 0));
    expect(t.effects).toEqual([{ type: "wait", ms: 200 }]);
    expect(t.state.steps.at(-1)?.detail).toBe("InvalidClientTokenId; retry 2 in 200 ms");
    expect(t.state).toMatchObject({ consecutiveSuccesses: 0, verifyAttempts: 2 });
  });

  test("AccessDenied while verifying is a missing permission: an aws error and the permission to grant", () => {
    const denied = transition(reach.verifying(), failed(aws("AccessDenied", "no", { operation: "GetUser" } as Partial<Failure>), 6)).state;
    expect(denied.nextSteps).toEqual([{ type: "grant-permission", userName: "alice", action: "iam:GetUser" }]);
    const end = drive(
      [
        { type: "storeRestored", at: 7 },
        { type: "keyDeleted", accessKeyId: NEW, at: 8 },
      ],
      denied,
    ).state;
    expect(errorOf(end)).toMatchObject({ kind: "aws", operation: "GetUser", code: "AccessDenied" });
    const noOperation = transition(reach.verifying(), failed(aws("AccessDeniedException"), 6)).state;
    expect(noOperation.nextSteps).toEqual([{ type: "grant-permission", userName: "alice", action: "iam:ListAccessKeys" }]);
    expect(errorOf(noOperation)).toMatchObject({ kind: "aws", operation: "unknown", code: "AccessDeniedException" });
    // Another refusal is a key that failed to verify; a store's AccessDenied asks for no IAM permission.
    const other = transition(reach.verifying(), failed(aws("InvalidClientTokenId"), 6)).state;
    expect(other.nextSteps).toBeUndefined();
    expect(errorOf(other)).toMatchObject({ kind: "verify", attempts: 1 });
    expect(transition(reach.verifying(), failed({ source: "store", code: "AccessDenied", message: "no", retry: "no" }, 6)).state.nextSteps).toBeUndefined();
  });

  test("an abort while verifying rolls back without waiting for another attempt", () => {
    const aborted = transition(reach.verifying(), { type: "abort", at: 6 }).state;
    expect(aborted).toMatchObject({ phase: "restoring", aborted: true, failure: { code: "Aborted" } });
    const flagged = { ...reach.verifying(), aborted: true };
    expect(transition(flagged, failed(aws("InvalidClientTokenId", "auth"), 6)).effects).toEqual([{ type: "restoreStore", backup }]);
  });
});

describe("rollback failures leave steps for a person", () => {
  test("a failed delete of the new key: rollback-failed, the error names both failures and what is left", () => {
    const end = transition(reach.deletingNew(), failed(aws("AccessDenied", "auth"), 11)).state;
    expect(end).toMatchObject({ outcome: "rollback-failed", failedRollbackPhase: "deleting-new", keepJournal: true, leftoverKeyIds: [NEW] });
    expect(end.steps.at(-1)).toMatchObject({ step: "delete-new-key", status: "failed", detail: "AccessDenied: AccessDenied said no" });
    const error = errorOf(end);
    expect(error).toMatchObject({
      kind: "rollback-failed",
      message: `rotation failed (AccessDenied: AccessDenied said no) and rolling back failed too (AccessDenied: AccessDenied said no). Left behind: ${NEW}. To finish by hand: delete IAM user alice's access key ${NEW} (DeleteAccessKey)`,
      cause: { code: "AccessDenied" },
    });
    expect(error?.report).toEqual(reportOf(end));
  });

  test("a failed reconcile: nothing known in IAM, find the lost key by hand", () => {
    const end = transition(reach.reconciling(), failed(aws("AccessDenied", "auth"), 5)).state;
    expect(end.outcome).toBe("rollback-failed");
    expect(end.nextSteps).toEqual([{ type: "find-lost-key", userName: "alice", keepAccessKeyId: OLD }]);
    expect(errorOf(end)?.message).toMatch(
      /^rotation failed \(AccessDenied: AccessDenied said no\) and rolling back failed too \(AccessDenied: AccessDenied said no\)\. Left behind: nothing in IAM\. To finish by hand: CreateAccessKey's answer was lost/,
    );
  });

  test("a failed delete of an orphan key names that key", () => {
    const orphan = transition(reach.reconciling(), {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: OTHER, status: "Active" },
      ],
      at: 5,
    }).state;
    const end = transition(orphan, failed(aws("AccessDenied", "auth"), 6)).state;
    expect(end).toMatchObject({
      outcome: "rollback-failed",
      leftoverKeyIds: [OTHER],
      nextSteps: [{ type: "delete-key", userName: "alice", accessKeyId: OTHER }],
    });
  });

  test("a failed restore: the report keeps the backup's location and says how to check the store", () => {
    const end = transition(reach.restoring(), failed({ source: "store", code: "EIO", message: "disk gone", retry: "no" }, 10)).state;
    expect(end.nextSteps).toEqual([
      { type: "check-store", store: "memory:test", userName: "alice", oldAccessKeyId: OLD, newAccessKeyId: NEW, backup: backup.location },
    ]);
    expect(reportOf(end).leftovers).toEqual({ accessKeyIds: [NEW], backup: backup.location });
    // The error's message carries every manual step, one after another.
    expect(errorOf(end)?.message).toBe(
      `rotation failed (AccessDenied: AccessDenied said no) and rolling back failed too (EIO: disk gone). Left behind: ${NEW}. To finish by hand: ${reportOf(end).manualSteps.join("; ")}`,
    );
    expect(reportOf(end).manualSteps).toHaveLength(3);
    const inMemory = transition({ ...reach.restoring(), backup: { id: "sha256:abc" } } as RotationState, failed(aws("EIO"), 10)).state;
    expect(inMemory.nextSteps).toEqual([{ type: "check-store", store: "memory:test", userName: "alice", oldAccessKeyId: OLD, newAccessKeyId: NEW }]);
    // The backup is a leftover only of a failed restore: a failed delete of the new key left the store as it was.
    expect(reportOf(transition(reach.deletingNew(), failed(aws("AccessDenied"), 11)).state).leftovers).toEqual({ accessKeyIds: [NEW] });
  });

  test("only throttling and server trouble are retried in a rollback; an abort lets it finish without retries", () => {
    expect(transition(reach.deletingNew(), failed(aws("Throttling", "service"), 11)).effects).toEqual([{ type: "wait", ms: 100 }]);
    expect(transition(reach.deletingNew(), failed(aws("InvalidClientTokenId", "auth"), 11)).state.outcome).toBe("rollback-failed");
    const aborted = transition(reach.deletingNew(), { type: "abort", at: 11 });
    expect(aborted.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: NEW, signer: "old" }]);
    expect(aborted.state.aborted).toBe(true);
    // An aborted reconcile does not list again for a lagging key, and does not create again: it ends
    // with the create's own failure.
    const reconcile = transition(reach.reconciling(), { type: "abort", at: 5 }).state;
    const listed = transition(reconcile, { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 6 });
    expect(listed.state).toMatchObject({ phase: "done", outcome: "failed", failure: { code: "InternalFailure", phase: "creating" } });
  });

  test("the MFA session expiring mid-rollback stops it (failed, journal kept) with what is left, for recover to finish", () => {
    for (const code of ["ExpiredToken", "ExpiredTokenException"]) {
      const end = transition(reach.deletingNew(), failed(aws(code, "auth"), 11)).state;
      expect(end).toMatchObject({ outcome: "failed", keepJournal: true, failedRollbackPhase: "deleting-new", failure: { code, phase: "deleting-new" } });
      expect(end.failure?.message).toBe(
        `the MFA session expired during the rollback's delete-new-key (rolling back because of AccessDenied: AccessDenied said no): IAM still has the new key ${NEW}. Run recover with a fresh MFA code to finish the rollback (the journal keeps the state)`,
      );
      const retried = resumeState(end, 100);
      expect(retried?.steps.at(-1)?.detail).toBe("retrying the failed delete-new-key");
    }
    const restoring = transition(reach.restoring(), failed(aws("ExpiredToken", "auth"), 10)).state;
    expect(restoring.failure?.message).toBe(
      `the MFA session expired during the rollback's restore-store (rolling back because of AccessDenied: AccessDenied said no): IAM still has the new key ${NEW}; memory:test may still hold the new key. Run recover with a fresh MFA code to finish the rollback (the journal keeps the state)`,
    );
    const reconciling = transition(reach.reconciling(), failed(aws("ExpiredToken", "auth"), 5)).state;
    expect(reconciling.failure?.message).toBe(
      "the MFA session expired during the rollback's reconcile: nothing is left to undo in IAM. Run recover with a fresh MFA code to finish the rollback (the journal keeps the state)",
    );
    // A session error from a store is no session expiry.
    expect(transition(reach.deletingNew(), failed({ source: "store", code: "ExpiredToken", message: "no", retry: "no" }, 11)).state.outcome).toBe(
      "rollback-failed",
    );
  });
});

describe("after verification, failures are warnings", () => {
  test("retiring fails: completed-with-warnings, naming the key and the steps left", () => {
    const deactivate = transition(reach.verified(), failed(aws("AccessDenied"), 9)).state;
    expect(deactivate).toMatchObject({ outcome: "completed-with-warnings", oldKeyState: "active" });
    expect(deactivate.warnings).toEqual([`the old key ${OLD} could not be deactivated (AccessDenied: AccessDenied said no); it is still Active`]);
    expect(deactivate.nextSteps).toEqual([
      { type: "deactivate-key", userName: "alice", accessKeyId: OLD },
      { type: "delete-key", userName: "alice", accessKeyId: OLD },
    ]);
    expect(deactivate.steps.at(-1)).toMatchObject({ step: "deactivate-old-key", status: "failed", detail: "AccessDenied: AccessDenied said no" });
    const onlyDeactivate = transition(reach.verified({ ...named, oldKey: "deactivate" }), failed(aws("AccessDenied"), 9)).state;
    expect(onlyDeactivate.nextSteps).toEqual([{ type: "deactivate-key", userName: "alice", accessKeyId: OLD }]);

    const deleting = transition(reach.verified(), { type: "keyUpdated", accessKeyId: OLD, at: 9 }).state;
    const del = transition(deleting, failed(aws("AccessDenied"), 10)).state;
    expect(del).toMatchObject({ outcome: "completed-with-warnings", oldKeyState: "inactive" });
    expect(del.warnings).toEqual([`the old key ${OLD} could not be deleted (AccessDenied: AccessDenied said no); it is Inactive`]);
    expect(del.nextSteps).toEqual([{ type: "delete-key", userName: "alice", accessKeyId: OLD }]);
    expect(errorOf(del)).toBeUndefined();
    // An abort while retiring: the same, with the abort as the cause.
    const aborted = transition(reach.verified(), { type: "abort", at: 9 }).state;
    expect(aborted.warnings).toEqual([`the old key ${OLD} could not be deactivated (Aborted: the rotation was aborted by its caller); it is still Active`]);
    // Retried while IAM may answer, not after an abort.
    expect(transition(reach.verified(), failed(aws("Throttling", "service"), 9)).effects).toEqual([{ type: "wait", ms: 100 }]);
    expect(transition({ ...reach.verified(), aborted: true }, failed(aws("Throttling", "service"), 9)).state.outcome).toBe("completed-with-warnings");
  });

  test("a tag call fails: a warning naming the tag, and the rotation goes on", () => {
    const described = { ...named, description: "ci", oldKey: "deactivate" as const, keepOldForMs: 60_000 };
    const tagging = reach.verified(described);
    const noTag = transition(tagging, failed(aws("AccessDenied", "no"), 9));
    expect(noTag.effects[0]).toMatchObject({ type: "updateAccessKey", accessKeyId: OLD });
    expect(noTag.state.warnings).toEqual(["could not update the new key's description tag (AccessDenied: AccessDenied said no)"]);
    expect(noTag.state.steps.at(-1)).toMatchObject({ step: "tag-new-key", status: "failed", detail: "AccessDenied" });
    expect(transition(tagging, failed(aws("Throttling", "service"), 9)).effects).toEqual([{ type: "wait", ms: 100 }]);
    expect(transition({ ...tagging, aborted: true }, failed(aws("Throttling", "service"), 9)).effects[0]?.type).toBe("updateAccessKey");

    const grace = transition(noTag.state, { type: "keyUpdated", accessKeyId: OLD, at: 10 }).state;
    const noGrace = transition(grace, failed(aws("AccessDenied"), 11)).state;
    expect(noGrace.outcome).toBe("completed-with-warnings");
    expect(noGrace.warnings.at(-1)).toBe("could not update the old key's grace-period tag (AccessDenied: AccessDenied said no)");

    const untag = drive(
      [
        { type: "userTagged", at: 9 },
        { type: "keyUpdated", accessKeyId: OLD, at: 10 },
        { type: "keyDeleted", accessKeyId: OLD, at: 11 },
        failed(aws("AccessDenied"), 12),
      ],
      reach.verified({ ...named, description: "ci" }),
    ).state;
    expect(untag).toMatchObject({ outcome: "completed-with-warnings", warnings: ["could not update the old key's tags (AccessDenied: AccessDenied said no)"] });
  });

  test("an abort after verification: the new key works, the old one was not retired", () => {
    const tagging = reach.verified({ ...named, description: "ci" });
    const t = transition(tagging, { type: "abort", at: 9 }).state;
    expect(t).toMatchObject({ outcome: "completed-with-warnings", aborted: true, warnings: [`aborted before the old key ${OLD} was retired`] });
    expect(t.steps.at(-1)).toMatchObject({ step: "tag-new-key", status: "failed", detail: "aborted" });
  });

  test("an unexpected event ends as safely as the phase's group allows, and is reported as a keyup bug", () => {
    const storeRead: RotationEvent = { type: "storeRead", accessKeyId: OLD, at: 20 };
    const inspect = transition(reach.listing(), storeRead).state;
    expect(errorOf(inspect)).toMatchObject({ kind: "internal", message: "keyup bug: event storeRead in phase listing-keys" });
    expect(inspect.steps.at(-1)).toMatchObject({ step: "list-keys", status: "failed" });
    const forward = transition(reach.verifying(), storeRead);
    expect(forward.effects).toEqual([{ type: "restoreStore", backup }]);
    const retire = transition(reach.verified(), storeRead).state;
    expect(retire).toMatchObject({ outcome: "completed-with-warnings", oldKeyState: "active" });
    expect(retire.warnings).toEqual([
      `the old key ${OLD} could not be deactivated (UnexpectedEvent: keyup bug: event storeRead in phase deactivating); it is still Active`,
    ]);
    const bookkeeping = transition(reach.verified({ ...named, description: "ci" }), storeRead).state;
    expect(bookkeeping).toMatchObject({ outcome: "completed-with-warnings", warnings: ["keyup bug: event storeRead in phase tagging-new"] });
    expect(bookkeeping.steps.at(-1)).toMatchObject({ step: "tag-new-key", status: "failed", detail: "keyup bug: event storeRead in phase tagging-new" });
    const rollback = transition(reach.deletingNew(), storeRead).state;
    expect(rollback).toMatchObject({ outcome: "rollback-failed", leftoverKeyIds: [NEW] });
    const resuming = transition(resumeState(reach.verified(), 30) as RotationState, storeRead).state;
    expect(resuming).toMatchObject({ outcome: "failed", keepJournal: true, failure: { code: "UnexpectedEvent", phase: "resuming" } });
    expect(errorOf(resuming)?.kind).toBe("internal");
    // The end is the end.
    const done = transition(reach.verified({ ...named, oldKey: "keep" }), storeRead);
    expect(done.effects).toEqual([]);
    expect(done.state.steps).toEqual(reach.verified({ ...named, oldKey: "keep" }).steps);
  });
});

describe("the in-use check of a journal from before it moved ahead of creation", () => {
  /** Verified and installed at 5, stopped in checking-use (as that version did). */
  const legacy = (config: RotationConfig = { ...named, inUseGuard: true }) => ({ ...reach.verified(config), phase: "checking-use" }) as RotationState;

  test("its effect asks with the new key; no use after the install: retire as usual", () => {
    const state = resumeState(legacy(), 20) as RotationState;
    expect(state.resuming?.phase).toBe("checking-use");
    const t = transition(legacy(), { type: "lastUsed", at: 20 });
    expect(t.effects[0]).toMatchObject({ type: "updateAccessKey", accessKeyId: OLD, signer: "new" });
    expect(t.state.steps.at(-1)).toMatchObject({ step: "check-old-key-use", status: "ok", detail: "never used" });
    expect(t.state).toMatchObject({ loopStartedAt: 20, retries: { retire: 0 } });
    const before = transition(legacy(), { type: "lastUsed", date: new Date(5).toISOString(), at: 20 });
    expect(before.state.steps.at(-1)?.detail).toBe(`last used ${new Date(5).toISOString()}, before the new key was installed`);
    expect(before.effects[0]?.type).toBe("updateAccessKey");
    expect(transition(legacy(), { type: "lastUsed", date: "not a date", at: 20 }).effects[0]?.type).toBe("updateAccessKey");
  });

  test("a use after the install: the old key is left Active (or only deactivated), with a warning and the steps left", () => {
    const used = new Date(6).toISOString();
    const kept = transition(legacy(), { type: "lastUsed", date: used, serviceName: "s3", region: "us-east-1", at: 20 }).state;
    const warning = `the old key ${OLD} was used at ${used} (s3 in us-east-1) after the new key was installed: something still uses it, so it was left Active; update that consumer, then retire the key (or rerun without the in-use guard)`;
    expect(kept).toMatchObject({
      outcome: "completed-with-warnings",
      oldKeyState: "active",
      warnings: [warning],
      oldKeyInUse: { date: used, serviceName: "s3", region: "us-east-1" },
    });
    expect(kept.nextSteps).toEqual([{ type: "delete-key", userName: "alice", accessKeyId: OLD }, { type: "skip-in-use-guard" }]);
    const deactivated = transition(legacy({ ...named, inUseGuard: true, oldKey: "deactivate" }), { type: "lastUsed", date: used, at: 20 });
    expect(deactivated.effects[0]).toMatchObject({ type: "updateAccessKey", accessKeyId: OLD });
    expect(deactivated.state.warnings).toEqual([
      `the old key ${OLD} was used at ${used} (an unknown service) after the new key was installed: something still uses it, so it was deactivated but not deleted; update that consumer, then retire the key (or rerun without the in-use guard)`,
    ]);
    expect(deactivated.state.nextSteps).toEqual([{ type: "skip-in-use-guard" }]);
    expect(deactivated.state.oldKeyInUse).toEqual({ date: used });
    expect(deactivated.state.steps.at(-1)).toMatchObject({ step: "check-old-key-use", status: "failed" });
  });

  test("after retries of the check, retiring starts its own count afresh", () => {
    const throttled = drive(
      [failed(aws("Throttling", "service"), 20), { type: "waited", at: 200 }, failed(aws("Throttling", "service"), 201), { type: "waited", at: 500 }],
      legacy(),
    ).state;
    expect(throttled.retries.retire).toBe(2);
    const never = transition(throttled, { type: "lastUsed", at: 600 }).state;
    expect(never).toMatchObject({ phase: "deactivating", loopStartedAt: 600, retries: { retire: 0 } });
    const used = transition({ ...throttled, config: { ...throttled.config, oldKey: "deactivate" } } as RotationState, {
      type: "lastUsed",
      date: new Date(6).toISOString(),
      at: 600,
    }).state;
    expect(used).toMatchObject({ phase: "deactivating", loopStartedAt: 600, retries: { retire: 0 } });
  });

  test("the check fails: retried while it may help, else the old key is kept and the warning says why", () => {
    expect(transition(legacy(), failed(aws("Throttling", "service"), 20)).effects).toEqual([{ type: "wait", ms: 100 }]);
    const kept = transition(legacy(), failed(aws("AccessDenied"), 20)).state;
    expect(kept).toMatchObject({ outcome: "completed-with-warnings", oldKeyState: "active" });
    expect(kept.warnings).toEqual([
      `could not tell whether the old key ${OLD} is still used (AccessDenied); it was left Active: retire it by hand, or rerun without the in-use guard`,
    ]);
    expect(kept.nextSteps).toEqual([{ type: "delete-key", userName: "alice", accessKeyId: OLD }, { type: "skip-in-use-guard" }]);
    expect(transition({ ...legacy(), aborted: true } as RotationState, failed(aws("Throttling", "service"), 20)).state.outcome).toBe("completed-with-warnings");
    const aborted = transition(legacy(), { type: "abort", at: 20 }).state;
    expect(aborted).toMatchObject({ outcome: "completed-with-warnings", warnings: [`aborted before the old key ${OLD} was retired`] });
  });
});

describe("the in-use check before creation fails", () => {
  const checking = () => reach.checkingUse({ ...named, inUseGuard: true });

  test("AccessDenied stops at once; another failure after its retries; both name the permission and nothing was created", () => {
    for (const failure of [aws("AccessDenied", "auth"), aws("AccessDeniedException", "auth"), aws("InvalidClientTokenId", "no")]) {
      const t = transition(checking(), failed(failure, 2));
      expect(t.effects, failure.code).toEqual([]);
      expect(t.state, failure.code).toMatchObject({
        outcome: "failed",
        nextSteps: [{ type: "skip-in-use-guard" }],
        failure: { code: failure.code, phase: "checking-use" },
      });
      expect(t.state.failure?.message).toBe(
        `could not read when the old key ${OLD} was last used (${failure.code} said no); nothing was created: allow iam:GetAccessKeyLastUsed, or rotate without the in-use guard`,
      );
    }
    expect(transition(checking(), failed(aws("InvalidClientTokenId", "auth"), 2)).effects).toEqual([{ type: "wait", ms: 100 }]);
    expect(transition({ ...checking(), aborted: true }, failed(aws("Throttling", "service"), 2)).state.outcome).toBe("failed");
    const aborted = transition(checking(), { type: "abort", at: 2 }).state;
    expect(aborted).toMatchObject({
      outcome: "failed",
      aborted: true,
      failure: { code: "Aborted", message: "the rotation was aborted before a key was created" },
    });
  });
});

describe("errorOf and reportOf", () => {
  const done = (extra: Partial<RotationState>) => ({ ...reach.listing(), phase: "done", ...extra }) as RotationState;

  test("each keyup failure maps to its error kind", () => {
    const keyup = (code: string, message = "msg") =>
      done({ outcome: "failed", failure: { source: "keyup", code, message, retry: "no", phase: "verifying" } as never });
    for (const code of ["NoKeyInStore", "IdentityNotUser", "KeyNotOwned", "NewKeyGone", "SessionTooShort"]) {
      expect(errorOf(keyup(code)), code).toMatchObject({ kind: "config", message: "msg", cause: { code } });
    }
    for (const code of ["VerifyTimeout", "IdentityMismatch"]) {
      expect(errorOf({ ...keyup(code), verifyAttempts: 4 }), code).toMatchObject({ kind: "verify", attempts: 4, message: "msg", cause: { code } });
    }
    expect(errorOf(keyup("Aborted"))).toMatchObject({ kind: "aborted", message: "msg", cause: { code: "Aborted" } });
    expect(errorOf(keyup("UnexpectedEvent"))).toMatchObject({ kind: "internal", message: "msg", cause: { code: "UnexpectedEvent" } });
    expect(errorOf({ ...keyup("TwoKeys"), keys: [{ accessKeyId: OLD, status: "Active", createDate: "x" }] } as RotationState)).toEqual({
      kind: "limit",
      message: "msg",
      keys: [{ accessKeyId: OLD, status: "Active" }],
      report: expect.anything(),
    });
    expect(errorOf(keyup("JournalWriteFailed"), "/j.json")).toMatchObject({
      kind: "journal",
      location: "/j.json",
      message: "msg",
      cause: { code: "JournalWriteFailed" },
    });
    for (const code of ["JournalUserGone", "JournalKeysInvalid"]) {
      expect(errorOf(keyup(code), "/j.json"), code).toMatchObject({ kind: "journal", location: "/j.json", message: "msg (journal: /j.json)", cause: { code } });
      expect(errorOf(keyup(code)), code).toMatchObject({ kind: "journal", location: "", message: "msg" });
    }
  });

  test("store and AWS failures: lock, store, limit, verify and aws errors", () => {
    const store = (code: string, extra = {}) =>
      done({ outcome: "failed", failure: { source: "store", code, message: "msg", retry: "no", phase: "installing", ...extra } as never });
    expect(errorOf(store("ELOCKED", { holder: "pid 42" }))).toMatchObject({ kind: "lock", store: "memory:test", holder: "pid 42", message: "msg" });
    expect(errorOf(store("ELOCKED"))).not.toHaveProperty("holder");
    expect(errorOf(store("ELOCKED"))).toMatchObject({ kind: "lock", cause: { code: "ELOCKED" } });
    expect(errorOf(store("EACCES"))).toMatchObject({ kind: "store", store: "memory:test", code: "EACCES", message: "msg", cause: { code: "EACCES" } });
    const awsIn = (phase: string, code: string) => done({ outcome: "failed", failure: { ...aws(code), phase, operation: "ListAccessKeys" } as never });
    expect(errorOf(awsIn("listing-keys", "AccessDenied"))).toMatchObject({
      kind: "aws",
      operation: "ListAccessKeys",
      code: "AccessDenied",
      message: "AccessDenied said no",
    });
    expect(errorOf(awsIn("verifying", "InvalidClientTokenId"))).toMatchObject({
      kind: "verify",
      message: "InvalidClientTokenId said no",
      cause: { code: "InvalidClientTokenId" },
    });
    expect(errorOf(awsIn("verifying", "AccessDeniedException"))).toMatchObject({ kind: "aws", code: "AccessDeniedException" });
    expect(errorOf(awsIn("verifying", "AccessDenied"))).toMatchObject({ kind: "aws", code: "AccessDenied" });
    // No failure recorded (a keyup bug): an internal error, never undefined.
    expect(errorOf(done({ outcome: "failed" }))).toMatchObject({ kind: "internal", message: "keyup bug: the rotation ended without an outcome" });
    // The last failure stands in when no failure was kept.
    expect(errorOf(done({ outcome: "failed", lastFailure: aws("Throttling", "service") }))).toMatchObject({ kind: "aws", code: "Throttling" });
    for (const outcome of ["rotated", "completed-with-warnings", "skipped"] as const) expect(errorOf(done({ outcome })), outcome).toBeUndefined();
  });

  test("the report: ids only when known, the duration from the start, the outcome 'failed' until there is one", () => {
    const fresh = initialRotationState("memory:test", named);
    const report = reportOf(fresh);
    // Strict: an id not known yet is absent, not a key holding undefined.
    expect(report).toStrictEqual({
      outcome: "failed",
      store: "memory:test",
      oldKey: "unknown",
      verifyAttempts: 0,
      durationMs: 0,
      steps: [],
      warnings: [],
      leftovers: { accessKeyIds: [] },
      nextSteps: [],
      manualSteps: [],
    });
    expect(reportOf(reach.verifying())).toMatchObject({ userName: "alice", oldAccessKeyId: OLD, newAccessKeyId: NEW, durationMs: 5 });
    expect(reportOf({ ...reach.listing(), startedAt: undefined, updatedAt: 7 } as RotationState).durationMs).toBe(0);
    expect(reportOf({ ...reach.listing(), startedAt: 9, updatedAt: 7 } as RotationState).durationMs).toBe(0);
    expect(reportOf({ ...reach.listing(), startedAt: 3, updatedAt: undefined } as RotationState).durationMs).toBe(0);
  });
});

describe("identity ARNs", () => {
  test.each([
    ["arn:aws:iam::123456789012:user/alice", { type: "user", account: "123456789012", name: "alice", path: "/" }],
    ["arn:aws:iam::123456789012:user/a/b/c", { type: "user", account: "123456789012", name: "c", path: "/a/b/" }],
    ["arn:aws:iam::123456789012:root", { type: "root", account: "123456789012" }],
    ["arn:aws:sts::123456789012:assumed-role/r/s", { type: "assumed-role", account: "123456789012" }],
    ["arn:aws:sts::123456789012:federated-user/f", { type: "federated-user", account: "123456789012" }],
    ["arn:aws:iam::123456789012:user/", { type: "unknown" }],
    ["arn:aws:iam::12345678901:user/alice", { type: "unknown" }],
    ["arn:aws:iam::1234567890123:user/alice", { type: "unknown" }],
    ["xarn:aws:iam::123456789012:user/alice", { type: "unknown" }],
    ["arn:aws:iam::123456789012:user/alice\nmore", { type: "unknown" }],
    ["arn:aws:iam::123456789012:", { type: "unknown" }],
    ["arn:aws:s3::123456789012:user/alice", { type: "unknown" }],
    ["arn:aws:sts::123456789012:user/alice", { type: "unknown" }],
    ["arn:aws:sts::123456789012:root", { type: "unknown" }],
    ["arn:aws:iam::123456789012:rootx", { type: "unknown" }],
    ["arn:aws:iam::123456789012:assumed-role/r/s", { type: "unknown" }],
    ["arn:aws:iam::123456789012:federated-user/f", { type: "unknown" }],
    ["arn:aws:sts::123456789012:xassumed-role/r", { type: "unknown" }],
    ["arn:aws:iam::123456789012:xuser/alice", { type: "unknown" }],
  ])("parseIdentityArn(%j) is exactly what the ARN says", (arn, expected) => {
    expect(parseIdentityArn(arn)).toEqual(expected);
  });
});

describe("the step a retry, a failure or an abort is recorded against", () => {
  const last = (s: RotationState) => {
    const step = s.steps.at(-1);
    return `${step?.step} ${step?.status}`;
  };

  test("the in-use check before creation: retries, failures and aborts are its own step", () => {
    const checking = () => reach.checkingUse({ ...named, inUseGuard: true });
    expect(last(transition(checking(), failed(aws("Throttling", "service"), 2)).state)).toBe("check-old-key-use retry");
    expect(last(transition(checking(), failed(aws("AccessDenied"), 2)).state)).toBe("check-old-key-use failed");
    expect(last(transition(checking(), { type: "abort", at: 2 }).state)).toBe("check-old-key-use failed");
    const legacy = { ...reach.verified({ ...named, inUseGuard: true }), phase: "checking-use" } as RotationState;
    expect(last(transition(legacy, { type: "abort", at: 9 }).state)).toBe("check-old-key-use failed");
    expect(last(transition(legacy, failed(aws("Throttling", "service"), 9)).state)).toBe("check-old-key-use retry");
    expect(last(transition(legacy, failed(aws("AccessDenied"), 9)).state)).toBe("check-old-key-use failed");
  });

  test("the tag steps after verification: an abort is recorded against the tag step it stopped", () => {
    const grace = drive([{ type: "keyUpdated", accessKeyId: OLD, at: 9 }], reach.verified({ ...named, oldKey: "deactivate", keepOldForMs: 60_000 })).state;
    expect(grace.phase).toBe("recording-grace");
    expect(last(transition(grace, { type: "abort", at: 10 }).state)).toBe("record-grace failed");
    expect(last(transition(grace, failed(aws("Throttling", "service"), 10)).state)).toBe("record-grace retry");
    const untag = drive(
      [
        { type: "userTagged", at: 9 },
        { type: "keyUpdated", accessKeyId: OLD, at: 10 },
        { type: "keyDeleted", accessKeyId: OLD, at: 11 },
      ],
      reach.verified({ ...named, description: "ci" }),
    ).state;
    expect(untag.phase).toBe("untagging-old");
    expect(last(transition(untag, { type: "abort", at: 12 }).state)).toBe("untag-old-key failed");
    expect(last(transition(untag, failed(aws("Throttling", "service"), 12)).state)).toBe("untag-old-key retry");
  });
});

describe("create, install and verify: the step each failure is recorded against, and what a resume finds", () => {
  const last = (s: RotationState) => `${s.steps.at(-1)?.step} ${s.steps.at(-1)?.status}`;

  test("create: a refusal, running out of time while throttled, and an abort are recorded against create-key", () => {
    expect(last(transition(reach.creating(), failed(aws("AccessDenied"), 4)).state)).toBe("create-key failed");
    expect(last(transition(reach.creating(), failed(aws("Throttling", "service"), 40_000)).state)).toBe("create-key failed");
    const aborted = transition(reach.creating(), { type: "abort", at: 4 }).state;
    expect(last(aborted)).toBe("create-key failed");
    // A run killed after the abort, while looking for a key the create may have made, looks again.
    const resumed = resumeState(aborted, 10);
    expect(resumed).toMatchObject({ phase: "resuming", resuming: { phase: "reconciling" } });
  });

  test("install: a failure and an abort are recorded against install, and the abort once", () => {
    const installing = transition(reach.creating(), { type: "keyCreated", accessKeyId: NEW, at: 4 }).state;
    expect(last(transition(installing, failed({ source: "store", code: "EIO", message: "no", retry: "no" }, 5)).state)).toBe("install failed");
    const aborted = transition(installing, { type: "abort", at: 5 }).state;
    expect(aborted).toMatchObject({ phase: "restoring", aborted: true, failure: { code: "Aborted", phase: "installing" } });
    expect(aborted.steps.at(-1)).toMatchObject({ step: "install", status: "failed", detail: "Aborted: the rotation was aborted by its caller" });
  });

  test("verify: a refusal and an abort are recorded against verify; the timeout says how long it tried", () => {
    expect(last(transition(reach.verifying(), failed(aws("InvalidClientTokenId"), 6)).state)).toBe("verify failed");
    expect(last(transition(reach.verifying(), { type: "abort", at: 6 }).state)).toBe("verify failed");
    const mismatch = transition(reach.verifying(), { type: "verified", arn: "arn:aws:iam::123456789012:user/bob", at: 6 }).state;
    expect(last(mismatch)).toBe("verify failed");
    expect(mismatch.failure).toMatchObject({ code: "IdentityMismatch", retry: "no" });
    const late = { ...reach.verifying({ ...named, verifyTimeoutMs: 1_000 }), loopStartedAt: 10_000 } as RotationState;
    const timedOut = transition(late, failed(aws("InvalidClientTokenId", "auth"), 12_000)).state;
    expect(timedOut.failure).toMatchObject({
      code: "VerifyTimeout",
      retry: "no",
      message: `the new key ${NEW} was still rejected (InvalidClientTokenId) after 1 attempts in 2 s (verify timeout 1 s)`,
    });
  });
});

describe("failures keyup detects before creating are final and recorded against their step", () => {
  test("no key in the store, a non-user identity, a key not owned, the 2-key limit", () => {
    const twoActive = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Active" },
    ];
    const inactive = [
      { accessKeyId: OLD, status: "Active" },
      { accessKeyId: OTHER, status: "Inactive" },
    ];
    const grace = { [graceTagKey(OTHER)]: "2999-01-01T00:00:00.000Z" };
    const guarded = { ...named, inUseGuard: true };
    const cases: [string, RotationState, string][] = [
      ["NoKeyInStore", transition(reach.readingStore(), { type: "storeRead", accessKeyId: undefined, at: 1 }).state, "read-store"],
      ["IdentityNotUser", transition(reach.resolving(), { type: "identityResolved", arn: "arn:aws:iam::123456789012:root", at: 2 }).state, "resolve-identity"],
      ["KeyNotOwned", transition(reach.listing(), { type: "keysListed", keys: [], at: 2 }).state, "list-keys"],
      ["TwoKeys", transition(reach.listing(), { type: "keysListed", keys: twoActive, at: 2 }).state, "list-keys"],
      [
        "TwoKeys",
        drive(
          [
            { type: "keysListed", keys: inactive, at: 2 },
            { type: "tagsListed", tags: grace, at: 3 },
          ],
          reach.listing(),
        ).state,
        "check-grace",
      ],
      [
        "TwoKeys",
        drive(
          [
            { type: "keysListed", keys: twoActive, at: 2 },
            { type: "tagsListed", tags: grace, at: 3 },
          ],
          reach.listing(guarded),
        ).state,
        "check-grace",
      ],
      ["TwoKeys", drive([{ type: "keysListed", keys: inactive, at: 2 }, failed(aws("AccessDenied"), 3)], reach.listing()).state, "check-grace"],
    ];
    for (const [code, state, step] of cases) {
      expect(state.failure, `${code} at ${step}`).toMatchObject({ source: "keyup", code, retry: "no" });
      expect(state.steps.at(-1), `${code} at ${step}`).toMatchObject({ step, status: "failed" });
      expect(state.outcome).toBe("failed");
    }
  });
});
