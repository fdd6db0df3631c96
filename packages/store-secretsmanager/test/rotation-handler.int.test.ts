import { randomUUID } from "node:crypto";
import { CreateAccessKeyCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { GetSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { createRotationHandler, type RotationHandlerOptions, type RotationLogEntry, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keyStatus,
  keysOf,
  motoUrl,
  resetEmulator,
  type TestKey,
  whoAmI,
  workingKey,
} from "../../../test-support/moto.js";
import { ROTATION_FUNCTION_POLICY } from "../../../test-support/rotation-function-policy.js";
import { startMotoRotation } from "../../../test-support/rotation-start.js";
import { createSecret, currentOf, smClient, smErrorResponse, uniqueSecretName, versionsOf } from "./support.js";

beforeEach(resetEmulator);

interface World {
  admin: TestKey;
  userArn: string;
  oldKey: TestKey;
  lambdaRole: TestKey;
  secretId: string;
  firstVersion: string;
  logs: RotationLogEntry[];
  /** Starts a rotation as Secrets Manager does (RotateSecret) and returns its token. */
  start(): Promise<string>;
  /** Invokes the handler as Secrets Manager would. */
  invoke(step: SecretsManagerRotationStep, token: string): Promise<void>;
  /** The secret as an administrator reads it. */
  current(): Promise<{ versionId: string; json: Record<string, string> }>;
  pending(token: string): Promise<Record<string, string>>;
}

/**
 * A user ("app") whose only key lives in a secret, a Lambda role that may only use Secrets Manager,
 * and auth enforced. Extra fields in the secret must survive every rotation. The handler retires the
 * old key at finish unless a test asks for another `retireOld` policy.
 */
async function world(
  options: Omit<Partial<RotationHandlerOptions>, "retireOld"> & {
    retireOld?: RotationHandlerOptions["retireOld"] | "default";
    userPolicy?: object;
    lambdaPolicy?: object;
  } = {},
): Promise<World> {
  const admin = await createAdmin();
  const user = await createUser("app", options.userPolicy ? { policy: options.userPolicy } : {});
  const role = await createUser("rotation-lambda-role", { policy: options.lambdaPolicy ?? ROTATION_FUNCTION_POLICY });
  const [oldKey] = user.keys;
  const [lambdaRole] = role.keys;
  if (!oldKey || !lambdaRole) throw new Error("setup made no keys");
  const secretId = uniqueSecretName("app/iam-key");
  const firstVersion = await createSecret(secretId, { AccessKeyId: oldKey.accessKeyId, SecretAccessKey: oldKey.secretAccessKey, region: "eu-west-1" });
  await enforceAuth();
  const logs: RotationLogEntry[] = [];
  const { userPolicy: _u, lambdaPolicy: _l, retireOld = "at-finish", ...handlerOptions } = options;
  const handler = createRotationHandler({
    client: smClient(lambdaRole),
    region: "us-east-1",
    endpoint: motoUrl(),
    verifyTimeoutMs: 2_000,
    ...(retireOld !== "default" ? { retireOld } : {}),
    log: (entry) => logs.push(entry),
    ...handlerOptions,
  });
  const reader = smClient(admin);
  return {
    admin,
    userArn: user.arn,
    oldKey,
    lambdaRole,
    secretId,
    firstVersion,
    logs,
    start: () => startMotoRotation(motoUrl(), secretId, admin),
    invoke: (step, token) => handler({ SecretId: secretId, ClientRequestToken: token, Step: step }),
    current: async () => {
      const c = await currentOf(secretId, reader);
      return { versionId: c.versionId, json: JSON.parse(c.text) as Record<string, string> };
    },
    pending: async (token) => {
      const out = await reader.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: "AWSPENDING" }));
      return JSON.parse(out.SecretString ?? "{}") as Record<string, string>;
    },
  };
}

const STEPS: SecretsManagerRotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the step to fail");
    },
    (error: unknown) => error as Error & { code?: string; awsCode?: string },
  );

/** Every secret the world's secret has held, from all its versions. */
async function allSecrets(w: World): Promise<string[]> {
  const reader = smClient(w.admin);
  const secrets = [w.oldKey.secretAccessKey];
  for (const id of (await versionsOf(w.secretId, reader)).keys()) {
    const out = await reader.send(new GetSecretValueCommand({ SecretId: w.secretId, VersionId: id }));
    const value = (JSON.parse(out.SecretString ?? "{}") as { SecretAccessKey?: string }).SecretAccessKey;
    if (value) secrets.push(value);
  }
  return secrets;
}

