import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ListUserTagsCommand } from "@aws-sdk/client-iam";
import { parse } from "ini";
import { beforeEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { cleanEnv, KEYUP_BIN, keyup } from "../../../test-support/cli.js";
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
  workingKey,
} from "../../../test-support/moto.js";
import { captureOutput } from "../../../test-support/secrets.js";

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

const section = (name: string, k: TestKey) => `[${name}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`;

async function oneProfile(userName: string, policy: object = ROTATION_POLICY) {
  const user = await createUser(userName, { policy });
  const key = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, section("p", key), { mode: 0o600 });
  return {
    user,
    key,
    dir,
    file,
    env: { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir, AWS_CONFIG_FILE: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") },
  };
}

describe("keyup up: operations flags", () => {
  test("cron-style --auto --if-older-than twice: rotates when old, skips (exit 6) when young", async () => {
    const { key, file, env, dir } = await oneProfile("cron");
    await enforceAuth();
    const args = ["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", motoUrl()];

    const first = await keyup([...args, "--if-older-than", "0.001m"], env);
    expect(first).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const rotated = (await keysOf(admin, "cron"))[0]?.id;
    expect(rotated).not.toBe(key.accessKeyId);

    const second = await keyup([...args, "--if-older-than", "90d"], env);
    expect(second).toMatchObject({ code: 6, stdout: "", stderr: "" });
    expect((await keysOf(admin, "cron"))[0]?.id).toBe(rotated);
    expect(await readFile(file, "utf8")).toContain(rotated);
    const log = await readFile(join(dir, "state", "keyup", "keyup.log"), "utf8");
    expect(log).toMatch(/level=info profile=p outcome=rotated/);
    expect(log).toMatch(/level=info profile=p outcome=skipped/);
    expect(log).toMatch(/rotation=[0-9a-f-]{36} store=ini:/);
  });

  test("--keep-old-for deactivates the old key with a deadline; list shows it; cleanup deletes it once due", async () => {
    const { key, env } = await oneProfile("keeper", TAGGING_POLICY);
    await enforceAuth();

    const up = await keyup(["--profile", "p", "--operation", "up", "--keep-old-for", "7d", "--endpoint-url", motoUrl()], env);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(await keysOf(admin, "keeper")).toContainEqual({ id: key.accessKeyId, status: "Inactive" });

    const list = await keyup(["list", "--profile", "p", "--output", "json", "--endpoint-url", motoUrl()], env);
    const listed = JSON.parse(list.stdout) as { accessKeyId: string; keepUntil: string | null }[];
    expect(listed.find((k) => k.accessKeyId === key.accessKeyId)?.keepUntil).toMatch(/^\d{4}-/);

    const early = await keyup(["cleanup", "--profile", "p", "--endpoint-url", motoUrl()], env);
    expect(early.code).toBe(0);
    expect(early.stdout).toContain(`Kept ${key.accessKeyId} (Inactive) until`);
    expect((await keysOf(admin, "keeper")).length).toBe(2);
  });

  test("--description tags the new key, list shows it, and the old key's description is removed", async () => {
    const { env } = await oneProfile("labelled", TAGGING_POLICY);
    await enforceAuth();
    const up = await keyup(["--profile", "p", "--operation", "up", "--auto", "--description", "build agent 7", "--endpoint-url", motoUrl()], env);
    expect(up.code).toBe(0);
    const newId = (await keysOf(admin, "labelled"))[0]?.id ?? "";
    const tags = await iamClient(admin).send(new ListUserTagsCommand({ UserName: "labelled" }));
    expect(tags.Tags).toEqual([{ Key: newId, Value: "build agent 7" }]);
    const list = await keyup(["list", "--profile", "p", "--endpoint-url", motoUrl()], env);
    expect(list.stdout).toMatch(/DESCRIPTION/);
    expect(list.stdout).toContain("build agent 7");
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const { key, file, env } = await oneProfile("dreamer");
    const before = await readFile(file, "utf8");
    await enforceAuth();
    const proxy = await startAwsProxy(motoUrl());
    try {
      const result = await keyup(["--profile", "p", "--operation", "up", "--dry-run", "--endpoint-url", proxy.url], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("nothing was changed. keyup would:");
      expect(result.stdout).toContain("- create a new access key for IAM user dreamer");
      expect(result.stdout).toContain(`- delete dreamer's key ${key.accessKeyId}`);
      // Read-only calls only; GetAccessKeyLastUsed is the in-use guard's read, which comes first.
      expect(Object.keys(proxy.counts()).sort()).toEqual(["GetAccessKeyLastUsed", "GetCallerIdentity", "ListAccessKeys"]);
    } finally {
      await proxy.close();
    }
    expect(await readFile(file, "utf8")).toBe(before);
    expect(await keysOf(admin, "dreamer")).toEqual([{ id: key.accessKeyId, status: "Active" }]);
  });

  test("--log-level debug writes timestamped log lines with the rotation id to stderr; --quiet prints nothing on stdout", async () => {
    const { key, env } = await oneProfile("chatty");
    await enforceAuth();
    const result = await keyup(["--profile", "p", "--operation", "up", "--quiet", "--log-level", "debug", "--endpoint-url", motoUrl()], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z level=(debug|info|warn|error) profile=p /);
    expect(result.stderr).toContain(`read-store status=ok holds ${key.accessKeyId}`);
  });
});

describe("MFA from the CLI", () => {
  test("a profile with mfa_serial under --auto and without --mfa-code stops before any AWS call (exit 2)", async () => {
    const { file, env } = await oneProfile("guarded");
    await writeFile(env.AWS_CONFIG_FILE, "[profile p]\nmfa_serial = arn:aws:iam::123456789012:mfa/guarded\n");
    await enforceAuth();
    const proxy = await startAwsProxy(motoUrl());
    try {
      const before = await readFile(file, "utf8");
      const result = await keyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", proxy.url], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("requires MFA (mfa_serial arn:aws:iam::123456789012:mfa/guarded)");
      expect(result.stderr).toContain("--auto cannot prompt");
      expect(proxy.requests).toEqual([]);
      expect(await readFile(file, "utf8")).toBe(before);
    } finally {
      await proxy.close();
    }
  });

  test("on a terminal keyup asks for the code, and GetSessionToken is called with it, signed by the profile's key", async () => {
    const { key, env } = await oneProfile("prompted", {
      ...ROTATION_POLICY,
      Statement: [...ROTATION_POLICY.Statement, { Effect: "Allow", Action: ["sts:GetSessionToken"], Resource: "*" }],
    });
    await writeFile(env.AWS_CONFIG_FILE, "[profile p]\nmfa_serial = arn:aws:iam::123456789012:mfa/prompted\n");
    await enforceAuth();
    const proxy = await startAwsProxy(motoUrl());
    try {
      // `script` gives the CLI a real pseudo-terminal, so it prompts as it would for a person.
      const command = [process.execPath, KEYUP_BIN, "--profile", "p", "--operation", "list", "--endpoint-url", proxy.url].map((a) => `'${a}'`).join(" ");
      const child = spawn("script", ["-qec", command, "/dev/null"], { env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("MFA code for arn:aws:iam::123456789012:mfa/prompted:") && !out.includes("sent")) {
          out += "sent";
          child.stdin.write("246810\n");
        }
      });
      await new Promise((resolve) => child.on("close", resolve));
      captureOutput("script output", out);
      expect(out).toContain("MFA code for arn:aws:iam::123456789012:mfa/prompted:");
      const session = proxy.requests.find((r) => r.action === "GetSessionToken");
      expect(session?.accessKeyId).toBe(key.accessKeyId);
      expect(session?.body).toContain("TokenCode=246810");
      expect(session?.body).toContain("DurationSeconds=900");
      // moto does not accept GetSessionToken sessions for IAM calls; the full MFA rotation is covered
      // with aws-sdk-client-mock in packages/core/test/mfa.test.ts.
    } finally {
      await proxy.close();
    }
  });
});

