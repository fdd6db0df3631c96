import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromIni } from "@aws-sdk/credential-providers";
import type { AccessKeyPair } from "@keyup/core";
import { type ProfileResolutionError, resolveProfile } from "@keyup/store-ini";
import { describe, expect, it } from "vitest";
import { fakeKey, tempDir } from "./support.js";

// Real files on disk; the AWS SDK's own resolver (fromIni, with a role assumer that records which
// key it is handed) is the independent reader that must agree on whose key a role profile uses.

const base = fakeKey();
const other = fakeKey();
const pair = (key: AccessKeyPair) => `aws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`;
const ROLE = "arn:aws:iam::123456789012:role/deploy";

async function files(credentials: string, config: string) {
  const dir = await tempDir();
  const path = join(dir, "credentials");
  const configPath = join(dir, "config");
  await writeFile(path, credentials, { mode: 0o600 });
  await writeFile(configPath, config, { mode: 0o600 });
  const bytes = async () => [await readFile(path), await readFile(configPath)];
  return { path, configPath, bytes, before: await bytes() };
}

/** The long-term key the SDK signs its first AssumeRole with, for `profile`. */
async function sdkSourceKey(profile: string, path: string, configPath: string): Promise<string> {
  const handed: string[] = [];
  await fromIni({
    profile,
    filepath: path,
    configFilepath: configPath,
    ignoreCache: true,
    mfaCodeProvider: async () => "123456",
    roleAssumer: async (source, params) => {
      handed.push(source.accessKeyId);
      return { accessKeyId: `ASIA${params.RoleArn.length}`, secretAccessKey: "session", sessionToken: "token" };
    },
  })();
  return handed[0] as string;
}

describe("resolveProfile follows role profiles to the key they use", () => {
  it("a profile holding its own key resolves to itself", async () => {
    const f = await files(`[base]\n${pair(base)}`, "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n");
    const resolved = (await resolveProfile({ profile: "base", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved).toEqual({
      profile: "base",
      keyProfile: "base",
      chain: ["base"],
      mfaSerial: "arn:aws:iam::123456789012:mfa/me",
      path: f.path,
      configPath: f.configPath,
    });
  });

  it("a role profile in the config file resolves to its source_profile in the credentials file, as the SDK does", async () => {
    const f = await files(`[other]\n${pair(other)}[base]\n${pair(base)}`, `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved).toMatchObject({ profile: "prod", keyProfile: "base", chain: ["prod", "base"], roleArn: ROLE });
    expect(resolved.mfaSerial).toBeUndefined();
    expect(await sdkSourceKey("prod", f.path, f.configPath)).toBe(base.accessKeyId);
    expect(await f.bytes()).toEqual(f.before);
  });

  it("follows a chain prod -> mid -> base, role settings in either file", async () => {
    const f = await files(
      `[base]\n${pair(base)}[mid]\nrole_arn = ${ROLE}-mid\nsource_profile = base\n`,
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = mid\n`,
    );
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved).toMatchObject({ keyProfile: "base", chain: ["prod", "mid", "base"], roleArn: ROLE });
    expect(await sdkSourceKey("prod", f.path, f.configPath)).toBe(base.accessKeyId);
  });

  it("on the first profile role_arn wins over a static key; further along a static key wins over role_arn", async () => {
    // prod holds a key and a role: the role is what the SDK uses. mid holds a key and a role: as a
    // source, its key is what the SDK signs with, so the chain ends there.
    const f = await files(
      `[prod]\n${pair(other)}role_arn = ${ROLE}\nsource_profile = mid\n[mid]\n${pair(base)}role_arn = ${ROLE}-mid\nsource_profile = base\n[base]\n${pair(other)}`,
      "",
    );
    const result = await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath });
    expect(await sdkSourceKey("prod", f.path, f.configPath)).toBe(base.accessKeyId);
    // The key is mid's, but mid also assumes a role: keyup will not edit such a profile, and says so.
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: "store", code: "EUNSUPPORTED", chain: ["prod", "mid"] });
    expect(result._unsafeUnwrapErr().message).toContain('profile "mid" holds the key and also sets role_arn');
  });

  it("a role profile that is its own source and holds a key is no loop: the SDK signs with its key; keyup refuses to edit it", async () => {
    const f = await files(`[prod]\n${pair(base)}role_arn = ${ROLE}\nsource_profile = prod\n`, "");
    expect(await sdkSourceKey("prod", f.path, f.configPath)).toBe(base.accessKeyId);
    const error = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ code: "EUNSUPPORTED", chain: ["prod", "prod"] });
    expect(error.message).toContain("move the role settings to their own profile with source_profile = prod");
    expect(await f.bytes()).toEqual(f.before);
  });

  it("the credentials file's setting wins over the config file's for the same profile, as in the AWS CLI", async () => {
    const f = await files(
      `[base]\n${pair(base)}[other]\n${pair(other)}[prod]\nsource_profile = base\n`,
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = other\n`,
    );
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved.keyProfile).toBe("base");
    expect(await sdkSourceKey("prod", f.path, f.configPath)).toBe(base.accessKeyId);
  });

  it("the default profile's role settings come from [default] of the config file", async () => {
    const f = await files(`[base]\n${pair(base)}`, `[default]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
    const resolved = (await resolveProfile({ profile: "default", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved).toMatchObject({ keyProfile: "base", chain: ["default", "base"] });
    expect(await sdkSourceKey("default", f.path, f.configPath)).toBe(base.accessKeyId);
  });

  it("AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name the files when no path is given", async () => {
    const f = await files(`[base]\n${pair(base)}`, `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
    const env = { AWS_SHARED_CREDENTIALS_FILE: f.path, AWS_CONFIG_FILE: f.configPath };
    const resolved = (await resolveProfile({ profile: "prod", env }))._unsafeUnwrap();
    expect(resolved).toMatchObject({ keyProfile: "base", path: f.path, configPath: f.configPath });
  });
});

describe("resolveProfile takes mfa_serial from the key's profile, else from the role profile", () => {
  it("the source has none: the role profile's", async () => {
    const f = await files(
      `[base]\n${pair(base)}`,
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/role\n`,
    );
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved.mfaSerial).toBe("arn:aws:iam::123456789012:mfa/role");
  });

  it("the source has one: the source's", async () => {
    const f = await files(
      `[base]\n${pair(base)}`,
      `[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/base\n[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/role\n`,
    );
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved.mfaSerial).toBe("arn:aws:iam::123456789012:mfa/base");
  });

  it("in a chain, the asked profile's before an intermediate one's", async () => {
    const f = await files(
      `[base]\n${pair(base)}`,
      `[profile mid]\nrole_arn = ${ROLE}-mid\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/mid\n[profile prod]\nrole_arn = ${ROLE}\nsource_profile = mid\nmfa_serial = arn:aws:iam::123456789012:mfa/prod\n`,
    );
    const resolved = (await resolveProfile({ profile: "prod", path: f.path, configPath: f.configPath }))._unsafeUnwrap();
    expect(resolved.mfaSerial).toBe("arn:aws:iam::123456789012:mfa/prod");
  });
});

