import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { beforeEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { keyup } from "../../../test-support/cli.js";
import { createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";
import { holdsSecret } from "../../../test-support/secrets.js";

/**
 * Hostile and unusual input, through the real CLI. Every case ends with a clear error (and every file
 * byte-identical, IAM untouched) or with a correct rotation that changed only the two key values.
 */

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  const { createAdmin } = await import("../../../test-support/moto.js");
  admin = await createAdmin();
});

const profileOf = (k: TestKey, name = "p", eol = "\n") =>
  `[${name}]${eol}aws_access_key_id = ${k.accessKeyId}${eol}aws_secret_access_key = ${k.secretAccessKey}${eol}`;

/** Every file under `dir` (names, link targets, bytes, modes), to prove nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isSymbolicLink()) out[name] = `link:${await readlink(path)}`;
    else if (info.isDirectory()) out[name] = `dir:${(info.mode & 0o777).toString(8)}`;
    else out[name] = `${(info.mode & 0o777).toString(8)}:${(await readFile(path)).toString("base64")}`;
  }
  return out;
}

interface Env {
  dir: string;
  file: string;
  key: TestKey;
  user: { userName: string; arn: string; keys: TestKey[] };
  env: Record<string, string>;
}

interface ErrorCase {
  name: string;
  /** Writes the files; returns extra CLI args (default: --profile p --operation up --auto). */
  setup: (e: Env) => Promise<string[] | undefined>;
  code: number;
  stderr: RegExp;
  asNobody?: boolean;
}

const up = (profile = "p") => ["--profile", profile, "--operation", "up", "--auto"];

