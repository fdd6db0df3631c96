import { createRotationHandler, secretsManagerStore } from "@keyup/store-secretsmanager";
import { describe, expect, test } from "vitest";

// Nothing here reaches AWS: the client points at a closed port, so a test that made a call would fail.
const NOWHERE = { region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "AKIAUNITTEST00000000", secretAccessKey: "unit" } };

describe("secretsManagerStore options", () => {
  test("bad options fail at once with EINVALID", () => {
    const attempts = [
      () => secretsManagerStore({ secretId: "" }),
      () => secretsManagerStore({ secretId: "has space" }),
      () => secretsManagerStore({ secretId: "x".repeat(2049) }),
      () => secretsManagerStore(undefined as never),
      () => secretsManagerStore({ secretId: "ok", fields: { accessKeyId: "Same", secretAccessKey: "Same" } }),
      () => secretsManagerStore({ secretId: "ok", fields: { accessKeyId: "" } }),
      () => secretsManagerStore({ secretId: "ok", lockTtlMs: 5 }),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });

  test("the name is secretsmanager:<secretId> for a name and an ARN; fields default to AccessKeyId / SecretAccessKey", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deploy-AbCdEf";
    const byName = secretsManagerStore({ secretId: "ci/deploy", ...NOWHERE });
    expect(byName.name).toBe("secretsmanager:ci/deploy");
    expect(byName.fields).toEqual({ accessKeyId: "AccessKeyId", secretAccessKey: "SecretAccessKey" });
    expect(byName.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
    expect(secretsManagerStore({ secretId: arn, ...NOWHERE }).name).toBe(`secretsmanager:${arn}`);
  });

  test("write() refuses a non-key with EBADKEY before any AWS call", async () => {
    const store = secretsManagerStore({ secretId: "ci/deploy", ...NOWHERE });
    await expect(store.write({ accessKeyId: "AKIA0000000000000000", secretAccessKey: "a\nb" })).rejects.toMatchObject({ code: "EBADKEY" });
  });
});

describe("createRotationHandler events and options", () => {
  const handler = createRotationHandler({ ...NOWHERE, log: () => undefined });
  const token = "3f2b1c0e-5d4a-4b8c-9e7f-6a5b4c3d2e1f";

  test.for([
    { label: "no SecretId", event: { ClientRequestToken: token, Step: "createSecret" } },
    { label: "an empty SecretId", event: { SecretId: "", ClientRequestToken: token, Step: "createSecret" } },
    { label: "a short token", event: { SecretId: "s", ClientRequestToken: "abc", Step: "createSecret" } },
    { label: "an unknown Step", event: { SecretId: "s", ClientRequestToken: token, Step: "rotateSecret" } },
    { label: "null", event: null },
  ])("an event with $label is rejected with EEVENT", async ({ event }) => {
    await expect(handler(event as never)).rejects.toMatchObject({ code: "EEVENT", name: "RotationHandlerError" });
  });

  test("bad options fail at once", () => {
    expect(() => createRotationHandler({ verifyTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: "ECONFIG" }));
    expect(() => createRotationHandler({ requiredSuccesses: 1.5 })).toThrow(expect.objectContaining({ code: "ECONFIG" }));
    expect(() => createRotationHandler({ fields: { accessKeyId: "k", secretAccessKey: "k" } })).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });
});
