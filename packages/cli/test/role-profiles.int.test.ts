import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { cleanEnv, keyup } from "../../../test-support/cli.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keysOf,
  motoUrl,
  ROTATION_POLICY,
  resetEmulator,
  type TestKey,
  tempDir,
} from "../../../test-support/moto.js";
import { type RealismProxy, startRealismProxy } from "../../../test-support/realism/realism-proxy.js";
import { holdsSecret } from "../../../test-support/secrets.js";

// `keyup --profile prod` where prod assumes a role: the real CLI rotates the key of the profile at the
// end of the source_profile chain, against moto; the AWS CLI reads the files afterwards and, through
// moto's STS, assumes the role with the rotated key.

const run = promisify(execFile);
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const MAY_ASSUME = { ...ROTATION_POLICY, Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["sts:AssumeRole"], Resource: "*" }] };

let admin: TestKey;
let proxy: RealismProxy | undefined;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const section = (name: string, k: TestKey) => `[${name}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`;

async function setup(credentials: (base: TestKey, other: TestKey) => string, config: string) {
  const base = (await createUser("rolebase", { policy: MAY_ASSUME })).keys[0] as TestKey;
  const other = (await createUser("bystander")).keys[0] as TestKey;
  await iamClient(admin).send(
    new CreateRoleCommand({
      RoleName: "deploy",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] }),
    }),
  );
  // A chain assumes the role again with the role's own session (prod -> mid -> base).
  await iamClient(admin).send(
    new PutRolePolicyCommand({
      RoleName: "deploy",
      PolicyName: "chain",
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] }),
    }),
  );
  const dir = await tempDir();
  const file = join(dir, "credentials");
  const configFile = join(dir, "config");
  holdsSecret(configFile);
  await writeFile(file, credentials(base, other), { mode: 0o600 });
  await writeFile(configFile, config, { mode: 0o600 });
  const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_CONFIG_FILE: configFile, XDG_STATE_HOME: join(dir, "state") };
  return { base, other, dir, file, configFile, env, credentialsBefore: await readFile(file, "utf8"), configBefore: await readFile(configFile) };
}

/**
 * The real AWS CLI v1, reading both files; AWS_ENDPOINT_URL sends every client (its STS for AssumeRole
 * too) to moto. Its HOME is a folder of its own, removed at once: it caches the role's session there.
 */
