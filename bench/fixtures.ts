import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapIam, credentialsText, type EmulatorKey, enforceMotoAuth, resetMoto, seedUser } from "../test-support/emulator.js";

/** A credentials file whose profiles each hold the only key of their own IAM user in the emulator. */
export interface SeededFile {
  readonly path: string;
  readonly profiles: readonly string[];
  readonly keys: readonly EmulatorKey[];
}

/** A fresh folder (0700) under the OS temp folder for one benchmark run's files. */
export async function benchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "keyup-bench-"));
}

/**
 * Resets the emulator, creates `count` users with one key each, writes them as profiles `p1`…`pN` of
 * one credentials file (with comments and a config-style line, as real files have), then turns on
 * signature and policy checks.
 */
export async function seedCredentialsFile(url: string, dir: string, count: number): Promise<SeededFile> {
  await resetMoto(url);
  const iam = bootstrapIam(url);
  const profiles: string[] = [];
  const keys: EmulatorKey[] = [];
  for (let i = 1; i <= count; i++) {
    const user = await seedUser(url, `bench-user-${i}`, { iam });
    profiles.push(`p${i}`);
    keys.push(user.keys[0] as EmulatorKey);
  }
  const path = join(dir, "credentials");
  const text = credentialsText(
    "credentials for the keyup benchmark",
    profiles.map((name, i) => ({ name, key: keys[i] as EmulatorKey, comment: `profile ${i + 1}` })),
  );
  await writeFile(path, text, { mode: 0o600 });
  await enforceMotoAuth(url);
  return { path, profiles, keys };
}