describe("a full rotation, step by step as Secrets Manager invokes it", () => {
  test("afterwards AWSCURRENT holds a new key that works, the old key is gone, other fields stay", async () => {
    const w = await world();
    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);

    const { versionId, json } = await w.current();
    expect(versionId).toBe(token);
    expect(json.region).toBe("eu-west-1");
    expect(json.AccessKeyId).not.toBe(w.oldKey.accessKeyId);
    expect(await workingKey({ accessKeyId: json.AccessKeyId ?? "", secretAccessKey: json.SecretAccessKey ?? "" })).toBe(w.userArn);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: json.AccessKeyId, status: "Active" }]);
    expect(await whoAmI(w.oldKey)).toMatch(/^error:/);
    const versions = await versionsOf(w.secretId, smClient(w.admin));
    expect(versions.get(token)).toEqual(["AWSCURRENT"]);
    expect(versions.get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    expect([...new Set(w.logs.map((l) => l.step))]).toEqual(STEPS);
    expect(findSecretLeaks(w.logs, await allSecrets(w))).toEqual([]);
  });

  test("every step invoked twice (Secrets Manager retries) creates one key and one version", async () => {
    const w = await world();
    const token = await w.start();
    for (const step of STEPS) {
      await w.invoke(step, token);
      await w.invoke(step, token);
    }
    const { versionId, json } = await w.current();
    expect(versionId).toBe(token);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: json.AccessKeyId, status: "Active" }]);
    expect((await versionsOf(w.secretId, smClient(w.admin))).size).toBe(2);
    expect(await workingKey({ accessKeyId: json.AccessKeyId ?? "", secretAccessKey: json.SecretAccessKey ?? "" })).toBe(w.userArn);
    // A rotation that has finished is a no-op for every step, old token included.
    for (const step of STEPS) await w.invoke(step, token);
    expect((await w.current()).versionId).toBe(token);
  });

  test("two rotations in a row each replace the key", async () => {
    const w = await world();
    const first = await w.start();
    for (const step of STEPS) await w.invoke(step, first);
    const after1 = (await w.current()).json.AccessKeyId;
    const second = await w.start();
    for (const step of STEPS) await w.invoke(step, second);
    const { versionId, json } = await w.current();
    expect(versionId).toBe(second);
    expect(json.AccessKeyId).not.toBe(after1);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: json.AccessKeyId, status: "Active" }]);
  });
});

describe("createSecret", () => {
  test("a stuck AWSPENDING from an earlier failed run: its key is deleted and the new rotation completes", async () => {
    const w = await world();
    const abandoned = await w.start();
    await w.invoke("createSecret", abandoned);
    const stuckKey = (await w.pending(abandoned)).AccessKeyId;
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, stuckKey].sort());
    // Secrets Manager starts no new rotation while AWSPENDING is on another version; abandoning one
    // means removing the label (API_CancelRotateSecret in the Secrets Manager API reference).
    await smClient(w.admin).send(new UpdateSecretVersionStageCommand({ SecretId: w.secretId, VersionStage: "AWSPENDING", RemoveFromVersionId: abandoned }));

    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);
    const { json } = await w.current();
    expect(await keysOf(w.admin, "app")).toEqual([{ id: json.AccessKeyId, status: "Active" }]);
    expect(json.AccessKeyId).not.toBe(stuckKey);
    expect(w.logs.some((l) => l.message.includes(`deleted key ${stuckKey}`))).toBe(true);
    const labels = await versionsOf(w.secretId, smClient(w.admin));
    expect(labels.get(abandoned)).toEqual([]);
  });

  test("at the 2-key limit with another Active key it fails naming both keys, and creates nothing", async () => {
    const w = await world();
    const other = await iamClient(w.admin).send(new CreateAccessKeyCommand({ UserName: "app" }));
    const otherId = other.AccessKey?.AccessKeyId ?? "";
    const token = await w.start();
    const error = await failure(w.invoke("createSecret", token));
    expect(error.code).toBe("ELIMIT");
    expect(error.message).toContain(w.oldKey.accessKeyId);
    expect(error.message).toContain(otherId);
    expect((await keysOf(w.admin, "app")).length).toBe(2);
    // The versions are the first one and the empty one RotateSecret made for the token, still empty.
    expect([...(await versionsOf(w.secretId, smClient(w.admin))).keys()].sort()).toEqual([w.firstVersion, token].sort());
    await expect(w.pending(token)).rejects.toThrow();
    expect(findSecretLeaks(error, [w.oldKey.secretAccessKey, other.AccessKey?.SecretAccessKey ?? "x"])).toEqual([]);
  });

  test("at the 2-key limit with an Inactive other key, that key is deleted to make room", async () => {
    const w = await world();
    const other = await iamClient(w.admin).send(new CreateAccessKeyCommand({ UserName: "app" }));
    const otherId = other.AccessKey?.AccessKeyId ?? "";
    await iamClient(w.admin).send(new UpdateAccessKeyCommand({ UserName: "app", AccessKeyId: otherId, Status: "Inactive" }));
    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);
    const ids = (await keysOf(w.admin, "app")).map((k) => k.id);
    expect(ids).toEqual([(await w.current()).json.AccessKeyId]);
    expect(ids).not.toContain(otherId);
  });

  test("if PutSecretValue fails after CreateAccessKey, the new key is deleted again (no orphan)", async () => {
    const w = await world();
    const proxy = await startAwsProxy(motoUrl(), (req) => (req.action === "PutSecretValue" ? smErrorResponse("InternalServiceError", 500) : undefined));
    onTestFinished(() => proxy.close());
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, proxy.url, 1), region: "us-east-1", endpoint: motoUrl(), log: () => undefined });
    const error = await failure(handler({ SecretId: w.secretId, ClientRequestToken: await w.start(), Step: "createSecret" }));
    expect(error.code).toBe("EIO");
    expect(error.message).toMatch(/deleted again/);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });
});

