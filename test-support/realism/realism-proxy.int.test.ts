import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { enforceMotoAuth, resetMoto, seedUser } from "../emulator.js";
import { createAdmin, createUser, enforceAuth, motoUrl, resetEmulator, type TestKey } from "../moto.js";
import { rememberSecret } from "../secrets.js";
import { awsCli } from "./aws-cli.js";
import { type RealismProfile, scaleProfile, TYPICAL_AWS } from "./profiles.js";
import { type RealismProxy, startRealismProxy } from "./realism-proxy.js";

const MINUTE = 60_000;
let admin: TestKey;
let alice: { arn: string; key: TestKey };
let proxy: RealismProxy | undefined;

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
  const user = await createUser("alice");
  alice = { arn: user.arn, key: user.keys[0] as TestKey };
  await enforceAuth();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function start(profile: RealismProfile): Promise<RealismProxy> {
  proxy = await startRealismProxy(motoUrl(), profile);
  return proxy;
}

type Creds = TestKey & { sessionToken?: string };
const iam = (p: RealismProxy, credentials: Creds, maxAttempts = 1) => new IAMClient({ region: "us-east-1", endpoint: p.url, credentials, maxAttempts });
const sts = (p: RealismProxy, credentials: Creds, maxAttempts = 1) => new STSClient({ region: "us-east-1", endpoint: p.url, credentials, maxAttempts });

/** The error name an SDK call failed with, or "ok". */
async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (e: Error) => e.name,
  );
}
const whoAmI = (p: RealismProxy, k: Creds) => outcome(sts(p, k).send(new GetCallerIdentityCommand({})));
const listOwnKeys = (p: RealismProxy, k: Creds) => outcome(iam(p, k).send(new ListAccessKeysCommand({})));

async function newKeyFor(p: RealismProxy, userName: string): Promise<TestKey> {
  const out = await iam(p, admin).send(new CreateAccessKeyCommand({ UserName: userName }));
  const key = { accessKeyId: out.AccessKey?.AccessKeyId ?? "", secretAccessKey: out.AccessKey?.SecretAccessKey ?? "" };
  rememberSecret(key.secretAccessKey);
  return key;
}

