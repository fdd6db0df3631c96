import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { inspect } from "node:util";

/**
 * The suite-wide secret check. Tests (and the harness) remember every secret they create or see
 * created, and capture everything a user could see: stdout, stderr, log files, progress events, error
 * messages and serialised errors. After each test, every captured text is searched for every secret.
 */
const secrets = new Set<string>();
const captured: { label: string; text: string }[] = [];
const dirs: string[] = [];
export const totals = { secrets: 0, texts: 0, hits: 0 };

/** Remembers a secret so that the check looks for it. */
export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= 16) secrets.add(secret);
}

/** Captures text a user could see (CLI output, log lines). */
export function captureOutput(label: string, text: string): void {
  captured.push({ label, text });
}

/** Captures a value a caller could see (events, reports, errors), in every form it could be printed. */
export function captureValue(label: string, value: unknown): void {
  const forms: string[] = [inspect(value, { depth: 12 })];
  try {
    forms.push(JSON.stringify(value, (_k, v) => (v instanceof Error ? { ...v, name: v.name, message: v.message, cause: v.cause } : v)) ?? "");
  } catch {
    // circular: inspect above still covers it
  }
  let cause: unknown = value;
  for (let depth = 0; depth < 8 && cause; depth++) {
    const c = cause as { message?: unknown; cause?: unknown; error?: unknown };
    if (typeof c.message === "string") forms.push(c.message);
    cause = c.cause ?? c.error;
  }
  captured.push({ label, text: forms.join("\n") });
}

/** A folder whose log files are captured after the test (the harness removes it afterwards). */
export function watchFolder(dir: string): void {
  dirs.push(dir);
}

/** Every secret the emulator holds now (access keys and Secrets Manager values). */
export async function harvestEmulatorSecrets(url: string): Promise<void> {
  const data = (await fetch(`${url}/moto-api/data.json`).then(
    (r) => (r.ok ? r.json() : {}),
    () => ({}),
  )) as Record<string, Record<string, unknown[]>>;
  for (const key of (data.iam?.AccessKey ?? []) as { secret_access_key?: string }[]) rememberSecret(key.secret_access_key);
  const text = JSON.stringify(data.secretsmanager ?? {});
  for (const match of text.matchAll(/[A-Za-z0-9/+]{40}/g)) rememberSecret(match[0]);
}

/** Captures log files in the watched folders, then returns and forgets the watched folders. */
export async function captureWatchedLogs(): Promise<string[]> {
  const taken = dirs.splice(0);
  for (const dir of taken) {
    const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const file of files) {
      if (file.endsWith(".log")) captureOutput(`log ${file}`, await readFile(join(dir, file), "utf8").catch(() => ""));
    }
  }
  return taken;
}

/** Where each remembered secret appears in captured text; resets the captured texts. */
export function findLeaks(): { label: string; secretStart: string }[] {
  const leaks: { label: string; secretStart: string }[] = [];
  for (const { label, text } of captured) {
    for (const secret of secrets) if (text.includes(secret)) leaks.push({ label, secretStart: `${secret.slice(0, 4)}…` });
  }
  totals.secrets += secrets.size;
  totals.texts += captured.length;
  totals.hits += leaks.length;
  captured.length = 0;
  return leaks;
}
