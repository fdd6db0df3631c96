import { randomUUID } from "node:crypto";
import { CreateAccessKeyCommand, CreateRoleCommand, DeleteAccessKeyCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { type AwsPort, createAwsPort } from "@keyup/core";
import { createRotationHandler, type RotationHandlerOptions, type RotationLogEntry, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, describe, expect, onTestFinished, test, vi } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keysOf,
  motoUrl,
  resetEmulator,
  stsClient,
  type TestKey,
  whoAmI,
} from "../../../test-support/moto.js";
import { ROTATION_FUNCTION_POLICY } from "../../../test-support/rotation-function-policy.js";
import { startMotoRotation } from "../../../test-support/rotation-start.js";
import { smClient, smErrorResponse, uniqueSecretName, versionsOf } from "./support.js";

// The handler's own checks and bookkeeping, each case cheap (a secret in moto, at most one rotation):
// the options and the event it refuses, the lines it logs at every step, the deadline its record
// names, and the region it takes from a secret's ARN. rotation-handler.int.test.ts holds the
// rotation scenarios; these cases pin down what those leave loose (docs/testing.md, rotation-handler).

beforeEach(resetEmulator);

const STEPS: SecretsManagerRotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
const TOKEN = "0123456789abcdef0123456789abcdef"; // 32 characters, the shortest token accepted

type HandlerError = Error & { code?: string; awsCode?: string };

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the step to fail");
    },
    (error: unknown) => error as HandlerError,
  );

const thrown = (make: () => unknown): HandlerError => {
  try {
    make();
  } catch (error) {
    return error as HandlerError;
  }
  throw new Error("expected createRotationHandler to throw");
};

describe("options are checked when the handler is made", () => {
  test.each([
    [{ verifyTimeoutMs: 0 }, "verifyTimeoutMs must be a positive number of ms, got 0"],
    [{ verifyTimeoutMs: -1 }, "verifyTimeoutMs must be a positive number of ms, got -1"],
    [{ verifyTimeoutMs: Number.NaN }, "verifyTimeoutMs must be a positive number of ms, got NaN"],
    [{ verifyTimeoutMs: Number.POSITIVE_INFINITY }, "verifyTimeoutMs must be a positive number of ms, got Infinity"],
    [{ requiredSuccesses: 0 }, "requiredSuccesses must be a whole number of at least 1, got 0"],
    [{ requiredSuccesses: 1.5 }, "requiredSuccesses must be a whole number of at least 1, got 1.5"],
    [{ previousKeyUseGraceMs: -1 }, "previousKeyUseGraceMs must be a number of ms of at least 0, got -1"],
    [{ previousKeyUseGraceMs: Number.NaN }, "previousKeyUseGraceMs must be a number of ms of at least 0, got NaN"],
    [{ previousKeyUseGraceMs: Number.POSITIVE_INFINITY }, "previousKeyUseGraceMs must be a number of ms of at least 0, got Infinity"],
    [{ retireOld: "never" as never }, 'retireOld must be next-rotation, at-finish or deactivate-at-finish, got "never"'],
  ] as [RotationHandlerOptions, string][])("%o is refused with ECONFIG", (options, message) => {
    const error = thrown(() => createRotationHandler(options));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("RotationHandlerError");
    expect(error.code).toBe("ECONFIG");
    expect(error.message).toBe(message);
    expect(error).not.toHaveProperty("cause");
  });

  test("the defaults and the edges of each range are accepted", () => {
    expect(typeof createRotationHandler()).toBe("function");
    for (const options of [
      { verifyTimeoutMs: 1 },
      { requiredSuccesses: 1 },
      { previousKeyUseGraceMs: 0 },
      { retireOld: "next-rotation" },
      { retireOld: "at-finish" },
      { retireOld: "deactivate-at-finish" },
    ] as RotationHandlerOptions[]) {
      expect(typeof createRotationHandler(options), JSON.stringify(options)).toBe("function");
    }
  });
});

/** A secret holding a user's key, with rotation not turned on; the handler's Secrets Manager calls go through a recording proxy. */
async function plainSecret() {
  const user = await createUser("app");
  const [key] = user.keys;
  if (!key) throw new Error("setup made no key");
  const name = uniqueSecretName("app/iam-key");
  const created = await smClient().send(
    new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey }) }),
  );
  const proxy = await startAwsProxy(motoUrl());
  onTestFinished(() => proxy.close());
  const logs: RotationLogEntry[] = [];
  const handler = createRotationHandler({ client: smClient(undefined, proxy.url, 1), region: "us-east-1", endpoint: motoUrl(), log: (e) => logs.push(e) });
  return { name, arn: created.ARN ?? "", key, proxy, logs, handler };
}

