import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";

/**
 * The local AWS emulator (moto) outside vitest: the test run's global setup, the demo, the examples
 * runner and the benchmarks all start and seed it through these functions.
 */

/** A key pair as the emulator hands it out. */
export interface EmulatorKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A running moto server on 127.0.0.1. */
export interface Emulator {
  readonly url: string;
  /** The moto process's id (the benchmarks read its CPU time). */
  readonly pid: number;
  stop(): void;
}

/** The least-privilege policy a user needs to rotate its own key (docs/security.md shows the same). */
export const ROTATION_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
      Resource: "*",
    },
  ],
};

/** Any request is accepted while auth is off; these sign the bootstrap calls. */
const BOOTSTRAP: EmulatorKey = { accessKeyId: "AKIAKEYUPBOOTSTRAP01", secretAccessKey: "bootstrap-only-while-auth-is-off" };

/**
 * Starts `python3 -m moto.server` on a free port and waits until it answers. moto logs every request;
 * its output goes to a temp file rather than a pipe, because a pipe nobody drains (a parent blocked in
 * spawnSync, say) fills up and freezes the emulator mid-request.
 */
export async function startMoto(): Promise<Emulator> {
  const logDir = mkdtempSync(join(tmpdir(), "keyup-moto-"));
  const logFile = join(logDir, "moto.log");
  const log = openSync(logFile, "w");
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], { stdio: ["ignore", log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  const stop = () => {
    child.kill("SIGTERM");
    rmSync(logDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    const output = readFileSync(logFile, "utf8");
    url = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url) break;
    if (exited !== undefined || Date.now() > deadline) {
      stop();
      throw new Error(
        exited !== undefined
          ? `moto exited with ${exited} before it was ready (is moto[server] installed for python3?):\n${output}`
          : `moto did not start within 30 s:\n${output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // A deadline, not a count of tries: on a loaded machine each fetch may itself take a while.
  const readyBy = Date.now() + 30_000;
  while (Date.now() < readyBy) {
    const ready = await fetch(`${url}/moto-api/data.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, pid: child.pid ?? 0, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`moto at ${url} never answered /moto-api/data.json within 30 s`);
}

async function post(url: string, path: string, body?: string): Promise<void> {
  // moto reads reset-auth's body only when it is sent as text/plain.
  const res = await fetch(`${url}${path}`, { method: "POST", ...(body !== undefined ? { body, headers: { "content-type": "text/plain" } } : {}) });
  if (!res.ok) throw new Error(`moto ${path} answered ${res.status}`);
}

/** Wipes moto's state and turns authentication off, ready for bootstrapping users. */
export async function resetMoto(url: string): Promise<void> {
  await post(url, "/moto-api/reset-auth", "inf");
  await post(url, "/moto-api/reset");
}

/** From now on moto checks signatures and IAM policies, as AWS does. */
export async function enforceMotoAuth(url: string): Promise<void> {
  await post(url, "/moto-api/reset-auth", "0");
}

/** An IAM client signed by the bootstrap key: use it while auth is off. */
export function bootstrapIam(url: string): IAMClient {
  return new IAMClient({ region: "us-east-1", endpoint: url, credentials: BOOTSTRAP, maxAttempts: 1 });
}

/** Creates a user with an inline policy and `keys` access keys. Call while auth is off. */
export async function seedUser(
  url: string,
  userName: string,
  options: { keys?: number; policy?: object; iam?: IAMClient } = {},
): Promise<{ userName: string; arn: string; keys: EmulatorKey[] }> {
  const iam = options.iam ?? bootstrapIam(url);
  const out = await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(
    new PutUserPolicyCommand({ UserName: userName, PolicyName: "keyup-rotation", PolicyDocument: JSON.stringify(options.policy ?? ROTATION_POLICY) }),
  );
  const keys: EmulatorKey[] = [];
  for (let i = 0; i < (options.keys ?? 1); i++) {
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    keys.push({ accessKeyId: k.AccessKey?.AccessKeyId ?? "", secretAccessKey: k.AccessKey?.SecretAccessKey ?? "" });
  }
  return { userName, arn: out.User?.Arn ?? "", keys };
}

/** One profile of a credentials file written for the emulator. */
export interface CredentialsProfile {
  readonly name: string;
  readonly key: EmulatorKey;
  /** A comment line above the profile's header. */
  readonly comment?: string;
  /** Default us-east-1. */
  readonly region?: string;
}

/**
 * The text of a shared credentials file: a comment line, then each profile after a blank line (with
 * its own comment line, if it has one): the shape of a real file, comments included.
 *
 * @example
 * ```ts
 * await writeFile(path, credentialsText("for the demo", [{ name: "ci", key }]), { mode: 0o600 });
 * ```
 */
export function credentialsText(header: string, profiles: readonly CredentialsProfile[]): string {
  const sections = profiles.map(
    (p) =>
      `\n${p.comment === undefined ? "" : `# ${p.comment}\n`}[${p.name}]\naws_access_key_id = ${p.key.accessKeyId}\naws_secret_access_key = ${p.key.secretAccessKey}\nregion = ${p.region ?? "us-east-1"}\n`,
  );
  return `# ${header}\n${sections.join("")}`;
}
