// The steps a rotation records are what a user reads in the report and the log: each names what was
// done, with the ids involved. These tests drive whole paths through transition() and check every
// recorded step (time, name, status, detail) and the effects that matter on the way.
import {
  defaultRotationConfig,
  type Effect,
  errorOf,
  graceTagKey,
  initialRotationState,
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
const HOUR = 3_600_000;

/** Runs `events` from a fresh rotation; returns the last transition and every effect on the way. */
function drive(config: RotationConfig, events: RotationEvent[], from?: RotationState) {
  let state = from ?? initialRotationState("memory:test", config);
  let effects: readonly Effect[] = [];
  const all: Effect[] = [];
  for (const event of events) {
    ({ state, effects } = transition(state, event));
    all.push(...effects);
  }
  return { state, effects, all };
}

/** The recorded steps as a person reads them: time (ms), step, status and detail. */
function trail(state: RotationState): string[] {
  return state.steps.map((s) => `${Date.parse(s.at)} ${s.step} ${s.status}${s.detail === undefined ? "" : `: ${s.detail}`}`);
}

/** A rotation up to a verified new key, `t0` apart per event; the user named in the config or resolved. */
function toVerified(config: RotationConfig, t0 = 0): RotationEvent[] {
  return [
    { type: "start", at: t0 },
    { type: "storeRead", accessKeyId: OLD, at: t0 + 1 },
    ...(config.userName === undefined ? [{ type: "identityResolved", arn: ARN, at: t0 + 2 } as const] : []),
    { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: t0 + 3 },
    { type: "storeBackedUp", backup, at: t0 + 4 },
    { type: "keyCreated", accessKeyId: NEW, at: t0 + 5 },
    { type: "installed", at: t0 + 6 },
    { type: "verified", arn: ARN, at: t0 + 7 },
    { type: "waited", at: t0 + 8 },
    { type: "verified", arn: ARN, at: t0 + 9 },
  ];
}

describe("the steps of a rotation, as the report lists them", () => {
  test("happy path: every step names what it did", () => {
    const { state, all } = drive(defaultRotationConfig, [
      ...toVerified(defaultRotationConfig),
      { type: "keyUpdated", accessKeyId: OLD, at: 10 },
      { type: "keyDeleted", accessKeyId: OLD, at: 11 },
    ]);
    expect(trail(state)).toEqual([
      `1 read-store ok: holds ${OLD}`,
      `2 resolve-identity ok: ${ARN}`,
      `3 list-keys ok: ${OLD} Active`,
      `4 backup-store ok: ${backup.location}`,
      `5 create-key ok: created ${NEW}`,
      `6 install ok: memory:test now holds ${NEW}`,
      "7 verify retry: success 1 of 2",
      "9 verify ok: 2 consecutive successes after 2 attempts",
      `10 deactivate-old-key ok: ${OLD} is Inactive`,
      `11 delete-old-key ok: deleted ${OLD}`,
    ]);
    expect(all).toEqual([
      { type: "readStore" },
      { type: "getCallerIdentity", signer: "old" },
      { type: "listAccessKeys", userName: "alice", signer: "old" },
      { type: "backupStore" },
      { type: "createAccessKey", userName: "alice", signer: "old" },
      { type: "install", accessKeyId: NEW },
      { type: "verify", accessKeyId: NEW },
      { type: "wait", ms: defaultRotationConfig.confirmIntervalMs },
      { type: "verify", accessKeyId: NEW },
      { type: "updateAccessKey", userName: "alice", accessKeyId: OLD, status: "Inactive", signer: "new" },
      { type: "deleteAccessKey", userName: "alice", accessKeyId: OLD, signer: "new" },
    ]);
    expect(state).toMatchObject({ outcome: "rotated", oldKeyState: "deleted", startedAt: 0, updatedAt: 11, userArn: ARN });
  });

  test("description and grace period: the new key is described, the old one deactivated and tagged with when it may go", () => {
    const config: RotationConfig = { ...defaultRotationConfig, userName: "alice", description: "ci runner", oldKey: "deactivate", keepOldForMs: 7 * 24 * HOUR };
    const { state, all } = drive(config, [
      ...toVerified(config),
      { type: "userTagged", at: 10 },
      { type: "keyUpdated", accessKeyId: OLD, at: 11 },
      { type: "userTagged", at: 12 },
    ]);
    const until = new Date(6 + 7 * 24 * HOUR).toISOString();
    expect(trail(state).slice(-4)).toEqual([
      "9 verify ok: 2 consecutive successes after 2 attempts",
      `10 tag-new-key ok: described ${NEW} as "ci runner"`,
      `11 deactivate-old-key ok: ${OLD} is Inactive`,
      `12 record-grace ok: ${OLD} may be deleted after ${until}`,
    ]);
    expect(all.slice(-3)).toEqual([
      { type: "tagUser", userName: "alice", tags: [{ key: NEW, value: "ci runner" }], signer: "new" },
      { type: "updateAccessKey", userName: "alice", accessKeyId: OLD, status: "Inactive", signer: "new" },
      { type: "tagUser", userName: "alice", tags: [{ key: graceTagKey(OLD), value: until }], signer: "new" },
    ]);
    expect(state).toMatchObject({ outcome: "rotated", oldKeyState: "inactive" });
    expect(reportOf(state).nextSteps).toEqual([]);
  });

  test("a description and a deleted old key: the old key's tags are removed last", () => {
    const config: RotationConfig = { ...defaultRotationConfig, userName: "alice", description: "ci runner" };
    const { state, effects } = drive(config, [
      ...toVerified(config),
      { type: "userTagged", at: 10 },
      { type: "keyUpdated", accessKeyId: OLD, at: 11 },
      { type: "keyDeleted", accessKeyId: OLD, at: 12 },
    ]);
    expect(effects).toEqual([{ type: "untagUser", userName: "alice", keys: [OLD, graceTagKey(OLD)], signer: "new" }]);
    const end = transition(state, { type: "userUntagged", at: 13 }).state;
    expect(trail(end).slice(-3)).toEqual([
      `11 deactivate-old-key ok: ${OLD} is Inactive`,
      `12 delete-old-key ok: deleted ${OLD}`,
      `13 untag-old-key ok: removed the tags of ${OLD}`,
    ]);
    expect(end).toMatchObject({ outcome: "rotated", oldKeyState: "deleted" });
  });

  test("a grace period with oldKey 'delete' deletes at once (the grace tag is for deactivated keys)", () => {
    const config: RotationConfig = { ...defaultRotationConfig, userName: "alice", keepOldForMs: HOUR };
    const { state, effects } = drive(config, [...toVerified(config), { type: "keyUpdated", accessKeyId: OLD, at: 10 }]);
    expect(effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OLD, signer: "new" }]);
    expect(state.retries.retire).toBe(0);
    expect(state.loopStartedAt).toBe(10);
  });
});