describe("the event is checked before any call", () => {
  const long = "x".repeat(60);
  test.each([
    ["null", null, /no SecretId/],
    ["a string", "createSecret", /no SecretId/],
    ["no SecretId", { ClientRequestToken: TOKEN, Step: "createSecret" }, /no SecretId/],
    ["an empty SecretId", { SecretId: "", ClientRequestToken: TOKEN, Step: "createSecret" }, /no SecretId/],
    ["a SecretId that is no string", { SecretId: 5, ClientRequestToken: TOKEN, Step: "createSecret" }, /no SecretId/],
    ["no token", { SecretId: "s", Step: "createSecret" }, /ClientRequestToken must be a string of 32–64 characters/],
    ["a token that is no string", { SecretId: "s", ClientRequestToken: 1, Step: "createSecret" }, /ClientRequestToken/],
    ["a 31-character token", { SecretId: "s", ClientRequestToken: TOKEN.slice(1), Step: "createSecret" }, /ClientRequestToken/],
    ["a 65-character token", { SecretId: "s", ClientRequestToken: `${TOKEN}${TOKEN}x`, Step: "createSecret" }, /ClientRequestToken/],
    ["no Step", { SecretId: "s", ClientRequestToken: TOKEN }, /^unknown Step "undefined": expected createSecret, setSecret, testSecret or finishSecret$/],
    ["a Step that is no string", { SecretId: "s", ClientRequestToken: TOKEN, Step: 4 }, /^unknown Step "4"/],
    ["an unknown Step", { SecretId: "s", ClientRequestToken: TOKEN, Step: "deleteSecret" }, /^unknown Step "deleteSecret": expected/],
    // The step is cut to 40 characters (the opening quote and 39 of the name): an event is no place for a long text.
    ["a long unknown Step", { SecretId: "s", ClientRequestToken: TOKEN, Step: long }, new RegExp(`^unknown Step "${"x".repeat(39)}: expected`)],
    [
      "a RotationToken that is no string",
      { SecretId: "s", ClientRequestToken: TOKEN, Step: "createSecret", RotationToken: 7 },
      /RotationToken must be a string/,
    ],
  ])("%s: EEVENT, no AWS call, one log-free rejection", async (_what, event, message) => {
    const s = await plainSecret();
    const error = await failure(s.handler(event as never));
    expect(error.name).toBe("RotationHandlerError");
    expect(error.code).toBe("EEVENT");
    expect(error.message).toMatch(message);
    expect(s.proxy.requests).toEqual([]);
    // Nothing is known of the event, so nothing is logged under its name.
    expect(s.logs).toEqual([]);
  });

  test("an event at the edges (32- and 64-character tokens, a RotationToken) is accepted and reaches Secrets Manager", async () => {
    const s = await plainSecret();
    for (const event of [
      { SecretId: s.name, ClientRequestToken: TOKEN, Step: "createSecret" },
      { SecretId: s.name, ClientRequestToken: `${TOKEN}${TOKEN}`, Step: "setSecret" },
      { SecretId: s.name, ClientRequestToken: TOKEN, Step: "testSecret", RotationToken: "opaque" },
      { SecretId: s.name, ClientRequestToken: TOKEN, Step: "finishSecret" },
    ] as const) {
      // Rotation is not turned on for this secret: the first check after the event's.
      const error = await failure(s.handler(event));
      expect(error.code, event.Step).toBe("ENOTENABLED");
    }
    expect(s.proxy.requests.map((r) => r.action)).toEqual(["DescribeSecret", "DescribeSecret", "DescribeSecret", "DescribeSecret"]);
  });

  test("a failed step logs one line naming the step, secret and token, with the error's message", async () => {
    const s = await plainSecret();
    const error = await failure(s.handler({ SecretId: s.name, ClientRequestToken: TOKEN, Step: "setSecret" }));
    expect(error.code).toBe("ENOTENABLED");
    expect(error.message).toBe(
      `secretsmanager:${s.name}: rotation is not turned on for this secret: turn it on (aws secretsmanager rotate-secret --rotation-lambda-arn …) and let Secrets Manager invoke this function`,
    );
    expect(s.logs).toEqual([{ step: "setSecret", secretId: s.name, token: TOKEN, message: `failed: ${error.message}` }]);
  });

  test("without a log option, each line is one JSON object on stdout", async () => {
    const s = await plainSecret();
    const lines: unknown[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(line));
    onTestFinished(() => spy.mockRestore());
    const handler = createRotationHandler({ client: smClient(), region: "us-east-1", endpoint: motoUrl() });
    const error = await failure(handler({ SecretId: s.name, ClientRequestToken: TOKEN, Step: "testSecret" }));
    spy.mockRestore();
    expect(lines).toEqual([JSON.stringify({ step: "testSecret", secretId: s.name, token: TOKEN, message: `failed: ${error.message}` })]);
  });
});

describe("the region comes from the secret's ARN when none is given", () => {
  // The Lambda set-up: no client, no region option. (IAM and STS get the ARN's region too, but moto
  // answers them in any region, so only the Secrets Manager client's region shows here.)
  test("with no region option, no AWS_REGION and no config file, a rotation reaches the secret by its ARN", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]) vi.stubEnv(name, undefined);
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/keyup-test-config");
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/keyup-test-credentials");
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({ credentials: w.lambdaRole, endpoint: motoUrl(), log: (e) => logs.push(e) });
    await handler({ SecretId: w.arn, ClientRequestToken: w.token, Step: "createSecret" });
    expect(logs.at(-1)?.message).toMatch(/^created key AKIA\w+ for IAM user app and staged it as AWSPENDING$/);
  });
});

describe("the aws option", () => {
  test("a substitute AwsPort makes every IAM and STS call of a rotation", async () => {
    const real = createAwsPort({ region: "us-east-1", endpoint: motoUrl() });
    const calls: string[] = [];
    const counting = Object.fromEntries(
      Object.entries(real).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          calls.push(name);
          return (fn as (...a: unknown[]) => unknown)(...args);
        },
      ]),
    ) as unknown as AwsPort;
    const w = await rotatingWorld({ aws: counting, retireOld: "at-finish" });
    for (const step of STEPS) await w.invoke(step);
    expect(calls).toContain("createAccessKey");
    expect(calls).toContain("getCallerIdentity");
    expect(calls).toContain("deleteAccessKey");
  });
});

/** A user "app" whose key a secret holds (or `value` instead), a rotation started on it (auth enforced), and a handler logging into `logs`. */
async function rotatingWorld(options: Partial<RotationHandlerOptions> = {}, value?: object) {
  const admin = await createAdmin();
  const user = await createUser("app");
  const role = await createUser("rotation-lambda-role", { policy: ROTATION_FUNCTION_POLICY });
  const [oldKey] = user.keys;
  const [lambdaRole] = role.keys;
  if (!oldKey || !lambdaRole) throw new Error("setup made no keys");
  const name = uniqueSecretName("app/iam-key");
  const created = await smClient().send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify(value ?? { AccessKeyId: oldKey.accessKeyId, SecretAccessKey: oldKey.secretAccessKey }),
    }),
  );
  await enforceAuth();
  const token = await startMotoRotation(motoUrl(), name, admin);
  const logs: RotationLogEntry[] = [];
  const proxy = await startAwsProxy(motoUrl());
  onTestFinished(() => proxy.close());
  const handler = createRotationHandler({
    client: smClient(lambdaRole, proxy.url, 1),
    region: "us-east-1",
    endpoint: motoUrl(),
    verifyTimeoutMs: 5_000,
    log: (e) => logs.push(e),
    ...options,
  });
  const invoke = (Step: SecretsManagerRotationStep, ClientRequestToken = token, context?: { getRemainingTimeInMillis?: () => number }) =>
    handler({ SecretId: name, ClientRequestToken, Step }, context);
  return { admin, userArn: user.arn, oldKey, lambdaRole, name, arn: created.ARN ?? "", firstVersion: created.VersionId ?? "", token, logs, proxy, invoke };
}

/** The log as `step: message` lines. */
const lines = (logs: RotationLogEntry[]) => logs.map((l) => `${l.step}: ${l.message}`);

/** The key id the token's version holds, from the log line that staged it. */
const stagedKeyId = (logs: RotationLogEntry[]): string => /created key (AKIA\w+)/.exec(logs.map((l) => l.message).join("\n"))?.[1] ?? "none";