describe("propagation per service", () => {
  test("a new key is refused with InvalidClientTokenId, by STS until Ds and by IAM until the longer Di", async () => {
    const p = await start({ propagation: { stsMs: 1 * MINUTE, iamMs: 2 * MINUTE } });
    const key = await newKeyFor(p, "alice");

    expect([await whoAmI(p, key), await listOwnKeys(p, key)]).toEqual(["InvalidClientTokenId", "InvalidClientTokenId"]);
    const cli = await awsCli(p.url, key, ["sts", "get-caller-identity"]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain("InvalidClientTokenId");

    p.advance(1 * MINUTE);
    expect([await whoAmI(p, key), await listOwnKeys(p, key)]).toEqual(["ok", "InvalidClientTokenId"]);
    expect(JSON.parse((await awsCli(p.url, key, ["sts", "get-caller-identity"])).stdout).Arn).toBe(alice.arn);

    p.advance(1 * MINUTE);
    expect([await whoAmI(p, key), await listOwnKeys(p, key)]).toEqual(["ok", "ok"]);
    // Keys that existed before (seeded straight into moto) were never held back.
    expect(p.requests.filter((r) => r.accessKeyId === admin.accessKeyId).every((r) => r.status === 200)).toBe(true);
  });

  test("in real time too: IAM accepts a new key no earlier than Di after CreateAccessKey, STS no earlier than Ds", async () => {
    // Without the rate limit: the loops below call as fast as the machine allows, and on a fast machine
    // the token bucket would answer Throttling, which is not what this test is about.
    const { iamRate: _unthrottled, ...propagationOnly } = scaleProfile(TYPICAL_AWS, 0.2); // Ds 400 ms, Di 1 s
    const p = await start(propagationOnly);
    const key = await newKeyFor(p, "alice");
    const created = p.requests.find((r) => r.action === "CreateAccessKey")?.at ?? 0;
    const accepted = async (call: () => Promise<string>) => {
      for (;;) if ((await call()) === "ok") return;
    };
    await accepted(() => whoAmI(p, key));
    await accepted(() => listOwnKeys(p, key));

    const first = (service: string) => p.requests.find((r) => r.accessKeyId === key.accessKeyId && r.service === service && r.status === 200)?.at ?? 0;
    expect(first("sts") - created).toBeGreaterThanOrEqual(400);
    expect(first("iam") - created).toBeGreaterThanOrEqual(1_000);
    for (const r of p.requests.filter((r) => r.accessKeyId === key.accessKeyId && r.status !== 200)) expect(r.error).toBe("InvalidClientTokenId");
  });

  test("flapping: accepted, then refused again for a while, then accepted for good", async () => {
    const p = await start({ propagation: { stsMs: 0, iamMs: 0, flap: { sts: { afterMs: 1 * MINUTE, forMs: 1 * MINUTE } } } });
    const key = await newKeyFor(p, "alice");

    expect(await whoAmI(p, key)).toBe("ok");
    p.advance(1 * MINUTE);
    expect(await whoAmI(p, key)).toBe("InvalidClientTokenId");
    expect(await listOwnKeys(p, key)).toBe("ok"); // the flap was configured for STS only
    p.advance(1 * MINUTE);
    expect(await whoAmI(p, key)).toBe("ok");
  });
});

describe("seeding through the proxy", () => {
  test("what a test creates while moto's auth is off counts as old state: not held back; what it creates afterwards is", async () => {
    const p = await start({ propagation: { stsMs: 1 * MINUTE, iamMs: 1 * MINUTE }, iamRate: { burst: 1, perSecond: 0.001 } });
    await resetMoto(p.url); // what resetEmulator() does, when the proxy stands in for moto's URL
    const bob = await seedUser(p.url, "bob", { keys: 1 });
    for (const k of bob.keys) rememberSecret(k.secretAccessKey);
    await enforceMotoAuth(p.url);
    const old = bob.keys[0] as TestKey;

    expect([await whoAmI(p, old), await listOwnKeys(p, old)]).toEqual(["ok", "ok"]);
    const created = await iam(p, old, 1)
      .send(new CreateAccessKeyCommand({}))
      .catch((e: Error) => e);
    expect(created).toBeInstanceOf(Error); // the bucket (burst 1) was spent on ListAccessKeys: seeding calls took none
    p.advance(1_000_000);
    const out = await iam(p, old).send(new CreateAccessKeyCommand({}));
    rememberSecret(out.AccessKey?.SecretAccessKey);
    expect(await whoAmI(p, { accessKeyId: out.AccessKey?.AccessKeyId ?? "", secretAccessKey: out.AccessKey?.SecretAccessKey ?? "" })).toBe(
      "InvalidClientTokenId",
    );
  });
});

describe("Inactive and deleted keys", () => {
  test("an Inactive key keeps working for the deactivation lag, then is refused, although moto itself still accepts it", async () => {
    const p = await start({ deactivationLagMs: 1 * MINUTE });
    await iam(p, admin).send(new UpdateAccessKeyCommand({ UserName: "alice", AccessKeyId: alice.key.accessKeyId, Status: "Inactive" }));

    expect(await whoAmI(p, alice.key)).toBe("ok");
    p.advance(1 * MINUTE);
    expect([await whoAmI(p, alice.key), await listOwnKeys(p, alice.key)]).toEqual(["InvalidClientTokenId", "InvalidClientTokenId"]);
    expect((await awsCli(p.url, alice.key, ["sts", "get-caller-identity"])).stderr).toContain("InvalidClientTokenId");
    // The gap the proxy closes: moto accepts Inactive keys.
    const direct = new STSClient({ region: "us-east-1", endpoint: motoUrl(), credentials: alice.key, maxAttempts: 1 });
    expect(await outcome(direct.send(new GetCallerIdentityCommand({})))).toBe("ok");

    await iam(p, admin).send(new UpdateAccessKeyCommand({ UserName: "alice", AccessKeyId: alice.key.accessKeyId, Status: "Active" }));
    expect(await whoAmI(p, alice.key)).toBe("ok");
  });

  test("a deleted key is refused with InvalidClientTokenId", async () => {
    const p = await start({ deactivationLagMs: 1 * MINUTE });
    await iam(p, admin).send(new DeleteAccessKeyCommand({ UserName: "alice", AccessKeyId: alice.key.accessKeyId }));
    expect(await whoAmI(p, alice.key)).toBe("InvalidClientTokenId");
  });
});

describe("last use recorded like AWS", () => {
  const lastUsed = async (p: RealismProxy, keyId: string) =>
    (await iam(p, admin).send(new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId }))).AccessKeyLastUsed;

  test("only the first use in a 15-minute window is recorded, it shows up late, at minute resolution", async () => {
    const p = await start({ lastUsed: { windowMs: 15 * MINUTE, lagMs: 1 * MINUTE, resolutionMs: MINUTE } });
    expect(await lastUsed(p, alice.key.accessKeyId)).toEqual({ ServiceName: "N/A", Region: "N/A" });

    const before = p.clock.modelNow();
    expect(await whoAmI(p, alice.key)).toBe("ok");
    const after = p.clock.modelNow();
    expect((await lastUsed(p, alice.key.accessKeyId))?.LastUsedDate).toBeUndefined(); // not visible yet

    p.advance(1 * MINUTE);
    const first = await lastUsed(p, alice.key.accessKeyId);
    expect(first?.ServiceName).toBe("sts");
    expect(first?.Region).toBe("us-east-1");
    const date = first?.LastUsedDate?.getTime() ?? 0;
    expect(date % MINUTE).toBe(0);
    expect(date).toBeGreaterThanOrEqual(Math.floor(before / MINUTE) * MINUTE);
    expect(date).toBeLessThanOrEqual(after);

    // Used again 5 minutes later, by IAM this time: inside the window, so nothing new is recorded.
    p.advance(5 * MINUTE);
    expect(await listOwnKeys(p, alice.key)).toBe("ok");
    p.advance(2 * MINUTE);
    expect((await lastUsed(p, alice.key.accessKeyId))?.LastUsedDate?.getTime()).toBe(date);
    const cli = JSON.parse((await awsCli(p.url, admin, ["iam", "get-access-key-last-used", "--access-key-id", alice.key.accessKeyId])).stdout);
    expect(Date.parse(cli.AccessKeyLastUsed.LastUsedDate)).toBe(date);

    // After the window, the next use is recorded (and again shows up late).
    p.advance(15 * MINUTE);
    expect(await listOwnKeys(p, alice.key)).toBe("ok");
    expect((await lastUsed(p, alice.key.accessKeyId))?.LastUsedDate?.getTime()).toBe(date);
    p.advance(1 * MINUTE);
    const later = await lastUsed(p, alice.key.accessKeyId);
    expect(later?.ServiceName).toBe("iam");
    expect(later?.LastUsedDate?.getTime()).toBeGreaterThan(date + 15 * MINUTE);
  });
});

