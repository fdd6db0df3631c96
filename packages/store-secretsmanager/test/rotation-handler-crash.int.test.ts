import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { createRotationHandler, type RetireOldPolicy, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ProxyVerdict, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { seedUser } from "../../../test-support/emulator.js";
import { createAdmin, createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, type TestKey, workingKey } from "../../../test-support/moto.js";
import { ROTATION_FUNCTION_POLICY } from "../../../test-support/rotation-function-policy.js";
import { startMotoRotation } from "../../../test-support/rotation-start.js";
import { rememberSecret } from "../../../test-support/secrets.js";
import { smClient, uniqueSecretName, versionsOf } from "./support.js";

// Issue 12, "crash-safe at every point": the rotation function is killed (SIGKILL, in its own process)
// right after the Nth AWS call of a step has been answered by AWS (here moto), for every N of every
// step, then invoked again with the same token in a fresh process, as Secrets Manager retries. Each
// time the rotation must finish, and the user must have no key that no version of the secret names.

const STEPS: SecretsManagerRotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
const RECORD_PREFIX = "keyup:pending:";

let childScript = "";
let buildDir = "";
let admin: TestKey;
let role: TestKey;

// The child is bundled once (esbuild, from source, as vitest resolves @keyup/*): a bundled script
// starts in a fraction of tsx's time, and this file starts about 80 of them.
beforeAll(async () => {
  // One moto state for the whole file: each case makes its own user and secret (unique names), so no
  // reset is needed between cases and they can run side by side.
  await resetEmulator();
  admin = await createAdmin();
  const roleUser = await createUser("rotation-function-role", { policy: ROTATION_FUNCTION_POLICY });
  if (!roleUser.keys[0]) throw new Error("setup made no role key");
  role = roleUser.keys[0];
  await enforceAuth();
  // RotateSecret's stand-in Lambda function is made by the first rotation started; start one here so
  // the cases, running side by side, do not all try to make it.
  const warmUp = uniqueSecretName("warm-up");
  await smClient(admin).send(new CreateSecretCommand({ Name: warmUp, SecretString: "{}" }));
  await startMotoRotation(motoUrl(), warmUp, admin);
  buildDir = await mkdtemp(join(tmpdir(), "keyup-crash-child-"));
  childScript = join(buildDir, "crash-child.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("./crash-child.ts", import.meta.url))],
    outfile: childScript,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // jsonc-parser's UMD build (its "main") requires its parts at run time; its ES module build bundles.
    mainFields: ["module", "main"],
    tsconfig: fileURLToPath(new URL("../../../tsconfig.json", import.meta.url)),
    banner: { js: "import { createRequire as __keyupRequire } from 'node:module'; const require = __keyupRequire(import.meta.url);" },
    logLevel: "silent",
  });
});
afterAll(async () => {
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** A user whose keys live in a secret, a rotation in progress, and the steps before `step` done. */
interface Prepared {
  userName: string;
  userArn: string;
  secretId: string;
  token: string;
  retireOld: RetireOldPolicy;
  /** The key under AWSPREVIOUS once the rotation finished (next-rotation keeps it Active). */
  keptKey: string;
}

/**
 * `next-rotation` (the default) starts where a first rotation left the secret: AWSCURRENT holds one
 * Active key, AWSPREVIOUS another, so createSecret retires the AWSPREVIOUS key before creating. With
 * `at-finish`, the user has one key and finishSecret retires it.
 */
async function prepare(retireOld: RetireOldPolicy, step: SecretsManagerRotationStep): Promise<Prepared> {
  const twoKeys = retireOld === "next-rotation";
  const userName = `app-${randomUUID().slice(0, 8)}`;
  // Made by the admin, as moto checks signatures from the start of this file.
  const user = await seedUser(motoUrl(), userName, { keys: twoKeys ? 2 : 1, iam: iamClient(admin) });
  for (const key of user.keys) rememberSecret(key.secretAccessKey);
  const [first, second] = user.keys;
  if (!first || (twoKeys && !second)) throw new Error("setup made no keys");
  const secretId = uniqueSecretName("app/iam-key");
  const json = (k: TestKey) => JSON.stringify({ AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey, region: "eu-west-1" });
  const sm = smClient(admin);
  await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: json(first) }));
  // PutSecretValue labels the new version AWSCURRENT and moves AWSPREVIOUS to the first one.
  if (second) await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: json(second) }));
  const token = await startMotoRotation(motoUrl(), secretId, admin);
  const handler = createRotationHandler({
    client: smClient(role),
    region: "us-east-1",
    endpoint: motoUrl(),
    retireOld,
    verifyTimeoutMs: 5_000,
    log: () => undefined,
  });
  for (const done of STEPS.slice(0, STEPS.indexOf(step))) await handler({ SecretId: secretId, ClientRequestToken: token, Step: done });
  return { userName, userArn: user.arn, secretId, token, retireOld, keptKey: twoKeys && second ? second.accessKeyId : "" };
}

