import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { rotateMany } from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { createRotationHandler, type RetireOldPolicy, type RotationLogEntry, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createSecret, smClient, uniqueSecretName, versionsOf } from "../../packages/store-secretsmanager/test/support.js";
import { keyup } from "../cli.js";
import { credentialsText } from "../emulator.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey } from "../moto.js";
import { rotate } from "../observed.js";
import { ROTATION_FUNCTION_POLICY } from "../rotation-function-policy.js";
import { startMotoRotation } from "../rotation-start.js";
import { captureValue, rememberSecret, watchFolder } from "../secrets.js";
import { TYPICAL_AWS } from "./profiles.js";
import { type RealismProxy, startRealismProxy } from "./realism-proxy.js";

// Issue 11: the end-to-end paths (the CLI as a child process, the library with the INI and .env stores,
// a fleet, the Secrets Manager rotation handler's four steps) once more against AWS as TYPICAL_AWS
// models it, unscaled: STS accepts a new key after 2 s and IAM after 5 s, an Inactive key is refused
// 2 s after deactivation, last use is recorded once per 15 minutes and shown 30 s late, a new key is
// missing from ListAccessKeys for 1 s, IAM is a token bucket of 20 at 10 per second shared by every
// caller. After each, the invariants of DESIGN.md are checked through the proxy (which refuses
// Inactive keys, as AWS does and moto does not). One moto; one proxy, and a second one that adds
// flapping for one case; the cases run side by side, as on an account where several rotations share
// IAM's rate limit.

let admin: TestKey;
let proxy: RealismProxy;
/** Folders made in beforeAll; each case hands its own to the secret scan when it is done. */
const folders: string[] = [];

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keyup-typical-"));
  folders.push(dir);
  return dir;
}

/**
 * Hands a case's folder to the suite-wide secret scan (after this test) only once the case is done:
 * scanned while a concurrent rotation is mid-write, an atomic write's temp file would read as a leak.
 */
function scanWhenDone(dir: string): void {
  watchFolder(dir);
}

type Outcome = "ok" | string;
const outcome = (call: Promise<unknown>): Promise<Outcome> =>
  call.then(
    () => "ok",
    (e: Error) => e.name,
  );

/**
 * What AWS (as the proxy models it) says to `key` now, on STS and on IAM. The SDK retries Throttling
 * (the cases share the account's bucket) but not InvalidClientTokenId, so a refused key reads as refused.
 */
async function through(key: TestKey, p = proxy): Promise<{ sts: Outcome; iam: Outcome; arn?: string }> {
  const config = { region: "us-east-1", endpoint: p.url, credentials: key, maxAttempts: 6 };
  let arn: string | undefined;
  const sts = await outcome(
    new STSClient(config).send(new GetCallerIdentityCommand({})).then((o) => {
      arn = o.Arn;
    }),
  );
  const iam = await outcome(new IAMClient(config).send(new ListAccessKeysCommand({})));
  return { sts, iam, ...(arn ? { arn } : {}) };
}

/** Model time of the first request signed by `keyId` that `service` answered with 200. */
const firstAccepted = (p: RealismProxy, keyId: string, service: "sts" | "iam") =>
  p.requests.find((r) => r.accessKeyId === keyId && r.service === service && r.status === 200)?.at;

/**
 * The user never had zero working keys: every UpdateAccessKey or DeleteAccessKey signed by the user's
 * own keys (the old key's retirement) came after the new key had been accepted by STS and by IAM. The
 * new key never stops working once accepted (TYPICAL_AWS has no flapping), and the old key works
 * until its deactivation has propagated, so a later retirement leaves a working key at every moment.
 * Under flapping, the retirement also came after the new key's last refusal (the flap's end). And the
 * new key met the propagation model (refused with InvalidClientTokenId at first), so the profile was
 * really in force.
 */
function expectNoGap(oldId: string, newId: string, p = proxy): void {
  const sts = firstAccepted(p, newId, "sts");
  const iam = firstAccepted(p, newId, "iam");
  expect(sts, "STS accepted the new key during the rotation").toBeDefined();
  expect(iam, "IAM accepted the new key during the rotation").toBeDefined();
  const retirements = p.requests.filter(
    (r) => (r.accessKeyId === oldId || r.accessKeyId === newId) && ["UpdateAccessKey", "DeleteAccessKey"].includes(r.action) && r.status === 200,
  );
  const refusals = p.requests.filter((r) => r.accessKeyId === newId && r.modelled && r.error === "InvalidClientTokenId");
  expect(refusals.length).toBeGreaterThan(0);
  const lastRefusal = Math.max(...refusals.map((r) => r.at));
  for (const r of retirements) expect(r.at).toBeGreaterThanOrEqual(Math.max(sts ?? 0, iam ?? 0, lastRefusal));
}