describe("testSecret", () => {
  test("a pending key STS keeps rejecting: the step throws after retrying, AWSCURRENT and the old key are untouched", async () => {
    const w = await world();
    const token = await w.start();
    await w.invoke("createSecret", token);
    await w.invoke("setSecret", token);
    const pendingId = (await w.pending(token)).AccessKeyId;
    const proxy = await startAwsProxy(motoUrl(), (req) =>
      req.action === "GetCallerIdentity" && req.accessKeyId === pendingId ? { status: 403, body: awsErrorXml("InvalidClientTokenId") } : undefined,
    );
    onTestFinished(() => proxy.close());
    const handler = createRotationHandler({
      client: smClient(w.lambdaRole),
      region: "us-east-1",
      endpoint: proxy.url,
      verifyTimeoutMs: 1_000,
      log: () => undefined,
    });

    const started = Date.now();
    const error = await failure(handler({ SecretId: w.secretId, ClientRequestToken: token, Step: "testSecret" }));
    expect(error.code).toBe("EVERIFY");
    expect(error.message).toContain(pendingId);
    // Gave up at its 1 s verify timeout, not the 30 s default (a bound far from both holds under load).
    expect(Date.now() - started).toBeLessThan(15_000);
    const tries = proxy.requests.filter((r) => r.action === "GetCallerIdentity" && r.accessKeyId === pendingId).length;
    expect(tries, "retried with backoff").toBeGreaterThan(2);

    expect((await w.current()).versionId).toBe(w.firstVersion);
    expect((await w.current()).json.AccessKeyId).toBe(w.oldKey.accessKeyId);
    expect(await workingKey(w.oldKey)).toBe(w.userArn);
    expect(findSecretLeaks(error, await allSecrets(w))).toEqual([]);
  });

  test("a pending key rejected while IAM propagates is retried until it passes twice in a row", async () => {
    const w = await world();
    const token = await w.start();
    await w.invoke("createSecret", token);
    const pendingId = (await w.pending(token)).AccessKeyId;
    let rejections = 0;
    const proxy = await startAwsProxy(motoUrl(), (req) =>
      req.action === "GetCallerIdentity" && req.accessKeyId === pendingId && ++rejections <= 2
        ? { status: 403, body: awsErrorXml("InvalidClientTokenId") }
        : undefined,
    );
    onTestFinished(() => proxy.close());
    const handler = createRotationHandler({
      client: smClient(w.lambdaRole),
      region: "us-east-1",
      endpoint: proxy.url,
      verifyTimeoutMs: 5_000,
      log: () => undefined,
    });
    await handler({ SecretId: w.secretId, ClientRequestToken: token, Step: "testSecret" });
    expect(proxy.requests.filter((r) => r.action === "GetCallerIdentity" && r.accessKeyId === pendingId)).toHaveLength(4);
  });

  test("a pending key that authenticates as someone else fails at once", async () => {
    const w = await world();
    const token = await w.start();
    await w.invoke("createSecret", token);
    // A handler configured for another user: the pending key proves to be app's, which must not pass.
    const handler = createRotationHandler({
      client: smClient(w.lambdaRole),
      region: "us-east-1",
      endpoint: motoUrl(),
      userName: "somebody-else",
      log: () => undefined,
    });
    const error = await failure(handler({ SecretId: w.secretId, ClientRequestToken: token, Step: "testSecret" }));
    expect(error.code).toBe("EVERIFY");
    expect(error.message).toMatch(/authenticates as .*user\/app, not as IAM user somebody-else/);
  });
});

