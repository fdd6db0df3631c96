import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { createRotationHandler, type RetireOldPolicy, type RotationLogEntry, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { smClient, uniqueSecretName, versionsOf } from "../../packages/store-secretsmanager/test/support.js";
import { type ProxyVerdict, startAwsProxy } from "../aws-proxy.js";
import { seedUser } from "../emulator.js";
import { createAdmin, createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, type TestKey } from "../moto.js";
import { ROTATION_FUNCTION_POLICY } from "../rotation-function-policy.js";
import { startMotoRotation } from "../rotation-start.js";
import { rememberSecret } from "../secrets.js";
import { TYPICAL_AWS } from "./profiles.js";
import { type RealismProxy, startRealismProxy } from "./realism-proxy.js";

// Issue 12 under TYPICAL_AWS: the Secrets Manager rotation handler's third retire policy
// (deactivate-at-finish, over two rotations) and a representative set of its crash points, through the
// realism proxy (STS accepts a new key after 2 s, IAM after 5 s, an Inactive key is refused 2 s after
// deactivation, ListAccessKeys lags a new key by 1 s, IAM is a shared bucket of 20 at 10 per second).
// The crash cases reuse rotation-handler-crash.int.test.ts's child (crash-child.ts) and its kill
// mechanism (a proxy that forwards the chosen call, then SIGKILLs the child before the answer reaches
// it); here that proxy forwards to the realism proxy instead of moto. typical-aws.int.test.ts covers
// next-rotation and at-finish without crashes.

const STEPS: SecretsManagerRotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
const RECORD_PREFIX = "keyup:pending:";
/** The handler's default: under TYPICAL_AWS verify needs more than IAM's 5 s. */
const VERIFY_TIMEOUT_MS = 30_000;
/** TYPICAL_AWS's deactivation lag, and a margin. */
const DEACTIVATION_WAIT_MS = (TYPICAL_AWS.deactivationLagMs ?? 0) + 300;

let admin: TestKey;
let role: TestKey;
let proxy: RealismProxy;
let childScript = "";
let buildDir = "";
const deactivate = { user: "", arn: "", old: undefined as unknown as TestKey, secretId: "", firstVersion: "" };

beforeAll(async () => {
  await resetEmulator();
  admin = await createAdmin();
  const roleUser = await createUser("typical-crash-role", { policy: ROTATION_FUNCTION_POLICY });
  if (!roleUser.keys[0]) throw new Error("setup made no role key");
  role = roleUser.keys[0];
  const u = await createUser("typical-deactivate-at-finish");
  Object.assign(deactivate, { user: u.userName, arn: u.arn, old: u.keys[0], secretId: uniqueSecretName("typical/deactivate-at-finish") });
  deactivate.firstVersion =
    (
      await smClient().send(
        new CreateSecretCommand({
          Name: deactivate.secretId,
          SecretString: JSON.stringify({ AccessKeyId: deactivate.old.accessKeyId, SecretAccessKey: deactivate.old.secretAccessKey, region: "eu-west-1" }),
        }),
      )
    ).VersionId ?? "";
  await enforceAuth();
  // RotateSecret's stand-in Lambda function is made by the first rotation started; make it here so the
  // cases, running side by side, do not all try to.
  const warmUp = uniqueSecretName("warm-up");
  await smClient(admin).send(new CreateSecretCommand({ Name: warmUp, SecretString: "{}" }));
  await startMotoRotation(motoUrl(), warmUp, admin);
  // Keys made on moto directly from here on (by the admin, in prepare) are unknown to the proxy, which
  // takes them as keys that existed long before; keys the handler makes go through it and meet the model.
  proxy = await startRealismProxy(motoUrl(), TYPICAL_AWS);
  // Bundled once, as rotation-handler-crash.int.test.ts does: a bundled child starts far faster than tsx.
  buildDir = await mkdtemp(join(tmpdir(), "keyup-typical-crash-child-"));
  childScript = join(buildDir, "crash-child.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("../../packages/store-secretsmanager/test/crash-child.ts", import.meta.url))],
    outfile: childScript,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // jsonc-parser's UMD build (its "main") requires its parts at run time; its ES module build bundles.
    mainFields: ["module", "main"],
    tsconfig: fileURLToPath(new URL("../../tsconfig.json", import.meta.url)),
    banner: { js: "import { createRequire as __keyupRequire } from 'node:module'; const require = __keyupRequire(import.meta.url);" },
    logLevel: "silent",
  });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

type Outcome = "ok" | string;
const outcome = (call: Promise<unknown>): Promise<Outcome> =>
  call.then(
    () => "ok",
    (e: Error) => e.name,
  );

/** What AWS, as the proxy models it, says to `key` now on STS and IAM (the SDK retries Throttling, not InvalidClientTokenId). */
async function through(key: TestKey): Promise<{ sts: Outcome; iam: Outcome; arn?: string }> {
  const config = { region: "us-east-1", endpoint: proxy.url, credentials: key, maxAttempts: 6 };
  let arn: string | undefined;
  const sts = await outcome(
    new STSClient(config).send(new GetCallerIdentityCommand({})).then((o) => {
      arn = o.Arn;
    }),
  );
  const iam = await outcome(new IAMClient(config).send(new ListAccessKeysCommand({})));
  return { sts, iam, ...(arn ? { arn } : {}) };
}

/** The journal records (tags) on the secret, with the time until which each one's writer may run. */
async function records(secretId: string): Promise<{ key: string; until: number }[]> {
  const out = await smClient(admin).send(new DescribeSecretCommand({ SecretId: secretId }));
  return (out.Tags ?? [])
    .filter((t) => t.Key?.startsWith(RECORD_PREFIX))
    .map((t) => ({ key: t.Key ?? "", until: Number(/until=(\d+)/.exec(t.Value ?? "")?.[1]) }));
}

/** Every access key id some version of the secret holds. */
async function namedKeys(secretId: string): Promise<Set<string>> {
  const reader = smClient(admin);
  const named = new Set<string>();
  for (const id of (await versionsOf(secretId, reader)).keys()) {
    const out = await reader.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: id })).catch(() => undefined);
    const keyId = out?.SecretString ? (JSON.parse(out.SecretString) as { AccessKeyId?: string }).AccessKeyId : undefined;
    if (keyId) named.add(keyId);
  }
  return named;
}

