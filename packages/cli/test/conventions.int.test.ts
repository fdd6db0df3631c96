import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TagUserCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { beforeEach, describe, expect, test } from "vitest";
import { keyup } from "../../../test-support/cli.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keysOf,
  motoUrl,
  ROTATION_POLICY,
  resetEmulator,
  TAGGING_POLICY,
  type TestKey,
  tempDir,
} from "../../../test-support/moto.js";
import { holdsSecret } from "../../../test-support/secrets.js";

// The CLI as people used to the AWS CLI expect it (issue 13), each checked on the built bin.
let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

const section = (name: string, k: TestKey) => `[${name}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`;
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

/** A credentials file with profiles a and b (two users) and a temporary-credentials profile. */
async function twoProfiles(policy: object = ROTATION_POLICY) {
  const a = (await createUser("conv-a", { policy })).keys[0] as TestKey;
  const b = (await createUser("conv-b", { policy })).keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  const temp = "[temp]\naws_access_key_id = ASIATEMPORARY0000001\naws_secret_access_key = x\naws_session_token = y\n";
  await writeFile(file, `${section("a", a)}\n${temp}\n${section("b", b)}`, { mode: 0o600 });
  const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_CONFIG_FILE: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") };
  return { a, b, dir, file, env };
}

describe("calling keyup", () => {
  test("no arguments prints the usage on stderr (exit 2)", async () => {
    const run = await keyup([], {});
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("Usage:\n  keyup --profile PROFILE --operation list");
    expect(run.stderr).toContain("keyup --help");
  });

  test("an unknown operation names what was typed and suggests the nearest one", async () => {
    const typo = await keyup(["lsit"], {});
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown operation "lsit": did you mean list?');
    const flag = await keyup(["--operation", "stauts"], {});
    expect(flag.stderr).toContain('unknown operation "stauts": did you mean status?');
    const far = await keyup(["rotate-everything"], {});
    expect(far.stderr).toMatch(/unknown operation "rotate-everything" \(the operations: list, up, status, recover, cleanup\)/);
    // Something that may be a pasted secret is not echoed.
    const pasted = await keyup(["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"], {});
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).not.toContain("wJalrXUtnFEMI");
  });
});

describe("profiles and regions as the AWS CLI reads them", () => {
  test("AWS_DEFAULT_PROFILE is used when AWS_PROFILE is not set; AWS_PROFILE wins over it", async () => {
    const { a, env } = await twoProfiles();
    await enforceAuth();
    const byDefault = await keyup(["list", "--endpoint-url", motoUrl()], { ...env, AWS_DEFAULT_PROFILE: "a" });
    expect(byDefault.stderr).toBe("");
    expect(byDefault.stdout).toContain("Access keys for profile a in ");
    expect(byDefault.stdout).toContain(a.accessKeyId);
    const both = await keyup(["list", "--endpoint-url", motoUrl()], { ...env, AWS_DEFAULT_PROFILE: "a", AWS_PROFILE: "b" });
    expect(both.stdout).toContain("Access keys for profile b in ");
    expect(both.stdout).not.toContain(a.accessKeyId);
  });

  test("the profile's region in the config file signs the calls when no flag or variable names one", async () => {
    const policy = { ...ROTATION_POLICY, Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["secretsmanager:*"], Resource: "*" }] };
    const user = await createUser("conv-region", { policy });
    const old = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, section("p", old), { mode: 0o600 });
    await writeFile(join(dir, "config"), "[default]\nregion = us-east-1\n\n[profile p]\nregion = eu-west-2\n");
    // The secret exists only in eu-west-2: a call signed for any other region does not find it.
    const sm = new SecretsManagerClient({ region: "eu-west-2", endpoint: motoUrl(), credentials: admin });
    await sm.send(
      new CreateSecretCommand({ Name: "app/key", SecretString: JSON.stringify({ AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretAccessKey }) }),
    );
    await enforceAuth();

    // `--store ini:p` keeps the profile in the rotation: with only secretsmanager stores, --profile
    // would sign the Secrets Manager calls instead of being rotated (secret-alone.int.test.ts).
    const run = await keyup(["up", "--profile", "p", "--store", "ini:p", "--store", "secretsmanager:app/key", "--auto", "--endpoint-url", motoUrl()], {
      AWS_SHARED_CREDENTIALS_FILE: file,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, "config"),
      XDG_STATE_HOME: join(dir, "state"),
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const now = (await keysOf(admin, "conv-region"))[0]?.id;
    const secret = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: "app/key", VersionStage: "AWSCURRENT" }))).SecretString ?? "{}");
    expect(secret.AccessKeyId).toBe(now);
    expect(now).not.toBe(old.accessKeyId);
  });
});

describe("partitions", () => {
  test.each([
    ["cn-north-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"],
  ])("a key AWS does not know, with the profile's region %s in the config file, hints at the %s partition", async (region, partition) => {
    await createUser("conv-partition");
    const dir = await tempDir();
    const file = join(dir, "credentials");
    // A key of another partition is, to this endpoint, a key that does not exist.
    await writeFile(file, section("p", { accessKeyId: "AKIAOTHERPARTITION01", secretAccessKey: "x".repeat(40) }), { mode: 0o600 });
    await writeFile(join(dir, "config"), `[profile p]\nregion = ${region}\n`);
    await enforceAuth();
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_CONFIG_FILE: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") };

    const run = await keyup(["list", "--profile", "p", "--endpoint-url", motoUrl()], env);

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("InvalidClientTokenId");
    expect(run.stderr).toContain(`The region ${region} is in the ${partition} partition`);
    // In the aws partition, no such hint.
    await writeFile(join(dir, "config"), "[profile p]\nregion = eu-west-1\n");
    const plain = await keyup(["list", "--profile", "p", "--endpoint-url", motoUrl()], env);
    expect(plain.stderr).toContain("InvalidClientTokenId");
    expect(plain.stderr).not.toContain("partition");
  });
});