/** The key of `profile` in an INI text. */
function profileKey(text: string, profile: string): TestKey {
  const section = text.split(/^\[/m).find((s) => s.startsWith(`${profile}]`)) ?? "";
  return {
    accessKeyId: /aws_access_key_id\s*=\s*(\S+)/.exec(section)?.[1] ?? "",
    secretAccessKey: /aws_secret_access_key\s*=\s*(\S+)/.exec(section)?.[1] ?? "",
  };
}

/** The file as it was, but for the two values of one key: every other byte, other profiles included, unchanged. */
const replaced = (original: string, from: TestKey, to: TestKey) =>
  original.replace(from.accessKeyId, to.accessKeyId).replace(from.secretAccessKey, to.secretAccessKey);

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** After a rotation that retired the old key: the new key works on STS and IAM, the old one is refused, IAM holds the new key only. */
async function expectRotated(userName: string, arn: string, old: TestKey, fresh: TestKey, p = proxy): Promise<void> {
  expect(fresh.accessKeyId).not.toBe(old.accessKeyId);
  expect(await through(fresh, p)).toEqual({ sts: "ok", iam: "ok", arn });
  expect(await through(old, p)).toEqual({ sts: "InvalidClientTokenId", iam: "InvalidClientTokenId" });
  // No orphan: the only key IAM has for the user is the one the store holds.
  expect(await keysOf(admin, userName)).toEqual([{ id: fresh.accessKeyId, status: "Active" }]);
  expectNoGap(old.accessKeyId, fresh.accessKeyId, p);
}

const cli = { user: "", arn: "", old: undefined as unknown as TestKey, dir: "", state: "", original: "" };
const library = { user: "", arn: "", old: undefined as unknown as TestKey, dir: "", ini: "", env: "" };
const flapping = { user: "", arn: "", old: undefined as unknown as TestKey, dir: "", original: "" };
let flappingProxy: RealismProxy;
const FLAP = { afterMs: 200, forMs: 2_000 };
const fleet = { users: [] as { name: string; arn: string; old: TestKey }[], dir: "", original: "", untouched: undefined as unknown as TestKey };
const RETIRE: readonly RetireOldPolicy[] = ["next-rotation", "at-finish"];
const lambda = new Map<RetireOldPolicy, { user: string; arn: string; old: TestKey; secretId: string; firstVersion: string; token: string }>();
let lambdaRole: TestKey;

beforeAll(async () => {
  // Everything is seeded before the proxy starts: those keys stand for keys that existed long before.
  await resetEmulator();
  admin = await createAdmin();

  const c = await createUser("typical-cli");
  Object.assign(cli, { user: c.userName, arn: c.arn, old: c.keys[0], dir: await folder(), state: await folder() });
  cli.original = credentialsText("team credentials, edited by hand", [
    { name: "default", key: { accessKeyId: "AKIADEFAULTDEFAULT01", secretAccessKey: "defaultSecretThatStaysExactlyTheSame0001" } },
    { name: "ci", key: cli.old, comment: "the profile keyup rotates" },
    { name: "other", key: { accessKeyId: "AKIAOTHEROTHEROTHER1", secretAccessKey: "otherSecretThatStaysExactlyTheSame000002" } },
  ]);
  await writeFile(join(cli.dir, "credentials"), cli.original, { mode: 0o600 });

  const l = await createUser("typical-library");
  Object.assign(library, { user: l.userName, arn: l.arn, old: l.keys[0], dir: await folder() });
  const key = l.keys[0] as TestKey;
  library.ini = credentialsText("library", [{ name: "app", key, comment: "shared with app.env" }]);
  library.env = `# the app's settings\nLOG_LEVEL=debug\nAWS_ACCESS_KEY_ID=${key.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${key.secretAccessKey}\nAWS_REGION=us-east-1\n`;
  await writeFile(join(library.dir, "credentials"), library.ini, { mode: 0o600 });
  await writeFile(join(library.dir, "app.env"), library.env, { mode: 0o600 });

  const f = await createUser("typical-flapping");
  Object.assign(flapping, { user: f.userName, arn: f.arn, old: f.keys[0], dir: await folder() });
  flapping.original = credentialsText("flapping", [{ name: "app", key: flapping.old }]);
  await writeFile(join(flapping.dir, "credentials"), flapping.original, { mode: 0o600 });

  for (const name of ["typical-fleet-1", "typical-fleet-2", "typical-fleet-3"]) {
    const u = await createUser(name);
    fleet.users.push({ name, arn: u.arn, old: u.keys[0] as TestKey });
  }
  fleet.untouched = { accessKeyId: "AKIAUNTOUCHEDUNTOUCH", secretAccessKey: "untouchedSecretThatStaysExactlyTheSame01" };
  fleet.dir = await folder();
  fleet.original = credentialsText("fleet", [
    ...fleet.users.map((u, i) => ({ name: `p${i + 1}`, key: u.old, comment: `owner ${u.name}` })),
    { name: "not-in-the-fleet", key: fleet.untouched },
  ]);
  await writeFile(join(fleet.dir, "credentials"), fleet.original, { mode: 0o600 });

  const role = await createUser("typical-rotation-lambda", { policy: ROTATION_FUNCTION_POLICY });
  lambdaRole = role.keys[0] as TestKey;
  for (const retireOld of RETIRE) {
    const u = await createUser(`typical-secret-${retireOld}`);
    const old = u.keys[0] as TestKey;
    const secretId = uniqueSecretName(`typical/${retireOld}`);
    const firstVersion = await createSecret(secretId, { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey, region: "eu-west-1" });
    lambda.set(retireOld, { user: u.userName, arn: u.arn, old, secretId, firstVersion, token: "" });
  }
  await enforceAuth();
  // RotateSecret labels a new version AWSPENDING, as Secrets Manager does before it invokes the function.
  for (const w of lambda.values()) w.token = await startMotoRotation(motoUrl(), w.secretId, admin);
  proxy = await startRealismProxy(motoUrl(), TYPICAL_AWS);
  // The same, but each service refuses the new key again 0.2 s after it first accepted it, for 2 s:
  // the flap starts inside verify's window (two successes 250 ms apart, the second also on IAM) and
  // lasts long enough that keyup's calls, at most 500 ms apart, meet it on each service.
  flappingProxy = await startRealismProxy(motoUrl(), { ...TYPICAL_AWS, propagation: { stsMs: 2_000, iamMs: 5_000, flap: { sts: FLAP, iam: FLAP } } });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await flappingProxy?.close();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

// Measured on a 2-core machine shared with other suites (load average 6, then 18), the six cases side
// by side: the CLI case (a cold child process) 12 to 13.5 s, each other case 7 to 12.5 s, the file 21
// to 23 s. The timeouts leave about 5x that (9x for the child process, whose start-up suffers most
// under load).
describe.concurrent("TYPICAL_AWS: the end-to-end paths once more, every invariant checked", () => {
  test("CLI: keyup --profile ci --operation up --auto, a child process, against an INI file", { timeout: 120_000 }, async () => {
    const file = join(cli.dir, "credentials");

    const run = await keyup(["--profile", "ci", "--operation", "up", "--auto", "--endpoint-url", proxy.url], {
      AWS_SHARED_CREDENTIALS_FILE: file,
      HOME: cli.dir,
      XDG_STATE_HOME: cli.state,
    });

    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    const written = await readFile(file, "utf8");
    const fresh = profileKey(written, "ci");
    expect(written).toBe(replaced(cli.original, cli.old, fresh));
    expect(await mode(file)).toBe(0o600);
    // Nothing left beside the file: no journal, no lock, no backup.
    expect(await readdir(cli.dir)).toEqual(["credentials"]);
    await expectRotated(cli.user, cli.arn, cli.old, fresh);
    scanWhenDone(cli.dir);
    scanWhenDone(cli.state);
  });

  test("library: rotate() with an INI profile and a .env file holding the same key", { timeout: 60_000 }, async () => {
    const ini = join(library.dir, "credentials");
    const env = join(library.dir, "app.env");

    const result = await rotate({ stores: [iniStore({ profile: "app", path: ini }), envStore({ path: env })], endpoint: proxy.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    const iniText = await readFile(ini, "utf8");
    const fresh = profileKey(iniText, "app");
    expect(fresh.accessKeyId).toBe(result._unsafeUnwrap().newAccessKeyId);
    expect(iniText).toBe(replaced(library.ini, library.old, fresh));
    expect(await readFile(env, "utf8")).toBe(replaced(library.env, library.old, fresh));
    expect([await mode(ini), await mode(env)]).toEqual([0o600, 0o600]);
    expect((await readdir(library.dir)).sort()).toEqual(["app.env", "credentials"]);
    await expectRotated(library.user, library.arn, library.old, fresh);
    scanWhenDone(library.dir);
  });

  test("library under flapping: each service refuses the new key again after first accepting it; the old key is retired only after", {
    timeout: 60_000,
  }, async () => {
    const file = join(flapping.dir, "credentials");

    const result = await rotate({ store: iniStore({ profile: "app", path: file }), endpoint: flappingProxy.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    expect(result._unsafeUnwrap().outcome).toBe("rotated");
    const written = await readFile(file, "utf8");
    const fresh = profileKey(written, "app");
    expect(written).toBe(replaced(flapping.original, flapping.old, fresh));
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(flapping.dir)).toEqual(["credentials"]);
    // The flaps happened: each service refused the new key after its delay had passed (only a flap
    // refuses it then). CreateAccessKey's answer is logged a moment after the model starts the key's clock.
    const created = flappingProxy.requests.find((r) => r.action === "CreateAccessKey" && r.status === 200)?.at ?? Number.POSITIVE_INFINITY;
    for (const [service, delay] of [
      ["sts", 2_000],
      ["iam", 5_000],
    ] as const) {
      const inFlap = flappingProxy.requests.filter(
        (r) => r.accessKeyId === fresh.accessKeyId && r.service === service && r.modelled && r.at >= created + delay + FLAP.afterMs,
      );
      expect(inFlap.length, `${service} refused the new key during its flap`).toBeGreaterThan(0);
    }
    await expectRotated(flapping.user, flapping.arn, flapping.old, fresh, flappingProxy);
    scanWhenDone(flapping.dir);
  });

  test("fleet: rotateMany over three profiles of one file, a fourth profile left alone", { timeout: 60_000 }, async () => {
    const file = join(fleet.dir, "credentials");
    const stores = fleet.users.map((_, i) => iniStore({ profile: `p${i + 1}`, path: file }));

    const result = await rotateMany({ stores, endpoint: proxy.url, region: "us-east-1" });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const report = result._unsafeUnwrap();
    captureValue("typical fleet report", report);
    expect(report.results.map((r) => [r.outcome, r.error?.message])).toEqual(fleet.users.map(() => ["rotated", undefined]));
    const written = await readFile(file, "utf8");
    let expected = fleet.original;
    for (const [i, u] of fleet.users.entries()) {
      const fresh = profileKey(written, `p${i + 1}`);
      expected = replaced(expected, u.old, fresh);
      await expectRotated(u.name, u.arn, u.old, fresh);
    }
    expect(written).toBe(expected);
    expect(profileKey(written, "not-in-the-fleet")).toEqual(fleet.untouched);
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(fleet.dir)).toEqual(["credentials"]);
    scanWhenDone(fleet.dir);
  });

  const STEPS: SecretsManagerRotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
  test.for(RETIRE)(
    "Secrets Manager rotation handler, retireOld %s: the four steps as Secrets Manager invokes them",
    { timeout: 120_000 },
    async (retireOld) => {
      const w = lambda.get(retireOld);
      if (!w) throw new Error(`no world for ${retireOld}`);
      const logs: RotationLogEntry[] = [];
      const handler = createRotationHandler({
        client: smClient(lambdaRole, proxy.url),
        region: "us-east-1",
        endpoint: proxy.url,
        retireOld,
        log: (entry) => logs.push(entry),
      });

      for (const step of STEPS) await handler({ SecretId: w.secretId, ClientRequestToken: w.token, Step: step });

      const reader = smClient(admin);
      const current = await reader.send(new GetSecretValueCommand({ SecretId: w.secretId, VersionStage: "AWSCURRENT" }));
      expect(current.VersionId).toBe(w.token);
      const json = JSON.parse(current.SecretString ?? "{}") as Record<string, string>;
      rememberSecret(json.SecretAccessKey);
      expect(json.region).toBe("eu-west-1");
      const fresh = { accessKeyId: json.AccessKeyId ?? "", secretAccessKey: json.SecretAccessKey ?? "" };
      const versions = await versionsOf(w.secretId, reader);
      expect(versions.get(w.token)).toEqual(["AWSCURRENT"]);
      expect(versions.get(w.firstVersion)).toEqual(["AWSPREVIOUS"]);
      expect(findSecretLeaks(logs, [w.old.secretAccessKey, fresh.secretAccessKey])).toEqual([]);
      if (retireOld === "at-finish") {
        await expectRotated(w.user, w.arn, w.old, fresh);
      } else {
        // next-rotation: AWSPREVIOUS keeps working for consumers that cached it (until the next rotation);
        // both keys IAM has are held by the secret's versions, so neither is an orphan.
        expect(fresh.accessKeyId).not.toBe(w.old.accessKeyId);
        expect(await through(fresh)).toEqual({ sts: "ok", iam: "ok", arn: w.arn });
        expect(await through(w.old)).toEqual({ sts: "ok", iam: "ok", arn: w.arn });
        expect((await keysOf(admin, w.user)).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
          [fresh.accessKeyId, w.old.accessKeyId].sort().map((id) => ({ id, status: "Active" })),
        );
        expectNoGap(w.old.accessKeyId, fresh.accessKeyId);
      }
    },
  );
});
