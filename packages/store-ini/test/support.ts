import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromIni } from "@aws-sdk/credential-providers";
import type { AccessKeyPair } from "@keyup/core";
import { parse } from "ini";
import { afterAll } from "vitest";
import { watchFolder } from "../../../test-support/secrets.js";

const run = promisify(execFile);

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";

function pick(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** A fake key that looks like a real one (never valid anywhere). */
export function fakeKey(): AccessKeyPair {
  return { accessKeyId: `AKIA${pick(UPPER_ALNUM, 16)}`, secretAccessKey: pick(SECRET_CHARS, 40) };
}

const dirs: string[] = [];
// After all tests, not each: concurrent tests would remove each other's folders.
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temp folder, removed after the test file. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keyup-store-ini-"));
  dirs.push(dir);
  watchFolder(dir, { remove: false });
  return dir;
}

export async function bytesOf(path: string): Promise<Buffer> {
  return readFile(path);
}

/** Runs the real AWS CLI v1 against `file` only, as a reader independent of ours. */
export async function awsCliGet(file: string, profile: string, name: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("AWS_")) env[key] = value;
  env.AWS_SHARED_CREDENTIALS_FILE = file;
  env.AWS_CONFIG_FILE = "/nonexistent";
  const { stdout } = await run("aws", ["configure", "get", name, "--profile", profile], { env });
  return stdout.replace(/\r?\n$/, "");
}

/** Both values as the AWS CLI reads them. */
export async function awsCliKey(file: string, profile: string): Promise<AccessKeyPair> {
  const [accessKeyId, secretAccessKey] = await Promise.all([awsCliGet(file, profile, "aws_access_key_id"), awsCliGet(file, profile, "aws_secret_access_key")]);
  return { accessKeyId, secretAccessKey };
}

/** The key as the AWS SDK for JavaScript's own loader reads it. */
export async function sdkKey(file: string, profile: string): Promise<AccessKeyPair> {
  const credentials = await fromIni({ profile, filepath: file, configFilepath: "/nonexistent", ignoreCache: true })();
  return { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey };
}

/** The key as the `ini` package reads it (it does not know BOMs; key names matched case-insensitively). */
export function iniPackageKey(text: string, profile: string): Partial<AccessKeyPair> {
  const parsed = parse(text.replace(/^\uFEFF/, ""));
  const section = parsed[profile] as Record<string, unknown> | undefined;
  const find = (name: string): string | undefined => {
    const entry = Object.entries(section ?? {}).find(([key]) => key.toLowerCase() === name);
    return typeof entry?.[1] === "string" ? entry[1] : undefined;
  };
  const accessKeyId = find("aws_access_key_id");
  const secretAccessKey = find("aws_secret_access_key");
  return {
    ...(accessKeyId === undefined ? {} : { accessKeyId }),
    ...(secretAccessKey === undefined ? {} : { secretAccessKey }),
  };
}

export { rejection, thrown } from "../../../test-support/caught.js";

/** Every text an error exposes: message, name, holder and its causes' messages. */
export function exposedText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { message?: unknown; name?: unknown; holder?: unknown; cause?: unknown };
    parts.push(String(e.message ?? current), String(e.name ?? ""), String(e.holder ?? ""));
    current = e.cause;
  }
  return parts.join("\n");
}
