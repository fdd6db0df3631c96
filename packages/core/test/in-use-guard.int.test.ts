import { ListUserTagsCommand, TagUserCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { cleanup, graceTagKey, memoryStore } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, TAGGING_POLICY, type TestKey } from "../../../test-support/moto.js";
import { rotate } from "../../../test-support/observed.js";
import type { RealismProfile } from "../../../test-support/realism/profiles.js";
import { type RealismProxy, startRealismProxy } from "../../../test-support/realism/realism-proxy.js";

// The in-use guard, cleanup and tags against AWS's last-used recording (first use per 15 minutes, 30 s
// late, minute resolution) and IAM lagging STS, through the realism proxy. Model time is skipped with
// proxy.advance(), so the 15-minute windows cost nothing.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** AWS's last-used recording as documented, short propagation so a rotation takes about a second. */
const PROFILE: RealismProfile = {
  propagation: { stsMs: 200, iamMs: 600 },
  deactivationLagMs: 200,
  lastUsed: { windowMs: 15 * MINUTE, lagMs: 30_000, resolutionMs: MINUTE },
  maxSkewMs: 5 * MINUTE,
};

let admin: TestKey;
let proxy: RealismProxy;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  await proxy?.close();
});

async function tagsOf(userName: string): Promise<Record<string, string>> {
  const out = await iamClient(admin).send(new ListUserTagsCommand({ UserName: userName }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

/** A consumer elsewhere calling AWS with `key` through the proxy. */
async function consumerUses(key: TestKey): Promise<void> {
  await new STSClient({ region: "us-east-1", endpoint: proxy.url, credentials: key, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
}

/** A user with one key, a consumer that used it a minute ago (visible to GetAccessKeyLastUsed by now). */
async function usedKey(userName: string): Promise<TestKey> {
  const user = await createUser(userName, { policy: TAGGING_POLICY });
  const old = user.keys[0] as TestKey;
  await enforceAuth();
  proxy = await startRealismProxy(motoUrl(), PROFILE);
  await consumerUses(old);
  proxy.advance(MINUTE);
  // advance() skips the proxy's clock, not keyup's: on keyup's clock this use is only milliseconds old,
  // and keyup counts a use stamped within a second before its own first call as its own. A use AWS
  // already shows is always older than that (it shows up 30 s late), so wait until it is, on keyup's
  // clock too. The stamp is truncated to the minute, so the wait is nothing unless the use fell in a
  // minute's first second (1 run in 60 failed here before).
  const stamped = proxy.uses.recorded(old.accessKeyId).at(-1)?.date;
  if (stamped === undefined) throw new Error("the proxy recorded no use of the consumer's key");
  const wait = stamped + 1_001 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return old;
}

describe("in-use guard under AWS's last-used recording", () => {
  test("a key a consumer used before the rotation stays Active for the hold; cleanup keeps it while the consumer still uses it after the new key's creation + 15 min", async () => {
    const old = await usedKey("shared");
    const store = memoryStore({ initial: old });

    const report = (await rotate({ store, endpoint: proxy.url, inUseGuard: true }))._unsafeUnwrap();

    expect(report).toMatchObject({ outcome: "rotated", oldKey: "active" });
    const newId = store.current()?.accessKeyId ?? "";
    expect((await keysOf(admin, "shared")).map((k) => k.status)).toEqual(["Active", "Active"]);
    const until = Date.parse((await tagsOf("shared"))[graceTagKey(old.accessKeyId)] ?? "");
    expect(until - Date.now()).toBeGreaterThan(0.9 * HOUR);
    expect(report.nextSteps).toContainEqual({ type: "cleanup-after", accessKeyId: old.accessKeyId, after: new Date(until).toISOString() });
    // The guard's read came before any other call signed by the old key.
    const byOld = proxy.requests.filter((r) => r.accessKeyId === old.accessKeyId).map((r) => r.action);
    expect(byOld.slice(0, 2)).toEqual(["GetCallerIdentity", "GetAccessKeyLastUsed"]);

    // Before the hold has passed, cleanup keeps it.
    const early = (await cleanup({ store, endpoint: proxy.url }))._unsafeUnwrap();
    expect(early.kept).toEqual([{ accessKeyId: old.accessKeyId, keepUntil: new Date(until), status: "Active" }]);

    // The consumer never switched: its first use after keyup's 15-minute window is recorded.
    proxy.advance(17 * MINUTE);
    await consumerUses(old);
    proxy.advance(MINUTE);
    const late = (await cleanup({ store, endpoint: proxy.url, now: new Date(until + 1) }))._unsafeUnwrap();
    expect(late.deleted).toEqual([]);
    expect(late.inUse.map((k) => k.accessKeyId)).toEqual([old.accessKeyId]);
    expect(await keysOf(admin, "shared")).toContainEqual({ id: old.accessKeyId, status: "Active" });
    expect(newId).not.toBe(old.accessKeyId);
  });

  test("cleanup deletes the held key, and its tag, once no use after the new key's creation + 15 min is recorded", async () => {
    const old = await usedKey("switched");
    const store = memoryStore({ initial: old });
    (await rotate({ store, endpoint: proxy.url, inUseGuard: true }))._unsafeUnwrap();
    const until = Date.parse((await tagsOf("switched"))[graceTagKey(old.accessKeyId)] ?? "");

    // The consumer used the old key once more inside keyup's window (not recorded), then switched.
    await consumerUses(old);
    proxy.advance(40 * MINUTE);

    const result = (await cleanup({ store, endpoint: proxy.url, now: new Date(until + 1) }))._unsafeUnwrap();
    expect(result).toMatchObject({ deleted: [old.accessKeyId], inUse: [], kept: [] });
    expect(await keysOf(admin, "switched")).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
    expect(await tagsOf("switched")).toEqual({});
  });

  test("a key nobody used recently is retired at once, as without the guard", async () => {
    const user = await createUser("quiet", { policy: TAGGING_POLICY });
    const old = user.keys[0] as TestKey;
    await enforceAuth();
    proxy = await startRealismProxy(motoUrl(), PROFILE);
    const store = memoryStore({ initial: old });

    const report = (await rotate({ store, endpoint: proxy.url, inUseGuard: true }))._unsafeUnwrap();

    expect(report).toMatchObject({ outcome: "rotated", oldKey: "deleted" });
    expect(await keysOf(admin, "quiet")).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
  });
});

describe("tags under IAM's propagation lag", () => {
  test("the description tag, signed by a new key IAM does not know yet, is retried instead of given up", async () => {
    const user = await createUser("described", { policy: TAGGING_POLICY });
    await enforceAuth();
    proxy = await startRealismProxy(motoUrl(), { propagation: { stsMs: 100, iamMs: 1_500 } });
    const store = memoryStore({ initial: user.keys[0] as TestKey });

    const report = (await rotate({ store, endpoint: proxy.url, description: "ci runner" }))._unsafeUnwrap();

    expect(report.warnings).toEqual([]);
    expect(report.outcome).toBe("rotated");
    expect(await tagsOf("described")).toEqual({ [store.current()?.accessKeyId ?? ""]: "ci runner" });
  });

  test("cleanup removes the description and grace tags of keys that no longer exist, and keeps those of live keys", async () => {
    const user = await createUser("tidy", { policy: TAGGING_POLICY });
    const held = user.keys[0] as TestKey;
    const gone = "AKIAGONEGONEGONE0001";
    await iamClient().send(
      new TagUserCommand({
        UserName: "tidy",
        Tags: [
          { Key: held.accessKeyId, Value: "laptop" },
          { Key: gone, Value: "old laptop" },
          { Key: graceTagKey(gone), Value: "2020-01-01T00:00:00.000Z" },
          { Key: "team", Value: "platform" },
        ],
      }),
    );
    await enforceAuth();
    proxy = await startRealismProxy(motoUrl(), PROFILE);

    const result = (await cleanup({ store: memoryStore({ initial: held }), endpoint: proxy.url }))._unsafeUnwrap();

    expect([...result.removedTags].sort()).toEqual([gone, graceTagKey(gone)].sort());
    expect(await tagsOf("tidy")).toEqual({ [held.accessKeyId]: "laptop", team: "platform" });
  });
});