describe("the in-use guard's check, as the report lists it", () => {
  const guard: RotationConfig = { ...defaultRotationConfig, inUseGuard: true };
  const now = 10 * HOUR;
  const read = () =>
    drive(guard, [
      { type: "start", at: now - 10 },
      { type: "storeRead", accessKeyId: OLD, at: now },
    ]).state;
  const lastUsed = (used: { date?: string; serviceName?: string; region?: string }, at = now + 100) => transition(read(), { type: "lastUsed", ...used, at });

  test("each answer is described: never used, a recent use by a consumer (where), an old use, this run's own read", () => {
    const recent = new Date(now - 5 * 60_000).toISOString();
    const cases: [Parameters<typeof lastUsed>[0], string][] = [
      [{}, "never used"],
      [
        { date: recent, serviceName: "s3", region: "eu-west-1" },
        `last used ${recent} (s3 in eu-west-1): kept Active for 60 min after the new key works, until cleanup sees no later use`,
      ],
      [{ date: recent, serviceName: "s3" }, `last used ${recent} (s3): kept Active for 60 min after the new key works, until cleanup sees no later use`],
      [{ date: recent }, `last used ${recent} (an unknown service): kept Active for 60 min after the new key works, until cleanup sees no later use`],
      [
        { date: new Date(now - 2 * HOUR).toISOString() },
        `last used ${new Date(now - 2 * HOUR).toISOString()}: not recently, so it is retired once the new key works`,
      ],
      [{ date: new Date(now + 50).toISOString() }, `last used ${new Date(now + 50).toISOString()}, by this run's own calls`],
    ];
    for (const [used, detail] of cases) {
      const t = lastUsed(used);
      expect(trail(t.state).at(-1), detail).toBe(`${now + 100} check-old-key-use ok: ${detail}`);
      expect(t.effects, detail).toEqual([{ type: "getCallerIdentity", signer: "old" }]);
    }
    expect(lastUsed({ date: recent, serviceName: "s3", region: "eu-west-1" }).state.oldKeyInUse).toEqual({
      date: recent,
      serviceName: "s3",
      region: "eu-west-1",
    });
    expect(lastUsed({ date: recent }).state.oldKeyInUse).toEqual({ date: recent });
  });

  test("the edges of 'recent': a use exactly one hold ago counts, one a second before keyup's read is keyup's own", () => {
    const atHold = lastUsed({ date: new Date(now + 100 - HOUR).toISOString() });
    expect(atHold.state.oldKeyInUse).toBeDefined();
    const past = lastUsed({ date: new Date(now + 99 - HOUR).toISOString() });
    expect(past.state.oldKeyInUse).toBeUndefined();
    // keyup's own read started the loop at `now`: a use from a second before it on counts as its own.
    expect(lastUsed({ date: new Date(now - 1_000).toISOString() }).state.oldKeyInUse).toBeUndefined();
    expect(lastUsed({ date: new Date(now - 1_001).toISOString() }).state.oldKeyInUse).toBeDefined();
    // The caller's own listing (ownUseSinceMs) moves that line earlier.
    const since = drive({ ...guard, ownUseSinceMs: now - 60_000 }, [{ type: "storeRead", accessKeyId: OLD, at: now }], {
      ...initialRotationState("memory:test", { ...guard, ownUseSinceMs: now - 60_000 }),
      phase: "reading-store",
    } as RotationState).state;
    expect(transition(since, { type: "lastUsed", date: new Date(now - 60_000).toISOString(), at: now + 100 }).state.oldKeyInUse).toBeUndefined();
    expect(transition(since, { type: "lastUsed", date: new Date(now - 60_001).toISOString(), at: now + 100 }).state.oldKeyInUse).toBeDefined();
    // A use an hour back, after the caller's own listing two hours back: keyup's, not "not recently".
    const listedEarly = { ...initialRotationState("memory:test", { ...guard, ownUseSinceMs: now - 2 * HOUR }), phase: "reading-store" } as RotationState;
    const early = drive({ ...guard, ownUseSinceMs: now - 2 * HOUR }, [{ type: "storeRead", accessKeyId: OLD, at: now }], listedEarly).state;
    const hourAgo = new Date(now - HOUR).toISOString();
    const ours = transition(early, { type: "lastUsed", date: hourAgo, at: now });
    expect(ours.state.oldKeyInUse).toBeUndefined();
    expect(ours.state.steps.at(-1)?.detail).toBe(`last used ${hourAgo}, by this run's own calls`);
    // An unparsable date is no use.
    expect(lastUsed({ date: "yesterday" }).state.oldKeyInUse).toBeUndefined();
  });

  test("with a userName, the check goes straight to listing the keys", () => {
    const named = { ...guard, userName: "alice" };
    const s = drive(named, [
      { type: "start", at: 0 },
      { type: "storeRead", accessKeyId: OLD, at: 1 },
    ]);
    expect(s.effects).toEqual([{ type: "getAccessKeyLastUsed", accessKeyId: OLD, signer: "old" }]);
    const t = transition(s.state, { type: "lastUsed", at: 2 });
    expect(t.effects).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "old" }]);
    expect(t.state.userName).toBe("alice");
  });

  test("a recent use holds the old key Active until the hold ends, and says so", () => {
    const recent = new Date(now - 5 * 60_000).toISOString();
    const checked = lastUsed({ date: recent, serviceName: "s3" }).state;
    const { state, effects } = drive(
      guard,
      toVerified(guard, now + 1_000).filter((e) => e.type !== "start" && e.type !== "storeRead"),
      checked,
    );
    const until = new Date(now + 1_006 + HOUR).toISOString();
    expect(effects).toEqual([{ type: "tagUser", userName: "alice", tags: [{ key: graceTagKey(OLD), value: until }], signer: "new" }]);
    const end = transition(state, { type: "userTagged", at: now + 2_000 }).state;
    expect(trail(end).at(-1)).toBe(
      `${now + 2_000} record-grace ok: ${OLD} stays Active until ${until}; cleanup deletes it then unless a later use is recorded`,
    );
    expect(end).toMatchObject({ outcome: "rotated", oldKeyState: "active", nextSteps: [{ type: "cleanup-after", accessKeyId: OLD, after: until }] });
  });
});

