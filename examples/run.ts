/**
 * Runs one example against a local AWS emulator, with no AWS account and nothing leaving this machine:
 *
 *   pnpm example <name>          (from the repository root; `pnpm example` lists the names)
 *
 * It starts moto, seeds the IAM users, keys, files and secrets the example needs into moto and a
 * throwaway folder, runs the example as a child process pointed at moto (AWS_ENDPOINT_URL, a
 * credentials file in that folder, no ambient AWS credentials), shows the keys before and after (ids,
 * never secrets), stops moto, removes the folder and exits with the example's exit code.
 *
 * KEYUP_EXAMPLE_MOTO_URL: use this moto server instead of starting one. Its state is wiped first.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { cleanEnv } from "../test-support/cli.js";
import { type Emulator, type EmulatorKey, enforceMotoAuth, resetMoto, seedUser, startMoto } from "../test-support/emulator.js";
import { credentialsFile, type KeyHolder, LOCAL_RUNS, type LocalRun, type PreparedRun } from "./local-runs.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // the SDK's Node 20 notice is not for people watching an example
const ADMIN_POLICY = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

const name = process.argv[2];
const run: LocalRun | undefined = name === undefined ? undefined : LOCAL_RUNS[name];
if (!run) {
  const list = Object.entries(LOCAL_RUNS).map(([n, r]) => `  ${n.padEnd(32)}${r.summary}`);
  const text = `usage: pnpm example <name>\n\nExamples, each run against a local AWS emulator (moto):\n${list.join("\n")}\n`;
  if (name === undefined) {
    console.log(text);
  } else {
    console.error(`no example named "${name}"\n\n${text}`);
    process.exitCode = 2;
  }
} else {
  process.exitCode = await runExample(name as string, run);
}

async function runExample(name: string, run: LocalRun): Promise<number> {
  const external = process.env.KEYUP_EXAMPLE_MOTO_URL;
  let moto: Emulator | undefined;
  const dir = await mkdtemp(join(tmpdir(), `keyup-example-${name}-`)); // mode 0700
  try {
    moto = external ? undefined : await startMoto();
    const url = external ?? (moto as Emulator).url;
    await resetMoto(url);
    console.log(`Local AWS emulator (moto) at ${url}; throwaway folder ${dir}\n`);

    // Bootstrap while the emulator accepts any signature, then make it check signatures and policies like AWS.
    const admin = (await seedUser(url, "example-admin", { policy: ADMIN_POLICY })).keys[0] as EmulatorKey;
    const prepared = await run.prepare({ url, dir, admin });
    await enforceMotoAuth(url);
    console.log(`Seeded:\n${prepared.seeded.map((line) => `  ${line}`).join("\n")}\n`);
    const iam = new IAMClient({ region: "us-east-1", endpoint: url, credentials: admin, maxAttempts: 1 });
    if (prepared.users.length > 0) console.log(`Keys before:\n${await keyLines(iam, prepared.users)}\n`);

    const emulatorEnv = {
      HOME: dir,
      AWS_ENDPOINT_URL: url,
      AWS_REGION: "us-east-1",
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile(dir),
      AWS_CONFIG_FILE: join(dir, "config"),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    let code = await runCommand(prepared, cleanEnv({ ...emulatorEnv, ...prepared.env, ...prepared.hiddenEnv }));
    if (code === 0 && prepared.again) {
      if (prepared.users.length > 0) console.log(`Keys after the first run:\n${await keyLines(iam, prepared.users)}\n`);
      const next = await prepared.again();
      console.log(`Seeded:\n  ${next.seeded}\n`);
      code = await runCommand({ ...prepared, env: next.env }, cleanEnv({ ...emulatorEnv, ...next.env, ...prepared.hiddenEnv }));
    }

    if (prepared.users.length > 0) console.log(`Keys after:\n${await keyLines(iam, prepared.users)}\n`);
    if (prepared.holders.length > 0) console.log(`Held after:\n${await holderLines(prepared.holders)}\n`);
    return code;
  } catch (error) {
    console.error(`example run failed: ${(error as Error).message}`);
    return 1;
  } finally {
    moto?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Shows the command with the example's own settings (never `hiddenEnv`), runs it with `env` (which
 * cleanEnv has already stripped of this shell's AWS_* variables) and prints and returns its exit code.
 */
async function runCommand(prepared: PreparedRun, env: NodeJS.ProcessEnv): Promise<number> {
  const shown = Object.entries(prepared.env).map(([k, v]) => `${k}=${v} `);
  console.log(
    `$ ${shown.join("")}${[prepared.command.slice(prepared.command.lastIndexOf("/") + 1), ...prepared.args].join(" ")}   (in ${relative(process.cwd(), prepared.cwd) || "."})`,
  );
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(prepared.command, prepared.args, { cwd: prepared.cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  console.log(`\n(exit code ${code})\n`);
  return code;
}

/** Each user's access key ids and statuses, one line each. */
async function keyLines(iam: IAMClient, users: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const user of users) {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: user }));
    const keys = (out.AccessKeyMetadata ?? []).map((k) => `${k.AccessKeyId} (${k.Status})`);
    lines.push(`  ${user}: ${keys.join(", ") || "no key"}`);
  }
  return lines.join("\n");
}

/** The key id each place holds now. */
async function holderLines(holders: readonly KeyHolder[]): Promise<string> {
  const lines: string[] = [];
  for (const holder of holders) lines.push(`  ${holder.name}: ${(await holder.keyId().catch((e: Error) => `cannot read: ${e.message}`)) ?? "no key"}`);
  return lines.join("\n");
}
