import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { fakeAccessKeyPair, findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createUser, enforceAuth, motoUrl, resetEmulator } from "../../../test-support/moto.js";
import { createSecret, currentOf, rawOf, SETUP_CREDENTIALS, smClient, smErrorResponse, uniqueSecretName, versionsOf, versionsWith } from "./support.js";

beforeEach(resetEmulator);

const storeFor = (secretId: string, extra: Partial<Parameters<typeof secretsManagerStore>[0]> = {}) =>
  secretsManagerStore({ secretId, region: "us-east-1", endpoint: motoUrl(), credentials: SETUP_CREDENTIALS, ...extra });

const thrown = async (fn: () => unknown): Promise<Error & { code?: string; holder?: string }> => {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
};

/** The AWS CLI, as an independent reader of what the store wrote. */
async function awsCliCurrent(secretId: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    "aws",
    [
      "secretsmanager",
      "get-secret-value",
      "--secret-id",
      secretId,
      "--version-stage",
      "AWSCURRENT",
      "--query",
      "SecretString",
      "--output",
      "text",
      "--endpoint-url",
      motoUrl(),
    ],
    {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: SETUP_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SETUP_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: "us-east-1",
      },
    },
  );
  return stdout.replace(/\n$/, "");
}

describe("the secret's JSON", () => {
  test("write changes only the two key fields: other fields, their order, numbers and layout stay byte for byte", async () => {
    const old = fakeAccessKeyPair();
    const next = fakeAccessKeyPair();
    const id = uniqueSecretName();
    const text = `{\n  "account": 12345678901234567890123,\n  "AccessKeyId": "${old.accessKeyId}",\n  "ratio": 1.50,\n  "SecretAccessKey": "${old.secretAccessKey}",\n  "nested": {"AccessKeyId": "not-this-one", "list": [1, 2]},\n  "note": "caf\\u00e9"\n}`;
    await createSecret(id, text);
    const store = storeFor(id);
    await store.write(next);
    const expected = text.replace(old.accessKeyId, next.accessKeyId).replace(old.secretAccessKey, next.secretAccessKey);
    expect(await rawOf(id)).toBe(expected);
    expect(await awsCliCurrent(id)).toBe(expected);
    expect(await store.read()).toEqual(next);
  });

  test("an object without the fields is an empty store; a write adds them and keeps the rest", async () => {
    const id = uniqueSecretName();
    await createSecret(id, '{"owner":"team-a","rotation":{"days":30}}');
    const store = storeFor(id);
    expect(await store.read()).toBeUndefined();
    const key = fakeAccessKeyPair();
    await store.write(key);
    const written = JSON.parse(await awsCliCurrent(id)) as Record<string, unknown>;
    expect(written).toEqual({ owner: "team-a", rotation: { days: 30 }, AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey });
  });

  test("custom field names are read and written, and the default names are left alone", async () => {
    const old = fakeAccessKeyPair();
    const next = fakeAccessKeyPair();
    const id = uniqueSecretName();
    await createSecret(id, { AWS_ACCESS_KEY_ID: old.accessKeyId, AWS_SECRET_ACCESS_KEY: old.secretAccessKey, AccessKeyId: "unrelated" });
    const store = storeFor(id, { fields: { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" } });
    expect(store.fields).toEqual({ accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" });
    expect(await store.read()).toEqual(old);
    await store.write(next);
    expect(JSON.parse(await awsCliCurrent(id))).toEqual({
      AWS_ACCESS_KEY_ID: next.accessKeyId,
      AWS_SECRET_ACCESS_KEY: next.secretAccessKey,
      AccessKeyId: "unrelated",
    });
  });
});

describe("staging labels", () => {
  test("after a write the new version is AWSCURRENT (AWSPENDING removed) and the old one AWSPREVIOUS", async () => {
    const old = fakeAccessKeyPair();
    const id = uniqueSecretName();
    const first = await createSecret(id, { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey });
    const store = storeFor(id);
    await store.write(fakeAccessKeyPair());
    const versions = await versionsOf(id);
    expect(versions.size).toBe(2);
    const [current] = await versionsWith(id, "AWSCURRENT");
    expect(current).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(versions.get(current ?? "")).toEqual(["AWSCURRENT"]);
    expect(versions.get(first)).toEqual(["AWSPREVIOUS"]);
    expect(await versionsWith(id, "AWSPENDING")).toEqual([]);
  });

  test("backup names the AWSCURRENT version; restore moves AWSCURRENT back to it, idempotently", async () => {
    const old = fakeAccessKeyPair();
    const id = uniqueSecretName();
    const first = await createSecret(id, { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey });
    const store = storeFor(id);
    const backup = await store.backup();
    expect(backup).toEqual({ id: first, location: `secretsmanager:${id}@${first}` });
    await store.write(fakeAccessKeyPair());
    const [written] = await versionsWith(id, "AWSCURRENT");
    await store.restore(backup);
    await store.restore(backup);
    const versions = await versionsOf(id);
    expect(versions.get(first)).toEqual(["AWSCURRENT"]);
    expect(versions.get(written ?? "")).toEqual(["AWSPREVIOUS"]);
    expect(versions.size).toBe(2);
    expect(await storeFor(id).read()).toEqual(old);
  });

  test("writing the key AWSCURRENT already holds adds no version", async () => {
    const key = fakeAccessKeyPair();
    const id = uniqueSecretName();
    await createSecret(id, { AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey });
    const store = storeFor(id);
    await store.write({ ...key });
    expect((await versionsOf(id)).size).toBe(1);
  });
});

describe("ClientRequestToken idempotency", () => {
  test("a write whose PutSecretValue answer was lost, retried, adds exactly one version", async () => {
    const old = fakeAccessKeyPair();
    const next = fakeAccessKeyPair();
    const id = uniqueSecretName();
    await createSecret(id, { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey });
    let puts = 0;
    // The first PutSecretValue reaches Secrets Manager, but its answer never comes back.
    const proxy = await startAwsProxy(motoUrl(), (req) => (req.action === "PutSecretValue" && ++puts === 1 ? { forwardThen: "reset" } : undefined));
    onTestFinished(() => proxy.close());
    const store = storeFor(id, { client: smClient(SETUP_CREDENTIALS, proxy.url, 1) });

    const error = await thrown(() => store.write(next));
    expect(error.code).toBe("EIO");
    expect((await versionsOf(id)).size, "the lost PutSecretValue did create the version").toBe(2);
    expect(await storeFor(id).read(), "AWSCURRENT has not moved").toEqual(old);

    await store.write(next);
    expect(proxy.counts().PutSecretValue).toBe(2);
    expect((await versionsOf(id)).size, "the retry reused the version").toBe(2);
    expect(await storeFor(id).read()).toEqual(next);
  });

  test("a write that failed moving AWSCURRENT leaves the old key current; the retry finishes on the same version", async () => {
    const old = fakeAccessKeyPair();
    const next = fakeAccessKeyPair();
    const id = uniqueSecretName();
    await createSecret(id, { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey });
    let moves = 0;
    const proxy = await startAwsProxy(motoUrl(), (req) =>
      req.action === "UpdateSecretVersionStage" && ++moves === 1 ? smErrorResponse("InternalServiceError", 500) : undefined,
    );
    onTestFinished(() => proxy.close());
    const store = storeFor(id, { client: smClient(SETUP_CREDENTIALS, proxy.url, 1) });

    expect((await thrown(() => store.write(next))).code).toBe("EIO");
    expect(await storeFor(id).read()).toEqual(old);
    const pending = await versionsWith(id, "AWSPENDING");
    expect(pending).toHaveLength(1);

    await store.write(next);
    expect((await versionsOf(id)).size).toBe(2);
    expect(await versionsWith(id, "AWSCURRENT")).toEqual(pending);
    expect(await storeFor(id).read()).toEqual(next);
  });
});

describe("errors are typed and never reveal a secret", () => {
  test("a missing secret is ENOTFOUND for every operation", async () => {
    const store = storeFor(uniqueSecretName("keyup-missing"));
    expect((await thrown(() => store.read())).code).toBe("ENOTFOUND");
    expect((await thrown(() => store.write(fakeAccessKeyPair()))).code).toBe("ENOTFOUND");
    expect((await thrown(() => store.backup())).code).toBe("ENOTFOUND");
    expect((await thrown(() => store.restore({ id: "00000000-0000-4000-8000-000000000000" }))).code).toBe("ENOTFOUND");
    expect((await thrown(() => store.lock())).code).toBe("ENOTFOUND");
  });

  const cases: { label: string; content: (k: { accessKeyId: string; secretAccessKey: string }) => string; code: string }[] = [
    { label: "not JSON", content: (k) => `AccessKeyId=${k.accessKeyId} SecretAccessKey=${k.secretAccessKey}`, code: "EINVALID" },
    { label: "a JSON array", content: (k) => JSON.stringify([k.accessKeyId, k.secretAccessKey]), code: "EINVALID" },
    { label: "only the secret field", content: (k) => JSON.stringify({ SecretAccessKey: k.secretAccessKey }), code: "EINVALID" },
    { label: "only the id field", content: (k) => JSON.stringify({ AccessKeyId: k.accessKeyId }), code: "EINVALID" },
    { label: "a number for the secret", content: (k) => JSON.stringify({ AccessKeyId: k.accessKeyId, SecretAccessKey: 7 }), code: "EINVALID" },
    {
      label: "a duplicated field",
      content: (k) => `{"AccessKeyId":"${k.accessKeyId}","SecretAccessKey":"${k.secretAccessKey}","AccessKeyId":"AKIAOTHER0000000000"}`,
      code: "EINVALID",
    },
    {
      label: "temporary credentials",
      content: (k) => JSON.stringify({ AccessKeyId: `ASIA${k.accessKeyId.slice(4)}`, SecretAccessKey: k.secretAccessKey, SessionToken: "x" }),
      code: "EUNSUPPORTED",
    },
  ];
  test.for(cases)(
    "a secret holding $label: read and write fail with $code, the secret stays byte-identical, no secret in the error",
    async ({ content, code }) => {
      const held = fakeAccessKeyPair();
      const offered = fakeAccessKeyPair();
      const id = uniqueSecretName();
      await createSecret(id, content(held));
      const before = await rawOf(id);
      const store = storeFor(id);
      const errors = [await thrown(() => store.read()), await thrown(() => store.write(offered))];
      for (const error of errors) {
        expect(error.code).toBe(code);
        expect(error.message).toContain(`secretsmanager:${id}`);
      }
      expect(await rawOf(id)).toBe(before);
      expect((await versionsOf(id)).size).toBe(1);
      expect(findSecretLeaks(errors, [held.secretAccessKey, offered.secretAccessKey])).toEqual([]);
    },
  );

  test("a binary secret and a secret without a value are EINVALID", async () => {
    const binary = uniqueSecretName();
    await smClient().send(new CreateSecretCommand({ Name: binary, SecretBinary: new TextEncoder().encode("binary") }));
    expect((await thrown(() => storeFor(binary).read())).message).toMatch(/binary value/);
    const empty = uniqueSecretName();
    await smClient().send(new CreateSecretCommand({ Name: empty }));
    const error = await thrown(() => storeFor(empty).read());
    expect(error.code).toBe("EINVALID");
    expect(error.message).toMatch(/no current value/);
  });

  test("restore of a version the secret never had is EBACKUP and moves nothing", async () => {
    const id = uniqueSecretName();
    const first = await createSecret(id, { owner: "x" });
    const store = storeFor(id);
    for (const bad of [{ id: "f3d7a6c2-0000-4000-8000-000000000000" }, { id: "" }, null]) {
      expect((await thrown(() => store.restore(bad as never))).code).toBe("EBACKUP");
    }
    expect(await versionsWith(id, "AWSCURRENT")).toEqual([first]);
  });

  test("an identity that may not use Secrets Manager gets EACCES naming the action, and no secret", async () => {
    const key = fakeAccessKeyPair();
    const id = uniqueSecretName();
    await createSecret(id, { AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey });
    const outsider = await createUser("keyup-outsider", {
      policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] },
    });
    await enforceAuth();
    const store = storeFor(id, { credentials: outsider.keys[0] });
    const error = await thrown(() => store.read());
    expect(error.code).toBe("EACCES");
    expect(error.message).toMatch(/secretsmanager:GetSecretValue/);
    expect(findSecretLeaks(error, [key.secretAccessKey, outsider.keys[0]?.secretAccessKey ?? "x"])).toEqual([]);
  });
});

test("reads always name a stage: AWSCURRENT is followed even where a label-less read would be stale", async () => {
  const id = uniqueSecretName();
  await createSecret(id, { owner: "x" });
  const keys = [fakeAccessKeyPair(), fakeAccessKeyPair()];
  const store = storeFor(id);
  for (const key of keys) {
    await store.write(key);
    expect(await storeFor(id).read()).toEqual(key);
    expect((await currentOf(id)).text).toContain(key.accessKeyId);
  }
});

describe("lockout via a second holder: a secret holding the key under field names keyup would not update", () => {
  const key = fakeAccessKeyPair();
  const spellings: Record<string, Record<string, string>> = {
    aws_access_key_id: { aws_access_key_id: key.accessKeyId, aws_secret_access_key: key.secretAccessKey },
    AWS_ACCESS_KEY_ID: { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey },
    accessKeyId: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    "beside keyup's own fields": { AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey, aws_access_key_id: key.accessKeyId },
  };
  for (const [name, value] of Object.entries(spellings)) {
    test(`${name}: read and write refuse (EUNSUPPORTED) and the secret keeps its bytes`, async () => {
      const secretId = uniqueSecretName();
      await createSecret(secretId, value);
      const store = storeFor(secretId);
      const read = await thrown(() => store.read());
      expect(read.code).toBe("EUNSUPPORTED");
      expect(read.message).toContain("fields");
      expect(read.message).not.toContain(key.secretAccessKey);
      expect((await thrown(() => store.write(fakeAccessKeyPair()))).code).toBe("EUNSUPPORTED");
      expect(JSON.parse((await currentOf(secretId)).text)).toEqual(value);
    });
  }

  test("the same names configured as the store's fields are read", async () => {
    const secretId = uniqueSecretName();
    await createSecret(secretId, spellings.aws_access_key_id);
    const store = storeFor(secretId, { fields: { accessKeyId: "aws_access_key_id", secretAccessKey: "aws_secret_access_key" } });
    expect(await store.read()).toEqual(key);
  });
});