async function aws(env: Record<string, string>, args: string[]): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "keyup-aws-home-"));
  try {
    const { stdout } = await run("aws", args, { env: cleanEnv({ ...env, HOME: home, AWS_ENDPOINT_URL: motoUrl(), AWS_DEFAULT_REGION: "us-east-1" }) });
    return stdout.trim();
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The credentials file as it must read after the rotation: only the old key's two values replaced. */
function expectOnlyKeyChanged(before: string, after: string, old: TestKey, newId: string) {
  const secret = new RegExp(`aws_access_key_id = ${newId}\\naws_secret_access_key = (\\S+)`).exec(after)?.[1] ?? "";
  expect(secret).not.toBe("");
  expect(after).toBe(before.replace(old.accessKeyId, newId).replace(old.secretAccessKey, secret));
}

describe("keyup --profile <role profile> rotates the key of the profile at the end of the chain", () => {
  test("a role profile in the config file: its source_profile's key is rotated; the config file is byte-identical; the AWS CLI assumes the role with the new key", async () => {
    const s = await setup((base, other) => `${section("other", other)}${section("base", base)}`, `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
    await enforceAuth();

    const result = await keyup(["--profile", "prod", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], s.env);

    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`keyup: profile prod assumes role ${ROLE}; rotating the key of profile base (prod -> base)\n`);
    expect(result.code).toBe(0);
    const keys = await keysOf(admin, "rolebase");
    expect(keys).toHaveLength(1);
    const newId = keys[0]?.id ?? "";
    expect(newId).not.toBe(s.base.accessKeyId);
    expectOnlyKeyChanged(s.credentialsBefore, await readFile(s.file, "utf8"), s.base, newId);
    expect(await readFile(s.configFile)).toEqual(s.configBefore);
    expect(await keysOf(admin, "bystander")).toEqual([{ id: s.other.accessKeyId, status: "Active" }]);
    // Independent readers: the AWS CLI finds the new key in base, and prod still assumes the role with it
    // (the old key is deleted, so AssumeRole signed by it would be refused).
    expect(await aws(s.env, ["configure", "get", "aws_access_key_id", "--profile", "base"])).toBe(newId);
    expect(await aws(s.env, ["configure", "get", "role_arn", "--profile", "prod"])).toBe(ROLE);
    expect(await aws(s.env, ["sts", "get-caller-identity", "--profile", "prod", "--query", "Arn", "--output", "text"])).toMatch(
      /^arn:aws:sts::123456789012:assumed-role\/deploy\//,
    );
    expect(result.stderr).not.toContain(s.base.secretAccessKey);
  });

  test("a chain prod -> mid -> base, with mid's role settings in the credentials file: base's key is rotated, the role sections stay as they were", async () => {
    const s = await setup(
      (base) => `${section("base", base)}[mid]\nrole_arn = ${ROLE}\nsource_profile = base\n`,
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = mid\nregion = us-east-1\n`,
    );
    await enforceAuth();

    const result = await keyup(["--profile", "prod", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], s.env);

    expect(result.stderr).toBe(`keyup: profile prod assumes role ${ROLE}; rotating the key of profile base (prod -> mid -> base)\n`);
    expect(result.code).toBe(0);
    const newId = (await keysOf(admin, "rolebase"))[0]?.id ?? "";
    expectOnlyKeyChanged(s.credentialsBefore, await readFile(s.file, "utf8"), s.base, newId);
    expect(await readFile(s.configFile)).toEqual(s.configBefore);
    expect(await aws(s.env, ["sts", "get-caller-identity", "--profile", "prod", "--query", "Arn", "--output", "text"])).toMatch(/assumed-role\/deploy\//);
  });

  test("a role profile in the credentials file itself (role_arn and source_profile under [prod]): base's key is rotated", async () => {
    const s = await setup((base) => `${section("base", base)}[prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`, "");
    await enforceAuth();

    const result = await keyup(["--profile", "prod", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], s.env);

    expect(result.code).toBe(0);
    const newId = (await keysOf(admin, "rolebase"))[0]?.id ?? "";
    expectOnlyKeyChanged(s.credentialsBefore, await readFile(s.file, "utf8"), s.base, newId);
  });

  test("list on a role profile lists the source's user and names the profile whose key it is", async () => {
    const s = await setup((base) => section("base", base), `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
    await enforceAuth();

    const result = await keyup(["--profile", "prod", "--operation", "list", "--output", "json", "--endpoint-url", motoUrl()], s.env);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`keyup: profile prod assumes role ${ROLE}; using the key of profile base (prod -> base)\n`);
    expect(result.stdout).toContain(s.base.accessKeyId);
    expect(await readFile(s.file, "utf8")).toBe(s.credentialsBefore);
  });
});

describe("MFA for a role profile: mfa_serial from the role profile when the source has none", () => {
  test("under --auto without --mfa-code: stops before any change, naming the role profile's device", async () => {
    const s = await setup(
      (base) => section("base", base),
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/role\n`,
    );
    await enforceAuth();

    const result = await keyup(["--profile", "prod", "--operation", "up", "--auto", "--quiet", "--endpoint-url", motoUrl()], s.env);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("requires MFA (mfa_serial arn:aws:iam::123456789012:mfa/role)");
    expect(await keysOf(admin, "rolebase")).toEqual([{ id: s.base.accessKeyId, status: "Active" }]);
    expect(await readFile(s.file, "utf8")).toBe(s.credentialsBefore);
  });

  test("with --mfa-code, under the realism proxy: GetSessionToken is signed by the source's key with the code, the rotation's IAM calls by the MFA session", async () => {
    const s = await setup(
      (base) => section("base", base),
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/role\n`,
    );
    await enforceAuth();
    // The proxy accepts only this code, mints sessions with MFA context, and refuses IAM calls by a session without it.
    proxy = await startRealismProxy(motoUrl(), { mfaCode: "135790" });

    const result = await keyup(["--profile", "prod", "--operation", "up", "--auto", "--mfa-code", "135790", "--endpoint-url", proxy.url], s.env);

    expect(result.stderr).toBe(`keyup: profile prod assumes role ${ROLE}; rotating the key of profile base (prod -> base)\n`);
    expect(result.code).toBe(0);
    const sessionCall = proxy.requests.find((r) => r.action === "GetSessionToken");
    expect(sessionCall).toMatchObject({ accessKeyId: s.base.accessKeyId, status: 200 });
    const create = proxy.requests.find((r) => r.action === "CreateAccessKey");
    expect(create?.accessKeyId).toMatch(/^ASIA/);
    expect(create?.status).toBe(200);
    const newId = (await keysOf(admin, "rolebase"))[0]?.id ?? "";
    expect(newId).not.toBe(s.base.accessKeyId);
    expectOnlyKeyChanged(s.credentialsBefore, await readFile(s.file, "utf8"), s.base, newId);
  });
});