describe("output", () => {
  test("--output text prints tab-separated records, None for what is missing, no header", async () => {
    const { a, env } = await twoProfiles();
    await enforceAuth();
    const run = await keyup(["list", "--profile", "a", "--output", "text", "--endpoint-url", motoUrl()], env);
    expect(run.stderr).toBe("");
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const fields = (lines[0] ?? "").split("\t");
    expect(fields.slice(0, 3)).toEqual(["KEYS", a.accessKeyId, "Active"]);
    expect(fields[3]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(fields).toHaveLength(10);
    expect(fields.at(-3)).toBe("None"); // no description
    expect(fields.at(-1)).toBe("true"); // the profile holds it
  });

  test("list with several --profile, or --all-profiles, lists each profile that holds a key", async () => {
    const { a, b, env } = await twoProfiles();
    await enforceAuth();
    const several = await keyup(["list", "--profile", "a", "--profile", "b", "--endpoint-url", motoUrl()], env);
    expect(several.stderr).toBe("");
    expect(several.code).toBe(0);
    expect(several.stdout).toMatch(new RegExp(`profile a in .*:\\n[^]*${a.accessKeyId}[^]*profile b in .*:\\n[^]*${b.accessKeyId}`));

    const all = await keyup(["list", "--all-profiles", "--output", "text", "--endpoint-url", motoUrl()], env);
    expect(all.stderr).toBe("");
    expect(
      all.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.split("\t").slice(0, 3)),
    ).toEqual([
      ["KEYS", "a", a.accessKeyId],
      ["KEYS", "b", b.accessKeyId],
    ]);
  });

  test("a grace period in the past reads 'grace period ended <date>'", async () => {
    const user = await createUser("conv-grace", { policy: TAGGING_POLICY, keys: 2 });
    const [held, old] = user.keys as [TestKey, TestKey];
    const iam = iamClient(admin);
    await iam.send(new UpdateAccessKeyCommand({ UserName: "conv-grace", AccessKeyId: old.accessKeyId, Status: "Inactive" }));
    await iam.send(new TagUserCommand({ UserName: "conv-grace", Tags: [{ Key: `keyup:grace:${old.accessKeyId}`, Value: "2026-01-02T00:00:00.000Z" }] }));
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, section("g", held), { mode: 0o600 });
    await enforceAuth();
    const run = await keyup(["list", "--profile", "g", "--endpoint-url", motoUrl()], { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir });
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(new RegExp(`${old.accessKeyId}.*grace period ended 2026-01-02`));
    expect(run.stdout).not.toContain("kept until");
  });

  test("a skipped rotation says why once, and a pipe gets no spinner", async () => {
    const { env } = await twoProfiles();
    await enforceAuth();
    const run = await keyup(["up", "--profile", "a", "--if-older-than", "90d", "--endpoint-url", motoUrl()], env);
    expect(run.code).toBe(6);
    expect(run.stdout.match(/younger than 90d/g)).toHaveLength(1);
    expect(run.stdout).not.toMatch(SPINNER);
  });
});

describe("fleets", () => {
  test("--auto log lines name each profile, with one outcome line per profile; a fleet of one says '1 store'", async () => {
    const { env, dir } = await twoProfiles();
    const single = (await createUser("conv-one")).keys[0] as TestKey;
    await enforceAuth();
    const log = join(dir, "fleet.log");
    const run = await keyup(["up", "--all-profiles", "--auto", "--log-file", log, "--endpoint-url", motoUrl()], env);
    expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const lines = (await readFile(log, "utf8")).trimEnd().split("\n");
    for (const profile of ["a", "b"]) {
      expect(lines.filter((l) => l.includes(`profile=${profile} `) && l.includes(" outcome=")).length).toBe(1);
      expect(lines.some((l) => l.includes(`profile=${profile} rotation=`) && l.includes("step=create-key"))).toBe(true);
    }
    // Every step line names the profile it is about.
    expect(lines.filter((l) => l.includes(" step=") && !/profile=[ab] /.test(l))).toEqual([]);

    const oneFile = join(dir, "one-profile");
    await writeFile(oneFile, section("only", single), { mode: 0o600 });
    holdsSecret(oneFile); // a credentials file by another name: the leak scan must not count it
    const one = await keyup(["up", "--all-profiles", "--endpoint-url", motoUrl()], { ...env, AWS_SHARED_CREDENTIALS_FILE: oneFile });
    expect(one.stderr).toBe("");
    expect(one.stdout).toContain("Rotating 1 profile of");
    expect(one.stdout).toMatch(/\n1 store: 1 rotated/);
  });

  test("--dry-run works for a fleet: each profile's plan, nothing changed", async () => {
    const { a, b, env, file } = await twoProfiles();
    const before = await readFile(file, "utf8");
    await enforceAuth();
    const run = await keyup(["up", "--profile", "a", "--profile", "b", "--dry-run", "--endpoint-url", motoUrl()], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Dry run for ini:.*#a \\(user conv-a, key ${a.accessKeyId}\\)`));
    expect(run.stdout).toMatch(new RegExp(`Dry run for ini:.*#b \\(user conv-b, key ${b.accessKeyId}\\)`));
    expect(await readFile(file, "utf8")).toBe(before);
    expect(await keysOf(admin, "conv-a")).toEqual([{ id: a.accessKeyId, status: "Active" }]);
  });
});