const ERROR_CASES: ErrorCase[] = [
  { name: "missing credentials file", setup: async () => undefined, code: 2, stderr: /does not exist/ },
  {
    name: "empty credentials file",
    setup: async (e) => {
      await writeFile(e.file, "", { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /p/,
  },
  {
    name: "credentials path is a folder",
    setup: async (e) => {
      await mkdir(e.file);
      return undefined;
    },
    code: 1,
    stderr: /keyup: store error: .*credentials/,
  },
  {
    name: "unreadable credentials file (other owner, 0600)",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      await chmod(e.dir, 0o755);
      return undefined;
    },
    asNobody: true,
    code: 1,
    stderr: /permission denied \(EACCES\)/,
  },
  {
    name: "read-only folder",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      await chown(e.file, 65534, 65534);
      await chown(e.dir, 65534, 65534);
      await chmod(e.dir, 0o555);
      return undefined;
    },
    asNobody: true,
    code: 1,
    stderr: /keyup: (store|lock) error: .*(EACCES|permission|read-only|cannot)/i,
  },
  {
    name: "malformed section header",
    setup: async (e) => {
      await writeFile(e.file, `[p\n${profileOf(e.key).split("\n").slice(1).join("\n")}`);
      return undefined;
    },
    code: 2,
    stderr: /p/,
  },
  {
    name: "duplicate profile sections",
    setup: async (e) => {
      await writeFile(e.file, `${profileOf(e.key)}\n${profileOf(e.key)}`, { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /appears 2 times/,
  },
  {
    name: "profile absent (lists the ones that exist)",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key, "other"), { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /other/,
  },
  {
    name: "profile without keys",
    setup: async (e) => {
      await writeFile(e.file, "[p]\nregion = us-east-1\n", { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /holds no access key/,
  },
  {
    name: "key id without secret",
    setup: async (e) => {
      await writeFile(e.file, `[p]\naws_access_key_id = ${e.key.accessKeyId}\n`, { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /aws_secret_access_key/,
  },
  {
    name: "aws_session_token present (temporary credentials)",
    setup: async (e) => {
      await writeFile(e.file, `${profileOf(e.key)}aws_session_token = FQoGZXIvYXdzEXAMPLETOKEN\n`, { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /temporary/,
  },
  // A role profile with a source_profile is followed to the key it uses (role-profiles.int.test.ts);
  // these are the role profiles that lead to no key keyup can rotate.
  {
    name: "role profiles in the credentials file whose source_profile chain loops",
    setup: async (e) => {
      await writeFile(
        e.file,
        `${profileOf(e.key, "base")}[p]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = q\n[q]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = p\n`,
        { mode: 0o600 },
      );
      return undefined;
    },
    code: 2,
    stderr: /keyup: store error: the source_profile chain of profile "p" loops: "p" -> "q" -> "p"/,
  },
  {
    name: "profile defined only in ~/.aws/config with static keys",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key, "other"), { mode: 0o600 });
      await writeFile(e.env.AWS_CONFIG_FILE as string, `[profile p]\n${profileOf(e.key).split("\n").slice(1).join("\n")}`, { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /holds a static key; keyup edits the credentials file/,
  },
  {
    name: "role profile in ~/.aws/config whose chain ends in a profile with no key",
    setup: async (e) => {
      await writeFile(e.file, `${profileOf(e.key, "other")}[base]\nregion = us-east-1\n`, { mode: 0o600 });
      await writeFile(e.env.AWS_CONFIG_FILE as string, "[profile p]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\n", {
        mode: 0o600,
      });
      return undefined;
    },
    code: 2,
    stderr: /"p" -> "base": profile "base" holds no access key; put aws_access_key_id and aws_secret_access_key in its \[base\] section/,
  },
  {
    name: "role profile in ~/.aws/config with credential_source",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key, "base"), { mode: 0o600 });
      await writeFile(e.env.AWS_CONFIG_FILE as string, "[profile p]\nrole_arn = arn:aws:iam::123456789012:role/deploy\ncredential_source = Environment\n", {
        mode: 0o600,
      });
      return undefined;
    },
    code: 2,
    stderr: /credential_source Environment: its credentials are temporary/,
  },
  {
    name: "credential_process profile in ~/.aws/config",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key, "base"), { mode: 0o600 });
      await writeFile(e.env.AWS_CONFIG_FILE as string, "[profile p]\ncredential_process = /usr/local/bin/get-creds p\n", { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /gets its credentials from credential_process/,
  },
  {
    name: "SSO profile in ~/.aws/config",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key, "base"), { mode: 0o600 });
      await writeFile(e.env.AWS_CONFIG_FILE as string, "[profile p]\nsso_session = corp\nsso_account_id = 123456789012\n", { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /SSO/,
  },
  {
    name: "a key of no user (unknown or deleted)",
    setup: async (e) => {
      await writeFile(e.file, profileOf({ accessKeyId: "AKIAUNKNOWNUNKNOWN01", secretAccessKey: "u".repeat(40) }), { mode: 0o600 });
      return undefined;
    },
    code: 1,
    stderr: /InvalidClientTokenId/,
  },
  {
    name: "AccessDenied: the user may not manage its keys",
    setup: async (e) => {
      const weak = await createUserAuthOff("weakling", {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" }],
      });
      await writeFile(e.file, profileOf(weak), { mode: 0o600 });
      return undefined;
    },
    code: 1,
    // The in-use guard's GetAccessKeyLastUsed is the first IAM call (before ListAccessKeys).
    stderr: /AccessDenied.*iam:GetAccessKeyLastUsed/,
  },
  {
    name: "network down (nothing listening)",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return [...up(), "--endpoint-url", "http://127.0.0.1:9"];
    },
    code: 1,
    stderr: /NetworkError/,
  },
  {
    name: "bad endpoint URL",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return [...up(), "--endpoint-url", "127.0.0.1:5000"];
    },
    code: 2,
    stderr: /not an http\(s\) URL/,
  },
  {
    name: "2-key limit",
    setup: async (e) => {
      await iamClient().send(new (await import("@aws-sdk/client-iam")).CreateAccessKeyCommand({ UserName: e.user.userName }));
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return undefined;
    },
    code: 1,
    stderr: /already has 2 access keys/,
  },
  {
    name: "unknown flag carrying a secret is refused without echoing it",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return [...up(), `--aws-secret-access-key=${e.key.secretAccessKey}`];
    },
    code: 2,
    stderr: /Unknown option '--aws-secret-access-key'/,
  },
  {
    name: "unknown operation",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return ["--profile", "p", "--operation", "rotate-all"];
    },
    code: 2,
    stderr: /unknown operation/,
  },
  {
    name: "bad --output",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return ["--profile", "p", "--operation", "list", "--output", "xml"];
    },
    code: 2,
    stderr: /--output/,
  },
  {
    name: "bad --verify-timeout",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return [...up(), "--verify-timeout", "-1"];
    },
    code: 2,
    stderr: /--verify-timeout/,
  },
  {
    name: "profile name with a bracket",
    setup: async (e) => {
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      return up("p]x");
    },
    code: 2,
    stderr: /not a profile name/,
  },
  {
    name: "binary (non-UTF-8) credentials file",
    setup: async (e) => {
      await writeFile(e.file, Buffer.from([0x5b, 0x70, 0x5d, 0x0a, 0xff, 0xfe, 0x00, 0x81, 0x0a]), { mode: 0o600 });
      return undefined;
    },
    code: 2,
    stderr: /UTF-8|text/i,
  },
];

/** The fake STS answer for identities moto cannot produce (root, assumed role). */
function callerIdentityXml(arn: string): string {
  return `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
}

let pendingUsers: { name: string; policy: object }[] = [];
async function createUserAuthOff(name: string, policy: object): Promise<TestKey> {
  pendingUsers.push({ name, policy });
  const u = await createUser(name, { policy });
  return u.keys[0] as TestKey;
}

async function prepare(): Promise<Env> {
  pendingUsers = [];
  const user = await createUser("hostile");
  const dir = await tempDir();
  const file = join(dir, "credentials");
  // The --auto log goes elsewhere, so "every file byte-identical" speaks of the credentials folder.
  const state = await tempDir("keyup-state-");
  await chmod(state, 0o777);
  // The config file is a store too: some cases put static keys in it, as people do.
  holdsSecret(join(dir, "config"));
  return {
    dir,
    file,
    key: user.keys[0] as TestKey,
    user,
    env: { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_CONFIG_FILE: join(dir, "config"), XDG_STATE_HOME: state },
  };
}

describe("hostile input: a clear error, every file byte-identical, IAM untouched", () => {
  for (const c of ERROR_CASES) {
    test(c.name, async () => {
      const e = await prepare();
      const args = (await c.setup(e)) ?? up();
      const finalArgs = args.includes("--endpoint-url") ? args : [...args, "--endpoint-url", motoUrl()];
      await enforceAuth();
      const before = await snapshot(e.dir);
      const keysBefore = await keysOf(admin, "hostile");

      // Run as `nobody` where file permissions must apply (root ignores them).
      const result = await keyup(finalArgs, e.env, c.asNobody ? { uid: 65534, gid: 65534 } : undefined);

      expect(result.stderr).toMatch(c.stderr);
      expect(result.stderr.trim().split("\n"), "one line on stderr").toHaveLength(1);
      expect(result.code).toBe(c.code);
      expect(result.stdout).toBe("");
      expect(await snapshot(e.dir)).toEqual(before);
      expect(await keysOf(admin, "hostile")).toEqual(keysBefore);
      expect(result.stderr).not.toContain(e.key.secretAccessKey);
    });
  }

  for (const [name, arn] of [
    ["root-account credentials are refused", "arn:aws:iam::123456789012:root"],
    ["assumed-role credentials are refused", "arn:aws:sts::123456789012:assumed-role/deploy/session"],
  ] as const) {
    test(name, async () => {
      const e = await prepare();
      await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
      await enforceAuth();
      // moto cannot issue root or role identities for a key pair: the proxy answers GetCallerIdentity.
      const proxy = await startAwsProxy(motoUrl(), (r) => (r.action === "GetCallerIdentity" ? { status: 200, body: callerIdentityXml(arn) } : undefined));
      const before = await snapshot(e.dir);
      try {
        const result = await keyup([...up(), "--endpoint-url", proxy.url], e.env);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/keyup rotates IAM user access keys only/);
        expect(await snapshot(e.dir)).toEqual(before);
        expect((await keysOf(admin, "hostile")).length).toBe(1);
      } finally {
        await proxy.close();
      }
    });
  }
});

interface SuccessCase {
  name: string;
  content: (k: TestKey) => string | Buffer;
}
const SUCCESS_CASES: SuccessCase[] = [
  { name: "UTF-8 BOM", content: (k) => `\uFEFF# with a BOM\n${profileOf(k)}` },
  { name: "CRLF line endings", content: (k) => `; crlf\r\n${profileOf(k, "p", "\r\n")}region = us-east-1\r\n` },
  { name: "no final newline", content: (k) => profileOf(k).trimEnd() },
  { name: "tabs around =", content: (k) => `[p]\naws_access_key_id\t=\t${k.accessKeyId}\naws_secret_access_key\t= ${k.secretAccessKey}\n` },
  {
    name: "inline comments after values",
    content: (k) => `[p]\naws_access_key_id = ${k.accessKeyId} # rotated by keyup\naws_secret_access_key = ${k.secretAccessKey} ; keep me\n`,
  },
  { name: "uppercase key names", content: (k) => `[p]\nAWS_ACCESS_KEY_ID = ${k.accessKeyId}\nAWS_Secret_Access_Key = ${k.secretAccessKey}\n` },
  {
    name: "a 20,000-profile file",
    content: (k) => {
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        if (i === 10_000) lines.push(profileOf(k).trimEnd());
        else
          lines.push(
            `[profile-${i}]\naws_access_key_id = AKIAFILLER${String(i).padStart(10, "0")}\naws_secret_access_key = filler/secret+${String(i).padStart(25, "0")}`,
          );
      }
      return `${lines.join("\n\n")}\n`;
    },
  },
];

describe("unusual but valid files: rotated, and only the two values changed", () => {
  for (const c of SUCCESS_CASES) {
    test(c.name, async () => {
      const e = await prepare();
      const original = Buffer.from(c.content(e.key));
      await writeFile(e.file, original, { mode: 0o600 });
      await enforceAuth();

      const result = await keyup([...up(), "--endpoint-url", motoUrl()], e.env);

      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const keys = await keysOf(admin, "hostile");
      expect(keys).toHaveLength(1);
      const written = await readFile(e.file);
      const text = written.toString("utf8");
      const secret = /(?:aws_secret_access_key|AWS_Secret_Access_Key)\s*=\s*(\S+)/.exec(text.split(keys[0]?.id ?? "NEW")[1] ?? "")?.[1] ?? "";
      expect(text).toBe(
        original
          .toString("utf8")
          .replace(e.key.accessKeyId, keys[0]?.id ?? "")
          .replace(e.key.secretAccessKey, secret),
      );
    });
  }

  test("a symlinked credentials file stays a symlink and its target gets the new key", async () => {
    const e = await prepare();
    const target = join(e.dir, "real-credentials");
    holdsSecret(target);
    await writeFile(target, profileOf(e.key), { mode: 0o600 });
    await symlink(target, e.file);
    await enforceAuth();

    const result = await keyup([...up(), "--endpoint-url", motoUrl()], e.env);

    expect(result.code).toBe(0);
    expect((await lstat(e.file)).isSymbolicLink()).toBe(true);
    const keys = await keysOf(admin, "hostile");
    expect(await readFile(target, "utf8")).toContain(keys[0]?.id);
  });

  test("an Inactive other key at the limit is deleted only with --delete-inactive", async () => {
    const e = await prepare();
    const { CreateAccessKeyCommand } = await import("@aws-sdk/client-iam");
    const extra = await iamClient().send(new CreateAccessKeyCommand({ UserName: "hostile" }));
    await iamClient().send(new UpdateAccessKeyCommand({ UserName: "hostile", AccessKeyId: extra.AccessKey?.AccessKeyId, Status: "Inactive" }));
    await writeFile(e.file, profileOf(e.key), { mode: 0o600 });
    await enforceAuth();

    const result = await keyup([...up(), "--delete-inactive", "--endpoint-url", motoUrl()], e.env);

    expect(result.code).toBe(0);
    const keys = await keysOf(admin, "hostile");
    expect(keys.map((k) => k.id)).not.toContain(extra.AccessKey?.AccessKeyId);
    expect(keys).toHaveLength(1);
  });
});
