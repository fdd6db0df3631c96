// The keyup demo: a local AWS emulator (moto), an IAM user with one key, a throwaway credentials file,
// then `keyup list`, `keyup up`, `keyup list` with the real CLI. Nothing leaves this machine.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { enforceMotoAuth, seedUser, startMoto } from "../test-support/emulator.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // the SDK's Node 20 notice is not for demo viewers
const root = resolve(import.meta.dirname, "..");
const dir = join(root, ".keyup-demo");
const credentials = join(dir, "credentials");
const bin = join(root, "packages", "cli", "dist", "bin.js");

const moto = await startMoto();
process.on("exit", moto.stop);

try {
  const url = moto.url;
  console.log(`Local AWS emulator (moto) at ${url}\n`);

  // Bootstrap while the emulator accepts any signature, then make it check signatures and policies like AWS.
  const [key] = (await seedUser(url, "demo-user")).keys;
  await enforceMotoAuth(url);

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(
    credentials,
    `# throwaway credentials for the keyup demo\n[demo]\naws_access_key_id = ${key?.accessKeyId}\naws_secret_access_key = ${key?.secretAccessKey}\nregion = us-east-1\n`,
    { mode: 0o600 },
  );
  console.log(`Wrote ${credentials} with profile "demo" (user demo-user, key ${key?.accessKeyId})\n`);

  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "config") };
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete env[k];
  for (const op of ["list", "up", "list"]) {
    const args = ["--profile", "demo", "--operation", op, "--endpoint-url", url];
    console.log(`$ keyup ${args.join(" ")}`);
    const result = spawnSync(process.execPath, [bin, ...args], { env, stdio: ["ignore", "inherit", "inherit"] });
    console.log("");
    if (result.status !== 0) throw new Error(`keyup ${op} exited with ${result.status}`);
  }
  console.log(`Done. The credentials file now holds the new key; ${dir} is yours to inspect or delete.`);
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  moto.stop();
}
