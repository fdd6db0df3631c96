import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { listKeys, memoryStore, rotate } from "@keyup/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, expect, test } from "vitest";

/**
 * MFA through aws-sdk-client-mock: the emulator does not accept GetSessionToken sessions, so here IAM
 * and STS are mocked and every call records the credentials that signed it.
 */
const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const OLD = { accessKeyId: "AKIAMFAOLDKEY0000001", secretAccessKey: "old/secret+0000000000000000000000000001" };
const SESSION = {
  AccessKeyId: "ASIAMFASESSION000001",
  SecretAccessKey: "session/secret+0000000000000000000001",
  SessionToken: "FQoG-session-token",
  Expiration: new Date(),
};
const ARN = "arn:aws:iam::123456789012:user/mfa-user";
let signed: { action: string; key: string; token?: string }[];
let keys: Map<string, string>;

async function who(getClient: () => unknown): Promise<{ key: string; token?: string }> {
  const c = await (getClient() as { config: { credentials: () => Promise<{ accessKeyId: string; sessionToken?: string }> } }).config.credentials();
  return { key: c.accessKeyId, ...(c.sessionToken ? { token: c.sessionToken } : {}) };
}

beforeEach(() => {
  iam.reset();
  sts.reset();
  signed = [];
  keys = new Map([[OLD.accessKeyId, "Active"]]);
  sts.on(GetSessionTokenCommand).callsFake(async (input, getClient) => {
    signed.push({ action: `GetSessionToken ${input.SerialNumber} ${input.TokenCode} ${input.DurationSeconds}`, ...(await who(getClient)) });
    // As AWS does: the session expires DurationSeconds from now.
    return { Credentials: { ...SESSION, Expiration: new Date(Date.now() + (input.DurationSeconds ?? 900) * 1000) } };
  });
  sts.on(GetCallerIdentityCommand).callsFake(async (_i, getClient) => {
    signed.push({ action: "GetCallerIdentity", ...(await who(getClient)) });
    return { Arn: ARN, Account: "123456789012" };
  });
  iam.on(ListAccessKeysCommand).callsFake(async (_i, getClient) => {
    signed.push({ action: "ListAccessKeys", ...(await who(getClient)) });
    return { AccessKeyMetadata: [...keys].map(([id, status]) => ({ AccessKeyId: id, Status: status as "Active" })) };
  });
  iam.on(ListUserTagsCommand).callsFake(async (_i, getClient) => {
    signed.push({ action: "ListUserTags", ...(await who(getClient)) });
    return { Tags: [] };
  });
  iam.on(GetAccessKeyLastUsedCommand).callsFake(async (_i, getClient) => {
    signed.push({ action: "GetAccessKeyLastUsed", ...(await who(getClient)) });
    return { AccessKeyLastUsed: { ServiceName: "N/A", Region: "N/A" } };
  });
  iam.on(CreateAccessKeyCommand).callsFake(async (_i, getClient) => {
    signed.push({ action: "CreateAccessKey", ...(await who(getClient)) });
    keys.set("AKIAMFANEWKEY0000002", "Active");
    return {
      AccessKey: { AccessKeyId: "AKIAMFANEWKEY0000002", SecretAccessKey: "new/secret+0000000000000000000000000002", Status: "Active", UserName: "mfa-user" },
    };
  });
  iam.on(UpdateAccessKeyCommand).callsFake(async (input, getClient) => {
    signed.push({ action: "UpdateAccessKey", ...(await who(getClient)) });
    keys.set(input.AccessKeyId ?? "", input.Status ?? "");
    return {};
  });
  iam.on(DeleteAccessKeyCommand).callsFake(async (input, getClient) => {
    signed.push({ action: "DeleteAccessKey", ...(await who(getClient)) });
    keys.delete(input.AccessKeyId ?? "");
    return {};
  });
});
afterEach(() => {
  iam.reset();
  sts.reset();
});

test("IAM calls use a 15-minute MFA session opened with the store's key; verification uses the bare new key, on STS and IAM", async () => {
  const store = memoryStore({ initial: OLD });
  const result = await rotate({ store, userName: "mfa-user", mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "123456" } });

  expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
  expect(signed).toEqual([
    { action: "GetSessionToken arn:aws:iam::123456789012:mfa/me 123456 900", key: OLD.accessKeyId },
    { action: "ListAccessKeys", key: SESSION.AccessKeyId, token: SESSION.SessionToken },
    { action: "CreateAccessKey", key: SESSION.AccessKeyId, token: SESSION.SessionToken },
    { action: "GetCallerIdentity", key: "AKIAMFANEWKEY0000002" },
    { action: "GetCallerIdentity", key: "AKIAMFANEWKEY0000002" },
    { action: "ListAccessKeys", key: "AKIAMFANEWKEY0000002" },
    { action: "UpdateAccessKey", key: SESSION.AccessKeyId, token: SESSION.SessionToken },
    { action: "DeleteAccessKey", key: SESSION.AccessKeyId, token: SESSION.SessionToken },
  ]);
  expect(store.current()?.accessKeyId).toBe("AKIAMFANEWKEY0000002");
});

test("the session is sized for the rotation: 3 x the verify timeout + margins, within AWS's 900-129600 s", async () => {
  const store = memoryStore({ initial: OLD });
  const result = await rotate({
    store,
    userName: "mfa-user",
    verifyTimeoutMs: 600_000,
    mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "123456" },
  });
  expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
  // (3 x 600 s + 60 s after CreateAccessKey) + 300 s before it: at least 2 x the verify timeout + margin.
  expect(signed[0]?.action).toBe("GetSessionToken arn:aws:iam::123456789012:mfa/me 123456 2160");
});

test("listKeys with MFA lists through the session", async () => {
  const result = await listKeys({
    store: memoryStore({ initial: OLD }),
    mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "654321" },
  });
  expect(result.isOk()).toBe(true);
  expect(signed.map((s) => s.action)).toEqual([
    "GetSessionToken arn:aws:iam::123456789012:mfa/me 654321 900",
    "GetCallerIdentity",
    "ListAccessKeys",
    "ListUserTags",
    "GetAccessKeyLastUsed",
  ]);
  expect(signed.slice(1).every((s) => s.token === SESSION.SessionToken)).toBe(true);
});

test("a malformed or missing code is refused before any call", async () => {
  const bad = await rotate({ store: memoryStore({ initial: OLD }), mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "12ab" } });
  expect(bad.isErr() && bad.error.kind).toBe("config");
  const none = await rotate({
    store: memoryStore({ initial: OLD }),
    mfa: {
      serialNumber: "arn:aws:iam::123456789012:mfa/me",
      tokenCode: async () => {
        throw new Error("no terminal to ask on");
      },
    },
  });
  expect(none.isErr() && none.error.message).toContain("no terminal to ask on");
  expect(signed).toEqual([]);
});

test("a code AWS refuses is reported as a refused code, not as a missing permission, before any IAM call", async () => {
  sts
    .on(GetSessionTokenCommand)
    .rejects(Object.assign(new Error("MultiFactorAuthentication failed with invalid MFA one time pass code."), { name: "AccessDenied", $metadata: {} }));
  const result = await rotate({
    store: memoryStore({ initial: OLD }),
    mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "000000" },
  });
  expect(result.isErr()).toBe(true);
  const message = result._unsafeUnwrapErr().message;
  expect(message).toContain("GetSessionToken failed: AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code.");
  expect(message).toContain("(the MFA code was refused: mistyped, already used, or mfa_serial names another device; try the next code)");
  expect(message).not.toContain("needs iam:");
  expect(signed).toEqual([]);
});