describe("what each step logs: key ids and labels, never a secret", () => {
  test("at-finish, every step twice: the lines say what was done, then that it was done already", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of STEPS) {
      await w.invoke(step);
      await w.invoke(step);
    }
    const newId = stagedKeyId(w.logs);
    expect(lines(w.logs)).toEqual([
      `createSecret: created key ${newId} for IAM user app and staged it as AWSPENDING`,
      `createSecret: version ${w.token} already holds pending key ${newId}: nothing to do`,
      `setSecret: pending key ${newId} is already live in IAM: nothing to set`,
      `setSecret: pending key ${newId} is already live in IAM: nothing to set`,
      expect.stringMatching(new RegExp(`^testSecret: pending key ${newId} authenticated as ${w.userArn} 2 times in a row \\(\\d+ attempts\\)$`)),
      expect.stringMatching(new RegExp(`^testSecret: pending key ${newId} authenticated as ${w.userArn} 2 times in a row \\(\\d+ attempts\\)$`)),
      `finishSecret: moved AWSCURRENT to version ${w.token} (key ${newId}) from ${w.firstVersion}`,
      `finishSecret: deactivated and deleted key ${w.oldKey.accessKeyId} (the old key) of IAM user app`,
      `finishSecret: old key ${w.oldKey.accessKeyId} was already deleted`,
    ]);
    expect(w.logs.every((l) => l.secretId === w.name && l.token === w.token)).toBe(true);
    // The retried finishSecret found AWSCURRENT already on the token: it moved no label again.
    expect(w.proxy.requests.filter((r) => r.action === "UpdateSecretVersionStage")).toHaveLength(2);
    const versions = await versionsOf(w.name, smClient(w.admin));
    expect(versions.get(w.token)).toEqual(["AWSCURRENT"]);
    expect(versions.get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    expect(findSecretLeaks(w.logs, [w.oldKey.secretAccessKey])).toEqual([]);
  });

  test("deactivate-at-finish: finishSecret deactivates the old key and says so", async () => {
    const w = await rotatingWorld({ retireOld: "deactivate-at-finish" });
    for (const step of STEPS) await w.invoke(step);
    expect(lines(w.logs).slice(-1)).toEqual([`finishSecret: deactivated key ${w.oldKey.accessKeyId} (the old key) of IAM user app`]);
  });

  test("next-rotation: finishSecret keeps the old key, a retry says so again, the next createSecret retires it", async () => {
    // The old key signs testSecret's identity check, after the AWSCURRENT version was made: a grace of
    // a minute covers that use (a consumer's use would come after it; rotation-handler.int.test.ts).
    const w = await rotatingWorld({ previousKeyUseGraceMs: 60_000 });
    for (const step of STEPS) await w.invoke(step);
    await w.invoke("finishSecret");
    const kept = `finishSecret: old key ${w.oldKey.accessKeyId} stays Active under AWSPREVIOUS for consumers that cached it; the next rotation retires it`;
    expect(lines(w.logs).slice(-3)).toEqual([expect.stringMatching(/^finishSecret: moved AWSCURRENT/), kept, kept]);
    const second = await startMotoRotation(motoUrl(), w.name, w.admin);
    w.logs.length = 0;
    await w.invoke("createSecret", second);
    expect(lines(w.logs)).toEqual([
      `createSecret: deactivated and deleted key ${w.oldKey.accessKeyId} (the AWSPREVIOUS key (version ${w.firstVersion})) of IAM user app`,
      `createSecret: created key ${stagedKeyId(w.logs)} for IAM user app and staged it as AWSPENDING`,
    ]);
  });
});

describe("the record createSecret writes names until when this invocation may run", () => {
  /** The `until=` of the record createSecret tags the secret with; the tag call is refused, so nothing else happens. */
  async function recordedUntil(context: { getRemainingTimeInMillis?: () => number } | undefined): Promise<{ until: number; before: number; after: number }> {
    const w = await rotatingWorld();
    const proxy = await startAwsProxy(motoUrl(), (req) => (req.action === "TagResource" ? smErrorResponse("AccessDeniedException") : undefined));
    onTestFinished(() => proxy.close());
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, proxy.url, 1), region: "us-east-1", endpoint: motoUrl(), log: () => undefined });
    const before = Date.now();
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "createSecret" }, context));
    const after = Date.now();
    expect(error.code).toBe("EACCES");
    const tag = proxy.requests.find((r) => r.action === "TagResource");
    const value = (JSON.parse(tag?.body ?? "{}") as { Tags?: { Key: string; Value: string }[] }).Tags?.[0]?.Value ?? "";
    expect(value).toMatch(new RegExp(`^until=\\d+ before=${w.oldKey.accessKeyId} token=${w.token}$`));
    return { until: Number(/until=(\d+)/.exec(value)?.[1]), before, after };
  }

  test("the Lambda context's remaining time plus a 2 s margin for clocks", async () => {
    const { until, before, after } = await recordedUntil({ getRemainingTimeInMillis: () => 60_000 });
    expect(until).toBeGreaterThanOrEqual(before + 62_000);
    expect(until).toBeLessThanOrEqual(after + 62_000);
  });

  test("no context (or one without the method): Lambda's longest timeout, 15 minutes, plus the margin", async () => {
    for (const context of [undefined, {}]) {
      const { until, before, after } = await recordedUntil(context);
      expect(until).toBeGreaterThanOrEqual(before + 902_000);
      expect(until).toBeLessThanOrEqual(after + 902_000);
      await resetEmulator();
    }
  });

  test("a remaining time that is no finite number counts as 15 minutes; a negative one as none", async () => {
    const nan = await recordedUntil({ getRemainingTimeInMillis: () => Number.NaN });
    expect(nan.until).toBeGreaterThanOrEqual(nan.before + 902_000);
    expect(nan.until).toBeLessThanOrEqual(nan.after + 902_000);
    await resetEmulator();
    const negative = await recordedUntil({ getRemainingTimeInMillis: () => -5_000 });
    expect(negative.until).toBeGreaterThanOrEqual(negative.before + 2_000);
    expect(negative.until).toBeLessThanOrEqual(negative.after + 2_000);
  });
});

