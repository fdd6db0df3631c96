// Edges of the machine's public helpers a runner relies on: when a rotation is over, which effect a
// phase runs (and that phases without one say so), and cases the paths do not meet on the way.
import {
  defaultRotationConfig,
  effectFor,
  errorOf,
  type Failure,
  graceTagKey,
  initialRotationState,
  isTerminal,
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
const ARN = "arn:aws:iam::123456789012:user/alice";
const backup = { id: "sha256:abc", location: "/tmp/credentials.keyup-backup" };
const named: RotationConfig = { ...defaultRotationConfig, userName: "alice" };

const drive = (events: RotationEvent[], from: RotationState) => events.reduce((s, e) => transition(s, e).state, from);
const start = (config = named) => drive([{ type: "start", at: 0 }], initialRotationState("memory:test", config));
const aws = (code: string, retry: Failure["retry"] = "no"): Failure => ({ source: "aws", code, message: `${code} said no`, retry });
const failedEvent = (failure: Failure, at: number, random = 0): RotationEvent => ({ type: "effectFailed", effect: "verify", failure, at, random });

/** Installed and verified, with the user named (no identity call). */
function verified(config: RotationConfig = named): RotationState {
  return drive(
    [
      { type: "storeRead", accessKeyId: OLD, at: 1 },
      ...(config.inUseGuard ? [{ type: "lastUsed", at: 1 } as const] : []),
      { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
      { type: "storeBackedUp", backup, at: 3 },
      { type: "keyCreated", accessKeyId: NEW, at: 4 },
      { type: "installed", at: 5 },
      { type: "verified", arn: ARN, at: 6 },
      { type: "waited", at: 7 },
      { type: "verified", arn: ARN, at: 8 },
    ],
    start(config),
  );
}

describe("isTerminal and effectFor", () => {
  test("a rotation is over only once done, whatever the outcome", () => {
    expect(isTerminal(initialRotationState("memory:test", named))).toBe(false);
    expect(isTerminal(start())).toBe(false);
    const ended = transition(start(), { type: "storeRead", accessKeyId: undefined, at: 1 }).state;
    expect(ended.outcome).toBe("failed");
    expect(isTerminal(ended)).toBe(true);
    expect(
      isTerminal(
        drive(
          [
            { type: "keyUpdated", accessKeyId: OLD, at: 9 },
            { type: "keyDeleted", accessKeyId: OLD, at: 10 },
          ],
          verified(),
        ),
      ),
    ).toBe(true);
  });

  test("before its start and after its end a rotation has no effect to run: asking is a keyup bug", () => {
    expect(() => effectFor(initialRotationState("memory:test", named))).toThrow("keyup bug: no effect for phase idle");
    expect(() => effectFor(transition(start(), { type: "storeRead", accessKeyId: undefined, at: 1 }).state)).toThrow("keyup bug: no effect for phase done");
  });

  test("a journal stopped in the in-use check after install asks with the new key, again after a wait", () => {
    const legacy = { ...verified({ ...named, inUseGuard: true }), phase: "checking-use" } as RotationState;
    expect(effectFor(legacy)).toEqual({ type: "getAccessKeyLastUsed", accessKeyId: OLD, signer: "new" });
    const waited = drive([failedEvent(aws("Throttling", "service"), 9), { type: "waited", at: 200 }], legacy);
    expect(effectFor(waited)).toEqual({ type: "getAccessKeyLastUsed", accessKeyId: OLD, signer: "new" });
    const credentials = { ...legacy, config: { ...legacy.config, iamSigner: "credentials" } } as RotationState;
    expect(effectFor(credentials)).toMatchObject({ signer: "credentials" });
  });
});

describe("cases the usual paths do not meet", () => {
  test("the store's key is Inactive in IAM: the report says so when the rotation stops", () => {
    const listed = transition(drive([{ type: "storeRead", accessKeyId: OLD, at: 1 }], start()), {
      type: "keysListed",
      keys: [{ accessKeyId: OLD, status: "Inactive", createDate: new Date(0).toISOString() }],
      at: 2,
    }).state;
    expect(listed.oldKeyState).toBe("inactive");
    const stopped = transition(listed, { type: "abort", at: 3 }).state;
    expect(reportOf(stopped).oldKey).toBe("inactive");
  });

  test("a key created in the future (clock skew) is 0 minutes old", () => {
    const t = transition(drive([{ type: "storeRead", accessKeyId: OLD, at: 1 }], start({ ...named, minAgeMs: 60_000 })), {
      type: "keysListed",
      keys: [{ accessKeyId: OLD, status: "Active", createDate: new Date(10 * 60_000).toISOString() }],
      at: 2,
    }).state;
    expect(t.steps.at(-1)?.detail).toBe(`${OLD} is 0m old, younger than 1m: nothing to do`);
  });

  test("a journal check whose old key's signature does not match either: neither key is valid, nothing changed", () => {
    const resumed = resumeState(verified(), 20) as RotationState;
    const withOld = transition(resumed, failedEvent(aws("SignatureDoesNotMatch", "auth"), 21)).state;
    expect(effectFor(withOld)).toEqual({ type: "listAccessKeys", userName: "alice", signer: "old" });
    const refused = transition(withOld, failedEvent(aws("SignatureDoesNotMatch", "auth"), 22)).state;
    expect(refused).toMatchObject({ outcome: "failed", keepJournal: true, failure: { code: "JournalKeysInvalid" } });
    expect(errorOf(refused, "/j")?.message).toBe(
      `neither key recorded in the rotation journal (${NEW}, ${OLD}) is valid any more; nothing was changed. Check the store and IAM, then move the journal aside (journal: /j)`,
    );
    // Another failure of the check (the service, say) keeps the journal and says what happened.
    const other = transition(withOld, failedEvent(aws("ServiceUnavailable", "service"), 22)).state;
    expect(other).toMatchObject({ outcome: "failed", keepJournal: true, failure: { code: "ServiceUnavailable", phase: "resuming" } });
    const gone = transition(resumed, failedEvent(aws("NoSuchEntity"), 21)).state;
    expect(errorOf(gone, "/j")?.message).toBe(
      "the rotation journal is for IAM user alice, who no longer exists; nothing was changed. Check the store, then move the journal aside (journal: /j)",
    );
    const aborted = transition(resumed, { type: "abort", at: 21 }).state;
    expect(aborted).toMatchObject({
      outcome: "failed",
      keepJournal: true,
      failure: { code: "Aborted", message: "the rotation was aborted while checking its journal; nothing was changed" },
    });
    expect(aborted.resuming).toBeUndefined();
  });

  test("a journal written before the create was asked for starts over; one written after reconciles", () => {
    const backingUp = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
      ],
      start(),
    );
    expect(backingUp.phase).toBe("backing-up");
    expect(resumeState(backingUp, 10)).toBeUndefined();
    const creating = transition(backingUp, { type: "storeBackedUp", backup, at: 3 }).state;
    expect(creating).toMatchObject({ phase: "creating", createRequested: true });
    expect(resumeState(creating, 10)?.resuming?.phase).toBe("reconciling");
  });

  test("a limit error without listed keys lists none", () => {
    const state = { ...start(), phase: "done", outcome: "failed", failure: { ...aws("LimitExceeded"), phase: "creating" } } as RotationState;
    expect(errorOf(state)).toMatchObject({ kind: "limit", keys: [] });
  });
});

