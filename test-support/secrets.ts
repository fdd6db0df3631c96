import { lstat, readdir, readFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { inspect } from "node:util";

/**
 * The suite-wide secret check. Tests, the harness and the library wrappers (library-observer.ts)
 * remember every secret they create or see, and capture everything a user could see: stdout, stderr,
 * console lines, logger lines, handler log lines, progress events, results, errors, and every file a
 * test leaves in its watched folders. After each test every captured text is searched for every
 * 16-character window of every secret, so a truncated, split or partly printed secret counts too.
 */

/** The shortest piece of a secret the check looks for: 16 random base64 characters never occur by chance. */
export const SECRET_WINDOW = 16;

/** Which way a captured text reached the user; a leak names its channel. */
export type Channel = "cli" | "console" | "logger" | "handler-log" | "event" | "result" | "file" | "mode" | "test";

/** One place a secret showed up. Never holds the secret itself, so a failing assertion cannot print it. */
export interface Leak {
  channel: Channel;
  label: string;
  secretStart: string;
}

/** Counts for the run's summary line (scripts/run-tests.mjs adds them up across files). */
export interface ScanTotals {
  secrets: number;
  texts: number;
  files: number;
  holders: number;
  hits: number;
  planted: number;
}

const secrets = new Set<string>();
const captured: { channel: Channel; label: string; text: string }[] = [];
const dirs: string[] = [];
const kept: string[] = [];
const holders: { path: string; kind: string }[] = [];
export const totals: ScanTotals = { secrets: 0, texts: 0, files: 0, holders: 0, hits: 0, planted: 0 };

/** Remembers a secret so that the check looks for it (shorter strings are not secrets keyup handles). */
export function rememberSecret(secret: string | undefined): void {
  if (typeof secret === "string" && secret.length >= SECRET_WINDOW) secrets.add(secret);
}

/** Captures text a user could see (CLI output, console and log lines). */
export function captureOutput(label: string, text: string, channel: Channel = "test"): void {
  captured.push({ channel, label, text });
}

/** Captures a value a caller could see (events, reports, errors), in every form it could be printed. */
export function captureValue(label: string, value: unknown, channel: Channel = "result"): void {
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
  captured.push({ channel, label, text: forms.join("\n") });
}

/**
 * A folder whose every file is scanned after the test; the harness removes it afterwards. With
 * `remove: false` (folders a test file shares between concurrent tests and removes itself) it is
 * scanned after every test until it is gone.
 */
export function watchFolder(dir: string, options: { remove?: boolean } = {}): void {
  if (options.remove === false) kept.push(dir);
  else dirs.push(dir);
}

/**
 * Declares a file whose job is to hold a secret (a store's credentials file, a journal, a backup):
 * the scan checks its mode is 0600 instead of its content. `store` files are the test's own
 * fixtures, whose mode the test chose; only their content is exempt.
 */
export function holdsSecret(path: string, kind: "store" | "journal" | "backup" = "store"): void {
  holders.push({ path, kind });
}

/**
 * Files whose job is to hold a secret, by name: keyup's journals (beside a file store, or under
 * `$XDG_STATE_HOME/keyup/journal/`) and backups, and the store files tests write (`credentials`,
 * `.env` files). Everything else a test leaves, whatever its name, is scanned.
 */
export function holderKind(path: string): "store" | "journal" | "backup" | undefined {
  const declared = holders.find((h) => h.path === path);
  if (declared) return declared.kind as "store" | "journal" | "backup";
  const name = basename(path);
  if (name.includes(".keyup-journal") || /\/keyup\/journal\/[^/]+\.json$/.test(path)) return "journal";
  if (name.includes(".keyup-backup")) return "backup";
  if (name === "credentials" || name === ".env" || /^\.env\.[A-Za-z0-9_-]+$/.test(name) || /^[A-Za-z0-9_-]+\.env$/.test(name)) return "store";
  return undefined;
}

/** Every secret the emulator holds now (access keys and Secrets Manager values). */
export async function harvestEmulatorSecrets(url: string): Promise<void> {
  const data = (await fetch(`${url}/moto-api/data.json`).then(
    (r) => (r.ok ? r.json() : {}),
    () => ({}),
  )) as Record<string, Record<string, unknown[]>>;
  for (const key of (data.iam?.AccessKey ?? []) as { secret_access_key?: string }[]) rememberSecret(key.secret_access_key);
  harvestSecretText(JSON.stringify(data.secretsmanager ?? {}));
}

/**
 * Remembers every secret in an AWS answer or a stored secret's text: XML `<SecretAccessKey>` elements
 * (CreateAccessKey, GetSessionToken, AssumeRole), JSON `SecretAccessKey`/`secretAccessKey` fields, and
 * any 40-character base64 run (the shape of an AWS secret access key) inside a Secrets Manager value.
 */
export function harvestSecretText(text: string): void {
  for (const m of text.matchAll(/<SecretAccessKey>([^<]+)<\/SecretAccessKey>/g)) rememberSecret(m[1]);
  for (const m of text.matchAll(/\\?"(?:SecretAccessKey|secretAccessKey|aws_secret_access_key)\\?"\s*:\s*\\?"([^"\\]+)\\?"/g)) rememberSecret(m[1]);
  for (const m of text.matchAll(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/g)) rememberSecret(m[0]);
}

/** Reads every regular file under the watched folders: holders get a mode check, the rest is captured. */
async function captureWatchedFiles(): Promise<{ folders: string[]; modeLeaks: Leak[] }> {
  const folders = dirs.splice(0);
  const modeLeaks: Leak[] = [];
  for (const dir of [...folders, ...kept]) {
    const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const file of files) {
      const path = join(dir, file);
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isFile()) continue; // symlinks point at files scanned on their own; FIFOs would block
      const kind = holderKind(path);
      if (kind) {
        totals.holders += 1;
        if (kind !== "store" && (info.mode & 0o077) !== 0) {
          modeLeaks.push({ channel: "mode", label: `${kind} ${relative(dir, path)} has mode ${(info.mode & 0o777).toString(8)}`, secretStart: "-" });
        }
        continue;
      }
      totals.files += 1;
      captureOutput(`file ${relative(dir, path)}`, await readFile(path, "utf8").catch(() => ""), "file");
    }
  }
  holders.length = 0;
  return { folders, modeLeaks };
}

/** The pieces of `secret` the check looks for: every window of SECRET_WINDOW characters. */
export function secretWindows(secret: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i + SECRET_WINDOW <= secret.length; i++) out.add(secret.slice(i, i + SECRET_WINDOW));
  return [...out];
}

/**
 * Scans everything captured since the last scan (and every file in the watched folders) for every
 * remembered secret, then forgets the captured texts and returns the watched folders for removal.
 * `planted` counts the hits apart, for the scan's own test.
 */
export async function scanForLeaks(options: { planted?: boolean } = {}): Promise<{ leaks: Leak[]; folders: string[] }> {
  const { folders, modeLeaks } = await captureWatchedFiles();
  const leaks: Leak[] = [...modeLeaks];
  const needles = [...secrets].map((secret) => ({ secret, windows: secretWindows(secret) }));
  for (const { channel, label, text } of captured) {
    for (const { secret, windows } of needles) {
      if (windows.some((w) => text.includes(w))) leaks.push({ channel, label, secretStart: `${secret.slice(0, 4)}…` });
    }
  }
  totals.secrets += secrets.size;
  totals.texts += captured.length;
  if (options.planted) totals.planted += leaks.length;
  else totals.hits += leaks.length;
  captured.length = 0;
  return { leaks, folders };
}