describe("the 2-key limit, as the report lists it", () => {
  const named: RotationConfig = { ...defaultRotationConfig, userName: "alice", onLimit: "delete-inactive" };
  const twoKeys = [
    { accessKeyId: OLD, status: "Active" },
    { accessKeyId: OTHER, status: "Inactive" },
  ];
  const listed = (config: RotationConfig) =>
    drive(config, [
      { type: "start", at: 0 },
      { type: "storeRead", accessKeyId: OLD, at: 1 },
      { type: "keysListed", keys: twoKeys, at: 2 },
    ]);

  test("an Inactive key held by no store is deleted with its tags, and each step says so", () => {
    const { state, effects } = listed(named);
    expect(effects).toEqual([{ type: "listUserTags", userName: "alice", signer: "old" }]);
    const end = drive(
      named,
      [
        { type: "tagsListed", tags: { [OTHER]: "old laptop" }, at: 3 },
        { type: "keyDeleted", accessKeyId: OTHER, at: 4 },
        { type: "userUntagged", at: 5 },
      ],
      state,
    );
    expect(trail(end.state)).toEqual([
      `1 read-store ok: holds ${OLD}`,
      `2 list-keys ok: ${OLD} Active, ${OTHER} Inactive`,
      `3 check-grace ok: ${OTHER} is Inactive`,
      `4 delete-inactive-key ok: deleted ${OTHER} (Inactive, held by no store)`,
      `5 untag-inactive-key ok: removed the tags of ${OTHER}`,
    ]);
    expect(end.all).toEqual([
      { type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" },
      { type: "untagUser", userName: "alice", keys: [OTHER], signer: "old" },
      { type: "backupStore" },
    ]);
    expect(end.state.keys).toEqual([{ accessKeyId: OLD, status: "Active" }]);
    expect(end.state.orphanAccessKeyId).toBeUndefined();
  });

  test("without tags the deleted key goes straight to the backup; a grace that ended says when", () => {
    const { state } = listed(named);
    const plain = drive(
      named,
      [
        { type: "tagsListed", tags: {}, at: 3 },
        { type: "keyDeleted", accessKeyId: OTHER, at: 4 },
      ],
      state,
    );
    expect(plain.effects).toEqual([{ type: "backupStore" }]);
    expect(plain.state.orphanAccessKeyId).toBeUndefined();
    const grace = "1970-01-01T00:00:00.003Z";
    const ended = transition(listed({ ...named, onLimit: "refuse" }).state, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: grace }, at: 3 });
    expect(trail(ended.state).at(-1)).toBe(`3 check-grace ok: ${OTHER}'s grace period ended ${grace}`);
    expect(ended.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
    // A grace tag that is not a date never ends: refused, as before it ends.
    const bad = transition(listed(named).state, { type: "tagsListed", tags: { [graceTagKey(OTHER)]: "soon" }, at: 3 });
    expect(bad.state.failure?.code).toBe("TwoKeys");
  });

  test("untagging the deleted key fails: a warning, and the rotation goes on", () => {
    const { state } = listed(named);
    const deleted = drive(
      named,
      [
        { type: "tagsListed", tags: { [graceTagKey(OTHER)]: "1970-01-01T00:00:00.000Z" }, at: 3 },
        { type: "keyDeleted", accessKeyId: OTHER, at: 4 },
      ],
      state,
    );
    expect(deleted.effects).toEqual([{ type: "untagUser", userName: "alice", keys: [graceTagKey(OTHER)], signer: "old" }]);
    const t = transition(deleted.state, {
      type: "effectFailed",
      effect: "untagUser",
      failure: { source: "aws", code: "AccessDenied", message: "no", retry: "no" },
      at: 5,
      random: 0,
    });
    expect(t.effects).toEqual([{ type: "backupStore" }]);
    expect(trail(t.state).at(-1)).toBe("5 untag-inactive-key failed: AccessDenied");
    expect(t.state.warnings).toEqual([`could not remove the tags of the deleted key ${OTHER} (AccessDenied)`]);
    expect(t.state.orphanAccessKeyId).toBeUndefined();
  });

  test("the user's tags cannot be read: the plain 2-key rules apply, and the step says why", () => {
    const { state } = listed(named);
    const t = transition(state, {
      type: "effectFailed",
      effect: "listUserTags",
      failure: { source: "aws", code: "AccessDenied", message: "no", retry: "no" },
      at: 3,
      random: 0,
    });
    expect(trail(t.state).slice(-2)).toEqual(["3 check-grace failed: AccessDenied: cannot read the user's tags", `3 check-grace ok: ${OTHER} is Inactive`]);
    expect(t.effects).toEqual([{ type: "deleteAccessKey", userName: "alice", accessKeyId: OTHER, signer: "old" }]);
  });

  test("minAge: the skip says how old the key is against the minimum (minutes, hours, days)", () => {
    const at = 100 * 24 * HOUR;
    const skipped = (ageMs: number, minAgeMs: number) =>
      drive({ ...defaultRotationConfig, userName: "alice", minAgeMs }, [
        { type: "start", at: 0 },
        { type: "storeRead", accessKeyId: OLD, at: 1 },
        { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active", createDate: new Date(at - ageMs).toISOString() }], at },
      ]).state;
    expect(trail(skipped(30 * 60_000, 59 * 60_000)).at(-1)).toBe(`${at} list-keys skipped: ${OLD} is 30m old, younger than 59m: nothing to do`);
    expect(trail(skipped(HOUR, 47 * HOUR)).at(-1)).toBe(`${at} list-keys skipped: ${OLD} is 1h old, younger than 47h: nothing to do`);
    expect(trail(skipped(3 * 24 * HOUR, 7 * 24 * HOUR)).at(-1)).toBe(`${at} list-keys skipped: ${OLD} is 3d old, younger than 7d: nothing to do`);
    expect(trail(skipped(48 * HOUR - 1, 48 * HOUR)).at(-1)).toBe(`${at} list-keys skipped: ${OLD} is 47h old, younger than 2d: nothing to do`);
    expect(skipped(HOUR, HOUR).outcome).toBeUndefined(); // exactly as old as the minimum: rotated
    expect(skipped(HOUR - 1, HOUR)).toMatchObject({ outcome: "skipped", oldKeyState: "active" });
  });
});

describe("retries and rollbacks, as the report lists them", () => {
  const named: RotationConfig = { ...defaultRotationConfig, userName: "alice" };
  const toCreating: RotationEvent[] = [
    { type: "start", at: 0 },
    { type: "storeRead", accessKeyId: OLD, at: 1 },
    { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
    { type: "storeBackedUp", backup, at: 3 },
  ];

  test("a retry names the error, its number and its wait", () => {
    const t = drive(named, [
      ...toCreating,
      {
        type: "effectFailed",
        effect: "createAccessKey",
        failure: { source: "aws", code: "Throttling", message: "Rate exceeded", retry: "service" },
        at: 4,
        random: 0.5,
      },
      { type: "waited", at: 200 },
      {
        type: "effectFailed",
        effect: "createAccessKey",
        failure: { source: "aws", code: "Throttling", message: "Rate exceeded", retry: "service" },
        at: 201,
        random: 1,
      },
    ]);
    expect(trail(t.state).slice(-2)).toEqual(["4 create-key retry: Throttling; retry 1 in 150 ms", "201 create-key retry: Throttling; retry 2 in 400 ms"]);
    expect(t.all.filter((e) => e.type === "wait")).toEqual([
      { type: "wait", ms: 150 },
      { type: "wait", ms: 400 },
    ]);
    expect(t.state.retries.create).toBe(2);
  });

  test("a verify that keeps failing rolls back: each step says what was undone, and the error what happened", () => {
    const config = { ...named, verifyTimeoutMs: 1_000 };
    const t = drive(config, [
      ...toCreating,
      { type: "keyCreated", accessKeyId: NEW, at: 4 },
      { type: "installed", at: 5 },
      { type: "effectFailed", effect: "verify", failure: { source: "aws", code: "InvalidClientTokenId", message: "bad", retry: "auth" }, at: 6, random: 0 },
      { type: "waited", at: 106 },
      { type: "effectFailed", effect: "verify", failure: { source: "aws", code: "InvalidClientTokenId", message: "bad", retry: "auth" }, at: 2_505, random: 0 },
      { type: "storeRestored", at: 2_600 },
      { type: "keyDeleted", accessKeyId: NEW, at: 2_700 },
    ]);
    const message = `the new key ${NEW} was still rejected (InvalidClientTokenId) after 2 attempts in 3 s (verify timeout 1 s)`;
    expect(trail(t.state).slice(-5)).toEqual([
      `5 install ok: memory:test now holds ${NEW}`,
      "6 verify retry: InvalidClientTokenId; retry 1 in 100 ms",
      `2505 verify failed: VerifyTimeout: ${message}`,
      "2600 restore-store ok: memory:test holds its previous content again",
      `2700 delete-new-key ok: deleted ${NEW}`,
    ]);
    expect(t.state).toMatchObject({ outcome: "rolled-back", verifyAttempts: 2, failure: { code: "VerifyTimeout", phase: "verifying", message } });
    expect(errorOf(t.state)).toMatchObject({
      kind: "verify",
      attempts: 2,
      message: `${message} The new key ${NEW} was deleted and memory:test holds its previous content.`,
    });
  });

  test("a lost CreateAccessKey answer: reconcile lists again a bounded number of times, then creates again", () => {
    let t: { state: RotationState; effects: readonly Effect[] } = drive(named, [
      ...toCreating,
      {
        type: "effectFailed",
        effect: "createAccessKey",
        failure: { source: "aws", code: "InternalFailure", message: "500", retry: "service" },
        at: 4,
        random: 0,
      },
    ]);
    expect(trail(t.state).at(-1)).toBe("4 create-key retry: InternalFailure: checking whether a key was created anyway");
    expect(t.effects).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "old" }]);
    const onlyOld: RotationEvent = { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 5 };
    const waits: Effect[] = [];
    for (let i = 1; i <= 10; i++) {
      t = transition(t.state, onlyOld);
      waits.push(...t.effects);
      expect(trail(t.state).at(-1)).toBe(`5 reconcile retry: no new key listed yet; listing again (${i} of 10)`);
      t = transition(t.state, { type: "waited", at: 5 });
      expect(t.effects).toEqual([{ type: "listAccessKeys", userName: "alice", signer: "old" }]);
    }
    // The relists back off as retries do, with half the jitter: 100 ms doubling to the 500 ms cap.
    expect(waits.map((w) => (w.type === "wait" ? w.ms : -1))).toEqual([150, 300, 375, 375, 375, 375, 375, 375, 375, 375]);
    t = transition(t.state, onlyOld);
    expect(trail(t.state).at(-1)).toBe("5 reconcile ok: no key was created");
    expect(t.effects).toEqual([{ type: "createAccessKey", userName: "alice", signer: "old" }]);
    expect(t.state.retries).toMatchObject({ create: 1, rollback: 0 });
  });

  test("an orphan key found by reconcile is deleted, and the steps name it", () => {
    const t = drive(named, [
      ...toCreating,
      {
        type: "effectFailed",
        effect: "createAccessKey",
        failure: { source: "aws", code: "RequestTimeout", message: "timeout", retry: "service" },
        at: 4,
        random: 0,
      },
      {
        type: "keysListed",
        keys: [
          { accessKeyId: OLD, status: "Active" },
          { accessKeyId: OTHER, status: "Active" },
        ],
        at: 5,
      },
      { type: "keyDeleted", accessKeyId: OTHER, at: 6 },
    ]);
    expect(trail(t.state).slice(-2)).toEqual([
      `5 reconcile ok: found ${OTHER}, created by a lost CreateAccessKey answer`,
      `6 delete-orphan-key ok: deleted ${OTHER}`,
    ]);
    expect(t.state.orphanAccessKeyId).toBeUndefined();
    expect(t.effects).toEqual([{ type: "createAccessKey", userName: "alice", signer: "old" }]);
  });

  test("creating again stops after 5 creates, or once the time is up, and ends failed with the last failure", () => {
    const lost: RotationEvent = {
      type: "effectFailed",
      effect: "createAccessKey",
      failure: { source: "aws", code: "InternalFailure", message: "500", retry: "service" },
      at: 4,
      random: 0,
    };
    const orphanFound: RotationEvent = {
      type: "keysListed",
      keys: [
        { accessKeyId: OLD, status: "Active" },
        { accessKeyId: OTHER, status: "Active" },
      ],
      at: 5,
    };
    let t = drive(named, [...toCreating]);
    const creates: number[] = [];
    for (let i = 0; i < 6 && t.state.phase !== "done"; i++) {
      t = drive(named, [lost, orphanFound, { type: "keyDeleted", accessKeyId: OTHER, at: 6 }], t.state);
      creates.push(t.state.retries.create);
    }
    expect(creates).toEqual([1, 2, 3, 4, 4]);
    expect(t.state).toMatchObject({ phase: "done", outcome: "failed", failure: { code: "InternalFailure", phase: "creating" } });
    // Within the time: creates again; one ms after it: ends failed.
    const late = (at: number) =>
      drive(
        named,
        [
          { ...lost, at },
          { ...orphanFound, at },
          { type: "keyDeleted", accessKeyId: OTHER, at },
        ],
        drive(named, toCreating).state,
      ).state;
    expect(late(3 + 30_000).phase).toBe("creating");
    expect(late(3 + 30_001)).toMatchObject({ phase: "done", outcome: "failed" });
  });

  test("an abort during create reconciles first, then ends failed without creating again", () => {
    const t = drive(named, [...toCreating, { type: "abort", at: 4 }, { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 5 }]);
    expect(trail(t.state)).toContain("4 create-key failed: aborted");
    expect(t.state).toMatchObject({ phase: "done", outcome: "failed", failure: { code: "Aborted", phase: "creating" } });
    expect(errorOf(t.state)).toMatchObject({ kind: "aborted", message: "the rotation was aborted by its caller" });
  });
});