describe("the edges of the retry loops, the resume check and the rollback", () => {
  const throttled = (at: number, effect: Extract<RotationEvent, { type: "effectFailed" }>["effect"]): RotationEvent => ({
    type: "effectFailed",
    effect,
    failure: aws("Throttling", "service"),
    at,
    random: 0,
  });
  const lastStep = (s: RotationState) => {
    const step = s.steps.at(-1);
    return `${Date.parse(step?.at ?? "")} ${step?.step} ${step?.status}: ${step?.detail}`;
  };
  /** Installed at 5 (the verify loop's clock starts there), verify timeout 1 s. */
  const installed = () =>
    drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
        { type: "installed", at: 5 },
      ],
      start({ ...named, verifyTimeoutMs: 1_000 }),
    );

  test("a retry whose wait ends exactly at the timeout is still made; one a millisecond later rolls back", () => {
    // From the loop's start at 5: a failure at 905 waits 100 ms (random 0) and ends at 1,005, 1,000 ms after it.
    const atEdge = transition(installed(), failedEvent(aws("InvalidClientTokenId", "auth"), 905));
    expect(atEdge.effects).toEqual([{ type: "wait", ms: 100 }]);
    expect(atEdge.state.steps.at(-1)?.detail).toBe("InvalidClientTokenId; retry 1 in 100 ms");
    const past = transition(installed(), failedEvent(aws("InvalidClientTokenId", "auth"), 906));
    expect(past.state).toMatchObject({ phase: "restoring", failure: { code: "VerifyTimeout" } });
  });

  test("an abort fails with a reason that retrying cannot fix", () => {
    const aborted = transition(installed(), { type: "abort", at: 6 }).state;
    expect(aborted.failure).toStrictEqual({
      source: "keyup",
      code: "Aborted",
      message: "the rotation was aborted by its caller",
      retry: "no",
      phase: "verifying",
    });
  });

  test("an abort while retiring the old key: the step it stopped in, and the flag the runner reads not to abort twice", () => {
    const retiring = drive(
      [
        { type: "verified", arn: ARN, at: 6 },
        { type: "waited", at: 7 },
        { type: "verified", arn: ARN, at: 8 },
      ],
      installed(),
    );
    expect(retiring.phase).toBe("deactivating");
    const stopped = transition(retiring, { type: "abort", at: 9 }).state;
    expect(stopped).toMatchObject({ outcome: "completed-with-warnings", aborted: true, oldKeyState: "active" });
    expect(lastStep(stopped)).toBe("9 deactivate-old-key failed: Aborted: the rotation was aborted by its caller");
    const deleting = transition(retiring, { type: "keyUpdated", accessKeyId: OLD, at: 9 }).state;
    expect(deleting.phase).toBe("deleting-old");
    const stoppedDeleting = transition(deleting, { type: "abort", at: 10 }).state;
    expect(stoppedDeleting).toMatchObject({ outcome: "completed-with-warnings", aborted: true, oldKeyState: "inactive" });
    expect(lastStep(stoppedDeleting)).toBe("10 delete-old-key failed: Aborted: the rotation was aborted by its caller");
  });

  test("the description tag's retries do not use up the old key's: retiring starts its count at 0", () => {
    const described = { ...named, description: "ci runner" };
    const verifiedAndThrottled = drive([throttled(9, "tagUser"), { type: "waited", at: 109 }], verified(described));
    expect(verifiedAndThrottled.retries.retire).toBe(1);
    const deactivating = transition(verifiedAndThrottled, { type: "userTagged", at: 110 }).state;
    expect(deactivating).toMatchObject({ phase: "deactivating", loopStartedAt: 110 });
    const retried = transition(deactivating, throttled(111, "updateAccessKey"));
    expect(lastStep(retried.state)).toBe("111 deactivate-old-key retry: Throttling; retry 1 in 100 ms");
    expect(retried.effects).toEqual([{ type: "wait", ms: 100 }]);
  });

  test("with a recent use of the old key, the grace tag's retries start at 0 after the description's", () => {
    const now = Date.parse("2026-06-01T12:00:00.000Z");
    const guard: RotationConfig = { ...named, description: "ci runner", inUseGuard: true };
    const checked = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: now },
        { type: "lastUsed", date: new Date(now - 5 * 60_000).toISOString(), serviceName: "s3", at: now + 100 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: now + 200 },
        { type: "storeBackedUp", backup, at: now + 300 },
        { type: "keyCreated", accessKeyId: NEW, at: now + 400 },
        { type: "installed", at: now + 500 },
        { type: "verified", arn: ARN, at: now + 600 },
        { type: "waited", at: now + 700 },
        { type: "verified", arn: ARN, at: now + 800 },
        throttled(now + 900, "tagUser"),
        { type: "waited", at: now + 1_000 },
        { type: "userTagged", at: now + 1_100 },
      ],
      drive([{ type: "start", at: now - 10 }], initialRotationState("memory:test", guard)),
    );
    expect(checked).toMatchObject({ phase: "recording-grace", loopStartedAt: now + 1_100 });
    expect(checked.oldKeyInUse).toBeDefined();
    const retried = transition(checked, throttled(now + 1_200, "tagUser")).state;
    expect(lastStep(retried)).toBe(`${now + 1_200} record-grace retry: Throttling; retry 1 in 100 ms`);
  });

  test("a retried restore leaves the new key's delete its own retries", () => {
    const restoring = transition(installed(), failedEvent(aws("AccessDenied"), 6)).state;
    expect(restoring.phase).toBe("restoring");
    const restored = drive([throttled(7, "restoreStore"), { type: "waited", at: 107 }, { type: "storeRestored", at: 108 }], restoring);
    expect(restored).toMatchObject({ phase: "deleting-new", loopStartedAt: 108 });
    const retried = transition(restored, throttled(109, "deleteAccessKey")).state;
    expect(lastStep(retried)).toBe("109 delete-new-key retry: Throttling; retry 1 in 100 ms");
  });

  test("a journal of an install whose new key is gone from IAM: listed again, then the store is restored", () => {
    const installing = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
      ],
      start(),
    );
    expect(installing.phase).toBe("installing");
    let s = resumeState(installing, 100) as RotationState;
    expect(s.resuming?.phase).toBe("installing");
    const onlyOld: RotationEvent = { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 101 };
    const waits: unknown[] = [];
    for (let i = 1; i <= 10; i++) {
      const missing = transition(s, { ...onlyOld, at: 100 + 2 * i });
      expect(missing.state.phase).toBe("resuming");
      expect(lastStep(missing.state)).toBe(`${100 + 2 * i} resume retry: the new key ${NEW} is not listed (yet); listing again (${i} of 10)`);
      waits.push(...missing.effects);
      s = transition(missing.state, { type: "waited", at: 101 + 2 * i }).state;
    }
    expect(waits.slice(0, 3)).toEqual([
      { type: "wait", ms: 150 },
      { type: "wait", ms: 300 },
      { type: "wait", ms: 375 },
    ]);
    const gone = transition(s, { ...onlyOld, at: 200 });
    expect(gone.effects).toEqual([{ type: "restoreStore", backup }]);
    expect(gone.state).toMatchObject({ phase: "restoring", loopStartedAt: 200 });
    // The relists' count is the rollback loop's: it starts again at 0 for the restore, no other count touched.
    expect(gone.state.retries).toStrictEqual({ create: 0, verify: 0, retire: 0, rollback: 0 });
    expect(gone.state.resuming).toBeUndefined();
    expect(gone.state.failure).toStrictEqual({
      source: "keyup",
      code: "NewKeyGone",
      message: `the new key ${NEW} no longer exists in IAM`,
      retry: "no",
      phase: "installing",
    });
    // Listed after all: the install goes on.
    const found = transition(s, {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: NEW, status: "Active" },
      ],
      at: 200,
    });
    expect(found.state.phase).toBe("installing");
    expect(found.state.retries.rollback).toBe(0);
    expect(found.effects).toEqual([{ type: "install", accessKeyId: NEW }]);
  });
});