describe("the server clock", () => {
  test("a request signed more than 5 minutes off AWS's clock is refused with SignatureDoesNotMatch 'Signature expired'", async () => {
    const p = await start({ clockOffsetMs: 10 * MINUTE, maxSkewMs: 5 * MINUTE });

    const refused = await sts(p, alice.key)
      .send(new GetCallerIdentityCommand({}))
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(refused).toBeInstanceOf(Error);
    const error = refused as Error & { $metadata?: { httpStatusCode?: number } };
    expect(error.name).toBe("SignatureDoesNotMatch");
    expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    expect(error.$metadata?.httpStatusCode).toBe(403);
    const cli = await awsCli(p.url, alice.key, ["sts", "get-caller-identity"]);
    expect(cli.stderr).toContain("SignatureDoesNotMatch");

    // A clock ahead of AWS's is refused too, with the other message.
    p.configure({ clockOffsetMs: -10 * MINUTE });
    expect(await outcome(sts(p, alice.key).send(new GetCallerIdentityCommand({})))).toBe("SignatureDoesNotMatch");
    p.configure({ clockOffsetMs: 10 * MINUTE });

    // The SDK corrects its clock from the Date header of the refusal and succeeds on its retry, as on AWS.
    const corrected = sts(p, alice.key, 3);
    expect((await corrected.send(new GetCallerIdentityCommand({}))).Arn).toBe(alice.arn);
    expect(p.requests.filter((r) => r.error === "SignatureDoesNotMatch").length).toBeGreaterThanOrEqual(3);
    // Within the tolerance nothing is refused.
    p.configure({ clockOffsetMs: 4 * MINUTE });
    expect(await whoAmI(p, alice.key)).toBe("ok");
  });

  test("CreateDate and LastUsedDate are on the server's clock", async () => {
    const p = await start({ clockOffsetMs: 4 * MINUTE, maxSkewMs: 5 * MINUTE, lastUsed: { windowMs: 15 * MINUTE, lagMs: 0, resolutionMs: MINUTE } });
    const localBefore = Date.now();
    const out = await iam(p, admin).send(new CreateAccessKeyCommand({ UserName: "alice" }));
    rememberSecret(out.AccessKey?.SecretAccessKey);
    const created = out.AccessKey?.CreateDate?.getTime() ?? 0;
    // Four minutes ahead of this machine, give or take a generous minute for a slow machine.
    expect(created - localBefore).toBeGreaterThan(3 * MINUTE);
    expect(created - localBefore).toBeLessThan(5 * MINUTE);
    const listed = (await iam(p, admin).send(new ListAccessKeysCommand({ UserName: "alice" }))).AccessKeyMetadata ?? [];
    expect(listed.find((k) => k.AccessKeyId === out.AccessKey?.AccessKeyId)?.CreateDate?.getTime()).toBe(Math.floor(created / 1000) * 1000);
    expect((listed.find((k) => k.AccessKeyId === alice.key.accessKeyId)?.CreateDate?.getTime() ?? 0) - localBefore).toBeGreaterThan(2 * MINUTE);

    await whoAmI(p, alice.key);
    const used = (await iam(p, admin).send(new GetAccessKeyLastUsedCommand({ AccessKeyId: alice.key.accessKeyId }))).AccessKeyLastUsed;
    expect((used?.LastUsedDate?.getTime() ?? 0) - localBefore).toBeGreaterThan(2 * MINUTE);
  });
});