describe("finishSecret", () => {
  test("a retry after the old key's deletion failed finishes the job (NoSuchEntity tolerated on later retries)", async () => {
    const w = await world();
    const token = await w.start();
    for (const step of ["createSecret", "setSecret", "testSecret"] as const) await w.invoke(step, token);
    const proxy = await startAwsProxy(motoUrl(), (req) =>
      req.action === "DeleteAccessKey" ? { status: 409, body: awsErrorXml("ConcurrentModification") } : undefined,
    );
    onTestFinished(() => proxy.close());
    const flaky = createRotationHandler({
      client: smClient(w.lambdaRole),
      region: "us-east-1",
      endpoint: proxy.url,
      retireOld: "at-finish",
      log: () => undefined,
    });
    const error = await failure(flaky({ SecretId: w.secretId, ClientRequestToken: token, Step: "finishSecret" }));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("ConcurrentModification");
    expect((await w.current()).versionId).toBe(token);
    expect((await keysOf(w.admin, "app")).find((k) => k.id === w.oldKey.accessKeyId)?.status).toBe("Inactive");

    await w.invoke("finishSecret", token);
    expect((await keysOf(w.admin, "app")).map((k) => k.id)).toEqual([(await w.current()).json.AccessKeyId]);
    await w.invoke("finishSecret", token);
    expect(w.logs.at(-1)?.message).toMatch(/already deleted/);
  });

  test("finishSecret for a token that was never staged fails with ENOTPENDING and moves nothing", async () => {
    const w = await world();
    await w.start();
    const error = await failure(w.invoke("finishSecret", randomUUID()));
    expect(error.code).toBe("ENOTPENDING");
    expect((await w.current()).versionId).toBe(w.firstVersion);
  });
});

describe("who signs IAM calls", () => {
  const SELF_SERVICE_DENIED = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] };
  const ROLE_WITH_IAM = {
    Version: "2012-10-17",
    Statement: [
      ...ROTATION_FUNCTION_POLICY.Statement,
      { Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"], Resource: "*" },
    ],
  };

  test("by default the key in the secret signs: a user that may not manage its keys cannot rotate, even if the role could", async () => {
    const w = await world({ userPolicy: SELF_SERVICE_DENIED, lambdaPolicy: ROLE_WITH_IAM });
    const error = await failure(w.invoke("createSecret", await w.start()));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toMatch(/AccessDenied/);
    expect(await keysOf(w.admin, "app")).toHaveLength(1);
  });

  test("iamSigner lambda-role signs IAM calls with the role's credentials when asked to", async () => {
    const w = await world({ userPolicy: SELF_SERVICE_DENIED, lambdaPolicy: ROLE_WITH_IAM, iamSigner: "lambda-role", userName: "app" });
    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);
    const { json } = await w.current();
    expect(await keysOf(w.admin, "app")).toEqual([{ id: json.AccessKeyId, status: "Active" }]);
  });
});