describe("what a rollback starts from", () => {
  test("an unexpected event before anything was created ends failed, and the report says so", () => {
    const listing = drive([{ type: "storeRead", accessKeyId: OLD, at: 1 }], start());
    const t = transition(listing, { type: "storeRead", accessKeyId: OLD, at: 2 });
    expect(t.effects).toEqual([]);
    expect(t.state).toMatchObject({ phase: "done", outcome: "failed", failure: { code: "UnexpectedEvent", phase: "listing-keys" } });
    expect(reportOf(t.state).outcome).toBe("failed");
  });

  test("a rollback's loop starts afresh: its clock at the failure, its count at 0 and no other count touched", () => {
    const verifying = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
        { type: "installed", at: 5 },
        failedEvent(aws("InvalidClientTokenId", "auth"), 6),
        { type: "waited", at: 106 },
      ],
      start(),
    );
    const restoring = transition(verifying, failedEvent(aws("AccessDenied"), 107)).state;
    expect(restoring).toMatchObject({ phase: "restoring", loopStartedAt: 107 });
    expect(restoring.retries).toStrictEqual({ create: 0, verify: 1, retire: 0, rollback: 0 });
  });
});

describe("a journal check that cannot go on", () => {
  const resumed = () => resumeState(verified(), 20) as RotationState;
  const lastStep = (s: RotationState) => s.steps.at(-1);

  test("each ending records the failed resume step and a failure that retrying cannot fix", () => {
    const aborted = transition(resumed(), { type: "abort", at: 21 }).state;
    expect(aborted.failure).toStrictEqual({
      source: "keyup",
      code: "Aborted",
      message: "the rotation was aborted while checking its journal; nothing was changed",
      retry: "no",
      phase: "resuming",
    });
    expect(lastStep(aborted)).toStrictEqual({
      step: "resume",
      status: "failed",
      at: new Date(21).toISOString(),
      detail: "Aborted: the rotation was aborted while checking its journal; nothing was changed",
    });
    const gone = transition(resumed(), failedEvent(aws("NoSuchEntity"), 22)).state;
    expect(gone.failure).toMatchObject({ source: "keyup", code: "JournalUserGone", retry: "no", phase: "resuming" });
    expect(lastStep(gone)).toMatchObject({ step: "resume", status: "failed", at: new Date(22).toISOString() });
    expect(lastStep(gone)?.detail).toMatch(/^JournalUserGone: the rotation journal is for IAM user alice, who no longer exists/);
    const service = transition(
      transition(resumed(), failedEvent(aws("InvalidClientTokenId", "auth"), 21)).state,
      failedEvent(aws("ServiceUnavailable", "service"), 23),
    ).state;
    expect(lastStep(service)).toStrictEqual({
      step: "resume",
      status: "failed",
      at: new Date(23).toISOString(),
      detail: "ServiceUnavailable: ServiceUnavailable said no",
    });
  });

  test("a journal from before the new key's answer names only the old key when neither signs", () => {
    const creating = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
      ],
      start(),
    );
    const checking = resumeState(creating, 20) as RotationState;
    expect(checking).toMatchObject({ phase: "resuming", resuming: { phase: "reconciling" } });
    expect(checking.newAccessKeyId).toBeUndefined();
    // No new key in memory to sign with: the runner fails the call (an error named MissingSigningKey) and the old key tries.
    const withOld = transition(checking, failedEvent(aws("MissingSigningKey"), 21)).state;
    expect(effectFor(withOld)).toEqual({ type: "listAccessKeys", userName: "alice", signer: "old" });
    const refused = transition(withOld, failedEvent(aws("InvalidClientTokenId", "auth"), 22)).state;
    expect(errorOf(refused, "/j")?.message).toBe(
      `neither key recorded in the rotation journal (${OLD}) is valid any more; nothing was changed. Check the store and IAM, then move the journal aside (journal: /j)`,
    );
  });
});

