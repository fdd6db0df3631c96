import { join } from "node:path";
import { PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { fileJournal, memoryStore, type ProgressEvent } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";
import { recover, rotate } from "../../../test-support/observed.js";
import type { RealismProfile } from "../../../test-support/realism/profiles.js";
import { type RealismProxy, startRealismProxy } from "../../../test-support/realism/realism-proxy.js";

// The fixes issue 11 asks for, each under the realism proxy's model of AWS (docs/aws-behaviour.md).

let admin: TestKey;
let proxy: RealismProxy | undefined;

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function aliceUnder(profile: RealismProfile): Promise<{ old: TestKey; arn: string; p: RealismProxy }> {
  const user = await createUser("alice");
  await enforceAuth();
  proxy = await startRealismProxy(motoUrl(), profile);
  return { old: user.keys[0] as TestKey, arn: user.arn, p: proxy };
}

/** Index in the proxy's log of the first request matching `match`, or -1. */
const firstIndex = (p: RealismProxy, match: (r: RealismProxy["requests"][number]) => boolean) => p.requests.findIndex(match);

describe("verify proves the new key on IAM, not only on STS", () => {
  // STS accepts the new key 0.3 s after CreateAccessKey, IAM only after 1.5 s.
  const stsBeforeIam: RealismProfile = { propagation: { stsMs: 300, iamMs: 1_500 } };

  test("signed by the store's keys: a ListAccessKeys by the new key succeeds before the old key is touched", async () => {
    const { old, p } = await aliceUnder(stsBeforeIam);
    const store = memoryStore({ initial: old });

    const result = await rotate({ store, endpoint: p.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const fresh = result._unsafeUnwrap().newAccessKeyId ?? "";
    const iamAccepted = firstIndex(p, (r) => r.accessKeyId === fresh && r.service === "iam" && r.status === 200);
    expect(p.requests[iamAccepted]?.action).toBe("ListAccessKeys");
    expect(iamAccepted).toBeLessThan(firstIndex(p, (r) => r.action === "UpdateAccessKey"));
    // IAM refused the new key before it accepted it: the verify really waited for IAM.
    expect(p.requests.some((r) => r.accessKeyId === fresh && r.service === "iam" && r.error === "InvalidClientTokenId")).toBe(true);
  });

  test("signed by an admin's credentials: the old key is deactivated only after IAM accepted the new key", async () => {
    const { old, p } = await aliceUnder(stsBeforeIam);
    const store = memoryStore({ initial: old });

    const result = await rotate({ store, userName: "alice", credentials: admin, endpoint: p.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const fresh = result._unsafeUnwrap().newAccessKeyId ?? "";
    const iamAccepted = firstIndex(p, (r) => r.accessKeyId === fresh && r.service === "iam" && r.status === 200);
    expect(iamAccepted).toBeGreaterThanOrEqual(0);
    expect(iamAccepted).toBeLessThan(firstIndex(p, (r) => r.action === "UpdateAccessKey"));
  });
});

describe("AccessDenied during verify is a missing permission, not propagation", () => {
  test("fails fast, names iam:ListAccessKeys and the policy line, and rolls back", async () => {
    const { old, arn, p } = await aliceUnder({ propagation: { stsMs: 200, iamMs: 800 } });
    const store = memoryStore({ initial: old });
    // Once the new key exists, alice loses ListAccessKeys (an explicit Deny), as a policy without it would.
    let denied: Promise<unknown> | undefined;
    const onEvent = (e: ProgressEvent) => {
      if (e.type === "step" && e.step.step === "create-key" && e.step.status === "ok")
        denied = iamClient(admin).send(
          new PutUserPolicyCommand({
            UserName: "alice",
            PolicyName: "no-listing",
            PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "iam:ListAccessKeys", Resource: "*" }] }),
          }),
        );
    };
    const started = Date.now();

    const result = await rotate({ store, endpoint: p.url, region: "us-east-1", verifyTimeoutMs: 20_000, onEvent });

    await denied;
    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: "aws", code: "AccessDenied", operation: "ListAccessKeys" });
    expect(error.message).toContain("iam:ListAccessKeys");
    expect(error.message).toContain(`"Resource":"arn:aws:iam::${arn.split(":")[4]}:user/\${aws:username}"`);
    expect(error.report?.outcome).toBe("rolled-back");
    expect(error.report?.nextSteps).toEqual([{ type: "grant-permission", userName: "alice", action: "iam:ListAccessKeys" }]);
    expect(error.report?.manualSteps.join("\n")).toContain('"Action":"iam:ListAccessKeys"');
    // Well before the 20 s verify timeout: no retry after the AccessDenied.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(p.requests.filter((r) => r.error === "AccessDenied")).toHaveLength(1);
    expect(store.current()?.accessKeyId).toBe(old.accessKeyId);
    expect(await keysOf(admin, "alice")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });
});