/** The secret's tags, as an administrator reads them. */
async function tagsOf(w: { name: string; admin: TestKey }): Promise<Map<string, string>> {
  const out = await smClient(w.admin).send(new DescribeSecretCommand({ SecretId: w.name }));
  return new Map((out.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

/** Plants the record an invocation of createSecret writes before CreateAccessKey (pending-record.ts's format). */
async function plantRecord(w: { name: string; admin: TestKey }, value: string): Promise<string> {
  const key = `keyup:pending:${randomUUID()}`;
  await smClient(w.admin).send(new TagResourceCommand({ SecretId: w.name, Tags: [{ Key: key, Value: value }] }));
  return key;
}

describe("createSecret and the records earlier invocations left", () => {
  test("past its deadline: the key the record accounts for is deleted, the record removed, and the rotation goes on", async () => {
    const w = await rotatingWorld();
    // A key the stopped invocation made and never stored: the user's, in no version, not in the record's list.
    const orphan = (await iamClient(w.admin).send(new CreateAccessKeyCommand({ UserName: "app" }))).AccessKey?.AccessKeyId ?? "";
    const record = await plantRecord(w, `until=${Date.now() - 1_000} before=${w.oldKey.accessKeyId} token=${TOKEN}`);
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    expect(lines(w.logs)).toEqual([
      `createSecret: deactivated and deleted key ${orphan} (created by an invocation stopped before storing it (record ${record})) of IAM user app`,
      `createSecret: removed record ${record} after deleting the key it accounts for`,
      `createSecret: created key ${newId} for IAM user app and staged it as AWSPENDING`,
    ]);
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, newId].sort());
    expect([...(await tagsOf(w)).keys()].filter((k) => k.startsWith("keyup:pending:"))).toEqual([]);
  });

  test("past its deadline and accounting for no key: only the record is removed", async () => {
    const w = await rotatingWorld();
    const record = await plantRecord(w, `until=${Date.now() - 1_000} before=${w.oldKey.accessKeyId}`);
    await w.invoke("createSecret");
    expect(lines(w.logs)[0]).toBe(`createSecret: removed record ${record}`);
    expect([...(await tagsOf(w)).keys()].filter((k) => k.startsWith("keyup:pending:"))).toEqual([]);
  });

  test("before its deadline: EBUSY naming the record, its token, its key and its deadline; nothing changed", async () => {
    const w = await rotatingWorld();
    const orphan = (await iamClient(w.admin).send(new CreateAccessKeyCommand({ UserName: "app" }))).AccessKey?.AccessKeyId ?? "";
    const until = Date.now() + 600_000;
    const record = await plantRecord(w, `until=${until} before=${w.oldKey.accessKeyId} token=${TOKEN}`);
    const keysBefore = await keysOf(w.admin, "app");
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EBUSY");
    expect(error.message).toBe(
      `secretsmanager:${w.name}: another invocation (token ${TOKEN}) is creating a key for this secret and may run until ${new Date(until).toISOString()} (record ${record}, key ${orphan}): nothing was changed; Secrets Manager retries the rotation, and a retry after that time goes on`,
    );
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    expect((await tagsOf(w)).has(record)).toBe(true);
    await expect(smClient(w.admin).send(new GetSecretValueCommand({ SecretId: w.name, VersionId: w.token, VersionStage: "AWSPENDING" }))).rejects.toThrow();
  });

  test("before its deadline, with no token and no key in it: EBUSY says neither", async () => {
    const w = await rotatingWorld();
    const until = Date.now() + 600_000;
    const record = await plantRecord(w, `until=${until} before=${w.oldKey.accessKeyId}`);
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EBUSY");
    expect(error.message).toContain(
      `another invocation is creating a key for this secret and may run until ${new Date(until).toISOString()} (record ${record}): nothing`,
    );
  });

  test("once the token's version holds the key: this token's record is removed, another's still running is left", async () => {
    const w = await rotatingWorld();
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    const own = await plantRecord(w, `until=${Date.now() + 600_000} before=${w.oldKey.accessKeyId} token=${w.token}`);
    const other = await plantRecord(w, `until=${Date.now() + 600_000} before=${w.oldKey.accessKeyId} token=${TOKEN}`);
    w.logs.length = 0;
    await w.invoke("createSecret");
    expect(lines(w.logs)).toEqual([
      `createSecret: removed record ${own}`,
      `createSecret: version ${w.token} already holds pending key ${newId}: nothing to do`,
    ]);
    const tags = await tagsOf(w);
    expect(tags.has(own)).toBe(false);
    expect(tags.has(other)).toBe(true);
  });
});

describe("versions that hold no usable key", () => {
  test("an AWSCURRENT version without a key: createSecret fails with EINVALID naming the fields", async () => {
    const w = await rotatingWorld({}, { region: "eu-west-1" });
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toBe(`secretsmanager:${w.name}: the AWSCURRENT version holds no access key ("AccessKeyId" / "SecretAccessKey")`);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });

  test("setSecret, testSecret and finishSecret before createSecret stored a key: ENOTPENDING, run createSecret first", async () => {
    const w = await rotatingWorld();
    for (const step of ["setSecret", "testSecret"] as const) {
      const error = await failure(w.invoke(step));
      expect(error.code, step).toBe("ENOTPENDING");
      expect(error.message).toBe(`secretsmanager:${w.name}: version ${w.token} is not AWSPENDING or holds no value: run createSecret first`);
    }
    const error = await failure(w.invoke("finishSecret"));
    expect(error.code).toBe("ENOTPENDING");
    expect(error.message).toBe(`secretsmanager:${w.name}: version ${w.token} holds no value: run createSecret first`);
    expect((await versionsOf(w.name, smClient(w.admin))).get(w.firstVersion)).toEqual(["AWSCURRENT"]);
  });

  test("a pending key IAM no longer has: createSecret fails with ENOTPENDING and says how to start over", async () => {
    const w = await rotatingWorld();
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    await iamClient(w.admin).send(new DeleteAccessKeyCommand({ UserName: "app", AccessKeyId: newId }));
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("ENOTPENDING");
    expect(error.message).toBe(
      `secretsmanager:${w.name}: pending version ${w.token} holds key ${newId}, which IAM user app no longer has: remove AWSPENDING from version ${w.token} (see CancelRotateSecret) and rotate again`,
    );
  });
});

describe("steps stopped half-way, and IAM failures on the way", () => {
  test("finishSecret stopped after moving AWSCURRENT: the retry takes AWSPENDING off and retires the AWSPREVIOUS key", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of ["createSecret", "setSecret", "testSecret"] as const) await w.invoke(step);
    const newId = stagedKeyId(w.logs);
    // The first of finishSecret's two moves, as a killed invocation leaves it.
    await smClient(w.admin).send(
      new UpdateSecretVersionStageCommand({ SecretId: w.name, VersionStage: "AWSCURRENT", MoveToVersionId: w.token, RemoveFromVersionId: w.firstVersion }),
    );
    expect((await versionsOf(w.name, smClient(w.admin))).get(w.token)?.sort()).toEqual(["AWSCURRENT", "AWSPENDING"]);
    w.logs.length = 0;
    await w.invoke("finishSecret");
    const versions = await versionsOf(w.name, smClient(w.admin));
    expect(versions.get(w.token)).toEqual(["AWSCURRENT"]);
    expect([...versions.values()].some((labels) => labels.includes("AWSPENDING"))).toBe(false);
    expect(lines(w.logs)).toEqual([`finishSecret: deactivated and deleted key ${w.oldKey.accessKeyId} (the old key) of IAM user app`]);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: newId, status: "Active" }]);
  });

  test("next-rotation: when IAM will not say when the AWSPREVIOUS key was last used, createSecret fails with EAWS and changes nothing", async () => {
    const w = await rotatingWorld({ previousKeyUseGraceMs: 60_000 });
    for (const step of STEPS) await w.invoke(step);
    const proxy = await startAwsProxy(motoUrl(), (req) =>
      req.action === "GetAccessKeyLastUsed" ? { status: 403, body: awsErrorXml("AccessDenied", "not allowed") } : undefined,
    );
    onTestFinished(() => proxy.close());
    const handler = createRotationHandler({ client: smClient(w.lambdaRole), region: "us-east-1", endpoint: proxy.url, log: () => undefined });
    const second = await startMotoRotation(motoUrl(), w.name, w.admin);
    const keysBefore = await keysOf(w.admin, "app");
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: second, Step: "createSecret" }));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("AccessDenied");
    expect(error.message).toMatch(
      new RegExp(
        `^could not read when the AWSPREVIOUS key \\(version ${w.firstVersion}\\) ${w.oldKey.accessKeyId} was last used, so nothing was changed: .*AccessDenied`,
      ),
    );
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    // The cause is a copy of the SDK's error (name, redacted message, status), not the error itself,
    // which carries the raw response.
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe("AccessDenied");
    expect(error.cause).not.toHaveProperty("$fault");
    expect(error.cause).not.toHaveProperty("$response");
  });

  test("a new key that can be neither stored nor deleted: EORPHAN, and the record naming it stays on the secret", async () => {
    const w = await rotatingWorld();
    const sm = await startAwsProxy(motoUrl(), (req) => (req.action === "PutSecretValue" ? smErrorResponse("InternalServiceError", 500) : undefined));
    const iam = await startAwsProxy(motoUrl(), (req) =>
      req.action === "DeleteAccessKey" || req.action === "UpdateAccessKey" ? { status: 403, body: awsErrorXml("AccessDenied") } : undefined,
    );
    onTestFinished(async () => {
      await sm.close();
      await iam.close();
    });
    const handler = createRotationHandler({
      client: smClient(w.lambdaRole, sm.url, 1),
      region: "us-east-1",
      endpoint: iam.url,
      verifyTimeoutMs: 1_000,
      log: () => undefined,
    });
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "createSecret" }, { getRemainingTimeInMillis: () => 30_000 }));
    expect(error.code).toBe("EORPHAN");
    const records = [...(await tagsOf(w)).keys()].filter((k) => k.startsWith("keyup:pending:"));
    expect(records).toHaveLength(1);
    expect(error.message).toMatch(
      new RegExp(`\\(record ${records[0]} on the secret names it: the next createSecret after \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z deletes it\\)$`),
    );
    expect(await keysOf(w.admin, "app")).toHaveLength(2);
  });
});