describe("after the end, and at the ends of the rollback", () => {
  test("a finished rotation is left as it is by any event: not even its time moves", () => {
    const done = transition(start(), { type: "storeRead", accessKeyId: undefined, at: 1 }).state;
    expect(done.phase).toBe("done");
    for (const event of [
      { type: "storeRead", accessKeyId: OLD, at: 50 },
      { type: "abort", at: 50 },
      failedEvent(aws("Throttling", "service"), 50),
    ] as RotationEvent[]) {
      const t = transition(done, event);
      expect(t.state, event.type).toBe(done);
      expect(t.effects, event.type).toEqual([]);
    }
  });

  test("an unexpected event while deleting the old key warns that it is still there, Inactive", () => {
    const deleting = drive([{ type: "keyUpdated", accessKeyId: OLD, at: 9 }], verified());
    expect(deleting.phase).toBe("deleting-old");
    const t = transition(deleting, { type: "storeRead", accessKeyId: OLD, at: 10 }).state;
    expect(t).toMatchObject({ outcome: "completed-with-warnings", oldKeyState: "inactive" });
    expect(t.warnings).toEqual([`the old key ${OLD} could not be deleted (UnexpectedEvent: keyup bug: event storeRead in phase deleting-old); it is Inactive`]);
    expect(t.keepJournal).toBeUndefined();
  });

  test("creating again after a reconcile is a create in flight: a run that dies then looks for its key", () => {
    const reconciling = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        failedEvent(aws("InternalFailure", "service"), 4),
      ],
      start(),
    );
    expect(reconciling.phase).toBe("reconciling");
    const orphan = "AKIAORPHANORPHANOR04";
    const again = drive(
      [
        {
          type: "keysListed",
          keys: [
            { accessKeyId: OLD, status: "Active" },
            { accessKeyId: orphan, status: "Active" },
          ],
          at: 5,
        },
        { type: "keyDeleted", accessKeyId: orphan, at: 6 },
      ],
      reconciling,
    );
    expect(again).toMatchObject({ phase: "creating", createRequested: true, retries: { create: 1 } });
    expect(resumeState(again, 100)?.resuming?.phase).toBe("reconciling");
  });

  test("a failed restore of a store whose backup has no location: the step to check the store names no backup", () => {
    const noLocation = drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup: { id: "version-1" }, at: 3 },
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
        { type: "installed", at: 5 },
        failedEvent(aws("AccessDenied"), 6),
        failedEvent({ source: "store", code: "EACCES", message: "no", retry: "no" }, 7),
      ],
      start(),
    );
    expect(noLocation.outcome).toBe("rollback-failed");
    expect(noLocation.nextSteps).toStrictEqual([{ type: "check-store", store: "memory:test", userName: "alice", oldAccessKeyId: OLD, newAccessKeyId: NEW }]);
    expect(reportOf(noLocation).leftovers).not.toHaveProperty("backup");
  });
});

