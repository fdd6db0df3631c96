import { ListUserTagsCommand, TagUserCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { cleanup, graceTagKey, memoryStore, plan } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keysOf,
  motoUrl,
  resetEmulator,
  TAGGING_POLICY,
  type TestKey,
  whoAmI,
} from "../../../test-support/moto.js";
import { listKeys, rotate } from "../../../test-support/observed.js";
import { captureValue } from "../../../test-support/secrets.js";

let admin: TestKey;
const closers: (() => Promise<void>)[] = [];
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function tagsOf(userName: string): Promise<Record<string, string>> {
  const out = await iamClient(admin).send(new ListUserTagsCommand({ UserName: userName }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

describe("age policy", () => {
  test("a key younger than minAge is skipped (nothing changes); an older one rotates", async () => {
    const user = await createUser("young");
    const key = user.keys[0] as TestKey;
    const store = memoryStore({ initial: key });
    await enforceAuth();

    const skipped = await rotate({ store, endpoint: motoUrl(), minAgeMs: 90 * 86_400_000 });
    expect(skipped.isOk()).toBe(true);
    expect(skipped._unsafeUnwrap().outcome).toBe("skipped");
    expect(skipped._unsafeUnwrap().steps.at(-1)?.detail).toMatch(/younger than 90d/);
    expect(store.current()).toEqual(key);
    expect(await keysOf(admin, "young")).toEqual([{ id: key.accessKeyId, status: "Active" }]);

    const rotated = await rotate({ store, endpoint: motoUrl(), minAgeMs: 0 });
    expect(rotated._unsafeUnwrap().outcome).toBe("rotated");
  });
});

describe("grace period and cleanup", () => {
  test("keepOldFor deactivates the old key and records its deadline; cleanup deletes it only after that", async () => {
    const user = await createUser("graceful", { policy: TAGGING_POLICY });
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl(), keepOldForMs: 7 * 86_400_000 });

    expect(result._unsafeUnwrap()).toMatchObject({ outcome: "rotated", oldKey: "inactive" });
    const newId = store.current()?.accessKeyId ?? "";
    const keys = await keysOf(admin, "graceful");
    expect(keys).toContainEqual({ id: old.accessKeyId, status: "Inactive" });
    const deadline = (await tagsOf("graceful"))[graceTagKey(old.accessKeyId)] ?? "";
    expect(Date.parse(deadline) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    const early = await cleanup({ store, endpoint: motoUrl() });
    expect(early._unsafeUnwrap()).toMatchObject({ deleted: [], kept: [{ accessKeyId: old.accessKeyId }] });
    expect((await keysOf(admin, "graceful")).length).toBe(2);

    // At the 2-key limit before the grace has passed, the next rotation refuses and says until when.
    const refused = await rotate({ store, endpoint: motoUrl() });
    expect(refused.isErr() && refused.error.kind).toBe("limit");
    expect(refused.isErr() && refused.error.message).toContain(`kept until ${deadline}`);

    const late = await cleanup({ store, endpoint: motoUrl(), now: new Date(Date.parse(deadline) + 1) });
    expect(late._unsafeUnwrap()).toMatchObject({ deleted: [old.accessKeyId], kept: [] });
    expect(await keysOf(admin, "graceful")).toEqual([{ id: newId, status: "Active" }]);
    expect((await tagsOf("graceful"))[graceTagKey(old.accessKeyId)]).toBeUndefined();
  });

  test("a later rotation at the limit deletes an Inactive key whose grace has passed, then rotates", async () => {
    const user = await createUser("expired", { policy: TAGGING_POLICY, keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    const iam = iamClient();
    await iam.send(new UpdateAccessKeyCommand({ UserName: "expired", AccessKeyId: other.accessKeyId, Status: "Inactive" }));
    await iam.send(new TagUserCommand({ UserName: "expired", Tags: [{ Key: graceTagKey(other.accessKeyId), Value: "2020-01-01T00:00:00.000Z" }] }));
    const store = memoryStore({ initial: held });
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl() });

    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    expect(await keysOf(admin, "expired")).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
    expect(await tagsOf("expired")).toEqual({});
  });

  test("cleanup never deletes the store's key, an Active key, or an Inactive key without a grace tag", async () => {
    const user = await createUser("careful", { policy: TAGGING_POLICY, keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    await iamClient().send(new UpdateAccessKeyCommand({ UserName: "careful", AccessKeyId: other.accessKeyId, Status: "Inactive" }));
    await iamClient().send(new TagUserCommand({ UserName: "careful", Tags: [{ Key: graceTagKey(held.accessKeyId), Value: "2020-01-01T00:00:00.000Z" }] }));
    await enforceAuth();
    const result = await cleanup({ store: memoryStore({ initial: held }), endpoint: motoUrl() });
    captureValue("cleanup", result);
    expect(result._unsafeUnwrap()).toMatchObject({ deleted: [], kept: [] });
    expect((await keysOf(admin, "careful")).length).toBe(2);
  });
});

describe("in-use guard", () => {
  test("an old key used after the new one was installed is left Active, with a warning naming service and region", async () => {
    const user = await createUser("shared");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    let usedByOthers = false;
    const proxy = await startAwsProxy(motoUrl(), (r) => {
      // While keyup verifies the new key, "another machine" still uses the old one.
      if (!usedByOthers && r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId) {
        usedByOthers = true;
        void whoAmI(old);
        return { delayMs: 300 };
      }
      return undefined;
    });
    closers.push(proxy.close);

    const result = await rotate({ store, endpoint: proxy.url, inUseGuard: true });

    const report = result._unsafeUnwrap();
    expect(report.outcome).toBe("completed-with-warnings");
    expect(report.oldKey).toBe("active");
    expect(report.warnings[0]).toMatch(new RegExp(`old key ${old.accessKeyId} was used at .* \\(sts in us-east-1\\) after the new key was installed`));
    expect((await keysOf(admin, "shared")).map((k) => k.status)).toEqual(["Active", "Active"]);
    expect(proxy.counts().GetAccessKeyLastUsed).toBe(1);
  });

  test("an old key not used since the install is retired, at the cost of exactly one GetAccessKeyLastUsed", async () => {
    const user = await createUser("quiet");
    const store = memoryStore({ initial: user.keys[0] as TestKey });
    await enforceAuth();
    const proxy = await startAwsProxy(motoUrl());
    closers.push(proxy.close);
    const result = await rotate({ store, userName: "quiet", endpoint: proxy.url, inUseGuard: true });
    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    expect(proxy.counts()).toEqual({
      ListAccessKeys: 2, // before creating, and verify's IAM confirmation
      CreateAccessKey: 1,
      GetCallerIdentity: 2,
      GetAccessKeyLastUsed: 1,
      UpdateAccessKey: 1,
      DeleteAccessKey: 1,
    });
  });
});

describe("key descriptions", () => {
  test("the new key is described with a user tag, the old key's tag removed, and listKeys shows it", async () => {
    const user = await createUser("described", { policy: TAGGING_POLICY });
    const old = user.keys[0] as TestKey;
    await iamClient().send(new TagUserCommand({ UserName: "described", Tags: [{ Key: old.accessKeyId, Value: "laptop 2025" }] }));
    const store = memoryStore({ initial: old });
    await enforceAuth();

    const result = await rotate({ store, endpoint: motoUrl(), description: "ci runner eu-west-1" });

    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    const newId = store.current()?.accessKeyId ?? "";
    expect(await tagsOf("described")).toEqual({ [newId]: "ci runner eu-west-1" });
    const listed = await listKeys({ store, endpoint: motoUrl() });
    expect(listed._unsafeUnwrap()).toMatchObject([{ accessKeyId: newId, description: "ci runner eu-west-1" }]);
  });

  test("a description IAM would refuse is a config error before anything happens", async () => {
    const user = await createUser("picky");
    await enforceAuth();
    const result = await rotate({ store: memoryStore({ initial: user.keys[0] as TestKey }), endpoint: motoUrl(), description: "no <html> please" });
    expect(result.isErr() && result.error.kind).toBe("config");
  });
});

describe("dry run", () => {
  test("plan() says what would happen and writes nothing to IAM or the store", async () => {
    const user = await createUser("planner");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    const proxy = await startAwsProxy(motoUrl());
    closers.push(proxy.close);

    const result = await plan({ store, endpoint: proxy.url });
    captureValue("plan", result);

    const p = result._unsafeUnwrap();
    expect(p.outcome).toBe("rotated");
    expect(p.actions).toEqual([
      "create a new access key for IAM user planner",
      `write the new key into ${store.name} (replacing ${old.accessKeyId})`,
      "verify the new key with STS and IAM (2 consecutive successes) before touching the old one",
      `set planner's key ${old.accessKeyId} to Inactive`,
      `delete planner's key ${old.accessKeyId}`,
    ]);
    expect(Object.keys(proxy.counts()).sort()).toEqual(["GetCallerIdentity", "ListAccessKeys"]);
    expect(store.current()).toEqual(old);
    expect(await keysOf(admin, "planner")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });

  test("a plan that would hit the 2-key limit fails the same way, still without writing", async () => {
    const user = await createUser("crowded", { keys: 2 });
    await enforceAuth();
    const result = await plan({ store: memoryStore({ initial: user.keys[0] as TestKey }), endpoint: motoUrl() });
    expect(result.isErr() && result.error.kind).toBe("limit");
    expect((await keysOf(admin, "crowded")).length).toBe(2);
  });
});

describe("logger", () => {
  test("a console-compatible logger gets one line per step, with key ids and never a secret", async () => {
    const user = await createUser("logged");
    const old = user.keys[0] as TestKey;
    const store = memoryStore({ initial: old });
    await enforceAuth();
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(`debug ${m}`),
      info: (m: string) => lines.push(`info ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
    };

    await rotate({ store, endpoint: motoUrl(), logger });

    expect(lines.filter((l) => l.startsWith("info ")).length).toBeGreaterThanOrEqual(8);
    expect(lines.join("\n")).toMatch(/rotation=[0-9a-f-]{36} store=memory:[^ ]+ step=create-key status=ok created AKIA/);
    captureValue("logger lines", lines);
  });
});