interface Refusal {
  name: string;
  credentials: string;
  config: string;
  profile?: string;
  code: ProfileResolutionError["code"];
  chain: string[];
  mentions: string[];
  /** Whether the SDK refuses too (a loop, a missing source); SSO and processes it would run. */
  sdkRefuses?: RegExp;
}

const REFUSALS: Refusal[] = [
  {
    name: "a loop prod -> a -> b -> a",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = a\n[profile a]\nrole_arn = ${ROLE}\nsource_profile = b\n[profile b]\nrole_arn = ${ROLE}\nsource_profile = a\n`,
    code: "ECYCLE",
    chain: ["prod", "a", "b"],
    mentions: ['"prod" -> "a" -> "b" -> "a"'],
    sdkRefuses: /cycle/,
  },
  {
    name: "a role profile that is its own source, with no key",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = prod\n`,
    code: "ECYCLE",
    chain: ["prod", "prod"],
    mentions: ["loops"],
    sdkRefuses: /cycle/,
  },
  {
    name: "a chain ending in a profile with no key",
    credentials: "[base]\nregion = eu-west-1\n",
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`,
    code: "ENOKEY",
    chain: ["prod", "base"],
    mentions: ['profile "base" holds no access key', "[base] section of"],
    sdkRefuses: /Could not resolve credentials using profile: \[base\]/,
  },
  {
    name: "a chain ending in a key kept in the config file",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n[profile base]\n${pair(base)}`,
    code: "ENOKEY",
    chain: ["prod", "base"],
    mentions: ["keyup edits the credentials file, so move aws_access_key_id and aws_secret_access_key into a [base] section"],
  },
  {
    name: "a source_profile that exists in neither file",
    credentials: `[base]\n${pair(base)}`,
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = bsae\n`,
    code: "ENOTFOUND",
    chain: ["prod", "bsae"],
    mentions: ['source_profile "bsae", which is in neither'],
  },
  {
    name: "an SSO profile",
    credentials: "",
    config: "[profile prod]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
    code: "EUNSUPPORTED",
    chain: ["prod"],
    mentions: ["IAM Identity Center (SSO)", "no access key to rotate"],
  },
  {
    name: "a role chain ending in an SSO profile",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = sso\n[profile sso]\nsso_start_url = https://corp.awsapps.com/start\nsso_account_id = 123456789012\n`,
    code: "EUNSUPPORTED",
    chain: ["prod", "sso"],
    mentions: ['"prod" -> "sso"', "SSO"],
  },
  {
    name: "a credential_process profile",
    credentials: "[prod]\ncredential_process = /usr/local/bin/creds prod\n",
    config: "",
    code: "EUNSUPPORTED",
    chain: ["prod"],
    mentions: ["credential_process"],
  },
  {
    name: "a role with credential_source",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\ncredential_source = Ec2InstanceMetadata\n`,
    code: "EUNSUPPORTED",
    chain: ["prod"],
    mentions: ["credential_source Ec2InstanceMetadata", "nothing to rotate"],
  },
  {
    name: "a role without source_profile",
    credentials: "",
    config: `[profile prod]\nrole_arn = ${ROLE}\nweb_identity_token_file = /var/run/token\n`,
    code: "EUNSUPPORTED",
    chain: ["prod"],
    mentions: ["web identity token"],
  },
  {
    name: "a role profile written twice in the config file",
    credentials: `[base]\n${pair(base)}`,
    config: `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n[profile prod]\nsource_profile = other\n`,
    code: "EINVALID",
    chain: ["prod"],
    mentions: ["appears 2 times"],
  },
];

describe("resolveProfile refuses what has no key in a file to rotate, leaving the files as they were", () => {
  it.each(REFUSALS)("$name: $code", async (c) => {
    const f = await files(c.credentials, c.config);
    const result = await resolveProfile({ profile: c.profile ?? "prod", path: f.path, configPath: f.configPath });
    const error = result._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: "store", code: c.code, chain: c.chain, store: `ini:${f.path}#${c.profile ?? "prod"}` });
    for (const text of c.mentions) expect(error.message).toContain(text);
    expect(error.message).not.toContain(base.secretAccessKey);
    expect(await f.bytes()).toEqual(f.before);
    if (c.sdkRefuses) {
      await expect(sdkSourceKey(c.profile ?? "prod", f.path, f.configPath)).rejects.toThrow(c.sdkRefuses);
    }
  });
});
