import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bootstrapIam, credentialsText, type Emulator, seedUser, startMoto } from "../../test-support/emulator.js";
import { captureOutput, harvestEmulatorSecrets, rememberSecret } from "../../test-support/secrets.js";

/**
 * The single `keyup` executable, built by scripts/build-binary.sh as the release workflow builds it,
 * run where there is no `node` at all: PATH is an empty folder.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const version = JSON.parse(readFileSync(join(root, "packages/cli/package.json"), "utf8")).version;

let binary: string;
let dir: string;
let moto: Emulator;
let credentials: string;
let oldKeyId: string;
let emptyPath: string;

/** Runs the binary with nothing from this machine's environment but an empty PATH and a temp HOME. */
async function keyupBinary(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const out = await run(binary, args, { env: { PATH: emptyPath, HOME: dir, AWS_CONFIG_FILE: join(dir, "no-config"), ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  captureOutput(`keyup binary ${args.join(" ")} stdout`, out.stdout);
  captureOutput(`keyup binary ${args.join(" ")} stderr`, out.stderr);
  return { ...out, ms: performance.now() - started };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keyup-binary-"));
  emptyPath = join(dir, "empty-path");
  await run("mkdir", [emptyPath]);
  const [built, started] = await Promise.all([run("bash", [join(root, "scripts/build-binary.sh")], { cwd: root }), startMoto()]);
  moto = started;
  binary = join(root, built.stdout.trim());
  const user = await seedUser(moto.url, "binary-user");
  const key = user.keys[0];
  if (!key) throw new Error("seedUser made no key");
  rememberSecret(key.secretAccessKey);
  oldKeyId = key.accessKeyId;
  credentials = join(dir, "credentials");
  await writeFile(credentials, credentialsText("for the single-binary test", [{ name: "bin", key }]), { mode: 0o600 });
});

afterAll(async () => {
  moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the single keyup executable, with no node on PATH", () => {
  test("it is one file named for its platform, and the bin it runs is not a script for node", () => {
    expect(binary).toMatch(new RegExp(`dist-binary/keyup-${process.platform}-${process.arch}$`));
    const head = readFileSync(binary).subarray(0, 4);
    expect(head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))).toBe(true); // ELF, not "#!/usr/bin/env node"
    console.log(`single executable: ${(statSync(binary).size / 1e6).toFixed(1)} MB`);
  });

  test("--version prints the CLI's version and nothing else", async () => {
    const result = await keyupBinary(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: "" });
    console.log(`single executable --version: ${result.ms.toFixed(0)} ms`);
  });

  test("list, then up, against moto: the key is rotated and the file holds the new one", async () => {
    const env = { AWS_SHARED_CREDENTIALS_FILE: credentials };
    const list = await keyupBinary(["--profile", "bin", "--operation", "list", "--output", "json", "--endpoint-url", moto.url], env);
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(oldKeyId);

    const up = await keyupBinary(["--profile", "bin", "--operation", "up", "--auto", "--endpoint-url", moto.url, "--log-file", join(dir, "keyup.log")], env);
    // This moto is the test's own, not the suite's: its new secrets join the leak scan by hand.
    await harvestEmulatorSecrets(moto.url);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    const keys = await bootstrapIam(moto.url).send(new ListAccessKeysCommand({ UserName: "binary-user" }));
    const ids = (keys.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId);
    expect(ids).toHaveLength(1);
    expect(ids).not.toContain(oldKeyId);
    expect(await readFile(credentials, "utf8")).toContain(`aws_access_key_id = ${ids[0]}`);
  });
});