describe("fleet", () => {
  test("--profile repeated and --all-profiles rotate every profile once, sharing keys, with a summary table", async () => {
    const dir = await tempDir();
    const file = join(dir, "credentials");
    const users = await Promise.all(["fa", "fb", "fc"].map((n) => createUser(n)));
    const [a, b, c] = users.map((u) => u.keys[0] as TestKey) as [TestKey, TestKey, TestKey];
    await writeFile(
      file,
      `# fleet\n${section("one", a)}\n${section("two", b)}\n${section("two-again", b)}\n${section("three", c)}\n[no-key]\nregion = us-east-1\n`,
      { mode: 0o600 },
    );
    await enforceAuth();
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir };

    const some = await keyup(
      ["--profile", "one", "--profile", "two", "--profile", "two-again", "--operation", "up", "--endpoint-url", motoUrl(), "--concurrency", "2"],
      env,
    );
    expect(some.stderr).toBe("");
    expect(some.code).toBe(0);
    expect(some.stdout).toMatch(/STORE\s+OUTCOME\s+OLD KEY\s+NEW KEY\s+SECONDS/);
    const afterSome = parse(await readFile(file, "utf8")) as Record<string, Record<string, string>>;
    expect(afterSome.two?.aws_access_key_id).toBe(afterSome["two-again"]?.aws_access_key_id);
    expect(afterSome.three?.aws_access_key_id).toBe(c.accessKeyId);

    const all = await keyup(["--all-profiles", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], env);
    expect(all).toMatchObject({ code: 0, stdout: "" });
    const final = parse(await readFile(file, "utf8")) as Record<string, Record<string, string>>;
    for (const [profile, user] of [
      ["one", "fa"],
      ["two", "fb"],
      ["three", "fc"],
    ] as const) {
      const k = { accessKeyId: final[profile]?.aws_access_key_id ?? "", secretAccessKey: final[profile]?.aws_secret_access_key ?? "" };
      expect(await workingKey(k)).toMatch(new RegExp(`user/${user}$`));
      expect(await keysOf(admin, user)).toEqual([{ id: k.accessKeyId, status: "Active" }]);
    }
    expect(final["two-again"]?.aws_access_key_id).toBe(final.two?.aws_access_key_id);
    expect(await readFile(file, "utf8")).toMatch(/^# fleet\n/);
  });
});

describe("on a terminal", () => {
  async function upInTerminal(env: Record<string, string>): Promise<string> {
    const command = [process.execPath, KEYUP_BIN, "--profile", "p", "--operation", "up", "--endpoint-url", motoUrl()].map((a) => `'${a}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let answered = false;
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (!answered && out.includes("[y/N]")) {
        answered = true;
        child.stdin.write("y\n");
      }
    });
    await new Promise((resolve) => child.on("close", resolve));
    captureOutput("terminal output", out);
    return out;
  }

  test("asks before rotating, shows a spinner and coloured marks; NO_COLOR turns the colour and the spinner off", async () => {
    const { env } = await oneProfile("tty");
    await enforceAuth();
    const coloured = await upInTerminal(env);
    expect(coloured).toMatch(/Rotate AKIA\w+\? A new key is created and installed; the old one is deleted\. \[y\/N\]/);
    expect(coloured).toContain("\x1b[32m✓\x1b[0m verify");
    expect(coloured).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \w[\w-]*…/);
    expect(coloured).toContain("Keys after rotation");

    const plain = await upInTerminal({ ...env, NO_COLOR: "1" });
    expect(plain).toContain("✓ verify");
    expect(plain).not.toContain("\x1b[3");
    expect(plain).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });
});