/** AWSCURRENT's key, after checking it is the rotation's version and kept the other fields. */
async function currentKey(secretId: string, token: string, what: string): Promise<TestKey> {
  const current = await smClient(admin).send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
  expect(current.VersionId, `${what}: AWSCURRENT is the rotation's version`).toBe(token);
  const held = JSON.parse(current.SecretString ?? "{}") as { AccessKeyId: string; SecretAccessKey: string; region: string };
  rememberSecret(held.SecretAccessKey);
  expect(held.region, `${what}: other fields kept`).toBe("eu-west-1");
  return { accessKeyId: held.AccessKeyId, secretAccessKey: held.SecretAccessKey };
}

/** No journal record, no AWSPENDING, every key of the user named by a version of the secret. */
async function expectClean(secretId: string, userName: string, what: string): Promise<void> {
  const named = await namedKeys(secretId);
  expect(
    (await keysOf(admin, userName)).filter((k) => !named.has(k.id)),
    `${what}: every key of the user is named by a version of the secret`,
  ).toEqual([]);
  expect(await records(secretId), `${what}: no journal record left`).toEqual([]);
  const pending = [...(await versionsOf(secretId, smClient(admin)))].filter(([, labels]) => labels.includes("AWSPENDING"));
  expect(pending, `${what}: no version left AWSPENDING`).toEqual([]);
}