describe("GetSessionToken sessions", () => {
  const mfa = { SerialNumber: "arn:aws:iam::123456789012:mfa/alice", TokenCode: "123456" };
  const sessionOf = async (p: RealismProxy, input: { DurationSeconds?: number; SerialNumber?: string; TokenCode?: string }) => {
    const c = (await sts(p, alice.key).send(new GetSessionTokenCommand(input))).Credentials;
    return { accessKeyId: c?.AccessKeyId ?? "", secretAccessKey: c?.SecretAccessKey ?? "", sessionToken: c?.SessionToken ?? "", expiration: c?.Expiration };
  };

  test("a session with MFA acts as its parent key on IAM, through the SDK and the aws CLI", async () => {
    const p = await start({});
    const session = await sessionOf(p, { ...mfa, DurationSeconds: 900 });
    expect(session.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);

    const keys = await iam(p, session).send(new ListAccessKeysCommand({}));
    expect(keys.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([alice.key.accessKeyId]);
    expect((await sts(p, session).send(new GetCallerIdentityCommand({}))).Arn).toBe(alice.arn);
    const cli = await awsCli(p.url, session, ["iam", "list-access-keys"]);
    expect(JSON.parse(cli.stdout).AccessKeyMetadata[0].AccessKeyId).toBe(alice.key.accessKeyId);
    // The parent's policy still applies: alice may not create users.
    expect((await awsCli(p.url, session, ["iam", "create-user", "--user-name", "mallory"])).stderr).toContain("AccessDenied");
  });

  test("a session without MFA is refused by IAM (InvalidClientTokenId) but works for GetCallerIdentity", async () => {
    const p = await start({});
    const session = await sessionOf(p, {});
    expect(await listOwnKeys(p, session)).toBe("InvalidClientTokenId");
    expect(await whoAmI(p, session)).toBe("ok");
    expect(await outcome(sts(p, session).send(new GetSessionTokenCommand({})))).toBe("AccessDenied");
  });

  test("a session expires after its DurationSeconds (ExpiredToken); a wrong MFA code or a duration out of range is refused", async () => {
    const p = await start({ mfaCode: "123456" });
    const session = await sessionOf(p, { ...mfa, DurationSeconds: 900 });
    expect(session.expiration?.getTime()).toBeGreaterThan(p.clock.modelNow() + 899_000 - MINUTE);
    p.advance(899_000);
    expect(await listOwnKeys(p, session)).toBe("ok");
    p.advance(1_000);
    expect([await listOwnKeys(p, session), await whoAmI(p, session)]).toEqual(["ExpiredToken", "ExpiredToken"]);

    expect(await outcome(sessionOf(p, { ...mfa, TokenCode: "654321" }))).toBe("AccessDenied");
    expect(await outcome(sessionOf(p, { ...mfa, DurationSeconds: 60 }))).toBe("ValidationError");
  });

  test("a scaled profile shortens sessions in proportion, for tests that wait in real time", async () => {
    const p = await start({ sessionTimeScale: 0.001 }); // 900 s -> 900 ms
    const session = await sessionOf(p, { ...mfa, DurationSeconds: 900 });
    const expiresAt = p.sessions.get(session.accessKeyId)?.expiresAt ?? 0;
    while (p.clock.modelNow() < expiresAt) await new Promise((r) => setTimeout(r, 100));
    expect(await listOwnKeys(p, session)).toBe("ExpiredToken");
  });
});

describe("ListAccessKeys read-after-write lag", () => {
  test("a new key is missing from ListAccessKeys for the lag, then listed", async () => {
    const p = await start({ listLagMs: 1 * MINUTE });
    const key = await newKeyFor(p, "alice");
    const ids = async () => ((await iam(p, admin).send(new ListAccessKeysCommand({ UserName: "alice" }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId);

    expect(await ids()).toEqual([alice.key.accessKeyId]);
    p.advance(1 * MINUTE);
    expect((await ids()).sort()).toEqual([alice.key.accessKeyId, key.accessKeyId].sort());
  });
});

describe("IAM throttling", () => {
  test("IAM calls beyond the account's token bucket get Throttling, HTTP 400, 'Rate exceeded'; STS is not limited", async () => {
    const p = await start({ iamRate: { burst: 3, perSecond: 0.001 } });
    const results: string[] = [];
    for (let i = 0; i < 4; i++) results.push(await listOwnKeys(p, alice.key));
    expect(results).toEqual(["ok", "ok", "ok", "Throttling"]);
    const error = (await iam(p, admin)
      .send(new ListAccessKeysCommand({ UserName: "alice" }))
      .catch((e: unknown) => e)) as Error & { $metadata?: { httpStatusCode?: number } };
    expect([error.name, error.message, error.$metadata?.httpStatusCode]).toEqual(["Throttling", "Rate exceeded", 400]);
    expect((await awsCli(p.url, alice.key, ["iam", "list-access-keys"])).stderr).toContain("Throttling");
    expect(await whoAmI(p, alice.key)).toBe("ok");

    // The bucket refills at perSecond: skipping 1000 s gives one token back (burst 3, 0.001/s).
    p.advance(1_000_000);
    expect(await listOwnKeys(p, alice.key)).toBe("ok");
    expect(await listOwnKeys(p, alice.key)).toBe("Throttling");
  });
});

describe("profiles", () => {
  test("scaleProfile shrinks every waiting time and speeds up rates, but keeps the clock tolerance", () => {
    const fast = scaleProfile(TYPICAL_AWS, 0.1);
    expect(fast.propagation).toEqual({ stsMs: 200, iamMs: 500 });
    expect(fast.deactivationLagMs).toBe(200);
    expect(fast.lastUsed).toEqual({ windowMs: 90_000, lagMs: 3_000, resolutionMs: 6_000 });
    expect(fast.iamRate).toEqual({ burst: 20, perSecond: 100 });
    expect(fast.maxSkewMs).toBe(5 * MINUTE);
    expect(fast.sessionTimeScale).toBeCloseTo(0.1);
  });
});