describe("createSecret retried while the first invocation may still run", () => {
  test("a record of this very token before its deadline, nothing staged yet (Secrets Manager retrying): EBUSY, nothing changed", async () => {
    const w = await rotatingWorld();
    const until = Date.now() + 600_000;
    const record = await plantRecord(w, `until=${until} before=${w.oldKey.accessKeyId} token=${w.token}`);
    const keysBefore = await keysOf(w.admin, "app");
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EBUSY");
    expect(error.message).toContain(
      `another invocation (token ${w.token}) is creating a key for this secret and may run until ${new Date(until).toISOString()} (record ${record}): nothing`,
    );
    expect(await keysOf(w.admin, "app")).toEqual(keysBefore);
    expect((await tagsOf(w)).has(record)).toBe(true);
    expect(w.proxy.requests.map((r) => r.action)).not.toContain("PutSecretValue");
  });

  test("a record whose deadline is this very millisecond still counts as running: EBUSY", async () => {
    const w = await rotatingWorld();
    const now = Date.now();
    const record = await plantRecord(w, `until=${now} before=${w.oldKey.accessKeyId}`);
    // The handler's clock stands still at the record's deadline.
    const clock = vi.spyOn(Date, "now").mockReturnValue(now);
    onTestFinished(() => clock.mockRestore());
    const error = await failure(w.invoke("createSecret"));
    clock.mockRestore();
    expect(error.code).toBe("EBUSY");
    expect(error.message).toContain(`may run until ${new Date(now).toISOString()} (record ${record}): nothing`);
    expect((await tagsOf(w)).has(record)).toBe(true);
  });
});

describe("what createSecret asks Secrets Manager", () => {
  test("with no record on the secret it reads no version for records: the calls of a first createSecret, in order", async () => {
    const w = await rotatingWorld();
    await w.invoke("createSecret");
    const calls = w.proxy.requests.map((r) => {
      const body = JSON.parse(r.body || "{}") as { VersionId?: string; VersionStage?: string };
      return [r.action, body.VersionId ?? "", body.VersionStage ?? ""].join(" ").trim();
    });
    expect(calls).toEqual([
      "DescribeSecret",
      "GetSecretValue  AWSCURRENT",
      `GetSecretValue ${w.token} AWSPENDING`,
      "ListSecretVersionIds",
      "TagResource",
      "PutSecretValue",
      `GetSecretValue ${w.token} AWSPENDING`,
      "UntagResource",
    ]);
  });

  test("setSecret and testSecret read the token's version as AWSPENDING only", async () => {
    const w = await rotatingWorld();
    await w.invoke("createSecret");
    for (const step of ["setSecret", "testSecret"] as const) {
      w.proxy.requests.length = 0;
      await w.invoke(step);
      const reads = w.proxy.requests
        .filter((r) => r.action === "GetSecretValue")
        .map((r) => JSON.parse(r.body) as { VersionId?: string; VersionStage?: string });
      expect(reads[0], step).toEqual({ SecretId: w.name, VersionId: w.token, VersionStage: "AWSPENDING" });
      // testSecret then reads the AWSCURRENT version, whose key identifies the user.
      if (step === "testSecret") expect(reads.slice(1)).toEqual([{ SecretId: w.name, VersionStage: "AWSCURRENT" }]);
    }
  });
});