// The checks AWS's rotation function template makes before every step
// (SecretsManagerRotationTemplate/lambda_function.py in aws-samples/aws-secrets-manager-rotation-lambdas).
describe("the contract of a rotation function, as AWS's template checks it", () => {
  test("a secret whose rotation is not turned on: every step fails with ENOTENABLED and changes nothing", async () => {
    const w = await world();
    for (const step of STEPS) {
      const error = await failure(w.invoke(step, randomUUID()));
      expect(error.code, step).toBe("ENOTENABLED");
    }
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
    expect([...(await versionsOf(w.secretId, smClient(w.admin))).keys()]).toEqual([w.firstVersion]);
  });

  test("a token that is no version of the secret: every step fails with ENOTPENDING, no key is made", async () => {
    const w = await world();
    const started = await w.start();
    for (const step of STEPS) {
      const error = await failure(w.invoke(step, randomUUID()));
      expect(error.code, step).toBe("ENOTPENDING");
      expect(error.message).toMatch(/has no staging label/);
    }
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
    await expect(w.pending(started)).rejects.toThrow();
  });

  test("a token already AWSCURRENT: createSecret, setSecret and testSecret do nothing; finishSecret moves no label", async () => {
    const w = await world();
    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);
    const keys = await keysOf(w.admin, "app");
    const labels = await versionsOf(w.secretId, smClient(w.admin));
    w.logs.length = 0;
    for (const step of STEPS) await w.invoke(step, token);
    expect(await keysOf(w.admin, "app")).toEqual(keys);
    expect(await versionsOf(w.secretId, smClient(w.admin))).toEqual(labels);
    expect(w.logs.filter((l) => l.step !== "finishSecret").map((l) => l.message)).toEqual(
      ["createSecret", "setSecret", "testSecret"].map(() => `version ${token} is already AWSCURRENT: this rotation has finished, nothing to do`),
    );
  });

  test("a stuck rotation (AWSPENDING on another version): the old token's steps fail naming it and change nothing", async () => {
    const w = await world();
    const first = await w.start();
    await w.invoke("createSecret", first);
    const firstKey = (await w.pending(first)).AccessKeyId;
    // A later rotation took AWSPENDING (moto's RotateSecret moves the label; on AWS a person removes it).
    const second = await w.start();
    for (const step of STEPS) {
      const error = await failure(w.invoke(step, first));
      expect(error.code, step).toBe("ENOTPENDING");
      expect(error.message).toContain(`version ${second} holds AWSPENDING`);
    }
    expect((await w.current()).versionId).toBe(w.firstVersion);
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, firstKey].sort());
    // The rotation holding AWSPENDING completes, and deletes the key the stuck one left behind.
    for (const step of STEPS) await w.invoke(step, second);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: (await w.current()).json.AccessKeyId, status: "Active" }]);
  });

  test("the event's RotationToken goes to PutSecretValue, and into no log line or error", async () => {
    const w = await world();
    const proxy = await startAwsProxy(motoUrl());
    onTestFinished(() => proxy.close());
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, proxy.url), region: "us-east-1", endpoint: motoUrl(), log: (e) => logs.push(e) });
    const rotationToken = `rotation-token-${randomUUID()}`;
    const token = await w.start();
    for (const Step of STEPS) await handler({ SecretId: w.secretId, ClientRequestToken: token, Step, RotationToken: rotationToken });
    const puts = proxy.requests.filter((r) => r.action === "PutSecretValue");
    expect(puts).toHaveLength(1);
    expect((JSON.parse(puts[0]?.body ?? "{}") as { RotationToken?: string }).RotationToken).toBe(rotationToken);
    expect(JSON.stringify(logs)).not.toContain(rotationToken);

    // Without one in the event (Secrets Manager sends it only in some set-ups), none is sent.
    const next = await w.start();
    for (const Step of STEPS) await handler({ SecretId: w.secretId, ClientRequestToken: next, Step });
    const second = proxy.requests.filter((r) => r.action === "PutSecretValue").at(-1);
    expect(JSON.parse(second?.body ?? "{}")).not.toHaveProperty("RotationToken");
  });
});

/** The key a version of the world's secret holds. */
async function keyOfVersion(w: World, versionId: string): Promise<TestKey> {
  const out = await smClient(w.admin).send(new GetSecretValueCommand({ SecretId: w.secretId, VersionId: versionId }));
  const json = JSON.parse(out.SecretString ?? "{}") as Record<string, string>;
  return { accessKeyId: json.AccessKeyId ?? "", secretAccessKey: json.SecretAccessKey ?? "" };
}