interface ChildRun {
  /** True when the child was killed after the call asked for; false when it ended on its own. */
  killed: boolean;
  /** One per step it finished: ok, or the error code. */
  lines: { step: string; ok: boolean; code?: string; message?: string }[];
  /** The AWS actions it made, in order. */
  actions: string[];
  stderr: string;
}

/**
 * Runs `steps` in a fresh process whose Lambda deadline is `remainingMs` away. With `killAfter`, every
 * AWS call goes through a proxy that lets the Nth reach moto, and kills the child (SIGKILL) as soon as
 * moto has answered it, before the answer reaches the child.
 */
async function runChild(p: Prepared, steps: SecretsManagerRotationStep[], remainingMs: number, killAfter?: number | string): Promise<ChildRun> {
  let child: ChildProcess | undefined;
  let seen = 0;
  let killed = false;
  const proxy = await startAwsProxy(motoUrl(), (req): ProxyVerdict => {
    seen++;
    if (killed || (seen !== killAfter && req.action !== killAfter)) return undefined;
    killed = true;
    return { forwardThen: "hang", after: () => child?.kill("SIGKILL") };
  });
  try {
    const plan = { secretId: p.secretId, token: p.token, steps, endpoint: proxy.url, retireOld: p.retireOld, remainingMs };
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
      .map((l) => JSON.parse(l) as ChildRun["lines"][number]);
    return { killed: signal === "SIGKILL", lines, actions: proxy.requests.map((r) => r.action), stderr };
  } finally {
    await proxy.close();
  }
}

/** The journal records (tags) on the secret, with the time until which each one's writer may run. */
async function records(p: Prepared): Promise<{ key: string; until: number }[]> {
  const out = await smClient(admin).send(new DescribeSecretCommand({ SecretId: p.secretId }));
  return (out.Tags ?? [])
    .filter((t) => t.Key?.startsWith(RECORD_PREFIX))
    .map((t) => ({ key: t.Key ?? "", until: Number(/until=(\d+)/.exec(t.Value ?? "")?.[1]) }));
}

/** Every access key id some version of the secret holds. */
async function namedKeys(p: Prepared): Promise<Set<string>> {
  const reader = smClient(admin);
  const named = new Set<string>();
  for (const id of (await versionsOf(p.secretId, reader)).keys()) {
    const out = await reader.send(new GetSecretValueCommand({ SecretId: p.secretId, VersionId: id })).catch(() => undefined);
    const keyId = out?.SecretString ? (JSON.parse(out.SecretString) as { AccessKeyId?: string }).AccessKeyId : undefined;
    if (keyId) named.add(keyId);
  }
  return named;
}

