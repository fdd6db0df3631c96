import { type CredentialStore, createStoreError, memoryStore, type ProgressEvent, type StoreBackup } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, whoAmI, workingKey } from "../../../test-support/moto.js";
import { listKeys, rotate } from "../../../test-support/observed.js";

let admin: TestKey;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function proxy(decide?: Parameters<typeof startAwsProxy>[1]) {
  const p = await startAwsProxy(motoUrl(), decide);
  closers.push(p.close);
  return p;
}

describe("rotate() against moto with authentication enforced", () => {
  test("rotates the store's key: old key deleted, store holds a working new key, user resolved by STS", async () => {
    const user = await createUser("alice");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    const events: ProgressEvent[] = [];

    const result = await rotate({ store, endpoint: motoUrl(), region: "us-east-1", onEvent: (e) => events.push(e) });

    expect(result.isOk(), JSON.stringify(result.isErr() ? result.error.message : "")).toBe(true);
    const report = result._unsafeUnwrap();
    const held = store.current();
    expect(report.outcome).toBe("rotated");
    expect(report.userName).toBe("alice");
    expect(report.oldAccessKeyId).toBe(old.accessKeyId);
    expect(held?.accessKeyId).toBe(report.newAccessKeyId);
    expect(held?.accessKeyId).not.toBe(old.accessKeyId);
    expect(await keysOf(admin, "alice")).toEqual([{ id: held?.accessKeyId, status: "Active" }]);
    expect(await workingKey(held as TestKey)).toBe(user.arn);
    expect(await whoAmI(old)).toBe("error:InvalidClientTokenId");
    expect(report.oldKey).toBe("deleted");
    expect(events.filter((e) => e.type === "step").map((e) => (e.type === "step" ? e.step.step : ""))).toEqual([
      "read-store",
      "resolve-identity",
      "list-keys",
      "backup-store",
      "create-key",
      "install",
      "verify",
      "verify",
      "deactivate-old-key",
      "delete-old-key",
    ]);
    const serialized = JSON.stringify({ events, report });
    expect(serialized).not.toContain(old.secretAccessKey);
    expect(serialized).not.toContain(held?.secretAccessKey);
  });

  test("with userName given, makes exactly ListAccessKeys, CreateAccessKey, GetCallerIdentity ×2 and ListAccessKeys to verify, UpdateAccessKey, DeleteAccessKey", async () => {
    const user = await createUser("bob");
    const store = memoryStore({ initial: user.keys[0] as TestKey });
    await enforceAuth();
    const p = await proxy();

    const result = await rotate({ store, userName: "bob", endpoint: p.url, region: "us-east-1" });

    expect(result.isOk()).toBe(true);
    expect(p.counts()).toEqual({ ListAccessKeys: 2, CreateAccessKey: 1, GetCallerIdentity: 2, UpdateAccessKey: 1, DeleteAccessKey: 1 });
    const newId = store.current()?.accessKeyId;
    // Verify (GetCallerIdentity, and ListAccessKeys on IAM) is signed by the new key only; deactivate and
    // delete of the old key too.
    for (const r of p.requests.slice(2)) expect(r.accessKeyId).toBe(newId);
    expect(p.requests.map((r) => r.action)).toEqual([
      "ListAccessKeys",
      "CreateAccessKey",
      "GetCallerIdentity",
      "GetCallerIdentity",
      "ListAccessKeys",
      "UpdateAccessKey",
      "DeleteAccessKey",
    ]);
  });

  test("at the 2-key limit, refuses before creating anything and names both keys with their status", async () => {
    const user = await createUser("carol", { keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    const store = memoryStore({ initial: held });
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl() });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind).toBe("limit");
    expect(error.message).toContain(held.accessKeyId);
    expect(error.message).toContain(other.accessKeyId);
    expect(error.message).toContain("Active");
    expect(error.kind === "limit" && error.keys).toEqual([
      { accessKeyId: held.accessKeyId, status: "Active" },
      { accessKeyId: other.accessKeyId, status: "Active" },
    ]);
    expect((await keysOf(admin, "carol")).map((k) => k.id).sort()).toEqual([held.accessKeyId, other.accessKeyId].sort());
    expect(store.current()).toEqual(held);
  });

  test('onLimit "delete-inactive" deletes the other key only when it is Inactive, then rotates', async () => {
    const user = await createUser("dave", { keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    const { IAMClient, UpdateAccessKeyCommand } = await import("@aws-sdk/client-iam");
    const iam = new IAMClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin });
    const store = memoryStore({ initial: held });
    await enforceAuth();

    const refused = await rotate({ store, endpoint: motoUrl(), onLimit: "delete-inactive" });
    expect(refused.isErr() && refused.error.kind).toBe("limit");
    expect((await keysOf(admin, "dave")).length).toBe(2);

    await iam.send(new UpdateAccessKeyCommand({ UserName: "dave", AccessKeyId: other.accessKeyId, Status: "Inactive" }));
    const result = await rotate({ store, endpoint: motoUrl(), onLimit: "delete-inactive" });

    expect(result.isOk()).toBe(true);
    const keys = await keysOf(admin, "dave");
    expect(keys).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
    expect(keys.map((k) => k.id)).not.toContain(other.accessKeyId);
  });

  test("a new key that never verifies is rolled back: store restored, new key deleted, old key untouched", async () => {
    const user = await createUser("erin");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    const p = await proxy((r) =>
      r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId ? { status: 403, body: awsErrorXml("InvalidClientTokenId") } : undefined,
    );

    const result = await rotate({ store, endpoint: p.url, verifyTimeoutMs: 1_500 });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind).toBe("verify");
    expect(error.report?.outcome).toBe("rolled-back");
    expect(store.current()).toEqual(old);
    expect(await keysOf(admin, "erin")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
    expect(await workingKey(old)).toBe(user.arn);
    expect(error.report?.verifyAttempts).toBeGreaterThan(2);
    expect(p.counts().UpdateAccessKey).toBeUndefined();
  });

  test("a key that becomes valid after 2 s is verified soon after, and the old key is retired only then", async () => {
    const user = await createUser("frank");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    let createdAt = 0;
    const p = await proxy((r) => {
      if (r.action === "CreateAccessKey") createdAt = r.at;
      if (r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId && r.at - createdAt < 2_000) {
        return { status: 403, body: awsErrorXml("InvalidClientTokenId") };
      }
      return undefined;
    });

    const result = await rotate({ store, endpoint: p.url });

    expect(result.isOk()).toBe(true);
    const update = p.requests.find((r) => r.action === "UpdateAccessKey");
    const lastRejected = Math.max(...p.requests.filter((r) => r.action === "GetCallerIdentity" && r.at - createdAt < 2_000).map((r) => r.at));
    expect(update?.at).toBeGreaterThan(createdAt + 2_000);
    expect(update && update.at - lastRejected).toBeLessThan(2_500);
    expect(await keysOf(admin, "frank")).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
  });

  test("an install failure deletes the new key and leaves the store as it was", async () => {
    const user = await createUser("grace");
    const old = user.keys[0] as TestKey;
    const inner = memoryStore({ initial: old });
    const store: CredentialStore = {
      ...inner,
      write: async () => {
        throw createStoreError("EIO", "disk full");
      },
    };
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl() });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind).toBe("store");
    expect(error.message).toContain("disk full");
    expect(error.report?.outcome).toBe("rolled-back");
    expect(inner.current()).toEqual(old);
    expect(await keysOf(admin, "grace")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });

  test("an admin rotates another user's key with credentials; all IAM calls but verify's are signed by the admin", async () => {
    const user = await createUser("heidi", {
      policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" }] },
    });
    const store = memoryStore({ initial: user.keys[0] as TestKey });
    await enforceAuth();
    const p = await proxy();

    const result = await rotate({ store, userName: "heidi", credentials: admin, endpoint: p.url });

    expect(result.isOk()).toBe(true);
    const newId = store.current()?.accessKeyId;
    // Verify is signed by the new key alone, on STS and IAM; heidi may not list her keys, and the
    // AccessDenied that answers proves IAM knows the key (an unknown key gets InvalidClientTokenId).
    expect(p.requests.filter((r) => r.accessKeyId === newId).map((r) => r.action)).toEqual(["GetCallerIdentity", "GetCallerIdentity", "ListAccessKeys"]);
    for (const r of p.requests) if (r.accessKeyId !== newId) expect(r.accessKeyId).toBe(admin.accessKeyId);
    expect(await keysOf(admin, "heidi")).toEqual([{ id: newId, status: "Active" }]);
  });

  test("a store holding no key, a key of another user, or a bad endpoint: clear errors, nothing created", async () => {
    const alice = await createUser("ivan");
    await createUser("judy");
    await enforceAuth();

    const empty = await rotate({ store: memoryStore(), endpoint: motoUrl() });
    expect(empty.isErr() && empty.error.kind).toBe("config");
    expect(empty.isErr() && empty.error.message).toContain("holds no access key");

    const wrongUser = await rotate({ store: memoryStore({ initial: alice.keys[0] as TestKey }), userName: "judy", endpoint: motoUrl() });
    expect(wrongUser.isErr() && wrongUser.error.kind).toBe("config");
    expect(wrongUser.isErr() && wrongUser.error.message).toContain("is not one of IAM user judy's keys");

    const badEndpoint = await rotate({ store: memoryStore({ initial: alice.keys[0] as TestKey }), endpoint: "not a url" });
    expect(badEndpoint.isErr() && badEndpoint.error.kind).toBe("config");

    const unknown = await rotate({
      store: memoryStore({ initial: { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x".repeat(40) } }),
      endpoint: motoUrl(),
    });
    expect(unknown.isErr() && unknown.error.kind).toBe("aws");
    expect(unknown.isErr() && unknown.error.message).toContain("InvalidClientTokenId");
    expect(unknown.isErr() && unknown.error.message).not.toContain("x".repeat(40));

    expect((await keysOf(admin, "ivan")).length).toBe(1);
    expect((await keysOf(admin, "judy")).length).toBe(1);
  });

  test("aborting during verification rolls back", async () => {
    const user = await createUser("kim");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    const controller = new AbortController();
    const p = await proxy((r) => {
      if (r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId) {
        controller.abort();
        return { status: 403, body: awsErrorXml("InvalidClientTokenId") };
      }
      return undefined;
    });

    const result = await rotate({ store, endpoint: p.url, signal: controller.signal });

    expect(result.isErr() && result.error.kind).toBe("aborted");
    expect(store.current()).toEqual(old);
    expect(await keysOf(admin, "kim")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });
});

describe("listKeys()", () => {
  test("lists the store's user's keys with status, age and last use, marking the held one", async () => {
    const user = await createUser("liam", { keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    await enforceAuth();
    await whoAmI(held);
    const now = new Date(Date.now() + 3_600_000);

    const result = await listKeys({ store: memoryStore({ initial: held }), endpoint: motoUrl(), now });

    expect(result.isOk()).toBe(true);
    const keys = result._unsafeUnwrap();
    expect(keys.map((k) => [k.accessKeyId, k.status, k.inStore])).toEqual([
      [held.accessKeyId, "Active", true],
      [other.accessKeyId, "Active", false],
    ]);
    for (const k of keys) {
      expect(k.createdAt).toBeInstanceOf(Date);
      expect(k.ageMs).toBeGreaterThanOrEqual(3_600_000);
    }
  });

  test("a key that IAM rejects gives a typed aws error", async () => {
    await createUser("mia");
    await enforceAuth();
    const result = await listKeys({
      store: memoryStore({ initial: { accessKeyId: "AKIANOSUCHKEY0000000", secretAccessKey: "y".repeat(40) } }),
      endpoint: motoUrl(),
    });
    expect(result.isErr() && result.error.kind).toBe("aws");
  });
});

describe("propagation: the new key is rejected for a while, or flaps", () => {
  test("a key that is accepted once, then rejected again for 1.5 s, is verified only by two fresh consecutive successes", async () => {
    const user = await createUser("flappy");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    let firstSuccessAt = -1;
    const p = await proxy((r) => {
      if (r.action !== "GetCallerIdentity" || r.accessKeyId === old.accessKeyId) return undefined;
      if (firstSuccessAt < 0) {
        firstSuccessAt = r.at;
        return undefined; // accepted once…
      }
      return r.at - firstSuccessAt < 1_500 ? { status: 403, body: awsErrorXml("InvalidClientTokenId") } : undefined; // …then rejected again
    });

    const result = await rotate({ store, endpoint: p.url });

    expect(result.isOk()).toBe(true);
    const verifies = p.requests.filter((r) => r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId);
    const update = p.requests.find((r) => r.action === "UpdateAccessKey");
    const stable = firstSuccessAt + 1_500;
    // Two successes after the flapping window, and the old key retired only after them.
    expect(verifies.filter((r) => r.at >= stable).length).toBeGreaterThanOrEqual(2);
    expect(update?.at).toBeGreaterThan(stable);
    expect((update?.at ?? 0) - stable).toBeLessThan(2_000);
    expect(result._unsafeUnwrap().verifyAttempts).toBe(verifies.length);
  });
});

describe("the store's backup is discarded once nothing can need it", () => {
  /** A memory store that records what it is asked to discard, or fails to. */
  function discardingStore(initial: TestKey, fail = false) {
    const discarded: StoreBackup[] = [];
    const base = memoryStore({ initial });
    const store: CredentialStore = {
      ...base,
      discard: async (backup) => {
        if (fail) throw createStoreError("EIO", "cannot remove the backup /srv/backup: permission denied");
        discarded.push(backup);
      },
    };
    return { store, discarded, current: base.current };
  }
  test("after a rotation: the backup taken before CreateAccessKey, once", async () => {
    const user = await createUser("gina");
    const { store, discarded } = discardingStore(user.keys[0] as TestKey);
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl() });

    expect(result.isOk()).toBe(true);
    expect(discarded).toHaveLength(1);
    expect(discarded[0]?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test("after a rollback too, but not after a failed rollback, whose manual steps point at it", async () => {
    const rolled = await createUser("hank");
    const oldRolled = rolled.keys[0] as TestKey;
    const failing = await createUser("iris");
    const oldFailing = failing.keys[0] as TestKey;
    const a = discardingStore(oldRolled);
    const b = discardingStore(oldFailing);
    await enforceAuth();
    // New keys never verify; iris may not delete keys, so her rollback cannot delete the new one.
    const oldKeys = new Set([oldRolled.accessKeyId, oldFailing.accessKeyId]);
    const p = await proxy((r) => {
      if (r.action === "DeleteAccessKey" && r.body.includes("UserName=iris")) return { status: 403, body: awsErrorXml("AccessDenied", "not allowed") };
      if (r.action === "GetCallerIdentity" && !oldKeys.has(r.accessKeyId)) return { status: 403, body: awsErrorXml("InvalidClientTokenId") };
      return undefined;
    });

    const rolledBack = await rotate({ store: a.store, endpoint: p.url, verifyTimeoutMs: 800 });
    const rollbackFailed = await rotate({ store: b.store, endpoint: p.url, verifyTimeoutMs: 800 });

    expect(rolledBack._unsafeUnwrapErr().report?.outcome).toBe("rolled-back");
    expect(a.discarded).toHaveLength(1);
    expect(a.current()).toEqual(oldRolled);
    expect(rollbackFailed._unsafeUnwrapErr().report?.outcome).toBe("rollback-failed");
    expect(b.discarded).toEqual([]);
  });

  test("a backup that cannot be discarded is a logged warning; the rotation still succeeded", async () => {
    const user = await createUser("jack");
    const { store, current } = discardingStore(user.keys[0] as TestKey, true);
    await enforceAuth();
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (line: string) => warnings.push(line), error: () => undefined };

    const result = await rotate({ store, endpoint: motoUrl(), logger });

    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    expect(current()?.accessKeyId).toBe(result._unsafeUnwrap().newAccessKeyId);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not delete the backup sha256:[0-9a-f]{64}: cannot remove the backup \/srv\/backup: permission denied$/);
  });
});