describe("a pending version that holds no usable key", () => {
  /** A rotating world whose token's AWSPENDING version holds `text`, put there by an administrator. */
  async function withPending(text: string) {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    await smClient(w.admin).send(
      new PutSecretValueCommand({ SecretId: w.name, ClientRequestToken: w.token, SecretString: text, VersionStages: ["AWSPENDING"] }),
    );
    return w;
  }

  test("JSON without the key fields: every step fails with EINVALID naming the version it read", async () => {
    const w = await withPending(JSON.stringify({ region: "eu-west-1" }));
    const fields = `holds no access key ("AccessKeyId" / "SecretAccessKey")`;
    for (const [step, what] of [
      ["createSecret", `pending version ${w.token}`],
      ["setSecret", `pending version ${w.token}`],
      ["testSecret", `pending version ${w.token}`],
      ["finishSecret", `version ${w.token}`],
    ] as const) {
      const error = await failure(w.invoke(step));
      expect(error.code, step).toBe("EINVALID");
      expect(error.message, step).toBe(`secretsmanager:${w.name}: ${what} ${fields}`);
    }
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });

  test("text that is not JSON: setSecret's and testSecret's EINVALID name the secret and the version", async () => {
    const w = await withPending("not json");
    for (const step of ["setSecret", "testSecret"] as const) {
      const error = await failure(w.invoke(step));
      expect(error.code, step).toBe("EINVALID");
      expect(error.message, step).toMatch(new RegExp(`^secretsmanager:${w.name} \\(pending version ${w.token}\\) is not JSON`));
    }
  });
});

describe("testSecret and finishSecret on versions and labels out of the ordinary", () => {
  test("testSecret with an AWSCURRENT version that holds no key: EINVALID naming it", async () => {
    const w = await rotatingWorld({}, { region: "eu-west-1" });
    const pending = JSON.stringify({ AccessKeyId: w.oldKey.accessKeyId, SecretAccessKey: w.oldKey.secretAccessKey });
    await smClient(w.admin).send(
      new PutSecretValueCommand({ SecretId: w.name, ClientRequestToken: w.token, SecretString: pending, VersionStages: ["AWSPENDING"] }),
    );
    const error = await failure(w.invoke("testSecret"));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toBe(`secretsmanager:${w.name}: the AWSCURRENT version holds no access key ("AccessKeyId" / "SecretAccessKey")`);
  });

  test("testSecret when the AWSCURRENT key no longer works: the identity check's error, not a failed verify", async () => {
    const w = await rotatingWorld();
    await w.invoke("createSecret");
    await iamClient(w.admin).send(new DeleteAccessKeyCommand({ UserName: "app", AccessKeyId: w.oldKey.accessKeyId }));
    const error = await failure(w.invoke("testSecret"));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("InvalidClientTokenId");
  });

  test("finishSecret when Secrets Manager refuses to move AWSCURRENT: EACCES naming UpdateSecretVersionStage", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of ["createSecret", "setSecret", "testSecret"] as const) await w.invoke(step);
    const sm = await startAwsProxy(motoUrl(), (req) => (req.action === "UpdateSecretVersionStage" ? smErrorResponse("AccessDeniedException") : undefined));
    onTestFinished(() => sm.close());
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, sm.url, 1), region: "us-east-1", endpoint: motoUrl(), log: () => undefined });
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "finishSecret" }));
    expect(error.code).toBe("EACCES");
    expect(error.message).toBe(
      `secretsmanager:${w.name}: UpdateSecretVersionStage was denied: grant secretsmanager:UpdateSecretVersionStage on the secret to the identity keyup uses for Secrets Manager`,
    );
  });

  /** A finished-but-one-move world: AWSCURRENT moved, AWSPENDING still on the token, and a handler whose removal of AWSPENDING is answered by `verdict`. */
  async function pendingLeft(verdict: { status: number; body: string; contentType: string }) {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of ["createSecret", "setSecret", "testSecret"] as const) await w.invoke(step);
    await smClient(w.admin).send(
      new UpdateSecretVersionStageCommand({ SecretId: w.name, VersionStage: "AWSCURRENT", MoveToVersionId: w.token, RemoveFromVersionId: w.firstVersion }),
    );
    const sm = await startAwsProxy(motoUrl(), (req) =>
      req.action === "UpdateSecretVersionStage" && (JSON.parse(req.body) as { VersionStage?: string }).VersionStage === "AWSPENDING" ? verdict : undefined,
    );
    onTestFinished(() => sm.close());
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({
      client: smClient(w.lambdaRole, sm.url, 1),
      region: "us-east-1",
      endpoint: motoUrl(),
      retireOld: "at-finish",
      log: (e) => logs.push(e),
    });
    return { w, logs, finish: () => handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "finishSecret" }) };
  }

  test("finishSecret when taking AWSPENDING off is refused: EACCES naming the secret and UpdateSecretVersionStage, the old key kept", async () => {
    const { w, finish } = await pendingLeft(smErrorResponse("AccessDeniedException"));
    const error = await failure(finish());
    expect(error.code).toBe("EACCES");
    expect(error.message).toBe(
      `secretsmanager:${w.name}: UpdateSecretVersionStage was denied: grant secretsmanager:UpdateSecretVersionStage on the secret to the identity keyup uses for Secrets Manager`,
    );
    expect((await keysOf(w.admin, "app")).map((k) => k.id)).toContain(w.oldKey.accessKeyId);
  });

  test("finishSecret when AWSPENDING is already off (InvalidParameterException, a retry's race): it goes on and retires the old key", async () => {
    const { w, logs, finish } = await pendingLeft(smErrorResponse("InvalidParameterException"));
    await finish();
    expect(lines(logs)).toEqual([`finishSecret: deactivated and deleted key ${w.oldKey.accessKeyId} (the old key) of IAM user app`]);
  });

  test("finishSecret with the first version's token (AWSCURRENT, no AWSPREVIOUS): no old key to retire, nothing else read", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    w.proxy.requests.length = 0;
    await w.invoke("finishSecret", w.firstVersion);
    expect(lines(w.logs)).toEqual(["finishSecret: no old key to retire"]);
    expect(w.proxy.requests.map((r) => r.action)).toEqual(["DescribeSecret", "GetSecretValue"]);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });

  test("finishSecret whose AWSPREVIOUS version holds the same key as AWSCURRENT: that key is not retired", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    // The same value stored again as a new version (outside any rotation): AWSPREVIOUS and AWSCURRENT hold one key.
    const same = JSON.stringify({ AccessKeyId: w.oldKey.accessKeyId, SecretAccessKey: w.oldKey.secretAccessKey });
    const put = await smClient(w.admin).send(new PutSecretValueCommand({ SecretId: w.name, SecretString: same, VersionStages: ["SAME"] }));
    await smClient(w.admin).send(
      new UpdateSecretVersionStageCommand({
        SecretId: w.name,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: put.VersionId,
        RemoveFromVersionId: w.firstVersion,
      }),
    );
    expect((await versionsOf(w.name, smClient(w.admin))).get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    await w.invoke("finishSecret", put.VersionId);
    expect(lines(w.logs)).toEqual(["finishSecret: no old key to retire"]);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });

  test("deactivate-at-finish: the old key is Inactive and still there", async () => {
    const w = await rotatingWorld({ retireOld: "deactivate-at-finish" });
    for (const step of STEPS) await w.invoke(step);
    const keys = await keysOf(w.admin, "app");
    expect(keys).toContainEqual({ id: w.oldKey.accessKeyId, status: "Inactive" });
    expect(keys).toContainEqual({ id: stagedKeyId(w.logs), status: "Active" });
  });

  test("at-finish when the new key no longer works: finishSecret fails with the identity check's error and deletes nothing", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of ["createSecret", "setSecret", "testSecret"] as const) await w.invoke(step);
    const newId = stagedKeyId(w.logs);
    await iamClient(w.admin).send(new DeleteAccessKeyCommand({ UserName: "app", AccessKeyId: newId }));
    const error = await failure(w.invoke("finishSecret"));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("InvalidClientTokenId");
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });

  test("PutSecretValue failing after CreateAccessKey: EIO saying why, and that the new key was deleted again", async () => {
    const w = await rotatingWorld();
    const sm = await startAwsProxy(motoUrl(), (req) => (req.action === "PutSecretValue" ? smErrorResponse("InternalServiceError", 500) : undefined));
    onTestFinished(() => sm.close());
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, sm.url, 1), region: "us-east-1", endpoint: motoUrl(), log: () => undefined });
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "createSecret" }));
    expect(error.code).toBe("EIO");
    expect(error.message).toMatch(
      new RegExp(
        `^secretsmanager:${w.name}: PutSecretValue failed: InternalServiceError: injected InternalServiceError \\(the new key AKIA\\w+ was deleted again\\)$`,
      ),
    );
  });
});