describe("unexpected events while undoing or checking, and journals of older keyups", () => {
  const storeRead: RotationEvent = { type: "storeRead", accessKeyId: OLD, at: 30 };
  const creatingFailed = () =>
    drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        failedEvent(aws("InternalFailure", "service"), 4),
      ],
      start(),
    );
  const verifying = () =>
    drive(
      [
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
        { type: "storeBackedUp", backup, at: 3 },
        { type: "keyCreated", accessKeyId: NEW, at: 4 },
        { type: "installed", at: 5 },
      ],
      start(),
    );
  const restoring = () => transition(verifying(), failedEvent(aws("AccessDenied"), 9)).state;

  test("an unexpected event in any rollback phase ends rollback-failed in that phase, a keyup bug retrying cannot fix", () => {
    const orphan = "AKIAORPHANORPHANOR04";
    const phases: [RotationState, string, string][] = [
      [restoring(), "restoring", "restore-store"],
      [creatingFailed(), "reconciling", "reconcile"],
      [
        transition(creatingFailed(), {
          type: "keysListed",
          keys: [
            { accessKeyId: OLD, status: "Active" },
            { accessKeyId: orphan, status: "Active" },
          ],
          at: 5,
        }).state,
        "deleting-orphan",
        "delete-orphan-key",
      ],
    ];
    for (const [state, phase, step] of phases) {
      expect(state.phase).toBe(phase);
      const t = transition(state, storeRead).state;
      const message = `keyup bug: event storeRead in phase ${phase}`;
      expect(t, phase).toMatchObject({ outcome: "rollback-failed", failedRollbackPhase: phase, keepJournal: true });
      expect(t.lastFailure, phase).toStrictEqual({ source: "keyup", code: "UnexpectedEvent", message, retry: "no" });
      expect(t.steps.at(-1), phase).toMatchObject({ step, status: "failed", detail: `UnexpectedEvent: ${message}` });
    }
  });

  test("a failed delete of an orphan key is recorded against that step, and leaves that key to delete", () => {
    const orphan = "AKIAORPHANORPHANOR04";
    const deleting = transition(creatingFailed(), {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: orphan, status: "Active" },
      ],
      at: 5,
    }).state;
    const retried = transition(deleting, failedEvent(aws("Throttling", "service"), 6)).state;
    expect(retried.steps.at(-1)).toMatchObject({ step: "delete-orphan-key", status: "retry", detail: "Throttling; retry 1 in 100 ms" });
    const t = transition(deleting, failedEvent(aws("AccessDenied"), 6)).state;
    expect(t.steps.at(-1)).toMatchObject({ step: "delete-orphan-key", status: "failed", detail: "AccessDenied: AccessDenied said no" });
    expect(t).toMatchObject({
      outcome: "rollback-failed",
      leftoverKeyIds: [orphan],
      nextSteps: [{ type: "delete-key", userName: "alice", accessKeyId: orphan }],
    });
  });

  test("an unexpected event while checking a journal is refused like any check that cannot go on", () => {
    const t = transition(resumeState(verified(), 20) as RotationState, storeRead).state;
    expect(t.steps.at(-1)).toMatchObject({ step: "resume", status: "failed", detail: "UnexpectedEvent: keyup bug: event storeRead in phase resuming" });
  });

  test("a journal stopped while checking says it goes on from the phase it was checking, not from the check", () => {
    const first = resumeState(transition(verified(), { type: "keyUpdated", accessKeyId: OLD, at: 9 }).state, 100) as RotationState;
    expect(first.steps.at(-1)?.detail).toBe("continuing from delete-old-key");
    const again = resumeState(first, 200) as RotationState;
    expect(again.steps.at(-1)).toMatchObject({ at: new Date(200).toISOString(), detail: "continuing from delete-old-key" });
    expect(again).toMatchObject({ phase: "resuming", resuming: { phase: "deleting-old" } });
  });

  test("a failed rollback journaled without its phase (keyup before failedRollbackPhase): retried only where its failure was in a rollback phase", () => {
    const failedDelete = drive([{ type: "storeRestored", at: 10 }, failedEvent(aws("AccessDenied"), 11)], restoring());
    expect(failedDelete).toMatchObject({ outcome: "rollback-failed", failedRollbackPhase: "deleting-new", failure: { phase: "verifying" } });
    // Its failure names the verify that started the rollback: where the rollback stopped is unknown, so it is not resumed.
    expect(resumeState({ ...failedDelete, failedRollbackPhase: undefined } as RotationState, 300)).toBeUndefined();
    // A reconcile that failed first names its own phase: retried there.
    const reconcile = transition(creatingFailed(), failedEvent(aws("AccessDenied"), 5)).state;
    expect(reconcile).toMatchObject({ outcome: "rollback-failed", failure: { phase: "reconciling" } });
    expect(resumeState({ ...reconcile, failedRollbackPhase: undefined } as RotationState, 300)?.resuming?.phase).toBe("reconciling");
  });
});

describe("values that outlive a run", () => {
  test("the grace tag's key is keyup:grace:<key id> (cleanup and later rotations read tags written by earlier ones)", () => {
    expect(graceTagKey(OLD)).toBe("keyup:grace:AKIAOLDOLDOLDOLD0001");
  });

  test("the defaults a caller reads: refuse at the 2-key limit, delete the old key, sign with the store's keys, no in-use guard", () => {
    expect(defaultRotationConfig).toMatchObject({ onLimit: "refuse", oldKey: "delete", iamSigner: "store-keys", inUseGuard: false });
  });
});
