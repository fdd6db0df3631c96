import { randomUUID } from "node:crypto";
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, TagResourceCommand } from "@aws-sdk/client-secrets-manager";
import { createRotationHandler, type RotationHandlerOptions, type RotationLogEntry } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, describe, expect, onTestFinished, test } from "vitest";
import { awsErrorXml, type ProxyVerdict, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator } from "../../../test-support/moto.js";
import { ROTATION_FUNCTION_POLICY } from "../../../test-support/rotation-function-policy.js";
import { startMotoRotation } from "../../../test-support/rotation-start.js";
import { smClient, smErrorResponse, uniqueSecretName } from "./support.js";

// The handler's errors word for word, where the scenario and checks files only match their code or a
// part: the in-use refusal (EINUSE), a retirement IAM refuses (EAWS), a rolled-back createSecret's
// message when the rollback itself needed a retry, and a record createSecret must leave alone. Each
// case kills mutants of rotation-handler.ts that both other files let live (docs/testing.md,
// "rotation-handler: the slices, the tests, and the mutants left").

beforeEach(resetEmulator);

type HandlerError = Error & { code?: string; awsCode?: string };

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the step to fail");
    },
    (error: unknown) => error as HandlerError,
  );

/**
 * User "app" with two keys: the secret's first version held `previous`, its AWSCURRENT version holds
 * `current` (so the first version is AWSPREVIOUS, as after a rotation that kept the old key), and a
 * rotation is started (auth enforced). With `previousInSecret: false` the secret has one version,
 * holding `current`, and no version holds `previous`. `handler` builds a handler whose IAM and STS calls go through a
 * proxy deciding with `iam`, and whose Secrets Manager calls go through one deciding with `sm`.
 */
async function previousWorld({ previousInSecret = true } = {}) {
  const admin = await createAdmin();
  const user = await createUser("app", { keys: 2 });
  const role = await createUser("rotation-lambda-role", { policy: ROTATION_FUNCTION_POLICY });
  const [previous, current] = user.keys;
  const [lambdaRole] = role.keys;
  if (!previous || !current || !lambdaRole) throw new Error("setup made no keys");
  const name = uniqueSecretName("app/iam-key");
  const value = (k: { accessKeyId: string; secretAccessKey: string }) => JSON.stringify({ AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey });
  const first = await smClient().send(new CreateSecretCommand({ Name: name, SecretString: value(previousInSecret ? previous : current) }));
  if (previousInSecret) await smClient().send(new PutSecretValueCommand({ SecretId: name, SecretString: value(current), VersionStages: ["AWSCURRENT"] }));
  await enforceAuth();
  const token = await startMotoRotation(motoUrl(), name, admin);
  const logs: RotationLogEntry[] = [];
  const handler = async (
    options: {
      iam?: (req: { action: string; body: string }) => ProxyVerdict;
      sm?: (req: { action: string; body: string }) => ProxyVerdict;
    } & Partial<RotationHandlerOptions>,
  ) => {
    const { iam: iamDecide, sm: smDecide, ...rest } = options;
    const iam = await startAwsProxy(motoUrl(), iamDecide);
    const sm = await startAwsProxy(motoUrl(), smDecide);
    onTestFinished(async () => {
      await iam.close();
      await sm.close();
    });
    const rotate = createRotationHandler({
      client: smClient(lambdaRole, sm.url, 1),
      region: "us-east-1",
      endpoint: iam.url,
      log: (e) => logs.push(e),
      ...rest,
    });
    return { iam, sm, createSecret: () => rotate({ SecretId: name, ClientRequestToken: token, Step: "createSecret" }) };
  };
  return { admin, previous, current, name, firstVersion: first.VersionId ?? "", token, logs, handler };
}

/** GetAccessKeyLastUsed's answer for a use at `date` (whole seconds) by `service` in `region` ("N/A": not said). */
function lastUsedAnswer(date: Date, service: string, region: string): ProxyVerdict {
  return {
    status: 200,
    body:
      `<GetAccessKeyLastUsedResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccessKeyLastUsedResult>` +
      `<AccessKeyLastUsed><LastUsedDate>${date.toISOString().replace(/\.\d{3}Z$/, "Z")}</LastUsedDate><ServiceName>${service}</ServiceName><Region>${region}</Region></AccessKeyLastUsed>` +
      `<UserName>app</UserName></GetAccessKeyLastUsedResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetAccessKeyLastUsedResponse>`,
  };
}

describe("EINUSE: the AWSPREVIOUS key was used after the last rotation finished", () => {
  // moto always records the service and region of a use (it marks the key on every signed call), so an
  // answer naming a date but no service or region is injected: IAM's documented "N/A" for either.
  test.each([
    ["neither service nor region", "N/A", "N/A", "an unknown service"],
    ["a service but no region", "sts", "N/A", "sts"],
  ])("IAM names %s: the message says where as far as it is known, word for word; nothing changed", async (_what, service, region, where) => {
    const w = await previousWorld();
    // A use a minute from now, in whole seconds: after the AWSCURRENT version's creation with any grace of 0.
    const used = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    const { createSecret, sm } = await w.handler({
      previousKeyUseGraceMs: 0,
      iam: (req) => (req.action === "GetAccessKeyLastUsed" ? lastUsedAnswer(used, service, region) : undefined),
    });
    const keysBefore = await keysOf(w.admin, "app");
    const error = await failure(createSecret());
    expect(error.code).toBe("EINUSE");
    const old = w.previous.accessKeyId;
    expect(error.message).toBe(
      `the AWSPREVIOUS key (version ${w.firstVersion}), ${old} of IAM user app, was used at ${used.toISOString()} (${where}), after the last rotation finished: ` +
        "a consumer still uses it, so nothing was changed. Point that consumer at the secret's AWSCURRENT value (or shorten its cache), then let the rotation retry; " +
        `to retire the key anyway, deactivate ${old} by hand first`,
    );
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    expect(sm.requests.map((r) => r.action)).not.toContain("PutSecretValue");
  });
});