/** The invariants after a killed invocation and the retries that followed. */
async function expectFinished(p: Prepared, what: string): Promise<void> {
  const reader = smClient(admin);
  const current = await reader.send(new GetSecretValueCommand({ SecretId: p.secretId, VersionStage: "AWSCURRENT" }));
  expect(current.VersionId, `${what}: AWSCURRENT is the rotation's version`).toBe(p.token);
  const held = JSON.parse(current.SecretString ?? "{}") as { AccessKeyId: string; SecretAccessKey: string; region: string };
  expect(held.region, `${what}: other fields kept`).toBe("eu-west-1");
  // Signed by the key itself (STS), and Active in IAM (moto authenticates Inactive keys too).
  expect(await workingKey({ accessKeyId: held.AccessKeyId, secretAccessKey: held.SecretAccessKey }), `${what}: AWSCURRENT's key works`).toBe(p.userArn);
  const keys = await keysOf(admin, p.userName);
  const named = await namedKeys(p);
  expect(
    keys.filter((k) => !named.has(k.id)),
    `${what}: every key of the user is named by a version of the secret`,
  ).toEqual([]);
  const byId = (list: { id: string; status: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  const expected =
    p.retireOld === "next-rotation"
      ? [
          { id: held.AccessKeyId, status: "Active" },
          { id: p.keptKey, status: "Active" },
        ]
      : [{ id: held.AccessKeyId, status: "Active" }];
  expect(byId(keys), `${what}: the user's keys`).toEqual(byId(expected));
  expect(await records(p), `${what}: no journal record left`).toEqual([]);
  const pending = [...(await versionsOf(p.secretId, reader))].filter(([, labels]) => labels.includes("AWSPENDING"));
  expect(pending, `${what}: no version left AWSPENDING`).toEqual([]);
}

/**
 * Kills the step after call 1, 2, … until the step runs to its end without reaching the call; after
 * each kill, waits out the killed invocation's deadline (a record names it; Lambda would have stopped
 * it by then) and runs the rest of the rotation in a fresh process. Returns the action of each crash point.
 */
async function everyCrashPoint(retireOld: RetireOldPolicy, step: SecretsManagerRotationStep): Promise<string[]> {
  const points: string[] = [];
  for (let n = 1; n < 60; n++) {
    const p = await prepare(retireOld, step);
    const crashed = await runChild(p, [step], 0, n);
    if (!crashed.killed) {
      expect(crashed.lines, `${step} with no kill: ${crashed.stderr}`).toEqual([{ step, ok: true }]);
      expect(crashed.actions).toHaveLength(n - 1);
      return points;
    }
    const what = `${retireOld}: ${step} killed after call ${n} (${crashed.actions[n - 1]})`;
    points.push(crashed.actions[n - 1] ?? "");
    expect(crashed.lines, what).toEqual([]);
    const latest = Math.max(0, ...(await records(p)).map((r) => r.until));
    if (latest > Date.now()) await new Promise((r) => setTimeout(r, latest - Date.now() + 50));
    const retried = await runChild(p, STEPS.slice(STEPS.indexOf(step)), 60_000);
    expect(retried.lines, `${what}; the retry: ${retried.stderr}`).toEqual(STEPS.slice(STEPS.indexOf(step)).map((s) => ({ step: s, ok: true })));
    await expectFinished(p, what);
  }
  throw new Error(`${step} made more than 60 AWS calls`);
}

// Measured on the shared 2-core machine: a crash case (setup, the killed child, the retry in a fresh
// process, the checks) took 9 s alone at a load average of 8, 19 s with this file's six tests side by
// side at a load average of 15, and 27 s with another test file running beside it (each child takes
// 1.2-1.6 s to start there). createSecret has 17 crash points (18 cases with the run not killed).
const PER_CASE_MS = 60_000;

describe.concurrent("a rotation function killed after any AWS call of any step, then retried with the same token, finishes", () => {
  test(
    "next-rotation: createSecret (retiring the AWSPREVIOUS key, journal, create, store)",
    async () => {
      const points = await everyCrashPoint("next-rotation", "createSecret");
      // The calls that change something are all crash points, in this order.
      expect(points.filter((a) => /^(Update|Delete|Create|Tag|Untag|Put)/.test(a))).toEqual([
        "UpdateAccessKey",
        "DeleteAccessKey",
        "TagResource",
        "CreateAccessKey",
        "PutSecretValue",
        "UntagResource",
      ]);
      console.info(`createSecret crash points (${points.length}): ${points.join(", ")}`);
    },
    20 * PER_CASE_MS,
  );

  test(
    "next-rotation: setSecret, testSecret and finishSecret (labels only)",
    async () => {
      const set = await everyCrashPoint("next-rotation", "setSecret");
      expect(set).toEqual(["DescribeSecret", "GetSecretValue"]);
      const tested = await everyCrashPoint("next-rotation", "testSecret");
      expect(tested.length).toBeGreaterThanOrEqual(6);
      const finished = await everyCrashPoint("next-rotation", "finishSecret");
      expect(finished.filter((a) => a === "UpdateSecretVersionStage")).toHaveLength(2);
      console.info(`setSecret crash points: ${set.join(", ")}; testSecret: ${tested.join(", ")}; finishSecret: ${finished.join(", ")}`);
    },
    20 * PER_CASE_MS,
  );

  test(
    "at-finish: finishSecret (labels, then deactivating and deleting the old key)",
    async () => {
      const points = await everyCrashPoint("at-finish", "finishSecret");
      expect(points.filter((a) => /^(Update|Delete)/.test(a))).toEqual([
        "UpdateSecretVersionStage",
        "UpdateSecretVersionStage",
        "UpdateAccessKey",
        "DeleteAccessKey",
      ]);
      console.info(`at-finish finishSecret crash points (${points.length}): ${points.join(", ")}`);
    },
    15 * PER_CASE_MS,
  );
});

describe.concurrent("a retry while the killed or first invocation may still be running", () => {
  test(
    "killed after CreateAccessKey: a retry before that invocation's deadline fails EBUSY and changes nothing; after it, the retry deletes the unstored key and finishes",
    async () => {
      const p = await prepare("next-rotation", "createSecret");
      // A deadline far enough away that the first retry comes before it even on a loaded machine (the
      // killed child, two reads and a child start take under 15 s there).
      const crashed = await runChild(p, ["createSecret"], 45_000, "CreateAccessKey");
      expect(crashed.killed).toBe(true);
      const keysAfterKill = await keysOf(admin, p.userName);
      const unstored = keysAfterKill.filter((k) => k.id !== p.keptKey).map((k) => k.id);
      // The AWSPREVIOUS key was retired before; the kept key and the key no version holds remain.
      expect(unstored).toHaveLength(1);
      const [record] = await records(p);
      expect(record?.until).toBeGreaterThan(Date.now());

      const early = await runChild(p, ["createSecret"], 60_000);
      expect(early.lines).toMatchObject([{ step: "createSecret", ok: false, code: "EBUSY" }]);
      expect(early.lines[0]?.message).toContain(`key ${unstored[0]}`);
      expect(early.actions.filter((a) => /^(Update|Delete|Create|Tag|Untag|Put)/.test(a))).toEqual([]);
      expect(await keysOf(admin, p.userName)).toEqual(keysAfterKill);
      expect(await records(p)).toEqual([record]);

      await new Promise((r) => setTimeout(r, Math.max(0, (record?.until ?? 0) - Date.now() + 50)));
      const late = await runChild(p, STEPS, 60_000);
      expect(
        late.lines.every((l) => l.ok),
        JSON.stringify(late.lines),
      ).toBe(true);
      await expectFinished(p, "retried after the deadline");
      expect((await keysOf(admin, p.userName)).map((k) => k.id)).not.toContain(unstored[0]);
    },
    // 45 s of the killed invocation's deadline, then a case.
    3 * PER_CASE_MS,
  );

  // Secrets Manager may invoke the function again with the same token while the first invocation still
  // runs. The first one is held in the proxy just before a call; the second one, in its own process,
  // must neither make a key nor delete the one the first is about to store.
  for (const heldAt of ["CreateAccessKey", "PutSecretValue"]) {
    test(
      `same token while the first invocation is held before ${heldAt}: the second fails EBUSY and changes nothing, the first finishes`,
      async () => {
        const p = await prepare("next-rotation", "createSecret");
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        let reached: () => void = () => undefined;
        const atGate = new Promise<void>((resolve) => {
          reached = resolve;
        });
        const proxy = await startAwsProxy(motoUrl(), (req): ProxyVerdict => {
          if (req.action !== heldAt) return undefined;
          reached();
          return { hold: gate };
        });
        try {
          const first = createRotationHandler({ client: smClient(role, proxy.url, 1), region: "us-east-1", endpoint: proxy.url, log: () => undefined });
          const running = first({ SecretId: p.secretId, ClientRequestToken: p.token, Step: "createSecret" }, { getRemainingTimeInMillis: () => 170_000 });
          running.catch(() => undefined);
          await atGate;
          const keysMeanwhile = await keysOf(admin, p.userName);

          const second = await runChild(p, ["createSecret"], 170_000);
          expect(second.lines).toMatchObject([{ step: "createSecret", ok: false, code: "EBUSY" }]);
          expect(second.actions.filter((a) => /^(Update|Delete|Create|Tag|Untag|Put)/.test(a))).toEqual([]);
          expect(await keysOf(admin, p.userName)).toEqual(keysMeanwhile);

          release();
          await running;
          const rest = await runChild(p, STEPS.slice(1), 60_000);
          expect(
            rest.lines.every((l) => l.ok),
            JSON.stringify(rest.lines),
          ).toBe(true);
          await expectFinished(p, `second invocation while the first was held before ${heldAt}`);
        } finally {
          release();
          await proxy.close();
        }
      },
      6 * PER_CASE_MS,
    );
  }
});