describe("the userName option", () => {
  test("naming a user the secret's key does not belong to: createSecret refuses and creates nothing", async () => {
    const w = await rotatingWorld({ userName: "rotation-lambda-role" });
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EUSER");
    expect(error.message).toBe(
      `the key in secretsmanager:${w.name} (${w.oldKey.accessKeyId}) is not one of IAM user rotation-lambda-role's keys (${w.lambdaRole.accessKeyId} Active): check the store or userName`,
    );
    expect(await keysOf(w.admin, "app")).toEqual([{ id: w.oldKey.accessKeyId, status: "Active" }]);
  });
});

describe("a token that is not AWSPENDING, and a key createSecret cannot inspect", () => {
  test("a labelled version that is not AWSPENDING: ENOTPENDING, naming the version that holds AWSPENDING only when one does", async () => {
    const w = await rotatingWorld({ retireOld: "at-finish" });
    for (const step of STEPS) await w.invoke(step);
    // The first version is AWSPREVIOUS now, and no version holds AWSPENDING: no rotation is running.
    const idle = await failure(w.invoke("createSecret", w.firstVersion));
    expect(idle.code).toBe("ENOTPENDING");
    expect(idle.message).toBe(`secretsmanager:${w.name}: version ${w.firstVersion} is not AWSPENDING, so it does not belong to the rotation in progress`);
    const second = await startMotoRotation(motoUrl(), w.name, w.admin);
    const running = await failure(w.invoke("createSecret", w.firstVersion));
    expect(running.code).toBe("ENOTPENDING");
    expect(running.message).toBe(
      `secretsmanager:${w.name}: version ${w.firstVersion} is not AWSPENDING, so it does not belong to the rotation in progress (version ${second} holds AWSPENDING: Secrets Manager retries that rotation; to abandon it, remove AWSPENDING from ${second}, as CancelRotateSecret's reference describes)`,
    );
  });

  test("an AWSCURRENT key that no longer works: createSecret fails with the identity check's error before writing a record", async () => {
    const w = await rotatingWorld();
    await iamClient(w.admin).send(new DeleteAccessKeyCommand({ UserName: "app", AccessKeyId: w.oldKey.accessKeyId }));
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("EAWS");
    expect(error.awsCode).toBe("InvalidClientTokenId");
    // It read the AWSCURRENT version and stopped: no pending read, no version listing, no record.
    expect(w.proxy.requests.map((r) => r.action)).toEqual(["DescribeSecret", "GetSecretValue"]);
    expect(await keysOf(w.admin, "app")).toEqual([]);
  });
});