describe("EAWS: IAM refuses to retire a key", () => {
  test("deactivating the AWSPREVIOUS key is denied: the message is the machine's warning, the code IAM's; the key stays Active", async () => {
    const w = await previousWorld();
    // AccessDenied may be IAM not knowing a fresh key yet: the machine retries it until the verify
    // timeout, kept short here.
    const { createSecret, iam } = await w.handler({
      verifyTimeoutMs: 1_000,
      iam: (req) => (req.action === "UpdateAccessKey" ? { status: 403, body: awsErrorXml("AccessDenied", "not allowed to touch keys") } : undefined),
    });
    const error = await failure(createSecret());
    const old = w.previous.accessKeyId;
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("AccessDenied");
    expect(error.message).toBe(
      `could not retire the AWSPREVIOUS key (version ${w.firstVersion}) ${old}: the old key ${old} could not be deactivated (AccessDenied: UpdateAccessKey failed: AccessDenied: not allowed to touch keys (the signing identity needs iam:UpdateAccessKey on itself; see docs/security.md)); it is still Active`,
    );
    expect(iam.counts().DeleteAccessKey).toBeUndefined();
    expect(await keysOf(w.admin, "app")).toContainEqual({ id: old, status: "Active" });
  });
});

describe("createSecret rolled back after a rollback that needed a retry", () => {
  test("the message names the failure that caused the rollback, not the DeleteAccessKey error retried on the way", async () => {
    const w = await previousWorld();
    // Room for the new key: the AWSPREVIOUS key is retired first (no use recorded), then the new key is
    // created and PutSecretValue fails, so the machine deletes the new key. That DeleteAccessKey fails
    // with IAM's server error for longer than the SDK retries it (6 attempts), so the machine's own
    // rollback retry deletes it: the state's last failure is then the DeleteAccessKey one.
    let deletes = 0;
    const SDK_ATTEMPTS = 6;
    const { createSecret, iam } = await w.handler({
      verifyTimeoutMs: 20_000,
      sm: (req) => (req.action === "PutSecretValue" ? smErrorResponse("InternalServiceError", 500) : undefined),
      iam: (req) => {
        if (req.action !== "DeleteAccessKey") return undefined;
        // The first DeleteAccessKey retires the AWSPREVIOUS key; the ones after it delete the new key.
        deletes += 1;
        return deletes > 1 && deletes <= 1 + SDK_ATTEMPTS ? { status: 500, body: awsErrorXml("ServiceFailure", "injected ServiceFailure") } : undefined;
      },
    });
    const error = await failure(createSecret());
    expect(error.code).toBe("EIO");
    expect(error.message).toMatch(
      new RegExp(
        `^secretsmanager:${w.name}: PutSecretValue failed: InternalServiceError: injected InternalServiceError \\(the new key AKIA\\w+ was deleted again\\)$`,
      ),
    );
    // The SDK gave up on the new key's deletion; the machine's retry did it.
    expect(iam.counts().DeleteAccessKey).toBe(2 + SDK_ATTEMPTS);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.current.accessKeyId, status: "Active" }]);
  });
});

describe("createSecret leaves a record of this token that still accounts for a key", () => {
  test("the token's version holds a key and this token's record names another, unstored: both stay until the record's deadline", async () => {
    const w = await previousWorld({ previousInSecret: false });
    // The token's version is pending with the AWSCURRENT key (put by hand); the user's other key is in
    // no version and not in the record's list: the key the record accounts for, which an invocation of
    // this token still running (before the record's deadline) may be about to store.
    await smClient(w.admin).send(
      new PutSecretValueCommand({
        SecretId: w.name,
        ClientRequestToken: w.token,
        SecretString: JSON.stringify({ AccessKeyId: w.current.accessKeyId, SecretAccessKey: w.current.secretAccessKey }),
        VersionStages: ["AWSPENDING"],
      }),
    );
    const record = `keyup:pending:${randomUUID()}`;
    await smClient(w.admin).send(
      new TagResourceCommand({
        SecretId: w.name,
        Tags: [{ Key: record, Value: `until=${Date.now() + 600_000} before=${w.current.accessKeyId} token=${w.token}` }],
      }),
    );
    const { createSecret } = await w.handler({});
    const keysBefore = await keysOf(w.admin, "app");
    await createSecret();
    expect(w.logs.map((l) => l.message)).toEqual([`version ${w.token} already holds pending key ${w.current.accessKeyId}: nothing to do`]);
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    const tags = (await smClient(w.admin).send(new DescribeSecretCommand({ SecretId: w.name }))).Tags ?? [];
    expect(tags.map((t) => t.Key)).toContain(record);
    expect(findSecretLeaks(w.logs, [w.previous.secretAccessKey, w.current.secretAccessKey])).toEqual([]);
  });
});