describe("resuming, as the report lists it", () => {
  const named: RotationConfig = { ...defaultRotationConfig, userName: "alice" };
  // Built inside each test: machine code run while tests are collected would make every mutant it
  // reaches a static one for Stryker (run against every test).
  const installed = () =>
    drive(named, [
      { type: "start", at: 0 },
      { type: "storeRead", accessKeyId: OLD, at: 1 },
      { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 2 },
      { type: "storeBackedUp", backup, at: 3 },
      { type: "keyCreated", accessKeyId: NEW, at: 4 },
      { type: "installed", at: 5 },
    ]).state;

  test("the resume step says where it goes on from; the check lists keys with the new key", () => {
    const resumed = resumeState(installed(), 100) as RotationState;
    expect(trail(resumed).at(-1)).toBe("100 resume ok: continuing from verify");
    expect(resumed).toMatchObject({ phase: "resuming", resuming: { phase: "verifying", signer: "new" }, loopStartedAt: 100, updatedAt: 100, aborted: false });
    const creating = resumeState({ ...installed(), phase: "creating", newAccessKeyId: undefined } as RotationState, 100) as RotationState;
    expect(trail(creating).at(-1)).toBe("100 resume ok: CreateAccessKey was in flight: looking for a key it may have created");
    expect(creating.resuming?.phase).toBe("reconciling");
    const credentials = resumeState({ ...installed(), config: { ...named, iamSigner: "credentials" } }, 100) as RotationState;
    expect(credentials.resuming?.signer).toBe("credentials");
  });

  test("a journal without a user name goes on without a check", () => {
    const anonymous = resumeState({ ...installed(), userName: undefined, config: defaultRotationConfig } as RotationState, 100) as RotationState;
    expect(anonymous.phase).toBe("verifying");
    expect(anonymous.resuming).toBeUndefined();
  });

  test("a journal stopped while checking goes back to the same check; a failed rollback says which step it retries", () => {
    const resumed = resumeState(installed(), 100) as RotationState;
    const again = resumeState(resumed, 200) as RotationState;
    expect(again).toMatchObject({ phase: "resuming", resuming: { phase: "verifying" } });
    const failedDelete = drive(
      named,
      [
        { type: "effectFailed", effect: "verify", failure: { source: "aws", code: "AccessDenied", message: "no", retry: "no" }, at: 6, random: 0 },
        { type: "storeRestored", at: 7 },
        { type: "effectFailed", effect: "deleteAccessKey", failure: { source: "aws", code: "AccessDenied", message: "no", retry: "no" }, at: 8, random: 0 },
      ],
      installed(),
    ).state;
    expect(failedDelete.outcome).toBe("rollback-failed");
    const retried = resumeState(failedDelete, 300) as RotationState;
    expect(trail(retried).at(-1)).toBe("300 resume ok: retrying the failed delete-new-key");
    expect(retried).toMatchObject({ phase: "resuming", resuming: { phase: "deleting-new" } });
    expect(retried.outcome).toBeUndefined();
    expect(retried.leftoverKeyIds).toBeUndefined();
    expect(retried.nextSteps).toBeUndefined();
    // A rotation that ended any other way is over.
    expect(resumeState({ ...failedDelete, outcome: "completed-with-warnings", failedRollbackPhase: undefined } as RotationState, 300)).toBeUndefined();
  });

  test("the check lists again while the new key may lag, and says so", () => {
    const resumed = resumeState(installed(), 100) as RotationState;
    const t = transition(resumed, { type: "keysListed", keys: [{ accessKeyId: OLD, status: "Active" }], at: 101 });
    expect(trail(t.state).at(-1)).toBe(`101 resume retry: the new key ${NEW} is not listed (yet); listing again (1 of 10)`);
    expect(t.effects).toEqual([{ type: "wait", ms: 150 }]);
  });
});
