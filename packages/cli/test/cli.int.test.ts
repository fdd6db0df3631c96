import { execFile } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromIni } from "@aws-sdk/credential-providers";
import { beforeEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { cleanEnv, keyup, spawnKeyup } from "../../../test-support/cli.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";

const run = promisify(execFile);

const CRLF_FILE = (key: TestKey) =>
  [
    "# team credentials — managed by hand",
    "[default]",
    "aws_access_key_id = AKIADEFAULTDEFAULT01",
    "aws_secret_access_key = defaultSecretThatStaysExactlyTheSame0001",
    "region=eu-west-1",
    "",
    "; the profile we rotate",
    "[ci]",
    `aws_access_key_id   =   ${key.accessKeyId}`,
    "# a comment between the two keys",
    `aws_secret_access_key=${key.secretAccessKey}`,
    "output = json",
    "",
    "[other]",
    "aws_access_key_id = AKIAOTHEROTHEROTHER1",
    "aws_secret_access_key = otherSecretThatStaysExactlyTheSame000002",
  ].join("\r\n");

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

describe("keyup CLI, end to end against moto", () => {
  test("up rotates the profile: old key gone, file byte-identical but for the two values, AWS CLI and fromIni use the new key", async () => {
    const user = await createUser("ci-bot");
    const old = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    const original = CRLF_FILE(old);
    await writeFile(file, original, { mode: 0o600 });
    await enforceAuth();

    const result = await keyup(["--profile", "ci", "--operation", "up", "--endpoint-url", motoUrl()], { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir });

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const keys = await keysOf(admin, "ci-bot");
    expect(keys).toHaveLength(1);
    const newId = keys[0]?.id ?? "";
    expect(newId).not.toBe(old.accessKeyId);

    const written = await readFile(file, "utf8");
    const newSecret = /aws_secret_access_key=(\S+)\r\n# a comment|aws_secret_access_key=(\S+)\r\noutput/.exec(written);
    const secret = newSecret?.[1] ?? newSecret?.[2] ?? "";
    expect(secret).not.toBe("");
    expect(written).toBe(original.replace(old.accessKeyId, newId).replace(old.secretAccessKey, secret));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Nothing else is left beside the file: no journal, no lock, and no backup (a copy of old secrets).
    expect(await readdir(dir)).toEqual(["credentials"]);

    const viaAwsCli = await run(
      "aws",
      ["sts", "get-caller-identity", "--profile", "ci", "--endpoint-url", motoUrl(), "--region", "us-east-1", "--output", "json"],
      {
        env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir }),
      },
    );
    expect(JSON.parse(viaAwsCli.stdout).Arn).toBe(user.arn);

    const provider = fromIni({ profile: "ci", filepath: file, configFilepath: "/nonexistent/keyup-test-config" });
    const creds = await provider();
    expect(creds.accessKeyId).toBe(newId);
    const sts = new STSClient({ region: "us-east-1", endpoint: motoUrl(), credentials: provider });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(user.arn);

    expect(result.stdout).toContain("Keys before rotation");
    expect(result.stdout).toContain("✓ verify");
    expect(result.stdout).toContain("Keys after rotation");
    expect(result.stdout).toContain(`${old.accessKeyId} -> ${newId}`);
    for (const s of [old.secretAccessKey, secret]) expect(result.stdout + result.stderr).not.toContain(s);
  });

  test("list prints a table, and --output json the same data", async () => {
    const user = await createUser("lister", { keys: 2 });
    const [held, other] = user.keys as [TestKey, TestKey];
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, `[me]\naws_access_key_id = ${held.accessKeyId}\naws_secret_access_key = ${held.secretAccessKey}\n`, { mode: 0o600 });
    await enforceAuth();
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir };

    const table = await keyup(["--profile", "me", "--operation", "list", "--endpoint-url", motoUrl()], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ACCESS KEY ID\s+AGE\s+STATUS\s+LAST USED\s+SERVICE/);
    expect(table.stdout).toContain(held.accessKeyId);
    expect(table.stdout).toContain(other.accessKeyId);
    expect(table.stdout).toContain("(in profile)");

    const json = await keyup(["list", "--profile", "me", "--output", "json", "--endpoint-url", motoUrl()], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { accessKeyId: string; status: string; inStore: boolean; ageSeconds: number }[];
    expect(parsed.map((k) => [k.accessKeyId, k.status, k.inStore])).toEqual([
      [held.accessKeyId, "Active", true],
      [other.accessKeyId, "Active", false],
    ]);
    expect(parsed[0]?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(table.stdout + json.stdout).not.toContain(held.secretAccessKey);
  });

  test("--auto prints nothing on stdout, appends a timestamped 0600 log, and the alias keyup works", async () => {
    const user = await createUser("cron-bot");
    const old = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, `[cron]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
    await enforceAuth();

    const result = await keyup(["--profile", "cron", "--operation", "keyup", "--auto", "--endpoint-url", motoUrl()], {
      AWS_SHARED_CREDENTIALS_FILE: file,
      HOME: dir,
      XDG_STATE_HOME: join(dir, "state"),
    });

    expect(result).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const logFile = join(dir, "state", "keyup", "keyup.log");
    const log = await readFile(logFile, "utf8");
    expect((await stat(logFile)).mode & 0o777).toBe(0o600);
    const lines = log.trim().split("\n");
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) profile=cron /);
    expect(log).toContain("outcome=rotated");
    expect(log).toContain(old.accessKeyId);
    expect(log).not.toContain(old.secretAccessKey);
    expect(await readFile(file, "utf8")).not.toContain(old.secretAccessKey);

    const custom = join(dir, "custom.log");
    const failed = await keyup(["--profile", "missing", "--operation", "up", "--auto", "--log-file", custom, "--endpoint-url", motoUrl()], {
      AWS_SHARED_CREDENTIALS_FILE: file,
      HOME: dir,
    });
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toBe("");
    expect(failed.stderr.trim().split("\n")).toHaveLength(1);
    expect(failed.stderr).toContain("missing");
    expect(await readFile(custom, "utf8")).toContain("error=store");
  });

  test("errors: one clear line on stderr, files untouched, distinct exit codes", async () => {
    const user = await createUser("err-bot", { keys: 2 });
    const held = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    const content = `[p]\naws_access_key_id = ${held.accessKeyId}\naws_secret_access_key = ${held.secretAccessKey}\n`;
    await writeFile(file, content, { mode: 0o600 });
    await enforceAuth();
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir };

    const limit = await keyup(["--profile", "p", "--operation", "up", "--endpoint-url", motoUrl()], env);
    expect(limit.code).toBe(1);
    expect(limit.stderr).toMatch(/^keyup: limit error: .*already has 2 access keys/);
    expect(limit.stderr.trim().split("\n")).toHaveLength(1);

    const usage = await keyup(["--profile", "p"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("no operation");

    const badEndpoint = await keyup(["--profile", "p", "--operation", "list", "--endpoint-url", "localhost:1"], env);
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.stderr).toContain("not an http(s) URL");

    const down = await keyup(["--profile", "p", "--operation", "list", "--endpoint-url", "http://127.0.0.1:9"], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("NetworkError");

    expect(await readFile(file, "utf8")).toBe(content);
    expect((await keysOf(admin, "err-bot")).length).toBe(2);
    for (const r of [limit, usage, badEndpoint, down]) expect(r.stdout + r.stderr).not.toContain(held.secretAccessKey);
  });

  test("--help and --version", async () => {
    const help = await keyup(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--operation");
    expect(help.stdout).toContain("Exit codes");
    const version = await keyup(["--version"], {});
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("keyup status and keyup recover", () => {
  test("an interrupted rotation is shown by status and finished by recover", async () => {
    const user = await createUser("phoenix");
    const old = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, `[p]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
    await enforceAuth();
    const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir };
    let kill: () => void = () => undefined;
    const proxy = await startAwsProxy(motoUrl(), (r) =>
      r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId ? { forwardThen: "hang", after: () => kill() } : undefined,
    );
    try {
      const first = spawnKeyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", proxy.url], env);
      kill = () => first.child.kill("SIGKILL");
      expect((await first.done).signal).toBe("SIGKILL");
    } finally {
      await proxy.close();
    }
    const newId = (await keysOf(admin, "phoenix")).map((k) => k.id).find((id) => id !== old.accessKeyId) ?? "";

    const status = await keyup(["status", "--profile", "p"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("Unfinished rotation");
    expect(status.stdout).toContain("stopped at:  verifying");
    expect(status.stdout).toContain(`${newId} (its secret is in the journal)`);
    expect(status.stdout).toContain(`${file}.keyup-journal.p`);
    const json = await keyup(["status", "--profile", "p", "--output", "json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject([{ phase: "verifying", newAccessKeyId: newId, holdsNewSecret: true }]);

    const recovered = await keyup(["recover", "--profile", "p", "--endpoint-url", motoUrl()], env);
    expect(recovered.stderr).toBe("");
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toContain("resume");
    expect(await keysOf(admin, "phoenix")).toEqual([{ id: newId, status: "Active" }]);
    expect(await readFile(file, "utf8")).toContain(newId);

    const after = await keyup(["status", "--profile", "p"], env);
    expect(after.stdout).toContain("No unfinished rotation");
    const again = await keyup(["recover", "--profile", "p", "--endpoint-url", motoUrl()], env);
    expect(again.stdout).toContain("Nothing to recover");
  });
});
