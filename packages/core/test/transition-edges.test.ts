// Edges of the machine's public helpers a runner relies on: when a rotation is over, which effect a
// phase runs (and that phases without one say so), and cases the paths do not meet on the way.
import {
  defaultRotationConfig,
  effectFor,
  errorOf,
  type Failure,
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