describe("createSecret and the versions it retires keys from", () => {
  /** The Secrets Manager calls the proxy saw, as `action versionId stage`. */
  const callsOf = (w: { proxy: { requests: { action: string; body: string }[] } }) =>
    w.proxy.requests.map((r) => {
      const body = JSON.parse(r.body || "{}") as { VersionId?: string; VersionStage?: string };
      return [r.action, body.VersionId ?? "", body.VersionStage ?? ""].join(" ").trim();
    });

  test.each(["AWSCURRENT", "token"] as const)("AWSPREVIOUS on the %s version as well: createSecret neither reads it again nor retires its key", async (on) => {
    const w = await rotatingWorld();
    const target = on === "token" ? w.token : w.firstVersion;
    await smClient(w.admin).send(new UpdateSecretVersionStageCommand({ SecretId: w.name, VersionStage: "AWSPREVIOUS", MoveToVersionId: target }));
    expect((await versionsOf(w.name, smClient(w.admin))).get(target)).toContain("AWSPREVIOUS");
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    expect(lines(w.logs)).toEqual([`createSecret: created key ${newId} for IAM user app and staged it as AWSPENDING`]);
    expect(callsOf(w)).toEqual([
      "DescribeSecret",
      "GetSecretValue  AWSCURRENT",
      `GetSecretValue ${w.token} AWSPENDING`,
      "ListSecretVersionIds",
      "TagResource",
      "PutSecretValue",
      `GetSecretValue ${w.token} AWSPENDING`,
      "UntagResource",
    ]);
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, newId].sort());
  });

  test("an AWSPREVIOUS version holding the AWSCURRENT key: that key is not retired, and the rotation goes on", async () => {
    const w = await rotatingWorld();
    // The same value stored again (outside any rotation) and made AWSCURRENT: the first version, now
    // AWSPREVIOUS, holds the key that signs.
    const same = JSON.stringify({ AccessKeyId: w.oldKey.accessKeyId, SecretAccessKey: w.oldKey.secretAccessKey });
    const put = await smClient(w.admin).send(new PutSecretValueCommand({ SecretId: w.name, SecretString: same, VersionStages: ["SAME"] }));
    await smClient(w.admin).send(
      new UpdateSecretVersionStageCommand({
        SecretId: w.name,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: put.VersionId,
        RemoveFromVersionId: w.firstVersion,
      }),
    );
    expect((await versionsOf(w.name, smClient(w.admin))).get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    expect(lines(w.logs)).toEqual([`createSecret: created key ${newId} for IAM user app and staged it as AWSPENDING`]);
    expect(await keysOf(w.admin, "app")).toEqual(
      expect.arrayContaining([
        { id: w.oldKey.accessKeyId, status: "Active" },
        { id: newId, status: "Active" },
      ]),
    );
  });

  /** A second key of the user, held by a new version of the secret that ends with `labels` (its only label taken off for none). */
  async function secondKeyIn(w: Awaited<ReturnType<typeof rotatingWorld>>, labels: "none" | "OTHER") {
    const other = (await iamClient(w.admin).send(new CreateAccessKeyCommand({ UserName: "app" }))).AccessKey;
    if (!other?.AccessKeyId || !other.SecretAccessKey) throw new Error("setup made no key");
    const put = await smClient(w.admin).send(
      new PutSecretValueCommand({
        SecretId: w.name,
        SecretString: JSON.stringify({ AccessKeyId: other.AccessKeyId, SecretAccessKey: other.SecretAccessKey }),
        VersionStages: ["OTHER"],
      }),
    );
    const versionId = put.VersionId ?? "";
    if (labels === "none") {
      await smClient(w.admin).send(new UpdateSecretVersionStageCommand({ SecretId: w.name, VersionStage: "OTHER", RemoveFromVersionId: versionId }));
    }
    expect((await versionsOf(w.name, smClient(w.admin))).get(versionId)).toEqual(labels === "none" ? [] : ["OTHER"]);
    return { keyId: other.AccessKeyId, versionId };
  }

  test("a version with no label left holding a key of the user (an abandoned rotation's): that key is retired first", async () => {
    const w = await rotatingWorld();
    const left = await secondKeyIn(w, "none");
    await w.invoke("createSecret");
    const newId = stagedKeyId(w.logs);
    expect(lines(w.logs)).toEqual([
      `createSecret: deactivated and deleted key ${left.keyId} (left by an unfinished rotation (version ${left.versionId})) of IAM user app`,
      `createSecret: created key ${newId} for IAM user app and staged it as AWSPENDING`,
    ]);
    expect((await keysOf(w.admin, "app")).map((k) => k.id).sort()).toEqual([w.oldKey.accessKeyId, newId].sort());
  });

  test("a version with another label holding a key of the user: that key is in use, so createSecret keeps it and fails ELIMIT; the record is removed", async () => {
    const w = await rotatingWorld();
    const other = await secondKeyIn(w, "OTHER");
    const error = await failure(w.invoke("createSecret"));
    expect(error.code).toBe("ELIMIT");
    // Only what the machine says: no word of a new key deleted again, as none was made.
    expect(error.message).toBe(
      `IAM user app already has 2 access keys (${w.oldKey.accessKeyId} Active, ${other.keyId} Active), the most IAM allows; nothing was created: the other key ${other.keyId} is Active, and only an Inactive key held by no store may be deleted automatically`,
    );
    expect(lines(w.logs)).toEqual([`createSecret: failed: ${error.message}`]);
    expect(await keysOf(w.admin, "app")).toEqual(
      expect.arrayContaining([
        { id: w.oldKey.accessKeyId, status: "Active" },
        { id: other.keyId, status: "Active" },
      ]),
    );
    expect(callsOf(w)).toContain("TagResource");
    expect([...(await tagsOf(w)).keys()].filter((k) => k.startsWith("keyup:pending:"))).toEqual([]);
  });

  test("when the record cannot be removed after a failed createSecret: a log line says so, and the step's own error is thrown", async () => {
    const w = await rotatingWorld();
    await secondKeyIn(w, "OTHER");
    const sm = await startAwsProxy(motoUrl(), (req) => (req.action === "UntagResource" ? smErrorResponse("AccessDeniedException") : undefined));
    onTestFinished(() => sm.close());
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({ client: smClient(w.lambdaRole, sm.url, 1), region: "us-east-1", endpoint: motoUrl(), log: (e) => logs.push(e) });
    const error = await failure(handler({ SecretId: w.name, ClientRequestToken: w.token, Step: "createSecret" }));
    expect(error.code).toBe("ELIMIT");
    const records = [...(await tagsOf(w)).keys()].filter((k) => k.startsWith("keyup:pending:"));
    expect(records).toHaveLength(1);
    expect(lines(logs)).toEqual([
      `createSecret: could not remove record ${records[0]}: secretsmanager:${w.name}: UntagResource was denied: grant secretsmanager:UntagResource on the secret to the identity keyup uses for Secrets Manager`,
      `createSecret: failed: ${error.message}`,
    ]);
  });
});

describe("iamSigner lambda-role with temporary credentials, as a Lambda role's are", () => {
  test("the role's session token signs its IAM calls too: a whole rotation with an assumed role's credentials", async () => {
    const w = await rotatingWorld();
    const RoleName = "keyup-rotation-function";
    // The administrator stands in for Lambda's service, which assumes the role for the function.
    const adminArn = await whoAmI(w.admin);
    const role = await iamClient(w.admin).send(
      new CreateRoleCommand({
        RoleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { AWS: adminArn }, Action: "sts:AssumeRole" }],
        }),
      }),
    );
    const policy = {
      Version: "2012-10-17",
      Statement: [
        ...ROTATION_FUNCTION_POLICY.Statement,
        { Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"], Resource: "*" },
      ],
    };
    await iamClient(w.admin).send(new PutRolePolicyCommand({ RoleName, PolicyName: "rotation", PolicyDocument: JSON.stringify(policy) }));
    const assumed = (await stsClient(w.admin).send(new AssumeRoleCommand({ RoleArn: role.Role?.Arn ?? "", RoleSessionName: "rotation" }))).Credentials;
    if (!assumed?.AccessKeyId || !assumed.SecretAccessKey || !assumed.SessionToken) throw new Error("AssumeRole gave no credentials");
    // Temporary credentials (ASIA…): moto, as AWS, refuses them without their session token.
    expect(assumed.AccessKeyId).toMatch(/^ASIA/);
    const credentials = { accessKeyId: assumed.AccessKeyId, secretAccessKey: assumed.SecretAccessKey, sessionToken: assumed.SessionToken };
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({
      client: smClient(credentials, motoUrl(), 1),
      region: "us-east-1",
      endpoint: motoUrl(),
      iamSigner: "lambda-role",
      userName: "app",
      retireOld: "at-finish",
      verifyTimeoutMs: 5_000,
      log: (e) => logs.push(e),
    });
    for (const step of STEPS) await handler({ SecretId: w.name, ClientRequestToken: w.token, Step: step });
    const newId = stagedKeyId(logs);
    expect(lines(logs).at(-1)).toBe(`finishSecret: deactivated and deleted key ${w.oldKey.accessKeyId} (the old key) of IAM user app`);
    expect(await keysOf(w.admin, "app")).toEqual([{ id: newId, status: "Active" }]);
  });
});