describe("retireOld: when the replaced key is retired", () => {
  test("next-rotation (the default): finishSecret leaves the old key Active under AWSPREVIOUS; the next createSecret retires it", async () => {
    const w = await world({ retireOld: "default" });
    const first = await w.start();
    for (const step of STEPS) await w.invoke(step, first);
    const afterFirst = (await w.current()).json.AccessKeyId ?? "";
    expect(await workingKey(w.oldKey)).toBe(w.userArn);
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, afterFirst].sort());
    expect((await versionsOf(w.secretId, smClient(w.admin))).get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    expect(w.logs.at(-1)?.message).toMatch(/stays Active under AWSPREVIOUS/);

    const second = await w.start();
    await w.invoke("createSecret", second);
    // Retired before the new key was made: the user never needs a third key.
    expect(await keyStatus(w.oldKey)).toBe("absent");
    expect(
      w.logs.some((l) => l.step === "createSecret" && l.message.includes(`deactivated and deleted key ${w.oldKey.accessKeyId} (the AWSPREVIOUS key`)),
    ).toBe(true);
    for (const step of STEPS.slice(1)) await w.invoke(step, second);
    const afterSecond = (await w.current()).json.AccessKeyId ?? "";
    // Now the first rotation's key is the one kept Active for cached consumers; both keys are named by a version.
    const keys = await keysOf(w.admin, "app");
    expect(keys.map((k) => k.id).sort()).toEqual([afterFirst, afterSecond].sort());
    expect(keys.every((k) => k.status === "Active")).toBe(true);
    expect((await keyOfVersion(w, first)).accessKeyId).toBe(afterFirst);
    expect((await versionsOf(w.secretId, smClient(w.admin))).get(first)).toEqual(["AWSPREVIOUS"]);
    expect(findSecretLeaks(w.logs, await allSecrets(w))).toEqual([]);
  });

  test("next-rotation: an AWSPREVIOUS key used after the last rotation finished is not retired; createSecret fails naming it and changes nothing", async () => {
    // The grace is short here so that a use seconds later counts; the default (75 min) covers AWS's
    // caching clients and IAM's late recording.
    const w = await world({ retireOld: "default", previousKeyUseGraceMs: 4_000 });
    const first = await w.start();
    for (const step of STEPS) await w.invoke(step, first);
    await new Promise((r) => setTimeout(r, 5_500));
    // A consumer that never switched keeps calling AWS with the old key.
    expect(await keyStatus(w.oldKey)).toBe("Active");
    const keysBefore = await keysOf(w.admin, "app");
    const second = await w.start();
    const error = await failure(w.invoke("createSecret", second));
    expect(error.code).toBe("EINUSE");
    expect(error.message).toContain(w.oldKey.accessKeyId);
    expect(error.message).toMatch(/was used at \d{4}-\d\d-\d\dT.* \(iam in us-east-1\)/);
    expect(error.message).toMatch(/nothing was changed/);
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    await expect(w.pending(second)).rejects.toThrow();
    expect(findSecretLeaks(error, [w.oldKey.secretAccessKey, (await keyOfVersion(w, first)).secretAccessKey])).toEqual([]);
  });

  test("next-rotation: with no use since the last rotation finished (same short grace), the AWSPREVIOUS key is retired", async () => {
    const w = await world({ retireOld: "default", previousKeyUseGraceMs: 4_000 });
    const first = await w.start();
    for (const step of STEPS) await w.invoke(step, first);
    await new Promise((r) => setTimeout(r, 5_500));
    const second = await w.start();
    await w.invoke("createSecret", second);
    expect(await keyStatus(w.oldKey)).toBe("absent");
  });

  test("deactivate-at-finish: finishSecret deactivates the old key; the next rotation deletes it", async () => {
    const w = await world({ retireOld: "deactivate-at-finish" });
    const first = await w.start();
    for (const step of STEPS) await w.invoke(step, first);
    const afterFirst = (await w.current()).json.AccessKeyId ?? "";
    expect(await keyStatus(w.oldKey)).toBe("Inactive");
    const byId = (keys: { id: string; status: string }[]) => [...keys].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(await keysOf(w.admin, "app"))).toEqual(
      byId([
        { id: w.oldKey.accessKeyId, status: "Inactive" },
        { id: afterFirst, status: "Active" },
      ]),
    );
    const second = await w.start();
    for (const step of STEPS) await w.invoke(step, second);
    expect(await keyStatus(w.oldKey)).toBe("absent");
    const keys = await keysOf(w.admin, "app");
    const afterSecond = (await w.current()).json.AccessKeyId;
    expect(keys.find((k) => k.id === afterFirst)?.status).toBe("Inactive");
    expect(keys.find((k) => k.id === afterSecond)?.status).toBe("Active");
  });

  test("at-finish: the old key is deactivated and deleted at finish", async () => {
    const w = await world({ retireOld: "at-finish" });
    const token = await w.start();
    for (const step of STEPS) await w.invoke(step, token);
    expect(await keyStatus(w.oldKey)).toBe("absent");
    expect(await keysOf(w.admin, "app")).toEqual([{ id: (await w.current()).json.AccessKeyId, status: "Active" }]);
  });

  test("an unknown retireOld is refused when the handler is made", () => {
    expect(() => createRotationHandler({ retireOld: "never" as never })).toThrow(/retireOld must be/);
  });
});
