// The keyup demo: a local AWS emulator (moto), an IAM user with one key, a throwaway credentials file,
// then `keyup list`, `keyup up`, `keyup list` with the real CLI. Nothing leaves this machine.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // the SDK's Node 20 notice is not for demo viewers
const root = resolve(import.meta.dirname, "..");
const dir = join(root, ".keyup-demo");
const credentials = join(dir, "credentials");
const bin = join(root, "packages", "cli", "dist", "bin.js");

const moto = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], { stdio: ["ignore", "pipe", "pipe"] });
const stop = () => moto.kill("SIGTERM");
process.on("exit", stop);

try {
  const url = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`moto did not start:\n${out}`)), 30_000);
    moto.stderr.on("data", (chunk) => {
      out += chunk;
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        ok(match[1]);
      }
    });
    moto.on("exit", (code) => fail(new Error(`moto exited (${code}): is moto[server] installed for python3?\n${out}`)));
  });
  moto.stderr.resume();
  for (
    let i = 0;
    i < 100 &&
    !(await fetch(`${url}/moto-api/data.json`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  console.log(`Local AWS emulator (moto) at ${url}\n`);

  // Bootstrap while the emulator accepts any signature, then make it check signatures and policies like AWS.
  const iam = new IAMClient({ region: "us-east-1", endpoint: url, credentials: { accessKeyId: "AKIADEMOBOOTSTRAP001", secretAccessKey: "bootstrap" } });
  await iam.send(new CreateUserCommand({ UserName: "demo-user" }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "demo-user",
      PolicyName: "rotate-own-key",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetUser"],
            Resource: "*",
          },
        ],
      }),
    }),
  );
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "demo-user" }));
  await fetch(`${url}/moto-api/reset-auth`, { method: "POST", body: "0", headers: { "content-type": "text/plain" } });

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(
    credentials,
    `# throwaway credentials for the keyup demo\n[demo]\naws_access_key_id = ${AccessKey.AccessKeyId}\naws_secret_access_key = ${AccessKey.SecretAccessKey}\nregion = us-east-1\n`,
    { mode: 0o600 },
  );
  console.log(`Wrote ${credentials} with profile "demo" (user demo-user, key ${AccessKey.AccessKeyId})\n`);

  const env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "config") };
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
  console.error(`demo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  stop();
}