describe("a throttled CreateAccessKey created nothing", () => {
  test("backs off and asks again, without looking for a lost key", async () => {
    // One token, refilled every 2 s: ListAccessKeys takes it, CreateAccessKey right after is throttled.
    const { old, p } = await aliceUnder({ iamRate: { burst: 1, perSecond: 0.5 } });
    const store = memoryStore({ initial: old });

    const result = await rotate({ store, userName: "alice", endpoint: p.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const steps = result._unsafeUnwrap().steps;
    expect(steps.some((s) => s.step === "create-key" && s.status === "retry" && s.detail?.startsWith("Throttling"))).toBe(true);
    expect(steps.map((s) => s.step)).not.toContain("reconcile");
    expect(p.requests.filter((r) => r.action === "CreateAccessKey" && r.error === "Throttling").length).toBeGreaterThan(0);
    expect(p.requests.filter((r) => r.action === "CreateAccessKey" && r.status === 200)).toHaveLength(1);
    expect(await keysOf(admin, "alice")).toEqual([{ id: store.current()?.accessKeyId, status: "Active" }]);
  });
});

describe("a machine clock off by 10 minutes", () => {
  test("rotates: every client of the rotation signs with the clock offset the SDK learnt", async () => {
    const { old, p } = await aliceUnder({ clockOffsetMs: 10 * 60_000, maxSkewMs: 5 * 60_000 });
    const store = memoryStore({ initial: old });

    const result = await rotate({ store, endpoint: p.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    // Only the rotation's first request met the skew; CreateAccessKey was never refused for it.
    expect(p.requests.filter((r) => r.action === "CreateAccessKey").map((r) => r.status)).toEqual([200]);
  });
});

describe("MFA sessions that last the rotation", () => {
  const mfa = { serialNumber: "arn:aws:iam::123456789012:mfa/alice", tokenCode: async () => "123456" };

  test("a session that would expire before the rotation could end is refused before CreateAccessKey", async () => {
    // Sessions live 1/20 of what they ask: the 900 s session keyup asks for lasts 45 s, less than the
    // 150 s a rotation with a 30 s verify timeout may need after creating its key.
    const { old, p } = await aliceUnder({ sessionTimeScale: 0.05 });
    const store = memoryStore({ initial: old });

    const result = await rotate({ store, endpoint: p.url, region: "us-east-1", mfa });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/the MFA session expires at .*, in \d+ s, and the rotation may need 150 s .*nothing was created/);
    expect(error.report?.outcome).toBe("failed");
    expect(p.requests.map((r) => r.action)).not.toContain("CreateAccessKey");
    expect(store.current()).toEqual(old);
    expect(await keysOf(admin, "alice")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });

  test("a session that expires during the rollback ends 'failed' with ExpiredToken and what is left, not rollback-failed; recover finishes it", async () => {
    // STS never accepts the new key within the 1 s verify timeout: the rotation rolls back. Once verify
    // has given up, two hours pass on AWS's side: the 15-minute session has expired.
    const { old, p } = await aliceUnder({ propagation: { stsMs: 10 * 60_000, iamMs: 10 * 60_000 } });
    const store = memoryStore({ initial: old });
    const onEvent = (e: ProgressEvent) => {
      if (e.type === "step" && e.step.step === "verify" && e.step.status === "failed") p.advance(2 * 60 * 60_000);
    };

    const journal = fileJournal(join(await tempDir(), "rotation.journal"));

    const result = await rotate({ store, journal, endpoint: p.url, region: "us-east-1", mfa, verifyTimeoutMs: 1_000, onEvent });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    const fresh = error.report?.newAccessKeyId ?? "";
    expect(error).toMatchObject({ kind: "aws", code: "ExpiredToken", operation: "DeleteAccessKey" });
    expect(error.message).toContain("the MFA session expired during the rollback's delete-new-key");
    expect(error.message).toContain(`IAM still has the new key ${fresh}`);
    expect(error.message).toContain("Run recover with a fresh MFA code");
    expect(error.report?.outcome).toBe("failed");
    expect(error.report?.leftovers.accessKeyIds).toEqual([fresh]);
    expect(error.report?.nextSteps).toEqual([{ type: "delete-key", userName: "alice", accessKeyId: fresh }]);
    // The store was restored before the session ran out.
    expect(store.current()).toEqual(old);
    expect(p.requests.some((r) => r.action === "DeleteAccessKey" && r.error === "ExpiredToken")).toBe(true);

    // The journal kept the state: recover, with a fresh session, finishes the rollback.
    expect(await journal.load()).toBeDefined();
    const recovered = await recover({ store, journal, endpoint: p.url, region: "us-east-1", mfa });
    expect(recovered.isErr() && recovered.error.report?.outcome).toBe("rolled-back");
    expect(await keysOf(admin, "alice")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
    expect(store.current()).toEqual(old);
    expect(await journal.load()).toBeUndefined();
  });
});