const byId = (list: { id: string; status: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

// Measured on the shared 2-core machine (load average about 8), the six cases side by side: the
// deactivate-at-finish case 21.5 s (two rotations, each waiting out IAM's 5 s, and twice the 2 s
// deactivation lag), each crash case 8 to 18 s (two child processes), the file 25 s (49 s with the
// child's bundling and moto's start). The timeouts leave about 6x and 10x.
describe.concurrent("TYPICAL_AWS: the rotation handler's third retire policy and its crash points", () => {
  test("deactivate-at-finish: finish deactivates the old key (refused after the lag), the next rotation deletes it", { timeout: 120_000 }, async () => {
    const w = deactivate;
    const logs: RotationLogEntry[] = [];
    const handler = createRotationHandler({
      client: smClient(role, proxy.url),
      region: "us-east-1",
      endpoint: proxy.url,
      retireOld: "deactivate-at-finish",
      log: (entry) => logs.push(entry),
    });

    const token1 = await startMotoRotation(motoUrl(), w.secretId, admin);
    for (const step of STEPS) await handler({ SecretId: w.secretId, ClientRequestToken: token1, Step: step });

    const first = await currentKey(w.secretId, token1, "first rotation");
    expect(first.accessKeyId).not.toBe(w.old.accessKeyId);
    const versions1 = await versionsOf(w.secretId, smClient(admin));
    expect(versions1.get(token1)).toEqual(["AWSCURRENT"]);
    expect(versions1.get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
    // The old key is Inactive, not deleted: AWSPREVIOUS still names it, and it can be re-activated.
    expect(byId(await keysOf(admin, w.user))).toEqual(
      byId([
        { id: first.accessKeyId, status: "Active" },
        { id: w.old.accessKeyId, status: "Inactive" },
      ]),
    );
    // The proxy's log has no request bodies: this user's IAM calls are the ones signed by its keys
    // (the secret signs its own rotation), and the first rotation made one UpdateAccessKey.
    const users = new Set([w.old.accessKeyId, first.accessKeyId]);
    const mine = (action: string) => proxy.requests.filter((r) => r.action === action && r.status === 200 && users.has(r.accessKeyId));
    expect(mine("UpdateAccessKey")).toHaveLength(1);
    expect(mine("DeleteAccessKey")).toHaveLength(0);
    const deactivated = mine("UpdateAccessKey")[0];
    expect(deactivated, "finishSecret deactivated the old key").toBeDefined();
    // The user never had zero working keys: the deactivation came after STS and IAM accepted the new key.
    const accepted = (service: "sts" | "iam") =>
      proxy.requests.find((r) => r.accessKeyId === first.accessKeyId && r.service === service && r.status === 200)?.at ?? Number.POSITIVE_INFINITY;
    expect(deactivated?.at ?? 0).toBeGreaterThanOrEqual(Math.max(accepted("sts"), accepted("iam")));
    expect(proxy.requests.some((r) => r.accessKeyId === first.accessKeyId && r.modelled && r.error === "InvalidClientTokenId")).toBe(true);
    // Once the deactivation has propagated, AWS (the proxy) refuses the old key; moto alone would not.
    await new Promise((r) => setTimeout(r, DEACTIVATION_WAIT_MS));
    expect(await through(w.old)).toEqual({ sts: "InvalidClientTokenId", iam: "InvalidClientTokenId" });
    expect(await through(first)).toEqual({ sts: "ok", iam: "ok", arn: w.arn });
    await expectClean(w.secretId, w.user, "first rotation");

    const token2 = await startMotoRotation(motoUrl(), w.secretId, admin);
    for (const step of STEPS) await handler({ SecretId: w.secretId, ClientRequestToken: token2, Step: step });

    const second = await currentKey(w.secretId, token2, "second rotation");
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    const versions2 = await versionsOf(w.secretId, smClient(admin));
    expect(versions2.get(token2)).toEqual(["AWSCURRENT"]);
    expect(versions2.get(token1)).toEqual(["AWSPREVIOUS"]);
    // The next rotation deleted the Inactive key, and finish deactivated the first rotation's.
    expect(byId(await keysOf(admin, w.user))).toEqual(
      byId([
        { id: second.accessKeyId, status: "Active" },
        { id: first.accessKeyId, status: "Inactive" },
      ]),
    );
    users.add(second.accessKeyId);
    // One delete (the Inactive key: the user's keys above show which), made before the new key.
    expect(mine("DeleteAccessKey")).toHaveLength(1);
    const deletedAt = mine("DeleteAccessKey")[0]?.at;
    const secondCreated = mine("CreateAccessKey").at(-1)?.at;
    expect(deletedAt, "the second rotation deleted the first's old key").toBeDefined();
    expect(deletedAt ?? 0, "deleted before the new key was made (IAM allows two keys)").toBeLessThan(secondCreated ?? 0);
    await new Promise((r) => setTimeout(r, DEACTIVATION_WAIT_MS));
    expect(await through(first)).toEqual({ sts: "InvalidClientTokenId", iam: "InvalidClientTokenId" });
    expect(await through(second)).toEqual({ sts: "ok", iam: "ok", arn: w.arn });
    await expectClean(w.secretId, w.user, "second rotation");
    expect(findSecretLeaks(logs, [w.old.secretAccessKey, first.secretAccessKey, second.secretAccessKey])).toEqual([]);
  });

  /** A user whose keys live in a secret, a rotation started, the steps before `step` done (through the proxy). */
  async function prepare(retireOld: RetireOldPolicy, step: SecretsManagerRotationStep) {
    const twoKeys = retireOld === "next-rotation";
    const userName = `typical-app-${randomUUID().slice(0, 8)}`;
    const user = await seedUser(motoUrl(), userName, { keys: twoKeys ? 2 : 1, iam: iamClient(admin) });
    for (const key of user.keys) rememberSecret(key.secretAccessKey);
    const [first, second] = user.keys;
    if (!first || (twoKeys && !second)) throw new Error("setup made no keys");
    const secretId = uniqueSecretName("typical/crash");
    const json = (k: TestKey) => JSON.stringify({ AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey, region: "eu-west-1" });
    const sm = smClient(admin);
    await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: json(first) }));
    // next-rotation starts where a first rotation left the secret: a second key under AWSCURRENT.
    if (second) await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: json(second) }));
    const token = await startMotoRotation(motoUrl(), secretId, admin);
    const handler = createRotationHandler({ client: smClient(role, proxy.url), region: "us-east-1", endpoint: proxy.url, retireOld, log: () => undefined });
    for (const done of STEPS.slice(0, STEPS.indexOf(step))) await handler({ SecretId: secretId, ClientRequestToken: token, Step: done });
    return { userName, userArn: user.arn, secretId, token, retireOld, keptKey: twoKeys && second ? second.accessKeyId : "" };
  }
  type Prepared = Awaited<ReturnType<typeof prepare>>;

  /**
   * Runs `steps` in crash-child.ts, its calls through a kill proxy in front of the realism proxy. With
   * `killAt` (an action and which of its calls, from 1), that call is forwarded, and the child is
   * SIGKILLed once the answer is back, before it reaches the child.
   */
  async function runChild(p: Prepared, steps: SecretsManagerRotationStep[], remainingMs: number, killAt?: { action: string; nth: number }) {
    let child: ChildProcess | undefined;
    let seen = 0;
    let killed = false;
    const killer = await startAwsProxy(proxy.url, (req): ProxyVerdict => {
      if (killed || !killAt || req.action !== killAt.action || ++seen !== killAt.nth) return undefined;
      killed = true;
      return { forwardThen: "hang", after: () => child?.kill("SIGKILL") };
    });
    try {
      const plan = {
        secretId: p.secretId,
        token: p.token,
        steps,
        endpoint: killer.url,
        retireOld: p.retireOld,
        remainingMs,
        verifyTimeoutMs: VERIFY_TIMEOUT_MS,
      };
      child = spawn(process.execPath, [childScript], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: role.accessKeyId, AWS_SECRET_ACCESS_KEY: role.secretAccessKey, KEYUP_CRASH_PLAN: JSON.stringify(plan) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (c: Buffer) => {
        stdout += c.toString("utf8");
      });
      child.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString("utf8");
      });
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child?.on("close", (_code, s) => resolve(s)));
      const lines = stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as { step: string; ok: boolean; code?: string; message?: string });
      return { killed: signal === "SIGKILL", lines, actions: killer.requests.map((r) => r.action), stderr };
    } finally {
      await killer.close();
    }
  }

  const CRASHES: { name: string; retireOld: RetireOldPolicy; step: SecretsManagerRotationStep; killAt: { action: string; nth: number } }[] = [
    {
      name: "createSecret killed right after CreateAccessKey (the key not yet stored)",
      retireOld: "next-rotation",
      step: "createSecret",
      killAt: { action: "CreateAccessKey", nth: 1 },
    },
    {
      name: "createSecret killed right after PutSecretValue (the record tag not yet removed)",
      retireOld: "next-rotation",
      step: "createSecret",
      killAt: { action: "PutSecretValue", nth: 1 },
    },
    {
      name: "testSecret killed after its first GetCallerIdentity",
      retireOld: "next-rotation",
      step: "testSecret",
      killAt: { action: "GetCallerIdentity", nth: 1 },
    },
    {
      name: "at-finish: finishSecret killed after the first UpdateSecretVersionStage",
      retireOld: "at-finish",
      step: "finishSecret",
      killAt: { action: "UpdateSecretVersionStage", nth: 1 },
    },
    {
      name: "at-finish: finishSecret killed after UpdateAccessKey (old key Inactive, not deleted)",
      retireOld: "at-finish",
      step: "finishSecret",
      killAt: { action: "UpdateAccessKey", nth: 1 },
    },
  ];

  test.for(CRASHES)("crash: $name; the retry with the same token finishes", { timeout: 180_000 }, async ({ name, retireOld, step, killAt }) => {
    const p = await prepare(retireOld, step);
    const crashed = await runChild(p, [step], 0, killAt);
    expect(crashed.killed, `${name}: killed (${crashed.stderr})`).toBe(true);
    expect(crashed.lines).toEqual([]);
    if (killAt.action === "CreateAccessKey") {
      // The kill landed after IAM made the key: one key is on the user that no version names.
      const named = await namedKeys(p.secretId);
      expect((await keysOf(admin, p.userName)).filter((k) => !named.has(k.id))).toHaveLength(1);
    }
    const createdBefore = proxy.requests.filter((r) => r.action === "CreateAccessKey").length;
    // Wait out the killed invocation's deadline (its record names it), as Lambda would have stopped it by then.
    const latest = Math.max(0, ...(await records(p.secretId)).map((r) => r.until));
    if (latest > Date.now()) await new Promise((r) => setTimeout(r, latest - Date.now() + 50));

    const rest = STEPS.slice(STEPS.indexOf(step));
    const retried = await runChild(p, rest, 120_000);
    expect(retried.lines, `${name}; the retry: ${retried.stderr}`).toEqual(rest.map((s) => ({ step: s, ok: true })));

    const held = await currentKey(p.secretId, p.token, name);
    if (killAt.action === "CreateAccessKey") {
      // The retry deleted the unstored key and made another, which met the model: the retry's verify saw
      // it refused at first (IAM takes 5 s), so TYPICAL_AWS was in force for it.
      expect(proxy.requests.filter((r) => r.action === "CreateAccessKey").length).toBeGreaterThan(createdBefore);
      expect(proxy.requests.some((r) => r.accessKeyId === held.accessKeyId && r.modelled && r.error === "InvalidClientTokenId")).toBe(true);
    }
    // AWSCURRENT's key works through the proxy (which refuses Inactive keys, as AWS does), and is Active.
    expect(await through(held), `${name}: AWSCURRENT's key works`).toEqual({ sts: "ok", iam: "ok", arn: p.userArn });
    const expected =
      retireOld === "next-rotation"
        ? [
            { id: held.accessKeyId, status: "Active" },
            { id: p.keptKey, status: "Active" },
          ]
        : [{ id: held.accessKeyId, status: "Active" }];
    expect(byId(await keysOf(admin, p.userName)), `${name}: the user's keys`).toEqual(byId(expected));
    await expectClean(p.secretId, p.userName, name);
  });
});
